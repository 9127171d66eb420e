"""Measure a source's film grain and synthesise fresh grain with the same look.

After denoising, a frame looks plastic; re-adding grain of the source's size, brightness dependence
and colour, at a chosen fraction of its strength, keeps the film look without the original noise.
Grain is modelled as white Gaussian noise clumped by a Gaussian blur: such noise has autocorrelation
``exp(-d² / 4s²)`` at distance ``d`` for blur ``s``, so the correlation of neighbouring grain values
gives ``s``.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .denoise import luma_chroma, rgb_from
from .noise import NoiseModel

_MAX_CLUMP = 3.0
"""Largest grain blur (pixels) measured; beyond this the residual is image structure, not grain."""


@dataclass(frozen=True)
class GrainStats:
    noise: NoiseModel
    """Luma grain level against brightness."""
    clump: float
    """Blur (pixels) that turns white noise into grain of the measured size; 0 for pixel-sized grain."""
    colour: float
    """Chroma grain relative to luma grain (0 for black-and-white silver grain)."""


def measure_grain(source: np.ndarray, clean: np.ndarray, noise: NoiseModel) -> GrainStats:
    """Grain statistics of ``source`` given its denoised version ``clean`` (both float32 RGB H×W×3 in
    [0, 1]) and the grain level model ``noise`` measured on the source."""
    y_src, c_src = luma_chroma(source)
    y_cln, c_cln = luma_chroma(clean)
    resid = y_src - y_cln
    # Look only where the picture is flat: there the residual is grain, not lost detail.
    smooth = cv2.GaussianBlur(y_cln, (0, 0), 2.0)
    texture = np.hypot(cv2.Sobel(smooth, cv2.CV_32F, 1, 0), cv2.Sobel(smooth, cv2.CV_32F, 0, 1))
    flat = texture <= np.quantile(texture, 0.5)
    pairs_x = flat[:, 1:] & flat[:, :-1]
    pairs_y = flat[1:, :] & flat[:-1, :]
    power = float(np.mean(resid[flat] ** 2)) + 1e-12
    lag1 = (float(np.mean((resid[:, 1:] * resid[:, :-1])[pairs_x])) +
            float(np.mean((resid[1:, :] * resid[:-1, :])[pairs_y]))) / (2 * power)
    clump = 0.0 if lag1 <= 0.05 else min(_MAX_CLUMP, float(np.sqrt(-1.0 / (4.0 * np.log(min(lag1, 0.98))))))
    chroma_resid = (c_src - c_cln)[flat]
    colour = float(np.sqrt(np.mean(chroma_resid ** 2) / power))
    return GrainStats(noise, clump, colour)


def add_grain(clean: np.ndarray, stats: GrainStats, seed: int, amount: float = 0.5) -> np.ndarray:
    """``clean`` (float32 RGB H×W×3 in [0, 1]) with synthetic grain of ``stats`` at ``amount`` times the
    source's strength. ``seed`` fixes the grain pattern (use the frame index, so reruns are identical).
    Returns float32 RGB in [0, 1]."""
    rng = np.random.default_rng(seed)
    y, chroma = luma_chroma(clean)
    h, w = y.shape
    sigma = stats.noise.sigma(y).astype(np.float32) * np.float32(amount)
    fields = rng.standard_normal((h, w, 3), dtype=np.float32)
    if stats.clump > 0.1:
        fields = cv2.GaussianBlur(fields, (0, 0), stats.clump)
        fields /= fields.reshape(-1, 3).std(axis=0) + 1e-8
    y = y + sigma * fields[..., 0]
    chroma = chroma + (sigma * np.float32(stats.colour))[..., None] * fields[..., 1:]
    return np.clip(rgb_from(y, chroma), 0.0, 1.0)
