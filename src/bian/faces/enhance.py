"""Landmark-guided enhancement of one face, with no learned model: denoise, deblur, local contrast.

Designed to keep the person and the skin natural: grain is reduced, not wiped (a fraction of the
removed texture is put back, so skin does not turn to plastic); sharpening is strongest on the eyes,
brows and mouth (where detail carries identity and expression) and weak on the cheeks (where it
would only raise grain); contrast is raised locally and gently on luminance only, so colour stays.
"""
from __future__ import annotations

import cv2
import numpy as np


def noise_sigma(image: np.ndarray) -> float:
    """Estimated σ of white-ish noise in a float image in [0, 1] (median absolute deviation of a
    Laplacian-like high-pass of the luminance, robust to edges)."""
    grey = (image.mean(axis=2) if image.ndim == 3 else image).astype(np.float32)
    kernel = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], np.float32)

    def mad(pic):
        hp = cv2.filter2D(pic, -1, kernel, borderType=cv2.BORDER_REFLECT)[2:-2, 2:-2]
        # σ of this kernel's response to unit white noise is 6; MAD→σ factor 1.4826.
        return float(np.median(np.abs(hp)) * 1.4826 / 6.0) if hp.size else 0.0
    # Film grain and print halftone are clumped over 2–3 px, which a 3×3 high-pass barely sees; the
    # half-size picture (2×2 means: white noise σ halves) shows it, so take the larger estimate.
    half = cv2.resize(grey, (max(1, grey.shape[1] // 2), max(1, grey.shape[0] // 2)), interpolation=cv2.INTER_AREA)
    return max(mad(grey), 2.0 * mad(half))


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


def local_contrast(image: np.ndarray, amount: float, clip: float = 1.6) -> np.ndarray:
    """CLAHE on the L channel of Lab, mixed in by ``amount`` in [0, 1]; chroma untouched."""
    if amount <= 0:
        return image
    lab = cv2.cvtColor(np.clip(image, 0, 1).astype(np.float32), cv2.COLOR_RGB2Lab)
    l16 = np.round(lab[..., 0] * (65535 / 100)).astype(np.uint16)
    clahe = cv2.createCLAHE(clipLimit=clip, tileGridSize=(4, 4))
    l_new = clahe.apply(l16).astype(np.float32) * (100 / 65535)
    lab[..., 0] = lab[..., 0] * (1 - amount) + l_new * amount
    return cv2.cvtColor(lab, cv2.COLOR_Lab2RGB)


def enhance_face(crop: np.ndarray, landmarks: np.ndarray | None = None, sigma: float | None = None,
                 keep_texture: float = 0.3, sharpen: float = 0.8, contrast: float = 0.25) -> np.ndarray:
    """Enhance a face crop. crop: H×W×3 float32 RGB in [0, 1]; landmarks: (68, 2) in crop pixels or None.

    sigma: noise σ (estimated when None); keep_texture: share of the removed grain put back;
    sharpen: unsharp amount on the features (the skin gets 0.25 of it); contrast: CLAHE mix.
    Returns float32 H×W×3 in [0, 1].
    """
    crop = crop.astype(np.float32)
    h, w = crop.shape[:2]
    size = float(np.ptp(landmarks[:, 0])) if landmarks is not None and len(landmarks) else float(min(h, w)) * 0.6
    sigma = noise_sigma(crop) if sigma is None else sigma
    clean = denoise(crop, sigma)
    # Sharpen the grain-free picture, then put back part of the grain unsharpened: detail gains, grain does not.
    radius = max(0.8, size / 120)
    out = unsharp(clean, radius, sharpen * feature_weights((h, w), landmarks, size))
    out = local_contrast(out, contrast) + keep_texture * (crop - clean)
    return np.clip(out, 0, 1).astype(np.float32)


def face_region(shape: tuple[int, int], outline: np.ndarray, margin: float = 0.15) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1) of an axis-aligned region around ``outline`` with a margin, inside the picture."""
    h, w = shape
    lo, hi = outline.min(0), outline.max(0)
    pad = (hi - lo).max() * margin + 4
    x0, y0 = np.floor(lo - pad).astype(int)
    x1, y1 = np.ceil(hi + pad).astype(int)
    return max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)

