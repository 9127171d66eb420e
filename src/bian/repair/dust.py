"""Film dust, hairs and blotches: found as what one frame has and its motion-compensated neighbours lack.

A speck of dust sits on one frame of the print only, so after motion compensation the current frame is
brighter (or darker) than *every* neighbour there, while real content matches at least one side: a
pixel covered by a moving object in the frames after is still visible in the frames before. This is
the rank-ordered detector of the film-restoration literature (SDI/ROD, Kokaram 1998), with thresholds
set from the measured noise of each frame and hysteresis so a speck's faint rim joins its core.

Frames here are float32: RGB H×W×3 or luma H×W, values in [0, 1].
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import cv2
import numpy as np

from ..analysis.luma import luma_of
from . import motion

_BLOCK = 16
"""Block size (px) for local brightness matching between frames (flicker is smooth across a frame)."""


@dataclass
class Compensated:
    """A neighbour frame warped onto the current one, brightness-matched to it."""
    rgb: np.ndarray
    """float32 H×W×3, warped and offset to the current frame's local brightness."""
    luma: np.ndarray
    """float32 H×W, the same in luma."""
    valid: np.ndarray
    """bool H×W: the warp sampled inside the neighbour."""
    flow: np.ndarray
    """float32 H×W×2: the flow used (current pixel → neighbour position)."""


def compensate(current_rgb: np.ndarray, neighbour_rgb: np.ndarray, field: np.ndarray | None = None) -> Compensated:
    """Warp ``neighbour_rgb`` onto ``current_rgb`` (with ``field``, or a flow measured here) and match
    its brightness locally."""
    cur = luma_of(current_rgb)
    if field is None:
        field = motion.flow(cur, luma_of(neighbour_rgb))
    warped, valid = motion.warp(neighbour_rgb, field)
    # Flicker and uneven exposure: remove the smooth brightness difference (block medians resist specks).
    warped_luma = luma_of(warped)
    offset = smooth_offset(cur - warped_luma, valid)
    return Compensated(warped + offset[..., None], warped_luma + offset, valid, field)


def smooth_offset(diff: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """A smooth float32 H×W field through the block medians of ``diff`` (H×W); blocks that are
    partly outside ``valid`` take the median of the whole frame."""
    h, w = diff.shape
    bh, bw = -(-h // _BLOCK), -(-w // _BLOCK)
    padded = np.pad(np.where(valid, diff, np.nan), ((0, bh * _BLOCK - h), (0, bw * _BLOCK - w)),
                    constant_values=np.nan)
    # Every other pixel of each block is plenty for a median and halves the work twice.
    blocks = padded.reshape(bh, _BLOCK, bw, _BLOCK)[:, ::2, :, ::2].transpose(0, 2, 1, 3).reshape(bh, bw, -1)
    med = _median(blocks)
    med[np.isnan(blocks).any(axis=2)] = np.nan  # a block touching an invalid pixel says nothing
    inside = diff[valid]
    med = np.where(np.isfinite(med), med, np.median(inside) if inside.size else 0.0).astype(np.float32)
    med = cv2.GaussianBlur(med, (3, 3), 0.8, borderType=cv2.BORDER_REPLICATE)
    return cv2.resize(med, (bw * _BLOCK, bh * _BLOCK), interpolation=cv2.INTER_LINEAR)[:h, :w]


def _median(values: np.ndarray) -> np.ndarray:
    """Median along the last axis of a float array without NaN: the same numbers as ``np.median``, from one
    partition (np.median places two middle elements and checks for NaN: four times slower here)."""
    n = values.shape[-1]
    part = np.partition(values, n // 2, axis=-1)
    upper = part[..., n // 2]
    if n % 2:
        return upper
    return (part[..., : n // 2].max(axis=-1) + upper) / values.dtype.type(2)


def noise_sigma(residuals: list[np.ndarray], valids: list[np.ndarray]) -> float:
    """Robust σ of the frame-to-frame residual (grain plus small motion error), from its median deviation."""
    values = np.concatenate([r[::2, ::2][v[::2, ::2]] for r, v in zip(residuals, valids)])
    if values.size == 0:
        return 0.02
    return float(1.4826 * np.median(np.abs(values - np.median(values))))


def detect_temporal(current_luma: np.ndarray, neighbours: list[Compensated], sensitivity: float = 0.5,
                    max_area: float = 0.02, offsets: list[int] | None = None) -> np.ndarray:
    """Bool H×W mask of defects in the current frame that no compensated neighbour shares.

    A pixel scores by how far it stands above (or below) the neighbours: with four or more neighbours
    all but one must agree (one may be spoilt by its own defect or by failed motion), with fewer all of
    them. Seeds score above a high threshold and grow through pixels above a low one. Connected
    regions larger than ``max_area`` of the frame are motion failures, not dust, and are dropped, and so
    are regions the neighbours show a little further on (:func:`found_nearby`) or, given the neighbours'
    ``offsets`` in frames from the current one (−1 = the frame before), further along a straight path
    (:func:`on_a_path`: a small object moving fast, a ball or a bird).
    ``sensitivity`` in [0, 1] scales the thresholds (1 finds fainter defects, with more false alarms).
    """
    if len(neighbours) < 2:
        return np.zeros(current_luma.shape, bool)
    residuals = [current_luma - n.luma for n in neighbours]
    sigma = noise_sigma(residuals, [n.valid for n in neighbours])
    scale = 1.5 - sensitivity  # 0.5 → 1.0
    high = scale * max(6.0 * sigma, 0.07)
    low = scale * max(3.0 * sigma, 0.035)
    limit = int(max_area * current_luma.size)
    # Small regions unlike the neighbours are kept out of the motion check, so a speck does not spoil
    # it; large ones are failed motion and must count against it.
    suspect = np.median(np.abs(np.stack(residuals)), axis=0) > low
    _, labels, stats, _ = cv2.connectedComponentsWithStats(suspect.astype(np.uint8), connectivity=8)
    small = stats[:, cv2.CC_STAT_AREA] <= limit
    small[0] = False
    trusted = trusted_motion(residuals, neighbours, small[labels])
    count = trusted.sum(axis=0)
    # Compare with the brightest/darkest neighbour pixel within 1 px: flow is never exact on fine detail.
    box = np.ones((3, 3), np.uint8)
    above = np.stack([current_luma - cv2.dilate(n.luma, box) for n in neighbours])
    below = np.stack([cv2.erode(n.luma, box) - current_luma for n in neighbours])
    # Rank-ordered score over trusted neighbours: the smallest signed residual, or the second smallest
    # when four or more are trusted (one may carry a defect of its own at the same place).
    bright = _rank_score(np.where(trusted, above, np.inf), count)
    dark = _rank_score(np.where(trusted, below, np.inf), count)
    bright[count < 2] = -np.inf
    dark[count < 2] = -np.inf
    # How much the trusted neighbours disagree among themselves: about the noise where they all show
    # the same background behind a speck, large where motion went wrong for some of them.
    lumas = np.stack([n.luma for n in neighbours])
    spread = np.where(count >= 2, np.max(np.where(trusted, lumas, -np.inf), axis=0)
                      - np.min(np.where(trusted, lumas, np.inf), axis=0), np.inf)
    found = np.zeros(current_luma.shape, bool)
    for polarity, score in ((1.0, bright), (-1.0, dark)):
        candidates = hysteresis(score, low, high, max_pixels=limit)
        candidates &= agreed(candidates, score, spread)
        candidates &= ~found_nearby(current_luma, neighbours, candidates, polarity, low)
        if offsets is not None:
            candidates &= ~on_a_path(current_luma, neighbours, offsets, candidates, polarity, low)
        found |= candidates
    return found


def _rank_score(residuals: np.ndarray, count: np.ndarray) -> np.ndarray:
    """Per pixel, the smallest of the K×H×W ``residuals``, or the second smallest where ``count`` ≥ 4."""
    # Two running minima instead of a sort along the first axis, which is slow on K×H×W arrays.
    first, second = residuals[0].copy(), np.full(residuals.shape[1:], np.inf, residuals.dtype)
    for r in residuals[1:]:
        np.minimum(second, np.maximum(first, r), out=second)
        np.minimum(first, r, out=first)
    return np.where(count >= 4, second, first)


def agreed(candidates: np.ndarray, score: np.ndarray, spread: np.ndarray) -> np.ndarray:
    """Candidate regions over which the neighbours' disagreement stays under half the defect's contrast
    (both as means over the region)."""
    count, labels = cv2.connectedComponents(candidates.astype(np.uint8), connectivity=8)
    if count <= 1:
        return candidates
    inside = labels.ravel()
    size = np.maximum(np.bincount(inside, minlength=count), 1)
    mean_score = np.bincount(inside, np.where(candidates, score, 0).ravel(), count) / size
    mean_spread = np.bincount(inside, np.where(candidates, np.minimum(spread, 1.0), 0).ravel(), count) / size
    keep = mean_spread < 0.5 * mean_score
    keep[0] = False
    return keep[labels]


def trusted_motion(residuals: list[np.ndarray], neighbours: list[Compensated], exclude: np.ndarray) -> np.ndarray:
    """Bool K×H×W: where each neighbour's motion compensation can be trusted.

    Trust is local: the mean absolute residual over the nearby pixels outside ``exclude`` (bool H×W)
    must stay within twice its typical value over the frame. Where a moving arm or a blur defeats the
    flow, all residuals around are large and the neighbour is not used there, neither to detect nor
    to fill.
    """
    weight = (~cv2.dilate(exclude.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)).astype(np.float32)
    errors = []
    for r, n in zip(residuals, neighbours):
        w = weight * n.valid
        err = _local_mean(np.abs(r) * w, w)
        errors.append(err)
    errors = np.stack(errors)
    finite = errors[np.isfinite(errors)]
    typical = float(np.median(finite)) if finite.size else 0.02
    return (errors < 2.0 * typical + 0.01) & np.stack([n.valid for n in neighbours])


def _local_mean(weighted: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Normalised convolution: Gaussian mean of a quantity over the pixels of ``weight``; a wider
    Gaussian where a large excluded region leaves the narrow one without support. Computed at quarter
    resolution (the result is smooth at these scales anyway)."""
    h, w = weight.shape
    small = (max(1, w // 4), max(1, h // 4))
    weighted = cv2.resize(weighted, small, interpolation=cv2.INTER_AREA)
    weight = cv2.resize(weight, small, interpolation=cv2.INTER_AREA)
    out = np.full(weight.shape, np.inf, np.float32)
    for sigma in (1.0, 3.0, 9.0):
        norm = cv2.GaussianBlur(weight, (0, 0), sigma)
        todo = ~np.isfinite(out) & (norm > 0.05)
        if todo.any():
            out[todo] = cv2.GaussianBlur(weighted, (0, 0), sigma)[todo] / norm[todo]
    out = np.where(np.isfinite(out), out, 1.0)  # no support anywhere near: never trusted
    return cv2.resize(out, (w, h), interpolation=cv2.INTER_LINEAR)


def hysteresis(score: np.ndarray, low: float, high: float, max_pixels: int | None = None) -> np.ndarray:
    """Connected regions of ``score > low`` that contain a pixel with ``score > high`` (bool H×W)."""
    weak = (score > low).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(weak, connectivity=8)
    if count <= 1:
        return np.zeros(score.shape, bool)
    strong = np.zeros(count, bool)
    strong[np.unique(labels[score > high])] = True
    strong[0] = False
    if max_pixels is not None:
        strong &= stats[:, cv2.CC_STAT_AREA] <= max_pixels
    return strong[labels]


def found_nearby(current_luma: np.ndarray, neighbours: list[Compensated], candidates: np.ndarray,
                 polarity: float, margin: float, radius: int = 12) -> np.ndarray:
    """Bool H×W: candidate regions whose content two neighbours show a few pixels away.

    Where the flow failed (a swinging arm, a blurred leg) the candidate is real content that moved
    further than the flow said; searching the compensated neighbour within ``radius`` px for the patch
    around the candidate finds it again. A speck of dust is found in no neighbour.
    """
    count, labels, stats, _ = cv2.connectedComponentsWithStats(candidates.astype(np.uint8), connectivity=8)
    content = np.zeros(count, bool)
    h, w = current_luma.shape
    for i in range(1, count):
        x, y, bw, bh = stats[i, :4]
        x0, y0, x1, y1 = max(0, x - 3), max(0, y - 3), min(w, x + bw + 3), min(h, y + bh + 3)
        template = current_luma[y0:y1, x0:x1]
        inside = labels[y0:y1, x0:x1] == i
        sx0, sy0, sx1, sy1 = max(0, x0 - radius), max(0, y0 - radius), min(w, x1 + radius), min(h, y1 + radius)
        seen = 0
        for n in neighbours:
            area = n.luma[sy0:sy1, sx0:sx1]
            ssd = cv2.matchTemplate(area, template, cv2.TM_SQDIFF)
            dy, dx = np.unravel_index(np.argmin(ssd), ssd.shape)
            match = area[dy:dy + template.shape[0], dx:dx + template.shape[1]]
            if polarity * float((template - match)[inside].mean()) < margin:
                seen += 1
        content[i] = seen >= 2
    return content[labels]


def on_a_path(current_luma: np.ndarray, neighbours: list[Compensated], offsets: list[int], candidates: np.ndarray,
              polarity: float, margin: float) -> np.ndarray:
    """Bool H×W: candidate regions that two other frames show further along one straight path.

    A small object moving fast (a ball, a bird, a spark) is in no neighbour at the same place, as dust
    is; but it is in them at steady steps along its path, and dust is nowhere. For each neighbour (at
    ``offsets[k]`` frames from the current one) the candidate's own pixels are searched for within
    8 % of the frame's side (at least 16 px) per frame of offset: a ball thrown across the picture in
    half a second at 25 fps. A find must stand out from what the current frame has at that place (the
    thing moved there: a like-valued structure that stands still in both frames is no find) by twice as
    much as it differs from the candidate. A path is finds in every neighbour but one (and at least two)
    whose steps per frame agree to 1 px + 10 %: other dust in the neighbours lies at random places.
    """
    count, labels, stats, _ = cv2.connectedComponentsWithStats(candidates.astype(np.uint8), connectivity=8)
    moving = np.zeros(count, bool)
    h, w = current_luma.shape
    speed = max(16, int(0.08 * max(h, w)))
    for i in range(1, count):
        x, y, bw, bh = stats[i, :4]
        x0, y0, x1, y1 = max(0, x - 1), max(0, y - 1), min(w, x + bw + 1), min(h, y + bh + 1)
        template = current_luma[y0:y1, x0:x1]
        inside = labels[y0:y1, x0:x1] == i
        steps = []
        for n, offset in zip(neighbours, offsets):
            reach = speed * abs(offset)
            sx0, sy0, sx1, sy1 = max(0, x0 - reach), max(0, y0 - reach), min(w, x1 + reach), min(h, y1 + reach)
            area = n.luma[sy0:sy1, sx0:sx1]
            ssd = cv2.matchTemplate(area, template, cv2.TM_SQDIFF, mask=inside.astype(np.float32))
            dy, dx = np.unravel_index(np.argmin(ssd), ssd.shape)
            match = area[dy:dy + template.shape[0], dx:dx + template.shape[1]][inside]
            there = current_luma[sy0 + dy:sy0 + dy + template.shape[0], sx0 + dx:sx0 + dx + template.shape[1]][inside]
            stands = polarity * float((match - there).mean())
            if stands > margin and polarity * float((template[inside] - match).mean()) < 0.5 * stands:
                steps.append((offset, np.array([sx0 + dx - x0, sy0 + dy - y0], np.float64) / offset))
        along = [sum(np.hypot(*(u - v)) <= 1.0 + 0.1 * np.hypot(*v) for _, u in steps) for _, v in steps]
        moving[i] = max(along, default=0) >= max(2, len(neighbours) - 1)
    return moving[labels]


def fill_from_neighbours(current_rgb: np.ndarray, neighbours: list[Compensated], mask: np.ndarray,
                         spatial: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Replace pixels under ``mask`` by their value in the neighbours where the motion there is trusted.

    Motion is trusted as in :func:`trusted_motion` (judged on the undamaged pixels nearby). The value is the median of the trusted neighbours; where
    only two disagree, the one closer to ``spatial`` (a spatial fill, float32 H×W×3) wins, since the
    other likely carries a defect of its own. Returns (repaired float32 H×W×3, bool H×W of pixels that
    had no trusted neighbour and keep the spatial fill).
    """
    out = current_rgb.copy()
    if not mask.any():
        return out, np.zeros(mask.shape, bool)
    cur = luma_of(current_rgb)
    trusted = trusted_motion([cur - n.luma for n in neighbours], neighbours, mask)

    ys, xs = np.nonzero(mask)
    cand = np.stack([n.rgb[ys, xs] for n in neighbours])  # K×P×3
    ok = trusted[:, ys, xs]  # K×P
    count = ok.sum(axis=0)
    spatial_px = spatial[ys, xs]
    # Median of trusted candidates (NaN where untrusted; all-NaN columns are replaced below).
    masked = np.where(ok[..., None], cand, np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        median = np.nanmedian(masked, axis=0)
        spread = np.nanmax(masked, axis=0) - np.nanmin(masked, axis=0)
    # Two trusted candidates that disagree: take the one nearer the spatial estimate.
    two = count == 2
    if two.any():
        dist = np.where(ok[..., None], np.abs(cand - spatial_px[None]), np.inf).sum(axis=2)  # K×P
        nearest = cand[np.argmin(dist, axis=0), np.arange(len(ys))]
        disagree = two & (np.nan_to_num(spread).max(axis=1) > 0.08)
        median[disagree] = nearest[disagree]
    value = np.where((count > 0)[:, None], median, spatial_px)
    out[ys, xs] = value
    unfilled = np.zeros(mask.shape, bool)
    unfilled[ys[count == 0], xs[count == 0]] = True
    return np.clip(out, 0.0, 1.0), unfilled
