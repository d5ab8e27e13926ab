"""CIE LAB conversion and the network's scaling of L and ab, with their inverses, in one place.

The model sees lightness L (0..100) scaled to 0..1 and predicts ab (about -128..127) scaled to -1..1 so that a
tanh output can reach every colour. Every other module goes through these functions, never through constants.
"""
from __future__ import annotations

import warnings

import numpy as np
from skimage import color as skcolor

L_MAX = 100.0  # CIE L* of white
AB_SCALE = 128.0  # |a|, |b| of sRGB colours stay below this


def rgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """sRGB in [0, 1], shape (..., H, W, 3) -> CIE LAB (D65) as float32."""
    return skcolor.rgb2lab(np.asarray(rgb, dtype=np.float64)).astype(np.float32)


def lab_to_rgb(lab: np.ndarray) -> np.ndarray:
    """CIE LAB -> sRGB in [0, 1], float32. A predicted colour outside what sRGB can show is clipped to its edge
    deliberately and quietly (scikit-image would warn about "negative Z values" for every such photo)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*negative Z values.*", category=UserWarning)
        return np.clip(skcolor.lab2rgb(np.asarray(lab, dtype=np.float64)), 0.0, 1.0).astype(np.float32)


def l_to_net(lightness: np.ndarray) -> np.ndarray:
    """L* in [0, 100] -> network input in [0, 1]."""
    return (np.asarray(lightness, dtype=np.float32) / L_MAX).astype(np.float32)


def net_to_l(unit: np.ndarray) -> np.ndarray:
    """Inverse of :func:`l_to_net`."""
    return (np.asarray(unit, dtype=np.float32) * L_MAX).astype(np.float32)


def ab_to_net(ab: np.ndarray) -> np.ndarray:
    """a*, b* -> network target in [-1, 1]."""
    return (np.asarray(ab, dtype=np.float32) / AB_SCALE).astype(np.float32)


def net_to_ab(unit: np.ndarray) -> np.ndarray:
    """Inverse of :func:`ab_to_net`."""
    return (np.asarray(unit, dtype=np.float32) * AB_SCALE).astype(np.float32)


def split_lab(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """sRGB -> (L scaled for the network, shape (..., 1); ab scaled for the network, shape (..., 2))."""
    lab = rgb_to_lab(rgb)
    return l_to_net(lab[..., :1]), ab_to_net(lab[..., 1:])


def join_lab(lightness: np.ndarray, ab_net: np.ndarray) -> np.ndarray:
    """L* in [0, 100] (..., H, W[, 1]) and network ab (..., H, W, 2) -> sRGB in [0, 1]."""
    lightness = np.asarray(lightness, dtype=np.float32)
    if lightness.ndim == ab_net.ndim - 1:
        lightness = lightness[..., None]
    return lab_to_rgb(np.concatenate([lightness, net_to_ab(ab_net)], axis=-1))


def l_to_grey_rgb(l_net: np.ndarray) -> np.ndarray:
    """Network L (0..1) -> the sRGB grey of that lightness, in [0, 1] (what a grey photo looks like).

    Equals ``lab2rgb(L, 0, 0)`` for any channel, computed in closed form because it runs for every batch.
    """
    lightness = np.asarray(l_net, dtype=np.float64) * L_MAX
    fy = (lightness + 16.0) / 116.0
    y = np.where(fy**3 > 216.0 / 24389.0, fy**3, lightness * 27.0 / 24389.0)
    srgb = np.where(y <= 0.0031308, 12.92 * y, 1.055 * np.power(np.maximum(y, 0.0031308), 1 / 2.4) - 0.055)
    return np.clip(srgb, 0.0, 1.0).astype(np.float32)
