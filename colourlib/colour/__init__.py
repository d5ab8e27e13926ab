"""CIE LAB conversion and the network's scaling of L and ab, with their inverses, in one place.

The model sees lightness L (0..100) scaled to 0..1 and predicts ab (about -128..127) scaled to -1..1 so that a
tanh output can reach every colour. Every other module goes through these functions, never through constants.
"""

from __future__ import annotations

import functools

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
_SRGB_KNEE, _LINEAR_KNEE = 0.04045, 0.0031308  # where sRGB's power law meets its linear segment
#: Where scikit-image's two rounded pieces of CIE's curves cross, next to its knees (f = 0.2068966, the cube root of
#: _EPSILON, and Y = _EPSILON), at which the pieces are 4e-8 XYZ and 4e-5 L apart: see below.
_F_MEET, _Y_MEET = 0.2071575, 0.0088900046

#: Pixels converted at a time at full resolution, so that the temporaries (written in place) stay in the CPU's
#: cache rather than making a 1024-px photo's 9 MB round trips to memory for each step.
_BLOCK = 1 << 14

_Y_FROM_LINEAR = XYZ_FROM_RGB[1].astype(np.float32)
#: (L, a, b) -> (fx, fy, fz) less 16/116 (which every f has, so it is one scalar added), and XYZ (over the white)
#: -> linear sRGB.
_F_FROM_LAB = np.array(
    [[1 / 116, 1 / 116, 1 / 116], [1 / 500, 0, 0], [0, 0, -1 / 200]], dtype=np.float32
)
_LINEAR_FROM_XYZ = (RGB_FROM_XYZ.T * WHITE_D65[:, None]).astype(np.float32)


def _unit_float(rgb) -> np.ndarray:
    """float32 sRGB in [0, 1]; integer images (uint8, uint16) are scaled by their maximum, as scikit-image does."""
    rgb = np.asarray(rgb)
    if np.issubdtype(rgb.dtype, np.integer):
        return (rgb / np.float32(np.iinfo(rgb.dtype).max)).astype(np.float32)
    return rgb.astype(np.float32, copy=False)


@functools.cache
def _linear_levels(dtype: np.dtype) -> np.ndarray:
    """Every level of an 8- or 16-bit sRGB channel as linear light, computed in float64: the exact conversion at
    the cost of one lookup (256 or 65,536 entries)."""
    top = np.iinfo(dtype).max
    srgb = np.arange(top + 1) / top
    return np.where(srgb > _SRGB_KNEE, ((srgb + 0.055) / 1.055) ** 2.4, srgb / 12.92).astype(
        np.float32
    )


# The full-resolution steps below are branch-free: each two-piece curve is its power law at max(input, m) plus the
# linear piece's slope times min(input - m, 0), where m is a point at which the pieces meet (to 3e-8 at sRGB's
# knees, exactly where CIE's cross), so each piece is scikit-image's own except between m and a CIE knee. Powers
# are exp and log: numpy vectorises those on AVX2 too, np.power and np.cbrt only with AVX-512 (with numpy held to
# AVX2 they took 2-6x as long); a table interpolated over float input measured no faster (two lookups a value).
# Each writes ``out`` and may overwrite its input and ``tmp``.


def _power_with_linear_foot(
    x: np.ndarray,
    out: np.ndarray,
    tmp: np.ndarray,
    knee: float,
    power: float,
    slope: float,
    shift: float = 0.0,
    log_scale: float = 0.0,
    offset: float = 0.0,
) -> np.ndarray:
    """exp(power * log(max(x, knee) + shift) + log_scale) + slope * min(x - knee, 0) + offset into ``out``
    (``x`` is left as it is): each of sRGB's and CIE's two-piece curves."""
    np.maximum(x, np.float32(knee), out=out)
    if shift:
        out += np.float32(shift)
    np.log(out, out=out)
    out *= np.float32(power)
    if log_scale:
        out += np.float32(log_scale)
    np.exp(out, out=out)
    np.subtract(x, np.float32(knee), out=tmp)
    np.minimum(tmp, 0, out=tmp)
    tmp *= np.float32(slope)
    if offset:
        tmp += np.float32(offset)
    out += tmp
    return out


def _srgb_to_linear(srgb: np.ndarray, out: np.ndarray, tmp: np.ndarray) -> np.ndarray:
    return _power_with_linear_foot(
        srgb, out, tmp, _SRGB_KNEE, 2.4, 1 / 12.92, shift=0.055, log_scale=-2.4 * np.log(1.055)
    )


def _y_to_lightness(y: np.ndarray, out: np.ndarray, tmp: np.ndarray) -> np.ndarray:
    return _power_with_linear_foot(
        y, out, tmp, _Y_MEET, 1 / 3, 116 * _KAPPA, log_scale=np.log(116), offset=-16
    )


def _f_to_xyz(f: np.ndarray, out: np.ndarray, tmp: np.ndarray) -> np.ndarray:
    np.maximum(f, np.float32(_F_MEET), out=tmp)
    np.multiply(tmp, tmp, out=out)
    out *= tmp
    f -= np.float32(_F_MEET)
    np.minimum(f, 0, out=f)
    f *= np.float32(1 / _KAPPA)
    out += f
    return out


def _linear_to_srgb(linear: np.ndarray, out: np.ndarray, tmp: np.ndarray) -> np.ndarray:
    _power_with_linear_foot(
        linear, out, tmp, _LINEAR_KNEE, 1 / 2.4, 12.92, log_scale=np.log(1.055), offset=-0.055
    )
    return np.clip(out, 0, 1, out=out)


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
    colouring, which keeps a photo's own L and needs nothing else of it (equal to ``skimage.color.rgb2lab``'s
    within :data:`LAB_TOLERANCE`).

    It runs on every photo at full resolution, so it works in cache-sized blocks; 8- and 16-bit images take
    their linear light from a table of every level (exact), float images from the closed form."""
    rgb = np.asarray(rgb)
    levels = _linear_levels(rgb.dtype) if rgb.dtype in (np.uint8, np.uint16) else None
    pixels = rgb.reshape(-1, 3) if levels is not None else _unit_float(rgb).reshape(-1, 3)
    lightness = np.empty(len(pixels), np.float32)
    linear, tmp = np.empty((2, min(len(pixels), _BLOCK), 3), np.float32)
    index = np.empty(linear.shape, np.intp) if levels is not None else None
    y, y_tmp = np.empty((2, len(linear)), np.float32)
    for start in range(0, len(pixels), _BLOCK):
        part = pixels[start : start + _BLOCK]
        n = len(part)
        if levels is not None:  # take() would convert the indices to intp itself, more slowly
            np.copyto(index[:n], part)
            np.take(levels, index[:n], out=linear[:n], mode="clip")  # every index is a level
        else:
            _srgb_to_linear(part, linear[:n], tmp[:n])
        np.matmul(linear[:n], _Y_FROM_LINEAR, out=y[:n])
        _y_to_lightness(y[:n], lightness[start : start + n], y_tmp[:n])
    return lightness.reshape(rgb.shape[:-1])


def lab_to_rgb(lab: np.ndarray) -> np.ndarray:
    """CIE LAB -> sRGB in [0, 1], float32, in closed form (see :func:`rgb_to_lab`; equal to
    ``np.clip(skimage.color.lab2rgb(lab), 0, 1)`` within :data:`RGB_TOLERANCE`). A predicted colour outside what
    sRGB can show is clipped to its edge deliberately and quietly, as scikit-image clips it (without its
    "negative Z values" warning). It runs on every coloured photo at full resolution, so it works in cache-sized
    blocks."""
    lab = np.asarray(lab, dtype=np.float32)
    pixels = lab.reshape(-1, 3)
    rgb = np.empty(pixels.shape, np.float32)
    a, b, c = np.empty((3, min(len(pixels), _BLOCK), 3), np.float32)
    for start in range(0, len(pixels), _BLOCK):
        part = pixels[start : start + _BLOCK]
        n = len(part)
        f = np.matmul(part, _F_FROM_LAB, out=a[:n])
        f += np.float32(16 / 116)
        np.maximum(f[:, 2], 0, out=f[:, 2])  # scikit-image's clamp of a negative fz
        xyz = _f_to_xyz(f, b[:n], c[:n])
        linear = np.matmul(xyz, _LINEAR_FROM_XYZ, out=a[:n])
        _linear_to_srgb(linear, rgb[start : start + n], c[:n])
    return rgb.reshape(lab.shape)


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
