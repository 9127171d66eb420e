"""Upscale stage: super-resolution with Real-ESRGAN-family networks (:mod:`bian.superres`).

``--upscale F`` enlarges by any factor up to 16 (a ×4 network plus an antialiased shrink);
``--upscale-model`` with ``--width/--height`` super-resolves to that size. Heavy imports (torch, the
networks) happen when the stage is built, not when the CLI lists options.
"""
from __future__ import annotations

from ..errors import OptionError
from ..models.device import PRECISIONS
from ..pipeline.options import Option, choice, int_range, positive_float, text, unit_float
from ..superres import DEFAULT_STRENGTH
from .base import FrameStage
from .resize import lanczos, target_size

DEFAULT_MODEL = "realesrgan-x4plus"
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


class Upscale(FrameStage):
    name = "upscale"

    def __init__(self, factor: float | None = None, width: int | None = None, height: int | None = None,
                 even: bool = False, model: str = DEFAULT_MODEL, strength: float = DEFAULT_STRENGTH,
                 tile: int | None = None, device: str = "auto", precision: str = "auto"):
        if factor is not None and not 1 <= factor <= MAX_FACTOR:
            raise OptionError(f"--upscale must be between 1 and {MAX_FACTOR:g}, got {factor:g}")
        if factor is None and not (width or height):
            raise OptionError("upscale needs a factor or a target size")
        from ..models.device import choose_device, choose_dtype
        from ..models.loader import locate

        locate(model)  # a missing or unknown model fails here, before any frame is decoded
        self.factor, self.width, self.height, self.even = factor, width, height, even
        self.model_name, self.strength, self.tile = model, strength, tile
        self.device = choose_device(device)
        self.dtype = choose_dtype(self.device, precision)
        self._model = None

    @property
    def model(self):
        """The :class:`~bian.models.descriptor.ModelDescriptor`, loaded on first use and kept: one load
        per run, never per frame."""
        if self._model is None:
            from ..models import loader
            self._model = loader.load(self.model_name).to(self.device, self.dtype)
        return self._model

    def describe(self) -> dict:
        return {"factor": self.factor, "width": self.width, "height": self.height, "model": self.model_name,
                "strength": self.strength, "tile": self.tile, "device": str(self.device),
                "precision": str(self.dtype).removeprefix("torch.")}

    def output_size(self, width: int, height: int) -> tuple[int, int]:
        return target_size(width, height, self.width, self.height, self.factor, self.even)

    def process_frame(self, frame):
        from ..superres.enlarge import super_resolve

        w, h = self.output_size(frame.width, frame.height)
        alpha = frame.alpha_float()
        image = super_resolve(frame.rgb(), w, h, self.model, self.strength, self.tile)
        return frame.replace(image=image, alpha=None if alpha is None else lanczos(alpha, w, h))

    def close(self) -> None:
        self._model = None
