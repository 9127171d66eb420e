"""The plan: options + a probe of the input → the ordered stages and the output settings.

This is the one place that decides stage order. Each stage module declares ``OPTIONS`` (a list of
:class:`~bian.pipeline.options.Option`) and ``build(opts, source) -> list[Stage]`` (empty when the
user did not ask for it); the CLI and the API are generated from those lists.
Stage modules must import heavy libraries (torch, networks, model loaders) inside ``build`` or the
stage, never at module level: every CLI start imports every stage module to list its options.

Order: deinterlace → repair → denoise → deflicker → stabilise → faces → colour → upscale → resize →
frame rate.
``--width/--height/--scale`` belong to the resize stage; a stage that changes the size (upscale)
runs before it, so an exact size is always a final Lanczos step.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

from .. import __version__
from ..colour.monochrome import has_own_colour, video_has_own_colour
from ..errors import BianError, InputError, OptionError, OutputError
from ..media import images as image_io
from ..media import sequence
from ..media.encode import (CODECS, PRESETS, EncoderSettings, choose_settings, container_for,
                            frame_settings)
from ..media.video import VideoInfo, probe_video
from ..repair.cracks import is_bilevel
from ..stages import (colourise, deflicker, deinterlace, denoise, faces, framerate, repair, resize, stabilise,
                      upscale)
from ..stages.base import Stage
from .options import Option, choice, int_range, positive_float

STAGE_MODULES = [
    deinterlace,
    repair,
    denoise,
    deflicker,
    stabilise,
    faces,
    colourise,
    upscale,
    resize,
    framerate,
]

GENERAL_OPTIONS = [
    Option("codec", choice("codec", tuple(CODECS)), "h264", "video codec: h264 (default), h265, ffv1 "
           "(lossless, .mkv) or prores (.mov/.mkv)", choices=tuple(CODECS)),
    Option("crf", int_range("crf", 0, 51), None, "quality for h264/h265, lower is better (default 18 for h264, "
           "20 for h265)", metavar="N"),
    Option("preset", choice("preset", PRESETS), None, "h264/h265 speed preset (default medium)", choices=PRESETS),
    Option("segment_seconds", positive_float("segment_seconds"), 10.0, "length of the resumable segments a "
           "video is encoded in", metavar="S"),
    Option("max_pixels", int_range("max_pixels", 1, 10**12), image_io.DEFAULT_MAX_PIXELS, "refuse images with "
           "more pixels than this (decompression-bomb guard)", metavar="N"),
]


def all_options() -> list[Option]:
    return GENERAL_OPTIONS + [o for module in STAGE_MODULES for o in module.OPTIONS]


@dataclass
class Source:
    """What a stage's ``build`` may know about the input."""
    kind: str
    """image | video"""
    width: int
    height: int
    bits: int
    grey: bool
    rate: Fraction | None
    frames: int
    video: VideoInfo | None = None
    """The input video as probed (a stage may read a few of its frames up front, e.g. hint keyframes)."""
    own_colour: bool = False
    """A picture with colour of its own (not black-and-white or toned), asked to be coloured."""


@dataclass
class Plan:
    input: Path
    output: Path
    kind: str
    stages: list[Stage]
    source: Source
    info: VideoInfo | image_io.ImageInfo
    encoder: EncoderSettings | None = None
    segment_frames: int = 1
    notes: list[str] = field(default_factory=list)
    first_number: int = 0
    """Number of the first output file when the output is numbered frames: the input pattern's first."""
    frames: sequence.Sequence | None = None
    """The numbered frames the input pattern names (None for a file)."""

    @property
    def context(self) -> tuple[int, int]:
        """Input frames needed before and after a frame for the whole chain to produce it exactly."""
        return sum(s.before for s in self.stages), sum(s.after for s in self.stages)

    @property
    def speed(self) -> Fraction:
        """How fast the output plays the source; the streams copied beside the video follow it."""
        speed = Fraction(1)
        for stage in self.stages:
            speed *= stage.speed
        return speed

    @property
    def grey_output(self) -> bool:
        return self.source.grey and not any(s.makes_colour for s in self.stages)

    def describe(self) -> dict:
        return {
            "input": str(self.input), "output": str(self.output), "kind": self.kind,
            "stages": [{"name": s.name, **s.describe()} for s in self.stages],
            "encoder": self.encoder.describe() if self.encoder else None,
            "segment_frames": self.segment_frames if self.kind == "video" else None,
        }

    def stamp(self) -> tuple[int, int]:
        """Size in bytes and latest modification time (ns) of the input file, or of all its numbered frames."""
        if self.frames is not None:
            return self.frames.stamp()
        stat = self.input.stat()
        return stat.st_size, stat.st_mtime_ns

    def fingerprint(self) -> str:
        """Identifies the input file and everything that shapes the output; a resume needs the same."""
        size, mtime = self.stamp()
        ident = {"plan": self.describe(), "size": size, "mtime": mtime, "version": __version__,
                 "input": os.path.realpath(self.input)}
        return hashlib.sha256(json.dumps(ident, sort_keys=True, default=str).encode()).hexdigest()[:16]


def normalise_options(options: dict) -> dict:
    """Fill defaults and parse every value; unknown names are an error."""
    known = {o.name: o for o in all_options()}
    unknown = sorted(set(options) - set(known))
    if unknown:
        raise OptionError(f"unknown option '{unknown[0]}'", hint="see `bian restore --help`")
    parsed = {}
    for name, option in known.items():
        value = options.get(name)
        if value is None or value is False:
            parsed[name] = option.default
        elif option.many:
            values = value if isinstance(value, (list, tuple)) else [value]
            parsed[name] = [option.parse(v) for v in values]
        else:
            parsed[name] = option.parse(value)
    return parsed


def build_plan(input_path: Path, output: Path, options: dict) -> Plan:
    """Probe ``input_path`` and turn ``options`` into an ordered plan writing ``output``."""
    opts = normalise_options(options)
    frames = sequence.scan(input_path) if sequence.is_pattern(input_path) else None
    check_paths(input_path if frames is None else frames.path(frames.first), output)
    to_frames = sequence.is_pattern(output)
    if to_frames:
        _check_frames_output(input_path if frames is None else None, output, opts)
    if frames is None and image_io.is_image(input_path):
        frame, info = image_io.read_image(input_path, opts["max_pixels"])
        if not image_io.is_image(output):
            raise OptionError("an image input needs an image output", output,
                              "use .png, .jpg, .tif, .webp, .bmp, .jp2, .avif, .heic or .gif")
        own_colour = colourise.wanted(opts) and has_own_colour(frame.rgb())
        source = Source("image", info.width, info.height, info.bits, info.grey, None, 1, own_colour=own_colour)
        notes = ["a two-level (1-bit) picture: --scratches leaves its thin lines alone (they are the picture, "
                 "and it has no grey to fill with); mark real damage with --mask"] \
            if opts["scratches"] and is_bilevel(frame.image) else []
        notes += [_OWN_COLOUR] if own_colour else []
        plan = Plan(input_path, output, "image", _stages(opts, source), source, info, notes=notes)
        plan.first_frame = frame  # decoded once while probing; the runner uses it
        return plan
    if image_io.is_image(output) and not to_frames:
        raise OptionError("a video input needs a video output", output,
                          "use .mp4, .mov or .mkv, or numbered frames such as reel_%06d.tif")
    if not to_frames:
        container_for(output)
    rate_guessed = frames is not None and opts["source_fps"] is None
    if frames is None:
        info = probe_video(input_path)
    else:  # a film scanned frame by frame states no rate: --source-fps is the rate it is read at
        info = probe_video(input_path, frames.demuxer_options(opts["source_fps"] or Fraction(24)))
        opts = {**opts, "source_fps": None}
        if info.color_trc == 8:  # DPX "linear" (FFmpeg and scanners write it for gamma-coded pictures): on a
            info.color_trc = 2   # video, colour-managed players would brighten it; left unspecified
    own_colour = colourise.wanted(opts) and video_has_own_colour(info)
    source = Source("video", info.width, info.height, info.bits, False, info.rate, info.frames, info, own_colour)
    stages = _stages(opts, source)
    width, height = info.width, info.height
    time_base, rate = info.time_base, info.rate
    for stage in stages:
        width, height = stage.output_size(width, height)
        time_base, rate = stage.output_timing(time_base, rate)
    # a resize keeps the picture's display shape: pixels stretch as the grid does (within 1/500 of square: square)
    sar = info.sample_aspect
    if sar is not None:
        sar = (sar * Fraction(info.width * height, width * info.height)).limit_denominator(10000)
    if to_frames:
        encoder, notes = frame_settings(output, width, height, info.bits, time_base, rate)
        if any(s["type"] in ("audio", "subtitle") for s in info.streams):
            notes.append("sound and subtitles are not written to numbered frames")
    else:
        encoder, notes = choose_settings(opts["codec"], opts["crf"], opts["preset"], output, width, height,
                                         info.bits, time_base, rate, (info.colorspace, info.color_range,
                                                                      info.color_primaries, info.color_trc),
                                         sar if sar and abs(sar - 1) > 0.002 else None, info.hdr10)
    if rate_guessed:
        notes.insert(0, "image sequence read at 24 fps; give --source-fps")
    if info.alpha:
        notes.append("the source's transparency (alpha channel) is not kept: "
                     + ("the numbered frames are written without it" if to_frames else "video output has none"))
    interlace_note = deinterlace.note(stages, info, opts)
    if interlace_note:
        notes.append(interlace_note)
    pulldown_note = framerate.note(stages, info, opts)
    if pulldown_note:
        notes.append(pulldown_note)
    if own_colour:
        notes.append(_OWN_COLOUR)
    seg = max(1, int(round(float(info.rate or 25) * opts["segment_seconds"])))
    return Plan(input_path, output, "video", stages, source, info, encoder, seg, notes,
                frames.first if to_frames and frames is not None else 0, frames)


_OWN_COLOUR = ("the picture has colour of its own (not black-and-white or toned): it is not coloured again, which "
               "would replace that colour; make it grey first to colour it anew")


def _check_frames_output(image_input: Path | None, output: Path, opts: dict) -> None:
    """Refuse numbered-frame output that bian cannot write, or that would overwrite frames already there."""
    if image_input is not None and image_io.is_image(image_input):
        raise OptionError("numbered frames are written from a film, not from one image", output,
                          "give a file name without %d")
    for name in ("crf", "preset"):
        if opts[name] is not None:
            raise OptionError(f"--{name} applies to h264 and h265 video, not to numbered frames", output,
                              f"drop --{name}")
    try:
        existing = sequence.numbers_on_disk(output)
    except InputError as exc:
        raise OptionError(exc.what, output, exc.hint) from None
    if existing:
        raise OutputError("the output folder already holds frames of this pattern", output,
                          f"bian never overwrites them: frame {min(existing)} is there; choose another name or folder")


def _stages(opts: dict, source: Source) -> list[Stage]:
    stages = [stage for module in STAGE_MODULES for stage in module.build(opts, source)]
    timing = [i for i, s in enumerate(stages) if s.changes_timing]
    if timing and timing[0] != len(stages) - 1:
        raise BianError("internal: a stage that changes timing must come last", hint="report this bug")
    return stages


def check_paths(input_path: Path, output: Path) -> None:
    """Refuse to overwrite the input and fail early on an output folder that cannot be written."""
    if not input_path.exists():
        raise InputError("input not found", input_path, "check the path")
    if input_path.is_file():
        try:  # a real open, as for the output folder below
            with open(input_path, "rb"):
                pass
        except PermissionError:
            raise InputError("input is not readable", input_path, "check its permissions") from None
    if os.path.realpath(input_path) == os.path.realpath(output):
        raise OutputError("output is the input", output, "bian never overwrites its input; choose another name")
    folder = output.parent if str(output.parent) else Path(".")
    if not folder.is_dir():
        raise OutputError("output folder does not exist", folder, "create it first")
    try:  # a real write: permission bits say nothing for root or read-only mounts
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError:
        raise OutputError("output folder is not writable", folder, "choose another folder or fix its permissions") from None
