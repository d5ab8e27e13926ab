"""CIE LAB conversion and the network's scaling of L and ab, with their inverses, in one place.

The model sees lightness L (0..100) scaled to 0..1 and predicts ab (about -128..127) scaled to -1..1 so that a
tanh output can reach every colour. Every other module goes through these functions, never through constants.
"""

from __future__ import annotations

import numpy as np

L_MAX = 100.0  # CIE L* of white
AB_SCALE = 128.0  # |a|, |b| of sRGB colours stay below this


#: sRGB (D65) -> CIE XYZ, and the D65 white point: scikit-image's constants, so the closed forms below agree with
#: ``skimage.color.rgb2lab`` / ``lab2rgb`` (tests/test_colour.py checks it to LAB_TOLERANCE and RGB_TOLERANCE).
XYZ_FROM_RGB = np.array(
    [[0.412453, 0.357580, 0.180423], [0.212671, 0.715160, 0.072169], [0.019334, 0.119193, 0.950227]]
)
RGB_FROM_XYZ = np.linalg.inv(XYZ_FROM_RGB)
WHITE_D65 = np.array([0.95047, 1.0, 1.08883])
#: The largest differences from scikit-image's float64 conversion (LAB units; sRGB in [0, 1]) that the float32
#: closed forms are held to.
LAB_TOLERANCE, RGB_TOLERANCE = 2e-3, 2e-5
_EPSILON, _KAPPA = 0.008856, 7.787  # CIE's cube-root knee, as scikit-image writes it


def _unit_float(rgb) -> np.ndarray:
    """float32 sRGB in [0, 1]; integer images (uint8, uint16) are scaled by their maximum, as scikit-image does."""
    rgb = np.asarray(rgb)
    if np.issubdtype(rgb.dtype, np.integer):
        return (rgb / np.float32(np.iinfo(rgb.dtype).max)).astype(np.float32)
    return rgb.astype(np.float32, copy=False)


def rgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """sRGB in [0, 1], shape (..., 3) -> CIE LAB (D65), float32.

    A closed form in float32 (about 5x faster than scikit-image's float64 path, and it runs for every training
    crop and every coloured photo), equal to ``skimage.color.rgb2lab`` within :data:`LAB_TOLERANCE`."""
    rgb = _unit_float(rgb)
    linear = np.where(
        rgb > 0.04045,
        np.power((rgb + np.float32(0.055)) / np.float32(1.055), np.float32(2.4)),
        rgb / np.float32(12.92),
    )
    xyz = linear @ (XYZ_FROM_RGB.T / WHITE_D65[None, :]).astype(
        np.float32
    )  # already divided by the white
    f = np.where(xyz > _EPSILON, np.cbrt(xyz), np.float32(_KAPPA) * xyz + np.float32(16 / 116))
    fx, fy, fz = f[..., 0], f[..., 1], f[..., 2]
    return np.stack([116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)], axis=-1).astype(np.float32)


def rgb_to_lightness(rgb: np.ndarray) -> np.ndarray:
    """sRGB in [0, 1], shape (..., 3) -> CIE L* (0..100), float32: :func:`rgb_to_lab`'s first channel alone, for
    colouring, which keeps a photo's own L and needs nothing else of it."""
    rgb = _unit_float(rgb)
    linear = np.where(
        rgb > 0.04045,
        np.power((rgb + np.float32(0.055)) / np.float32(1.055), np.float32(2.4)),
        rgb / np.float32(12.92),
    )
    y = linear @ XYZ_FROM_RGB[1].astype(np.float32)
    return np.where(y > _EPSILON, 116 * np.cbrt(y) - 16, np.float32(116 * _KAPPA) * y).astype(
        np.float32
    )


def lab_to_rgb(lab: np.ndarray) -> np.ndarray:
    """CIE LAB -> sRGB in [0, 1], float32, in closed form (see :func:`rgb_to_lab`; equal to
    ``np.clip(skimage.color.lab2rgb(lab), 0, 1)`` within :data:`RGB_TOLERANCE`). A predicted colour outside what
    sRGB can show is clipped to its edge deliberately and quietly, as scikit-image clips it (without its
    "negative Z values" warning)."""
    lab = np.asarray(lab, dtype=np.float32)
    fy = (lab[..., 0] + 16) / np.float32(116)
    f = np.stack(
        [fy + lab[..., 1] / np.float32(500), fy, np.maximum(fy - lab[..., 2] / np.float32(200), 0)],
        -1,
    )
    xyz = np.where(
        f > np.float32(0.2068966), f * f * f, (f - np.float32(16 / 116)) / np.float32(_KAPPA)
    )
    linear = np.clip(xyz @ (RGB_FROM_XYZ.T * WHITE_D65[:, None]).astype(np.float32), 0, 1)
    srgb = np.where(
        linear > 0.0031308,
        np.float32(1.055) * np.power(linear, np.float32(1 / 2.4)) - np.float32(0.055),
        np.float32(12.92) * linear,
    )
    return np.clip(srgb, 0, 1).astype(np.float32, copy=False)


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
    srgb = np.where(
        y <= 0.0031308, 12.92 * y, 1.055 * np.power(np.maximum(y, 0.0031308), 1 / 2.4) - 0.055
    )
    return np.clip(srgb, 0.0, 1.0).astype(np.float32)
