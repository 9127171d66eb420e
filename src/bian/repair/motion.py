"""Motion compensation for repair: dense optical flow between two frames and warping one onto the other.

Flow is DIS (Kroeger et al. 2016, OpenCV's implementation): fast on a CPU and good enough for film,
whose motion is mostly weave, pans and people walking. Large frames are analysed at reduced size
(film grain and dust carry no motion information at full resolution anyway).
"""
from __future__ import annotations

import cv2
import numpy as np

_MAX_FLOW_SIDE = 960
"""Frames wider or taller than this are analysed at reduced size."""


def flow(target: np.ndarray, source: np.ndarray) -> np.ndarray:
    """Dense flow that maps ``target`` pixels into ``source``: ``target(p) ≈ source(p + flow(p))``.

    Inputs are float32 luma H×W in [0, 1]; output float32 H×W×2 (dx, dy) in pixels.
    """
    h, w = target.shape
    scale = min(1.0, _MAX_FLOW_SIDE / max(h, w))
    a, b = (_to_u8(x, scale) for x in (target, source))
    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_FAST)
    result = dis.calc(a, b, None)
    if scale < 1.0:
        result = cv2.resize(result, (w, h), interpolation=cv2.INTER_LINEAR) / scale
    return result


def _to_u8(luma: np.ndarray, scale: float) -> np.ndarray:
    if scale < 1.0:
        luma = cv2.resize(luma, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    return (np.clip(luma, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def warp(image: np.ndarray, flow_field: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``image`` (float32 H×W or H×W×C) resampled at ``p + flow(p)``; also a bool H×W map of pixels whose
    sample fell inside the image (outside, the edge is repeated and the value is not trustworthy)."""
    h, w = flow_field.shape[:2]
    xs, ys = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    map_x, map_y = xs + flow_field[..., 0], ys + flow_field[..., 1]
    out = cv2.remap(image, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    inside = (map_x >= 0) & (map_x <= w - 1) & (map_y >= 0) & (map_y <= h - 1)
    return out, inside


def fill_flow(flow_field: np.ndarray, mask: np.ndarray, radius: float = 6.0) -> np.ndarray:
    """Replace flow under ``mask`` (bool H×W) by a weighted average of the flow around it.

    Defects have no true match in the other frame, so the flow measured on them is noise; the motion of
    their surroundings is the best guess. Normalised convolution with a Gaussian of ``radius`` px,
    repeated with a wider one where a defect is too large for the first to reach across.
    """
    if not mask.any():
        return flow_field
    out = flow_field.copy()
    known = (~mask).astype(np.float32)
    todo = mask.copy()
    sigma = radius
    while todo.any() and sigma < 4 * max(mask.shape):
        weight = cv2.GaussianBlur(known, (0, 0), sigma)
        summed = cv2.GaussianBlur(flow_field * known[..., None], (0, 0), sigma)
        reach = todo & (weight > 1e-3)
        out[reach] = summed[reach] / weight[reach, None]
        todo &= ~reach
        sigma *= 3
    return out
