"""Colouring with an exported colouriser (:mod:`colourlib.export`) through onnxruntime, without importing
TensorFlow or Keras: onnxruntime starts in a fraction of a second, TensorFlow and Keras in about six, which is
most of the time to a first coloured photo.

The network's input has one size whatever the photo's, so photos of every size share one compiled graph; the
upsampling and the joining with the photo's own L run outside it (:mod:`colourlib.whole_photo`), exactly as the
Keras colouriser does them.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import ColourlibError
from .whole_photo import full_size_ab, network_grey, recombine

ONNX_FILE = "colouriser.onnx"
SIDECAR_FILE = "colouriser.json"
#: Where a run's export goes inside its run folder (where ``colourise`` looks for it).
EXPORT_DIR = "export"


class ExportedModelError(ColourlibError, ValueError):
    """An exported colouriser that cannot be used; the message names the file and the fix."""


@dataclass
class ExportedColouriser:
    """An exported network and its record: the input size, what it was exported from, how well it matched."""

    session: object
    record: dict
    path: Path

    @classmethod
    def load(cls, folder: str | Path, threads: int | None = None) -> ExportedColouriser:
        """The colouriser exported into ``folder`` (``colouriser.onnx`` and ``colouriser.json``)."""
        import onnxruntime

        folder = Path(folder)
        path, sidecar = folder / ONNX_FILE, folder / SIDECAR_FILE
        if not path.is_file() or not sidecar.is_file():
            raise ExportedModelError(
                f"{folder}: no exported colouriser ({ONNX_FILE} and {SIDECAR_FILE}). Fix: python -m "
                f"colourlib export RUN_DIR {folder}, or `make study`, which exports the default model."
            )
        record = read_export_record(folder)
        size = int(record["image_size"])
        # the bytes the record vouches for, or nothing: a damaged file that still loads would colour wrongly
        data = path.read_bytes()
        if hashlib.sha256(data).hexdigest() != record["sha256"]:
            raise ExportedModelError(
                f"{path}: its sha256 is not the one {sidecar} records (the file changed after the export: "
                f"damaged or replaced). Fix: export again (python -m colourlib export RUN_DIR)."
            )
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads or len(os.sched_getaffinity(0))
        try:
            session = onnxruntime.InferenceSession(
                data, options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # onnxruntime raises its own types for a damaged file
            raise ExportedModelError(
                f"{path}: onnxruntime cannot load it ({type(exc).__name__}: {exc}). Fix: export again."
            ) from None
        shape = session.get_inputs()[0].shape
        if list(shape[1:]) != [size, size, 1]:
            raise ExportedModelError(
                f"{path}: its input is {shape}, but {sidecar} says {size} px. Fix: export again."
            )
        return cls(session, record, path)

    @property
    def image_size(self) -> int:
        return int(self.record["image_size"])

    @property
    def description(self) -> str:
        return (
            f"{self.record.get('model', 'exported model')}, exported from {self.record.get('run')}"
        )

    def predict_ab(self, images: list[np.ndarray]) -> list[np.ndarray]:
        """ab (CIE units) of each sRGB photo at its own full resolution."""
        if not images:
            return []
        (ab_net,) = self.session.run(["ab"], {"grey": network_grey(images, self.image_size)})
        return full_size_ab(ab_net.astype(np.float32), images)

    def colour_all(self, images: list[np.ndarray]) -> list[np.ndarray]:
        """Photos of any sizes (sRGB in [0, 1]) coloured at their own sizes, their own L kept."""
        return [recombine(img, ab) for img, ab in zip(images, self.predict_ab(images))]

    def colour(self, rgb: np.ndarray) -> np.ndarray:
        """sRGB (H, W, 3) in [0, 1] -> the same photo coloured, its own L kept, float32 in [0, 1]."""
        return self.colour_all([rgb])[0]


def read_export_record(folder: str | Path) -> dict:
    """The export record in ``folder``, with the fields colouring relies on; a damaged or partial record is an
    :class:`ExportedModelError` naming the file, never mistaken for an export of other weights."""
    sidecar = Path(folder) / SIDECAR_FILE
    try:
        record = json.loads(sidecar.read_text())
        for key in ("image_size", "sha256", "weights_file", "weights_sha256"):
            record[key]  # noqa: B018 (each must be there)
        int(record["image_size"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ExportedModelError(
            f"{sidecar}: not a readable export record ({type(exc).__name__}: {exc}). Fix: export again "
            "(python -m colourlib export RUN_DIR)."
        ) from None
    return record


def current_for(folder: str | Path, run_dir: str | Path) -> bool:
    """Whether the export in ``folder`` was made from the present weights of ``run_dir`` (its record names the
    weights file and their sha256): an export of weights since retrained must not be used for them. An
    unreadable record raises :class:`ExportedModelError`; missing weights are not current."""
    record = read_export_record(folder)
    try:
        weights = Path(run_dir) / record["weights_file"]
        return hashlib.sha256(weights.read_bytes()).hexdigest() == record["weights_sha256"]
    except (OSError, TypeError):
        return False
