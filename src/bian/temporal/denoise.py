"""Grain-aware spatio-temporal denoising: motion-compensated non-local means.

For the current frame, each neighbour in the window is warped onto it along dense optical flow, and
non-local means then averages patches across the aligned stack (OpenCV's
``fastNlMeansDenoisingMulti``, Buades et al.). Where the flow is right the neighbours supply many
matching patches (a temporal average); where it is wrong (occlusions, fast motion) their patches do
not match and the filter falls back on the current frame's own similar patches (a spatial denoise).

Grain is signal-dependent, so luma is first passed through the variance-stabilising transform of
:mod:`bian.temporal.noise`; one threshold then fits shadows and highlights. Colour is split into luma
and two opponent chroma planes: luma gets the non-local filter, chroma (mostly noise in film) a
temporal average weighted by how well luma matched, then a guided filter that keeps luma's edges.
"""
from __future__ import annotations

import cv2
import numpy as np

from .noise import NoiseModel, estimate_noise

TEMPLATE = 5
"""Side of the patches compared (pixels)."""
SEARCH = 5
"""Side of the area searched for similar patches in each aligned frame; small, as alignment did the rest."""
H_TEMPORAL = 1.0
"""Filter threshold in grain standard deviations at strength 1 when neighbours are aligned."""
H_SPATIAL = 1.1
"""The same for a single picture, which has no neighbours to average."""


def luma_chroma(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Float RGB H×W×3 → luma H×W (channel mean) and two opponent chroma planes H×W×2."""
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    y = (r + g + b) * np.float32(1 / 3)
    return y, np.stack([(r - b) * np.float32(0.5), (r + b - 2 * g) * np.float32(0.25)], axis=-1)


def rgb_from(y: np.ndarray, chroma: np.ndarray) -> np.ndarray:
    """Inverse of :func:`luma_chroma`."""
    c1, c2 = chroma[..., 0], chroma[..., 1]
    g = y - c2 * np.float32(4 / 3)
    r = y + c1 + c2 * np.float32(2 / 3)
    b = y - c1 + c2 * np.float32(2 / 3)
    return np.stack([r, g, b], axis=-1)


def is_grey(rgb: np.ndarray) -> bool:
    """True when the three channels agree to within half an 8-bit level (a black-and-white source)."""
    return float(np.ptp(rgb, axis=2).max()) <= 0.5 / 255


def denoise(frames: list[np.ndarray], center: int, strength: float = 1.0,
            noise: NoiseModel | None = None) -> np.ndarray:
    """Denoise ``frames[center]`` using the other frames of the window (all of one shot).

    frames: float32 RGB H×W×3 in [0, 1], consecutive, all the same size. strength: multiplies the
    filter threshold (1 = remove grain of the measured level; 0.5 gentle; 2 strong). noise: the grain
    model; measured on the window's frames when None. Returns float32 RGB H×W×3 in [0, 1].
    """
    current = frames[center]
    if noise is None:
        noise = estimate_noise([luma_chroma(f)[0] for f in frames])
    ys, chromas = zip(*(luma_chroma(f) for f in frames))
    stable = [noise.stabilise(y) for y in ys]
    low, high = noise.stabilise(np.float32(0.0)), noise.stabilise(np.float32(1.0))
    levels = 255.0 / float(high - low)  # 8-bit steps per grain standard deviation
    as_u8 = [_to_u8((g - low) * levels) for g in stable]

    if len(frames) == 1:
        h = strength * H_SPATIAL * levels
        out = cv2.fastNlMeansDenoising(as_u8[0], None, h=h, templateWindowSize=7, searchWindowSize=21)
        y_clean = noise.unstabilise(out.astype(np.float32) / levels + low)
        if is_grey(current):
            return _grey_rgb(y_clean)
        return _with_chroma(y_clean, [chromas[0]], [np.ones_like(ys[0])])

    # Align every neighbour on the current frame (flow on half-size stabilised luma, see _flow_guide).
    guide = [_flow_guide((g - low) / float(high - low)) for g in stable]
    aligned_u8, aligned_chroma, weights = [], [], []
    for j in range(len(frames)):
        if j == center:
            aligned_u8.append(as_u8[j])
            aligned_chroma.append(chromas[j])
            weights.append(np.ones_like(ys[j]))
            continue
        field = _full_size(_flow(guide[center], guide[j]), ys[j].shape)
        moved, inside = _warp(stable[j], field)
        aligned_u8.append(_to_u8((moved - low) * levels))
        aligned_chroma.append(_warp(chromas[j], field)[0])
        # Patch distance in grain units: ~2 where aligned (two independent grains), large where not.
        distance = cv2.blur((moved - stable[center]) ** 2, (TEMPLATE, TEMPLATE))
        weights.append(np.exp(-np.maximum(distance - 2.0, 0.0)) * inside)

    stack, index = _symmetric(aligned_u8, center)
    h = strength * H_TEMPORAL * levels
    out = cv2.fastNlMeansDenoisingMulti(stack, index, len(stack), h=h, templateWindowSize=TEMPLATE,
                                        searchWindowSize=SEARCH)
    y_clean = noise.unstabilise(out.astype(np.float32) / levels + low)
    if is_grey(current):
        return _grey_rgb(y_clean)
    return _with_chroma(y_clean, aligned_chroma, weights)


def _flow_guide(image: np.ndarray) -> np.ndarray:
    """Half-size 8-bit picture for motion estimation (``image`` float in [0, 1]): grain carries no
    motion, and at half size the flow neither chases it nor costs much."""
    small = cv2.resize(image, (max(8, image.shape[1] // 2), max(8, image.shape[0] // 2)),
                       interpolation=cv2.INTER_AREA)
    return _to_u8(small * 255.0)


def _flow(target: np.ndarray, source: np.ndarray) -> np.ndarray:
    """Dense flow (DIS, Kroeger et al. 2016) with ``target(p) ≈ source(p + flow(p))``; H×W×2 float32."""
    return cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM).calc(target, source, None)


def _full_size(field: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    scale = np.float32([shape[1] / field.shape[1], shape[0] / field.shape[0]])
    return cv2.resize(field, (shape[1], shape[0]), interpolation=cv2.INTER_LINEAR) * scale


def _warp(image: np.ndarray, field: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``image`` sampled at ``p + field(p)`` (edges repeated), and where that sample fell inside it."""
    h, w = field.shape[:2]
    xs, ys = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    map_x, map_y = xs + field[..., 0], ys + field[..., 1]
    out = cv2.remap(image, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return out, (map_x >= 0) & (map_x <= w - 1) & (map_y >= 0) & (map_y <= h - 1)


def _symmetric(stack: list[np.ndarray], center: int) -> tuple[list[np.ndarray], int]:
    """An odd-length stack centred on ``center`` (the filter needs one), mirroring the longer side
    where the window is cut short (at the ends of a shot)."""
    before, after = stack[:center], stack[center + 1:]
    side = max(len(before), len(after))
    before = (list(reversed(after)) + before)[-side:] if len(before) < side else before
    after = (after + list(reversed(before)))[:side] if len(after) < side else after
    return before + [stack[center]] + after, side


def _with_chroma(y_clean: np.ndarray, chromas: list[np.ndarray], weights: list[np.ndarray]) -> np.ndarray:
    """Average the aligned chroma planes with the luma match weights, then smooth them with a guided
    filter steered by the cleaned luma, so colour edges stay where luma has edges."""
    total = np.sum(weights, axis=0)
    chroma = np.sum([w[..., None] * c for w, c in zip(weights, chromas)], axis=0) / total[..., None]
    # Chroma grain left after averaging, from the same neighbour-difference measure as luma's.
    level = estimate_noise([chroma[..., 0] + 0.5, chroma[..., 1] + 0.5], bins=1).sigma(0.5)
    eps = float(4.0 * level * level)
    out = np.stack([_guided(y_clean, chroma[..., k], 4, eps) for k in range(2)], axis=-1)
    return np.clip(rgb_from(y_clean, out), 0.0, 1.0)


def _guided(guide: np.ndarray, src: np.ndarray, radius: int, eps: float) -> np.ndarray:
    """Guided filter (He et al. 2010): ``src`` smoothed as a local linear function of ``guide``."""
    size = (2 * radius + 1, 2 * radius + 1)
    mean = lambda x: cv2.boxFilter(x, -1, size)  # noqa: E731
    mg, ms = mean(guide), mean(src)
    var_g = mean(guide * guide) - mg * mg
    cov = mean(guide * src) - mg * ms
    a = cov / (var_g + eps)
    b = ms - a * mg
    return mean(a) * guide + mean(b)


def _grey_rgb(y: np.ndarray) -> np.ndarray:
    y = np.clip(y, 0.0, 1.0)
    return np.repeat(y[..., None], 3, axis=2)


def _to_u8(x: np.ndarray) -> np.ndarray:
    return np.clip(x + 0.5, 0, 255).astype(np.uint8)
