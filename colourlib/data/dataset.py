"""Batches for training: a ``keras.utils.PyDataset`` (the modern ``fit_generator(workers=...)`` of the paper).

The dataset is *infinite*: Keras asks for global batch ``i`` = 0, 1, 2, ... across epochs, and
``fit(steps_per_epoch=...)`` cuts epochs. Batch ``i`` belongs to epoch ``i // batches_per_epoch`` and its content
is a pure function of ``(seed, epoch, sample)``. So any number of thread or process workers produce the same
batches, every sample appears exactly once per epoch, no epoch-end hook is needed (which workers would not
see), and a resumed run continues from the right epoch by setting ``start_epoch``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np
from PIL import Image

from ..colour import split_lab
from .augment import Augmentation, FeatureAffine, sample_crop, warp_sample
from .photos import open_rgb8

#: Keeps the feature warps' random stream apart from the crops' (:func:`sample_rng`), which may share the seed.
FEATURE_WARP_STREAM = 0xAFF1

#: Crops without augmentation: random zoom and position, drawn once per sample; no flip, no rotation.
FIXED_CROPS = Augmentation(max_rotation_deg=0.0, flip=False)


@dataclass(frozen=True)
class EpochOrder:
    """Which samples make up each global batch: a seeded permutation per epoch, the last batch possibly short."""

    n_samples: int
    batch_size: int
    seed: int
    shuffle: bool = True

    @property
    def batches_per_epoch(self) -> int:
        return math.ceil(self.n_samples / self.batch_size)

    def permutation(self, epoch: int) -> np.ndarray:
        if not self.shuffle:
            return np.arange(self.n_samples)
        return np.random.default_rng([self.seed, epoch, 0x5EED]).permutation(self.n_samples)

    def batch(self, global_batch: int) -> tuple[int, np.ndarray]:
        """(epoch, sample ids) of global batch ``global_batch``."""
        epoch, k = divmod(global_batch, self.batches_per_epoch)
        return epoch, self.permutation(epoch)[k * self.batch_size : (k + 1) * self.batch_size]


def sample_rng(seed: int, epoch: int, sample: int) -> np.random.Generator:
    """The generator of one sample's augmentation in one epoch: the same in every thread and process."""
    return np.random.default_rng([seed, epoch, sample])


class PhotoCrops:
    """``crops_per_photo`` crops from each photo; sample ``s`` is crop ``s % crops_per_photo`` of photo
    ``s // crops_per_photo``.

    ``augment=True``: random crops (zoom, position, flip, small rotation), new every epoch unless
    ``vary_by_epoch=False`` (then drawn once: what lets a frozen encoder's features of augmented crops be cached).
    ``augment=False``: each sample is one fixed crop (zoom and position drawn once, no flip or rotation), the
    same in every epoch; this is what validation uses.
    """

    def __init__(
        self,
        files: list[Path],
        image_size: int,
        crops_per_photo: int,
        seed: int,
        augment: bool,
        in_memory: bool = True,
        vary_by_epoch: bool | None = None,
    ):
        self.files = [Path(f) for f in files]
        self.image_size = image_size
        self.crops_per_photo = crops_per_photo
        self.seed = seed
        self.augmentation = Augmentation() if augment else FIXED_CROPS
        self.vary_by_epoch = augment if vary_by_epoch is None else vary_by_epoch
        self.in_memory = in_memory
        self._photos: dict[int, Image.Image] = {}

    def __len__(self) -> int:
        return len(self.files) * self.crops_per_photo

    def _photo(self, index: int) -> Image.Image:
        photo = self._photos.get(index)
        if photo is None:
            photo = open_rgb8(self.files[index])
            if self.in_memory:  # a dict write is atomic: threads at worst decode a photo twice
                self._photos[index] = photo
        return photo

    def crop(self, sample: int, epoch: int) -> Image.Image:
        photo_index = sample // self.crops_per_photo
        rng = sample_rng(self.seed, epoch if self.vary_by_epoch else 0, sample)
        return sample_crop(self._photo(photo_index), self.image_size, rng, self.augmentation)


class ColourBatches(keras.utils.PyDataset):
    """(encoder input, ab target) batches from photo crops, for ``model.fit(steps_per_epoch=...)``.

    ``workers`` and ``use_multiprocessing`` are the paper's ``fit_generator`` parameters.
    """

    def __init__(
        self,
        crops: PhotoCrops,
        batch_size: int,
        preprocess: Callable[[np.ndarray], np.ndarray],
        seed: int,
        shuffle: bool = True,
        start_epoch: int = 0,
        workers: int = 1,
        use_multiprocessing: bool = False,
        max_queue_size: int = 10,
    ):
        super().__init__(
            workers=workers, use_multiprocessing=use_multiprocessing, max_queue_size=max_queue_size
        )
        self.crops = crops
        self.order = EpochOrder(len(crops), batch_size, seed, shuffle)
        self.preprocess = preprocess
        self.start_epoch = start_epoch

    @property
    def num_batches(self) -> None:
        return None  # infinite: epochs are cut by steps_per_epoch

    @property
    def steps_per_epoch(self) -> int:
        return self.order.batches_per_epoch

    def samples(self, index: int) -> tuple[int, np.ndarray]:
        """(epoch, sample ids) of the ``index``-th batch this dataset serves."""
        return self.order.batch(index + self.start_epoch * self.order.batches_per_epoch)

    def rgb_batch(self, index: int) -> np.ndarray:
        epoch, ids = self.samples(index)
        return np.stack(
            [np.asarray(self.crops.crop(int(s), epoch), dtype=np.float32) / 255.0 for s in ids]
        )

    def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        l_net, ab_net = split_lab(self.rgb_batch(index))
        return self.preprocess(l_net), ab_net


class ArrayBatches(keras.utils.PyDataset):
    """Batches from arrays already in memory (cached encoder features), in the same order as ColourBatches.
    ``x`` is one array or a tuple of arrays (a model with several inputs, e.g. the skip decoder's three).

    ``augmentation``: every sample's maps and target warped by a random affine transform drawn from ``(seed,
    epoch, sample)`` (the paper's generator, :class:`colourlib.data.augment.FeatureAffine`): new in every epoch,
    the same in any thread or process."""

    def __init__(
        self,
        x: np.ndarray | tuple[np.ndarray, ...],
        y: np.ndarray,
        batch_size: int,
        seed: int,
        shuffle: bool = True,
        start_epoch: int = 0,
        workers: int = 1,
        use_multiprocessing: bool = False,
        augmentation: FeatureAffine | None = None,
    ):
        super().__init__(workers=workers, use_multiprocessing=use_multiprocessing)
        self.x, self.y = x, y
        self.order = EpochOrder(len(y), batch_size, seed, shuffle)
        self.start_epoch = start_epoch
        self.augmentation = augmentation

    @property
    def num_batches(self) -> None:
        return None

    @property
    def steps_per_epoch(self) -> int:
        return self.order.batches_per_epoch

    def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        epoch, ids = self.order.batch(index + self.start_epoch * self.order.batches_per_epoch)
        several = isinstance(self.x, tuple)
        parts = self.x if several else (self.x,)
        if self.augmentation is None:
            x, y = tuple(part[ids] for part in parts), self.y[ids]
        else:
            warped = [
                warp_sample(
                    tuple(part[s] for part in parts),
                    self.y[s],
                    self.augmentation,
                    np.random.default_rng([self.order.seed, epoch, int(s), FEATURE_WARP_STREAM]),
                )
                for s in ids
            ]
            x = tuple(np.stack([w[0][i] for w in warped]) for i in range(len(parts)))
            y = np.stack([w[1] for w in warped])
        return (x if several else x[0]), y
