"""Held frames: a picture repeated by a transfer or a frame-rate conversion (16 → 24 fps by doubling,
3:2 pull-down, a freeze inserted by an editor).

A held copy differs from the frame before it by coding noise only, while real frames of the same
shot differ by motion, grain and flicker. No absolute level separates the two on every film (a clean
slow shot can change less than a noisy copy), so a pair is judged against its neighbours: it is held
when its difference is well below the typical difference of the pairs around it. In a shot where
nothing moves at all this may call a real frame held; replacing it by a picture interpolated
between its neighbours then changes nothing visible.
"""
from __future__ import annotations

import cv2
import numpy as np

from .luma import luma_of

_WIDTH = 128

NEIGHBOURS = 2
"""Pairs on each side a pair is compared with."""
RATIO = 0.35
"""Held when the difference is below this share of the neighbours' median."""
IDENTICAL = 0.1 / 255
"""Mean absolute difference below which two pictures are the same whatever the neighbours say."""
DIFFERENT = 0.6 / 255
"""Mean absolute difference above which two pictures are never the same. A thumbnail pixel averages
dozens of picture pixels, so the coding noise between a picture and its copy falls well below this;
half the motion of a fast shot (two frames that both differ from a dropped one between them) does not."""


def thumbnail(rgb: np.ndarray) -> np.ndarray:
    """float RGB H×W×3 (or grey H×W) in [0, 1] → float32 luma about 128 pixels wide."""
    grey = luma_of(rgb)
    h, w = grey.shape
    if w > _WIDTH:
        grey = cv2.resize(grey, (_WIDTH, max(1, round(h * _WIDTH / w))), interpolation=cv2.INTER_AREA)
    return grey


def difference(a: np.ndarray, b: np.ndarray) -> float:
    """Mean absolute difference of two thumbnails, in [0, 1]."""
    return float(np.abs(a - b).mean())


def held_pairs(diffs: list[float], cuts: list[bool]) -> list[bool]:
    """``held[j]``: the second picture of pair j repeats the first.

    diffs[j]: :func:`difference` of pair j (consecutive frames j, j + 1); cuts[j]: the pair spans a
    scene cut. Pairs across cuts are neither held nor used as neighbours.
    """
    held = []
    for j, d in enumerate(diffs):
        if cuts[j] or d > DIFFERENT:
            held.append(False)
            continue
        around = [diffs[k] for k in range(j - NEIGHBOURS, j + NEIGHBOURS + 1)
                  if k != j and 0 <= k < len(diffs) and not cuts[k]]
        held.append(d <= IDENTICAL or (bool(around) and d < RATIO * float(np.median(around))))
    return held
