"""Colour-quality metrics, each as the literature defines it, on full-resolution images.

All but :func:`keras2_accuracy` compare what a person sees: sRGB images in [0, 1] (H, W, 3).
"""

from __future__ import annotations

import numpy as np
from skimage.color import deltaE_ciede2000
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from . import rgb_to_lab

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


def keras2_accuracy(true_ab: np.ndarray, pred_ab: np.ndarray) -> float:
    """The paper's 'accuracy': per pixel, does argmax over (a, b) agree? See :data:`KERAS2_ACCURACY_NOTE`."""
    return float(np.mean(np.argmax(true_ab, axis=-1) == np.argmax(pred_ab, axis=-1)))


def all_metrics(
    true_rgb: np.ndarray,
    pred_rgb: np.ndarray,
    pred_ab: np.ndarray,
    true_lab: np.ndarray | None = None,
) -> dict:
    """Every metric of one image. ``pred_ab`` is the raw predicted ab plane (for the Keras 2 accuracy only);
    pass ``true_lab`` when the caller already has it, so each image is converted to LAB once."""
    true_lab = rgb_to_lab(true_rgb) if true_lab is None else true_lab
    pred_lab = rgb_to_lab(pred_rgb)
    cf_true, cf_pred = colourfulness(true_rgb), colourfulness(pred_rgb)
    errors = _ab_distance(true_lab, pred_lab)
    return {
        "psnr": psnr(true_rgb, pred_rgb),
        "ssim": ssim(true_rgb, pred_rgb),
        "ciede2000": _ciede2000_lab(true_lab, pred_lab),
        "colourfulness": cf_pred,
        "colourfulness_true": cf_true,
        "colourfulness_gap": cf_pred - cf_true,
        "ab_error": float(np.mean(errors)),
        "auc_ab": _auc_of_errors(errors),
        "keras2_accuracy": keras2_accuracy(true_lab[..., 1:], pred_ab),
    }
