"""Temporal stability: each frame's chroma is averaged with its neighbours' chroma carried along
optical flow, inside a finite window that never crosses a scene cut.

Output for frame i depends only on the frames of its window (the stage contract's determinism rule):

    ab_i = Σ_j g(|i−j|) r_ij c_j warp(ab_j → i) / Σ_j g(|i−j|) r_ij c_j

with g a temporal Gaussian, r_ij the reliability of the motion from i to j and c_j the frame's own
confidence (a keyframe with user hints counts more). Motion to a distant frame is the chain of the
flows between consecutive frames, which are reliable where a direct flow across many frames is not
(a runner's limbs) and are computed once per pair. Neighbouring outputs share most of their window,
so per-frame noise (a reference match that flips, a network that changes its mind) is spread thin
instead of flickering.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from .flow import reliability, warp

MOTION_TOL = 3.0
"""Round-trip error (pixels at working size) at which a chained flow's weight falls to exp(−½)."""
LUMA_TOL = 12.0
"""Luminance mismatch (L units) at which a warped neighbour's weight falls to exp(−½)."""


def chains(step: Callable[[int, int], np.ndarray], center: int, count: int) -> dict[int, np.ndarray]:
    """Flows from frame ``center`` to every frame of a run of ``count`` frames, composed from the
    consecutive flows ``step(k, k ± 1)``: f(c→j) = f(c→c±1) + f(c±1→j) read at p + f(c→c±1)(p)."""
    out = {}
    for direction in (-1, 1):
        total = None
        k = center
        while 0 <= k + direction < count:
            f = step(k, k + direction)
            total = f if total is None else total + warp(f, total)
            k += direction
            out[k] = total
    return out


def chains_to(step: Callable[[int, int], np.ndarray], center: int, count: int) -> dict[int, np.ndarray]:
    """Flows from every frame j of the run to ``center``: f(j→c) = f(j→j∓1) + f(j∓1→c) read there."""
    out = {}
    for direction in (-1, 1):
        k = center + direction
        previous = None
        while 0 <= k < count:
            f = step(k, k - direction)
            previous = f if previous is None else f + warp(previous, f)
            out[k] = previous
            k += direction
    return out


def fuse(Ls: list[np.ndarray], abs_: list[np.ndarray], confidences: list[float], center: int,
         step: Callable[[int, int], np.ndarray], sigma: float) -> np.ndarray:
    """Chroma of frame ``center`` averaged with the other frames' chroma along chained flow.

    ``Ls``: luminance (h×w, [0, 100]) of consecutive frames of one shot; ``abs_``: their chroma
    (h×w×2), all at one working size; ``confidences``: a weight per frame (0 for a frame with no
    colour source); ``step(a, b)``: flow between consecutive positions a → b. Returns h×w×2 float32.
    """
    h, w = Ls[center].shape
    num = abs_[center] * np.float32(confidences[center])
    den = np.full((h, w), confidences[center], np.float32)
    forward = chains(step, center, len(Ls))
    backward = chains_to(step, center, len(Ls))
    for j, f in forward.items():
        if confidences[j] <= 0:
            continue
        weight = np.exp(-0.5 * ((j - center) / sigma) ** 2) * confidences[j]
        weight = weight * reliability(f, backward[j], Ls[center], Ls[j], MOTION_TOL, LUMA_TOL)
        num += weight[..., None] * warp(abs_[j], f)
        den += weight
    return (num / np.maximum(den, 1e-6)[..., None]).astype(np.float32)
