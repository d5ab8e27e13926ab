"""Keras callbacks that record each epoch to disk, back the run up after each epoch, and stop a diverging run
loudly. Every file is written atomically (:mod:`colourlib.atomic`): a kill leaves the previous version."""

from __future__ import annotations

import csv
import io
import json
import math
import resource
import time
from pathlib import Path

import keras

from . import ColourlibError, atomic

HISTORY_FIELDS = [
    "epoch",
    "loss",
    "val_loss",
    "train_seconds",
    "epoch_seconds",
    "images_per_s",
    "input_wait_share",
]


class TrainingDiverged(ColourlibError, FloatingPointError):
    """The loss became NaN or infinite."""


class EpochRecorder(keras.callbacks.Callback):
    """Appends one row per finished epoch to ``history.csv``: losses, wall seconds, training images/s.

    ``train_seconds`` covers the training steps only (validation excluded), so images/s measures training.
    Rows of epochs that a resumed run will redo are dropped first, so the file never holds an epoch twice. It
    runs before the backup of the same epoch, so a kill between the two loses no row: the resumed run redoes
    the epoch and replaces its row.
    """

    def __init__(
        self,
        path: Path,
        images_per_epoch: int,
        total_epochs: int,
        resume_epoch: int = 0,
        print_progress: bool = True,
    ):
        super().__init__()
        self.path = Path(path)
        self.images_per_epoch = images_per_epoch
        self.total_epochs = total_epochs
        self.print_progress = print_progress
        self._keep_rows_before(resume_epoch)

    def _keep_rows_before(self, epoch: int) -> None:
        rows = read_history(self.path) if self.path.is_file() else []
        write_history(self.path, [r for r in rows if int(r["epoch"]) < epoch])

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()
        self._train_end = None

    def on_test_begin(self, logs=None):
        self._train_end = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        end = time.perf_counter()
        train_seconds = (self._train_end or end) - self._start
        row = {
            "epoch": epoch,
            "loss": logs.get("loss"),
            "val_loss": logs.get("val_loss"),
            "train_seconds": round(train_seconds, 4),
            "epoch_seconds": round(end - self._start, 4),
            "images_per_s": round(self.images_per_epoch / train_seconds, 3),
        }
        write_history(self.path, [*read_history(self.path), row])
        if self.print_progress:
            val = f"  val_loss {row['val_loss']:.5f}" if row["val_loss"] is not None else ""
            print(
                f"epoch {epoch + 1}/{self.total_epochs}  loss {row['loss']:.5f}{val}  "
                f"{row['images_per_s']:.1f} img/s  {row['epoch_seconds']:.1f} s",
                flush=True,
            )


def read_history(path: Path) -> list[dict]:
    with Path(path).open(newline="") as f:
        return list(csv.DictReader(f))


def write_history(path: Path, rows: list[dict]) -> None:
    text = io.StringIO(newline="")
    writer = csv.DictWriter(text, fieldnames=HISTORY_FIELDS)
    writer.writeheader()
    writer.writerows(rows)
    atomic.write_text(path, text.getvalue(), kind="history")


BACKUP_STATE = "state.json"


class EpochBackup(keras.callbacks.Callback):
    """After every epoch, the model's weights and optimizer state as ``backup/epoch-NNNN.weights.h5``, then
    ``backup/state.json`` pointing at it, each written atomically: the state always names a complete file, and
    the previous backup is deleted only once the new one is in place (Keras's ``BackupAndRestore`` overwrites
    its one file in place, so a kill while it writes leaves a run that can never resume)."""

    def __init__(self, backup_dir: Path):
        super().__init__()
        self.backup_dir = Path(backup_dir)

    def on_epoch_end(self, epoch, logs=None):
        self.backup_dir.mkdir(parents=True, exist_ok=True)
        target = self.backup_dir / f"epoch-{epoch + 1:04d}.weights.h5"
        with atomic.replacing(target, kind="backup-weights", verify=atomic.h5_complete) as tmp:
            self.model.save_weights(tmp)
        atomic.write_json(
            self.backup_dir / BACKUP_STATE,
            {"epoch": epoch + 1, "weights": target.name},
            kind="backup-state",
        )
        for old in self.backup_dir.glob("epoch-*.weights.h5"):
            if old != target:
                old.unlink()


class KeepBest(keras.callbacks.Callback):
    """Keeps the whole network's weights of the epoch with the lowest validation loss in ``folder`` as
    ``best-epoch-NNNN.weights.h5`` (written atomically), so a run ends with its best validation epoch and not
    with whatever the last epoch left.

    ``earlier`` are the history rows of the epochs finished before a resume: the best of those is the file kept;
    files of later epochs (an attempt killed before its backup, which the resumed run redoes) are removed, so
    the weights kept always belong to an epoch the history records. ``network`` may be larger than the model
    being fitted (the decoder on cached features): its decoder is the fitted model's.
    """

    def __init__(self, network: keras.Model, folder: Path, earlier: list[dict] = ()):
        super().__init__()
        self.network, self.folder = network, Path(folder)
        self.best_epoch, self.best_val_loss = None, math.inf
        for row in earlier:
            val = float(row["val_loss"])
            if val < self.best_val_loss:
                self.best_epoch, self.best_val_loss = int(row["epoch"]) + 1, val
        self._remove_others()

    def path(self, epoch: int) -> Path:
        return self.folder / f"best-epoch-{epoch:04d}.weights.h5"

    def _remove_others(self) -> None:
        keep = self.path(self.best_epoch) if self.best_epoch else None
        for old in self.folder.glob("best-epoch-*.weights.h5"):
            if old != keep:
                old.unlink()

    def on_epoch_end(self, epoch, logs=None):
        val = float((logs or {}).get("val_loss", math.nan))
        if val < self.best_val_loss or self.best_epoch is None:
            self.folder.mkdir(parents=True, exist_ok=True)
            with atomic.replacing(
                self.path(epoch + 1), kind="best-weights", verify=atomic.h5_complete
            ) as tmp:
                self.network.save_weights(tmp)
            self.best_epoch, self.best_val_loss = (
                epoch + 1,
                val if not math.isnan(val) else math.inf,
            )
            self._remove_others()

    @property
    def best_file(self) -> Path:
        return self.path(self.best_epoch)


def read_backup(backup_dir: Path) -> tuple[int, Path | None]:
    """(epochs finished, their weights file) of a run's backup; (0, None) when there is none to resume."""
    state = Path(backup_dir) / BACKUP_STATE
    if not state.is_file():
        return 0, None
    value = json.loads(state.read_text())
    return int(value["epoch"]), Path(backup_dir) / value["weights"]


def add_input_wait(path: Path, compute_seconds_per_epoch: float) -> None:
    """Fill ``input_wait_share`` of the epochs that lack it: the share of training time not explained by
    compute alone (``compute_seconds_per_epoch``, measured on in-memory batches)."""
    rows = read_history(path)
    for row in rows:
        if not row.get("input_wait_share"):
            row["input_wait_share"] = round(
                max(0.0, 1 - compute_seconds_per_epoch / float(row["train_seconds"])), 4
            )
    write_history(path, rows)


class StepTimer(keras.callbacks.Callback):
    """Mean seconds per training step after ``warmup`` steps (from that step's start to the epoch's end, which
    waits for the last step even where the backend dispatches steps asynchronously). ``start`` and ``end`` hold
    (wall clock, this process's resource usage) at those two moments, for CPU time and page faults too."""

    def __init__(self, warmup: int = 2):
        super().__init__()
        self.warmup = warmup
        self.seconds_per_step = float("nan")

    def on_train_batch_begin(self, batch, logs=None):
        if batch == self.warmup:
            self.start = (time.perf_counter(), resource.getrusage(resource.RUSAGE_SELF))

    def on_epoch_end(self, epoch, logs=None):
        self.end = (time.perf_counter(), resource.getrusage(resource.RUSAGE_SELF))
        steps = self.params["steps"] - self.warmup
        self.seconds_per_step = (self.end[0] - self.start[0]) / steps


class FaultPoints(keras.callbacks.Callback):
    """Marks each training step as a moment a crash could happen (the crash-safety test kills the process at
    one; a no-op otherwise)."""

    def on_train_batch_end(self, batch, logs=None):
        atomic.fault_point("batch")


class StopOnNaN(keras.callbacks.Callback):
    """Raises :class:`TrainingDiverged` at the first batch whose loss is NaN or infinite."""

    def __init__(self, hint: str = ""):
        super().__init__()
        self.hint = hint
        self._epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            raise TrainingDiverged(
                f"training loss became {float(loss)} at epoch {self._epoch + 1}, batch "
                f"{batch + 1}. {self.hint}"
            )
