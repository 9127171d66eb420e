"""Upscale stage: super-resolution with Real-ESRGAN-family networks (:mod:`bian.models`).

Any output size: the model runs as many times as needed to reach at least the target size (one
×4 pass covers ×2, ×3 and ×4), then an antialiased shrink lands on the exact size, so a ×2 result
comes from ×4 detail rather than from a weaker ×2 model.

Old-film defaults, chosen on measurements (docs/BENCHMARKS.md, "Super-resolution"): the network's
detail is blended with a plain Lanczos enlargement (``strength`` 0.65), so grain and blur are not
turned into invented texture — this scores higher PSNR/SSIM than either alone and flickers less than
Lanczos; the result's broad tones are locked to the input's (GAN networks shift local brightness and
contrast by a few levels); black-and-white input stays exactly grey.
"""
from __future__ import annotations

import math

import cv2
import numpy as np
import torch
from torch.nn import functional as F

from ..errors import OptionError
from ..models import loader
from ..models.descriptor import ModelDescriptor
from ..models.device import PRECISIONS, choose_device, choose_dtype
from ..pipeline.options import Option, choice, int_range, positive_float, text, unit_float
from .base import FrameStage
from .resize import lanczos, target_size

DEFAULT_MODEL = "realesrgan-x4plus"
DEFAULT_STRENGTH = 0.65
TONE_SIGMA = 2.0
"""Input pixels over which the result's tones are locked to the input's (finer detail is left alone)."""
MAX_FACTOR = 16.0

OPTIONS = [
    Option("upscale", positive_float("upscale"), None, "raise the resolution by this factor with "
           "super-resolution (2, 3, 4 or any factor up to 16; Real-ESRGAN ×4 plus an antialiased shrink)",
           metavar="F"),
    Option("upscale_model", text, None, f"super-resolution model: a catalogue name (default {DEFAULT_MODEL}; "
           "realesr-animevideov3-x4 is ~10× faster) or a .pth, .safetensors or ncnn .param file; with "
           "--width/--height and no --upscale, super-resolves to that size", metavar="NAME|PATH"),
    Option("upscale_strength", unit_float("upscale_strength"), DEFAULT_STRENGTH, "share of the network's "
           f"detail kept over a plain Lanczos enlargement (1 = all; default {DEFAULT_STRENGTH}, which keeps "
           "film from turning grain into invented texture)", metavar="F"),
    Option("upscale_tile", int_range("upscale_tile", 16, 16384), None, "tile side in input pixels (default: "
           "from free memory; tiles are seamless either way)", metavar="PX"),
    Option("device", text, "auto", "where networks run: auto (a CUDA GPU if present), cpu, cuda or cuda:N",
           metavar="DEV"),
    Option("precision", choice("precision", PRECISIONS), "auto", "network precision: auto (fp16 on GPU; "
           "bf16 on CPUs where it is measured faster, else fp32), fp32, bf16 or fp16", choices=PRECISIONS),
]


def build(opts: dict, source) -> list:
    factor, model = opts.get("upscale"), opts.get("upscale_model")
    width, height = opts.get("width"), opts.get("height")
    if factor is None and not model:
        return []
    if factor is not None and (width or height):
        raise OptionError("--upscale cannot be combined with --width/--height",
                          hint="give a factor, or a size together with --upscale-model")
    if factor is None and not (width or height):
        raise OptionError("--upscale-model needs --upscale or --width/--height", hint="e.g. --upscale 2")
    return [Upscale(factor=factor, width=width, height=height, even=source.kind == "video",
                    model=model or DEFAULT_MODEL, strength=opts.get("upscale_strength", DEFAULT_STRENGTH),
                    tile=opts.get("upscale_tile"), device=opts.get("device", "auto"),
                    precision=opts.get("precision", "auto"))]


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


class Upscale(FrameStage):
    name = "upscale"

    def __init__(self, factor: float | None = None, width: int | None = None, height: int | None = None,
                 even: bool = False, model: str = DEFAULT_MODEL, strength: float = DEFAULT_STRENGTH,
                 tile: int | None = None, device: str = "auto", precision: str = "auto"):
        if factor is not None and not 1 <= factor <= MAX_FACTOR:
            raise OptionError(f"--upscale must be between 1 and {MAX_FACTOR:g}, got {factor:g}")
        if factor is None and not (width or height):
            raise OptionError("upscale needs a factor or a target size")
        self.factor, self.width, self.height, self.even = factor, width, height, even
        self.model_name, self.strength, self.tile = model, strength, tile
        self.device = choose_device(device)
        self.dtype = choose_dtype(self.device, precision)
        self._model: ModelDescriptor | None = None

    @property
    def model(self) -> ModelDescriptor:
        """Loaded on first use and kept: one load per run, never per frame."""
        if self._model is None:
            self._model = loader.load(self.model_name).to(self.device, self.dtype)
        return self._model

    def describe(self) -> dict:
        return {"factor": self.factor, "width": self.width, "height": self.height, "model": self.model_name,
                "strength": self.strength, "tile": self.tile, "device": str(self.device),
                "precision": str(self.dtype).removeprefix("torch.")}

    def output_size(self, width: int, height: int) -> tuple[int, int]:
        return target_size(width, height, self.width, self.height, self.factor, self.even)

    def process_frame(self, frame):
        w, h = self.output_size(frame.width, frame.height)
        alpha = frame.alpha_float()
        image = super_resolve(frame.rgb(), w, h, self.model, self.strength, self.tile)
        return frame.replace(image=image, alpha=None if alpha is None else lanczos(alpha, w, h))

    def close(self) -> None:
        self._model = None
