"""Repair stages: film dust and line scratches (:class:`Dust`), photo cracks, scratches, tears and
user-marked damage (:class:`Scratches`). Algorithms in :mod:`bian.repair`.

``Dust`` is temporal (two frames each side, never across a scene cut); a still image, or a shot of
a single frame, gets its spatial fallback (isolated specks only). ``Scratches`` looks at one picture.
"""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from ..analysis.cuts import is_cut
from ..errors import InputError, OptionError
from ..pipeline.options import Option, boolean, choice, text, unit_float
from ..repair import cracks, film, inpaint
from ..temporal.framecache import PerPair
from ..temporal.shots import shot_span, thumbnail
from .base import FrameStage, Stage, Window

DETECTORS = ("temporal", "unet")

OPTIONS = [
    Option("dust", boolean, False, "remove film dust, dirt, hairs and vertical line scratches (each frame is "
           "compared with its motion-compensated neighbours; a still image gets isolated specks only)",
           is_flag=True),
    Option("dust_strength", unit_float("dust_strength"), 0.5, "dust detection sensitivity, 0..1 (default 0.5; "
           "higher finds fainter specks and risks touching real detail)", metavar="S"),
    Option("dust_detector", choice("dust_detector", DETECTORS), "temporal", "how dust is found: temporal "
           "(default; frames compared) or unet (the film-dust U-Net, one frame at a time)", choices=DETECTORS),
    Option("dust_model", text, None, "weights file or folder for --dust-detector unet (default: the model "
           "catalogue's film_dust_unet)", metavar="PATH"),
    Option("keep_lines", boolean, False, "with --dust, leave vertical line scratches alone (for pictures full "
           "of thin vertical lines)", is_flag=True),
    Option("scratches", boolean, False, "repair cracks, scratches and tears on photos (thin bright lines, "
           "torn-off edges)", is_flag=True),
    Option("scratch_strength", unit_float("scratch_strength"), 0.5, "crack detection sensitivity, 0..1 "
           "(default 0.5)", metavar="S"),
    Option("mask", text, None, "image marking damage to fill (white = damaged), same size as the input; "
           "applied to every frame of a video", metavar="PNG"),
]


def build(opts: dict, source) -> list:
    stages: list = []
    if opts.get("dust"):
        lines = source.kind == "video" and not opts.get("keep_lines")
        stages.append(Dust(opts.get("dust_strength", 0.5), lines, opts.get("dust_detector", "temporal"),
                           opts.get("dust_model")))
    elif opts.get("dust_detector", "temporal") != "temporal" or opts.get("dust_model") or opts.get("keep_lines"):
        raise OptionError("--dust-detector, --dust-model and --keep-lines need --dust", hint="add --dust")
    mask = opts.get("mask")
    if opts.get("scratches") or mask:
        user = read_mask(Path(mask), (source.height, source.width)) if mask else None
        stages.append(Scratches(opts.get("scratch_strength", 0.5), detect=bool(opts.get("scratches")), mask=user,
                                mask_name=str(mask) if mask else None))
    return stages


def read_mask(path: Path, shape: tuple[int, int]) -> np.ndarray:
    """A user's damage mask: bool H×W, True where the image is light (over half of full scale)."""
    if not path.is_file():
        raise InputError("mask image not found", path, "give a PNG marking damage in white")
    grey = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE | cv2.IMREAD_ANYDEPTH)
    if grey is None:
        raise InputError("cannot read the mask image", path, "give a PNG, JPEG or TIFF")
    if grey.shape != shape:
        raise OptionError(f"mask is {grey.shape[1]}×{grey.shape[0]} but the input is {shape[1]}×{shape[0]}", path,
                          "draw the mask at the input's size")
    return grey > (np.iinfo(grey.dtype).max // 2)


class Dust(Stage):
    """Film dust, dirt, hairs and vertical line scratches; output float32 RGB in [0, 1]."""

    name = "dust"
    before = after = 2

    def __init__(self, strength: float = 0.5, line_scratches: bool = True, detector: str = "temporal",
                 model: str | None = None):
        if not 0 <= strength <= 1:
            raise OptionError(f"dust strength must be between 0 and 1, got {strength!r}")
        if detector not in DETECTORS:
            raise OptionError(f"unknown dust detector {detector!r}", hint=f"use one of {', '.join(DETECTORS)}")
        self.strength, self.line_scratches, self.detector, self.model = float(strength), line_scratches, detector, model
        self._net = None
        if detector == "unet":
            from ..repair import dust_net  # torch only when the U-Net is asked for (CLI start-up)
            self._net = dust_net.load(model)
        self._cut = PerPair(is_cut)

    def describe(self) -> dict:
        return {"strength": self.strength, "detector": self.detector, "line_scratches": self.line_scratches,
                "fill": "motion-compensated neighbours, spatial where motion fails"}

    def summarise(self, frame):
        """The thumbnail of ``frame`` (for the cut test; the repair reads the neighbours' pixels)."""
        return thumbnail(frame.image)

    def process(self, window: Window) -> list:
        start, stop = shot_span(self.summaries(window), window.center, self._cut)
        current = window.current.rgb()
        around = [i for i in range(start, stop) if i != window.center]
        neighbours = [window.frames[i].rgb() for i in around]
        detected = None
        if self._net is not None:
            from ..repair import dust_net
            detected = dust_net.detect(current, self._net)
        repaired, _ = film.repair_frame(current, neighbours, self.strength, self.line_scratches, detected,
                                        [i - window.center for i in around])
        return [window.current.replace(image=repaired)]

    def close(self) -> None:
        self._net = None


class Scratches(FrameStage):
    """Photo cracks, scratches, tears and user-marked damage; output float32 RGB in [0, 1]."""

    name = "scratches"

    def __init__(self, strength: float = 0.5, detect: bool = True, mask: np.ndarray | None = None,
                 mask_name: str | None = None):
        if not 0 <= strength <= 1:
            raise OptionError(f"scratch strength must be between 0 and 1, got {strength!r}")
        if not detect and mask is None:
            raise OptionError("scratch repair needs detection or a mask", hint="use --scratches and/or --mask")
        self.strength, self.detect, self.mask, self.mask_name = float(strength), detect, mask, mask_name

    def describe(self) -> dict:
        return {"strength": self.strength if self.detect else None, "detect": self.detect, "mask": self.mask_name,
                "fill": "sparse DCT reconstruction; patches for holes"}

    def process_frame(self, frame):
        rgb = frame.rgb()
        damaged = np.zeros(rgb.shape[:2], bool)
        if self.detect:
            damaged |= cracks.detect_cracks(rgb, self.strength)
        if self.mask is not None:
            if self.mask.shape != damaged.shape:
                raise OptionError(f"mask is {self.mask.shape[1]}×{self.mask.shape[0]} but the frame is "
                                  f"{damaged.shape[1]}×{damaged.shape[0]}", self.mask_name, "draw the mask at the input's size")
            damaged |= self.mask
        return frame.replace(image=inpaint.inpaint(rgb, damaged))
