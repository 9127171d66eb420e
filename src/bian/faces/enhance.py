"""Landmark-guided enhancement of one face, with no learned model: denoise and deblur, each only as far
as the face needs.

A sharp, clean face must come out nearly as it went in: no plastic skin, no lifted contrast. So the
face's noise is measured as noise, not texture (:func:`noise_sigma`), and judged at the face's own scale
(on a still, fine grain on a large face is the print's texture, the same grain on a small face hides its
features; on film, grain changes every frame and is noise); only the noise above that floor is removed,
and a share of what was removed is put back. Its blur is measured on its strongest edges
(:func:`blur_sigma`) and sharpening grows with it, strongest on the eyes, brows and mouth (where detail
carries identity and expression), weak on the cheeks (where it would only raise grain).
"""
from __future__ import annotations

import cv2
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

GRAIN_KEPT = 4 / 255
"""Grain σ left alone on a still (the texture of a fine print) on a face FACE_SCALE pixels wide; only the
noise above it is removed."""
FACE_SCALE = 128.0
"""Jaw-to-jaw width at which GRAIN_KEPT holds. On a larger face the kept σ grows in proportion: seen at this
scale (downscaled), white grain averages down by the same factor."""
SHARP_BLUR = 1.2
"""Measured edge blur σ (px) of a sharp scan: no sharpening at or below it ..."""
FULL_BLUR = 2.4
"""... full sharpening from this blur σ up (a picture blurred by σ 2 reads about 2.3)."""


def noise_sigma(image: np.ndarray, patch: int = 5) -> float:
    """Estimated σ of the noise in a float image in [0, 1] (H×W, or H×W×C: of the channels' mean).

    Texture is not noise: in the ``patch``×``patch`` patches, picture content (skin, hair, edges)
    lies along a few principal directions while white noise spreads evenly over all of them, so the noise
    variance is the level of the smallest covariance eigenvalues: the largest are dropped until the rest
    have equal mean and median (Chen, Zhu and Heng, ICCV 2015). The most varied 30 % of patches (edges,
    eyes) are left out first. Clumped film grain reads about 0.7 of its per-pixel σ.
    """
    grey = (image.mean(axis=2) if image.ndim == 3 else image).astype(np.float64)
    if min(grey.shape) < 2 * patch:
        return 0.0
    rows = sliding_window_view(grey, (patch, patch))[::2, ::2].reshape(-1, patch * patch)
    rows = rows[rows.var(axis=1) <= np.quantile(rows.var(axis=1), 0.7)]
    if len(rows) < 2 * patch * patch:
        return 0.0
    eig = np.linalg.eigvalsh(np.cov(rows, rowvar=False))
    k = len(eig)
    while k > 1 and eig[:k].mean() > np.median(eig[:k]):
        k -= 1
    return float(np.sqrt(max(eig[:k].mean(), 0.0)))


def blur_sigma(image: np.ndarray, probe: float = 1.5) -> float:
    """Estimated Gaussian σ (pixels) of the blur on the strongest edges of a float image in [0, 1].

    Re-blurring a step edge blurred by σ with a Gaussian of σ₀ lowers its peak gradient by
    σ/√(σ² + σ₀²), so σ = σ₀/√(R² − 1) with R the ratio of peak gradients before and after (Zhuo and
    Sim 2011); R is the median over the 2 % of pixels with the strongest re-blurred gradient (edges, not
    noise). A sharp scan reads about 1 px; a picture blurred by σ 2 reads about 2.3.
    """
    grey = (image.mean(axis=2) if image.ndim == 3 else image).astype(np.float32)

    def gradient(pic):
        return np.hypot(cv2.Sobel(pic, cv2.CV_32F, 1, 0, ksize=3), cv2.Sobel(pic, cv2.CV_32F, 0, 1, ksize=3))
    g1, g2 = gradient(grey), gradient(cv2.GaussianBlur(grey, (0, 0), probe))
    edges = g2 >= np.quantile(g2, 0.98)
    if not edges.any() or g2[edges].max() <= 0:
        return 0.0
    ratio = float(np.median(g1[edges] / np.maximum(g2[edges], 1e-6)))
    return float(probe / np.sqrt(max(ratio * ratio - 1.0, 1e-3)))


def feature_weights(shape: tuple[int, int], landmarks: np.ndarray | None, size: float) -> np.ndarray:
    """H×W float32 in [0.25, 1]: 1 around the eyes, brows, nose and mouth, 0.25 elsewhere."""
    h, w = shape
    weights = np.zeros((h, w), np.float32)
    if landmarks is not None and len(landmarks) == 68:
        lm = np.round(np.asarray(landmarks)[:, :2]).astype(np.int32)
        for idx in (range(17, 22), range(22, 27), range(36, 42), range(42, 48), range(48, 60), range(27, 36)):
            cv2.fillPoly(weights, [cv2.convexHull(lm[list(idx)])], 1.0)
        weights = cv2.dilate(weights, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3)),
                             iterations=max(1, int(size * 0.03)))
        weights = cv2.GaussianBlur(weights, (0, 0), max(1.0, size * 0.03))
    else:
        weights[:] = 1.0
    return 0.25 + 0.75 * np.clip(weights, 0, 1)


def denoise(image: np.ndarray, sigma: float) -> np.ndarray:
    """Non-local means on luminance (strength from ``sigma``) and stronger on chroma; float32 in, out."""
    if sigma < 0.004:
        return image.astype(np.float32)
    u8 = (np.clip(image, 0, 1) * 255 + 0.5).astype(np.uint8)
    h = float(np.clip(sigma * 255 * 1.2, 2, 30))
    out = cv2.fastNlMeansDenoisingColored(u8, None, h, h * 1.5, 5, 15).astype(np.float32) / 255
    # Keep the float input's fine tonal steps: take only the removed noise from the 8-bit result.
    return image + (out - u8.astype(np.float32) / 255)


def unsharp(image: np.ndarray, radius: float, amount: np.ndarray | float) -> np.ndarray:
    """Luminance-only unsharp mask: image + amount · (Y − blur(Y)), applied equally to R, G, B."""
    y = image.mean(axis=2, keepdims=True)
    detail = y - cv2.GaussianBlur(y, (0, 0), radius)[..., None]
    amount = np.asarray(amount, np.float32)
    if amount.ndim == 2:
        amount = amount[..., None]
    return image + amount * detail


def enhance_face(crop: np.ndarray, landmarks: np.ndarray | None = None, sigma: float | None = None,
                 keep_texture: float = 0.3, sharpen: float = 0.8, grain_kept: float = GRAIN_KEPT) -> np.ndarray:
    """Enhance a face crop as far as its measured damage asks. crop: H×W×3 float32 RGB in [0, 1];
    landmarks: (68, 2) in crop pixels or None.

    sigma: noise σ of the crop (estimated when None; lower for a face fused from several frames);
    keep_texture: share of the removed noise put back; sharpen: unsharp amount on the features of a
    blurred face (the skin gets 0.25 of it; a sharp face gets none); grain_kept: grain σ left alone at
    FACE_SCALE (0 for film, where grain changes every frame and is noise, not the picture's texture).
    Returns float32 H×W×3 in [0, 1].
    """
    crop = crop.astype(np.float32)
    h, w = crop.shape[:2]
    size = float(np.ptp(landmarks[:, 0])) if landmarks is not None and len(landmarks) else float(min(h, w)) * 0.6
    sigma = noise_sigma(crop) if sigma is None else sigma
    kept = grain_kept * max(1.0, size / FACE_SCALE)
    clean = denoise(crop, float(np.sqrt(max(sigma ** 2 - kept ** 2, 0.0))))
    # Sharpen the grain-free picture, then put back part of the grain unsharpened: detail gains, grain does not.
    blur = blur_sigma(clean)
    amount = sharpen * float(np.clip((blur - SHARP_BLUR) / (FULL_BLUR - SHARP_BLUR), 0, 1))
    out = clean
    if amount > 0:
        out = unsharp(clean, 1.5 * blur, amount * feature_weights((h, w), landmarks, size))
    out = out + keep_texture * (crop - clean)
    return np.clip(out, 0, 1).astype(np.float32)


def face_region(shape: tuple[int, int], outline: np.ndarray, margin: float = 0.15) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1) of an axis-aligned region around ``outline`` with a margin, inside the picture."""
    h, w = shape
    lo, hi = outline.min(0), outline.max(0)
    pad = (hi - lo).max() * margin + 4
    x0, y0 = np.floor(lo - pad).astype(int)
    x1, y1 = np.ceil(hi + pad).astype(int)
    return max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)

