"""Scoring coloured photos against the truth and two references that need no network: grey (a = b = 0) and the
training photos' mean ab."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from .colour import rgb_to_lab
from .colour.metrics import all_metrics
from .colouriser import with_ab
from .data.photos import read_rgb


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


def evaluate_photos(
    names: list[str], images: list[np.ndarray], predictions: dict[str, list[np.ndarray]]
) -> pd.DataFrame:
    """One row per (photo, method): every metric of :func:`colourlib.colour.metrics.all_metrics`.

    ``predictions`` map a method name to the ab planes (CIE units) it predicted for ``images``.
    """
    true_labs = [rgb_to_lab(img) for img in images]
    rows = []
    for method, planes in predictions.items():
        for name, img, lab, ab in zip(names, images, true_labs, planes):
            rows.append(
                {
                    "photo": name,
                    "method": method,
                    **all_metrics(img, with_ab(lab[..., 0], ab), ab, lab),
                }
            )
    return pd.DataFrame(rows)


def baseline_ab(images: list[np.ndarray], train_mean_ab: np.ndarray) -> dict[str, list[np.ndarray]]:
    """grey: a = b = 0 everywhere; mean_ab: the training set's mean (a, b) everywhere."""
    return {
        "grey": [np.zeros((*i.shape[:2], 2), np.float32) for i in images],
        "mean_ab": [
            np.broadcast_to(train_mean_ab, (*i.shape[:2], 2)).astype(np.float32) for i in images
        ],
    }


def summarise(per_image: pd.DataFrame) -> pd.DataFrame:
    """Mean of every metric per method, methods in the order they were evaluated."""
    order = list(dict.fromkeys(per_image["method"]))
    return per_image.drop(columns="photo").groupby("method").mean().loc[order]
