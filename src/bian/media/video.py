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
from av.video.reformatter import Interpolation

from ..errors import InputError
from ..frame import Frame
from . import yuv
from .sequence import frame_path

_ACCURATE = (Interpolation.BILINEAR | Interpolation.ACCURATE_RND | Interpolation.FULL_CHR_H_INT
             | Interpolation.FULL_CHR_H_INP)


def conversion(rgb_format: str) -> Interpolation | None:
    """swscale flags for YUV ⇄ ``rgb_format`` (rgb24 or rgb48le). With the defaults 8-bit conversions
    round down: a 4:2:0 picture decoded 0.8–1.5 levels dark and came back 1.2 levels darker from a restore
    that changed nothing, and a grey full-range film (MJPEG, phones) came back green-tinted (chroma 127 for
    grey). Accurate rounding with full chroma interpolation fixes both (0.2 and 0); for rgb48le the same
    flags return garbage (FFmpeg 8) and the defaults truncate (half a level dark): planar YUV of more than
    8 bits is converted by :mod:`bian.media.yuv` instead, the rest (grey, RGB, P010) by the defaults."""
    return _ACCURATE if rgb_format == "rgb24" else None


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
    alpha: bool = False
    """The pictures carry transparency (ProRes 4444, PNG/QuickTime Animation); video output holds none."""
    interlaced: bool = False
    """The first frame is flagged interlaced (two fields woven into each frame: DV, VHS or TV captures)."""
    field_order: str | None = None
    """Which field comes first in time, as the stream states it: "tff" (top), "bff" (bottom) or None (not
    stated). DV, which states none, is bottom field first by its standard."""
    start: Fraction = Fraction(0)
    """Time of the stream's first picture (MPEG transport streams start anywhere)."""
    duration_stated: bool = False
    """True when ``duration`` is the video stream's own as an MP4, MOV or AVI index states it (after any edit
    list), not the container's (which may include a longer audio track) or an estimate (MPEG-TS)."""
    sample_aspect: Fraction | None = None
    """Shape of a pixel (width / height) as a player shows it, upright; None for square or unstated.
    Anamorphic sources (DV, DVD, 16:9 PAL) have non-square pixels."""
    image2: dict | None = None
    """For a numbered image sequence (``path`` is its pattern): the image2 demuxer's options."""
    hdr10: dict | None = None
    """HDR10 static metadata of the first picture, in x265's terms: ``master-display`` (primaries, white
    point and luminance of the mastering display) and/or ``max-cll`` (content light levels); None if absent."""

    def open(self):
        """The input opened for reading (PyAV container)."""
        return _open(self.path, self.image2)

    @property
    def odd_size(self) -> bool:
        return self.width % 2 == 1 or self.height % 2 == 1


def _open(path: Path, image2: dict | None = None):
    if image2 is not None:  # a pattern, checked by media.sequence.scan
        try:
            return av.open(os.fspath(path), format="image2", options=image2, metadata_errors="replace")
        except av.error.FFmpegError as exc:
            raise InputError(f"numbered frames not readable ({_reason(exc)})", path,
                             "check the frames' format") from None
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


def probe_video(path: Path, image2: dict | None = None) -> VideoInfo:
    """What the main video stream of ``path`` holds; ``image2``: read ``path`` as a numbered image sequence
    with these image2 demuxer options (see :func:`bian.media.sequence.Sequence.demuxer_options`)."""
    with _open(path, image2) as container:
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
        sar = stream.sample_aspect_ratio or stream.codec_context.sample_aspect_ratio
        sar = Fraction(sar) if sar and sar > 0 and sar != 1 else None
        if sar is not None and rotation in (90, 270):
            sar = 1 / sar
        return VideoInfo(path=path, format=container.format.name, width=width, height=height, rotation=rotation,
                         time_base=Fraction(stream.time_base), rate=Fraction(rate) if rate else None,
                         frames=frames, duration=duration, bits=max(c.bits for c in fmt.components),
                         pix_fmt=fmt.name, colorspace=int(first.colorspace), color_range=int(first.color_range),
                         color_primaries=int(first.color_primaries), color_trc=int(first.color_trc),
                         stream_index=stream.index, streams=streams, alpha=any(c.is_alpha for c in fmt.components),
                         interlaced=bool(first.interlaced_frame),
                         field_order=_field_order(stream.codec_context),
                         start=Fraction(stream.start_time or 0) * Fraction(stream.time_base),
                         duration_stated=bool(stream.duration) and bool(
                             {"mov", "mp4", "avi"} & set(container.format.name.split(","))),
                         sample_aspect=sar, image2=image2, hdr10=_hdr10(first))


def _hdr10(picture) -> dict | None:
    """HDR10 static metadata from a decoded picture's side data (FFmpeg's AVMasteringDisplayMetadata: six
    primary and two white-point coordinates, then minimum and maximum luminance, as int32 rationals, then
    two flags; AVContentLightMetadata: MaxCLL, MaxFALL), written as x265 takes them: chromaticity in units
    of 0.00002, luminance of 0.0001 cd/m², primaries in the order green, blue, red."""
    try:
        side_data = list(picture.side_data)
    except ValueError:  # PyAV refuses the whole list when one kind is newer than it knows (a TIFF scan's)
        return None
    found = {}
    for data in side_data:
        raw = bytes(data)
        if data.type.name == "MASTERING_DISPLAY_METADATA" and len(raw) >= 88:
            n = np.frombuffer(raw[:88], np.int32)
            value = [n[i] / n[i + 1] if n[i + 1] else 0.0 for i in range(0, 20, 2)]  # R, G, B, white; min, max
            xy = [round(v * 50000) for v in value[:8]]
            if n[20] and n[21]:  # has primaries, has luminance
                low, high = round(value[8] * 10000), round(value[9] * 10000)
                found["master-display"] = (f"G({xy[2]},{xy[3]})B({xy[4]},{xy[5]})R({xy[0]},{xy[1]})"
                                           f"WP({xy[6]},{xy[7]})L({high},{low})")
        elif data.type.name == "CONTENT_LIGHT_LEVEL" and len(raw) >= 8:
            found["max-cll"] = "{},{}".format(*np.frombuffer(raw[:8], np.uint32))
    return found or None


_FIELD_ORDERS = {2: "tff", 3: "bff", 4: "tff", 5: "bff"}
"""FFmpeg's AVFieldOrder → the field shown first: TT, BB, TB, BT. TB and BT come from QuickTime's and
Matroska's "interleaved" field orders (fiel 9 and 14 of Apple TN2162: top first, bottom first), as
interlaced ProRes carries (a top-first ProRes file probes "tb")."""


def _field_order(codec_context) -> str | None:
    order = _FIELD_ORDERS.get(int(codec_context.field_order or 0))
    return "bff" if order is None and codec_context.name == "dvvideo" else order


def _first_frame(container, stream, path):
    try:
        for frame in container.decode(stream):
            return frame
    except av.error.FFmpegError as exc:
        raise InputError(f"cannot decode video ({_reason(exc)})", path, "the file may be truncated or corrupt") from None
    raise InputError("video stream has no frames", path, "the file may be truncated or empty")


@dataclass(frozen=True)
class PacketIndex:
    """The video stream's packets read without decoding: how many frames it holds and, when every
    packet has its own timestamp, each frame's pts in presentation order and which frames are keyframes,
    so that a reader can start at the keyframe before frame *n* (a segment on a cluster worker) instead
    of decoding from the beginning."""
    count: int
    pts: np.ndarray | None
    """int64 pts of frame 0, 1, 2 … (sorted), or None when the stream's timestamps cannot number frames."""
    keyframes: np.ndarray | None
    """Frame numbers of the keyframes, ascending."""

    def seek_point(self, start: int) -> int | None:
        """The last keyframe at or before frame ``start``, or None when decoding from the beginning is as
        good (or the only way)."""
        if self.pts is None or start <= 0:
            return None
        k = int(np.searchsorted(self.keyframes, start, side="right")) - 1
        return int(self.keyframes[k]) if k >= 0 and self.keyframes[k] > 0 else None

    def seek_targets(self, origin: int) -> list[int]:
        """Timestamps to seek to for keyframe ``origin``: its own pts, then the previous keyframe's, for
        containers whose seeking lands a keyframe late (MPEG-TS seeks by decode time)."""
        k = int(np.searchsorted(self.keyframes, origin))
        return [int(self.pts[self.keyframes[j]]) for j in (k, k - 1) if j >= 0]

    def number(self, pts: int | None) -> int | None:
        """The frame number of a decoded frame's pts, None if no packet had it."""
        if pts is None:
            return None
        k = int(np.searchsorted(self.pts, pts))
        return k if k < len(self.pts) and self.pts[k] == pts else None


def index_packets(info: VideoInfo) -> PacketIndex:
    """Read the main video stream's packets (no decoding). Packets the demuxer marks as discarded (an
    edit list's hidden lead-in) are not frames and are left out."""
    pts, keys = [], []
    with info.open() as container:
        try:
            for packet in container.demux(container.streams.video[0]):
                if packet.size and not packet.is_discard:
                    pts.append(packet.pts)
                    keys.append(packet.is_keyframe)
        except av.error.FFmpegError as exc:
            raise InputError(f"video is corrupt or truncated ({_reason(exc)})", info.path,
                             "repair or re-export the file") from None
    if not pts or any(p is None for p in pts) or len(set(pts)) != len(pts):
        return PacketIndex(len(pts), None, None)
    order = np.argsort(np.asarray(pts, dtype=np.int64), kind="stable")
    key_numbers = np.flatnonzero(np.asarray(keys, dtype=bool)[order])
    return PacketIndex(len(pts), np.asarray(pts, dtype=np.int64)[order], key_numbers)


class _MissedKeyframe(Exception):
    """The container did not land on the keyframe asked for (it has no exact index)."""


class VideoReader:
    """Decodes the main video stream into upright RGB frames (uint8, or uint16 above 8 bits)."""

    def __init__(self, info: VideoInfo):
        self.info = info
        self._format = "rgb48le" if info.bits > 8 else "rgb24"
        self._k = {90: 1, 180: 2, 270: 3}.get(info.rotation, 0)

    def frames(self, start: int = 0, stop: int | None = None, index: PacketIndex | None = None) -> Iterator[Frame]:
        """Frames with index in [start, stop): decoded from the beginning, earlier ones skipped without
        conversion (exact for every container, unlike seeking by time). With ``index`` (from
        :func:`index_packets`) decoding starts at the keyframe before ``start`` instead, frames being
        numbered by their pts; the first frame kept must be that keyframe, else it seeks one keyframe earlier,
        then falls back to the beginning."""
        origin = index.seek_point(start) if index is not None else None
        for target in index.seek_targets(origin) if origin is not None else []:
            try:
                yield from self._decode(start, stop, index, origin, target)
                return
            except _MissedKeyframe:
                continue
        yield from self._decode(start, stop, None, None, None)

    def _decode(self, start: int, stop: int | None, packets: PacketIndex | None, origin: int | None,
                target: int | None) -> Iterator[Frame]:
        info = self.info
        tb = info.time_base
        fallback = Fraction(1, 25) if not info.rate else 1 / info.rate
        size = (info.height, info.width) if info.rotation in (90, 270) else (info.width, info.height)
        with info.open() as container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            index, last_time, pending = 0, None, None
            if origin is not None:
                origin_pts = int(packets.pts[origin])
                container.seek(target, stream=stream, backward=True, any_frame=False)
            try:
                for av_frame in container.decode(stream):
                    if origin is not None:  # number frames by pts; skip what comes before the keyframe
                        if av_frame.pts is not None and av_frame.pts < origin_pts:
                            continue
                        number = packets.number(av_frame.pts)
                        if last_time is None and number != origin:
                            raise _MissedKeyframe
                        if number is None:
                            raise InputError(f"decoded frame at pts {av_frame.pts} has no packet", info.path,
                                             "re-export the file, or restore it with the local executor")
                        index = number
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
                        if (av_frame.width, av_frame.height) != size:
                            raise self._resized(av_frame, index, size)
                        pending = self._convert(av_frame, time, index, tb, fallback)
                    index += 1
            except av.error.FFmpegError as exc:
                if info.image2 is not None:  # name the file (frames are decoded and returned in order)
                    number = int(info.image2["start_number"]) + index
                    raise InputError(f"frame {number} of the numbered frames is unreadable ({_reason(exc)})",
                                     frame_path(info.path, number), "re-scan or re-copy that file") from None
                raise InputError(f"video is corrupt or truncated at frame {index} ({_reason(exc)})", info.path,
                                 "repair or re-export the file") from None
            if index == 0:
                raise InputError("video stream has no frames", info.path, "the file may be truncated or empty")
            _check_complete(info, None if last_time is None else
                            last_time + (pending.duration if pending is not None else fallback))
            if pending is not None:
                yield pending

    def _resized(self, av_frame, index: int, size: tuple[int, int]) -> InputError:
        """The error for a picture whose size is not the stream's first (a broadcast capture that switches
        format, a scanned reel with one frame re-scanned at another size)."""
        what = f"{av_frame.width}×{av_frame.height}, the first is {size[0]}×{size[1]}"
        if self.info.image2 is not None:
            number = int(self.info.image2["start_number"]) + index
            return InputError(f"frame {number} of the numbered frames is {what}", frame_path(self.info.path, number),
                              "scan or scale every frame of the reel to one size")
        return InputError(f"the picture size changes at frame {index} ({what})", self.info.path,
                          "cut the video where the size changes, or scale it to one size (ffmpeg -vf scale)")

    def _convert(self, av_frame, time, index, tb, fallback) -> Frame:
        duration = av_frame.duration * tb if av_frame.duration else fallback
        if self._k:
            image = np.ascontiguousarray(np.rot90(rgb_pixels(av_frame, self._format), self._k))
            return Frame(image=image, time=time, duration=duration, index=index)
        return Frame(image=None, time=time, duration=duration, index=index,
                     source=Decoded(av_frame, self._format))


class Decoded:
    """A decoded picture as it left the decoder, with the RGB format it converts to on demand."""

    def __init__(self, picture: av.VideoFrame, rgb_format: str):
        self.picture = picture
        self.rgb_format = rgb_format

    @property
    def width(self) -> int:
        return self.picture.width

    @property
    def height(self) -> int:
        return self.picture.height

    def pixels(self) -> np.ndarray:
        return rgb_pixels(self.picture, self.rgb_format)


def rgb_pixels(picture: av.VideoFrame, rgb_format: str) -> np.ndarray:
    """The RGB pixels of a decoded picture in ``rgb_format`` (rgb24: uint8; rgb48le: uint16) H×W×3; YUV of
    more than 8 bits converted by :mod:`bian.media.yuv` (swscale's is half a level dark there)."""
    if rgb_format == "rgb48le":
        exact = yuv.to_rgb48(picture)
        if exact is not None:
            return exact
    return picture.to_ndarray(format=rgb_format, interpolation=conversion(rgb_format))


_MOST_SKIPPED = 300
"""Frames decoded at most after a seek before a run is taken wherever it has got to (a long GOP)."""


def sample_runs(video: VideoInfo, starts: tuple[float, ...], length: int, array_format: str = "gray"):
    """Runs of up to ``length`` consecutive decoded pictures (ndarrays in PyAV's ``array_format``, e.g. gray
    or rgb24, turned upright), one from each share of the video's duration in ``starts``: what a plan looks
    at up front. A run ends where the picture size changes; a run that cannot be read is skipped."""
    with video.open() as container:
        stream = container.streams.video[0]
        for share in starts:
            run, at, skipped = [], float(video.start) + share * (video.duration or 0), 0
            try:
                if share:  # lands on the keyframe before; frames up to the moment asked for are skipped
                    container.seek(int(at / float(stream.time_base)), stream=stream, backward=True)
                for frame in container.decode(stream):
                    if frame.time is not None and frame.time < at and skipped < _MOST_SKIPPED:
                        skipped += 1
                        continue
                    picture = np.rot90(frame.to_ndarray(format=array_format, interpolation=conversion(array_format)),
                                       video.rotation // 90)
                    if run and picture.shape != run[0].shape:
                        break
                    run.append(picture)
                    if len(run) == length:
                        break
            except (av.error.FFmpegError, ValueError):  # unreadable here, or a layout with no such conversion
                continue
            yield run


def _check_complete(info: VideoInfo, end: Fraction | None) -> None:
    """A stream that stops well before its declared end (``end``: the last frame's time plus its duration)
    was cut off (a partial download or copy). The video stream's own duration is exact to a frame or two
    (a short clip cut in half lost less than the 1 s the container's duration needs, as it may include a
    longer audio track; the stream's frame count is no measure: an edit list may hide some of its frames)."""
    if not info.duration or end is None or not info.rate:
        return
    missing = info.duration - float(end - info.start)
    if info.duration_stated:
        slack = max(2 / float(info.rate), 0.02 * info.duration)
    else:
        slack = max(1.0, 0.05 * info.duration)
    if missing > slack:
        raise InputError(f"video stops at {float(end):.2f} s of its declared {info.duration:.2f} s: "
                         "the file is truncated", info.path, "re-copy or re-download it")
