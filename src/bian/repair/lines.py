"""Vertical line scratches on film: thin, straight, long, and often at the same place for many frames.

Because such a scratch sits at (nearly) the same place in the neighbouring frames too, comparing
frames cannot find it; its shape can (Kokaram 1996, Joyeux et al. 1999). A scratch is a narrow ridge
or valley across the image row that keeps its sign and strength down a long run of rows, which
picture content rarely does. Detection: a horizontal top-hat (what a 1×7 opening or closing
removes) isolates ridges narrower than 7 px; its mean down a tall window, compared with the columns
beside it, marks columns carrying a scratch; pixels of those columns whose own response is clear form
the mask. Rows where the scratch runs along a letter's stroke or an edge of its own polarity cannot
show it and do not count against it, but the picture must go on across the line in many rows: an
object's outline is no scratch.

Removal (:func:`remove_line_scratches`) subtracts the scratch's slowly varying shift and keeps the
picture's detail under it, rather than painting the column over from beside.

Luma in: float32 H×W in [0, 1].
"""
from __future__ import annotations

import warnings

import cv2
import numpy as np

from ..analysis.luma import luma_of

_WIDTH = 7
"""Scratches up to about 4 px wide pass through a 1×7 opening; wider structures are picture content."""
_ACROSS = 5
"""Distance (px) either side of a line at which the picture beside it is compared."""
_FLAT = 0.4
"""Largest 3×3 Sobel gradient (|x| + |y|, about a step of 0.1 between neighbouring pixels) for picture to
count as flat."""


def detect_line_scratches(luma: np.ndarray, sensitivity: float = 0.5, min_length: float = 0.6) -> np.ndarray:
    """Bool H×W mask of vertical line scratches in one frame.

    ``min_length``: the shortest scratch, as a fraction of the frame height (shorter ridges are
    content: poles, edges of doors). ``sensitivity`` in [0, 1]: higher finds fainter scratches.
    """
    h, w = luma.shape
    kernel = np.ones((1, _WIDTH), np.uint8)
    found = np.zeros((h, w), bool)
    run = max(8, int(min_length * h))
    scale = 1.5 - sensitivity  # 0.5 → 1.0
    # Mean step across each column (8 px apart), down the run: the halo beside a long edge (a frame
    # border, a door post) is a ridge too, but it lies next to a step much larger than itself.
    # (The frame's edge repeated outwards, so that the columns near the sides have a step too; the mean
    # down the run over the rows that exist, like the ridge's own mean below.)
    padded = cv2.copyMakeBorder(luma, 0, 0, 4, 4, cv2.BORDER_REPLICATE)
    step = np.abs(padded[:, 8:] - padded[:, :-8])
    step = cv2.dilate(cv2.blur(step, (1, run), borderType=cv2.BORDER_REFLECT), np.ones((1, 9), np.uint8))
    # The picture's difference across the line, clear of a scratch's shoulders.
    far = cv2.copyMakeBorder(luma, 0, 0, _ACROSS, _ACROSS, cv2.BORDER_REPLICATE)
    jump = np.abs(far[:, 2 * _ACROSS:] - far[:, :-2 * _ACROSS])
    opened = cv2.morphologyEx(luma, cv2.MORPH_OPEN, kernel)
    closed = cv2.morphologyEx(luma, cv2.MORPH_CLOSE, kernel)
    # Brighter (darker) than the brighter (darker) of the pixels 4 px to either side.
    left = np.pad(luma, ((0, 0), (4, 0)), mode="edge")[:, :-4]
    right = np.pad(luma, ((0, 0), (0, 4)), mode="edge")[:, 4:]
    for response, side, shows in ((luma - opened, luma - np.minimum(left, right), opened < 0.85),
                                  (closed - luma, np.maximum(left, right) - luma, closed > 0.15)):
        noise = 1.4826 * float(np.median(np.abs(response - np.median(response))))
        pixel = scale * max(3.0 * noise, 0.03)
        # A bright scratch cannot show on white nor a dark one on black; nor where it runs along a
        # structure of its own polarity (the stroke of a letter it crosses): it then stands out on one
        # side only. Such rows are no evidence against it.
        hidden = (response <= pixel) & (side > pixel)
        shows = (shows & ~hidden).astype(np.float32)
        support = cv2.blur(shows, (1, run), borderType=cv2.BORDER_CONSTANT)
        seen = np.maximum(support, 1e-3)
        # Mean response down a window of ``run`` rows, minus the same for the columns beside it
        # (texture lifts all columns alike; a scratch lifts one).
        column = cv2.blur(response * shows, (1, run), borderType=cv2.BORDER_CONSTANT) / seen
        beside = cv2.blur(column, (15, 1), borderType=cv2.BORDER_REFLECT)
        strong = (column - beside) > 0.6 * pixel
        # Most rows of the window that could show it must carry the ridge, not a few very strong ones.
        hits = cv2.blur(((response > pixel) * shows).astype(np.float32), (1, run), borderType=cv2.BORDER_CONSTANT)
        steady = (hits / seen > 0.85) & (support > 0.8)
        # A scratch lies across the picture, which goes on unchanged on both sides of it in many rows;
        # an object's outline (a wall's corner, a door post) has different picture on its two sides.
        across = cv2.blur((jump < 0.5 * column).astype(np.float32), (1, run), borderType=cv2.BORDER_REFLECT)
        line = strong & steady & (across > 0.4) & (column > 0.5 * step)
        # Within half a kernel of the picture's side a ridge has one side only: the gate's border.
        line[:, :_WIDTH // 2 + 1] = line[:, -(_WIDTH // 2 + 1):] = False
        # A window centred on a detected run covers ``run`` rows: spread the decision over all of them.
        line = cv2.dilate(line.astype(np.uint8), np.ones((run, 1), np.uint8)).astype(bool)
        found |= line & ((response > 0.5 * pixel) | (hidden & (side > 0.5 * pixel)))
    # Scratches are soft-edged: include the 1 px shoulders, where the damage is faint but real.
    return cv2.dilate(found.astype(np.uint8), np.ones((1, 3), np.uint8)).astype(bool)


def moving_with_picture(mask: np.ndarray, luma: np.ndarray, neighbours: list[np.ndarray], flows: list[np.ndarray],
                        least: float = 1.0) -> np.ndarray:
    """Bool H×W: the lines of ``mask`` (bool H×W, from :func:`detect_line_scratches`) that are picture.

    A scratch is cut into the film and stays where it is in the frame (drifting slowly) while the
    picture moves under it; a column, a pole or a door post moves with the picture around it. For each
    line and each neighbour (luma H×W, not motion-compensated; ``flows[k]`` maps the current frame into
    it, :func:`bian.repair.motion.flow`) the picture's sideways motion beside the line is read from the
    flow; where it is at least ``least`` px, the neighbour's ridge (mean down the line's rows) is
    compared at the line's place and where the picture went: the line went with the picture or stayed
    when one stands out from the other by over a third of the line's ridge. A line that went with the
    picture in some neighbour and stayed in none is picture. Where the picture stood still there is no
    telling, and the line keeps its verdict from the frame alone.
    """
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    picture = np.zeros(count, bool)
    h, w = luma.shape
    for i in range(1, count):
        x, y, bw, bh = stats[i, :4]
        rows = slice(y, y + bh)
        beside = [np.concatenate([f[rows, max(0, x - 10):max(0, x - 3), 0].ravel(),
                                  f[rows, min(w, x + bw + 3):min(w, x + bw + 10), 0].ravel()]) for f in flows]
        moved = [float(np.median(b)) if b.size else 0.0 for b in beside]
        reach = int(max(abs(m) for m in moved)) + 2
        x0, x1 = max(0, x - reach - _WIDTH), min(w, x + bw + reach + _WIDTH)
        ridges = _ridge_profile(luma[rows, x0:x1])
        polarity = int(ridges[1][x - x0:x - x0 + bw].max() > ridges[0][x - x0:x - x0 + bw].max())
        ridge = ridges[polarity]
        place = x - x0 + int(np.argmax(ridge[x - x0:x - x0 + bw]))
        grid = np.arange(len(ridge), dtype=np.float64)
        went = stayed = 0
        for n, m in zip(neighbours, moved):
            if abs(m) < least:
                continue
            profile = _ridge_profile(n[rows, x0:x1])[polarity]
            here, there = np.interp([place, place + m], grid, profile)
            went += there - here > ridge[place] / 3
            stayed += here - there > ridge[place] / 3
        picture[i] = went > 0 and stayed == 0
    return picture[labels]


def _ridge_profile(strip: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean down ``strip`` (rows × columns) of its bright and dark ridges narrower than the kernel."""
    kernel = np.ones((1, _WIDTH), np.uint8)
    bright = strip - cv2.morphologyEx(strip, cv2.MORPH_OPEN, kernel)
    dark = cv2.morphologyEx(strip, cv2.MORPH_CLOSE, kernel) - strip
    return bright.mean(axis=0), dark.mean(axis=0)


def remove_line_scratches(image: np.ndarray, mask: np.ndarray, fill: np.ndarray, window: int = 31) -> np.ndarray:
    """``image`` (float32 H×W×C in [0, 1]) with the line scratches under ``mask`` (bool H×W) taken off.

    A scratch shifts the picture under it by an amount that varies slowly down its length, and the
    picture's own detail survives beneath (Kokaram 1996 models it as additive). So the shift is
    estimated per column as the running median of the image minus a spatial ``fill`` (float32 H×W×C,
    the picture guessed from beside the scratch: wrong where the scratch crosses an edge, right on flat
    picture) over the flat rows of the mask within ``window // 2`` rows (``window`` or twice that where
    there are none), and subtracted, keeping the detail under it.
    Where the damaged value is pinned at black or white, the detail is lost: the fill is used, held
    within what the shift allows.
    """
    out = image.copy()
    columns = np.nonzero(mask.any(axis=0))[0]
    if columns.size == 0:
        return out
    half = window // 2
    # The fill is trusted where the picture around it is flat (no edge within a few pixels).
    luma = cv2.GaussianBlur(luma_of(fill), (0, 0), 1.5)  # grain is no edge
    edges = np.abs(cv2.Sobel(luma, cv2.CV_32F, 1, 0, ksize=3)) + np.abs(cv2.Sobel(luma, cv2.CV_32F, 0, 1, ksize=3))
    flat = cv2.dilate(edges, np.ones((3, 13), np.uint8)) < _FLAT
    diff = np.where(mask[:, columns, None], image[:, columns] - fill[:, columns], np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN windows lie outside the mask
        # Short windows follow the shift's changes; longer ones bridge stretches with no flat picture.
        trusted = np.where(flat[:, columns, None], diff, np.nan)
        shift = _running_median(trusted, half // 2)
        for values, reach in ((trusted, half), (trusted, 2 * half), (diff, half)):
            shift = np.where(np.isnan(shift), _running_median(values, reach), shift)
    damaged = image[:, columns]
    estimate = damaged - shift
    lost = (damaged < 0.02) | (damaged > 0.98)
    low, high = np.minimum(damaged, estimate), np.maximum(damaged, estimate)
    estimate = np.where(lost, np.clip(fill[:, columns], low, high), estimate)
    inside = mask[:, columns, None]
    out[:, columns] = np.where(inside, np.clip(estimate, 0.0, 1.0), damaged)
    return out


def _running_median(values: np.ndarray, half: int) -> np.ndarray:
    """Median down axis 0 over ``2 * half + 1`` rows, ignoring NaN."""
    padded = np.pad(values, ((half, half),) + ((0, 0),) * (values.ndim - 1), constant_values=np.nan)
    return np.nanmedian(np.lib.stride_tricks.sliding_window_view(padded, 2 * half + 1, axis=0), axis=-1)
