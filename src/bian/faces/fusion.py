"""Multi-frame fusion of one face: align the same face from neighbouring frames and average them.

Grain is independent from frame to frame while the face is not, so an average of N well-aligned
copies has √N less grain, and detail that grain hid in one frame shows through in the mean.
Alignment is coarse then fine: a similarity transform from the (tracked) landmarks brings each
neighbour's face onto the current one, then dense optical flow (DIS) fixes what a similarity cannot
(expression, head turn, lens distortion). Each aligned pixel is weighted by how well it agrees with
the current frame after blurring away grain, so occlusions, blinks and flow errors fall out of the
mean instead of ghosting into it.
"""
from __future__ import annotations

import cv2
import numpy as np

from .align import similarity


def _grey_u8(image: np.ndarray, sigma: float) -> np.ndarray:
    grey = cv2.GaussianBlur(image.mean(axis=2).astype(np.float32), (0, 0), sigma)
    return (np.clip(grey, 0, 1) * 255 + 0.5).astype(np.uint8)


def align_neighbour(frame: np.ndarray, landmarks: np.ndarray, ref_landmarks: np.ndarray, ref_crop: np.ndarray,
                    region: tuple[int, int, int, int], grain_sigma: float = 1.2) -> np.ndarray:
    """``frame``'s face warped onto ``ref_crop`` (the current frame's ``region`` = x0, y0, x1, y1).

    frame: H×W×3 float32; landmarks / ref_landmarks: (N, 2) of the same face in ``frame`` and in the
    current frame (picture pixels). Returns a float32 crop shaped like ``ref_crop``."""
    x0, y0, x1, y1 = region
    matrix = similarity(landmarks, ref_landmarks)
    matrix[:, 2] -= (x0, y0)
    size = (x1 - x0, y1 - y0)
    coarse = cv2.warpAffine(frame, matrix, size, flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT101)
    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    flow = dis.calc(_grey_u8(ref_crop, grain_sigma), _grey_u8(coarse, grain_sigma), None)
    gx, gy = np.meshgrid(np.arange(size[0], dtype=np.float32), np.arange(size[1], dtype=np.float32))
    return cv2.remap(coarse, gx + flow[..., 0], gy + flow[..., 1], cv2.INTER_CUBIC,
                     borderMode=cv2.BORDER_REFLECT101)


def fuse(ref_crop: np.ndarray, aligned: list[np.ndarray], noise: float,
         temporal_weights: list[float] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Robust weighted mean of ``ref_crop`` and its ``aligned`` neighbours (all H×W×3 float32 in [0, 1]).

    noise: grain σ of the crops. A neighbour pixel's weight falls with the squared difference between
    the blurred neighbour and the blurred reference, on the scale of the grain that survives the blur. Returns (fused crop, effective frame count H×W).
    """
    blur = 1.5
    ref_low = cv2.GaussianBlur(ref_crop, (0, 0), blur)
    diffs = [(cv2.GaussianBlur(crop, (0, 0), blur) - ref_low).mean(axis=2) for crop in aligned]
    # Scale of an "agreeing" difference: grain left after the blur, measured robustly over all neighbours
    # (most of their pixels are well aligned), never below what the noise σ alone predicts.
    tau = 0.01 + noise / (2 * np.sqrt(np.pi) * blur)
    if diffs:
        tau = max(tau, 2.5 * 1.4826 * float(np.median(np.abs(np.stack(diffs)))))
    total = ref_crop.astype(np.float32).copy()
    weight_sum = np.ones(ref_crop.shape[:2], np.float32)
    temporal_weights = temporal_weights or [1.0] * len(aligned)
    for crop, diff, tw in zip(aligned, diffs, temporal_weights):
        w = (tw * np.exp(-0.5 * (diff / tau) ** 2)).astype(np.float32)
        total += w[..., None] * crop
        weight_sum += w
    return total / weight_sum[..., None], weight_sum
