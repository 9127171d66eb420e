"""Reference-based chroma: dense correspondence from a grey picture to colour references, then
chroma transfer.

Correspondences are found on luminance and texture features, never on colour (the target has none):
each picture's luminance is first remapped to the target's mean and spread (Hertzmann et al.'s
luminance remapping, so exposure differences do not break matching), then every pixel is described by
multi-scale smoothed luminance, gradients and local contrast. A vectorised PatchMatch (Barnes et al.
2009: random initialisation, propagation from neighbours, random search at shrinking radii) finds for
each target pixel its nearest reference pixel in that feature space; several references are packed
side by side into one atlas so the search spans all of them. The matched pixel's chroma is the
transfer, and the feature distance becomes a confidence that the edge-aware solver
(:mod:`bian.colour.propagate`) uses to keep good matches and fill in poor ones.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .propagate import working_shape

_GAP = 8
"""Blank columns between references in the atlas, so patches never straddle two references."""


@dataclass
class Reference:
    """A colour reference prepared for matching: luminance and chroma at matching resolution."""

    L: np.ndarray
    """h×w float32 luminance in [0, 100]."""
    ab: np.ndarray
    """h×w×2 float32 chroma."""


def prepare_reference(lab: np.ndarray, size: int) -> Reference:
    """A reference picture (H×W×3 Lab) shrunk so its long side is at most ``size`` pixels."""
    h, w = working_shape(lab.shape[:2], size)
    small = cv2.resize(lab.astype(np.float32), (w, h), interpolation=cv2.INTER_AREA)
    return Reference(L=np.ascontiguousarray(small[..., 0]), ab=np.ascontiguousarray(small[..., 1:]))


def remap_luminance(L: np.ndarray, mean: float, std: float) -> np.ndarray:
    """``L`` shifted and scaled to the given mean and standard deviation."""
    return (L - L.mean()) * (std / (L.std() + 1e-6)) + mean


def features(L: np.ndarray) -> np.ndarray:
    """h×w×D float32 per-pixel description of luminance and texture around each pixel."""
    L = L.astype(np.float32)
    out = []
    for sigma in (1.0, 2.0, 4.0):
        smooth = cv2.GaussianBlur(L, (0, 0), sigma)
        out.append(smooth)
        gx = cv2.Sobel(smooth, cv2.CV_32F, 1, 0, ksize=3) / 8
        gy = cv2.Sobel(smooth, cv2.CV_32F, 0, 1, ksize=3) / 8
        out += [gx * sigma, gy * sigma]
        mean = cv2.GaussianBlur(L, (0, 0), 2 * sigma)
        var = cv2.GaussianBlur(L * L, (0, 0), 2 * sigma) - mean * mean
        out.append(np.sqrt(np.maximum(var, 0)))
    return np.stack(out, axis=2)


def _atlas(refs: list[np.ndarray], fill: float) -> np.ndarray:
    """References (h_i×w_i×C) side by side, separated and padded with ``fill``."""
    h = max(r.shape[0] for r in refs)
    w = sum(r.shape[1] for r in refs) + _GAP * (len(refs) - 1)
    atlas = np.full((h, w, refs[0].shape[2]), fill, np.float32)
    x = 0
    for r in refs:
        atlas[: r.shape[0], x : x + r.shape[1]] = r
        x += r.shape[1] + _GAP
    return atlas


def patchmatch(target: np.ndarray, source: np.ndarray, valid: np.ndarray, iterations: int = 4,
               seed: int = 0, init: tuple[np.ndarray, np.ndarray] | None = None,
               steps: tuple[int, ...] = (8, 4, 2, 1), radius: int | None = None):
    """Nearest-neighbour field from ``target`` (h×w×D) into ``source`` (H×W×D) features.

    Only ``source`` pixels where ``valid`` (H×W bool) is true are matched. ``init`` (ys, xs) starts
    from a known field instead of a random one; ``steps`` are the propagation distances (jump
    flooding) and ``radius`` the widest random search (default: the whole source). Returns
    (ys, xs, cost): the matched source coordinates (h×w int) and the squared feature distance
    (h×w float32). Deterministic for a given ``seed``.
    """
    rng = np.random.default_rng(seed)
    h, w, _ = target.shape
    H, W, _ = source.shape
    src = source.reshape(H * W, -1)
    bad = np.float32(np.inf)
    vy, vx = np.nonzero(valid)

    def cost(ys, xs):
        d = src[ys * W + xs] - target
        c = np.einsum("ijk,ijk->ij", d, d)
        c[~valid[ys, xs]] = bad
        return c

    if init is None:
        pick = rng.integers(0, len(vy), size=(h, w))
        ys, xs = vy[pick], vx[pick]
    else:
        ys, xs = np.clip(init[0], 0, H - 1), np.clip(init[1], 0, W - 1)
    best = cost(ys, xs)

    def consider(cy, cx):
        nonlocal ys, xs, best
        cy = np.clip(cy, 0, H - 1)
        cx = np.clip(cx, 0, W - 1)
        c = cost(cy, cx)
        better = c < best
        ys, xs, best = np.where(better, cy, ys), np.where(better, cx, xs), np.where(better, c, best)

    for _ in range(iterations):
        for step in steps:
            for dy, dx in ((0, step), (0, -step), (step, 0), (-step, 0)):
                # the neighbour at (y+dy, x+dx) matched (ny, nx); offer (ny−dy, nx−dx) to (y, x)
                ny = np.roll(ys, (-dy, -dx), axis=(0, 1)) - dy
                nx = np.roll(xs, (-dy, -dx), axis=(0, 1)) - dx
                consider(ny, nx)
        reach = radius or max(H, W)
        while reach >= 1:
            consider(ys + rng.integers(-reach, reach + 1, size=(h, w)),
                     xs + rng.integers(-reach, reach + 1, size=(h, w)))
            reach //= 2
    return ys, xs, best


def _normalised_features(L: np.ndarray, refs: list[Reference]):
    """Features of the target and of each reference (its luminance remapped to the target's), all
    divided by the target's per-feature spread so every feature counts alike."""
    mean, std = float(L.mean()), float(L.std())
    target = features(L)
    scale = target.reshape(-1, target.shape[2]).std(axis=0) + 1e-3
    return target / scale, [features(remap_luminance(r.L, mean, std)) / scale for r in refs]


def scores(L: np.ndarray, refs: list[Reference], iterations: int = 3) -> np.ndarray:
    """How well each reference explains a grey picture: the mean matching cost of ``L`` (h×w,
    [0, 100]) against each reference alone (lower is better). Used to pick references per shot."""
    target, feats = _normalised_features(L, refs)
    out = []
    for f in feats:
        _, _, cost = patchmatch(target, f, np.ones(f.shape[:2], bool), iterations=iterations)
        out.append(float(np.mean(cost)))
    return np.array(out)


def _half(ref: Reference) -> Reference:
    h, w = max(1, ref.L.shape[0] // 2), max(1, ref.L.shape[1] // 2)
    area = lambda x: cv2.resize(x, (w, h), interpolation=cv2.INTER_AREA)
    return Reference(L=area(ref.L), ab=area(ref.ab))


def _offsets(refs: list[Reference]) -> np.ndarray:
    """Left edge of each reference in the atlas."""
    widths = [r.L.shape[1] for r in refs]
    return np.concatenate([[0], np.cumsum(np.array(widths[:-1]) + _GAP)]).astype(np.int64)


def _match(L: np.ndarray, refs: list[Reference], seed: int):
    """Coarse to fine: a full search on pictures halved until small, then at each finer level the
    doubled field refined by short propagation and a local random search (about 4× cheaper than a
    full search at the finest level, and it finds large structures first)."""
    target, feats = _normalised_features(L, refs)
    atlas = _atlas(feats, 0.0)
    valid = _atlas([np.ones(f.shape[:2] + (1,), np.float32) for f in feats], 0.0)[..., 0] > 0
    if min(L.shape) < 48 or min(r.L.shape[0] for r in refs) < 48:
        return patchmatch(target, atlas, valid, iterations=4, seed=seed)
    coarse_L = cv2.resize(L, (L.shape[1] // 2, L.shape[0] // 2), interpolation=cv2.INTER_AREA)
    coarse = [_half(r) for r in refs]
    cy, cx, _ = _match(coarse_L, coarse, seed)
    # coarse atlas coordinates → reference and position in it → fine atlas coordinates
    coarse_off, fine_off = _offsets(coarse), _offsets(refs)
    k = np.clip(np.searchsorted(coarse_off, cx, side="right") - 1, 0, len(refs) - 1)
    yy, xx = np.mgrid[0 : L.shape[0], 0 : L.shape[1]]
    up = lambda a: a[np.minimum(yy // 2, a.shape[0] - 1), np.minimum(xx // 2, a.shape[1] - 1)]
    iy = 2 * up(cy) + yy % 2
    ix = fine_off[up(k)] + 2 * (up(cx) - coarse_off[up(k)]) + xx % 2
    return patchmatch(target, atlas, valid, iterations=1, seed=seed, init=(iy, ix), steps=(2, 1), radius=4)


def transfer(L: np.ndarray, refs: list[Reference], seed: int = 0):
    """Chroma for a grey picture from colour references.

    ``L``: h×w float32 luminance in [0, 100] at matching resolution. Returns (ab, confidence): h×w×2
    transferred chroma and h×w confidence in (0, 1], 1 for a perfect match and exp(−1) for a match
    eight times worse than the picture's median (textured areas match less exactly but not worse).
    """
    ys, xs, cost = _match(L.astype(np.float32), refs, seed)
    chroma = _atlas([r.ab for r in refs], 0.0)
    typical = float(np.median(cost)) + 1e-6
    return chroma[ys, xs], np.exp(-cost / (8 * typical)).astype(np.float32)
