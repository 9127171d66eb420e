"""Deflicker: bring each frame's brightness, and its smooth variation across the frame, to the level
of its temporal neighbourhood, without flattening real lighting changes.

Each frame is measured once, as a coarse grid of log cell brightness (on a thumbnail, so the cost does
not grow with the frame size). A neighbour's brightness relative to the current frame comes from the
cell-wise log ratios, fitted robustly as a line against the cells' tone and read at the current
frame's middle tone (:func:`relative_levels`): a person walking through a few cells does not count as
a lighting change (a plain frame mean would read it as flicker and correct it away), and a change of
contrast reads the same whichever cells are usable; black cells and cells with clipped highlights,
whose ratio says nothing about the gain, are left out.

What counts as real light is decided by how long it lasts. The levels of the shot are split at every
brightness step that stands above the flicker, and each run gets its slow part (:func:`trend`): the
mean, or a line where the run fades, or, where the exposure bends (settles after a cut, starts to
drift), a piecewise-straight trend through the levels (ℓ1 trend filtering, Kim et al. 2009) whose
penalty is set from the measured flicker so that flicker alone almost never bends it. Then every
excursion of the runs' levels that comes back within :data:`HOLD` seconds is removed, shortest first
(grey opening and closing with flat elements up to that length, Bangham's sieve), and each run's own
shape (a fade, settling) is added back: a lamp switched on, a door opened stays; the film's own
breathing, a brightness change for a few frames that then returns, goes, whether or not other flicker
hides it (:func:`lasting_light`).
The target is that lasting light at the current frame. For the tone across the frame, each cell's
median over the frames of the same lasting light (neighbours brought to the current level first) is
compared with the current frame and a smooth surface is fitted robustly to the difference, kept in
proportion to how much of it the surface explains. The correction is a gain: global, times that
smooth field.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from scipy import ndimage

from .trend import level_at

HOLD = 1.0
"""Shortest lighting change kept, in seconds: a brightness change is real light only when its new level
lasts this long; one that comes back sooner is flicker. Lighting changes in a scene (a lamp, a door, a
cloud, a camera turning to the window, exposure settling after a cut) hold for seconds, while film's
own flicker and breathing (uneven exposure, shutter and printing density frame to frame, processing
that varies along the strip) comes and goes within a fraction of a second; a second also keeps the
rule above the period the eye reads as flicker rather than as a change of light. Set in seconds, not
frames, so that it means the same at 16, 24 or 60 frames per second."""
GRID = (8, 6)
"""Tone grid, cells across × down."""
MAX_GAIN = 2.0
"""Largest correction either way; beyond it a frame is damaged or nearly black, not flickering."""
STEP_T = 6.0
"""A brightness step is real when it stands this many standard errors above the flicker."""
FLICKER_FLOOR = 0.004
"""Smallest flicker (log units) assumed, so that steady footage does not see steps in its own noise."""
BEND = 0.15
"""ℓ1 trend penalty per unit of flicker σ and per n^1.5 frames: white noise of that σ gets a straight
line in 95 % of windows (measured by simulation for 11 to 41 frames; the bend a noise series can force
grows as n^1.5)."""
DARK = 0.03
"""Cells darker than this (mean luma) say nothing about a gain: black borders, night sky."""
WHITE = 0.96
"""Pixels at least this bright may be clipped: a gain cannot be read from them."""
TONE_SPAN = 0.2
"""Least range of cell log brightness over which a change of contrast is fitted beside the gain."""


@dataclass(frozen=True)
class Cells:
    """Coarse measurements of one frame: GRID[1]×GRID[0] cells."""
    log_mean: np.ndarray
    """log of each cell's mean luma."""
    usable: np.ndarray
    """bool: neither dark nor touching white (a clipped highlight hides the true gain)."""


def measure(y: np.ndarray) -> Cells:
    """Cell measurements of one frame's luma (float32 H×W in [0, 1]; a thumbnail is enough)."""
    mean = cv2.resize(y, GRID, interpolation=cv2.INTER_AREA).astype(np.float64)
    white = cv2.resize((y >= WHITE).astype(np.float32), GRID, interpolation=cv2.INTER_AREA)
    return Cells(np.log(mean + 1 / 255), (mean > DARK) & (white < 0.01))


def relative_levels(cells: list[Cells], center: int) -> np.ndarray:
    """Log brightness of every frame relative to ``cells[center]``, at the middle tone of that frame.

    Over the cells usable in both frames, the cell-wise log ratio is fitted robustly as a line in the
    reference cell's log brightness (a gain and a change of contrast: flicker is a pure gain, but
    exposure and development drift change dark and light tones by different amounts), and the line is
    read at the reference frame's median cell level (dark cells left out). A plain median of the ratios
    would depend on which cells are usable: a frame whose highlights clip loses its bright cells and
    would read the dark tones' change. Where the cells span too narrow a range for a slope, the median ratio is used (the
    log ratio of the means where fewer than four cells are usable)."""
    ref = cells[center]
    # Clipped cells count here: dropping them would move the middle tone with the frame's own flicker.
    lit = ref.log_mean > np.log(DARK + 1 / 255)
    middle = float(np.median(ref.log_mean[lit])) if lit.any() else 0.0
    out = np.empty(len(cells))
    for j, c in enumerate(cells):
        use = ref.usable & c.usable
        x, ratio = ref.log_mean[use], (c.log_mean - ref.log_mean)[use]
        if use.sum() >= 8 and np.ptp(x) > TONE_SPAN:
            out[j] = _robust_line(x - middle, ratio)
        elif use.sum() >= 4:
            out[j] = np.median(ratio)
        else:
            out[j] = np.log(np.exp(c.log_mean).mean() / np.exp(ref.log_mean).mean())
    return out


def _robust_line(x: np.ndarray, y: np.ndarray) -> float:
    """Intercept at ``x = 0`` of a line fitted to ``y`` by iteratively reweighted least squares
    (Tukey weights): a cell where something moved is an outlier, not a change of tone."""
    design = np.stack([np.ones_like(x), x], axis=1)
    weights = np.ones_like(x)
    for _ in range(6):
        sw = np.sqrt(weights)
        coef = np.linalg.lstsq(design * sw[:, None], y * sw, rcond=None)[0]
        resid = y - design @ coef
        scale = 4.685 * max(np.median(np.abs(resid)) / 0.6745, 0.005)
        weights = np.clip(1 - (resid / scale) ** 2, 0, None) ** 2
    return float(coef[0])


def steps_of(levels) -> list[int]:
    """Positions (ascending) where ``levels`` (log brightness of one shot) step, found by splitting at the
    strongest step while it stands significantly above the flicker, in every part."""
    levels = np.asarray(levels, np.float64)
    found, parts = [], [(0, len(levels))]
    while parts:
        start, stop = parts.pop()
        if stop - start < 4:
            continue
        seg = levels[start:stop]
        flicker = max(FLICKER_FLOOR, _flicker(seg))
        n = len(seg)
        k = np.arange(1, n)
        csum = np.cumsum(seg)
        left = csum[:-1] / k
        right = (csum[-1] - csum[:-1]) / (n - k)
        t = np.abs(left - right) / (flicker * np.sqrt(1.0 / k + 1.0 / (n - k)))
        best = int(np.argmax(t))
        if t[best] >= STEP_T:
            split = start + best + 1
            found.append(split)
            parts += [(start, split), (split, stop)]
    return sorted(found)


def lasting_light(levels, hold: int, open_ends: tuple[bool, bool] = (False, False)
                  ) -> tuple[np.ndarray, list[int]]:
    """The real light at every frame of ``levels`` (log brightness of one shot, or of the part of it in
    view), and the steps of it that last.

    Each run between the steps of :func:`steps_of` gets its slow part (:func:`trend`); then every
    excursion of the runs' levels narrower than ``hold`` frames is removed by grey opening and closing
    with flat elements of 2, 3, … ``hold`` frames in turn, shortest first (both orders of opening and
    closing averaged, so that brightening and darkening are treated alike), and each run's own shape,
    sieved the same way within the run, is added back (a fade running into an opposite step is no
    excursion). A step between
    two levels that each last ``hold`` frames, a fade and a monotone settling pass unchanged. At a
    closed end of ``levels`` (a cut, the start or end of the file) the last level is taken to last, so
    exposure settling after a cut and a fade to the end are kept. At an open end (``open_ends``: the
    view stops but the shot goes on), the level in view there is taken to last twice as long as it is
    seen (its visible part is on average half of it), and the level that lasts longest in view to
    follow: a breathing excursion half out of view must not pass for a lasting level. Returns the
    light (log units, one per frame) and the steps that survive (those the light still jumps at)."""
    levels = np.asarray(levels, np.float64)
    steps = steps_of(levels)
    bounds = [0] + steps + [len(levels)]
    fast = np.concatenate([trend(levels[a:b]) for a, b in zip(bounds[:-1], bounds[1:])])
    if hold < 2:
        return fast, steps
    # Extend the ends once, by as much as the passes reach (padding each pass separately would cut a
    # fade at the ends).
    pad = 2 * hold
    # The sieve judges the runs' levels; each run's own shape (a fade, settling) is added back after,
    # so that a fade running into an opposite step is not taken for an excursion.
    level = np.concatenate([np.full(b - a, fast[a:b].mean()) for a, b in zip(bounds[:-1], bounds[1:])])
    shape, fast = fast - level, level
    longest = int(np.argmax(np.diff(bounds)))
    steady = float(np.median(fast[bounds[longest]:bounds[longest + 1]]))
    wide = np.concatenate([_beyond(fast[::-1], bounds[1], pad, open_ends[0], steady)[::-1], fast,
                           _beyond(fast, len(fast) - bounds[-2], pad, open_ends[1], steady)])

    def sieve(x):
        # Shortest excursions first (an alternating sequential filter, Bangham's sieve): a short
        # excursion next to a step is removed before the step's sides are judged, whatever their order.
        # Both orders of opening and closing, averaged: brightening and darkening are treated alike.
        out = []
        for first, then in ((ndimage.grey_opening, ndimage.grey_closing),
                            (ndimage.grey_closing, ndimage.grey_opening)):
            y = x
            for size in range(2, hold + 1):
                y = then(first(y, size), size)
            out.append(y)
        return 0.5 * (out[0] + out[1])[pad:-pad]
    light = sieve(wide)
    kept = [s for s in steps if abs(light[s] - light[s - 1]) > 0.5 * abs(level[s] - level[s - 1])]
    # A run's own shape is sieved too, within the run (its ends held): a fade or settling is monotone
    # and stays, a hump the ℓ1 trend followed for less than the hold goes.
    for a, b in zip(bounds[:-1], bounds[1:]):
        shape[a:b] = sieve(np.pad(shape[a:b], pad, mode="edge"))
    return light + shape, kept


def _flicker(levels: np.ndarray) -> float:
    """Robust frame-to-frame spread of ``levels``: median absolute difference of neighbours, which one
    step (or a slow trend) hardly moves, scaled to a standard deviation."""
    if len(levels) < 3:
        return 0.0
    return float(np.median(np.abs(np.diff(levels))) / 0.6745 / np.sqrt(2.0))


def _beyond(fast: np.ndarray, run: int, count: int, open_end: bool, steady: float) -> np.ndarray:
    """``count`` values past the end of ``fast``, a piecewise trend whose last run is ``run`` frames
    long: its last value again (a closed end), or at an open end that value for ``run`` more frames and
    then ``steady`` (what lies beyond is not known)."""
    if not open_end:
        return np.full(count, fast[-1])
    return np.concatenate([np.full(min(run, count), fast[-1]), np.full(max(count - run, 0), steady)])


def trend(levels) -> np.ndarray:
    """The slow part of ``levels`` (log brightness of one run, no step inside) at every frame: the mean
    or a line (:func:`bian.temporal.trend.level_at`), or a piecewise-straight ℓ1 trend where the levels
    bend by more than their flicker explains."""
    levels = np.asarray(levels, np.float64)
    n = len(levels)
    if n >= 7:
        penalty = BEND * max(FLICKER_FLOOR, _flicker(levels)) * n ** 1.5
        second = _second_difference(n)
        # The smallest penalty at which the ℓ1 trend is a straight line (its dual bound).
        if penalty < np.abs(np.linalg.solve(second @ second.T, second @ levels)).max():
            return _l1_trend(levels, penalty, second)
    if n < 5:  # too short to tell a slope from flicker; only a steep clean fade is cut this short
        return np.polyval(np.polyfit(np.arange(n), levels, 1), np.arange(n)) if n > 1 else levels.copy()
    # The mean, or a line: either way straight, so its two ends give every frame.
    first, last = (float(level_at(levels, np.arange(n), at)) for at in (0, n - 1))
    return np.linspace(first, last, n)


def _second_difference(n: int) -> np.ndarray:
    rows = np.arange(n - 2)
    out = np.zeros((n - 2, n))
    out[rows, rows], out[rows, rows + 1], out[rows, rows + 2] = 1.0, -2.0, 1.0
    return out


def _l1_trend(levels: np.ndarray, penalty: float, second: np.ndarray, sweeps: int = 30) -> np.ndarray:
    """argmin ½‖levels − x‖² + penalty·‖second·x‖₁ by iteratively reweighted least squares (a few
    dozen frames: small dense solves)."""
    x = levels.copy()
    eye = np.eye(len(levels))
    for _ in range(sweeps):
        weight = 1.0 / (np.abs(second @ x) + 1e-4)
        x = np.linalg.solve(eye + penalty * second.T @ (weight[:, None] * second), levels)
    return x


def correction(cells: list[Cells], levels: np.ndarray, center: int, target: float, local: bool = True,
               strength: float = 1.0) -> tuple[float, np.ndarray | None]:
    """Log gain for the whole frame and, with ``local``, a smooth log-gain grid (GRID cells) that bring
    ``cells[center]`` to ``target`` (its lasting light, :func:`lasting_light`): ``cells`` and ``levels``
    (from :func:`relative_levels`) hold the frames of the same lasting light only."""
    gain = float(np.clip(strength * target, -np.log(MAX_GAIN), np.log(MAX_GAIN)))
    if not local or len(cells) < 3:
        return gain, None
    stack = np.stack([c.log_mean - d for c, d in zip(cells, levels)])
    use = np.logical_and.reduce([c.usable for c in cells])
    if use.sum() < 12:
        return gain, None
    diff = np.median(stack, axis=0) - cells[center].log_mean
    return gain, strength * _smooth_fit(diff, use)


def _smooth_fit(diff: np.ndarray, use: np.ndarray) -> np.ndarray:
    """A quadratic surface fitted to the grid ``diff`` over the cells ``use`` by iteratively reweighted
    least squares (Tukey weights): flicker varies smoothly across a frame, a moving object changes a
    few cells only. The surface is scaled by the share of the cells' spread it explains: where the
    differences are content (a camera shaking past edges) rather than smooth uneven light, a surface
    fitted to them is noise and is mostly dropped."""
    rows, cols = diff.shape
    yy, xx = np.mgrid[0:rows, 0:cols].astype(np.float64)
    xx, yy = xx / max(cols - 1, 1) - 0.5, yy / max(rows - 1, 1) - 0.5
    basis = np.stack([np.ones_like(xx), xx, yy, xx * xx, xx * yy, yy * yy], axis=-1).reshape(-1, 6)
    target = diff.reshape(-1).astype(np.float64)
    weights = use.reshape(-1).astype(np.float64)
    for _ in range(6):
        sw = np.sqrt(weights)
        coef = np.linalg.lstsq(basis * sw[:, None], target * sw, rcond=None)[0]
        resid = target - basis @ coef
        scale = 4.685 * max(np.median(np.abs(resid)) / 0.6745, 0.01)
        weights = np.clip(1 - (resid / scale) ** 2, 0, None) ** 2 * use.reshape(-1)
    fit = basis @ coef
    kept = use.reshape(-1)
    centre = np.median(target[kept])
    spread = np.sum((target[kept] - centre) ** 2)
    explained = 1.0 - np.sum((target[kept] - fit[kept]) ** 2) / spread if spread > 0 else 0.0
    fit = fit.reshape(rows, cols) * float(np.clip(explained, 0.0, 1.0))
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
