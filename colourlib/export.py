"""A trained colouriser as one ONNX file, for colouring without TensorFlow: ``colourise``'s fast path
(:mod:`colourlib.exported`; onnxruntime starts in well under a second, TensorFlow in about six) and the book's
in-browser page (onnxruntime-web).

The exported graph is the trained network between two thin layers, so that whoever runs it only squashes the
photo and upsamples the result, as :mod:`colourlib.whole_photo` does:

- in: ``grey``, (N, S, S, 1), the sRGB grey (0..255) of the squashed photo's L. Every encoder's own input is
  an affine map of it per channel (Lite: (g - 127) / 128; VGG16: g minus ImageNet's BGR mean), read off the
  encoder's own ``preprocess`` and held in the graph, so the two cannot differ;
- out: ``ab``, network-scaled ab (CIE / 128) at the network's output grid (a colour-class model's 313 bins are
  read back by their annealed mean at the run's T inside the graph).

Keras's own exporter (``model.export(format="onnx")``, tf2onnx under TensorFlow) writes the graph; its weights
are then stored as float16 and cast back to float32 on load (half the file, float32 arithmetic), and the file's
colours are checked against the Keras model's before it is kept. A JSON file beside it carries its provenance:
the run, its configuration, the commit, the versions and that check.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
import warnings
from pathlib import Path

import keras
import numpy as np

from colourlib import ColourlibError, atomic
from colourlib.colour.classes import annealed_mean_ops
from colourlib.colouriser import Colouriser
from colourlib.encoders import encoder_spec
from colourlib.exported import EXPORT_DIR, ONNX_FILE, SIDECAR_FILE
from colourlib.whole_photo import full_size_ab, network_grey

#: The code an export depends on (its reuse is keyed by it, with the run's weights).
EXPORT_CODE = ("colourlib.export",)
#: The largest ab difference (CIE units, any pixel of the check photos) allowed between the exported file and
#: the Keras model; float16 weights move colours by hundredths of a unit.
EXPORT_TOLERANCE_AB = 1.0
#: The same for the grey input's affine map against the encoder's own preprocessing (float32 rounding only).
PREPROCESS_TOLERANCE_AB = 0.05
#: Initializers with fewer elements than this stay float32 (biases, batch-norm vectors: nothing to save).
FLOAT16_MIN_ELEMENTS = 1024


class ExportError(ColourlibError, RuntimeError):
    """The exported file does not colour as the trained model does, or cannot be written."""


def grey_affine(encoder: str) -> tuple[np.ndarray, np.ndarray]:
    """(scale, offset), 3 channels each, with ``preprocess(L) = grey(L) * scale + offset`` for the encoder's own
    ``preprocess`` (grey: sRGB 0..255 of L), read off it at black and white."""
    preprocess = encoder_spec(encoder).preprocess
    black = preprocess(np.zeros((1, 1, 1, 1), np.float32))[0, 0, 0].astype(np.float64)
    white = preprocess(np.ones((1, 1, 1, 1), np.float32))[0, 0, 0].astype(np.float64)
    scale = (white - black) / 255.0
    return scale.astype(np.float32), black.astype(np.float32)


class GreyToEncoderInput(keras.layers.Layer):
    """(N, H, W, 1) sRGB grey 0..255 -> the encoder's input, (N, H, W, 3): ``grey * scale + offset``."""

    def __init__(self, scale, offset, **kwargs):
        super().__init__(**kwargs)
        self.scale = np.asarray(scale, np.float32)
        self.offset = np.asarray(offset, np.float32)

    def call(self, grey):
        return grey * keras.ops.convert_to_tensor(self.scale) + keras.ops.convert_to_tensor(
            self.offset
        )


class AnnealedMean(keras.layers.Layer):
    """313 bin logits -> network-scaled ab, by the annealed mean at ``temperature``."""

    def __init__(self, temperature: float, **kwargs):
        super().__init__(**kwargs)
        self.temperature = float(temperature)

    def call(self, logits):
        return annealed_mean_ops(logits, self.temperature)


def inference_model(colouriser: Colouriser) -> keras.Model:
    """grey (N, S, S, 1) -> network-scaled ab: the trained network between :class:`GreyToEncoderInput` and, for a
    colour-class model, :class:`AnnealedMean` at the run's temperature."""
    size = colouriser.image_size
    grey = keras.Input((size, size, 1), name="grey")
    out = colouriser.model(GreyToEncoderInput(*grey_affine(colouriser.encoder))(grey))
    if colouriser.classes:
        out = AnnealedMean(colouriser.config.temperature)(out)
    return keras.Model(grey, out, name="colouriser_inference")


def finish_graph(path: Path, float16: bool = True) -> None:
    """Name the output ``ab`` and (``float16``) store ``path``'s large float32 initializers as float16, each cast
    back to float32 where it is used: the file halves, the arithmetic stays float32 (every runtime and browser
    runs it)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    model = onnx.load(str(path))
    graph = model.graph
    old = graph.output[0].name
    for node in graph.node:
        node.output[:] = ["ab" if name == old else name for name in node.output]
    graph.output[0].name = "ab"
    if not float16:
        onnx.checker.check_model(model)
        onnx.save(model, str(path))
        return
    casts, kept = [], []
    for init in graph.initializer:
        array = numpy_helper.to_array(init)
        if array.dtype != np.float32 or array.size < FLOAT16_MIN_ELEMENTS:
            kept.append(init)
            continue
        half = numpy_helper.from_array(array.astype(np.float16), f"{init.name}__float16")
        kept.append(half)
        casts.append(helper.make_node("Cast", [half.name], [init.name], to=TensorProto.FLOAT))
    del graph.initializer[:]
    graph.initializer.extend(kept)
    nodes = list(graph.node)
    del graph.node[:]
    graph.node.extend(casts + nodes)
    onnx.checker.check_model(model)
    onnx.save(model, str(path))


def export(
    run_dir: str | Path,
    out_dir: str | Path,
    check_photos: list[np.ndarray] | None = None,
    float16: bool = True,
) -> dict:
    """Export the finished run ``run_dir`` to ``out_dir/colouriser.onnx`` with its provenance in
    ``out_dir/colouriser.json``; returns that record. The file is kept only if its ab on ``check_photos``
    (default: two synthetic gradients) stays within :data:`EXPORT_TOLERANCE_AB` of the Keras model's."""
    import onnxruntime

    from colourlib.config import model_label
    from colourlib.paths import relative
    from colourlib.provenance import code_fingerprint, environment_record
    from colourlib.runs import RunFolder

    run_dir, out_dir = Path(run_dir), Path(out_dir)
    colouriser = Colouriser.from_run(run_dir)
    model = inference_model(colouriser)
    size = colouriser.image_size
    photos = check_photos or _check_images()
    grey = network_grey(photos, size)
    expected = np.asarray(model.predict_on_batch(grey))  # also builds the model, which export needs
    keras_path = colouriser.predict_ab(photos)  # the Keras colouriser's own path, for the record
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out_dir) as tmp:
        path = Path(tmp) / ONNX_FILE
        with warnings.catch_warnings():  # tf2onnx's own use of np.object, not ours
            warnings.filterwarnings("ignore", category=FutureWarning, module="keras.src.export")
            model.export(str(path), format="onnx", verbose=False)
        finish_graph(path, float16)
        session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        (got,) = session.run(None, {session.get_inputs()[0].name: grey})
        difference = float(np.abs(got - expected).max() * 128.0)
        # the grey input's affine map against the encoder's own preprocessing, through the same network
        preprocess_gap = max(
            float(np.abs(a - b).max())
            for a, b in zip(keras_path, full_size_ab(expected.astype(np.float32), photos))
        )
        if difference > EXPORT_TOLERANCE_AB or preprocess_gap > PREPROCESS_TOLERANCE_AB:
            raise ExportError(
                f"export of {run_dir}: the ONNX file's ab differ from the Keras model's by up to "
                f"{difference:.3f} (allowed {EXPORT_TOLERANCE_AB}), the grey input's path by "
                f"{preprocess_gap:.4f} (allowed {PREPROCESS_TOLERANCE_AB}); nothing was written. Fix: report it with the run folder."
            )
        data = path.read_bytes()
        target = out_dir / ONNX_FILE
        atomic.write_bytes(target, data, "export")
    config = colouriser.config
    record = {
        "file": ONNX_FILE,
        "sha256": hashlib.sha256(data).hexdigest(),
        "bytes": len(data),
        "model": model_label(config),
        "run": relative(run_dir),
        "weights_file": RunFolder.WEIGHTS,
        "weights_sha256": hashlib.sha256(RunFolder(run_dir).weights_file.read_bytes()).hexdigest(),
        "config": config.to_dict(),
        "input": {"name": "grey", "shape": [None, size, size, 1], "range": [0, 255]},
        "output": {
            "name": session.get_outputs()[0].name,
            "shape": [None, *expected.shape[1:]],
            "ab_scale": 128.0,
        },
        "image_size": size,
        "temperature": config.temperature if config.classes else None,
        "float16_weights": float16,
        "max_ab_difference_from_keras": difference,
        "export_code": code_fingerprint(EXPORT_CODE),
        "environment": environment_record(),
    }
    atomic.write_json(out_dir / SIDECAR_FILE, record, kind="export")
    return record


def _check_images() -> list[np.ndarray]:
    """Two synthetic photos of other sizes than the network's: colour ramps with some texture."""
    rng = np.random.default_rng(0)
    out = []
    for h, w in ((300, 420), (257, 190)):
        y, x = np.mgrid[0:h, 0:w] / np.array([h, w])[:, None, None]
        rgb = np.stack([x, y, 1 - x * y], -1) * 0.8 + rng.random((h, w, 3)) * 0.2
        out.append(rgb.astype(np.float32))
    return out


def current_export(run_dir: str | Path) -> tuple[dict, bool]:
    """The export of ``run_dir`` in ``run_dir/export``: reused while it was exported from the run's present
    weights by the present export code, else exported again. Returns (its record, whether it was reused)."""
    from colourlib.exported import ExportedModelError, current_for
    from colourlib.provenance import code_fingerprint

    out_dir = Path(run_dir) / EXPORT_DIR
    try:
        record = read_record(out_dir)
        current = (
            current_for(out_dir, run_dir)
            and record.get("export_code") == code_fingerprint(EXPORT_CODE)
            and hashlib.sha256((out_dir / ONNX_FILE).read_bytes()).hexdigest() == record["sha256"]
        )
    except (OSError, ValueError, KeyError, ExportedModelError):
        current = False
    if current:
        return record, True
    return export(run_dir, out_dir), False


def read_record(out_dir: str | Path) -> dict:
    """The provenance of an exported colouriser (``colouriser.json`` beside the ONNX file)."""
    return json.loads((Path(out_dir) / SIDECAR_FILE).read_text())
