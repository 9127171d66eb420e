"""Dense motion between frames and the geometry the interpolators build on it.

Conventions: a flow or displacement field is float32 H×W×2 (x, y) in pixels; ``f01[y, x]`` says
where the pixel at (x, y) of frame 0 is found in frame 1. Grey pictures for flow are uint8 H×W.
"""
from __future__ import annotations

import functools

import cv2
import numpy as np

from ..analysis.luma import luma_of

ITERATIONS = 2


def luma_u8(rgb: np.ndarray) -> np.ndarray:
    """float32 RGB H×W×3 in [0, 1] (or H×W grey) → uint8 luma H×W."""
    return np.clip(luma_of(rgb) * 255.0 + 0.5, 0, 255).astype(np.uint8)


def _dis() -> cv2.DISOpticalFlow:
    # OpenCV's "ultrafast" DIS (patch 8, stride 4, 12 gradient-descent steps, no variational
    # refinement) run down to full working resolution: on film it matches as well as the "fast" preset
    # with refinement at half resolution, for half the time. Mean-normalised patches ignore flicker.
    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST)
    dis.setFinestScale(0)
    dis.setUseMeanNormalization(True)
    return dis


def dense_flow(grey0: np.ndarray, grey1: np.ndarray) -> np.ndarray:
    """Optical flow 0 → 1 (DIS, coarse to fine over an image pyramid, so large motion is found at the
    coarse levels). Inputs uint8 H×W; output float32 H×W×2."""
    return _dis().calc(grey0, grey1, None)


@functools.lru_cache(maxsize=8)
def pixel_grid(height: int, width: int) -> np.ndarray:
    """H×W×2 float32 (x, y) coordinates of every pixel (read-only, shared)."""
    gx, gy = np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))
    grid = np.dstack([gx, gy])
    grid.flags.writeable = False
    return grid


@functools.lru_cache(maxsize=8)
def _coarse_grid(height: int, width: int, rows: int, cols: int) -> tuple[np.ndarray, tuple, tuple]:
    """The pixel grid of a height×width picture seen at rows×cols, and what bilinear upsampling of it
    gets wrong: only the outer rows and columns, where the upsampling clamps instead of extending the
    line ((index, error) of those columns in x, of those rows in y)."""
    sx, sy = width / cols, height / rows
    gx, gy = np.meshgrid((np.arange(cols) + 0.5) * sx - 0.5, (np.arange(rows) + 0.5) * sy - 0.5)
    grid = np.dstack([gx, gy]).astype(np.float32)
    error = cv2.resize(grid, (width, height), interpolation=cv2.INTER_LINEAR) - pixel_grid(height, width)
    ex, ey = error[0, :, 0], error[:, 0, 1]
    bad_x, bad_y = np.flatnonzero(np.abs(ex) > 1e-3), np.flatnonzero(np.abs(ey) > 1e-3)
    grid.flags.writeable = False
    return grid, (bad_x, ex[bad_x]), (bad_y, ey[bad_y, None])


def upsampled_map(offset: np.ndarray, height: int, width: int, out: np.ndarray | None = None) -> np.ndarray:
    """Where each pixel of a height×width picture reads (absolute, for ``cv2.remap``), from ``offset``
    given at a smaller size in the big picture's pixels, upsampled bilinearly: the same as upsampling
    the offset and adding the pixel grid, with one full-size pass fewer. ``out``: a float32
    height×width×2 array to write into."""
    grid, (cx, ex), (ry, ey) = _coarse_grid(height, width, *offset.shape[:2])
    where = cv2.resize(offset + grid, (width, height), dst=out, interpolation=cv2.INTER_LINEAR)
    where[:, cx, 0] -= ex
    where[ry, :, 1] -= ey
    return where


def sample(image: np.ndarray, offset: np.ndarray, scale: float = 1.0, kernel: int = cv2.INTER_LINEAR) -> np.ndarray:
    """``image`` read at (x, y) + ``scale`` · ``offset`` (bilinear unless ``kernel`` says otherwise),
    edges repeated."""
    where = cv2.scaleAdd(offset, scale, pixel_grid(*image.shape[:2]))
    return cv2.remap(image, where, None, kernel, borderMode=cv2.BORDER_REPLICATE)


def squared_length(field: np.ndarray) -> np.ndarray:
    """x² + y² of every vector of an H×W×2 field (numpy's sum over a last axis of two is ten times
    slower than this)."""
    return field[..., 0] * field[..., 0] + field[..., 1] * field[..., 1]


def trajectory(displacement: np.ndarray, iterations: int = ITERATIONS) -> np.ndarray:
    """Given ``displacement[x]`` = where the point starting at x moves to (relative), the displacement
    ``v(y)`` of the point that arrives at y: the fixed point of ``v(y) = displacement(y − v(y))``.
    A few iterations suffice for smooth motion; at motion boundaries the nearest solution is taken."""
    v = displacement
    for _ in range(iterations):
        v = sample(displacement, v, -1.0)
    return v


def occlusion(f01: np.ndarray, f10: np.ndarray) -> np.ndarray:
    """Soft occlusion of frame 0's pixels in frame 1, float32 H×W in [0, 1], from forward–backward
    consistency: a visible pixel returns to itself, ``f01(x) + f10(x + f01(x)) ≈ 0``. The tolerance
    grows with the motion (Sundaram et al. 2010), so fast but consistent motion is not flagged."""
    back = sample(f10, f01)
    err = squared_length(f01 + back)
    tolerance = 0.01 * (squared_length(f01) + squared_length(back)) + 0.5
    return np.clip(err / tolerance - 1.0, 0.0, 1.0)


def quadratic_displacement(f_next: np.ndarray, f_prev: np.ndarray | None, gap_prev: float, s: float
                           ) -> np.ndarray:
    """Displacement of each pixel from its frame to relative time ``s`` (the next frame is at 1, the
    previous one at −``gap_prev``), on the constant-acceleration path through all three frames
    (quadratic interpolation, Xu et al. 2019); linear when there is no previous frame."""
    if f_prev is None:
        return f_next * np.float32(s)
    accel = acceleration(f_next, f_prev, gap_prev)
    velocity = f_next - accel * np.float32(0.5)
    return velocity * np.float32(s) + accel * np.float32(s * s / 2)


def acceleration(f_next: np.ndarray, f_prev: np.ndarray, gap_prev: float) -> np.ndarray:
    """The constant acceleration a of x(s) = v·s + a·s²/2 through x(1) = f_next and x(−gap) = f_prev
    (per pixel, pixels per interval²)."""
    g = gap_prev
    return (f_prev + f_next * np.float32(g)) * np.float32(2.0 / (g * (1.0 + g)))
