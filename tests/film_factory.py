"""Small generated film material for the temporal stage tests: a textured scene that can be shifted,
made grainy or flickered, and a helper that runs a stage over frames the way the runner does."""
from __future__ import annotations

from fractions import Fraction

import cv2
import numpy as np

from bian.frame import Frame
from bian.pipeline.runner import apply_stage


def scene(height: int = 96, width: int = 128, seed: int = 0, margin: int = 0) -> np.ndarray:
    """A grey float32 RGB picture in [0.15, 0.85] with structure at several scales (blobs, edges)."""
    rng = np.random.default_rng(seed)
    h, w = height + 2 * margin, width + 2 * margin
    base = np.zeros((h, w), np.float32)
    for sigma, amp in ((12, 0.5), (4, 0.3), (1.5, 0.2)):
        field = cv2.GaussianBlur(rng.standard_normal((h, w)).astype(np.float32), (0, 0), sigma)
        base += amp * field / (field.std() + 1e-6)
    for _ in range(6):  # a few hard-edged shapes give corners to track
        x, y = int(rng.integers(0, w - 20)), int(rng.integers(0, h - 20))
        base[y:y + int(rng.integers(8, 20)), x:x + int(rng.integers(8, 20))] += rng.choice([-1.0, 1.0])
    base = (base - base.min()) / (base.max() - base.min())
    return np.repeat((0.15 + 0.7 * base)[..., None], 3, axis=2).astype(np.float32)


def shifted(picture: np.ndarray, dx: float, dy: float, size: tuple[int, int], margin: int) -> np.ndarray:
    """The ``size`` (h, w) view of ``picture`` (made with ``margin``) moved by (dx, dy) pixels."""
    matrix = np.float32([[1, 0, dx - margin], [0, 1, dy - margin]])
    out = cv2.warpAffine(picture, matrix, (size[1], size[0]), flags=cv2.INTER_CUBIC,
                         borderMode=cv2.BORDER_REFLECT101)
    return np.clip(out, 0, 1)


def grain(frames: np.ndarray, sigma: float, seed: int = 1) -> np.ndarray:
    """Independent Gaussian grain of ``sigma`` per frame, shared by the channels (black-and-white film)."""
    rng = np.random.default_rng(seed)
    noise = rng.standard_normal(frames.shape[:-1] + (1,)).astype(np.float32) * np.float32(sigma)
    return np.clip(frames + noise, 0, 1).astype(np.float32)


def frames_of(images) -> list[Frame]:
    return [Frame(np.asarray(im, np.float32), Fraction(i, 25), Fraction(1, 25), i) for i, im in enumerate(images)]


def run(stage, images) -> np.ndarray:
    """Output images of ``stage`` over ``images`` (N×H×W×3), windows fed as the runner feeds them."""
    return np.stack([f.image for f in apply_stage(stage, frames_of(images))])


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(1.0 / np.mean((np.asarray(a, np.float64) - b) ** 2)))
