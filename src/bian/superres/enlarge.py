"""Super-resolution of one picture with a Real-ESRGAN-family network, and the old-film finish.

Any output size: the model runs as many times as needed to reach at least the target size (one
×4 pass covers ×2, ×3 and ×4), then an antialiased shrink lands on the exact size, so a ×2 result
comes from ×4 detail rather than from a weaker ×2 model.

Old-film finish, chosen on measurements (docs/BENCHMARKS.md, "Super-resolution"): the network's
detail is blended with a plain Lanczos enlargement (``strength``, default 0.65), so grain and blur are
not turned into invented texture — this scores higher PSNR/SSIM than either alone and flickers less
than Lanczos; the result's broad tones are locked to the input's (GAN networks shift local brightness
and contrast by a few levels); black-and-white input stays exactly grey.
"""
from __future__ import annotations

import math

import cv2
import numpy as np
import torch
from torch.nn import functional as F

from ..models.descriptor import ModelDescriptor
from ..stages.resize import lanczos
from . import DEFAULT_STRENGTH, TONE_SIGMA


def model_passes(factor: float, model_scale: int) -> int:
    """How many times a ×``model_scale`` network must run to reach ``factor`` (at least once)."""
    if model_scale <= 1:
        return 1
    return max(1, math.ceil(math.log(factor) / math.log(model_scale) - 1e-9))


def resize_tensor(x: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Antialiased bicubic resize of N×C×H×W float (shrinking widens the kernel, so nothing aliases)."""
    if x.shape[-2:] == (height, width):
        return x
    return F.interpolate(x, size=(height, width), mode="bicubic", align_corners=False, antialias=True)


def enlarge(image: np.ndarray, width: int, height: int, model: ModelDescriptor,
            tile: int | None = None) -> np.ndarray:
    """The network's part alone: float32 H×W×3 RGB in [0, 1] → ``height`` × ``width``, same type.

    The model runs as often as needed to reach the target, then an antialiased shrink hits it exactly.
    """
    h, w = image.shape[:2]
    x = torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1)))[None].to(model.device)
    for _ in range(model_passes(max(width / w, height / h), model.scale)):
        x = model.run(x, tile=tile)
    x = resize_tensor(x, height, width).clamp_(0.0, 1.0)
    return x[0].permute(1, 2, 0).cpu().numpy()


def finish(network: np.ndarray | None, image: np.ndarray, width: int, height: int,
           strength: float = DEFAULT_STRENGTH) -> np.ndarray:
    """The old-film finish of :func:`enlarge`'s result ``network`` for input ``image`` (float32 RGB).

    Blends ``strength`` of the network's detail over a Lanczos enlargement (``network`` may be None
    when ``strength`` is 0), locks the broad tones to the input's, and keeps grey input exactly grey.
    """
    out = network
    if strength < 1 or out is None:
        base = lanczos(image, width, height)
        out = base if out is None or strength <= 0 else blend_detail(out, base, strength)
    out = lock_tones(out, image)
    if np.array_equal(image[..., 0], image[..., 1]) and np.array_equal(image[..., 0], image[..., 2]):
        out = np.repeat(out.mean(axis=2, keepdims=True), 3, axis=2)
    return np.ascontiguousarray(np.clip(out, 0.0, 1.0), dtype=np.float32)


def super_resolve(image: np.ndarray, width: int, height: int, model: ModelDescriptor,
                  strength: float = DEFAULT_STRENGTH, tile: int | None = None) -> np.ndarray:
    """Enlarge float32 H×W×3 RGB in [0, 1] to ``height`` × ``width`` (float32 in [0, 1]):
    :func:`enlarge` then :func:`finish`."""
    network = enlarge(image, width, height, model, tile) if strength > 0 else None
    return finish(network, image, width, height, strength)


def blend_detail(result: np.ndarray, base: np.ndarray, strength: float) -> np.ndarray:
    """``base`` + ``strength`` × (``result`` − ``base``): keep that share of what the network added."""
    return base + np.float32(strength) * (result - base)


def lock_tones(result: np.ndarray, image: np.ndarray, sigma: float = TONE_SIGMA) -> np.ndarray:
    """Correct ``result``'s broad tones so that, shrunk back, it matches ``image`` (both float32 RGB).

    The difference between ``image`` and the area-shrunk ``result`` is smoothed over ``sigma`` input
    pixels (so noise in the input is not copied back) and enlarged onto ``result``.
    """
    h, w = image.shape[:2]
    error = image - cv2.resize(result, (w, h), interpolation=cv2.INTER_AREA)
    error = cv2.GaussianBlur(error, (0, 0), sigma)
    return result + cv2.resize(error, result.shape[1::-1], interpolation=cv2.INTER_CUBIC)
