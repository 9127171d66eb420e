"""Video in: probe a file and decode its main video stream frame by frame, with exact timestamps.

Timestamps come from the stream (``pts × time_base`` as an exact Fraction), never from an assumed
rate, so variable-frame-rate sources keep their timing. Rotation metadata is applied to the pixels
(frames come out upright, as a player shows them) and is not written back.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Iterator

import av
import numpy as np

from ..errors import InputError
from ..frame import Frame


@dataclass
class VideoInfo:
    path: Path
    format: str
    width: int
    """Upright width (after rotation)."""
    height: int
    rotation: int
    """Degrees, as the display matrix says (counter-clockwise)."""
    time_base: Fraction
    rate: Fraction | None
    """Average frame rate, for estimates only."""
    frames: int
    """Frame count as the container states it, or an estimate from duration × rate (0 if unknown)."""
    duration: float | None
    bits: int
    pix_fmt: str
    colorspace: int
    color_range: int
    color_primaries: int
    color_trc: int
    stream_index: int
    streams: list[dict] = field(default_factory=list)
    """Every stream of the file: index, type, codec."""

    @property
    def odd_size(self) -> bool:
        return self.width % 2 == 1 or self.height % 2 == 1


def _open(path: Path):
    if not path.exists():
        raise InputError("input not found", path, "check the path")
    if path.is_file() and path.stat().st_size == 0:
        raise InputError("input file is empty", path, "re-copy or re-export it")
    try:
        return av.open(os.fspath(path), metadata_errors="replace")
    except av.error.FFmpegError as exc:
        raise InputError(f"not a readable video ({_reason(exc)})", path,
                         "the file may be truncated, corrupt or not a video") from None


def _reason(exc: Exception) -> str:
    text = getattr(exc, "strerror", None) or str(exc)
    return text.splitlines()[0] if text else type(exc).__name__


def probe_video(path: Path) -> VideoInfo:
    with _open(path) as container:
        if not container.streams.video:
            raise InputError("no video stream in file", path, "give a video or an image")
        stream = container.streams.video[0]
        ctx = stream.codec_context
        if not ctx.width or not ctx.height or stream.time_base is None:
            raise InputError("video stream has no picture size or timing", path, "the file may be corrupt")
        first = _first_frame(container, stream, path)
        rotation = int(round(first.rotation or 0)) % 360
        width, height = (first.height, first.width) if rotation in (90, 270) else (first.width, first.height)
        rate = stream.average_rate or stream.guessed_rate
        duration = float(stream.duration * stream.time_base) if stream.duration else (
            container.duration / av.time_base if container.duration else None)
        frames = stream.frames or (int(round(duration * float(rate))) if duration and rate else 0)
        streams = [{"index": s.index, "type": s.type, "codec": s.codec_context.name if s.codec_context else None}
                   for s in container.streams]
        fmt = first.format
        return VideoInfo(path=path, format=container.format.name, width=width, height=height, rotation=rotation,
                         time_base=Fraction(stream.time_base), rate=Fraction(rate) if rate else None,
                         frames=frames, duration=duration, bits=max(c.bits for c in fmt.components),
                         pix_fmt=fmt.name, colorspace=int(first.colorspace), color_range=int(first.color_range),
                         color_primaries=int(first.color_primaries), color_trc=int(first.color_trc),
                         stream_index=stream.index, streams=streams)


def _first_frame(container, stream, path):
    try:
        for frame in container.decode(stream):
            return frame
    except av.error.FFmpegError as exc:
        raise InputError(f"cannot decode video ({_reason(exc)})", path, "the file may be truncated or corrupt") from None
    raise InputError("video stream has no frames", path, "the file may be truncated or empty")


class VideoReader:
    """Decodes the main video stream into upright RGB frames (uint8, or uint16 above 8 bits)."""

    def __init__(self, info: VideoInfo):
        self.info = info
        self._format = "rgb48le" if info.bits > 8 else "rgb24"
        self._k = {90: 1, 180: 2, 270: 3}.get(info.rotation, 0)

    def frames(self, start: int = 0, stop: int | None = None) -> Iterator[Frame]:
        """Frames with index in [start, stop): decoded from the beginning, earlier ones skipped without
        conversion (exact for every container, unlike seeking)."""
        info = self.info
        tb = info.time_base
        fallback = Fraction(1, 25) if not info.rate else 1 / info.rate
        with _open(info.path) as container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            index, last_time, pending = 0, None, None
            try:
                for av_frame in container.decode(stream):
                    if av_frame.pts is not None:
                        time = av_frame.pts * tb
                    else:  # raw streams without timestamps: continue from the previous frame
                        time = Fraction(0) if last_time is None else last_time + fallback
                    if last_time is not None and time <= last_time:
                        time = last_time + tb  # broken files: keep time strictly increasing
                    if pending is not None:
                        pending.duration = time - pending.time
                        yield pending
                        pending = None
                    last_time = time
                    if stop is not None and index >= stop:
                        return
                    if index >= start:
                        pending = self._convert(av_frame, time, index, tb, fallback)
                    index += 1
            except av.error.FFmpegError as exc:
                raise InputError(f"video is corrupt or truncated at frame {index} ({_reason(exc)})", info.path,
                                 "repair or re-export the file") from None
            if index == 0:
                raise InputError("video stream has no frames", info.path, "the file may be truncated or empty")
            _check_complete(info, last_time)
            if pending is not None:
                yield pending

    def _convert(self, av_frame, time, index, tb, fallback) -> Frame:
        image = av_frame.to_ndarray(format=self._format)
        if self._k:
            image = np.ascontiguousarray(np.rot90(image, self._k))
        duration = av_frame.duration * tb if av_frame.duration else fallback
        return Frame(image=image, time=time, duration=duration, index=index)


def _check_complete(info: VideoInfo, last_time: Fraction | None) -> None:
    """A stream that stops well before its declared duration was cut off (a partial download or copy)."""
    if info.duration and last_time is not None and info.rate:
        missing = info.duration - float(last_time) - 2 / float(info.rate)
        if missing > max(1.0, 0.05 * info.duration):
            raise InputError(f"video stops at {float(last_time):.2f} s of its declared {info.duration:.2f} s: "
                             "the file is truncated", info.path, "re-copy or re-download it")
