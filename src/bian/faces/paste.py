"""Putting a restored face back: a soft mask from the landmarks, colour matched to the picture, no seam.

Colour matching keeps the picture's own low frequencies (overall colour, shading, tone) and takes
only the restored face's detail: restored + blur(original − restored). A restoration that drifts in
colour or brightness therefore cannot leave a visible patch, and the mask's feathered edge blends two
images that already agree in tone.
"""
from __future__ import annotations

import cv2
import numpy as np


def face_outline(landmarks: np.ndarray) -> np.ndarray:
    """Polygon (N, 2) around a face from 68 iBUG landmarks: the jaw line, and the brows raised by half the
    brow-to-nose-tip distance to take in the forehead."""
    lm = np.asarray(landmarks, np.float32)[:, :2]
    jaw = lm[0:17]
    brows = lm[17:27]
    lift = (brows - lm[30]) * 0.5
    forehead = (brows + lift)[::-1]
    return np.concatenate([jaw, forehead])


def outline_from_points5(points5: np.ndarray) -> np.ndarray:
    """An elliptical face outline (32, 2) from the five points, for faces without 68 landmarks."""
    p = np.asarray(points5, np.float64)
    eyes, mouth = p[:2].mean(0), p[3:].mean(0)
    down = mouth - eyes
    d = np.linalg.norm(down) + 1e-6
    down /= d
    right = np.array([-down[1], down[0]])
    centre = eyes + 0.35 * d * down
    t = np.linspace(0, 2 * np.pi, 32, endpoint=False)
    pts = centre + np.outer(np.cos(t) * 1.05 * d, right) + np.outer(np.sin(t) * 1.45 * d, down)
    return pts.astype(np.float32)


def soft_mask(shape: tuple[int, int], outline: np.ndarray, feather: float) -> np.ndarray:
    """H×W float32 mask in [0, 1]: 1 inside ``outline`` shrunk by ``feather`` px, falling smoothly to 0
    at the outline (distance-based ramp, smoothstep profile)."""
    h, w = shape
    inside = np.zeros((h, w), np.uint8)
    cv2.fillPoly(inside, [np.round(outline).astype(np.int32)], 1)
    dist = cv2.distanceTransform(inside, cv2.DIST_L2, 5)
    t = np.clip(dist / max(feather, 1e-3), 0, 1)
    return (t * t * (3 - 2 * t)).astype(np.float32)


def match_colour(restored: np.ndarray, original: np.ndarray, sigma: float) -> np.ndarray:
    """``restored`` with the low frequencies (Gaussian ``sigma`` px) of ``original``; float32 H×W×3."""
    diff = original.astype(np.float32) - restored.astype(np.float32)
    return restored + cv2.GaussianBlur(diff, (0, 0), sigma)


def paste(image: np.ndarray, restored: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Blend ``restored`` into ``image`` (same shape, float32) through ``mask`` (H×W in [0, 1])."""
    m = mask[..., None]
    return image * (1 - m) + restored * m


def paste_aligned(image: np.ndarray, aligned: np.ndarray, matrix: np.ndarray, outline: np.ndarray,
                  feather: float, colour_sigma: float) -> np.ndarray:
    """Put an aligned restored crop back into ``image`` (float32 H×W×3) through the inverse of ``matrix``
    (picture → crop), inside ``outline`` (picture pixels), colour matched; only the face's box is touched."""
    h, w = image.shape[:2]
    x0, y0 = np.floor(outline.min(0) - 2).astype(int)
    x1, y1 = np.ceil(outline.max(0) + 2).astype(int)
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
    if x1 <= x0 or y1 <= y0:
        return image
    inv = cv2.invertAffineTransform(np.asarray(matrix, np.float64))
    inv[:, 2] -= (x0, y0)
    back = cv2.warpAffine(aligned, inv, (x1 - x0, y1 - y0), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE)
    region = image[y0:y1, x0:x1]
    back = match_colour(back, region, colour_sigma)
    mask = soft_mask((y1 - y0, x1 - x0), outline - (x0, y0), feather)
    out = image.copy()
    out[y0:y1, x0:x1] = paste(region, back, mask)
    return out
