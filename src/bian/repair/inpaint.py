"""Spatial fill of damaged pixels.

Three fills, each for what it does best:
- :func:`diffuse`: a membrane (harmonic) fill, fastest; film specks between frames' fills.
- :func:`sparse_fill`: thin cracks and scratches on photos; the picture is rebuilt from few DCT
  coefficients per 8×8 block (Guleryuz 2006, Elad et al. 2005), which carries edges and fine texture
  across a gap that diffusion would blur.
- :func:`patch_fill`: holes too wide for either; texture copied from similar patches nearby.
:func:`inpaint` picks per damaged region.

Images are float32 H×W×C (or H×W) in [0, 1]; masks are bool H×W, True where pixels are to be
replaced. Pixels outside the mask are returned unchanged.
"""
from __future__ import annotations

import cv2
import numpy as np


def diffuse(image: np.ndarray, mask: np.ndarray, iterations: int = 40) -> np.ndarray:
    """Membrane (harmonic) fill: each masked pixel becomes the average of its neighbours, solved
    coarse to fine so wide gaps converge in a few sweeps per level.

    The coarse levels come from mask-weighted downsampling (push-pull), so the first guess at each
    level is already smooth across the gap; Jacobi sweeps then relax it to the membrane.
    """
    if not mask.any():
        return image.copy()
    img = image.astype(np.float32)
    squeeze = img.ndim == 2
    if squeeze:
        img = img[..., None]
    known = (~mask).astype(np.float32)
    levels = [(img * known[..., None], known)]
    while min(levels[-1][1].shape) > 8 and levels[-1][1].min() == 0:
        v, k = levels[-1]
        small_k = cv2.resize(k, (max(1, k.shape[1] // 2), max(1, k.shape[0] // 2)), interpolation=cv2.INTER_AREA)
        small_v = cv2.resize(v, (small_k.shape[1], small_k.shape[0]), interpolation=cv2.INTER_AREA)
        levels.append((small_v.reshape(small_k.shape + (img.shape[2],)), small_k))
    # Coarsest level: normalised values where any weight, global mean elsewhere.
    v, k = levels[-1]
    mean = (v.reshape(-1, v.shape[2]).sum(0) / max(k.sum(), 1e-6)).astype(np.float32)
    guess = np.where(k[..., None] > 1e-6, v / np.maximum(k, 1e-6)[..., None], mean)
    for v, k in reversed(levels[:-1]):
        up = cv2.resize(guess, (k.shape[1], k.shape[0]), interpolation=cv2.INTER_LINEAR).reshape(v.shape)
        exact = k >= 0.999
        value = np.where(exact[..., None], v / np.maximum(k, 1e-6)[..., None], up).reshape(-1, v.shape[2])
        # Jacobi sweeps on the unknown pixels only (their four neighbours gathered by index), so the cost
        # follows the damage, not the image size.
        rows, cols = np.nonzero(~exact)
        hh, ww = k.shape
        index = rows * ww + cols
        around = [np.clip(rows - 1, 0, hh - 1) * ww + cols, np.clip(rows + 1, 0, hh - 1) * ww + cols,
                  rows * ww + np.clip(cols - 1, 0, ww - 1), rows * ww + np.clip(cols + 1, 0, ww - 1)]
        for _ in range(iterations):
            value[index] = 0.25 * (value[around[0]] + value[around[1]] + value[around[2]] + value[around[3]])
        guess = value.reshape(v.shape)
    out = np.where(mask[..., None], guess, img)
    return out[..., 0] if squeeze else out


def inpaint(image: np.ndarray, mask: np.ndarray, hole_radius: float = 6.0) -> np.ndarray:
    """Fill ``mask``: regions reaching further than ``hole_radius`` px from their edge by
    :func:`patch_fill`, the rest (cracks, scratches, specks) by :func:`sparse_fill`."""
    if not mask.any():
        return image.copy()
    depth = cv2.distanceTransform(mask.astype(np.uint8), cv2.DIST_L2, 3)
    count, labels = cv2.connectedComponents(mask.astype(np.uint8), connectivity=8)
    deepest = np.zeros(count, np.float32)
    np.maximum.at(deepest, labels.ravel(), depth.ravel())
    holes = (deepest > hole_radius)[labels] & mask
    out = sparse_fill(image, mask & ~holes)
    return patch_fill(out, holes) if holes.any() else out


_BLOCK = 8


def _dct_matrix(n: int) -> np.ndarray:
    k, i = np.arange(n)[:, None], np.arange(n)[None]
    m = np.cos(np.pi * (2 * i + 1) * k / (2 * n)) * np.sqrt(2 / n)
    m[0] /= np.sqrt(2)
    return m.astype(np.float32)


_DCT = _dct_matrix(_BLOCK)


def sparse_fill(image: np.ndarray, mask: np.ndarray, steps: int = 24, start: float = 0.3, stop: float = 0.005,
                shifts: int = 4) -> np.ndarray:
    """Fill by sparse reconstruction: starting from :func:`diffuse`, repeatedly keep only the DCT
    coefficients of 8×8 blocks above a threshold that falls from ``start`` to ``stop`` (geometric
    steps), putting the intact pixels back after each step. Blocks sit on ``shifts``² offset grids whose
    results are averaged, so no block edge shows. Only blocks holding damaged pixels are transformed.
    Colour images are filled in luma this way, chroma by diffusion (it is smooth in photographs).
    """
    init = diffuse(image, mask)
    if not mask.any():
        return init
    colour = init.ndim == 3 and init.shape[2] == 3
    work = cv2.cvtColor(init, cv2.COLOR_RGB2YCrCb) if colour else init.reshape(init.shape[:2] + (-1,)).copy()
    h, w = mask.shape
    n = _BLOCK
    # The plane lives padded by one block on every side (reflected), so every shifted grid fits.
    padded_mask = np.pad(mask, n, constant_values=False)
    grids = [_block_pixels(padded_mask, n - dy, n - dx, h + dy, w + dx)
             for dy in range(0, n, n // shifts) for dx in range(0, n, n // shifts)]
    inner = (slice(n, n + h), slice(n, n + w))
    plane = np.pad(work[..., 0], n, mode="reflect")
    for threshold in np.geomspace(start, stop, steps):
        total = np.zeros(plane.size, np.float32)
        flat = plane.ravel()
        for index in grids:
            coeffs = _DCT @ flat[index] @ _DCT.T
            coeffs[np.abs(coeffs) < threshold] = 0.0
            total[index] += _DCT.T @ coeffs @ _DCT  # blocks of one grid never overlap
        total = total.reshape(plane.shape)
        plane[inner][mask] = total[inner][mask] / len(grids)
        plane = np.pad(plane[inner], n, mode="reflect")
    work[..., 0] = plane[inner]
    out = cv2.cvtColor(work, cv2.COLOR_YCrCb2RGB) if colour else work.reshape(init.shape)
    return np.where(mask[..., None] if out.ndim == 3 else mask, np.clip(out, 0.0, 1.0), image).astype(np.float32)


def _block_pixels(padded_mask: np.ndarray, top: int, left: int, height: int, width: int) -> np.ndarray:
    """Flat indices (B×8×8) into the padded plane of the grid blocks, starting at (``top``, ``left``)
    and covering ``height`` × ``width``, that hold a masked pixel."""
    n = _BLOCK
    bh, bw = -(-height // n), -(-width // n)
    region = padded_mask[top:top + bh * n, left:left + bw * n]
    touched = np.argwhere(region.reshape(bh, n, bw, n).any(axis=(1, 3)))
    offs = np.arange(n)
    rows = top + touched[:, 0, None, None] * n + offs[None, :, None]
    cols = left + touched[:, 1, None, None] * n + offs[None, None, :]
    return rows * padded_mask.shape[1] + cols


def patch_fill(image: np.ndarray, mask: np.ndarray, patch: int = 9, search: int = 24, matches: int = 8,
               iterations: int = 2, known_weight: float = 1.0, guess_weight: float = 0.3) -> np.ndarray:
    """Non-local patch fill: each damaged pixel becomes a weighted vote of the pixels found at the same
    place in the best-matching undamaged patches nearby (Wexler et al. 2007; Arias et al. 2011).

    Every damaged pixel on a grid of stride 2 anchors a ``patch``×``patch`` window; undamaged windows
    whose centre lies within ``search`` px are compared with it (squared difference over all its
    pixels, the pixels still being guessed counting ``guess_weight`` as much as the intact ones) and the
    ``matches`` closest vote for every damaged pixel of the window, weighted by similarity. Starts from
    :func:`diffuse`; each iteration matches against the previous result, so texture and edges that
    cross the gap are carried in from both sides.
    """
    if not mask.any():
        return image.copy()
    img = image.astype(np.float32)
    squeeze = img.ndim == 2
    if squeeze:
        img = img[..., None]
    h, w, c = img.shape
    r = patch // 2
    result = diffuse(img, mask)
    pad = r + search
    # A source window must lie wholly on intact pixels.
    bad_source = cv2.boxFilter(mask.astype(np.float32), -1, (patch, patch), normalize=False,
                               borderType=cv2.BORDER_CONSTANT) > 0
    bad_source = np.pad(bad_source, search, constant_values=True)
    weight_map = np.where(mask, guess_weight, known_weight).astype(np.float32)
    anchors = np.argwhere(mask & (np.add.outer(np.arange(h), np.arange(w)) % 2 == 0))
    if len(anchors) == 0:
        anchors = np.argwhere(mask)
    for _ in range(iterations):
        padded = cv2.copyMakeBorder(result, pad, pad, pad, pad, cv2.BORDER_REFLECT)
        if padded.ndim == 2:
            padded = padded[..., None]
        wpad = cv2.copyMakeBorder(weight_map, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=0)
        mpad = np.pad(mask, pad, constant_values=False)
        votes = np.zeros((h + 2 * pad, w + 2 * pad, c), np.float64)
        total = np.zeros((h + 2 * pad, w + 2 * pad), np.float64)
        for y, x in anchors:
            py, px = y + pad, x + pad
            template = padded[py - r:py + r + 1, px - r:px + r + 1]
            tw = wpad[py - r:py + r + 1, px - r:px + r + 1]
            area = padded[py - r - search:py + r + search + 1, px - r - search:px + r + search + 1]
            tw_c = np.repeat(np.sqrt(tw)[..., None], c, axis=2)
            ssd = cv2.matchTemplate(area, template, cv2.TM_SQDIFF, mask=tw_c)
            ssd = ssd.reshape(ssd.shape[:2])
            ssd[bad_source[y:y + 2 * search + 1, x:x + 2 * search + 1]] = np.inf
            flat = ssd.ravel()
            k = min(matches, int(np.isfinite(flat).sum()))
            if k == 0:
                continue
            best = np.argpartition(flat, k - 1)[:k]
            d = flat[best] / max(float(tw.sum()) * c, 1e-6)
            weights = np.exp(-(d - d.min()) / (d.min() + 1e-4))
            hole = mpad[py - r:py + r + 1, px - r:px + r + 1]
            acc = np.zeros(template.shape, np.float64)
            for (by, bx), wt in zip(np.column_stack(np.unravel_index(best, ssd.shape)), weights):
                acc += wt * area[by:by + patch, bx:bx + patch]
            region = (slice(py - r, py + r + 1), slice(px - r, px + r + 1))
            votes[region][hole] += acc[hole]
            total[region][hole] += weights.sum()
        votes, total = votes[pad:-pad, pad:-pad], total[pad:-pad, pad:-pad]
        filled = mask & (total > 0)
        result = result.copy()
        result[filled] = (votes[filled] / total[filled, None]).astype(np.float32)
    out = np.where(mask[..., None], result, img)
    return out[..., 0] if squeeze else out
