"""The part of a window that belongs to the current frame's shot.

Temporal filters must not average, match or smooth across a scene cut. The cut test looks at two
consecutive frames only (:mod:`bian.analysis.cuts`), so the answer depends on the window alone. It is
made on small strided thumbnails, so a wide window costs little per frame.
"""
from __future__ import annotations

import numpy as np

from ..analysis.cuts import is_cut
from ..frame import to_float

_SIDE = 128
"""Shorter side of the thumbnails, in pixels (about; they are strided, not resampled)."""


_THIRDS = np.full(3, 1 / 3, np.float32)


def thumbnail(image: np.ndarray) -> np.ndarray:
    """Luma (channel mean) of every n-th pixel of an image (H×W×3, any dtype of
    :class:`bian.frame.Frame`), the shorter side near ``_SIDE``: float32 H'×W' in [0, 1], enough for cut
    tests and brightness statistics."""
    step = max(1, min(image.shape[:2]) // _SIDE)
    return np.dot(to_float(image[::step, ::step]), _THIRDS)


def shot_span(thumbs: list[np.ndarray], center: int, cut=is_cut) -> tuple[int, int]:
    """``(start, stop)`` such that ``thumbs[start:stop]`` holds ``thumbs[center]`` and no scene cut.

    thumbs: consecutive pictures as :func:`thumbnail` makes them (float32 luma H×W in [0, 1]).
    cut: the cut test of two consecutive thumbnails; a stage passes its
    :class:`bian.temporal.framecache.PerPair` of :func:`bian.analysis.cuts.is_cut` so that the windows
    overlapping a pair test it once.
    """
    start = center
    while start > 0 and not cut(thumbs[start - 1], thumbs[start]):
        start -= 1
    stop = center + 1
    while stop < len(thumbs) and not cut(thumbs[stop - 1], thumbs[stop]):
        stop += 1
    return start, stop
