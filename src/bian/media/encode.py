"""Video out, part one: encoding frames into a segment file.

Each segment is encoded by a fresh encoder into its own file in the output's container format, so a
segment is a closed unit (starts on a keyframe, same stream parameters as its siblings) and the final
file is a lossless remux of the segments (see :mod:`bian.media.mux`). For numbered image files
(``reel_%06d.tif``) a segment is a folder of its frames, renamed into place once all are done.
"""
from __future__ import annotations

import dataclasses
import functools
import os
import shutil
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from av.video.frame import PictureType

from ..errors import OptionError, OutputError
from ..frame import Frame, quantise
from . import images, yuv
from .mux import KEEP_TIMESTAMPS
from .video import conversion

CODECS = {"h264": "libx264", "h265": "libx265", "ffv1": "ffv1", "prores": "prores_ks"}
CONTAINERS = {".mp4": "mp4", ".m4v": "mp4", ".mov": "mov", ".mkv": "matroska"}
DEFAULT_CRF = {"h264": 18, "h265": 20}
PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow")


@dataclass(frozen=True)
class EncoderSettings:
    codec: str
    """h264 | h265 | ffv1 | prores"""
    container: str
    """FFmpeg muxer name (mp4, mov, matroska), or ``frames`` for numbered image files."""
    pix_fmt: str
    crf: int | None
    preset: str | None
    width: int
    height: int
    time_base: Fraction
    rate: Fraction | None
    colorspace: int
    color_range: int
    color_primaries: int
    color_trc: int
    threads: int = 0
    """h264 encoder threads; 0 lets x264 choose from this machine's cores. Its output depends on the
    count, so a job spread over machines fixes it (:func:`fixed_threads`)."""
    sample_aspect: Fraction | None = None
    """Pixel shape written to the stream (anamorphic sources); None for square pixels."""
    hdr10: str | None = None
    """HDR10 static metadata for x265 (``master-display=…:max-cll=…``), from the source; h265 only."""

    @property
    def high_bit(self) -> bool:
        return any(depth in self.pix_fmt for depth in ("10", "16", "48"))

    def describe(self) -> dict:
        described = {"codec": self.codec, "pix_fmt": self.pix_fmt, "crf": self.crf, "preset": self.preset,
                     "size": [self.width, self.height]}
        if self.sample_aspect is not None:
            described["sample_aspect"] = str(self.sample_aspect)
        if self.hdr10:
            described["hdr10"] = self.hdr10
        return described


def container_for(path: Path) -> str:
    try:
        return CONTAINERS[path.suffix.lower()]
    except KeyError:
        raise OptionError(f"unsupported video extension '{path.suffix}'", path, "use .mp4, .mov or .mkv") from None


def choose_settings(codec: str, crf: int | None, preset: str | None, output: Path, width: int, height: int,
                    bits: int, time_base: Fraction, rate: Fraction | None, colour: tuple[int, int, int, int],
                    sample_aspect: Fraction | None = None,
                    hdr10: dict | None = None) -> tuple[EncoderSettings, list[str]]:
    """Encoder settings for the output, and notes for the user about choices made for them. ``hdr10``: the
    source's HDR10 static metadata (:attr:`bian.media.video.VideoInfo.hdr10`), kept by h265 only."""
    container = container_for(output)
    if codec not in CODECS:
        raise OptionError(f"unknown codec '{codec}'", hint=f"use one of {', '.join(CODECS)}")
    if CODECS[codec] not in av.codecs_available:
        raise OptionError(f"this FFmpeg build has no {CODECS[codec]} encoder", hint="choose another --codec")
    if container == "mp4" and codec in ("ffv1", "prores"):
        raise OptionError(f"{codec} cannot be stored in {output.suffix}", output, "use a .mkv or .mov output")
    if container == "mov" and codec == "ffv1":
        raise OptionError("ffv1 cannot be stored in .mov", output, "use a .mkv output")
    if crf is not None and codec not in DEFAULT_CRF:
        raise OptionError(f"--crf applies to h264 and h265, not {codec}", hint="drop --crf or choose --codec h264")
    if preset is not None and codec not in DEFAULT_CRF:
        raise OptionError(f"--preset applies to h264 and h265, not {codec}", hint="drop --preset")
    notes = []
    odd = width % 2 or height % 2
    high = bits > 8
    if codec in ("h264", "h265"):
        chroma = "444" if odd else "420"
        if odd:
            notes.append(f"{width}×{height} is odd-sized: encoded as 4:4:4 to keep every pixel")
        pix_fmt = f"yuv{chroma}p10le" if high else f"yuv{chroma}p"
    elif codec == "ffv1":
        pix_fmt = "gbrp16le" if high else "bgr0"
    else:
        pix_fmt = "yuv422p10le" if not odd else "yuv444p10le"
    space, value_range, primaries, trc = colour
    if pix_fmt.startswith(("gbr", "bgr")):  # RGB has no matrix and is always full range (a "tv" tag on it
        space, value_range = 0, 2           # made players that honour it stretch the contrast)
    elif space == 0:  # an RGB source into YUV: name the matrix, else players guess BT.601 or BT.709 by size
        space, value_range = 1, 1
    elif value_range == 2 and "10" in pix_fmt:  # FFmpeg's RGB → full-range YUV at 10 bits rounds grey's
        value_range = 1                         # chroma down (grey film turned green, R−G −0.6); limited is exact
    if hdr10 and codec != "h265":  # x264 here ignores mastering-display; ProRes and FFV1 have no place for it
        notes.append("the source's HDR10 metadata (mastering display, light levels) is not written by "
                     f"{codec}: HDR displays tone-map by their defaults (use --codec h265 to keep it)")
    settings = EncoderSettings(codec=codec, container=container, pix_fmt=pix_fmt,
                               crf=(DEFAULT_CRF.get(codec) if crf is None else crf),
                               preset=(preset or "medium") if codec in DEFAULT_CRF else None,
                               width=width, height=height, time_base=time_base, rate=rate,
                               colorspace=space, color_range=value_range, color_primaries=primaries,
                               color_trc=trc, sample_aspect=sample_aspect,
                               hdr10=":".join(f"{k}={v}" for k, v in hdr10.items())
                               if hdr10 and codec == "h265" else None)
    return settings, notes


def frame_settings(output: Path, width: int, height: int, bits: int, time_base: Fraction,
                   rate: Fraction | None) -> tuple[EncoderSettings, list[str]]:
    """Settings for writing the output as numbered image files, the format named by ``output``'s extension:
    16 bits per channel for a source of more than 8 where the format holds them (TIFF, PNG); DPX at 10 bits
    (what grading expects), 16 for a source of more than 10."""
    suffix = output.suffix.lower()
    notes = []
    if suffix == ".dpx":
        try:
            av.Codec("dpx", "w")
        except (av.error.FFmpegError, ValueError):
            raise OptionError("this FFmpeg build has no DPX encoder", output, "write .tif frames instead") from None
        codec, pix_fmt = "dpx", "rgb48le" if bits > 10 else "gbrp10le"
    elif suffix in images.FORMATS:
        fmt = images.FORMATS[suffix]
        deep = bits > 8 and fmt in images.SIXTEEN_BIT
        if bits > 8 and not deep:
            notes.append(f"bian writes {fmt} with 8 bits per channel: the {bits}-bit source was written as 8-bit "
                         "(use .tif, .png or .dpx to keep its depth)")
        codec, pix_fmt = fmt.lower(), "rgb48le" if deep else "rgb24"
    else:
        raise OptionError(f"unsupported extension '{output.suffix}' for numbered frames", output,
                          "use .tif, .png or .dpx")
    return EncoderSettings(codec=codec, container="frames", pix_fmt=pix_fmt, crf=None, preset=None, width=width,
                           height=height, time_base=time_base, rate=rate, colorspace=0, color_range=2,
                           color_primaries=0, color_trc=0), notes


def _check_size(frame: Frame, settings: EncoderSettings, path: Path) -> None:
    """Every frame of an output has the size its settings were made for (a stage that changes it mid-stream
    is a bug; the reader already refuses sources whose size changes)."""
    if (frame.width, frame.height) != (settings.width, settings.height):
        raise OutputError(f"frame {frame.index} is {frame.width}×{frame.height}, the output is "
                          f"{settings.width}×{settings.height}", path, "a stage changed the size mid-stream")


def open_writer(settings: EncoderSettings, path: Path):
    """The writer of one segment: a video file, or a folder of numbered frames."""
    return (FrameWriter if settings.container == "frames" else SegmentWriter)(settings, path)


class FrameWriter:
    """Writes a segment's frames as image files into a folder (``000000.tif``, ``000001.tif`` …), built
    under a temporary name and renamed on close, as :class:`SegmentWriter` does with its file."""

    def __init__(self, settings: EncoderSettings, path: Path):
        self.settings = settings
        self.path = path
        self.partial = path.with_name(path.stem + ".partial" + path.suffix)
        self.frames = 0
        shutil.rmtree(self.partial, ignore_errors=True)  # left by a run killed mid-segment
        try:
            self.partial.mkdir()
        except OSError as exc:
            raise OutputError(f"cannot write ({exc})", self.partial, "check the folder is writable") from None
        self._dpx = None
        if settings.codec == "dpx":
            self._dpx = av.CodecContext.create("dpx", "w")
            self._dpx.width, self._dpx.height, self._dpx.pix_fmt = settings.width, settings.height, settings.pix_fmt
            self._dpx.time_base = Fraction(1, 24)  # DPX stores no time; the encoder wants one
            self._dpx.open()
        self._info = images.ImageInfo(path=path, format=settings.codec.upper(), width=settings.width,
                                      height=settings.height, bits=16 if settings.high_bit else 8, grey=False,
                                      alpha=False, mode="RGB")

    def write(self, frame: Frame) -> None:
        s = self.settings
        _check_size(frame, s, self.path)
        target = self.partial / f"{self.frames:06d}{self.path.suffix}"
        if self._dpx is None:
            opaque = frame if frame.alpha is None else frame.replace(alpha=None)
            images.write_image(opaque, self._info, target, grey=False)
        else:
            picture = av.VideoFrame.from_ndarray(np.ascontiguousarray(quantise(frame.image, np.uint16)),
                                                 format="rgb48le")
            picture = picture.reformat(format=s.pix_fmt)
            picture.pts = self.frames
            try:  # no temporary name: the whole folder is one until the segment is done
                target.write_bytes(b"".join(bytes(p) for p in self._dpx.encode(picture)))
            except OSError as exc:
                raise OutputError(f"cannot write ({exc})", target, "check the disk has room") from None
        self.frames += 1

    def close(self) -> Path:
        shutil.rmtree(self.path, ignore_errors=True)
        os.replace(self.partial, self.path)
        return self.path

    def abort(self) -> None:
        shutil.rmtree(self.partial, ignore_errors=True)


class SegmentWriter:
    """Encodes frames into one segment file (written under a temporary name, renamed on close)."""

    def __init__(self, settings: EncoderSettings, path: Path):
        self.settings = settings
        self.path = path
        self.partial = path.with_name(path.stem + ".partial" + path.suffix)
        self.frames = 0
        try:
            self.container = av.open(os.fspath(self.partial), "w", format=settings.container,
                                     options={**KEEP_TIMESTAMPS, **_mov_timescales(settings)})
        except (OSError, av.error.FFmpegError) as exc:
            raise OutputError(f"cannot write ({exc})", self.partial, "check the folder is writable") from None
        self.stream = _add_video_stream(self.container, settings)
        self._in_format = "rgb48le" if settings.high_bit else "rgb24"

    def write(self, frame: Frame) -> None:
        s = self.settings
        _check_size(frame, s, self.path)
        decoded = frame.source.picture if frame.source is not None else None
        if decoded is not None and decoded.format.name == s.pix_fmt:
            av_frame = decoded
            av_frame.pict_type = PictureType.NONE  # the decoder's frame types must not force the encoder's
        else:
            image = np.ascontiguousarray(quantise(frame.image, np.uint16 if s.high_bit else np.uint8))
            # more than 8 bits, or full range: swscale's RGB → YUV is biased there (see bian.media.yuv)
            exact = s.high_bit or s.color_range == 2
            av_frame = yuv.from_rgb(image, s.pix_fmt, s.colorspace, s.color_range) if exact else None
            if av_frame is None:
                av_frame = av.VideoFrame.from_ndarray(image, format=self._in_format)
                av_frame = av_frame.reformat(format=s.pix_fmt, dst_colorspace=s.colorspace or None,
                                             dst_color_range=s.color_range or None,
                                             interpolation=conversion(self._in_format))
        av_frame.pts = round(frame.time / s.time_base)
        av_frame.time_base = s.time_base
        self.container.mux(self.stream.encode(av_frame))
        self.frames += 1

    def close(self) -> Path:
        self.container.mux(self.stream.encode(None))
        self.container.close()
        os.replace(self.partial, self.path)
        return self.path

    def abort(self) -> None:
        try:
            self.container.close()
        except Exception:  # noqa: BLE001  (already failing; the partial file is removed below)
            pass
        self.partial.unlink(missing_ok=True)


def _mov_timescales(settings: EncoderSettings) -> dict:
    """MP4/MOV: a segment that starts after zero opens with an empty edit, timed in the movie's timescale
    (1 ms by default), which moved a start such as 2/3 s by a fraction of a millisecond when the file was
    read back; one timescale for track and movie keeps every start exact."""
    if settings.container not in ("mp4", "mov"):
        return {}
    scale = settings.time_base.denominator
    while scale < 10000:  # as FFmpeg's muxer chooses the track timescale
        scale *= 2
    return {"video_track_timescale": str(scale), "movie_timescale": str(scale)}


def fixed_threads(settings: EncoderSettings) -> EncoderSettings:
    """``settings`` with the h264 thread count x264 would choose by itself on this machine (1.5 per core,
    at most one per two rows of macroblocks), written out so that other machines encode the same bits."""
    if settings.codec != "h264" or settings.threads:
        return settings
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    threads = max(1, min(cores * 3 // 2, (settings.height + 15) // 16 // 2))
    return dataclasses.replace(settings, threads=threads)


@functools.lru_cache(maxsize=1)
def _has_avx512() -> bool:
    try:
        with open("/proc/cpuinfo") as fh:
            return " avx512f" in fh.read()
    except OSError:
        return False


def _add_video_stream(container, s: EncoderSettings):
    options = {}
    if s.codec == "h264":
        options = {"crf": str(s.crf), "preset": s.preset}
        if _has_avx512():
            # x264's AVX-512 routines made the bitstream differ from run to run for identical input
            # (measured here); resumed and distributed runs need encoding to be deterministic
            options["x264-params"] = "asm=AVX2"
    elif s.codec == "h265":
        options = {"crf": str(s.crf), "preset": s.preset,
                   "x265-params": "log-level=error" + (f":hdr10=1:{s.hdr10}" if s.hdr10 else "")}
    elif s.codec == "ffv1":
        options = {"level": "3", "slicecrc": "1"}
    elif s.codec == "prores":
        options = {"profile": "3"}
    stream = container.add_stream(CODECS[s.codec], rate=s.rate, options=options)
    stream.width, stream.height, stream.pix_fmt = s.width, s.height, s.pix_fmt
    stream.time_base = s.time_base
    ctx = stream.codec_context
    ctx.time_base = s.time_base
    if s.codec in ("h264", "h265"):
        ctx.thread_type = "FRAME"  # as the ffmpeg CLI does; PyAV's default is slice threading
    if s.codec == "h264" and s.threads:
        ctx.thread_count = s.threads
    if s.sample_aspect is not None:  # in the bitstream (h264, h265) and in the container (ProRes has no field)
        ctx.sample_aspect_ratio = stream.sample_aspect_ratio = s.sample_aspect
    if s.codec == "h265" and s.container in ("mp4", "mov"):
        ctx.codec_tag = "hvc1"  # what Apple players expect
    for name in ("colorspace", "color_range", "color_primaries", "color_trc"):
        value = getattr(s, name)
        if value:
            setattr(ctx, name, value)
    return stream
