"""Realistic film and photo damage added to clean real frames, for benchmarks with a known answer.

Every function takes frames as float32 RGB, shape N×H×W×3 (or one H×W×3 image where noted), values
in [0, 1], and a ``numpy.random.Generator``; it returns new frames (inputs are never changed) plus the
ground truth the benchmark scores against: a defect mask (spots, hairs, scratches, cracks), the
per-frame gains (flicker) or the per-frame shifts (weave).

A defect mask marks the pixels a defect visibly changed: more than ``VISIBLE`` (4 % of full scale)
in some channel. A white speck on a white sky changes nothing and is not counted as damage.

Also here: loading clean frames from the shared real material (:func:`load_frames`) and the two
scores every repair benchmark needs (:func:`psnr`, :func:`mask_precision_recall`).
"""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

VISIBLE = 0.04
"""Smallest change (fraction of full scale) that counts a pixel as damaged in a ground-truth mask."""

GRAIN_LEVELS = {
    # (signal-independent σ, signal-dependent gain k): noise σ(x) = sqrt(σ0² + k·x), x in [0, 1].
    # "light" ≈ σ 0.03 at mid-grey (PSNR ~30 dB), "heavy" ≈ σ 0.065 (PSNR ~23.5 dB), like real 16 mm.
    "light": (0.02, 0.001),
    "heavy": (0.04, 0.005),
}


# ---------------------------------------------------------------- loading clean frames and scoring


def load_frames(source: str | Path, start: int = 0, count: int | None = None,
                crop: tuple[int, int, int, int] | None = None) -> np.ndarray:
    """Frames of a folder of images (sorted by name) or of a video, as float32 N×H×W×3 in [0, 1].

    ``crop`` is (top, left, height, width), applied to every frame to keep benchmarks small.
    """
    source = Path(source)
    frames = []
    if source.is_dir():
        files = sorted(p for p in source.iterdir() if p.suffix.lower() in (".png", ".jpg", ".jpeg", ".tif", ".tiff"))
        files = files[start:] if count is None else files[start:start + count]
        for path in files:
            bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
            frames.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    else:
        import av
        with av.open(str(source)) as container:
            for i, frame in enumerate(container.decode(video=0)):
                if i < start:
                    continue
                if count is not None and len(frames) >= count:
                    break
                frames.append(frame.to_ndarray(format="rgb24"))
    if not frames:
        raise ValueError(f"no frames read from {source}")
    out = np.stack(frames).astype(np.float32) / 255.0
    if crop is not None:
        top, left, height, width = crop
        out = out[:, top:top + height, left:left + width]
    return np.ascontiguousarray(out)


def psnr(result: np.ndarray, reference: np.ndarray, mask: np.ndarray | None = None) -> float:
    """PSNR in dB of float images in [0, 1]; with ``mask`` (bool, H×W or N×H×W) only over those pixels."""
    diff = (np.asarray(result, np.float64) - np.asarray(reference, np.float64)) ** 2
    if mask is not None:
        diff = diff[np.broadcast_to(mask, diff.shape[: mask.ndim])]
    mse = float(diff.mean())
    return float("inf") if mse == 0 else 10.0 * np.log10(1.0 / mse)


def mask_precision_recall(detected: np.ndarray, truth: np.ndarray, tolerance: int = 1) -> tuple[float, float]:
    """Pixel precision and recall of a detected defect mask, each side dilated by ``tolerance`` px.

    Precision: share of detected pixels within ``tolerance`` of a true defect pixel.
    Recall: share of true defect pixels within ``tolerance`` of a detected pixel.
    Both masks are bool, H×W or N×H×W (frames are scored together).
    """
    detected = np.asarray(detected, bool).reshape((-1,) + detected.shape[-2:])
    truth = np.asarray(truth, bool).reshape((-1,) + truth.shape[-2:])
    kernel = np.ones((2 * tolerance + 1,) * 2, np.uint8)
    hit_det = hit_truth = 0
    for d, t in zip(detected, truth):
        t_wide = cv2.dilate(t.astype(np.uint8), kernel).astype(bool)
        d_wide = cv2.dilate(d.astype(np.uint8), kernel).astype(bool)
        hit_det += int((d & t_wide).sum())
        hit_truth += int((t & d_wide).sum())
    precision = hit_det / detected.sum() if detected.any() else 1.0
    recall = hit_truth / truth.sum() if truth.any() else 1.0
    return float(precision), float(recall)


# ---------------------------------------------------------------- local defects


def _blend(image: np.ndarray, alpha: np.ndarray, value: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
    """Lay a defect of opacity ``alpha`` (H×W) and colour ``value`` over ``image``; also its visible mask."""
    a = alpha[..., None]
    out = image * (1.0 - a) + a * np.asarray(value, np.float32)
    visible = np.abs(out - image).max(axis=2) > VISIBLE
    return out.astype(np.float32), visible


def _supersampled(shape: tuple[int, int], draw, factor: int = 4) -> np.ndarray:
    """Render ``draw(canvas, factor)`` at ``factor``× resolution and area-average down: soft, sub-pixel edges."""
    h, w = shape
    canvas = np.zeros((h * factor, w * factor), np.float32)
    draw(canvas, factor)
    return cv2.resize(canvas, (w, h), interpolation=cv2.INTER_AREA)


def _spot_alpha(shape, rng: np.random.Generator, radius: float) -> np.ndarray:
    """An irregular dust speck: a few overlapping ellipses around one centre, soft-edged."""
    h, w = shape
    cy, cx = rng.uniform(0, h), rng.uniform(0, w)
    lobes = [(cx + rng.normal(0, radius / 2), cy + rng.normal(0, radius / 2),
              radius * rng.uniform(0.4, 1.0), radius * rng.uniform(0.3, 1.0), rng.uniform(0, 180))
             for _ in range(rng.integers(1, 4))]

    def draw(canvas, f):
        for x, y, ax, ay, angle in lobes:
            cv2.ellipse(canvas, (int(x * f), int(y * f)), (max(1, int(ax * f)), max(1, int(ay * f))),
                        angle, 0, 360, 1.0, -1)
    return _supersampled(shape, draw)


def _hair_alpha(shape, rng: np.random.Generator, length: float, width: float) -> np.ndarray:
    """A hair or fibre: a thin curve whose direction wanders smoothly."""
    h, w = shape
    steps = max(4, int(length / 3))
    angle = rng.uniform(0, 2 * np.pi) + np.cumsum(rng.normal(0, 0.25, steps))
    x = rng.uniform(0, w) + np.concatenate([[0], np.cumsum(3 * np.cos(angle))])
    y = rng.uniform(0, h) + np.concatenate([[0], np.cumsum(3 * np.sin(angle))])

    def draw(canvas, f):
        pts = np.stack([x * f, y * f], axis=1).round().astype(np.int32)
        cv2.polylines(canvas, [pts], False, 1.0, thickness=max(1, int(round(width * f))), lineType=cv2.LINE_8)
    return _supersampled(shape, draw)


def _defect_value(rng: np.random.Generator, bright: bool) -> np.ndarray:
    """Dust on the negative prints white, dirt on the print dark; both slightly off pure white/black."""
    level = rng.uniform(0.85, 1.0) if bright else rng.uniform(0.0, 0.15)
    return np.full(3, level, np.float32)


def add_spots(frames: np.ndarray, rng: np.random.Generator, spots_per_mpx: float = 60.0,
              hairs_per_frame: float = 1.0, max_radius: float = 8.0) -> tuple[np.ndarray, np.ndarray]:
    """Dust specks and hairs, each present in one frame only (as on a real print).

    Spot radii are spread log-uniformly from 1 px to ``max_radius`` px, hairs are 20–120 px long and
    1–2 px wide; each defect is bright or dark at random with opacity 0.6–1.
    Returns (damaged N×H×W×3 float32, mask N×H×W bool).
    """
    frames = np.asarray(frames, np.float32)
    out = frames.copy()
    masks = np.zeros(frames.shape[:3], bool)
    h, w = frames.shape[1:3]
    for i in range(len(frames)):
        n_spots = rng.poisson(spots_per_mpx * h * w / 1e6)
        n_hairs = rng.poisson(hairs_per_frame)
        alphas = [_spot_alpha((h, w), rng, float(np.exp(rng.uniform(0, np.log(max_radius)))))
                  for _ in range(n_spots)]
        alphas += [_hair_alpha((h, w), rng, rng.uniform(20, 120), rng.uniform(1.0, 2.0)) for _ in range(n_hairs)]
        for alpha in alphas:
            alpha = alpha * rng.uniform(0.6, 1.0)
            out[i], visible = _blend(out[i], alpha, _defect_value(rng, bright=bool(rng.random() < 0.5)))
            masks[i] |= visible
    return out, masks


def add_line_scratches(frames: np.ndarray, rng: np.random.Generator, count: int = 3,
                       ) -> tuple[np.ndarray, np.ndarray]:
    """Vertical line scratches that persist over many frames, as a projector gate cuts them.

    Each scratch lives over a run of at least half the frames, drifts sideways by a slow random walk
    (≤ 0.4 px per frame), is 1–3 px wide, covers most or all of the frame height, and its strength
    (contrast 0.15–0.5) varies along its length. Polarity is random (bright: base scratch; dark:
    emulsion scratch). Returns (damaged N×H×W×3 float32, mask N×H×W bool).
    """
    frames = np.asarray(frames, np.float32)
    n, h, w = frames.shape[:3]
    out = frames.copy()
    masks = np.zeros((n, h, w), bool)
    cols = np.arange(w, dtype=np.float32)
    for _ in range(count):
        length = int(rng.integers(max(1, n // 2), n + 1))
        first = int(rng.integers(0, n - length + 1))
        x = rng.uniform(0.05 * w, 0.95 * w) + np.cumsum(rng.uniform(-0.4, 0.4, length))
        width = rng.uniform(1.0, 3.0)
        top = int(rng.integers(0, h // 4)) if rng.random() < 0.5 else 0
        bottom = h - (int(rng.integers(0, h // 4)) if rng.random() < 0.5 else 0)
        bright = bool(rng.random() < 0.5)
        strength = rng.uniform(0.15, 0.5)
        # Smooth variation of strength down the line, re-drawn a little each frame (the scratch flickers).
        along = cv2.GaussianBlur(rng.normal(0, 1, (h, 1)).astype(np.float32), (1, 0), sigmaX=1, sigmaY=h / 20)
        along = np.clip(0.75 + 0.5 * along / (along.std() + 1e-6) * 0.5, 0.3, 1.0)
        for k in range(length):
            i = first + k
            profile = np.exp(-0.5 * ((cols - x[k]) / (width / 2.355)) ** 2)
            alpha = np.zeros((h, w), np.float32)
            alpha[top:bottom] = profile[None, :] * along[top:bottom] * rng.uniform(0.8, 1.0)
            base = out[i]
            # A scratch shifts the local value by ``strength`` towards white or black, not to a fixed level.
            target = np.clip(base + (strength if bright else -strength) / max(alpha.max(), 1e-6), 0, 1)
            damaged = base + alpha[..., None] * (target - base)
            visible = np.abs(damaged - base).max(axis=2) > VISIBLE
            out[i] = damaged.astype(np.float32)
            masks[i] |= visible
    return out, masks


def add_cracks(image: np.ndarray, rng: np.random.Generator, count: int = 6, holes: int = 1,
               ) -> tuple[np.ndarray, np.ndarray]:
    """Cracks, scratches and torn-off corners on one photo (H×W×3 float32 in [0, 1]).

    Cracks are branching, jagged thin lines 1–4 px wide (paper white or dark dirt); ``holes`` are
    larger missing patches (torn paper, lost emulsion) shown as near-white. Returns
    (damaged H×W×3 float32, mask H×W bool).
    """
    image = np.asarray(image, np.float32)
    h, w = image.shape[:2]
    out = image.copy()
    mask = np.zeros((h, w), bool)
    for _ in range(count):
        length = rng.uniform(0.2, 0.7) * max(h, w)
        alpha = _crack_alpha((h, w), rng, length, rng.uniform(1.0, 4.0))
        out, visible = _blend(out, np.minimum(alpha * 1.3, 1.0), _defect_value(rng, bright=bool(rng.random() < 0.7)))
        mask |= visible
    for _ in range(holes):
        alpha = _spot_alpha((h, w), rng, rng.uniform(0.03, 0.06) * min(h, w))
        alpha = (alpha > 0.5).astype(np.float32)
        out, visible = _blend(out, alpha, np.full(3, rng.uniform(0.85, 0.97), np.float32))
        mask |= visible
    return out, mask


def _crack_alpha(shape, rng: np.random.Generator, length: float, width: float) -> np.ndarray:
    """A crack: a jagged polyline with one or two short side branches."""
    h, w = shape
    start = np.array([rng.uniform(0, w), rng.uniform(0, h)])
    heading = rng.uniform(0, 2 * np.pi)
    branches = [(start, heading, length, width)]
    paths = []
    while branches:
        p, a, ln, wd = branches.pop()
        pts = [p]
        for _ in range(max(3, int(ln / 6))):
            a += rng.normal(0, 0.35)
            pts.append(pts[-1] + 6 * np.array([np.cos(a), np.sin(a)]))
            if len(paths) < 3 and rng.random() < 0.03:
                branches.append((pts[-1], a + rng.choice([-1, 1]) * rng.uniform(0.5, 1.2), ln * 0.3, wd * 0.6))
        paths.append((np.array(pts), wd))

    def draw(canvas, f):
        for pts, wd in paths:
            cv2.polylines(canvas, [(pts * f).round().astype(np.int32)], False, 1.0,
                          thickness=max(1, int(round(wd * f))), lineType=cv2.LINE_8)
    return _supersampled(shape, draw)


# ---------------------------------------------------------------- whole-frame degradations


def add_grain(frames: np.ndarray, rng: np.random.Generator, level: str = "light") -> np.ndarray:
    """Film grain: Gaussian plus signal-dependent noise, slightly clumped (correlated over ~1 px).

    ``level`` is "light" or "heavy" (see ``GRAIN_LEVELS``). The noise is mostly shared by the three
    channels (silver grain is colourless) with a small per-channel part. Returns float32, clipped to [0, 1].
    """
    sigma0, k = GRAIN_LEVELS[level]
    frames = np.asarray(frames, np.float32)
    out = np.empty_like(frames)
    for i, frame in enumerate(frames):
        luma = frame.mean(axis=2, keepdims=True)
        field = rng.standard_normal(frame.shape[:2] + (1,)).astype(np.float32) * 0.9 \
            + rng.standard_normal(frame.shape).astype(np.float32) * 0.436
        # Blurring at σ 0.6 px clumps grain like real emulsion; renormalise so σ stays as stated.
        blurred = cv2.GaussianBlur(field, (0, 0), 0.6)
        blurred = blurred.reshape(frame.shape) / (blurred.std() + 1e-8)
        sigma = np.sqrt(sigma0 ** 2 + k * luma)
        out[i] = np.clip(frame + sigma * blurred, 0.0, 1.0)
    return out


def add_flicker(frames: np.ndarray, rng: np.random.Generator, amount: float = 0.15,
                ) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame brightness gain drawn uniformly from [1 − amount, 1 + amount] (exposure flicker).

    Returns (flickered float32 clipped to [0, 1], gains of shape N).
    """
    frames = np.asarray(frames, np.float32)
    gains = rng.uniform(1.0 - amount, 1.0 + amount, len(frames)).astype(np.float32)
    return np.clip(frames * gains[:, None, None, None], 0.0, 1.0), gains


def add_shifts(frames: np.ndarray, rng: np.random.Generator, max_shift: float = 4.0,
               ) -> tuple[np.ndarray, np.ndarray]:
    """Gate weave: each frame translated by a random sub-pixel (dx, dy), each uniform in ±``max_shift`` px.

    Borders are filled by reflection so the frame edge gives no clue. Returns (shifted float32,
    shifts N×2 as (dx, dy): content at (x, y) moves to (x + dx, y + dy)).
    """
    frames = np.asarray(frames, np.float32)
    shifts = rng.uniform(-max_shift, max_shift, (len(frames), 2)).astype(np.float32)
    out = np.empty_like(frames)
    h, w = frames.shape[1:3]
    for i, (dx, dy) in enumerate(shifts):
        matrix = np.float32([[1, 0, dx], [0, 1, dy]])
        out[i] = cv2.warpAffine(frames[i], matrix, (w, h), flags=cv2.INTER_LANCZOS4,
                                borderMode=cv2.BORDER_REFLECT101)
    return np.clip(out, 0.0, 1.0), shifts
