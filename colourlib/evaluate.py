"""Colouring whole photos and scoring them against two references: grey (a = b = 0) and the training mean ab.

The model sees each photo squashed to its square input size; its ab prediction is upsampled to the photo's
full resolution and joined with the photo's *original* L, so no detail of the grey input is ever lost.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterable

import keras
import numpy as np
import pandas as pd

from .augment import resize_channels, resize_square
from .colour import lab_to_rgb, net_to_ab, rgb_to_lab, split_lab
from .metrics import all_metrics
from .photos import read_rgb


def predict_ab(model: keras.Model, images: list[np.ndarray], image_size: int,
               preprocess: Callable[[np.ndarray], np.ndarray], batch_size: int = 8) -> list[np.ndarray]:
    """ab (in CIE units) at each image's full resolution, predicted from its L at ``image_size``."""
    results = []
    for start in range(0, len(images), batch_size):
        chunk = images[start:start + batch_size]
        l_net = np.stack([split_lab(resize_square(img, image_size))[0] for img in chunk])
        ab_net = keras.ops.convert_to_numpy(model(preprocess(l_net), training=False)).astype(np.float32)
        for img, ab in zip(chunk, ab_net):
            results.append(net_to_ab(resize_channels(ab, img.shape[0], img.shape[1])))
    return results


def recombine(original_rgb: np.ndarray, ab: np.ndarray) -> np.ndarray:
    """The original's own full-resolution L with predicted ab (CIE units), as sRGB in [0, 1]."""
    return _with_ab(rgb_to_lab(original_rgb), ab)


def _with_ab(original_lab: np.ndarray, ab: np.ndarray) -> np.ndarray:
    return lab_to_rgb(np.concatenate([original_lab[..., :1], ab.astype(np.float32)], axis=-1))


def colourise(model: keras.Model, images: list[np.ndarray], image_size: int,
              preprocess: Callable[[np.ndarray], np.ndarray]) -> list[np.ndarray]:
    """Colour a batch of photos (any sizes, sRGB in [0, 1]); returns sRGB at each photo's own size."""
    return [recombine(img, ab) for img, ab in zip(images, predict_ab(model, images, image_size, preprocess))]


def mean_ab(files: Iterable[Path], max_side: int = 256) -> np.ndarray:
    """The training photos' mean (a, b) over all pixels (photos reduced to ``max_side`` for speed)."""
    sums, count = np.zeros(2), 0
    for path in files:
        rgb = read_rgb(path)
        step = max(1, max(rgb.shape[:2]) // max_side)
        ab = rgb_to_lab(rgb[::step, ::step])[..., 1:].reshape(-1, 2)
        sums += ab.sum(axis=0)
        count += len(ab)
    return (sums / max(count, 1)).astype(np.float32)


def evaluate_photos(names: list[str], images: list[np.ndarray], predictions: dict[str, list[np.ndarray]]
                    ) -> pd.DataFrame:
    """One row per (photo, method): every metric of :func:`colourlib.metrics.all_metrics`.

    ``predictions`` map a method name to the ab planes (CIE units) it predicted for ``images``.
    """
    true_labs = [rgb_to_lab(img) for img in images]
    rows = []
    for method, planes in predictions.items():
        for name, img, lab, ab in zip(names, images, true_labs, planes):
            rows.append({"photo": name, "method": method, **all_metrics(img, _with_ab(lab, ab), ab, lab)})
    return pd.DataFrame(rows)


def baseline_ab(images: list[np.ndarray], train_mean_ab: np.ndarray) -> dict[str, list[np.ndarray]]:
    """grey: a = b = 0 everywhere; mean_ab: the training set's mean (a, b) everywhere."""
    return {
        "grey": [np.zeros((*i.shape[:2], 2), np.float32) for i in images],
        "mean_ab": [np.broadcast_to(train_mean_ab, (*i.shape[:2], 2)).astype(np.float32) for i in images],
    }


def summarise(per_image: pd.DataFrame) -> pd.DataFrame:
    """Mean of every metric per method, methods in the order they were evaluated."""
    order = list(dict.fromkeys(per_image["method"]))
    return per_image.drop(columns="photo").groupby("method").mean().loc[order]

