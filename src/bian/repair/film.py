"""Repair of one film frame from its neighbours: dust, hairs and blotches filled from the frames around
it, vertical line scratches and anything the neighbours cannot supply filled spatially.

Frames are float32 RGB H×W×3 in [0, 1]. The neighbours are frames of the same shot, nearest first
or in any order (up to four is what the detector is tuned for).
"""
from __future__ import annotations

import cv2
import numpy as np

from ..analysis.luma import luma_of
from . import dust, inpaint, lines, motion


def repair_frame(current: np.ndarray, neighbours: list[np.ndarray], sensitivity: float = 0.5,
                 line_scratches: bool = True, detected: np.ndarray | None = None, offsets: list[int] | None = None,
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Repaired frame and the bool H×W mask of what was replaced.

    Dust is found by comparing with the neighbours (:func:`bian.repair.dust.detect_temporal`, which
    also keeps small objects moving along a path when given the neighbours' ``offsets`` in frames from
    the current one); with
    fewer than two (a still image, a shot of one frame) spatially (:func:`specks`). ``detected`` (bool
    H×W, optional) replaces that detection by another detector's mask; it is filled the same way.
    """
    luma = luma_of(current)
    comps = [dust.compensate(current, n) for n in neighbours]
    if detected is not None:
        found = detected
    elif len(comps) >= 2:
        found = dust.detect_temporal(luma, comps, sensitivity, offsets=offsets)
    else:
        found = specks(luma, sensitivity)
    # Soft edges of a speck differ from the picture by less than the detector threshold but still show.
    found = cv2.dilate(found.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    scratched = lines.detect_line_scratches(luma, sensitivity) if line_scratches else np.zeros_like(found)
    if scratched.any() and comps:
        scratched &= ~lines.moving_with_picture(scratched, luma, [luma_of(n) for n in neighbours],
                                                [c.flow for c in comps])
    damaged = found | scratched
    if not damaged.any():
        return current.copy(), damaged
    flows = [c.flow for c in comps]
    del comps  # only their flows are needed from here: let the warped neighbours go before re-warping
    spatial = inpaint.diffuse(current, damaged)
    out = spatial
    if flows and found.any():
        # Flow measured on a speck is noise: re-warp the neighbours with the flow of its surroundings.
        blind = cv2.dilate(damaged.astype(np.uint8), np.ones((9, 9), np.uint8)).astype(bool)
        rewarped = [dust.compensate(current, n, motion.fill_flow(f, blind)) for n, f in zip(neighbours, flows)]
        out, _ = dust.fill_from_neighbours(spatial, rewarped, found & ~scratched, spatial)
    # A line scratch sits in the neighbours too, at the same place: take it off within the frame.
    if scratched.any():
        fill = inpaint.sparse_fill(out, scratched)
        out = np.where(scratched[..., None], lines.remove_line_scratches(current, scratched, fill), out)
    return out.astype(np.float32), damaged


def specks(luma: np.ndarray, sensitivity: float = 0.5, max_radius: int = 5) -> np.ndarray:
    """Bool H×W: small, compact, high-contrast bright or dark specks in a single frame.

    Without neighbours there is no telling a speck from a small real detail for sure; this keeps to
    isolated round specks that stand out strongly (Tukey-style: far beyond the picture's spread), at most
    ``max_radius`` px, so eyes, letters and highlights are left alone far more often than not. A speck
    must also stand far above the small bright (or dark) things around it: pebbles on a path, leaves,
    a crowd, buttons and fingers are many such things together, dust on a print is one alone.
    """
    disk = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * max_radius + 1,) * 2)
    scale = 1.5 - sensitivity
    found = np.zeros(luma.shape, bool)
    for response in (luma - cv2.morphologyEx(luma, cv2.MORPH_OPEN, disk),
                     cv2.morphologyEx(luma, cv2.MORPH_CLOSE, disk) - luma):
        spread = 1.4826 * float(np.median(np.abs(response - np.median(response))))
        high = scale * max(10.0 * spread, 0.25)
        seeds = dust.hysteresis(response, 0.4 * high, high, max_pixels=int(np.pi * max_radius ** 2))
        count, labels, stats, _ = cv2.connectedComponentsWithStats(seeds.astype(np.uint8), connectivity=8)
        w, h, area = stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_HEIGHT], stats[:, cv2.CC_STAT_AREA]
        # peak contrast against the mean response over 31×31 px around it (the speck included: a speck of
        # radius 3 adds ~0.015 there); at 8 times it, a sixth of the specks found on undamaged photos
        # remain and three fifths of true dust (docs/REPAIR.md)
        peak = np.zeros(count, np.float32)
        np.maximum.at(peak, labels.ravel(), response.ravel())
        around = np.bincount(labels.ravel(), cv2.blur(np.maximum(response, 0), (31, 31)).ravel(), count)
        alone = peak > 8.0 * (around / np.maximum(area, 1) + 0.005)
        keep = (area >= 0.4 * w * h) & alone
        keep[0] = False
        found |= keep[labels]
    return found
