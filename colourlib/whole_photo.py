"""How a whole photo meets a network of a fixed square input, without Keras: the photo squashed to the input
size, its L handed to the network, the predicted ab upsampled to the photo's full resolution and joined with
the photo's *own* full-resolution L, so no detail of the grey input is ever lost.

The Keras colouriser (:mod:`colourlib.colouriser`) and the exported one (:mod:`colourlib.exported`, which must
start without importing TensorFlow) both colour through these functions, so the two cannot drift apart.
"""

from __future__ import annotations

import numpy as np

from .colour import l_to_grey_rgb, lab_to_rgb, net_to_ab, rgb_to_lightness, split_lab
from .data.augment import resize_channels, resize_square


def network_lightness(images: list[np.ndarray], image_size: int) -> np.ndarray:
    """Each sRGB photo squashed to ``image_size`` x ``image_size``, its L scaled for the network:
    (N, size, size, 1) in [0, 1]."""
    return np.stack([split_lab(resize_square(img, image_size))[0] for img in images])


def network_grey(images: list[np.ndarray], image_size: int) -> np.ndarray:
    """The exported model's input: the sRGB grey (0..255) of each squashed photo's L, (N, size, size, 1). Every
    encoder's own input is an affine map of it, which the exported graph holds (:mod:`colourlib.export`)."""
    return l_to_grey_rgb(network_lightness(images, image_size)) * np.float32(255)


def full_size_ab(ab_net: np.ndarray, images: list[np.ndarray]) -> list[np.ndarray]:
    """Network-scaled ab (N, h, w, 2) -> ab in CIE units at each photo's own size (bilinear)."""
    return [
        net_to_ab(resize_channels(ab, img.shape[0], img.shape[1]))
        for img, ab in zip(images, ab_net)
    ]


def recombine(original_rgb: np.ndarray, ab: np.ndarray) -> np.ndarray:
    """The original's own full-resolution L with predicted ab (CIE units), as sRGB in [0, 1]."""
    return with_ab(rgb_to_lightness(original_rgb), ab)


def with_ab(lightness: np.ndarray, ab: np.ndarray) -> np.ndarray:
    """An image's own L* (H, W) with another ab (CIE units, (H, W, 2)), as sRGB in [0, 1]."""
    return lab_to_rgb(np.concatenate([lightness[..., None], ab.astype(np.float32)], axis=-1))
