"""Colour-quality metrics, each as the literature defines it, on full-resolution images.

Per-pixel measures (CIEDE2000, ab error, raw AuC, PSNR, SSIM) favour a grey photo: an uncertain pixel costs
least when it has no colour. Zhang et al. (2016) therefore also report a *rebalanced* AuC, where rare, vivid
colours count as much as common dull ones, and *semantic interpretability*, whether a pretrained classifier sees
the same thing in the coloured photo as in the original; modern work adds the gap in colourfulness (ΔCF). All
compare what a person sees: sRGB images in [0, 1] (H, W, 3), except :func:`keras2_accuracy` (ab planes) and
:func:`semantic_agreement` (the judge's logits).
"""

from __future__ import annotations

import numpy as np
from skimage.color import deltaE_ciede2000
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from . import rgb_to_lab
from .classes import BINS, nearest_bin

AUC_MAX_ERROR = 150.0  # Zhang et al. 2016 sweep the ab threshold over 0..150

#: What the paper's "accuracy ~80%" measured, in one sentence (shown beside the number in the report).
KERAS2_ACCURACY_NOTE = (
    "Keras 2 turned 'accuracy' with an MSE loss and a 2-channel output into categorical accuracy, i.e. the "
    "share of pixels where the larger of a and b is the same channel in prediction and truth: it says whether "
    "a colour leans more red-magenta than yellow or the reverse, not how close the colour is, so a constant "
    "guess can score well on photos dominated by one hue."
)


def psnr(true_rgb: np.ndarray, pred_rgb: np.ndarray) -> float:
    """Peak signal-to-noise ratio in dB on sRGB in [0, 1]; infinite for identical images."""
    if np.array_equal(true_rgb, pred_rgb):
        return float("inf")
    return float(peak_signal_noise_ratio(true_rgb, pred_rgb, data_range=1.0))


def ssim(true_rgb: np.ndarray, pred_rgb: np.ndarray) -> float:
    """Structural similarity on sRGB (per channel, averaged), data range 1."""
    return float(structural_similarity(true_rgb, pred_rgb, channel_axis=-1, data_range=1.0))


def ciede2000(true_rgb: np.ndarray, pred_rgb: np.ndarray) -> float:
    """Mean CIEDE2000 colour difference; about 2.3 is a just-noticeable difference."""
    return _ciede2000_lab(rgb_to_lab(true_rgb), rgb_to_lab(pred_rgb))


def _ciede2000_lab(true_lab: np.ndarray, pred_lab: np.ndarray) -> float:
    return float(np.mean(deltaE_ciede2000(true_lab, pred_lab)))


def colourfulness(rgb: np.ndarray) -> float:
    """Hasler & Suesstrunk (2003) colourfulness M on 0..255 sRGB; 0 for a grey image."""
    rgb = np.asarray(rgb, dtype=np.float64) * 255.0
    rg = rgb[..., 0] - rgb[..., 1]
    yb = 0.5 * (rgb[..., 0] + rgb[..., 1]) - rgb[..., 2]
    return float(np.hypot(rg.std(), yb.std()) + 0.3 * np.hypot(rg.mean(), yb.mean()))


def ab_errors(true_rgb: np.ndarray, pred_rgb: np.ndarray) -> np.ndarray:
    """Per-pixel Euclidean distance in the ab plane."""
    return _ab_distance(rgb_to_lab(true_rgb), rgb_to_lab(pred_rgb))


def _ab_distance(true_lab: np.ndarray, pred_lab: np.ndarray) -> np.ndarray:
    diff = true_lab[..., 1:] - pred_lab[..., 1:]
    return np.hypot(diff[..., 0], diff[..., 1])


def auc_ab(true_rgb: np.ndarray, pred_rgb: np.ndarray, max_error: float = AUC_MAX_ERROR) -> float:
    """Area under the CDF of per-pixel ab error over thresholds 0..max_error, normalised to [0, 1].

    Zhang et al. (2016) sweep the threshold; the integral has the closed form mean(clip(1 - e / max, 0, 1)).
    """
    return _auc_of_errors(ab_errors(true_rgb, pred_rgb), max_error)


def _auc_of_errors(errors: np.ndarray, max_error: float = AUC_MAX_ERROR) -> float:
    return float(np.mean(np.clip(1.0 - errors / max_error, 0.0, 1.0)))


def class_frequencies(true_labs) -> np.ndarray:
    """The share (313,) of the scored photos' pixels whose true colour falls in each of the 313 ab bins: what
    :func:`rebalanced_auc` weights by. Pass every photo of the scored set (LAB, (H, W, 3) each)."""
    counts = np.zeros(BINS)
    for lab in true_labs:
        counts += np.bincount(nearest_bin(lab[..., 1:]).ravel(), minlength=BINS)
    if not counts.sum():
        raise ValueError("class_frequencies: no pixels given")
    return counts / counts.sum()


def rebalanced_auc(
    true_lab: np.ndarray,
    pred_lab: np.ndarray,
    frequencies: np.ndarray,
    max_error: float = AUC_MAX_ERROR,
) -> float:
    """Zhang et al.'s rebalanced AuC of one photo: the area under the CDF of per-pixel ab error (0..max_error),
    each pixel weighted by the inverse frequency (``frequencies``, :func:`class_frequencies` of the scored set) of
    its true colour's bin. Within a photo every bin present then counts the same however many pixels it has, so a
    red coat counts as much as the grey street around it: grey scores well on the street, badly on the coat.
    Each photo counts once in the mean over photos, as for every other metric here."""
    bins = nearest_bin(true_lab[..., 1:])
    share = np.asarray(frequencies)[bins]
    if (share <= 0).any():
        raise ValueError(
            "rebalanced_auc: a pixel's true colour has frequency 0; compute the frequencies on the scored "
            "photos themselves (class_frequencies of every photo scored)"
        )
    weights = 1.0 / share
    scores = np.clip(1.0 - _ab_distance(true_lab, pred_lab) / max_error, 0.0, 1.0)
    return float((weights * scores).sum() / weights.sum())


def colourfulness_gap(true_rgb: np.ndarray, pred_rgb: np.ndarray) -> float:
    """ΔCF: |colourfulness(coloured) - colourfulness(truth)| of one photo. Colourfulness alone rewards any
    colour, red noise included; its distance to the photo's own colourfulness does not."""
    return abs(colourfulness(pred_rgb) - colourfulness(true_rgb))


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(-1, keepdims=True))
    return shifted / shifted.sum(-1, keepdims=True)


def semantic_agreement(true_logits: np.ndarray, pred_logits: np.ndarray) -> dict[str, float]:
    """Does an ImageNet classifier (the judge) see in the coloured photo what it sees in the original? From the
    judge's logits (views, 1000) of the same views of both: ``semantic`` is the judge's probability, on the
    coloured photo, of the class it gave the original first (continuous, so few photos still give an interval);
    ``top1`` the share of views whose first class agrees, ``top5`` the share where the original's first class is
    among the coloured photo's first five. Averaged over views. The original against itself scores its own
    confidence, 1 and 1."""
    true_logits, pred_logits = np.atleast_2d(true_logits), np.atleast_2d(pred_logits)
    target = true_logits.argmax(-1)
    views = np.arange(len(target))
    probability = softmax(pred_logits.astype(np.float64))[views, target]
    top5 = np.argsort(-pred_logits, axis=-1)[:, :5]
    return {
        "semantic": float(probability.mean()),
        "top1": float((pred_logits.argmax(-1) == target).mean()),
        "top5": float((top5 == target[:, None]).any(-1).mean()),
    }


def keras2_accuracy(true_ab: np.ndarray, pred_ab: np.ndarray) -> float:
    """The paper's 'accuracy': per pixel, does argmax over (a, b) agree? See :data:`KERAS2_ACCURACY_NOTE`."""
    return float(np.mean(np.argmax(true_ab, axis=-1) == np.argmax(pred_ab, axis=-1)))


def all_metrics(
    true_rgb: np.ndarray,
    pred_rgb: np.ndarray,
    pred_ab: np.ndarray,
    true_lab: np.ndarray | None = None,
    frequencies: np.ndarray | None = None,
) -> dict:
    """Every metric of one image but the judge's. ``pred_ab`` is the raw predicted ab plane (for the Keras 2
    accuracy only); pass ``true_lab`` when the caller already has it, so each image is converted to LAB once, and
    ``frequencies`` (:func:`class_frequencies` of the scored set) for the rebalanced AuC (None: this photo's own)."""
    true_lab = rgb_to_lab(true_rgb) if true_lab is None else true_lab
    pred_lab = rgb_to_lab(pred_rgb)
    frequencies = class_frequencies([true_lab]) if frequencies is None else frequencies
    cf_true, cf_pred = colourfulness(true_rgb), colourfulness(pred_rgb)
    errors = _ab_distance(true_lab, pred_lab)
    return {
        "psnr": psnr(true_rgb, pred_rgb),
        "ssim": ssim(true_rgb, pred_rgb),
        "ciede2000": _ciede2000_lab(true_lab, pred_lab),
        "colourfulness": cf_pred,
        "colourfulness_true": cf_true,
        "colourfulness_gap": cf_pred - cf_true,
        "delta_cf": abs(cf_pred - cf_true),
        "ab_error": float(np.mean(errors)),
        "auc_ab": _auc_of_errors(errors),
        "rebalanced_auc": rebalanced_auc(true_lab, pred_lab, frequencies),
        "keras2_accuracy": keras2_accuracy(true_lab[..., 1:], pred_ab),
    }
