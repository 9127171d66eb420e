"""Scene-cut detection shared by every temporal stage (deflicker, interpolation, colour, faces).

A cut is judged from two consecutive frames only, so any stage can decide it inside its window and
the answer is the same wherever the frames are processed. Brightness flicker is removed first (each
frame's luminance is normalised to zero mean, unit spread), so a flickering shot is not cut apart.
"""
from __future__ import annotations

import cv2
import numpy as np

_SIZE = 64


def _signature(rgb: np.ndarray) -> np.ndarray:
    """A small, flicker-normalised luminance thumbnail."""
    grey = rgb.mean(axis=2) if rgb.ndim == 3 else rgb
    small = cv2.resize(grey.astype(np.float32), (_SIZE, _SIZE), interpolation=cv2.INTER_AREA)
    return (small - small.mean()) / (small.std() + 1e-3)


def cut_score(prev_rgb: np.ndarray, cur_rgb: np.ndarray) -> float:
    """1 − correlation of the normalised thumbnails: ~0 within a shot, ~1 across unrelated shots."""
    a, b = _signature(prev_rgb), _signature(cur_rgb)
    return float(1.0 - (a * b).mean())


def is_cut(prev_rgb: np.ndarray, cur_rgb: np.ndarray, threshold: float = 0.5) -> bool:
    """True when ``cur_rgb`` starts a new shot. Inputs: float RGB (H×W×3) in [0, 1]."""
    return cut_score(prev_rgb, cur_rgb) > threshold
