"""Cracks, scratches and tears on photographs: thin, long, high-contrast lines, and the bare paper
of torn-off pieces.

A crack shows as a bright ridge (the white of the paper) much narrower than it is long. A morphological top-hat (what an opening or closing with a disk removes)
isolates structures thinner than the disk; hysteresis thresholding joins a crack's faint stretches to
its clear ones; a shape test keeps only components whose skeleton is long against their area (lines,
not blobs of texture). Bare paper next to a crack (a torn-off corner, flaked emulsion) joins it.

A two-level picture (a 1-bit scan: line art, an engraving, a printed halftone, a fax) is left alone: its
thin white lines and dots are the picture, not paper showing through, and it has no grey to fill with.

RGB in: float32 H×W×3 in [0, 1].
"""
from __future__ import annotations

import cv2
import numpy as np

from ..analysis.luma import luma_of


def detect_cracks(rgb: np.ndarray, sensitivity: float = 0.5, max_width: int = 3,
                  min_length: float = 0.15) -> np.ndarray:
    """Bool H×W mask of cracks, scratches and bare-paper tears.

    ``max_width``: the widest crack in px (wider structures are picture content); ``min_length``: the
    shortest crack as a fraction of the shorter image side; ``sensitivity`` in [0, 1]: higher finds
    fainter cracks, with more false alarms.
    """
    if is_bilevel(rgb):
        return np.zeros(rgb.shape[:2], bool)
    luma = luma_of(rgb)
    h, w = luma.shape
    disk = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * max_width + 1,) * 2)
    scale = 1.5 - sensitivity  # 0.5 → 1.0
    min_len = max(12, int(min_length * min(h, w)))
    # Bright ridges only: a crack shows the paper. Thin dark lines in a portrait are mostly eyes, brows,
    # lips and hair, which a fill must never touch; dark damage goes through ``--mask``.
    response = luma - cv2.morphologyEx(luma, cv2.MORPH_OPEN, disk)
    spread = 1.4826 * float(np.median(np.abs(response - np.median(response))))
    low = scale * max(4.0 * spread, 0.06)
    from skimage.filters import sato  # here, not at the top: `bian` loads this module at start-up

    ridge = sato(luma, sigmas=(1.0, 1.5), black_ridges=False)
    candidates = _hysteresis(np.where(ridge > 0.5 * low, response, 0.0), low, 2.0 * low)
    found = _line_like(candidates, min_len, max_width)
    found |= _bare_paper(luma, found)
    return cv2.dilate(found.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)


def is_bilevel(image: np.ndarray) -> bool:
    """Whether every sample of ``image`` (any dtype, H×W or H×W×C) is its darkest or its lightest value."""
    low, high = image.min(), image.max()
    return bool(((image == low) | (image == high)).all())


def _hysteresis(score: np.ndarray, low: float, high: float) -> np.ndarray:
    count, labels = cv2.connectedComponents((score > low).astype(np.uint8), connectivity=8)
    strong = np.zeros(count, bool)
    strong[np.unique(labels[score > high])] = True
    strong[0] = False
    return strong[labels]


def _line_like(candidates: np.ndarray, min_length: int, max_width: int) -> np.ndarray:
    """Components whose skeleton is at least ``min_length`` px and whose mean width (area over
    skeleton length) is at most ``max_width`` px."""
    count, labels = cv2.connectedComponents(candidates.astype(np.uint8), connectivity=8)
    if count <= 1:
        return np.zeros(candidates.shape, bool)
    from skimage.morphology import skeletonize

    skeleton = skeletonize(candidates)
    length = np.bincount(labels[skeleton], minlength=count)
    area = np.bincount(labels.ravel(), minlength=count)
    keep = (length >= min_length) & (area <= max_width * np.maximum(length, 1))
    keep[0] = False
    return keep[labels]


def _bare_paper(luma: np.ndarray, cracks: np.ndarray, min_area: int = 64) -> np.ndarray:
    """Flat, near-white regions touching both a crack and the picture's edge: torn-off corners and
    edges, where the paper shows. (Light picture areas inside, a face or a shirt, never touch both.)"""
    if not cracks.any():
        return np.zeros(luma.shape, bool)
    mean = cv2.blur(luma, (5, 5))
    var = cv2.blur(luma * luma, (5, 5)) - mean * mean
    paper_level = max(0.8, float(np.percentile(luma, 99)) - 0.08)
    flat = (luma > paper_level) & (var < 0.002)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(flat.astype(np.uint8), connectivity=8)
    near = cv2.dilate(cracks.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    keep = np.zeros(count, bool)
    keep[np.unique(labels[near & flat])] = True
    edge = np.zeros(count, bool)
    edge[np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))] = True
    keep &= edge
    keep &= stats[:, cv2.CC_STAT_AREA] >= min_area
    keep[0] = False
    return keep[labels]
