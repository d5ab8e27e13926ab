"""A training run's folder, owned in one place: the files it holds, whether it is finished, and reading it back.

A run folder holds ``config.json`` (every parameter), ``environment.json`` (versions, hardware, commit, date,
code fingerprint, replicas), ``data.json`` (photos used and skipped), ``history.csv`` (one row per epoch),
``timing.json`` (the compute-only step time behind each epoch's input-wait share), ``colouriser.weights.h5``
and, while training, ``backup/`` (Keras's ``BackupAndRestore``). A run started in a fresh process also keeps
the configuration it was asked for (``requested_config.json``) and its output (``train.log``).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import re
import shutil
import statistics
from dataclasses import dataclass
from pathlib import Path

import keras
import pandas as pd

from . import ColourlibError, atomic, paths
from .callbacks import read_backup, read_history
from .config import TrainConfig
from .model import build_network
from .provenance import code_fingerprint

#: The errors of a folder that cannot take a write: a full disk or quota, no permission, a read-only mount.
#: The record of the model ``colourise`` uses when given no other (the study writes it).


def run_name(config: TrainConfig) -> str:
    """A run folder's name, read off its configuration: preset and the parallel axes in words, then a digest of
    every parameter, so two configurations never share a folder and the same one always finds its own."""
    digest = hashlib.sha256(json.dumps(config.to_dict(), sort_keys=True).encode()).hexdigest()[:8]
    return f"{config.preset}-gpus{config.gpus}-workers{config.workers}-{config.loaders}-{digest}"


class RunFolderError(ColourlibError, ValueError):
    """A run folder that cannot take this training: it holds another run, or another process is writing it.
    The message names the folder, what is there and the fix."""


def best_epoch(history: list[dict]) -> int:
    """The 1-based epoch with the lowest validation loss: where the model stopped getting better on photos it
    does not train on (the paper reads overfitting from 600-700 of its 1000 epochs)."""
    losses = [float(h["val_loss"]) for h in history]
    return losses.index(min(losses)) + 1


@dataclass(frozen=True)
class RunFolder:
    """One run's folder: every file name, the finished/reusable questions, and its results read back."""

    path: Path

    CONFIG = "config.json"
    ENVIRONMENT = "environment.json"
    DATA = "data.json"
    HISTORY = "history.csv"
    TIMING = "timing.json"
    WEIGHTS = "colouriser.weights.h5"
    BACKUP = "backup"
    CLASS_WEIGHTS = "class_weights.json"
    REQUEST = "requested_config.json"
    LOG = "train.log"
    LOCK = ".lock"
    #: What only a training writes: a folder holding none of these holds no run (a runner's request and log may
    #: be there before its training starts).
    RUN_FILES = (CONFIG, ENVIRONMENT, DATA, HISTORY, TIMING, WEIGHTS, CLASS_WEIGHTS, BACKUP)

    def __post_init__(self):
        object.__setattr__(self, "path", Path(self.path))

    @classmethod
    def default(cls, config: TrainConfig) -> RunFolder:
        """Where a run goes when its caller names no folder: ``runs/train/<run_name>``."""
        return cls(paths.runs_dir() / "train" / run_name(config))

    @classmethod
    def chosen(
        cls, run_dir: str | Path | None, config: TrainConfig, source: str = "run_dir"
    ) -> RunFolder:
        """The folder a caller asked for (``None``: the default one); an empty string is refused, since it would
        mean the current folder."""
        if run_dir is None:
            return cls.default(config)
        if not str(run_dir).strip():
            from .config import ConfigError

            raise ConfigError(
                f"{source}: run_dir={run_dir!r} is not allowed: None (runs/train/<name>) or a "
                "folder; an empty string names no folder."
            )
        return cls(Path(run_dir).expanduser())

    # --- files -----------------------------------------------------------------------------------------------
    def file(self, name: str) -> Path:
        return self.path / name

    @property
    def config_file(self) -> Path:
        return self.path / self.CONFIG

    @property
    def history_file(self) -> Path:
        return self.path / self.HISTORY

    @property
    def weights_file(self) -> Path:
        return self.path / self.WEIGHTS

    @property
    def backup_dir(self) -> Path:
        return self.path / self.BACKUP

    @property
    def log_file(self) -> Path:
        return self.path / self.LOG

    def write_json(self, name: str, value: dict) -> Path:
        return atomic.write_json(self.path / name, value, kind=Path(name).stem)

    def read_json(self, name: str) -> dict:
        return json.loads((self.path / name).read_text())

    # --- questions -------------------------------------------------------------------------------------------
    def is_finished(self) -> bool:
        """Training ended: the final weights and timing are written and the history holds every epoch its
        configuration asked for."""
        try:
            epochs = self.read_json(self.CONFIG)["epochs"]
            return (
                self.weights_file.is_file()
                and self.file(self.TIMING).is_file()
                and len(self.history()) == epochs
            )
        except (OSError, ValueError, KeyError):
            return False

    def is_reusable(self, config: TrainConfig) -> bool:
        """A finished run of exactly ``config``, made by the current core library, so it need not be retrained.
        Only answers: deleting a folder (``--force``) is the caller's decision."""
        try:
            return (
                self.is_finished()
                and self.read_json(self.CONFIG) == config.to_dict()
                and self.read_json(self.ENVIRONMENT).get("code_fingerprint") == code_fingerprint()
            )
        except (OSError, ValueError):
            return False

    def holds_a_run(self) -> bool:
        return any((self.path / name).exists() for name in self.RUN_FILES)

    def state_for(self, config: TrainConfig, photos: dict | None = None) -> str:
        """What training ``config`` here means: ``new`` (nothing of a run, or nothing trained yet), ``resume``
        (an interrupted run of exactly these parameters, photos and code) or ``finished`` (nothing to do).
        ``photos`` is the run's ``PhotoSet.summary()`` when known. Raises :class:`RunFolderError` for a run of
        other parameters, other photos or other code."""
        if not self.holds_a_run():
            return "new"
        fix = "Fix: pass --force to replace it, or train into another folder."
        try:
            saved = self.read_json(self.CONFIG)
        except (OSError, ValueError):
            raise RunFolderError(
                f"{self.path} holds files of a run but no readable {self.CONFIG}. {fix}"
            ) from None
        wanted = config.to_dict()
        if saved != wanted:
            changed = ", ".join(
                f"{k} {saved.get(k)!r} -> {wanted.get(k)!r}"
                for k in sorted(set(saved) | set(wanted))
                if saved.get(k) != wanted.get(k)
            )
            raise RunFolderError(f"{self.path} holds a run of other parameters ({changed}). {fix}")
        if photos is not None and (self.path / self.DATA).is_file():
            saved_photos = self.read_json(self.DATA)
            if any(saved_photos.get(k) != photos.get(k) for k in ("train", "val")):
                raise RunFolderError(
                    f"{self.path} holds a run trained on other photos (its {self.DATA} lists "
                    f"them). {fix}"
                )
        same_code = self.environment().get("code_fingerprint") == code_fingerprint()
        if self.is_finished():
            if same_code:
                return "finished"
            raise RunFolderError(
                f"{self.path} holds a finished run of these parameters made by other training "
                f"code. Fix: pass --force to retrain it with this code, or use another folder."
            )
        if read_backup(self.backup_dir)[0] == 0:
            return "new"  # stopped before its first epoch ended: nothing to keep
        if not same_code:
            raise RunFolderError(
                f"{self.path} holds an interrupted run made by other training code; resuming it "
                f"would mix two versions of the code in one model. {fix}"
            )
        return "resume"

    def prepare(self, config: TrainConfig, photos: dict, force: bool = False) -> str:
        """Ready the folder to train ``config`` on ``photos`` (their ``PhotoSet.summary()``), under its lock,
        and say what training means here (:meth:`state_for`): ``new`` (what was there is cleared), ``resume``
        (the last backup is kept) or ``finished`` (nothing to do). ``force`` clears the folder first. Temporary
        files of killed writers go; so does the backup of a finished run (a kill may have come just before its
        removal)."""
        if force:
            self.clear_run_files()  # its temporary files too
            return "new"
        state = self.state_for(config, photos)
        if state == "finished":
            shutil.rmtree(self.backup_dir, ignore_errors=True)
        elif state == "new":
            self.clear_run_files()
        self.remove_partials()
        return state

    def clear(self) -> None:
        """Delete what a training wrote here (``--force``), under the folder's lock, so a training still writing
        there is never pulled from under (the second writer is refused instead)."""
        if self.path.exists():
            with self.lock():
                self.clear_run_files()

    def make_way(self, config: TrainConfig) -> None:
        """Clear a folder of the study's own that training ``config`` would refuse (a finished or interrupted run
        of other code, or of other parameters); an interrupted run of the same ones is kept, to resume."""
        try:
            self.state_for(config)
        except RunFolderError:
            self.clear()

    def clear_run_files(self) -> None:
        """Remove what a training wrote (the caller decided: ``--force``, or nothing worth keeping). Its config
        goes last, so an interrupted clear still leaves a folder that says what it held."""
        for name in [n for n in self.RUN_FILES if n != self.CONFIG] + [self.CONFIG]:
            target = self.path / name
            if target.is_dir():
                shutil.rmtree(target)
            else:
                target.unlink(missing_ok=True)
        self.remove_partials()

    def remove_partials(self) -> None:
        """Temporary files a killed writer left (a live writer's stay)."""
        for folder in (self.path, self.backup_dir):
            for leftover in atomic.stale_partials(folder) if folder.is_dir() else ():
                leftover.unlink(missing_ok=True)

    @contextlib.contextmanager
    def lock(self):
        """One writer at a time: an exclusive lock on ``.lock``, released when the block ends or the process
        dies. A second writer is refused with the holder's PID. A folder that cannot be written (read-only, no
        permission, a full disk) is refused in one line naming it, the cause and the fix, whenever writing
        fails inside the block: nothing complete is lost, since every file is written to a temporary name and
        renamed into place (:mod:`colourlib.atomic`), so the last complete backup survives."""
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            with atomic.exclusive_lock(self.path / self.LOCK, f"the run folder {self.path}"):
                yield self
        except OSError as exc:
            full = exc.errno in (errno.ENOSPC, errno.EDQUOT)
            if exc.errno not in atomic.CANNOT_WRITE or not (full or self.holds(_written(exc))):
                raise  # e.g. a photo that cannot be read: not this folder's problem, the traceback says where
            message = self.cannot_write(exc)
            release_failed_writes(exc, self.path)
            raise RunFolderError(message) from None

    def holds(self, name: str) -> bool:
        """``name`` is this folder or a path inside it."""
        if not name:
            return False
        here, there = self.path.resolve(), Path(name).resolve()
        return there == here or here in there.parents

    def cannot_write(self, exc: OSError) -> str:
        """What a failed write in this folder means for the person running it, in one line (HDF5's own
        multi-line report of a failed write is read for its file name and cause)."""
        text = str(exc.strerror or exc)
        cause = re.search(r"error message = '([^']+)'", text)
        what = f" {_written(exc)}" if _written(exc) else ""
        text = cause.group(1) if cause else text
        if exc.errno == errno.ENOSPC:
            fix = "free space on that disk, or train into another folder"
        elif exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            fix = "train into a folder you can write to, or make this one writable"
        else:
            fix = "check the disk and the folder, or train into another folder"
        return (
            f"{self.path}: cannot write{what} ({text}). The last finished epoch's backup, if "
            f"any, is intact: the same command resumes from it. Fix: {fix}."
        )

    def check_space(self, needed: int) -> None:
        """Refuse before training when the folder's disk has less than ``needed`` bytes free."""
        free = shutil.disk_usage(self.path).free
        if free < needed:
            raise RunFolderError(
                f"{self.path}: this run needs about {needed / 2**20:.0f} MB (weights, best weights and a "
                f"backup with the optimizer state, each written beside the last before it replaces it) and "
                f"its disk has {free / 2**20:.0f} MB free. Fix: free space on that disk, or train into "
                "another folder."
            )

    # --- results ---------------------------------------------------------------------------------------------
    def config(self) -> TrainConfig:
        return TrainConfig.from_dict(self.read_json(self.CONFIG), source=str(self.config_file))

    def history(self) -> list[dict]:
        return read_history(self.history_file)

    def history_table(self) -> pd.DataFrame:
        """The per-epoch record, epochs counted from 1."""
        history = pd.DataFrame(self.history()).astype(float)
        return history.assign(epoch=history.epoch.astype(int) + 1).set_index("epoch")

    def load_model(self) -> tuple[keras.Model, TrainConfig]:
        """The trained network of a finished run, with the configuration it was trained with."""
        config = self.config()
        model = build_network(
            config.image_size, config.encoder, None, classes=config.classes, decoder=config.decoder
        )
        model.load_weights(self.weights_file)
        return model, config

    def summary(self) -> dict:
        """The key numbers the book cites for a run: steady-state speed and input-wait share (medians over the
        epochs after the first, which compiles), losses, best epoch, total time and the devices it ran on."""
        history = self.history()
        steady = history[1:] or history
        median = lambda key: statistics.median(float(h[key]) for h in steady)  # noqa: E731
        return {
            "images_per_s": median("images_per_s"),
            "epoch_seconds": median("train_seconds"),
            "input_wait_share": median("input_wait_share"),
            "final_val_loss": float(history[-1]["val_loss"]),
            "final_loss": float(history[-1]["loss"]),
            "best_epoch": best_epoch(history),
            "epochs": len(history),
            "devices": self.environment().get("replicas", {}).get("label", "?"),
            "run_dir": str(self.path),
            "training_seconds": sum(float(h["epoch_seconds"]) for h in history),
        }

    def environment(self) -> dict:
        path = self.file(self.ENVIRONMENT)
        return json.loads(path.read_text()) if path.is_file() else {}


def _written(exc: OSError) -> str:
    """The file an OSError is about: its ``filename``, or the one HDF5's report names."""
    named = re.search(r"filename = '([^']+)'", str(exc.strerror or exc))
    return named.group(1) if named else (str(exc.filename) if exc.filename else "")


def release_failed_writes(exc: BaseException, folder: Path) -> None:
    """Close now what a failed write left open. Keras does not close an HDF5 file whose write failed (a full
    disk): the file stays open, and HDF5, failing again to flush it when the interpreter exits, segfaults. Its
    temporary file in ``folder`` is emptied (it is being discarded: :func:`colourlib.atomic.replacing` removes
    it) so that the close can complete, then closed; the exception's frames are cleared and collected while the
    library is alive. The errors of those closes, already reported as the run's one line, are not printed."""
    import gc
    import sys
    import traceback

    seen = set()
    while (
        exc is not None and id(exc) not in seen
    ):  # the exception and those it was raised while handling
        seen.add(id(exc))
        traceback.clear_frames(exc.__traceback__)
        exc.__traceback__ = None
        exc = exc.__cause__ or exc.__context__
    previous, sys.unraisablehook = sys.unraisablehook, lambda unraisable: None
    try:
        gc.collect()
        if (
            "h5py" in sys.modules
        ):  # any HDF5 file still open (held elsewhere): closed now, its error dropped
            import h5py

            for file_id in h5py.h5f.get_obj_ids(types=h5py.h5f.OBJ_FILE):
                name = Path(file_id.name.decode(errors="replace"))
                if (
                    folder in name.parents and f".{os.getpid()}.partial" in name.name
                ):  # ours, discarded
                    with contextlib.suppress(Exception):
                        os.ftruncate(
                            file_id.get_vfd_handle(), 0
                        )  # the disk's room back, for the close
                    with contextlib.suppress(Exception):
                        file_id.close()
        gc.collect()
    finally:
        sys.unraisablehook = previous


def remember_default(run_dir: Path) -> Path:
    """Record ``run_dir`` as the model ``colourise`` uses by default (the study's pipeline calls this for its default model)."""
    record = paths.default_model_record()
    record.parent.mkdir(parents=True, exist_ok=True)
    # relative to the record's own folder, so a clone (or its runs folder) can move and keep its default model
    where = os.path.relpath(Path(run_dir).resolve(), record.parent.resolve())
    return atomic.write_json(
        record, {"run_dir": where, "written_by": "python -m study run"}, kind="default-model"
    )
