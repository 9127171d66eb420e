"""Dense optical flow between luminance images, warping along it, and how far to trust it.

DIS optical flow (Kroeger et al. 2016, OpenCV's implementation) on 8-bit luminance: fast on a CPU
and deterministic. Flow ``f`` from picture A to picture B gives, for each pixel p of A, the position
p + f(p) of the same point in B, so ``warp(B_data, f)`` brings B's data onto A's pixel grid.
"""
from __future__ import annotations

import cv2
import numpy as np


def _grey8(L: np.ndarray) -> np.ndarray:
    return np.clip(L * 2.55 + 0.5, 0, 255).astype(np.uint8)


def flow(L_from: np.ndarray, L_to: np.ndarray) -> np.ndarray:
    """h×w×2 float32 flow (dx, dy) from ``L_from`` to ``L_to`` (h×w luminance in [0, 100])."""
    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    return dis.calc(_grey8(L_from), _grey8(L_to), None)


def warp(data: np.ndarray, f: np.ndarray) -> np.ndarray:
    """Sample ``data`` (h×w or h×w×C) at p + f(p) for every pixel p (bilinear, borders replicated)."""
    h, w = f.shape[:2]
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    return cv2.remap(data, gx + f[..., 0], gy + f[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def reliability(forward: np.ndarray, backward: np.ndarray, L_from: np.ndarray, L_to: np.ndarray,
                motion_tol: float = 1.0, lum_tol: float = 6.0) -> np.ndarray:
    """h×w weight in [0, 1] for flow ``forward`` (from→to), given ``backward`` (to→from).

    Low where going there and back does not return to the start (occlusions, bad flow) or where the
    luminance found there differs (a cut, a flash, an object that changed).
    """
    round_trip = forward + warp(backward, forward)
    miss = np.sum(round_trip * round_trip, axis=2) / (motion_tol**2 + 0.01 * np.sum(forward * forward, axis=2))
    diff = warp(L_to, forward) - L_from
    return np.exp(-0.5 * miss - 0.5 * (diff / lum_tol) ** 2).astype(np.float32)
