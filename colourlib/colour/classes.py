"""Colour as classes (Zhang, Isola & Efros, *Colorful Image Colorization*, ECCV 2016): beyond the paper's MSE.

MSE pulls every uncertain pixel to the mean of its plausible colours, which is a dull brown-grey. Zhang et al.
instead quantise ab on a grid of 10 into the Q = 313 bins that hold the colours a photo can have, train with a
multinomial cross-entropy whose targets are soft (each true colour spread over its 5 nearest bins with a
Gaussian of sigma 5), re-weight each pixel by how rare its colour is in the training photos (lambda = 0.5), and
read a colour back as the *annealed mean* of the predicted distribution (temperature T = 0.38: between the mean,
T = 1, and the mode, T -> 0).

The numpy functions here prepare and check; :class:`ClassificationLoss` and :func:`annealed_mean_ops` run inside
the network on any Keras backend.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from pathlib import Path

import keras
import numpy as np

from . import AB_SCALE, rgb_to_lab

GRID = 10
SIGMA = 5.0  # the soft encoding's and the prior smoothing's Gaussian, in ab units
NEIGHBOURS = 5
LAMBDA = 0.5  # the uniform distribution's share in the rebalancing prior
TEMPERATURE = 0.38
#: Zhang et al.'s 313 in-gamut bins (their released ``pts_in_hull.npy``), row by row: a -> (lowest b, highest b),
#: every multiple of 10 between them. They cover every sRGB colour (tests/test_classes.py checks it).
B_RANGES = {
    -90: (50, 90),
    -80: (20, 90),
    -70: (0, 90),
    -60: (-20, 90),
    -50: (-30, 100),
    -40: (-40, 100),
    -30: (-50, 100),
    -20: (-50, 100),
    -10: (-60, 100),
    0: (-70, 100),
    10: (-80, 90),
    20: (-80, 90),
    30: (-90, 90),
    40: (-100, 90),
    50: (-100, 80),
    60: (-110, 80),
    70: (-110, 80),
    80: (-110, 70),
    90: (-110, 70),
    100: (-90, 0),
}


def bin_centres() -> np.ndarray:
    """The (313, 2) ab centres of the bins, float32, in CIE units."""
    return np.array(
        [(a, b) for a, (low, high) in B_RANGES.items() for b in range(low, high + 1, GRID)],
        dtype=np.float32,
    )


BINS = len(bin_centres())


def _squared_distances(ab: np.ndarray, centres: np.ndarray) -> np.ndarray:
    ab = np.asarray(ab, dtype=np.float32).reshape(-1, 2)
    return ((ab[:, None, :] - centres[None]) ** 2).sum(-1)


def soft_encode(ab: np.ndarray, sigma: float = SIGMA, neighbours: int = NEIGHBOURS) -> np.ndarray:
    """ab (..., 2) in CIE units -> (..., 313) targets: a Gaussian of each colour's distance to its ``neighbours``
    nearest bins, normalised to sum to 1."""
    centres = bin_centres()
    d2 = _squared_distances(ab, centres)
    nearest = np.argsort(d2, axis=1)[:, :neighbours]
    weights = np.zeros_like(d2)
    rows = np.arange(len(d2))[:, None]
    # relative to the nearest bin's distance: the normalisation cancels it, and a colour far from every bin
    # (a corner of the ab square) keeps its nearest bins' weights instead of underflowing to 0 / 0
    near = d2[rows, nearest]
    weights[rows, nearest] = np.exp(-(near - near[:, :1]) / (2 * sigma**2))
    return (weights / weights.sum(1, keepdims=True)).reshape(*np.shape(ab)[:-1], len(centres))


def _grid_index() -> np.ndarray:
    """A (25, 25) table from the grid point (a, b) = 10 (i - 12, j - 12) to its bin's index, -1 off the bins."""
    table = np.full((25, 25), -1, dtype=np.int64)
    for index, (a, b) in enumerate(bin_centres().astype(int)):
        table[a // GRID + 12, b // GRID + 12] = index
    return table


_GRID_INDEX = _grid_index()


def nearest_bin(ab: np.ndarray) -> np.ndarray:
    """The index of each colour's nearest bin, shape ab.shape[:-1].

    The bins lie on a grid of 10, so a colour whose rounded grid point is a bin has that bin as its nearest; only
    the colours outside the 313 (beyond sRGB's gamut, or at its edge) are searched against every centre. Full
    photos (hundreds of thousands of pixels) thus cost a rounding, not a (pixels x 313) distance table."""
    ab = np.asarray(ab, dtype=np.float32)
    flat = ab.reshape(-1, 2)
    grid = np.clip(np.rint(flat / GRID).astype(np.int64) + 12, 0, 24)
    index = _GRID_INDEX[grid[:, 0], grid[:, 1]]
    outside = index < 0
    if outside.any():
        index[outside] = np.argmin(_squared_distances(flat[outside], bin_centres()), axis=1)
    return index.reshape(ab.shape[:-1])


def colour_histogram(photos: Iterable[np.ndarray]) -> np.ndarray:
    """The empirical distribution (313,) of the photos' pixels over the bins (sRGB photos in [0, 1])."""
    counts = np.zeros(BINS)
    for rgb in photos:
        counts += np.bincount(nearest_bin(rgb_to_lab(rgb)[..., 1:]).ravel(), minlength=BINS)
    return counts / max(counts.sum(), 1)


def smooth(distribution: np.ndarray, sigma: float = SIGMA) -> np.ndarray:
    """The distribution blurred over the ab plane with a Gaussian of ``sigma`` (Zhang et al.'s p-tilde)."""
    centres = bin_centres()
    kernel = np.exp(-_squared_distances(centres, centres) / (2 * sigma**2))
    smoothed = kernel @ distribution
    return smoothed / smoothed.sum()


def rebalancing_weights(
    distribution: np.ndarray, lam: float = LAMBDA, sigma: float = SIGMA
) -> np.ndarray:
    """Per-bin loss weights w proportional to ((1 - lam) p~ + lam / Q)^-1, scaled so that E_p~[w] = 1: rare
    colours count more, and with lam = 0.5 the weights stay within a factor of 2 / lam of each other."""
    prior = smooth(np.asarray(distribution, dtype=np.float64), sigma)
    weights = 1.0 / ((1 - lam) * prior + lam / len(prior))
    return (weights / (prior * weights).sum()).astype(np.float32)


def training_weights(
    files: Iterable[Path], max_side: int = 64, lam: float = LAMBDA
) -> tuple[np.ndarray, np.ndarray]:
    """(histogram, rebalancing weights with ``lam``) of the training photos, each reduced to ``max_side`` px for
    speed; ``lam=1`` weights every bin the same (no rebalancing)."""
    from ..data.photos import read_rgb

    def reduced():
        for path in files:
            rgb = read_rgb(path)
            step = max(1, max(rgb.shape[:2]) // max_side)
            yield rgb[::step, ::step]

    histogram = colour_histogram(reduced())
    return histogram, rebalancing_weights(histogram, lam)


def annealed_mean(probabilities: np.ndarray, temperature: float = TEMPERATURE) -> np.ndarray:
    """(..., 313) probabilities -> (..., 2) ab in CIE units: the mean of the distribution sharpened by
    ``temperature`` (f_T(z) = exp(log z / T) / sum exp(log z / T))."""
    logits = np.log(np.clip(probabilities, 1e-12, None)) / temperature
    sharpened = np.exp(logits - logits.max(-1, keepdims=True))
    sharpened /= sharpened.sum(-1, keepdims=True)
    return sharpened @ bin_centres()


@functools.lru_cache(maxsize=8)
def _read_back_table(temperature: float) -> np.ndarray:
    """(257, 257, 2): the annealed mean at ``temperature`` of the soft-encoded colour (a, b) = (i - 128, j - 128)."""
    grid = np.stack(
        np.meshgrid(np.arange(-128, 129), np.arange(-128, 129), indexing="ij"), -1
    ).reshape(-1, 2)
    table = np.concatenate(
        [annealed_mean(soft_encode(part), temperature) for part in np.array_split(grid, 16)]
    )
    return table.reshape(257, 257, 2).astype(np.float32)


def read_back(ab: np.ndarray, temperature: float = TEMPERATURE) -> np.ndarray:
    """What a perfect colour-class network would give back for true colours ab (..., 2): each colour soft-encoded
    over the bins as the training targets are and read back by the annealed mean at ``temperature``; the loss of
    the 313 bins themselves (colours rounded to 1 CIE unit first, a tenth of the grid)."""
    index = np.clip(np.rint(np.asarray(ab)).astype(np.int64) + 128, 0, 256)
    return _read_back_table(float(temperature))[index[..., 0], index[..., 1]]


def annealed_mean_ops(logits, temperature: float = TEMPERATURE):
    """The network's logits (..., 313) -> ab (..., 2) scaled for the network (CIE / 128), in ``keras.ops``:
    softmax(logits) sharpened by ``temperature`` is softmax(logits / T)."""
    sharpened = keras.ops.softmax(keras.ops.cast(logits, "float32") / temperature, axis=-1)
    return keras.ops.matmul(sharpened, keras.ops.convert_to_tensor(bin_centres() / AB_SCALE))


@keras.saving.register_keras_serializable(package="colourlib")
class ClassificationLoss(keras.losses.Loss):
    """Zhang et al.'s class-rebalanced multinomial cross-entropy, on any backend.

    ``y_true`` is the network's ab target (B, H, W, 2) scaled to -1..1; ``y_pred`` the logits (B, h, w, 313) at a
    coarser grid (h = H / f). The target is averaged over f x f blocks, soft-encoded over its 5 nearest bins, and
    each pixel's cross-entropy is weighted by the rebalancing weight of its nearest bin.
    """

    def __init__(
        self, weights: np.ndarray | list | None = None, name: str = "classification", **kwargs
    ):
        super().__init__(name=name, **kwargs)
        self.weights = np.asarray(
            weights if weights is not None else np.ones(BINS), dtype=np.float32
        )

    def call(self, y_true, y_pred):
        ops = keras.ops
        y_pred = ops.cast(y_pred, "float32")
        factor = ops.shape(y_true)[1] // ops.shape(y_pred)[1]
        ab = (
            ops.average_pool(ops.cast(y_true, "float32"), factor, factor) * AB_SCALE
            if factor > 1
            else ops.cast(y_true, "float32") * AB_SCALE
        )
        centres = ops.convert_to_tensor(bin_centres())
        d2 = ops.sum((ops.expand_dims(ab, -2) - centres) ** 2, axis=-1)  # (B, h, w, 313)
        kth = -ops.top_k(-d2, NEIGHBOURS, sorted=True)[0][..., -1:]
        gauss = ops.where(d2 <= kth, ops.exp(-d2 / (2 * SIGMA**2)), 0.0)
        target = gauss / ops.sum(gauss, axis=-1, keepdims=True)
        pixel_weight = ops.take(ops.convert_to_tensor(self.weights), ops.argmin(d2, axis=-1))
        cross_entropy = -ops.sum(target * ops.log_softmax(y_pred, axis=-1), axis=-1)
        return ops.mean(pixel_weight * cross_entropy, axis=(1, 2))

    def get_config(self):
        return {**super().get_config(), "weights": self.weights.tolist()}
