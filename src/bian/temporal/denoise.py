"""Grain-aware spatio-temporal denoising: motion-compensated non-local means.

For the current frame, each neighbour in the window is warped onto it along dense optical flow, and
non-local means then averages patches across the aligned stack (OpenCV's
``fastNlMeansDenoisingMulti``, Buades et al.). Where the flow is right the neighbours supply many
matching patches (a temporal average); where it is wrong (occlusions, fast motion) their patches do
not match and the filter falls back on the current frame's own similar patches (a spatial denoise).

A still picture has no neighbours: there the filter keeps faint grain as the print's texture and
puts back a share of what it removed (non-local means on one picture takes fine texture with grain).

Grain is signal-dependent, so luma is first passed through the variance-stabilising transform of
:mod:`bian.temporal.noise`; one threshold then fits shadows and highlights. Colour is split into luma
and two opponent chroma planes: luma gets the non-local filter, chroma (mostly noise in film) a
temporal average weighted by how well luma matched, then a guided filter that keeps luma's edges.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .noise import NoiseModel, estimate_noise

TEMPLATE = 5
"""Side of the patches compared (pixels)."""
SEARCH = 5
"""Side of the area searched for similar patches in each aligned frame; small, as alignment did the rest."""
H_TEMPORAL = 1.0
"""Filter threshold in grain standard deviations at strength 1 when neighbours are aligned."""
H_SPATIAL = 0.9
"""The same for a single picture, which has no neighbours to average (lower: on one picture the filter
also averages fine texture whose patches differ from each other by little more than the grain)."""
STILL_GRAIN_KEPT = 4 / 255
"""Grain σ a still picture keeps at strength 1 as the texture of its print (as faces do,
bian.faces.enhance): the filter removes only the grain above it, and a picture with no more than this is
left as it is. Divided by the strength, so a strong denoise reaches fainter grain."""
STILL_TEXTURE_BACK = 0.2
"""Share of what the filter removed from a still that is put back: the texture it took with the grain."""


_TO_OPPONENT = np.float32([[1 / 3, 1 / 3, 1 / 3], [0.5, 0.0, -0.5], [0.25, -0.5, 0.25]])


def luma_chroma(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Float32 RGB H×W×3 → luma H×W (channel mean) and two opponent chroma planes H×W×2."""
    out = cv2.transform(np.ascontiguousarray(rgb, np.float32), _TO_OPPONENT)
    return np.ascontiguousarray(out[..., 0]), np.ascontiguousarray(out[..., 1:])


def rgb_from(y: np.ndarray, chroma: np.ndarray) -> np.ndarray:
    """Inverse of :func:`luma_chroma`."""
    c1, c2 = chroma[..., 0], chroma[..., 1]
    g = y - c2 * np.float32(4 / 3)
    r = y + c1 + c2 * np.float32(2 / 3)
    b = y - c1 + c2 * np.float32(2 / 3)
    return np.stack([r, g, b], axis=-1)


def is_grey(chroma: np.ndarray) -> bool:
    """True when the opponent chroma planes (from :func:`luma_chroma`) say the three channels agree
    to within half an 8-bit level (a black-and-white source)."""
    return float(np.abs(chroma).max()) <= 0.25 / 255


@dataclass(frozen=True)
class Planes:
    """One frame prepared for denoising (see :func:`split`)."""
    luma: np.ndarray
    chroma: np.ndarray
    grey: bool
    noise: NoiseModel
    """Grain measured on this frame alone."""
    guide: np.ndarray
    """Half-size 8-bit luma for motion estimation: grain carries no motion, and at half size the flow
    neither chases it nor costs much."""
    chroma_grain: float
    """σ of the chroma grain (0 for a grey frame)."""


def split(rgb: np.ndarray) -> Planes:
    """Float32 RGB H×W×3 in [0, 1] → its luma, chroma, greyness and grain model."""
    y, chroma = luma_chroma(rgb)
    half = cv2.resize(y, (max(8, y.shape[1] // 2), max(8, y.shape[0] // 2)), interpolation=cv2.INTER_AREA)
    grey = is_grey(chroma)
    # Chroma sits around 0; shifted to mid-grey, the luma grain measure reads its σ as well.
    chroma_grain = 0.0 if grey else float(estimate_noise([chroma[..., 0] + 0.5, chroma[..., 1] + 0.5],
                                                         bins=1).sigma(0.5))
    return Planes(y, chroma, grey, estimate_noise([y]), _to_u8(half * 255.0), chroma_grain)


def pooled(models: list[NoiseModel]) -> NoiseModel:
    """One grain model for a window: the average of the frames' models (grain changes slowly)."""
    return NoiseModel(float(np.mean([m.a for m in models])), float(np.mean([m.b for m in models])))


def denoise(frames: list[np.ndarray], center: int, strength: float = 1.0,
            noise: NoiseModel | None = None) -> np.ndarray:
    """Denoise ``frames[center]`` using the other frames of the window (all of one shot).

    frames: float32 RGB H×W×3 in [0, 1], consecutive, all the same size. strength: multiplies the
    filter threshold (1 = remove grain of the measured level; 0.5 gentle; 2 strong). noise: the grain
    model; measured on the window's frames when None. Returns float32 RGB H×W×3 in [0, 1].
    """
    return denoise_planes([split(f) for f in frames], center, strength, noise)


def denoise_planes(planes: list[Planes], center: int, strength: float = 1.0,
                   noise: NoiseModel | None = None) -> np.ndarray:
    """:func:`denoise` on frames already passed through :func:`split` (a stage splits each frame once
    and reuses it in every window it belongs to)."""
    noise = noise or pooled([p.noise for p in planes])
    ys = [p.luma for p in planes]
    chromas = [p.chroma for p in planes]
    grey = planes[center].grey
    stable = [noise.stabilise(y) for y in ys]
    low, high = noise.stabilise(np.float32(0.0)), noise.stabilise(np.float32(1.0))
    levels = 255.0 / float(high - low)  # 8-bit steps per grain standard deviation
    as_u8 = [_to_u8((g - low) * levels) for g in stable]

    if len(planes) == 1:
        # Grain up to `kept` is the print's texture: the threshold falls as √(σ² − kept²) at the
        # picture's typical brightness, and a share of what the filter removed goes back.
        typical = float(noise.sigma(float(np.median(ys[0]))))
        kept = STILL_GRAIN_KEPT / strength
        h = strength * H_SPATIAL * levels * np.sqrt(max(1.0 - (kept / typical) ** 2, 0.0))
        y_clean = ys[0]
        if h > 0:
            out = cv2.fastNlMeansDenoising(as_u8[0], None, h=h, templateWindowSize=7, searchWindowSize=21)
            y_filtered = noise.unstabilise(out.astype(np.float32) / levels + low)
            y_clean = y_filtered + np.float32(STILL_TEXTURE_BACK) * (ys[0] - y_filtered)
        if grey:
            return _grey_rgb(y_clean)
        return _with_chroma(y_clean, [chromas[0]], [np.ones_like(ys[0])], planes[0].chroma_grain)

    # Align every neighbour on the current frame; for colour, also its chroma, with weights saying how
    # well each aligned pixel matches (patch distance in grain units: ~2 where aligned, as two
    # independent grains differ by √2 σ, large where not).
    def align(j):
        if j == center:
            return as_u8[j], chromas[j], np.ones_like(ys[j])
        field = _full_size(_flow(planes[center].guide, planes[j].guide), ys[j].shape)
        moved, inside = _warp(stable[j], field)
        if grey:
            return _to_u8((moved - low) * levels), None, None
        distance = cv2.blur((moved - stable[center]) ** 2, (TEMPLATE, TEMPLATE))
        return (_to_u8((moved - low) * levels), _warp(chromas[j], field)[0],
                np.exp(-np.maximum(distance - 2.0, 0.0)) * inside)

    aligned_u8, aligned_chroma, weights = zip(*(align(j) for j in range(len(planes))))

    stack, index = _symmetric(list(aligned_u8), center)
    h = strength * H_TEMPORAL * levels
    out = cv2.fastNlMeansDenoisingMulti(stack, index, len(stack), h=h, templateWindowSize=TEMPLATE,
                                        searchWindowSize=SEARCH)
    y_clean = noise.unstabilise(out.astype(np.float32) / levels + low)
    if grey:
        return _grey_rgb(y_clean)
    return _with_chroma(y_clean, list(aligned_chroma), list(weights), planes[center].chroma_grain)


def _flow(target: np.ndarray, source: np.ndarray) -> np.ndarray:
    """Dense flow (DIS, Kroeger et al. 2016) with ``target(p) ≈ source(p + flow(p))``; H×W×2 float32."""
    # The fast preset: on grainy film it aligns as well as the medium one here (±0.1 dB), in less time.
    return cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_FAST).calc(target, source, None)


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


def _with_chroma(y_clean: np.ndarray, chromas: list[np.ndarray], weights: list[np.ndarray],
                 grain: float) -> np.ndarray:
    """Average the aligned chroma planes with the luma match weights, then smooth them with a guided
    filter steered by the cleaned luma, so colour edges stay where luma has edges. ``grain``: the
    chroma grain σ of one frame."""
    total = np.sum(weights, axis=0)
    chroma = np.sum([w[..., None] * c for w, c in zip(weights, chromas)], axis=0) / total[..., None]
    # Grain variance left after a weighted average of independent frames: σ² Σw² / (Σw)².
    left = grain * grain * float(np.mean(np.sum(np.square(weights), axis=0) / (total * total)))
    out = np.stack([_guided(y_clean, chroma[..., k], 4, 4.0 * left) for k in range(2)], axis=-1)
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
