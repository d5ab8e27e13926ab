"""Crops of a photo at the model's size: random crop/zoom, horizontal flip and small rotation, as the paper.

Each crop is one affine warp from the photo (after an integer box reduction so that downscaling does not
alias), driven only by the ``numpy.random.Generator`` it is given: the same generator state gives the same
crop in any thread or process.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image


@dataclass(frozen=True)
class Augmentation:
    """Ranges of the random transforms. ``Augmentation.none()`` gives fixed, centred, unrotated crops."""

    min_scale: float = 0.35  # crop side as a fraction of the photo's short side (zoom)
    max_scale: float = 1.0
    max_rotation_deg: float = 10.0
    flip: bool = True
    random_position: bool = True

    @classmethod
    def none(cls) -> Augmentation:
        return cls(
            min_scale=1.0, max_scale=1.0, max_rotation_deg=0.0, flip=False, random_position=False
        )


def sample_crop(
    photo: Image.Image, size: int, rng: np.random.Generator, aug: Augmentation
) -> Image.Image:
    """One ``size`` x ``size`` RGB crop of ``photo`` (an RGB Pillow image) drawn with ``rng``."""
    width, height = photo.size
    short = min(width, height)
    angle = (
        math.radians(rng.uniform(-aug.max_rotation_deg, aug.max_rotation_deg))
        if aug.max_rotation_deg
        else 0.0
    )
    spread = abs(math.cos(angle)) + abs(
        math.sin(angle)
    )  # bounding box of the rotated square, per unit side
    side = (
        short * rng.uniform(aug.min_scale, aug.max_scale)
        if aug.max_scale > aug.min_scale
        else short * aug.max_scale
    )
    side = min(side, short / spread)
    flip = bool(aug.flip and rng.random() < 0.5)

    reduce = max(1, int(side / size / 2))  # keep the warp's own downscale below 2x
    if reduce > 1:
        photo = photo.reduce(reduce)
        width, height, side = photo.width, photo.height, side / reduce
        side = min(side, min(width, height) / spread)
    half_box = side * spread / 2
    if aug.random_position:
        cx = rng.uniform(half_box, max(half_box, width - half_box))
        cy = rng.uniform(half_box, max(half_box, height - half_box))
    else:
        cx, cy = width / 2, height / 2

    # Output pixel (u, v) samples input (x, y) = centre + R(angle) . k . ((u, v) - size / 2), flipped in u.
    k = side / size
    cos, sin = math.cos(angle) * k, math.sin(angle) * k
    sx = -1.0 if flip else 1.0
    half = size / 2
    a, b = cos * sx, -sin
    d, e = sin * sx, cos
    c = cx - a * half - b * half
    f = cy - d * half - e * half
    return photo.transform(
        (size, size), Image.Transform.AFFINE, (a, b, c, d, e, f), resample=Image.Resampling.BILINEAR
    )


def resize_square(rgb: np.ndarray, size: int) -> np.ndarray:
    """Float RGB (H, W, 3) in [0, 1] squashed to ``size`` x ``size`` (the model's view of a whole photo)."""
    channels = [
        Image.fromarray(rgb[..., i].astype(np.float32)).resize(
            (size, size),
            Image.Resampling.BOX if min(rgb.shape[:2]) > size else Image.Resampling.BILINEAR,
        )
        for i in range(rgb.shape[-1])
    ]
    return np.clip(np.stack([np.asarray(c) for c in channels], axis=-1), 0, 1).astype(np.float32)


def resize_channels(array: np.ndarray, height: int, width: int) -> np.ndarray:
    """Float (h, w, C) resized to (height, width, C) bilinearly, channel by channel (used to upsample ab)."""
    channels = [
        Image.fromarray(array[..., i].astype(np.float32)).resize(
            (width, height), Image.Resampling.BILINEAR
        )
        for i in range(array.shape[-1])
    ]
    return np.stack([np.asarray(c) for c in channels], axis=-1).astype(np.float32)


@dataclass(frozen=True)
class FeatureAffine:
    """The paper's generator (its Figure 9: ``train_datagen.flow(vggfeatures, Y)``): a random affine transform of
    each sample's cached feature maps, drawn anew for every batch. The ranges are those of the Keras
    ``ImageDataGenerator`` of Wallner's colouriser, the code the paper started from (``shear_range=0.2``,
    ``zoom_range=0.2``, ``rotation_range=20``, ``horizontal_flip=True``; its shear is in degrees).

    Unlike the paper's ``flow(x, y)``, which transforms ``x`` only and so paired each transformed feature map with
    its untransformed colours, the same transform is applied to the targets here (:func:`warp_sample`).

    Each map is warped one channel at a time by ``scipy.ndimage.affine_transform`` (bilinear, edges repeated),
    exactly as Keras' ``apply_affine_transform`` did for the paper: a 512-channel map costs 512 small calls, so this
    loader is CPU- and interpreter-bound, the situation where the paper's loading workers paid off."""

    rotation_deg: float = 20.0
    shear_deg: float = 0.2
    zoom: float = 0.2  # each axis scaled by a factor in [1 - zoom, 1 + zoom]
    flip: bool = True

    def draw(self, rng: np.random.Generator) -> tuple[np.ndarray, bool]:
        """(2 x 2 matrix from output to input coordinates, in (row, column) order; horizontal flip)."""
        theta = math.radians(rng.uniform(-self.rotation_deg, self.rotation_deg))
        shear = math.radians(rng.uniform(-self.shear_deg, self.shear_deg))
        zx, zy = rng.uniform(1 - self.zoom, 1 + self.zoom, 2)
        flip = bool(self.flip and rng.random() < 0.5)
        rotation = np.array(
            [[math.cos(theta), -math.sin(theta)], [math.sin(theta), math.cos(theta)]]
        )
        shearing = np.array([[1.0, -math.sin(shear)], [0.0, math.cos(shear)]])
        zooming = np.diag([zx, zy])
        return rotation @ shearing @ zooming, flip


def warp_map(array: np.ndarray, matrix: np.ndarray, flip: bool) -> np.ndarray:
    """One (H, W, C) map warped by ``matrix`` about its centre, channel by channel, then flipped left-right.
    The matrix acts on coordinates relative to the centre, so one draw warps maps of any size alike (a stride-32
    feature map and its 32x larger colour target)."""
    from scipy import ndimage

    centre = (np.array(array.shape[:2], dtype=np.float64) - 1) / 2
    offset = centre - matrix @ centre
    out = np.stack(
        [
            ndimage.affine_transform(
                array[..., c], matrix, offset, order=1, mode="nearest", prefilter=False
            )
            for c in range(array.shape[-1])
        ],
        axis=-1,
    )
    return out[:, ::-1] if flip else out


def warp_sample(
    maps: tuple[np.ndarray, ...],
    target: np.ndarray,
    augmentation: FeatureAffine,
    rng: np.random.Generator,
) -> tuple[tuple[np.ndarray, ...], np.ndarray]:
    """One sample's feature maps (one per decoder input) and its ab target, all warped by one random draw."""
    matrix, flip = augmentation.draw(rng)
    return tuple(warp_map(m, matrix, flip) for m in maps), warp_map(target, matrix, flip)
