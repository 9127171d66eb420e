"""Cracks, scratches and tears on photographs: thin, long, bright lines where the paper shows through,
and the bare paper of torn-off pieces.

A crack shows as a bright ridge (the white of the paper) much narrower than it is long. A morphological
top-hat (what an opening with a disk removes) isolates structures thinner than the disk. Pictures are
full of such ridges too: hair, brickwork, a printed dress, a lit edge, a rim light. What tells a crack
from them, pixel by pixel along the ridge, is that it cuts across the picture: it stands out from the
ridges around it, it is brighter than the picture on both sides, and the picture on the two sides is
the same (an edge highlight lies between two different things). Ridge pixels that pass join into
lines by hysteresis; a shape test keeps components whose skeleton is long against their area (lines,
not blobs). Bare paper next to a crack (a torn-off corner, flaked emulsion) joins it.

Cracks are found on a copy at most :data:`WORK_SIDE` px long: their width in pixels grows with the
scan's resolution, while the shape limits are in pixels.

A two-level picture (a 1-bit scan: line art, an engraving, a printed halftone, a fax) is left alone: its
thin white lines and dots are the picture, not paper showing through, and it has no grey to fill with.

RGB in: float32 H×W×3 in [0, 1].
"""
from __future__ import annotations

import cv2
import numpy as np

from ..analysis.luma import luma_of

WORK_SIDE = 768
"""Longest side (px) of the copy cracks are found on."""


def detect_cracks(rgb: np.ndarray, sensitivity: float = 0.5, max_width: int = 5,
                  min_length: float = 0.15) -> np.ndarray:
    """Bool H×W mask of cracks, scratches and bare-paper tears.

    ``max_width``: the widest crack in px of the working copy (wider structures are picture content);
    ``min_length``: the shortest crack as a fraction of the shorter image side; ``sensitivity`` in
    [0, 1]: higher finds fainter cracks, with more false alarms.
    """
    if is_bilevel(rgb):
        return np.zeros(rgb.shape[:2], bool)
    luma = luma_of(rgb)
    h, w = luma.shape
    scale = WORK_SIDE / max(h, w)
    if scale < 1.0:
        luma = cv2.resize(luma, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
    found = _found(luma, sensitivity, max_width, max(12, int(min_length * min(luma.shape))))
    if scale < 1.0:
        found = cv2.resize(found.astype(np.uint8), (w, h), interpolation=cv2.INTER_NEAREST).astype(bool)
    size = max(3, int(round(3 / min(scale, 1.0))) | 1)  # the fill needs the crack's soft rim too
    return cv2.dilate(found.astype(np.uint8), np.ones((size, size), np.uint8)).astype(bool)


def _found(luma: np.ndarray, sensitivity: float, max_width: int, min_len: int) -> np.ndarray:
    disk = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * max_width + 1,) * 2)
    # Bright ridges only: a crack shows the paper. Thin dark lines in a portrait are mostly eyes, brows,
    # lips and hair, which a fill must never touch; dark damage goes through ``--mask``.
    response = luma - cv2.morphologyEx(luma, cv2.MORPH_OPEN, disk)
    spread = 1.4826 * float(np.median(np.abs(response - np.median(response))))
    low = (1.5 - sensitivity) * max(4.0 * spread, 0.06)  # sensitivity 0.5 → the plain threshold
    from skimage.filters import sato  # here, not at the top: `bian` loads this module at start-up

    ridge = sato(luma, sigmas=(1.0, 1.5), black_ridges=False)
    weak = (ridge > 0.5 * low) & (response > low) & _across_the_picture(luma, response, max_width)
    # where a crack crosses something bright for a pixel or two, its tests fail there: bridge the gap
    weak = cv2.morphologyEx(weak.astype(np.uint8), cv2.MORPH_CLOSE,
                            cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3))).astype(bool)
    found = _line_like(_hysteresis(weak, weak & (response > 2.0 * low)), min_len, max_width)
    return found | _bare_paper(luma, found)


def _across_the_picture(luma: np.ndarray, response: np.ndarray, max_width: int) -> np.ndarray:
    """Bool H×W: ridge pixels that look like paper showing through a cut rather than picture detail.
    Three tests: the pixel's ridge stands above the ridges around it (texture is full of them); it is
    brighter than the picture on both sides, by at least a third of its ridge height; and the two sides
    match to within that height (a lit edge or a rim light sits between two different things). The
    sides are read just beyond the widest crack, across the ridge (the direction of the Hessian's most
    negative eigenvalue)."""
    activity = cv2.blur(response, (31, 31))
    smooth = cv2.GaussianBlur(luma, (0, 0), 1.5)
    hxx = cv2.Sobel(smooth, cv2.CV_32F, 2, 0, ksize=3)
    hyy = cv2.Sobel(smooth, cv2.CV_32F, 0, 2, ksize=3)
    hxy = cv2.Sobel(smooth, cv2.CV_32F, 1, 1, ksize=3)
    across = 0.5 * np.arctan2(2 * hxy, hxx - hyy) + np.float32(np.pi / 2)
    reach = max_width + 1.5
    dx, dy = reach * np.cos(across), reach * np.sin(across)
    h, w = luma.shape
    gy, gx = np.mgrid[0:h, 0:w].astype(np.float32)
    one = cv2.remap(luma, gx + dx, gy + dy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    other = cv2.remap(luma, gx - dx, gy - dy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return ((response > 1.5 * (activity + 0.01)) & (luma - np.maximum(one, other) > response / 3)
            & (np.abs(one - other) < response))


def is_bilevel(image: np.ndarray) -> bool:
    """Whether every sample of ``image`` (any dtype, H×W or H×W×C) is its darkest or its lightest value."""
    low, high = image.min(), image.max()
    return bool(((image == low) | (image == high)).all())


def _hysteresis(weak: np.ndarray, strong: np.ndarray) -> np.ndarray:
    """The connected regions of ``weak`` that hold a pixel of ``strong`` (bool H×W both)."""
    count, labels = cv2.connectedComponents(weak.astype(np.uint8), connectivity=8)
    keep = np.zeros(count, bool)
    keep[np.unique(labels[strong])] = True
    keep[0] = False
    return keep[labels]


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
