"""The face record every part of :mod:`bian.faces` passes around."""
from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np


@dataclass
class Face:
    """One face in one picture. All coordinates are pixels (x, y) of that picture, float32.

    ``points5`` order (image left to right): eye on the left of the picture (the person's right eye),
    eye on the right, nose tip, mouth corner on the left, mouth corner on the right.
    """

    box: np.ndarray
    """(4,) x0, y0, x1, y1."""
    score: float
    """Detector confidence in [0, 1]."""
    points5: np.ndarray
    """(5, 2) eyes, nose tip, mouth corners."""
    landmarks: np.ndarray | None = None
    """(68, 2) dlib/iBUG points, or (468, 3) MediaPipe Face Mesh points (z in the same pixel units)."""
    track_id: int | None = None
    """Same number for the same person across the frames of one track (set by :mod:`bian.faces.track`)."""
    notes: dict = field(default_factory=dict)

    @property
    def size(self) -> float:
        """Face size in pixels: the larger side of the box."""
        return float(max(self.box[2] - self.box[0], self.box[3] - self.box[1]))

    @property
    def center(self) -> np.ndarray:
        return np.array([(self.box[0] + self.box[2]) / 2, (self.box[1] + self.box[3]) / 2], np.float32)

    def replace(self, **changes) -> "Face":
        return replace(self, **changes)


def points5_from_68(landmarks: np.ndarray) -> np.ndarray:
    """The five ``Face.points5`` from 68 iBUG landmarks (eye centres, nose tip, mouth corners)."""
    lm = np.asarray(landmarks, np.float32)[:, :2]
    return np.stack([lm[36:42].mean(0), lm[42:48].mean(0), lm[30], lm[48], lm[54]]).astype(np.float32)


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Intersection over union of boxes ``a`` (N, 4) and ``b`` (M, 4) → (N, M)."""
    a = np.asarray(a, np.float64).reshape(-1, 4)
    b = np.asarray(b, np.float64).reshape(-1, 4)
    x0 = np.maximum(a[:, None, 0], b[None, :, 0])
    y0 = np.maximum(a[:, None, 1], b[None, :, 1])
    x1 = np.minimum(a[:, None, 2], b[None, :, 2])
    y1 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    return inter / np.maximum(area_a[:, None] + area_b[None, :] - inter, 1e-9)
