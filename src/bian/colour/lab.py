"""CIE Lab split and merge: the luminance is kept (in film, bright highlights may give up a few L
units to hold their colour, :func:`make_room`), only chroma is predicted.

Conventions (those of OpenCV's float conversion, which DDColor was trained with): ``L`` in [0, 100],
``a``/``b`` roughly in [-128, 127]; RGB is sRGB float32 in [0, 1].
"""
from __future__ import annotations

import cv2
import numpy as np


_RGB_TO_XYZ = np.array([[0.412453, 0.357580, 0.180423],
                        [0.212671, 0.715160, 0.072169],
                        [0.019334, 0.119193, 0.950227]], np.float32)


def rgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """H×W×3 float RGB in [0, 1] → H×W×3 float32 Lab.

    Written out rather than OpenCV's float conversion, whose approximations wobble the chroma by
    ~0.1 (up to 0.5) depending on the luminance: on grainy film that wobble is chroma noise.
    """
    c = np.asarray(rgb, np.float32)
    linear = np.where(c <= 0.04045, c / 12.92, ((np.maximum(c, 0.04045) + 0.055) / 1.055) ** 2.4)
    xyz = (linear @ _RGB_TO_XYZ.T) / _WHITE
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(np.maximum(xyz, 0)), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    out = np.empty(c.shape, np.float32)
    out[..., 0] = 116 * f[..., 1] - 16
    out[..., 1] = 500 * (f[..., 0] - f[..., 1])
    out[..., 2] = 200 * (f[..., 1] - f[..., 2])
    return out


def lab_to_rgb(lab: np.ndarray) -> np.ndarray:
    """H×W×3 float32 Lab → H×W×3 float32 RGB clipped to [0, 1]."""
    rgb = cv2.cvtColor(np.ascontiguousarray(lab, dtype=np.float32), cv2.COLOR_Lab2RGB)
    return np.clip(rgb, 0.0, 1.0, out=rgb)


def luminance(rgb: np.ndarray) -> np.ndarray:
    """H×W×3 (or H×W grey) float in [0, 1] → H×W float32 L in [0, 100]."""
    if rgb.ndim == 2:
        rgb = np.repeat(rgb[..., None], 3, axis=2)
    return rgb_to_lab(rgb)[..., 0]


_XYZ_TO_LINEAR = np.array([[3.2404542, -1.5371385, -0.4985314],
                           [-0.9692660, 1.8760108, 0.0415560],
                           [0.0556434, -0.2040259, 1.0572252]], np.float32)
_WHITE = np.array([0.950456, 1.0, 1.088754], np.float32)


def _linear_rgb(lab: np.ndarray) -> np.ndarray:
    """n×3 Lab → n×3 linear sRGB, unclipped (OpenCV clips, which hides colours outside the gamut)."""
    fy = (lab[:, 0] + 16) / 116
    f = np.stack([fy + lab[:, 1] / 500, fy, fy - lab[:, 2] / 200], axis=1)
    xyz = np.where(f > 6 / 29, f * f * f, 3 * (6 / 29) ** 2 * (f - 4 / 29)) * _WHITE
    return xyz @ _XYZ_TO_LINEAR.T


def _gamut_scale(lab: np.ndarray) -> np.ndarray:
    """Per row of ``lab`` (n×3), the largest factor ≤ 1 on its chroma that keeps it inside sRGB
    (hue and L kept): bisection to within 1 % of the gamut's edge."""
    scale = np.ones(len(lab), np.float32)
    outside = np.flatnonzero(np.any(np.abs(_linear_rgb(lab) - 0.5) > 0.5 + 1e-3, axis=1))
    if len(outside):
        pixels = lab[outside]
        low = np.zeros(len(outside), np.float32)
        high = np.ones(len(outside), np.float32)
        for _ in range(7):
            mid = (low + high) / 2
            trial = pixels.copy()
            trial[:, 1:] *= mid[:, None]
            fits = np.all(np.abs(_linear_rgb(trial) - 0.5) <= 0.5 + 1e-3, axis=1)
            low = np.where(fits, mid, low)
            high = np.where(fits, high, mid)
        scale[outside] = low
    return scale


def fit_gamut(L: np.ndarray, ab: np.ndarray) -> np.ndarray:
    """Chroma ``ab`` (H×W×2) scaled down, hue kept, wherever it would fall outside sRGB at luminance
    ``L`` (H×W, [0, 100])."""
    lab = np.dstack([L, ab]).astype(np.float32).reshape(-1, 3)
    return (lab[:, 1:] * _gamut_scale(lab)[:, None]).reshape(ab.shape)


HIGHLIGHT_ROOM = 3.0
"""Most L units by which a film frame's highlight may be darkened so its colour fits."""


def make_room(L: np.ndarray, ab: np.ndarray, room: float = HIGHLIGHT_ROOM) -> np.ndarray:
    """``L`` (H×W, [0, 100]) lowered by a smooth amount of at most ``room`` L units where the chroma
    ``ab`` (H×W×2) does not fit in sRGB at that lightness but would fit (or fit better) a little
    darker: bright highlights, where the room for chroma shrinks quickly towards white.

    Why: film's brightness flicker moves highlights towards white and back; with the lightness kept
    exactly, their colour has to shrink and return with every flicker. Taking the difference from the
    lightness instead (a few L units, only where needed) keeps the colour steady. The amount is dilated
    and blurred (σ 2 px), so it has no edges of its own and the picture's detail is untouched."""
    lab = np.dstack([L, ab]).astype(np.float32).reshape(-1, 3)
    base = _gamut_scale(lab)
    short = np.flatnonzero(base < 0.99)
    need = np.zeros(len(lab), np.float32)
    if len(short):
        pixels = lab[short]
        best, amount = base[short], np.zeros(len(short), np.float32)
        for trim in np.float32(room) * np.arange(1, 5, dtype=np.float32) / 4:
            trial = pixels.copy()
            trial[:, 0] -= trim
            scale = _gamut_scale(trial)
            better = (scale > best + 0.01) & (best < 0.99)
            best, amount = np.where(better, scale, best), np.where(better, trim, amount)
        need[short] = amount
    need = cv2.dilate(need.reshape(L.shape), np.ones((5, 5), np.uint8))
    return (L - cv2.GaussianBlur(need, (0, 0), 2.0)).astype(np.float32)


def merge(L: np.ndarray, ab: np.ndarray, saturation: float = 1.0, room: float = 0.0) -> np.ndarray:
    """Full-resolution luminance (H×W, [0, 100]) + chroma (H×W×2) → float32 RGB in [0, 1].

    ``saturation`` scales the chroma (0 gives grey, 1 leaves it as predicted). Where the colour falls
    outside sRGB, a highlight is first darkened by at most ``room`` L units (:func:`make_room`; film
    passes :data:`HIGHLIGHT_ROOM`, a still picture 0 and keeps its lightness exactly), then the chroma
    that still does not fit is reduced (same hue, :func:`fit_gamut`) instead of clipping the channels,
    which would change the luminance freely.
    """
    ab = ab * np.float32(saturation)
    lab = np.empty(L.shape + (3,), np.float32)
    lab[..., 0] = make_room(L, ab, room) if room > 0 else L
    lab[..., 1:] = fit_gamut(lab[..., 0], ab)
    return lab_to_rgb(lab)
