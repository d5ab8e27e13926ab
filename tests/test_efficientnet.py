"""EfficientNet-Lite0 from the packaged PyTorch file: the converted classifier names the ImageNet classes of photos
that ship in installed packages, the reader refuses files that would run code, and the conversion is cached."""

from __future__ import annotations

import io
import pickle
import struct
import sys
import types
import zipfile
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest
from conftest import environment_variable

from colourlib.data.photos import read_rgb, wheel_test_photos
from colourlib.encoders import EncoderWeightsError, efficientnet, encoder_spec
from colourlib.encoders.torchfile import (
    LEGACY_MAGIC,
    LEGACY_PROTOCOL,
    WeightsFileError,
    read_state_dict,
)
from colourlib.model import build_network


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    """Converted weights go to a temporary user cache."""
    with environment_variable("COLOURLIB_CACHE", str(tmp_path_factory.mktemp("cache"))) as folder:
        yield Path(folder)


def test_the_converted_classifier_knows_what_is_in_the_test_photos(cache):
    photos = {p.stem: p for p in wheel_test_photos()}
    names = ["coffee", "chelsea", "flower", "china", "rocket", "motorcycle_left"]
    top1 = efficientnet.classify([read_rgb(photos[n]) for n in names]).argmax(axis=1)
    found = dict(zip(names, top1.tolist()))
    assert found["coffee"] == 967  # espresso
    assert found["chelsea"] in (281, 282, 285)  # tabby, tiger cat, Egyptian cat
    assert found["flower"] == 985  # daisy
    assert found["china"] == 698  # palace
    assert found["rocket"] == 657  # missile
    assert found["motorcycle_left"] == 665  # moped


def test_the_lite1_judge_knows_what_is_in_the_test_photos_through_every_view(cache):
    """The evaluation's judge is another network (EfficientNet-Lite1, 240 px, its own packaged weights): it must
    name the classes of photos that ship in packages, from the whole photo and from each of its square views."""
    photos = {p.stem: p for p in wheel_test_photos()}
    names = ["coffee", "chelsea", "flower", "china", "rocket"]
    images = [read_rgb(photos[n]) for n in names]
    whole = efficientnet.classify(images, variant="lite1").argmax(axis=1)
    found = dict(zip(names, whole.tolist()))
    assert found["coffee"] == 967  # espresso
    assert found["chelsea"] in (281, 282, 285)  # tabby, tiger cat, Egyptian cat
    assert found["flower"] == 985  # daisy
    assert found["china"] == 698  # palace
    assert found["rocket"] in (
        540,
        657,
    )  # drilling platform / missile: a rocket on its launch tower
    views = efficientnet.classify(images[:2], variant="lite1", views=3)
    assert views.shape == (2, 3, 1000)
    assert (views[0].argmax(-1) == 967).sum() >= 2  # the cup fills most of the coffee photo's views


def test_lite2_converts_from_its_own_package_and_feeds_the_skip_decoder(cache):
    """EfficientNet-Lite2 (width 1.1: stages of 16 to 352 channels, 21 blocks) loads every tensor of its packaged
    file, names the classes of the packaged photos as Lite0 does, and hands the skip decoder its stride-8 and
    stride-16 stages."""
    photos = {p.stem: p for p in wheel_test_photos()}
    names = ["coffee", "chelsea", "china", "rocket", "motorcycle_left"]
    top1 = efficientnet.classify([read_rgb(photos[n]) for n in names], variant="lite2").argmax(1)
    found = dict(zip(names, top1.tolist()))
    assert found["coffee"] == 967  # espresso
    assert found["chelsea"] in (281, 282, 285)
    assert found["china"] == 698  # palace
    assert found["rocket"] in (540, 657)
    assert found["motorcycle_left"] == 665  # moped
    spec = encoder_spec("efficientnet-lite2")
    encoder = spec.build(160, "imagenet")
    assert encoder.count_params() == spec.params == 4_869_168
    assert [tuple(encoder.get_layer(n).output.shape[1:]) for n in spec.skips] == [
        (20, 20, 48),
        (10, 10, 120),
    ]
    net = build_network(160, "efficientnet-lite2", None, False, classes=True, decoder="skips")
    assert net.output.shape[1:] == (20, 20, 313)


def test_conversion_is_cached_once(cache):
    first = efficientnet.converted_weights()
    assert first.parent == cache and first.name == efficientnet.CONVERTED_FILE
    stamp = first.stat().st_mtime_ns
    assert efficientnet.converted_weights() == first and first.stat().st_mtime_ns == stamp


def test_a_first_run_that_converts_the_weights_trains_as_a_later_one_that_finds_them(tmp_path):
    """Converting builds a model; done after the run's seed it changed the first run's initialisation."""
    from colourlib.train import train
    from study.config import colouring_config

    config = colouring_config("lite0", "tiny")
    config.epochs = 1
    with environment_variable("COLOURLIB_CACHE", str(tmp_path / "fresh-cache")):
        first = train(config, tmp_path / "first", print_progress=False).history
        assert (tmp_path / "fresh-cache" / efficientnet.CONVERTED_FILE).is_file()
        later = train(config, tmp_path / "later", print_progress=False).history
    assert [(h["loss"], h["val_loss"]) for h in first] == [
        (h["loss"], h["val_loss"]) for h in later
    ]


def test_the_packaged_file_reads_as_a_state_dict_with_strided_tensors():
    state = read_state_dict(efficientnet.packaged_weights_file())
    assert len(state) == 296
    assert state["_conv_stem.weight"].shape == (32, 3, 3, 3) and state["_fc.weight"].shape == (
        1000,
        1280,
    )
    assert state["_conv_stem.weight"].flags[
        "C_CONTIGUOUS"
    ]  # stored with TensorFlow's strides, copied out


def test_the_decoder_adapts_to_the_encoders_channels_and_vgg16_stays_as_it_was():
    lite = build_network(64, "efficientnet-lite0", None)
    assert lite.get_layer("encoder").output.shape[1:] == (2, 2, 1280)
    assert lite.get_layer("encoder").count_params() == encoder_spec("efficientnet-lite0").params
    assert lite.layers[-1].layers[0].kernel.shape == (3, 3, 1280, 256)
    vgg = build_network(224, "vgg16", None)
    assert (
        vgg.get_layer("encoder").count_params() == 14_714_688
        and vgg.layers[-1].count_params() == 1_572_114
    )
    grey = np.full((1, 8, 8, 1), 0.5, np.float32)  # network L 0.5 = L* 50, grey 119 of 255
    assert encoder_spec("efficientnet-lite0").preprocess(grey) == pytest.approx(
        (119 - 127) / 128, abs=0.01
    )


# --- the reader refuses what is not a weights file, and never runs what a file asks ---------------------------


class _RunsCode:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        import os

        return (os.system, (f"touch {self.marker}",))


def _legacy_file(path, main_object):
    with open(path, "wb") as f:
        for header in (
            LEGACY_MAGIC,
            LEGACY_PROTOCOL,
            {"protocol_version": LEGACY_PROTOCOL, "little_endian": True},
        ):
            pickle.dump(header, f, protocol=2)
        pickle.dump(main_object, f, protocol=2)
        pickle.dump([], f, protocol=2)


def test_a_malicious_pickle_is_refused_and_never_run(tmp_path):
    marker = tmp_path / "pwned"
    _legacy_file(tmp_path / "evil.pth", OrderedDict(weight=_RunsCode(marker)))
    with pytest.raises(
        WeightsFileError, match=r"asks to call (posix|os|nt)\.system.*refusing to load it"
    ):
        read_state_dict(tmp_path / "evil.pth")
    with zipfile.ZipFile(tmp_path / "evil.zip.pth", "w") as archive:
        archive.writestr(
            "archive/data.pkl", pickle.dumps({"weight": _RunsCode(marker)}, protocol=2)
        )
    with pytest.raises(WeightsFileError, match="system"):
        read_state_dict(tmp_path / "evil.zip.pth")
    assert not marker.exists()
    with pytest.raises(EncoderWeightsError, match="is not EfficientNet-Lite0's ImageNet weights"):
        efficientnet.converted_weights(tmp_path / "evil.pth", verbose=False)


@pytest.mark.parametrize(
    "content, message",
    [
        (b"\xff\xd8\xff\xe0 a JPEG, not weights", "not a readable PyTorch weights file"),
        (b"", "not a readable PyTorch weights file"),
        (pickle.dumps(12345), "not a PyTorch weights file \\(wrong magic number\\)"),
    ],
)
def test_files_that_are_not_weights_get_a_clear_error(tmp_path, content, message):
    (tmp_path / "x.pth").write_bytes(content)
    with pytest.raises(WeightsFileError, match=message):
        read_state_dict(tmp_path / "x.pth")


def test_a_truncated_download_is_reported(tmp_path):
    data = efficientnet.packaged_weights_file().read_bytes()
    (tmp_path / "cut.pth").write_bytes(data[: len(data) // 2])
    with pytest.raises(WeightsFileError, match="ends inside storage"):
        read_state_dict(tmp_path / "cut.pth")


def _fake_torch_modules():
    """Stand-ins named like torch's own, so a state_dict pickle can be written without torch installed."""
    torch = types.ModuleType("torch")
    utils = types.ModuleType("torch._utils")

    class FloatStorage:
        pass

    def _rebuild_tensor_v2(*args):
        pass

    FloatStorage.__module__, _rebuild_tensor_v2.__module__ = "torch", "torch._utils"
    FloatStorage.__qualname__, _rebuild_tensor_v2.__qualname__ = (
        "FloatStorage",
        "_rebuild_tensor_v2",
    )
    torch.FloatStorage, utils._rebuild_tensor_v2 = FloatStorage, _rebuild_tensor_v2
    return torch, utils


def test_the_zip_format_is_read_too(tmp_path, monkeypatch):
    torch, utils = _fake_torch_modules()
    monkeypatch.setitem(sys.modules, "torch", torch)
    monkeypatch.setitem(sys.modules, "torch._utils", utils)

    class Tensor:
        def __init__(self, key, shape, stride):
            self.args = (key, shape, stride)

        def __reduce__(self):
            return (
                utils._rebuild_tensor_v2,
                (("STORAGE", self.args[0]), 0, self.args[1], self.args[2], False, OrderedDict()),
            )

    class Pickler(pickle.Pickler):
        def persistent_id(self, obj):
            if isinstance(obj, tuple) and obj and obj[0] == "STORAGE":
                return ("storage", torch.FloatStorage, obj[1], "cpu", 6)
            return None

    buffer = io.BytesIO()
    Pickler(buffer, protocol=2).dump(
        OrderedDict(w=Tensor("0", (2, 3), (1, 2)))
    )  # a transposed (column) layout
    values = np.arange(6, dtype=np.float32)
    with zipfile.ZipFile(tmp_path / "new.pth", "w") as archive:
        archive.writestr("new/data.pkl", buffer.getvalue())
        archive.writestr("new/data/0", values.tobytes())
    state = read_state_dict(tmp_path / "new.pth")
    np.testing.assert_array_equal(state["w"], values.reshape(3, 2).T)


def _crafted_file(tmp_path, shape, stride, offset=0, legacy=False, count=6):
    """A state_dict file with one tensor of the given layout over 6 float32 values (zip or legacy format)."""
    torch, utils = _fake_torch_modules()

    class Tensor:
        def __reduce__(self):
            return (
                utils._rebuild_tensor_v2,
                (("STORAGE", "0"), offset, shape, stride, False, OrderedDict()),
            )

    class Pickler(pickle.Pickler):
        def persistent_id(self, obj):
            if isinstance(obj, tuple) and obj and obj[0] == "STORAGE":
                return ("storage", torch.FloatStorage, obj[1], "cpu", 6)
            return None

    values = np.arange(6, dtype=np.float32)
    saved = dict(sys.modules)
    sys.modules.update({"torch": torch, "torch._utils": utils})
    try:
        buffer = io.BytesIO()
        if legacy:
            for header in (
                LEGACY_MAGIC,
                LEGACY_PROTOCOL,
                {"protocol_version": LEGACY_PROTOCOL, "little_endian": True},
            ):
                pickle.dump(header, buffer, protocol=2)
        Pickler(buffer, protocol=2).dump(OrderedDict(w=Tensor()))
    finally:
        sys.modules.clear()
        sys.modules.update(saved)
    path = tmp_path / "crafted.pth"
    if legacy:
        pickle.dump(["0"], buffer, protocol=2)
        buffer.write(struct.pack("<q", count) + values.tobytes())
        path.write_bytes(buffer.getvalue())
    else:
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("crafted/data.pkl", buffer.getvalue())
            archive.writestr("crafted/data/0", values.tobytes())
    return path


@pytest.mark.parametrize("legacy", [False, True])
@pytest.mark.parametrize(
    "shape, stride, offset, message",
    [
        (
            (3,),
            (-1,),
            2,
            "negative sizes, strides or offsets",
        ),  # would read backwards, outside the file
        ((2, 3), (3, -2), 0, "negative sizes, strides or offsets"),
        ((3,), (1,), -4, "negative sizes, strides or offsets"),
        (
            (10_000_000_000,),
            (0,),
            0,
            "more than the 1073741824 this reader makes",
        ),  # zero stride, a huge shape
        ((4,), (2,), 0, "reaches past the end of its storage"),  # 0, 2, 4, 6: one past the 6 values
        ((2,), (1,), 5, "reaches past the end of its storage"),
        (
            (1,),
            (2**62,),
            0,
            "beyond its storage",
        ),  # a size-1 dimension's stride, huge: an overflow, not a read
        ((0,), (1,), 100, "beyond its storage"),
    ],
)
def test_a_tensor_that_would_read_outside_its_file_is_refused(
    tmp_path, legacy, shape, stride, offset, message
):
    with pytest.raises(WeightsFileError, match=message):
        read_state_dict(_crafted_file(tmp_path, shape, stride, offset, legacy))


def test_well_formed_crafted_tensors_read_as_their_layout_says(tmp_path):
    for legacy in (False, True):
        state = read_state_dict(
            _crafted_file(tmp_path, (3, 2), (1, 3), 0, legacy)
        )  # a transposed layout
        np.testing.assert_array_equal(state["w"], np.arange(6, dtype=np.float32).reshape(2, 3).T)
        assert read_state_dict(_crafted_file(tmp_path, (0, 4), (4, 1), 0, legacy))["w"].shape == (
            0,
            4,
        )


@pytest.mark.parametrize("count", [-5, 10**12])
def test_a_legacy_storage_claiming_more_than_the_file_holds_is_refused(tmp_path, count):
    with pytest.raises(WeightsFileError, match="ends inside storage"):
        read_state_dict(_crafted_file(tmp_path, (6,), (1,), 0, legacy=True, count=count))
