"""Resize to a size or by a factor, with Lanczos (OpenCV's 8×8 Lanczos kernel; area averaging when
shrinking a lot, where Lanczos alone would alias)."""
from __future__ import annotations

import cv2
import numpy as np

from ..errors import OptionError
from ..pipeline.options import Option, int_range, positive_float
from .base import FrameStage

OPTIONS = [
    Option("width", int_range("width", 1, 32768), None, "output width in pixels (height follows the aspect "
           "ratio unless --height is given)", metavar="PX", short="-W"),
    Option("height", int_range("height", 1, 32768), None, "output height in pixels", metavar="PX", short="-H"),
    Option("scale", positive_float("scale"), None, "resize by this factor (Lanczos)", metavar="F"),
]


def build(opts: dict, source) -> list:
    width, height, scale = opts.get("width"), opts.get("height"), opts.get("scale")
    if scale is not None and (width or height):
        raise OptionError("--scale cannot be combined with --width/--height", hint="give either a factor or a size")
    if scale is None and not width and not height:
        return []
    return [Resize(width=width, height=height, scale=scale, even=source.kind == "video")]


def target_size(width: int, height: int, target_w: int | None, target_h: int | None, scale: float | None,
                even: bool) -> tuple[int, int]:
    """Output size for an input of ``width`` × ``height``; a side derived from the aspect ratio is rounded
    to an even number for video (4:2:0 chroma needs it)."""
    def derived(value: float) -> int:
        return max(2, int(round(value / 2)) * 2) if even else max(1, int(round(value)))
    if scale is not None:
        return derived(width * scale), derived(height * scale)
    if target_w and target_h:
        return target_w, target_h
    if target_w:
        return target_w, derived(height * target_w / width)
    return derived(width * target_h / height), target_h


def lanczos(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """Resize float32 H×W(×C) in [0, 1] to ``width`` × ``height``; output float32 clipped to [0, 1]."""
    if image.shape[1] == width and image.shape[0] == height:
        return image
    if width < image.shape[1] / 2 and height < image.shape[0] / 2:
        # pre-shrink by area so the Lanczos step never decimates by more than 2x
        image = cv2.resize(image, (width * 2, height * 2), interpolation=cv2.INTER_AREA)
    out = cv2.resize(image, (width, height), interpolation=cv2.INTER_LANCZOS4)
    return np.clip(out, 0.0, 1.0, out=out)


class Resize(FrameStage):
    name = "resize"

    def __init__(self, width=None, height=None, scale=None, even=False):
        self.width, self.height, self.scale, self.even = width, height, scale, even

    def describe(self) -> dict:
        return {"width": self.width, "height": self.height, "scale": self.scale, "filter": "lanczos"}

    def output_size(self, width: int, height: int) -> tuple[int, int]:
        return target_size(width, height, self.width, self.height, self.scale, self.even)

    def process_frame(self, frame):
        w, h = self.output_size(frame.width, frame.height)
        alpha = frame.alpha_float()
        return frame.replace(image=lanczos(frame.rgb(), w, h),
                             alpha=None if alpha is None else lanczos(alpha, w, h))
