"""The exported colouriser (ONNX, run by onnxruntime without TensorFlow) colours as the Keras model does: exact
reference colours from a constant-colour model, the Keras colouriser's own output on packaged photos for
networks of both encoders and both outputs, and clear refusals of a missing, damaged or mismatched export."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys

import numpy as np
import pytest
from conftest import CONSTANT_AB

from colourlib import runs
from study.config import preset_config

pytest.importorskip(
    "onnxruntime"
)  # no wheel for Python 3.10 since 1.24: the Keras path is used there
from colourlib import export
from colourlib.colour import l_to_grey_rgb, lab_to_rgb, rgb_to_lightness
from colourlib.colouriser import Colouriser
from colourlib.data.photos import read_rgb, wheel_test_photos
from colourlib.encoders import encoder_spec
from colourlib.exported import ExportedColouriser, ExportedModelError
from colourlib.model import build_network

AB = CONSTANT_AB


def _run(folder, size, encoder, classes, decoder, seed=0):
    """A 'finished run': a network of random weights saved with its configuration, as training leaves it (the
    constant-colour one is ``conftest.constant_run``)."""
    import keras

    keras.utils.set_random_seed(seed)
    model = build_network(size, encoder, None, classes=classes, decoder=decoder)
    folder.mkdir(parents=True, exist_ok=True)
    model.save_weights(folder / runs.RunFolder.WEIGHTS)
    loss = "classification" if classes else "mse"
    preset_config(
        "tiny", image_size=size, encoder=encoder, loss=loss, decoder=decoder, temperature=0.38
    ).save(folder / "config.json")
    return folder


@pytest.fixture(scope="module")
def photos():
    return [read_rgb(p) for p in sorted(wheel_test_photos())[:3]]


@pytest.mark.parametrize("encoder", ["vgg16", "efficientnet-lite0"])
def test_the_grey_input_map_is_the_encoders_own_preprocessing(encoder):
    scale, offset = export.grey_affine(encoder)
    l_net = np.random.default_rng(0).random((2, 5, 7, 1)).astype(np.float32)
    grey = l_to_grey_rgb(l_net) * 255
    np.testing.assert_allclose(
        grey * scale + offset, encoder_spec(encoder).preprocess(l_net), atol=1e-4
    )


def test_a_constant_colour_model_exports_to_exactly_its_colour_on_the_photos_own_lightness(
    constant_export, photos
):
    record = json.loads((constant_export / "export" / export.SIDECAR_FILE).read_text())
    coloured = ExportedColouriser.load(constant_export / "export").colour_all(photos)
    for photo, out in zip(photos, coloured):
        assert out.shape == photo.shape
        lightness = rgb_to_lightness(photo)
        expected = lab_to_rgb(
            np.stack(
                [lightness, np.full_like(lightness, AB[0]), np.full_like(lightness, AB[1])], -1
            )
        )
        np.testing.assert_allclose(out, expected, atol=2e-3)
    assert record["max_ab_difference_from_keras"] < 0.1


@pytest.fixture(scope="module")
def lite0_export(tmp_path_factory):
    """A colour-class EfficientNet-Lite0 run with the decoder with skips, of random weights, and its export."""
    folder = tmp_path_factory.mktemp("lite0")
    run = _run(folder / "run", 64, "efficientnet-lite0", True, "skips", seed=3)
    return run, folder / "export", export.export(run, folder / "export")


def check_colours_as_keras_does(run, export_dir, record, photos, size, classes):
    exported = ExportedColouriser.load(export_dir)
    keras_ab = Colouriser.from_run(run).predict_ab(photos)
    for ours, theirs in zip(exported.predict_ab(photos), keras_ab):
        assert ours.shape == theirs.shape
        assert np.abs(ours - theirs).max() < export.EXPORT_TOLERANCE_AB
        assert np.abs(ours - theirs).mean() < 0.1
    assert record["float16_weights"] and record["input"]["shape"] == [None, size, size, 1]
    weights = (run / runs.RunFolder.WEIGHTS).read_bytes()
    assert record["weights_sha256"] == hashlib.sha256(weights).hexdigest()
    assert record["temperature"] == (0.38 if classes else None)
    assert record["environment"]["git"] is not None


def test_the_exported_lite0_colours_as_the_keras_colouriser_does(lite0_export, photos):
    check_colours_as_keras_does(*lite0_export, photos, 64, classes=True)


@pytest.mark.slow  # an export of VGG16 at 64 px (the shared one is VGG16 at 32 px predicting one colour)
def test_the_exported_vgg16_colours_as_the_keras_colouriser_does(tmp_path, photos):
    run = _run(tmp_path / "run", 64, "vgg16", False, "paper", seed=3)
    record = export.export(run, tmp_path / "export")
    check_colours_as_keras_does(run, tmp_path / "export", record, photos, 64, classes=False)


def test_float16_weights_halve_the_file_and_keep_the_colours(tmp_path, photos, lite0_export):
    run, half_dir, half = lite0_export
    full = export.export(run, tmp_path / "full", float16=False)
    assert half["bytes"] < 0.6 * full["bytes"]
    a = ExportedColouriser.load(half_dir).predict_ab(photos)
    b = ExportedColouriser.load(tmp_path / "full").predict_ab(photos)
    assert max(np.abs(x - y).max() for x, y in zip(a, b)) < 0.5


def test_a_missing_damaged_or_mismatched_export_is_refused_with_the_fix(tmp_path, constant_export):
    with pytest.raises(
        ExportedModelError, match="no exported colouriser.*python -m colourlib export"
    ):
        ExportedColouriser.load(tmp_path)
    shutil.copytree(constant_export / "export", tmp_path / "export")
    sidecar = tmp_path / "export" / export.SIDECAR_FILE
    record = json.loads(sidecar.read_text())
    sidecar.write_text(json.dumps({**record, "image_size": 64}))
    with pytest.raises(ExportedModelError, match="says 64 px"):
        ExportedColouriser.load(tmp_path / "export")
    sidecar.write_text("{not json")
    with pytest.raises(ExportedModelError, match="not a readable export record.*export again"):
        ExportedColouriser.load(tmp_path / "export")
    sidecar.write_text(json.dumps(record))
    onnx_file = tmp_path / "export" / export.ONNX_FILE
    good = onnx_file.read_bytes()
    damaged = bytearray(good)
    damaged[-20000:-10000] = bytes(
        255 - b for b in damaged[-20000:-10000]
    )  # same size, still loads
    onnx_file.write_bytes(bytes(damaged))
    with pytest.raises(ExportedModelError, match="its sha256 is not the one .* Fix: export again"):
        ExportedColouriser.load(tmp_path / "export")
    onnx_file.write_bytes(good[:1000])
    sidecar.write_text(json.dumps({**record, "sha256": hashlib.sha256(good[:1000]).hexdigest()}))
    with pytest.raises(ExportedModelError, match="onnxruntime cannot load it"):
        ExportedColouriser.load(tmp_path / "export")


def test_colouring_with_an_export_never_imports_tensorflow():
    code = (
        "import sys; import colourlib.exported, colourlib.whole_photo; "
        "bad = [m for m in ('keras', 'tensorflow', 'jax', 'torch') if m in sys.modules]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
