"""Training one configuration: MSE + Adam as the paper, with everything a run needs written to its folder.

What a run folder holds is :class:`colourlib.runs.RunFolder`'s to say. Every file is written atomically, and
after each epoch ``backup/`` holds the weights and optimizer state: a run killed at any moment resumes at its
last finished epoch when the same command runs again, and ends with the weights an uninterrupted run has. A
folder holding a run of other parameters is refused; one process at a time writes a folder.

``gpus`` replicas train under :func:`colourlib.backend.replicas.replica_scope` on the same global batches as one device;
``workers`` load batches in threads or processes. Under ``TF_CONFIG`` (several machines) the chief (task 0)
writes ``run_dir`` and the others write ``run_dir/worker-<index>``.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np

from . import atomic, feature_cache
from .backend import replicas, runtime
from .callbacks import (
    EpochBackup,
    EpochRecorder,
    FaultPoints,
    KeepBest,
    StepTimer,
    StopOnNaN,
    add_input_wait,
    read_backup,
)
from .colour import classes
from .config import ConfigError, TrainConfig
from .data.augment import FeatureAffine
from .data.dataset import ArrayBatches, ColourBatches, PhotoCrops
from .data.photos import DataError, PhotoSet, load_photo_set
from .encoders import encoder_spec
from .model import SKIP_DECODERS, build_network
from .provenance import environment_record
from .runs import RunFolder

#: The seed of the validation crops, the same for every training seed, so runs of several seeds are compared
#: (and the best of them chosen) on the same crops.
VALIDATION_SEED = 1
#: Steps timed on in-memory batches after training (after this many warm-up steps) to get the compute-only
#: step time that each epoch's input-wait share is measured against; never more steps than an epoch has (a
#: small run's probe would otherwise cost more than its training).
PROBE_STEPS, PROBE_WARMUP = 12, 2


def probe_steps(steps_per_epoch: int) -> int:
    """The steps the compute-only probe times after a run of ``steps_per_epoch`` steps an epoch."""
    return max(1, min(steps_per_epoch, PROBE_STEPS))


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


def validation_arrays(
    crops: PhotoCrops, preprocess, batch_size: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    batches = ColourBatches(crops, batch_size, preprocess, seed, shuffle=False)
    parts = [batches[i] for i in range(batches.steps_per_epoch)]
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def check_even_split(n_samples: int, batch_size: int, n_replicas: int, what: str) -> None:
    """Every batch, the last short one included, must split evenly over the replicas (JAX requires it, and
    it keeps each replica's share equal as multi_gpu_model did)."""
    last = n_samples % batch_size
    if n_replicas > 1 and last % n_replicas:
        raise ConfigError(
            f"{what}: {n_samples} samples in batches of {batch_size} leave a last batch of {last}, "
            f"which does not split over gpus={n_replicas} replicas. Fix: choose crops_per_photo "
            f"or batch_size so that the sample count is a multiple of {n_replicas} "
            f"(e.g. a multiple of batch_size)."
        )


def timed_steps(
    model: keras.Model, batches: keras.utils.PyDataset, steps: int, warmup: int = PROBE_WARMUP
) -> StepTimer:
    """``model.fit`` on ``batches`` for ``warmup`` + ``steps`` steps; the timer of the last ``steps`` (seconds,
    CPU time and page faults at their start and end)."""
    timer = StepTimer(warmup)
    model.fit(
        batches,
        epochs=1,
        steps_per_epoch=steps + warmup,
        callbacks=[timer],
        verbose=0,
        shuffle=False,
    )
    return timer


def seconds_per_step(
    model: keras.Model, batches: keras.utils.PyDataset, steps: int, warmup: int = PROBE_WARMUP
) -> float:
    """Mean seconds per training step of ``model.fit`` on ``batches`` over ``steps`` steps after ``warmup``."""
    return timed_steps(model, batches, steps, warmup).seconds_per_step


def compute_only_steps(
    model: keras.Model, batches: keras.utils.PyDataset, batch_size: int
) -> StepTimer:
    """The timer of training steps on the first batches of ``batches`` held in memory (no loading): the step's
    pure compute cost. Trains ``model`` further: callers measure after training, then reload the saved weights.
    """
    steps = probe_steps(batches.steps_per_epoch)
    held = [batches[i] for i in range(steps)]
    in_memory = ArrayBatches(
        feature_cache.concatenate([b[0] for b in held]),
        np.concatenate([b[1] for b in held]),
        batch_size,
        seed=0,
    )
    return timed_steps(model, in_memory, steps)


def compute_only_step_seconds(
    model: keras.Model, batches: keras.utils.PyDataset, batch_size: int
) -> float:
    """Seconds per training step held in memory (:func:`compute_only_steps`)."""
    return compute_only_steps(model, batches, batch_size).seconds_per_step


def _check_same_backend(run: RunFolder, backend: str) -> None:
    """An interrupted run resumes only under the backend it started with: its optimizer state and numerics are
    that backend's, and a run finished under two would match neither backend's uninterrupted run while its
    record named only the last."""
    try:
        started = run.read_json(run.ENVIRONMENT).get("keras_backend")
    except (OSError, ValueError, AttributeError):
        return  # no record of an earlier start: nothing to compare against
    if started and started != backend:
        raise ConfigError(
            f"{run.path} was started under KERAS_BACKEND={started} and this process runs {backend}: a run "
            f"resumed under another backend matches neither backend's uninterrupted run. Fix: resume it with "
            f"KERAS_BACKEND={started}, or pass --force to train it again from the start under {backend}."
        )


def train(
    config: TrainConfig,
    run_dir: str | Path,
    photos: PhotoSet | None = None,
    print_progress: bool = True,
    extra_callbacks: list[keras.callbacks.Callback] = (),
    force: bool = False,
) -> TrainResult:
    """Train ``config`` into ``run_dir`` (created; an interrupted run of the same parameters there is resumed,
    a finished one returned as it is; ``force`` replaces whatever it holds). Raises
    :class:`colourlib.runs.RunFolderError` when the folder holds a run of other parameters, photos or code, or
    another process is writing it.

    ``extra_callbacks`` are added after the run's own (NaN stop, epoch record, best weights, backup).
    """
    started = time.perf_counter()
    config.validate()
    runtime.configure(
        config.gpus, config.cores_per_device
    )  # allocator, thread pools and cores: before any tensor
    plan = replicas.provide(
        config.gpus
    )  # before any tensor exists: logical devices are laid out here
    run_dir = Path(run_dir)
    if plan.task_index:  # a non-chief machine of a multi-machine run keeps its own record
        run_dir = run_dir / f"worker-{plan.task_index}"
    run = RunFolder(run_dir)
    previous_policy = keras.config.dtype_policy()
    keras.config.set_dtype_policy(config.precision)
    try:
        # 1. The photos, checked before the folder is touched.
        encoder_spec(config.encoder).prepare(
            config.encoder_weights
        )  # may build a model: before seeding
        keras.utils.set_random_seed(config.seed)
        photos = photos or load_photo_set(
            config.data_dir, config.image_size, config.val_fraction, config.max_photos
        )
        check_photos(config, photos, plan.total_replicas)

        with run.lock():
            # 2. The folder: new, an interrupted run of these parameters and code to resume, or finished.
            state = run.prepare(config, photos.summary(), force)
            if state == "resume":
                _check_same_backend(run, plan.backend)
            if state == "finished":
                if print_progress:
                    print(
                        f"{run.path} already holds this run, finished (same parameters and code); "
                        "nothing to do. Pass --force to train it again.",
                        flush=True,
                    )
                model, _ = run.load_model()
                return TrainResult(run.path, run.history(), model, photos, 0.0)
            config.save(run.config_file)
            run.write_json(run.ENVIRONMENT, {**environment_record(), "replicas": plan.to_dict()})
            run.write_json(run.DATA, photos.summary())
            if print_progress:
                print(
                    f"training on {plan.label} ({plan.backend} backend), data loaded by "
                    f"workers={config.workers} ({config.loaders})",
                    flush=True,
                )

            with replicas.replica_scope(plan) as strategy:
                # 3. The network and its data: the whole colouriser on photo crops, or only its decoder on
                # encoder features computed once (cache_features); the optimizer state of the last backup.
                model = build_for(config)
                start_epoch, backup = read_backup(run.backup_dir)
                fit_model, batches, validation = _training_data(config, model, photos, start_epoch)
                fit_model.compile(
                    optimizer=keras.optimizers.Adam(config.learning_rate),
                    loss=_loss(config, photos, run),
                )
                replicas.build_before_fit(fit_model, strategy, batches[0])
                run.check_space(bytes_needed(model, fit_model))
                if backup is not None:
                    fit_model.load_weights(backup)  # weights and optimizer state after start_epoch

                # 4. Training, one history row, best-weights check and backup per epoch.
                earlier = (
                    run.history()[:start_epoch] if start_epoch else []
                )  # no history file yet when new
                keep = KeepBest(model, run.backup_dir, earlier)
                callbacks = [
                    StopOnNaN(
                        hint=f"Fix: lower learning_rate (now {config.learning_rate}) or use "
                        f"precision='float32' (now {config.precision!r}); rerunning resumes from the "
                        "last finished epoch."
                    ),
                    EpochRecorder(
                        run.history_file,
                        batches.order.n_samples,
                        config.epochs,
                        start_epoch,
                        print_progress,
                    ),
                    keep,  # after the history row, before the backup: a kill between them redoes the epoch
                    EpochBackup(run.backup_dir),
                    FaultPoints(),
                    *extra_callbacks,
                ]
                if start_epoch and print_progress:
                    print(
                        f"resuming {run.path} at epoch {start_epoch + 1}/{config.epochs}",
                        flush=True,
                    )
                with replicas.peers_watched(plan):  # a lost machine: one line, not a traceback
                    fit_model.fit(
                        batches,
                        epochs=config.epochs,
                        initial_epoch=start_epoch,
                        steps_per_epoch=batches.steps_per_epoch,
                        validation_data=validation,
                        validation_batch_size=config.batch_size,
                        callbacks=callbacks,
                        shuffle=False,
                        verbose=0,
                    )

                # 5. The best validation epoch's weights (not the last epoch's), then the step's compute-only
                # time, against which each epoch's input-wait share is measured.
                model.load_weights(keep.best_file)
                with atomic.replacing(
                    run.weights_file, kind="final-weights", verify=atomic.h5_complete
                ) as tmp:
                    model.save_weights(tmp)
                atomic.fault_point("probe")
                step_seconds = compute_only_step_seconds(fit_model, batches, config.batch_size)
                model.load_weights(
                    run.weights_file
                )  # the probe's extra steps are not part of the run

            add_input_wait(run.history_file, batches.steps_per_epoch * step_seconds)
            run.write_json(
                run.TIMING,
                {  # written last: with it the run is finished
                    "compute_only_step_seconds": step_seconds,
                    "steps_per_epoch": batches.steps_per_epoch,
                    "probe_steps": probe_steps(batches.steps_per_epoch),
                    "method": INPUT_WAIT_METHOD,
                    "weights_epoch": keep.best_epoch,
                    "weights_val_loss": keep.best_val_loss,
                    "weights": WEIGHTS_KEPT,
                },
            )
            atomic.fault_point("remove-backup")
            shutil.rmtree(
                run.backup_dir, ignore_errors=True
            )  # only now: all the run needs is on disk
            return TrainResult(
                run.path, run.history(), model, photos, time.perf_counter() - started
            )
    finally:  # the policy is global: leave it as the caller had it
        keras.config.set_dtype_policy(previous_policy)


def bytes_needed(model: keras.Model, fit_model: keras.Model) -> int:
    """What a run writes to its folder at most, in bytes: the final and the best epoch's weights of the whole
    network, and a backup of what is fitted with Adam's two moments, each written beside its previous
    version before replacing it (twice the room), plus a megabyte for the records."""
    whole = 4 * model.count_params()
    fitted = 4 * sum(int(np.prod(w.shape)) for w in fit_model.trainable_weights)
    return 2 * (2 * whole + 3 * fitted) + 2**20


def check_photos(config: TrainConfig, photos: PhotoSet, replicas_total: int) -> None:
    """Photos enough to validate on, and crops that split evenly over the replicas in every batch."""
    if not photos.val:
        raise DataError(
            f"data_dir={config.data_dir!r}: no photo left for validation "
            f"({len(photos.train)} usable). Fix: add photos or raise val_fraction."
        )
    check_even_split(
        len(photos.train) * config.crops_per_photo,
        config.batch_size,
        replicas_total,
        "training crops",
    )
    check_even_split(
        len(photos.val) * config.val_crops_per_photo,
        config.batch_size,
        replicas_total,
        "validation crops",
    )


def _loss(config: TrainConfig, photos: PhotoSet, run: RunFolder):
    """The loss to compile: its name, or for the classification loss the rebalanced cross-entropy whose weights
    come from the training photos' colours (recorded in the run folder)."""
    if not config.classes:
        return config.loss
    histogram, weights = classes.training_weights(photos.train, lam=config.rebalance_lambda)
    run.write_json(
        run.CLASS_WEIGHTS,
        {
            "histogram": histogram.tolist(),
            "weights": weights.tolist(),
            "lambda": config.rebalance_lambda,
            "sigma": classes.SIGMA,
            "bins": classes.BINS,
        },
    )
    return classes.ClassificationLoss(weights)


INPUT_WAIT_METHOD = (
    "input_wait_share = 1 - steps_per_epoch * compute_only_step_seconds / train_seconds. "
    "compute_only_step_seconds is the mean time of a training step on batches already in memory, measured in "
    "the same process right after training, so the share counts the time lost to loading, including the CPU "
    "time loading takes away from computing. Epoch 0 also includes compiling the step."
)


def build_for(config: TrainConfig) -> keras.Model:
    """``config``'s network. A frozen encoder is the same for every seed (its random initialisation, where it has
    one, is seeded by :data:`colourlib.feature_cache.CROP_SEED`; the decoder's by the run's seed), so cached features
    are encoded once and shared, and a frozen encoder fed crops directly builds the same network."""
    shared = config.cache_features or not config.encoder_trainable
    return build_network(
        config.image_size,
        config.encoder,
        config.encoder_weights,
        encoder_trainable=not config.cache_features and config.encoder_trainable,
        classes=config.classes,
        decoder=config.decoder,
        encoder_seed=feature_cache.CROP_SEED if shared else None,
        decoder_seed=config.seed if shared else None,
    )


def training_crops(config: TrainConfig, photos: PhotoSet) -> PhotoCrops:
    """The training crops: drawn anew every epoch when augmented, once when their features are cached (then with
    the seed every run shares, :data:`colourlib.feature_cache.CROP_SEED`)."""
    seed = feature_cache.CROP_SEED if config.cache_features else config.seed
    return PhotoCrops(
        photos.train,
        config.image_size,
        config.crops_per_photo,
        seed,
        augment=config.augment,
        in_memory=config.in_memory,
        vary_by_epoch=config.augment and not config.cache_features,
    )


def cached_features(
    config: TrainConfig,
    encoder: keras.Model,
    batches: keras.utils.PyDataset,
    steps: int,
    files,
    part: str,
    crops: int,
    seed: int,
):
    """(features, targets) of the first ``steps`` of ``batches`` (unshuffled) through the frozen ``encoder``, from
    the disk cache when a run of the same encoder, photos, crops and code encoded them before."""
    what = dict(
        encoder=config.encoder,
        weights=config.encoder_weights,
        image_size=config.image_size,
        # the encoder's outputs the decoder reads: the skip decoders share one encoding
        outputs="strides 8, 16, 32" if config.decoder in SKIP_DECODERS else "stride 32",
        precision=config.precision,
        part=part,
        crops=crops,
        seed=seed,
        augment=config.augment and part != "val",
        steps=steps,
        batch_size=config.batch_size,
        weights_file=feature_cache.file_identity(config.encoder_weights),
    )
    return feature_cache.load_or_compute(
        feature_cache.cache_key(what, files), lambda: feature_cache.encode(encoder, batches, steps)
    )


def _training_data(config: TrainConfig, model: keras.Model, photos: PhotoSet, start_epoch: int):
    """(model to fit, training batches, validation arrays): the whole colouriser on photo crops, or only its
    decoder on encoder features computed once (``cache_features``)."""
    preprocess = encoder_spec(config.encoder).preprocess
    train_crops = training_crops(config, photos)
    val_crops = PhotoCrops(
        photos.val,
        config.image_size,
        config.val_crops_per_photo,
        VALIDATION_SEED,
        augment=False,
        in_memory=config.in_memory,
    )
    val_x, val_y = validation_arrays(val_crops, preprocess, config.batch_size, config.seed)
    loading = dict(workers=config.workers, use_multiprocessing=config.use_multiprocessing)
    batches = ColourBatches(
        train_crops, config.batch_size, preprocess, config.seed, start_epoch=start_epoch, **loading
    )
    if not config.cache_features:
        return model, batches, (val_x, val_y)
    encoder = model.get_layer("encoder")
    features, targets = cached_features(
        config,
        encoder,
        ColourBatches(train_crops, config.batch_size, preprocess, config.seed, shuffle=False),
        batches.steps_per_epoch,
        photos.train,
        "train",
        config.crops_per_photo,
        train_crops.seed,
    )
    val_features = cached_features(
        config,
        encoder,
        ArrayBatches(val_x, val_y, config.batch_size, config.seed, shuffle=False),
        -(-len(val_x) // config.batch_size),
        photos.val,
        "val",
        config.val_crops_per_photo,
        VALIDATION_SEED,
    )[0]
    batches = ArrayBatches(
        features,
        targets,
        config.batch_size,
        config.seed,
        start_epoch=start_epoch,
        augmentation=FeatureAffine() if config.augment_features else None,
        **loading,
    )
    return model.get_layer("decoder"), batches, (val_features, val_y)


WEIGHTS_KEPT = (
    "the weights of the epoch with the lowest validation loss (weights_epoch, counted from 1), not "
    "necessarily the last epoch's; chosen on the validation photos only"
)
