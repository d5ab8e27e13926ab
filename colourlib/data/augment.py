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
