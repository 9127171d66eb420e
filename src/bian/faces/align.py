"""Alignment: similarity transforms between a face's landmarks and a canonical face.

The canonical face is the 5-point template of the FFHQ crop that GFPGAN, CodeFormer and GPEN were
trained on (eyes, nose tip, mouth corners of a 512 × 512 aligned face). Matrices are OpenCV 2×3
affine matrices mapping picture pixels to aligned-crop pixels.
"""
from __future__ import annotations

import cv2
import numpy as np

TEMPLATE_512 = np.array([[192.98138, 239.94708], [318.90277, 240.19360], [256.63416, 314.01935],
                         [201.26117, 371.41043], [313.08905, 371.15118]], np.float32)
"""``Face.points5`` positions in a 512 × 512 FFHQ-aligned face."""


def similarity(src: np.ndarray, dst: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """Least-squares similarity (rotation, uniform scale, translation; no reflection) taking points
    ``src`` (N, 2) onto ``dst`` (N, 2), optionally weighted per point. Returns a 2×3 float64 matrix."""
    src = np.asarray(src, np.float64)[:, :2]
    dst = np.asarray(dst, np.float64)[:, :2]
    w = np.ones(len(src)) if weights is None else np.asarray(weights, np.float64)
    w = w / w.sum()
    mu_s, mu_d = w @ src, w @ dst
    s, d = src - mu_s, dst - mu_d
    cov = (d * w[:, None]).T @ s
    u, sig, vt = np.linalg.svd(cov)
    flip = np.diag([1.0, np.sign(np.linalg.det(u) * np.linalg.det(vt)) or 1.0])
    rot = u @ flip @ vt
    var = (w * (s ** 2).sum(1)).sum()
    scale = (sig * np.diag(flip)).sum() / max(var, 1e-12)
    matrix = np.empty((2, 3))
    matrix[:, :2] = scale * rot
    matrix[:, 2] = mu_d - matrix[:, :2] @ mu_s
    return matrix


def apply(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Points (N, ≥2) through a 2×3 matrix → (N, 2) float32 (extra columns such as z are dropped)."""
    pts = np.asarray(points, np.float64)[:, :2]
    return (pts @ np.asarray(matrix)[:, :2].T + np.asarray(matrix)[:, 2]).astype(np.float32)


def invert(matrix: np.ndarray) -> np.ndarray:
    return cv2.invertAffineTransform(np.asarray(matrix, np.float64))


def align_matrix(points5: np.ndarray, size: int = 512) -> np.ndarray:
    """2×3 matrix taking a face with ``points5`` into a ``size`` × ``size`` FFHQ-aligned crop."""
    return similarity(points5, TEMPLATE_512 * (size / 512.0))


def warp(image: np.ndarray, matrix: np.ndarray, size: int | tuple[int, int],
         border: int = cv2.BORDER_REFLECT101) -> np.ndarray:
    """Resample ``image`` (H×W×C float32) through ``matrix`` into a crop of ``size`` (side, or (w, h));
    bicubic, with mirrored borders so a face at the picture's edge gets no black band."""
    w, h = (size, size) if np.isscalar(size) else size
    return cv2.warpAffine(image, np.asarray(matrix, np.float64), (int(w), int(h)), flags=cv2.INTER_CUBIC,
                          borderMode=border)


def align_face(image: np.ndarray, points5: np.ndarray, size: int = 512) -> tuple[np.ndarray, np.ndarray]:
    """The FFHQ-aligned ``size`` crop of the face with ``points5`` and the matrix that made it."""
    matrix = align_matrix(points5, size)
    return warp(image, matrix, size), matrix
