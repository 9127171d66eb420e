"""CIE Lab split and merge: the luminance is kept, only chroma is predicted.

Conventions (those of OpenCV's float conversion, which DDColor was trained with): ``L`` in [0, 100],
``a``/``b`` roughly in [-128, 127]; RGB is sRGB float32 in [0, 1].
"""
from __future__ import annotations

import cv2
import numpy as np


def rgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """H×W×3 float RGB in [0, 1] → H×W×3 float32 Lab."""
    return cv2.cvtColor(np.ascontiguousarray(rgb, dtype=np.float32), cv2.COLOR_RGB2Lab)


def lab_to_rgb(lab: np.ndarray) -> np.ndarray:
    """H×W×3 float32 Lab → H×W×3 float32 RGB clipped to [0, 1]."""
    rgb = cv2.cvtColor(np.ascontiguousarray(lab, dtype=np.float32), cv2.COLOR_Lab2RGB)
    return np.clip(rgb, 0.0, 1.0, out=rgb)


def luminance(rgb: np.ndarray) -> np.ndarray:
    """H×W×3 (or H×W grey) float in [0, 1] → H×W float32 L in [0, 100]."""
    if rgb.ndim == 2:
        rgb = np.repeat(rgb[..., None], 3, axis=2)
    return rgb_to_lab(rgb)[..., 0]


def merge(L: np.ndarray, ab: np.ndarray, saturation: float = 1.0) -> np.ndarray:
    """Full-resolution luminance (H×W, [0, 100]) + chroma (H×W×2) → float32 RGB in [0, 1].

    ``saturation`` scales the chroma (0 gives grey, 1 leaves it as predicted).
    """
    lab = np.empty(L.shape + (3,), np.float32)
    lab[..., 0] = L
    lab[..., 1:] = ab * np.float32(saturation)
    return lab_to_rgb(lab)
