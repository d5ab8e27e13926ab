"""Training one configuration: MSE + Adam as the paper, with everything a run needs written to its folder.

A run folder holds ``config.json``, ``environment.json`` (versions, hardware, commit, date), ``data.json`` (the
photos used and the files skipped), ``history.csv`` (one row per epoch), ``colouriser.weights.h5`` and, while
training, ``backup/`` from Keras's ``BackupAndRestore``: rerunning an interrupted run resumes at its last
finished epoch.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np

from .callbacks import EpochRecorder, StopOnNaN, read_history
from .config import TrainConfig
from .dataset import ArrayBatches, ColourBatches, PhotoCrops
from .model import build_colouriser, encoder_spec
from .photos import PhotoSet, load_photo_set
from .provenance import environment_record

WEIGHTS_FILE = "colouriser.weights.h5"


@dataclass
class TrainResult:
    run_dir: Path
    history: list[dict]
    model: keras.Model
    photos: PhotoSet
    seconds: float

    @property
    def final_val_loss(self) -> float:
        return float(self.history[-1]["val_loss"])


def resume_epoch(backup_dir: Path) -> int:
    """The epoch an interrupted run resumes at (0 when there is nothing to resume)."""
    meta = backup_dir / "training_metadata.json"
    return int(json.loads(meta.read_text())["epoch"]) if meta.is_file() else 0


def encode(encoder: keras.Model, batches: ColourBatches, steps: int) -> tuple[np.ndarray, np.ndarray]:
    """Encoder features and ab targets of ``steps`` batches, in order (one pass, no training)."""
    feats, targets = [], []
    for i in range(steps):
        x, y = batches[i]
        feats.append(keras.ops.convert_to_numpy(encoder(x, training=False)))
        targets.append(y)
    return np.concatenate(feats), np.concatenate(targets)


def validation_arrays(crops: PhotoCrops, preprocess, batch_size: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    batches = ColourBatches(crops, batch_size, preprocess, seed, shuffle=False)
    parts = [batches[i] for i in range(batches.steps_per_epoch)]
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def train(config: TrainConfig, run_dir: str | Path, photos: PhotoSet | None = None,
          print_progress: bool = True, extra_callbacks: list[keras.callbacks.Callback] = ()) -> TrainResult:
    """Train ``config`` into ``run_dir`` (created; an interrupted run there is resumed).

    ``extra_callbacks`` are added after the run's own (NaN stop, backup, epoch record).
    """
    config.validate()
    previous_policy = keras.config.dtype_policy()
    keras.config.set_dtype_policy(config.precision)
    try:
        return _train(config, Path(run_dir), photos, print_progress, extra_callbacks)
    finally:  # the policy is global: leave it as the caller had it
        keras.config.set_dtype_policy(previous_policy)


def _train(config: TrainConfig, run_dir: Path, photos: PhotoSet | None, print_progress: bool,
           extra_callbacks) -> TrainResult:
    started = time.perf_counter()
    run_dir.mkdir(parents=True, exist_ok=True)
    keras.utils.set_random_seed(config.seed)

    photos = photos or load_photo_set(config.data_dir, config.image_size, config.val_fraction)
    if not photos.val:
        raise ValueError(f"data_dir={config.data_dir!r}: no photo left for validation "
                         f"({len(photos.train)} usable). Fix: add photos or raise val_fraction.")
    model = build_colouriser(config.image_size, config.encoder, config.encoder_weights,
                             encoder_trainable=not config.cache_features and config.encoder_trainable)
    preprocess = encoder_spec(config.encoder).preprocess
    config.save(run_dir / "config.json")
    (run_dir / "environment.json").write_text(json.dumps(environment_record(), indent=2) + "\n")
    (run_dir / "data.json").write_text(json.dumps(photos.summary(), indent=2) + "\n")

    backup_dir = run_dir / "backup"
    start_epoch = resume_epoch(backup_dir)
    train_crops = PhotoCrops(photos.train, config.image_size, config.crops_per_photo, config.seed,
                             augment=config.augment, in_memory=config.in_memory)
    val_crops = PhotoCrops(photos.val, config.image_size, config.val_crops_per_photo, config.seed + 1,
                           augment=False, in_memory=config.in_memory)
    val_x, val_y = validation_arrays(val_crops, preprocess, config.batch_size, config.seed)
    batches = ColourBatches(train_crops, config.batch_size, preprocess, config.seed, start_epoch=start_epoch,
                            workers=config.workers, use_multiprocessing=config.use_multiprocessing)
    fit_model = model
    if config.cache_features:
        encoder, fit_model = model.get_layer("encoder"), model.get_layer("decoder")
        features, targets = encode(encoder, ColourBatches(train_crops, config.batch_size, preprocess,
                                                          config.seed, shuffle=False),
                                   batches.steps_per_epoch)
        val_x = encode(encoder, ArrayBatches(val_x, val_y, config.batch_size, config.seed, shuffle=False),
                       -(-len(val_x) // config.batch_size))[0]
        batches = ArrayBatches(features, targets, config.batch_size, config.seed, start_epoch=start_epoch,
                               workers=config.workers, use_multiprocessing=config.use_multiprocessing)

    fit_model.compile(optimizer=keras.optimizers.Adam(config.learning_rate), loss="mse")
    callbacks = [
        StopOnNaN(hint=f"Fix: lower learning_rate (now {config.learning_rate}) or use precision='float32' "
                       f"(now {config.precision!r}); rerunning resumes from the last finished epoch."),
        keras.callbacks.BackupAndRestore(str(backup_dir)),
        EpochRecorder(run_dir / "history.csv", len(train_crops), config.epochs, start_epoch, print_progress),
        *extra_callbacks,
    ]
    if start_epoch and print_progress:
        print(f"resuming {run_dir} at epoch {start_epoch + 1}/{config.epochs}", flush=True)
    fit_model.fit(batches, epochs=config.epochs, steps_per_epoch=batches.steps_per_epoch,
                  validation_data=(val_x, val_y), validation_batch_size=config.batch_size,
                  callbacks=callbacks, shuffle=False, verbose=0)
    model.save_weights(run_dir / WEIGHTS_FILE)
    return TrainResult(run_dir, read_history(run_dir / "history.csv"), model, photos,
                       time.perf_counter() - started)
