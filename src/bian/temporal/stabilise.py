"""Stabilisation: remove gate weave and jitter, keep the camera's intended movement.

Within the window, corners found in the current frame are tracked (pyramidal Lucas–Kanade) directly
into every other frame of its shot, and a similarity transform (shift, rotation, zoom) is fitted to
each set of tracks with RANSAC, so moving people do not count as camera motion. Matching each
neighbour to the current frame directly, not frame to frame, keeps measurement errors from adding up
along the path. The camera path is then smoothed parameter by parameter over the window
(:func:`bian.temporal.trend.level_at`: the mean, a straight line where the camera moves, a curve where
it speeds up or slows down): a steady or eased pan or zoom passes unchanged, weave and jitter average out. The current frame is warped to where the smoothed path says it should be.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ..frame import to_float
from .trend import level_at

ANALYSIS_SIDE = 640
"""Frames are analysed at most this wide (tracking is sub-pixel; more pixels add time, not accuracy)."""
MAX_CORNERS = 200
MIN_TRACKS = 12
"""Fewer agreeing tracks than this and a neighbour's transform is not trusted."""
BORDERS = ("fill", "crop", "black")


@dataclass(frozen=True)
class Motion:
    """Similarity transform taking current-frame coordinates to a neighbour's, about the frame centre:
    x' = c + exp(log_scale)·R(angle)·(x − c) + (dx, dy)."""
    dx: float
    dy: float
    angle: float
    log_scale: float

    def vector(self) -> np.ndarray:
        return np.array([self.dx, self.dy, self.angle, self.log_scale])


IDENTITY = Motion(0.0, 0.0, 0.0, 0.0)


def analysis_luma(image: np.ndarray) -> tuple[np.ndarray, float]:
    """8-bit luma of an RGB picture (H×W×3, any dtype of :class:`bian.frame.Frame`), reduced to at most
    ``ANALYSIS_SIDE`` wide and softened (grain makes single-pixel corners; smoothed, the corners found
    and tracked are those of real structure); and the factor from full-size pixels to analysis pixels."""
    h, w = image.shape[:2]
    scale = min(1.0, ANALYSIS_SIDE / w)
    if scale < 1.0:
        image = cv2.resize(image, (max(8, round(w * scale)), max(8, round(h * scale))),
                           interpolation=cv2.INTER_AREA)
    y = np.dot(to_float(image), np.full(3, 255 / 3, np.float32))
    return cv2.GaussianBlur(np.clip(y + 0.5, 0, 255).astype(np.uint8), (0, 0), 1.0), scale


def track(current: np.ndarray, others: list[np.ndarray]) -> list[Motion | None]:
    """Camera motion from ``current`` to each of ``others`` (8-bit luma from :func:`analysis_luma`, in
    analysis pixels); None where too few tracks agree (a blank frame, a flash)."""
    h, w = current.shape
    corners = cv2.goodFeaturesToTrack(current, MAX_CORNERS, qualityLevel=0.01, minDistance=max(4, w // 60),
                                      blockSize=7)
    if corners is None or len(corners) < MIN_TRACKS:
        return [None] * len(others)
    params = dict(winSize=(15, 15), maxLevel=3,
                  criteria=(cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 20, 0.03))
    centre = np.float32([(w - 1) / 2, (h - 1) / 2])
    result = []
    for other in others:
        moved, status, _ = cv2.calcOpticalFlowPyrLK(current, other, corners, None, **params)
        ok = status[:, 0] == 1
        if ok.sum() < MIN_TRACKS:
            result.append(None)
            continue
        src, dst = corners[ok, 0] - centre, moved[ok, 0] - centre
        matrix, inliers = cv2.estimateAffinePartial2D(src, dst, method=cv2.RANSAC, ransacReprojThreshold=1.0,
                                                      maxIters=2000, confidence=0.995, refineIters=10)
        if matrix is None or inliers.sum() < MIN_TRACKS:
            result.append(None)
            continue
        a, b = matrix[0, 0], matrix[1, 0]
        result.append(Motion(float(matrix[0, 2]), float(matrix[1, 2]), float(np.arctan2(b, a)),
                             float(np.log(np.hypot(a, b)))))
    return result


def smoothed(path: list[Motion | None], center: int) -> Motion:
    """Where the camera should be at ``center``: each parameter's level there over the known motions of
    ``path`` (``path[center]`` is the identity), by :func:`bian.temporal.trend.level_at`."""
    known = [(j, m.vector()) for j, m in enumerate(path) if m is not None]
    if len(known) < 3:
        return IDENTITY
    values = level_at(np.stack([v for _, v in known]), np.array([j for j, _ in known]), center, degree=2)
    return Motion(*(float(v) for v in values))


def correction_matrix(target: Motion, shape: tuple[int, int], strength: float = 1.0) -> np.ndarray:
    """2×3 matrix (full-size pixels) that moves the current frame's content to the smoothed camera
    position ``target`` (in full-size pixels), scaled by ``strength``."""
    h, w = shape
    centre = np.array([(w - 1) / 2, (h - 1) / 2])
    scale = np.exp(strength * target.log_scale)
    angle = strength * target.angle
    rot = scale * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    shift = strength * np.array([target.dx, target.dy])
    return np.hstack([rot, (centre + shift - rot @ centre)[:, None]])


def warp_frame(picture: np.ndarray, matrix: np.ndarray, border: str = "fill", margin: float = 0.04) -> np.ndarray:
    """Apply ``matrix`` to a float32 picture (H×W×3 RGB or H×W alpha) in [0, 1]. ``border``: "fill"
    repeats the frame's edge into the uncovered strip, "black" leaves it black, "crop" zooms in by
    ``margin`` on each side so a shift up to that share of the frame never shows an edge. Returns
    float32 in [0, 1], same size."""
    h, w = picture.shape[:2]
    if border not in BORDERS:
        raise ValueError(f"border must be one of {BORDERS}, got {border!r}")
    matrix = np.asarray(matrix, np.float64)
    if border == "crop":
        zoom = 1.0 / (1.0 - 2.0 * margin)
        centre = np.array([(w - 1) / 2, (h - 1) / 2])
        matrix = np.hstack([zoom * matrix[:, :2], (zoom * (matrix[:, 2] - centre) + centre)[:, None]])
    mode = cv2.BORDER_CONSTANT if border == "black" else cv2.BORDER_REPLICATE
    out = cv2.warpAffine(picture, matrix, (w, h), flags=cv2.INTER_CUBIC, borderMode=mode, borderValue=(0, 0, 0))
    return np.clip(out, 0.0, 1.0)


def to_full_size(motion: Motion, scale: float) -> Motion:
    """A motion measured in analysis pixels, in full-size pixels."""
    return Motion(motion.dx / scale, motion.dy / scale, motion.angle, motion.log_scale)
