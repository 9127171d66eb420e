"""Deflicker: bring each frame's brightness, and its smooth variation across the frame, to the level
of its temporal neighbourhood, without flattening real lighting changes.

Each frame is measured once, as a coarse grid of log cell brightness (on a thumbnail, so the cost does
not grow with the frame size). A neighbour's brightness relative to the current frame comes from the
cell-wise log ratios, fitted robustly as a line against the cells' tone and read at the current
frame's middle tone (:func:`relative_levels`): a person walking through a few cells does not count as
a lighting change (a plain frame mean would read it as flicker and correct it away), and a change of
contrast reads the same whichever cells are usable; black cells and cells with clipped highlights,
whose ratio says nothing about the gain, are left out.

What counts as real light is decided by how long it lasts and how sharply it starts. The levels in
view are split at a brightness step only where two levels that each last :data:`HOLD` seconds meet
with a clear jump (:func:`light_steps`): a lamp switched on, a door opened. Everything else is averaged
over the view (:func:`lasting_level`), each neighbour counting by how well its cells agree on one gain
(:data:`AGREE`: a pan shows other picture), following a fade or exposure settling as a straight trend:
the film's own breathing (a brightness change for a few frames that then returns) and flicker are
evened out alike, so the result does not depend on how much other flicker there is.
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

from .trend import TREND_T

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
"""A brightness step is a candidate when it stands this many standard errors above the flicker."""
FLICKER_FLOOR = 0.004
"""Smallest flicker (log units) assumed, so that steady footage does not see steps in its own noise."""
STEP_FLOOR = 0.006
"""Smallest spread assumed when telling a step from the local trends (a few frames each side): on clean
footage a trend's bend (a fade starting) would otherwise count as a jump of a hundredth."""
DARK = 0.03
"""Cells darker than this (mean luma) say nothing about a gain: black borders, night sky."""
WHITE = 0.96
"""Pixels at least this bright may be clipped: a gain cannot be read from them."""
AGREE = 0.06
"""Spread (log) of a neighbour's cell ratios around its fitted level at which it counts half in the
average. Flicker is one gain for every cell (spread near 0 on still content); where the camera pans or
zooms the cells see other picture, their ratios scatter and the level read from them is a guess: such
neighbours are trusted less, so a fast pan is not taken for a change of light and evened out."""
TYPICAL_FLICKER = 0.1
"""Spread (linear brightness, relative) a slope is judged against at least. On clean footage a slight
drift stands out from nothing and would be followed, while the same drift under typical film flicker
(±10 to ±15 %) would be averaged: reading it against at least that much keeps the decision, and so the
output, the same whether or not the film flickers. The cost: the first and last frames of a clean fade
are eased by about 5 %."""
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


def relative_levels(cells: list[Cells], center: int) -> tuple[np.ndarray, np.ndarray]:
    """Log brightness of every frame relative to ``cells[center]``, at the middle tone of that frame, and
    how far the cells disagree with it (robust spread of their log ratios around the fit).

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
    out, spread = np.empty(len(cells)), np.zeros(len(cells))
    for j, c in enumerate(cells):
        use = ref.usable & c.usable
        x, ratio = ref.log_mean[use], (c.log_mean - ref.log_mean)[use]
        if use.sum() >= 8 and np.ptp(x) > TONE_SPAN:
            out[j], spread[j] = _robust_line(x - middle, ratio)
        elif use.sum() >= 4:
            out[j] = np.median(ratio)
            spread[j] = np.median(np.abs(ratio - out[j])) / 0.6745
        else:
            out[j] = np.log(np.exp(c.log_mean).mean() / np.exp(ref.log_mean).mean())
    return out, spread


def _robust_line(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Intercept at ``x = 0`` of a line fitted to ``y`` by iteratively reweighted least squares
    (Tukey weights): a cell where something moved is an outlier, not a change of tone. Also the robust
    spread of ``y`` around the line."""
    design = np.stack([np.ones_like(x), x], axis=1)
    weights = np.ones_like(x)
    for _ in range(6):
        sw = np.sqrt(weights)
        coef = np.linalg.lstsq(design * sw[:, None], y * sw, rcond=None)[0]
        resid = y - design @ coef
        scale = 4.685 * max(np.median(np.abs(resid)) / 0.6745, 0.005)
        weights = np.clip(1 - (resid / scale) ** 2, 0, None) ** 2
    return float(coef[0]), float(np.median(np.abs(resid)) / 0.6745)


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


def light_steps(levels, hold: int) -> list[int]:
    """Positions (ascending) where the light of ``levels`` (log brightness of one shot, or of the part of
    it in view) changes for good: a step of :func:`steps_of` between two lasting levels that meet at
    it, standing :data:`~bian.temporal.trend.TREND_T` standard errors above the spread around the two
    sides' straight trends (:func:`_jump_t`).

    A level lasts when it is seen for ``hold`` frames, or for half of that (rounded down) where it runs to
    the end of ``levels``: what lies beyond is out of view, or not there (a cut, the end of the file), so a
    change in the last half hold before an end counts as flicker, the same whether or not other flicker
    hides it. A short run that goes out and comes back (breathing: its two neighbours nearer each other
    than to it) joins them into one level, shortest first. Levels that change through several short runs
    are a ramp (a fade, exposure settling), not a step: the trend of :func:`lasting_level` follows them.
    Where a run's other side is out of view, it cannot be seen to come back, so a level entered within
    a hold after breathing that began before the view is not seen to last yet."""
    levels = np.asarray(levels, np.float64)
    n = len(levels)
    # A split where the local trends meet (a drift while the camera moves, a ramp's stairs) is no step.
    local = max(5, hold // 4)
    bounds = [0] + [b for b in steps_of(levels) if _jump_t(levels, b, local, STEP_FLOOR) >= TREND_T] + [n]
    runs = list(zip(bounds[:-1], bounds[1:]))

    def short(run):
        a, b = run
        return b - a < hold and not ((a == 0 or b == n) and b - a >= max(2, hold // 2))

    def excursion(k):
        before, here, after = (float(np.median(levels[a:b])) for a, b in runs[k - 1:k + 2])
        return short(runs[k]) and abs(before - after) < min(abs(here - before), abs(here - after))

    while True:
        out_and_back = [k for k in range(1, len(runs) - 1) if excursion(k)]
        if not out_and_back:
            break
        k = min(out_and_back, key=lambda k: runs[k][1] - runs[k][0])
        runs[k - 1:k + 2] = [(runs[k - 1][0], runs[k + 1][1])]
    lasting = [not short(run) for run in runs]
    return [b for (_, b), first, second in zip(runs, lasting, lasting[1:]) if first and second]


def _jump_t(levels: np.ndarray, at: int, hold: int, floor: float = FLICKER_FLOOR) -> float:
    """How many standard errors the levels jump at ``at``: the straight trends of the ``hold`` frames on
    each side (the mean where a side has fewer than 5), extrapolated to the boundary, against the spread
    around them (at least ``floor``). A ramp's two trends meet; a lamp switched on leaves a gap."""
    ends, variances, squares, dof = [], [], 0.0, 0
    for side in (np.arange(max(0, at - hold), at), np.arange(at, min(len(levels), at + hold))):
        x, y = side - (at - 0.5), levels[side]
        degree = 1 if len(x) >= 5 else 0
        coef = np.polyfit(x, y, degree)
        squares += float(((y - np.polyval(coef, x)) ** 2).sum())
        dof += len(x) - degree - 1
        ends.append(coef[-1])
        variances.append(1 / len(x) + (x.mean() ** 2 / ((x - x.mean()) ** 2).sum() if degree else 0.0))
    spread = max(np.sqrt(squares / max(dof, 1)), floor)
    return float(abs(ends[1] - ends[0]) / (spread * np.sqrt(sum(variances))))


def lasting_level(levels, center: int, hold: int, spread=None) -> tuple[float, int, int]:
    """The lasting light at ``levels[center]`` (log brightness relative to that frame, one per frame of
    the view), and the span ``(start, stop)`` of the view that shares it (between :func:`light_steps`).
    ``spread`` (from :func:`relative_levels`): how far each frame's cells disagree with its level; a
    frame counts 1 / (1 + (spread / :data:`AGREE`)²), so frames the camera has moved far from say little.

    Over that span the relative brightness (exp of the levels: a fade and a gain flicker are linear in
    it) is averaged with weights that are flat in the middle of the view and fall off over its outer
    half hold, where a change may not yet be seen to last; where the span slopes (a fade), the weighted
    straight line is read at the frame instead, in proportion t² / (t² + TREND_T²) to how clearly its
    slope stands out (t standard errors) from the spread around it, or from :data:`TYPICAL_FLICKER` where
    that is more: a hard switch between mean and line would flip with the flicker, and so would a slope
    judged against the spread of a clean clip. Everything here is a weighted average but the steps, so the film's own breathing (changes
    that come back within the hold) is evened out alike whether or not other flicker hides it."""
    levels = np.asarray(levels, np.float64)
    n = len(levels)
    steps = light_steps(levels, hold)
    start = max([s for s in steps if s <= center], default=0)
    stop = min([s for s in steps if s > center], default=n)
    x = np.arange(start, stop, dtype=np.float64) - center
    y = np.exp(levels[start:stop])
    reach = max(center, n - 1 - center)
    w = np.clip((reach + 1 - np.abs(x)) / (hold / 2 + 1), 0.0, 1.0)
    if spread is not None:
        w = w / (1 + (np.asarray(spread[start:stop]) / AGREE) ** 2)
    mean = float((w * y).sum() / w.sum())
    if len(x) < 5:
        return float(np.log(mean)), start, stop
    design = np.stack([np.ones_like(x), x], axis=1) * np.sqrt(w)[:, None]
    coef = np.linalg.lstsq(design, y * np.sqrt(w), rcond=None)[0]
    spread = max(np.sqrt((w * (y - coef[0] - coef[1] * x) ** 2).sum() / max(w.sum() - 2, 1)), TYPICAL_FLICKER)
    centre = (w * x).sum() / w.sum()
    t = abs(coef[1]) * np.sqrt((w * (x - centre) ** 2).sum()) / spread
    line = t * t / (t * t + TREND_T ** 2)
    return float(np.log(max(mean + line * (coef[0] - mean), 1e-6))), start, stop


def _flicker(levels: np.ndarray) -> float:
    """Robust frame-to-frame spread of ``levels``: median absolute difference of neighbours, which one
    step (or a slow trend) hardly moves, scaled to a standard deviation."""
    if len(levels) < 3:
        return 0.0
    return float(np.median(np.abs(np.diff(levels))) / 0.6745 / np.sqrt(2.0))


def correction(cells: list[Cells], levels: np.ndarray, center: int, target: float, local: bool = True,
               strength: float = 1.0) -> tuple[float, np.ndarray | None]:
    """Log gain for the whole frame and, with ``local``, a smooth log-gain grid (GRID cells) that bring
    ``cells[center]`` to ``target`` (its lasting light, :func:`lasting_level`): ``cells`` and ``levels``
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
