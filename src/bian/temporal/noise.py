"""Film grain level as a function of brightness, and the transform that makes it uniform.

Grain in a scan is part signal-independent (scanner, base fog) and part signal-dependent (silver
grain, photon noise), so its variance is modelled as ``σ²(y) = a + b·y`` over luma ``y`` in [0, 1].
The generalised Anscombe transform ``g(y) = ∫ dy / σ(y)`` then turns it into noise of unit variance,
which lets a denoiser with one global threshold (non-local means) treat shadows and highlights alike.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

_FLOOR = 1e-3 ** 2
"""Smallest variance the model allows (σ = 0.001, about a quarter of an 8-bit level)."""


@dataclass(frozen=True)
class NoiseModel:
    a: float
    """Variance at black."""
    b: float
    """Change of variance per unit of luma (may be negative: some scans are noisier in the shadows)."""

    def sigma(self, y: np.ndarray | float) -> np.ndarray | float:
        """Standard deviation of the grain at luma ``y`` (float, [0, 1])."""
        return np.sqrt(np.maximum(self.a + self.b * np.clip(y, 0.0, 1.0), _FLOOR))

    def stabilise(self, y: np.ndarray) -> np.ndarray:
        """Luma (float32, [0, 1]) → values whose grain has unit standard deviation."""
        y = np.asarray(y, np.float32)
        if abs(self.b) < 1e-9:
            return y / np.float32(np.sqrt(self.a))
        ya = np.clip(y, 0.0, 1.0)
        root = np.sqrt(np.maximum(self.a + self.b * ya, _FLOOR))
        # Outside [0, 1] (overshoot of a filter) continue linearly with the end slope.
        out = (2.0 / self.b) * (root - np.sqrt(self.a)) + (y - ya) / root
        return out.astype(np.float32)

    def unstabilise(self, g: np.ndarray) -> np.ndarray:
        """Inverse of :meth:`stabilise` (algebraic; the bias this leaves is far below the grain)."""
        g = np.asarray(g, np.float32)
        if abs(self.b) < 1e-9:
            return g * np.float32(np.sqrt(self.a))
        root = self.b * g / 2.0 + np.sqrt(self.a)
        return ((np.maximum(root, np.sqrt(_FLOOR)) ** 2 - self.a) / self.b).astype(np.float32)


def estimate_noise(lumas: list[np.ndarray], bins: int = 12, samples: int = 30_000) -> NoiseModel:
    """Fit ``σ²(y) = a + b·y`` to the grain of one or more luma frames (float32 H×W in [0, 1]).

    The grain is measured as each pixel minus the mean of its four neighbours two pixels away: far
    enough that clumped grain (correlated over about a pixel) is not averaged into the reference,
    close enough that image structure cancels on flat ground. Only the flattest third of the pixels
    of each brightness bin is used, and a median makes edges and dust irrelevant. At most about
    ``samples`` pixels are looked at (an even grid), which is plenty for a handful of parameters.
    """
    ys, ds, ts = [], [], []
    total = sum(np.asarray(y).size for y in lumas)
    step = max(1, int(np.ceil(np.sqrt(total / samples))))
    for y in lumas:
        y = np.asarray(y, np.float32)
        if min(y.shape) < 16:
            continue
        ring = (y[:-4, 2:-2] + y[4:, 2:-2] + y[2:-2, :-4] + y[2:-2, 4:]) * 0.25
        smooth = cv2.GaussianBlur(y, (0, 0), 2.0)
        gx = cv2.Sobel(smooth, cv2.CV_32F, 1, 0, ksize=3)
        gy = cv2.Sobel(smooth, cv2.CV_32F, 0, 1, ksize=3)
        pick = (slice(2, -2, step), slice(2, -2, step))
        ys.append(smooth[pick].ravel())
        ds.append((y[pick] - ring[::step, ::step]).ravel())
        ts.append((gx[pick] ** 2 + gy[pick] ** 2).ravel())
    if not ys:
        return NoiseModel(_FLOOR, 0.0)
    level, diff, texture = np.concatenate(ys), np.concatenate(ds), np.concatenate(ts)
    parts = [np.arange(len(level))] if bins == 1 else np.array_split(np.argsort(level, kind="stable"), bins)
    centres, variances, counts = [], [], []
    for part in parts:
        if len(part) < 200:
            continue
        t = texture[part]
        flat = t <= np.partition(t, len(t) // 3)[len(t) // 3]
        d = diff[part][flat]
        # median |d| of a Gaussian is 0.6745 σ_d, and σ_d² = 1.25 σ² for independent neighbours
        sigma = np.median(np.abs(d)) / 0.6745 / np.sqrt(1.25)
        centres.append(level[part].mean())
        variances.append(sigma * sigma)
        counts.append(len(d))
    if not centres:
        return NoiseModel(_FLOOR, 0.0)
    x, v, n = (np.asarray(t, np.float64) for t in (centres, variances, counts))
    if len(x) < 2 or np.ptp(x) < 0.05:
        return NoiseModel(max(float(np.average(v, weights=n)), _FLOOR), 0.0)
    b, a = np.polyfit(x, v, 1, w=np.sqrt(n))
    # Keep the variance positive over the whole [0, 1] range.
    a = max(a, _FLOOR)
    b = max(b, _FLOOR - a)
    return NoiseModel(float(a), float(b))
