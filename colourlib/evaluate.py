"""Scoring coloured photos against the truth, beside two references that need no network (grey, a = b = 0, and
the training photos' mean ab) and two ceilings (what the pipeline itself loses); and comparing two methods on
the same photos with a paired bootstrap interval."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .colour import ab_to_net, net_to_ab, rgb_to_lab, split_lab
from .colour.classes import read_back
from .colour.metrics import all_metrics, class_frequencies, semantic_agreement
from .colouriser import with_ab
from .data.augment import resize_channels, resize_square
from .data.photos import read_rgb

#: The judge of semantic agreement: an ImageNet classifier that is no colouriser's encoder (the default model's
#: is EfficientNet-Lite0), looking at each photo through this many square views that together cover it.
JUDGE = "lite1"
JUDGE_VIEWS = 3
#: Bootstrap resamples of the photos for every paired interval, and the interval's coverage.
RESAMPLES = 2000
COVERAGE = 0.95


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


def judge_logits(images: list[np.ndarray]) -> np.ndarray:
    """The judge's ImageNet logits (N, views, 1000) of sRGB photos in [0, 1]."""
    from .encoders import efficientnet

    return efficientnet.classify(
        images, variant=JUDGE, views=JUDGE_VIEWS, needed_for="the evaluation's judge"
    )


@dataclass
class Truth:
    """What every method's score on a set of photos is measured against, computed once per set: the originals'
    LAB, their 313-bin class frequencies (the rebalanced AuC's weights) and the judge's logits of them."""

    labs: list[np.ndarray]
    frequencies: np.ndarray
    logits: np.ndarray | None


def truth_of(images: list[np.ndarray], judge: bool = True) -> Truth:
    labs = [rgb_to_lab(img) for img in images]
    return Truth(labs, class_frequencies(labs), judge_logits(images) if judge else None)


def evaluate_photos(
    names: list[str],
    images: list[np.ndarray],
    predictions: dict[str, list[np.ndarray]],
    judge: bool = True,
    truth: Truth | None = None,
) -> pd.DataFrame:
    """One row per (photo, method): every metric of :func:`colourlib.colour.metrics.all_metrics`, the rebalanced
    AuC weighted by the class frequencies of all of ``images`` together, and (``judge``) the judge's semantic
    agreement with the original (``semantic``, ``top1``, ``top5``; ``semantic_true`` is the judge's confidence
    in the original itself, the ceiling).

    ``predictions`` map a method name to the ab planes (CIE units) it predicted for ``images``; pass ``truth``
    (:func:`truth_of` the same ``images``) when scoring several batches of methods on one set.
    """
    truth = truth_of(images, judge) if truth is None else truth
    judge = judge and truth.logits is not None
    rows = []
    for method, planes in predictions.items():
        coloured = [with_ab(lab[..., 0], ab) for lab, ab in zip(truth.labs, planes)]
        logits = judge_logits(coloured) if judge else None
        for i, (name, img, lab, ab, rgb) in enumerate(
            zip(names, images, truth.labs, planes, coloured)
        ):
            row = {"photo": name, "method": method}
            row |= all_metrics(img, rgb, ab, lab, truth.frequencies)
            if judge:
                row |= semantic_agreement(truth.logits[i], logits[i])
                row["semantic_true"] = semantic_agreement(truth.logits[i], truth.logits[i])[
                    "semantic"
                ]
            rows.append(row)
    return pd.DataFrame(rows)


def baseline_ab(images: list[np.ndarray], train_mean_ab: np.ndarray) -> dict[str, list[np.ndarray]]:
    """grey: a = b = 0 everywhere; mean_ab: the training set's mean (a, b) everywhere."""
    return {
        "grey": [np.zeros((*i.shape[:2], 2), np.float32) for i in images],
        "mean_ab": [
            np.broadcast_to(train_mean_ab, (*i.shape[:2], 2)).astype(np.float32) for i in images
        ],
    }


def ceiling_ab(
    images: list[np.ndarray], image_size: int, temperature: float | None
) -> dict[str, list[np.ndarray]]:
    """What the pipeline loses even with a perfect network, as ab planes at each photo's full size:
    ``input_size``, the true ab seen at the network's ``image_size`` and upsampled onto the full-resolution L as
    every prediction is; and (``temperature`` given: a colour-class model) ``bins``, the same true ab first
    soft-encoded over the 313 bins and read back by the annealed mean at ``temperature``."""
    ceilings = {"input_size": [], **({"bins": []} if temperature is not None else {})}
    for img in images:
        h, w = img.shape[:2]
        small = split_lab(resize_square(img, image_size))[1]
        ceilings["input_size"].append(net_to_ab(resize_channels(small, h, w)))
        if temperature is not None:
            quantised = ab_to_net(read_back(net_to_ab(small), temperature))
            ceilings["bins"].append(net_to_ab(resize_channels(quantised, h, w)))
    return ceilings


def paired_difference(
    per_image: pd.DataFrame,
    method: str,
    baseline: str,
    metric: str,
    resamples: int = RESAMPLES,
    seed: int = 0,
) -> dict[str, float]:
    """``method`` minus ``baseline`` on ``metric`` over the same photos: each photo's difference (a method's seeds
    averaged per photo first), their mean, and a percentile bootstrap interval (:data:`COVERAGE`) from resampling
    the photos. Comparing on the same photos removes what makes one photo harder than another, which a
    comparison of two means with their spreads over seeds leaves in."""
    ours = per_image[per_image.method == method].groupby("photo")[metric].mean()
    theirs = per_image[per_image.method == baseline].groupby("photo")[metric].mean()
    if ours.empty or theirs.empty:
        missing = method if ours.empty else baseline
        raise ValueError(f"paired_difference: no photos scored for method {missing!r}")
    difference = (ours - theirs.reindex(ours.index)).dropna().to_numpy()
    rng = np.random.default_rng(seed)
    means = difference[rng.integers(0, len(difference), (resamples, len(difference)))].mean(1)
    tail = (1 - COVERAGE) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    return {
        "difference": float(difference.mean()),
        "low": float(low),
        "high": float(high),
        "photos": len(difference),
    }


def verdict(interval: dict[str, float], higher_is_better: bool) -> str:
    """ "better", "worse" or "no difference": better or worse only when the interval excludes 0."""
    if interval["low"] > 0:
        return "better" if higher_is_better else "worse"
    if interval["high"] < 0:
        return "worse" if higher_is_better else "better"
    return "no difference"


def summarise(per_image: pd.DataFrame) -> pd.DataFrame:
    """Mean of every metric per method, methods in the order they were evaluated."""
    order = list(dict.fromkeys(per_image["method"]))
    return per_image.drop(columns="photo").groupby("method").mean().loc[order]
