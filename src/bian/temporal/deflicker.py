"""Deflicker: bring each frame's brightness, and its smooth variation across the frame, to the level
of its temporal neighbourhood, without flattening real lighting changes.

Per frame, two measurements of luma are taken (on a thumbnail, so the cost does not grow with the
frame size): the log of the mean brightness, and a coarse grid of log cell brightness relative to that
mean (the "tone" of the frame). Within the window the current frame's run is cut at scene cuts and at
lasting brightness steps (a lamp switched on, a door opened: a jump that holds, unlike flicker, which
comes and goes from frame to frame). The target brightness is the run's level at the current frame
(:func:`bian.temporal.trend.level_at`: the mean, or a line where the run fades); the target
tone is the median grid over the run. The correction is a gain: global, times a smooth field fitted
robustly to the tone difference so that a moving object does not bend it.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .trend import level_at

GRID = (8, 6)
"""Tone grid, cells across × down."""
MAX_GAIN = 2.0
"""Largest correction either way; beyond it a frame is damaged or nearly black, not flickering."""
STEP_T = 6.0
"""A brightness step is real when it stands this many standard errors above the flicker."""
FLICKER_FLOOR = 0.004
"""Smallest flicker (log units) assumed, so that steady footage does not see steps in its own noise."""
@dataclass(frozen=True)
class FrameLight:
    level: float
    """log mean luma."""
    tone: np.ndarray
    """GRID[1]×GRID[0] log cell luma minus ``level``."""


def measure(y: np.ndarray) -> FrameLight:
    """Brightness measurements of one frame's luma (float32 H×W in [0, 1]; a thumbnail is enough)."""
    cells = cv2.resize(y, GRID, interpolation=cv2.INTER_AREA)
    level = float(np.log(y.mean() + 1 / 255))
    return FrameLight(level, np.log(cells + 1 / 255) - level)


def run_of(levels, center: int) -> tuple[int, int]:
    """``(start, stop)``: the part of ``levels`` (log brightness of one shot) around ``center`` with no
    lasting step, found by repeatedly splitting at the strongest step while it is significant."""
    levels = np.asarray(levels, np.float64)
    start, stop = 0, len(levels)
    while stop - start >= 4:
        seg = levels[start:stop]
        flicker = max(FLICKER_FLOOR, _flicker(seg))
        n = len(seg)
        k = np.arange(1, n)
        csum = np.cumsum(seg)
        left = csum[:-1] / k
        right = (csum[-1] - csum[:-1]) / (n - k)
        t = np.abs(left - right) / (flicker * np.sqrt(1.0 / k + 1.0 / (n - k)))
        best = int(np.argmax(t))
        if t[best] < STEP_T:
            break
        split = start + best + 1
        start, stop = (split, stop) if center >= split else (start, split)
    return start, stop


def _flicker(levels: np.ndarray) -> float:
    """Robust frame-to-frame spread of ``levels``: median absolute difference of neighbours, which one
    step (or a slow trend) hardly moves, scaled to a standard deviation."""
    if len(levels) < 3:
        return 0.0
    return float(np.median(np.abs(np.diff(levels))) / 0.6745 / np.sqrt(2.0))


def correction(lights: list[FrameLight], center: int, start: int, stop: int, local: bool = True,
               strength: float = 1.0) -> tuple[float, np.ndarray | None]:
    """Log gain for the whole frame and, with ``local``, a smooth log-gain grid (GRID cells) that
    brings ``lights[center]`` to the target of its run ``lights[start:stop]``."""
    levels = np.array([l.level for l in lights[start:stop]])
    gain = strength * (float(level_at(levels, np.arange(len(levels)), center - start)) - lights[center].level)
    gain = float(np.clip(gain, -np.log(MAX_GAIN), np.log(MAX_GAIN)))
    if not local or stop - start < 3:
        return gain, None
    tones = np.stack([l.tone for l in lights[start:stop]])
    diff = np.median(tones, axis=0) - lights[center].tone
    return gain, strength * _smooth_fit(diff)


def _smooth_fit(diff: np.ndarray) -> np.ndarray:
    """A quadratic surface fitted to the grid ``diff`` by iteratively reweighted least squares (Tukey
    weights): flicker varies smoothly across a frame, a moving object changes a few cells only."""
    rows, cols = diff.shape
    yy, xx = np.mgrid[0:rows, 0:cols].astype(np.float64)
    xx, yy = xx / max(cols - 1, 1) - 0.5, yy / max(rows - 1, 1) - 0.5
    basis = np.stack([np.ones_like(xx), xx, yy, xx * xx, xx * yy, yy * yy], axis=-1).reshape(-1, 6)
    target = diff.reshape(-1).astype(np.float64)
    weights = np.ones_like(target)
    for _ in range(6):
        sw = np.sqrt(weights)
        coef = np.linalg.lstsq(basis * sw[:, None], target * sw, rcond=None)[0]
        resid = target - basis @ coef
        scale = 4.685 * max(np.median(np.abs(resid)) / 0.6745, 0.01)
        weights = np.clip(1 - (resid / scale) ** 2, 0, None) ** 2
    fit = (basis @ coef).reshape(rows, cols)
    return np.clip(fit, -np.log(MAX_GAIN), np.log(MAX_GAIN)).astype(np.float32)


def apply_gain(rgb: np.ndarray, gain: float, field: np.ndarray | None) -> np.ndarray:
    """``rgb`` (float32 H×W×3 in [0, 1]) times ``exp(gain + field)``, the grid ``field`` interpolated
    smoothly to full size. Returns float32 in [0, 1]."""
    h, w = rgb.shape[:2]
    if field is None:
        return np.clip(rgb * np.float32(np.exp(gain)), 0.0, 1.0)
    # Cell centres sit half a cell in from the edges; resizing the grid maps them exactly there.
    full = cv2.resize(field, (w, h), interpolation=cv2.INTER_CUBIC)
    return np.clip(rgb * np.exp(full + np.float32(gain))[..., None], 0.0, 1.0)
