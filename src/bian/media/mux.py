"""Video out, part two: the final file, a lossless remux of the encoded segments with everything else
the source carried (audio, subtitles, chapters, metadata) copied untouched.

A stream is re-encoded only when the output container cannot hold its codec (audio → AAC), or left
out when it cannot be converted (subtitles, data); either is reported as a note. When the picture plays
at another speed (silent-film speed, slow motion), audio is time-stretched with its pitch kept
(:mod:`bian.media.tempo`; re-encoded to AAC unless it is PCM or FLAC) and the other streams' times and
the chapters are scaled to match.

Numbered image files (``reel_%06d.tif``) are assembled by moving each segment's frames to their final
names (:func:`assemble_frames`).
"""
from __future__ import annotations

import heapq
import os
from fractions import Fraction
from pathlib import Path

import av

from ..errors import OutputError
from .atomic import written
from .tempo import Tempo
from .video import VideoInfo

KEEP_TIMESTAMPS = {"avoid_negative_ts": "disabled"}
"""Muxer options: timestamps are written as given (Matroska would otherwise shift a B-frame stream's
first picture off zero)."""
_CONTAINER_KEYS_DROPPED = {"major_brand", "minor_version", "compatible_brands", "encoder", "creation_time"}


def assemble(segments: list[Path], info: VideoInfo, output: Path, container_format: str,
             speed: Fraction = Fraction(1)) -> list[str]:
    """Write ``output`` from the video of ``segments`` (in order) and the other streams of the source,
    played ``speed`` times as fast as in the source (the video's own times already are).
    Returns notes about streams that were converted or left out."""
    notes: list[str] = []
    try:
        with written(output) as partial, info.open() as source, \
                av.open(os.fspath(partial), "w", format=container_format, options=KEEP_TIMESTAMPS) as out:
            plan = _map_streams(source, segments[0], out, info, notes, speed)
            out.metadata.update({k: v for k, v in source.metadata.items() if k not in _CONTAINER_KEYS_DROPPED})
            video_out = plan.pop(info.stream_index)
            lead = _lead(segments, source, plan, speed)
            chapters = source.chapters()
            if chapters:
                out.set_chapters([{**c, "start": max(0, round(c["start"] / speed - lead / c["time_base"])),
                                   "end": max(0, round(c["end"] / speed - lead / c["time_base"]))} for c in chapters])
            for _, _, packet in heapq.merge(_segment_packets(segments, video_out, lead),
                                            _source_packets(source, plan, speed, lead), key=lambda item: item[:2]):
                out.mux(packet)
            for _, (out_stream, convert) in plan.items():
                if convert is not None:
                    out.mux(out_stream.encode(None))
    except av.error.FFmpegError as exc:
        raise OutputError(f"cannot write the final video ({exc})", output, "try an .mkv output") from None
    return notes


def assemble_frames(segments: list[Path], output: Path, first: int) -> list[str]:
    """Move the frames of ``segments`` (folders, in order; frames in name order) to the names the pattern
    ``output`` gives, numbered from ``first``. Refuses before moving any when one of those names is taken."""
    from .sequence import frame_path

    frames = [frame for folder in segments for frame in sorted(folder.iterdir())]
    targets = [frame_path(output, first + i) for i in range(len(frames))]
    taken = next((t for t in targets if t.exists()), None)
    if taken is not None:
        raise OutputError("the output folder already holds frames of this pattern", taken,
                          "bian never overwrites them; move them away and rerun to finish")
    for frame, target in zip(frames, targets):
        os.replace(frame, target)
    return []


def _map_streams(source, first_segment: Path, out, info: VideoInfo, notes: list[str], speed: Fraction) -> dict:
    """Output streams in the source's order: {source index: (output stream, None to copy packets, or the
    change made to decoded frames before they are encoded again)}."""
    supported = out.supported_codecs
    matroska = out.format.name.startswith("matroska")
    keep_it = "it could not be copied" if matroska else "use .mkv to keep it"
    plan = {}
    with av.open(os.fspath(first_segment)) as seg:
        template = seg.streams.video[0]
        video_rate = template.guessed_rate  # the segments' rate (their bitstream states 1/time base: 12800 fps)
        timecode = _timecode(source, info)
        same_rate = video_rate and info.rate and abs(video_rate / info.rate - 1) < 1e-3
        if same_rate:  # the source's own (a segment read back from MP4 or millisecond times is a little off)
            video_rate = info.rate
        for stream in source.streams:
            if stream.index == info.stream_index:
                out_stream = out.add_stream_from_template(template)
                if video_rate:  # else Matroska stored 12800 fps as the frame duration, which players report
                    out_stream.codec_context.framerate = video_rate
                if template.sample_aspect_ratio:  # the container's own field is not part of the template
                    out_stream.sample_aspect_ratio = template.sample_aspect_ratio
                _copy_stream_metadata(stream, out_stream)
                for key in [k for k in out_stream.metadata if k.lower() == "timecode"]:
                    del out_stream.metadata[key]
                if timecode and same_rate:  # MP4/MOV build their timecode track from this tag
                    out_stream.metadata["timecode"] = timecode
                elif timecode:
                    # a timecode numbers the source's frames: at another rate it names other moments (and
                    # MP4/MOV refuse a drop-frame one off 29.97 fps)
                    notes.append(f"the source's timecode ({timecode}) was not kept: the frame rate changed")
                plan[stream.index] = out_stream
                continue
            if matroska and stream.disposition & av.stream.Disposition.attached_pic:
                # Matroska keeps a cover as an attachment; FFmpeg's muxer writes an attached-picture stream
                # as a plain one-frame video track, which players show as a second video
                _attach_cover(info, stream, out, notes)
                continue
            if stream.type == "attachment":  # fonts of styled subtitles, cover pictures: no packets to copy
                if matroska:
                    _copy_stream_metadata(stream, out.add_stream_from_template(stream))
                else:
                    notes.append(f"attachment {stream.metadata.get('filename', stream.index)} was left out "
                                 "(use .mkv to keep it)")
                continue
            if stream.type == "data" and _tag(stream, "timecode"):
                continue  # a timecode track: carried by the video's tag (MP4/MOV make the track anew from it)
            name = stream.codec_context.name if stream.codec_context else None
            label = f"stream #{stream.index} ({stream.type} {name})"
            retime = speed != 1 and stream.type == "audio"
            lossless = name is not None and (name.startswith("pcm_") or name == "flac")
            codec = name if retime and lossless and name in supported else "aac" if "aac" in supported else None
            if name in supported and not retime:
                out_stream = out.add_stream_from_template(stream)
                _copy_stream_metadata(stream, out_stream)
                plan[stream.index] = (out_stream, None)
                if name.startswith(("pcm_s24", "pcm_s32", "pcm_f32", "pcm_f64")) and out.format.name == "mp4":
                    # stored as ISO 'ipcm' (2019), which FFmpeg 5.1 (Debian 12) reads as 16-bit noise when the
                    # samples have 24 bits (16-bit ones it reads right; measured); MOV and Matroska carry PCM
                    notes.append(f"{label} kept as PCM in .mp4, which older players misread (use .mov or .mkv "
                                 "for uncompressed sound)")
            elif stream.type == "audio" and codec is not None:
                rate = stream.codec_context.sample_rate
                # a layout with a known channel order (files may say only "2 channels"), which AAC needs
                channels = stream.codec_context.layout.nb_channels
                layout = {1: "mono", 2: "stereo", 6: "5.1", 8: "7.1"}.get(channels, stream.codec_context.layout)
                out_stream = out.add_stream(codec, rate=rate, layout=layout)
                if codec == "aac":
                    out_stream.format = "fltp"  # the only sample format FFmpeg's AAC encoder takes
                    out_stream.bit_rate = 192_000
                else:
                    out_stream.format = stream.codec_context.format.name
                _copy_stream_metadata(stream, out_stream)
                if retime:
                    plan[stream.index] = (out_stream, Tempo(stream, speed))
                    notes.append(f"{label} played at {float(speed):.4g}× speed to follow the picture, pitch kept "
                                 f"(re-encoded as {codec})")
                else:
                    plan[stream.index] = (out_stream, _unchanged)
                    notes.append(f"{label} cannot be stored in .{out.format.name.split(',')[0]}: re-encoded to "
                                 "AAC" + ("" if matroska else " (use .mkv to keep it untouched)"))
            elif retime:
                notes.append(f"{label} was left out: it must be retimed to follow the picture and this container "
                             "takes no audio codec bian can encode (use .mkv)")
            else:
                reason = "it could not be copied" if stream.type == "data" else keep_it
                notes.append(f"{label} cannot be stored in this container and was left out ({reason})")
    return plan


def _tag(stream, key: str) -> str | None:
    """A stream's tag, whatever the case of its name (MOV writes timecode, Matroska TIMECODE)."""
    return next((v for k, v in stream.metadata.items() if k.lower() == key), None)


def _timecode(source, info: VideoInfo) -> str | None:
    """The source's start timecode: on its video stream, or on a timecode track of its own."""
    streams = [source.streams[info.stream_index]] + [s for s in source.streams if s.type == "data"]
    return next((t for t in (_tag(s, "timecode") for s in streams) if t), None)


_COVER_TYPES = {"mjpeg": ("jpg", "image/jpeg"), "png": ("png", "image/png"), "bmp": ("bmp", "image/bmp"),
                "gif": ("gif", "image/gif"), "webp": ("webp", "image/webp")}


def _attach_cover(info: VideoInfo, stream, out, notes: list[str]) -> None:
    """Store the attached picture (cover art) ``stream`` of the source as an attachment of ``out``."""
    name = stream.codec_context.name if stream.codec_context else None
    kind = _COVER_TYPES.get(name)
    if kind is None:
        notes.append(f"cover picture #{stream.index} ({name}) was left out: not a picture format Matroska attaches")
        return
    with info.open() as again:  # its own reader: the one packet may lie anywhere in the file
        data = next((bytes(p) for p in again.demux(again.streams[stream.index]) if p.size), None)
    if data is None:
        notes.append(f"cover picture #{stream.index} was left out: it holds no picture")
        return
    filename = stream.metadata.get("filename") or f"cover.{kind[0]}"
    out.add_attachment(filename, stream.metadata.get("mimetype") or kind[1], data)


def _copy_stream_metadata(src, dst) -> None:
    for key, value in src.metadata.items():
        if key.lower() not in ("encoder", "duration", "handler_name", "vendor_id") and not key.startswith("_"):
            dst.metadata[key] = value
    try:
        dst.disposition = src.disposition
    except (AttributeError, ValueError, TypeError):
        pass


def _lead(segments: list[Path], source, plan: dict, speed: Fraction) -> Fraction:
    """Output seconds before the first picture or sound, taken off every stream alike. MPEG transport and
    program streams (camcorder .mts, broadcast .ts, DVD .vob) start their clock anywhere: kept as they were,
    players showed that much blank before the film. Starts at or before zero are left as they are."""
    with av.open(os.fspath(segments[0])) as seg:
        stream = seg.streams.video[0]
        pts = [p.pts for p in seg.demux(stream) if p.size and p.pts is not None]
        starts = [min(pts) * Fraction(stream.time_base)] if pts else []
    for index in plan:
        stream = source.streams[index]
        if stream.start_time is not None:
            starts.append(stream.start_time * Fraction(stream.time_base) / speed)
    return max([Fraction(0), min(starts)]) if starts else Fraction(0)


def _segment_packets(segments: list[Path], out_stream, lead: Fraction):
    shift = _reorder_delay(segments)
    order = 0
    for path in segments:
        with av.open(os.fspath(path)) as seg:
            packets = [p for p in seg.demux(seg.streams.video[0]) if p.size]  # size 0: end-of-stream marker
            early = round(lead / Fraction(seg.streams.video[0].time_base))
            for packet, pts in zip(packets, sorted(p.pts for p in packets)):
                packet.pts -= early
                packet.dts = pts - shift - early
                packet.stream = out_stream
                order += 1
                yield _packet_time(packet), order, packet


def _reorder_delay(segments: list[Path]) -> int:
    """Decode times for the joined stream. Each segment's own are no use: Matroska stores none (the
    muxer's guess then goes backwards at a join) and x264 shifts them per segment by its reorder depth,
    which varies with the content (again backwards at a join; ffmpeg refuses with EINVAL). In decode
    order, the i-th smallest presentation time minus this delay is valid for every segment: never after
    the packet's own presentation time, always increasing, also across joins."""
    delay = 0
    for path in segments:
        with av.open(os.fspath(path)) as seg:
            pts = [p.pts for p in seg.demux(seg.streams.video[0]) if p.size]
        if any(t is None for t in pts):
            raise OutputError("an encoded segment has packets without timestamps", path, "rerun with --fresh")
        delay = max([delay] + [s - t for s, t in zip(sorted(pts), pts)])
    return delay


def _unchanged(frame) -> list:
    return [] if frame is None else [frame]


def _source_packets(source, plan: dict, speed: Fraction, lead: Fraction):
    if not plan:
        return
    order = 0
    for packet in source.demux([source.streams[i] for i in plan]):
        out_stream, convert = plan[packet.stream.index]
        early = round(lead / Fraction(packet.time_base))
        if convert is None:
            if not packet.size:
                continue
            if speed != 1:
                for name in ("pts", "dts", "duration"):
                    if getattr(packet, name):
                        setattr(packet, name, round(getattr(packet, name) / speed))
            for name in ("pts", "dts"):
                if getattr(packet, name) is not None:
                    setattr(packet, name, getattr(packet, name) - early)
            packet.stream = out_stream
            order += 1
            yield _packet_time(packet), order, packet
            continue
        for frame in packet.decode():
            if frame.pts is not None:  # in source time: the lead there is ``speed`` times as long
                frame.pts -= round(lead * speed / Fraction(frame.time_base))
            for made in convert(frame):
                for out_packet in out_stream.encode(made):
                    order += 1
                    yield _packet_time(out_packet), order, out_packet
    for out_stream, convert in plan.values():  # what a time-stretch still holds
        for made in convert(None) if convert is not None else []:
            for out_packet in out_stream.encode(made):
                order += 1
                yield _packet_time(out_packet), order, out_packet


def _packet_time(packet) -> float:
    """Decode time in seconds, for interleaving (Matroska stores no dts for some packets)."""
    ts = packet.dts if packet.dts is not None else packet.pts
    return float(ts * packet.time_base) if ts is not None else 0.0
