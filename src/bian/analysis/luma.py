"""Luma of RGB pictures (Rec. 601 weights): the one definition the analyses share."""
from __future__ import annotations

import numpy as np

WEIGHTS = np.array([0.299, 0.587, 0.114], np.float32)


def luma_of(rgb: np.ndarray) -> np.ndarray:
    """float RGB H×W×3 in [0, 1] (or H×W grey, returned as is) → float32 H×W."""
    if rgb.ndim == 2:
        return rgb.astype(np.float32, copy=False)
    return (rgb @ WEIGHTS).astype(np.float32, copy=False)
