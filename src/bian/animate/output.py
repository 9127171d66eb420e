"""Writing an animation: H.264 video (optionally with a driving video's audio, cut to the animation's
length) or GIF (one palette for the whole clip and position-based dithering, so still parts of the
picture stay exactly still and nothing shimmers from frame to frame).

Files are written under a temporary name and renamed when complete.
"""
from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path
from typing import Iterable

import av
import numpy as np
from PIL import Image

from ..errors import OutputError
from ..frame import Frame, quantise
from ..media.encode import SegmentWriter, choose_settings
from ..media.atomic import written
from ..media.mux import KEEP_TIMESTAMPS

GIF_SUFFIX = ".gif"
_BT709 = (1, 1, 1, 1)
"""colorspace, range (limited), primaries, transfer: BT.709, what players assume for HD pictures."""


def frame_times(count: int, fps: Fraction) -> list[Fraction]:
    return [Fraction(i) / fps for i in range(count)]


def write_video(frames: Iterable[np.ndarray], times: list[Fraction], output: Path, width: int, height: int,
                time_base: Fraction, rate: Fraction, crf: int | None = None, preset: str | None = None,
                audio_from: Path | None = None) -> list[str]:
    """Encode float32/uint8 RGB ``frames`` shown at ``times`` (seconds) into ``output`` (.mp4/.mov/.mkv),
    H.264 8-bit at ``crf`` (default: bian's, 18). ``audio_from``: a file whose audio is copied in, cut at the end
    of the last frame. Returns notes for the user."""
    settings, notes = choose_settings("h264", crf, preset, output, width, height, 8, time_base, rate, _BT709)
    video_only = output.with_name(f".{output.stem}.video{output.suffix}") if audio_from else output
    writer = SegmentWriter(settings, video_only)
    try:
        for i, (image, time) in enumerate(zip(frames, times)):
            writer.write(Frame(image=image, time=time, duration=Fraction(1) / rate, index=i))
        writer.close()
    except BaseException:
        writer.abort()
        raise
    if audio_from is not None:
        try:
            notes += _add_audio(video_only, audio_from, output, times[-1] + Fraction(1) / rate)
        finally:
            video_only.unlink(missing_ok=True)
    return notes


def _add_audio(video: Path, source: Path, output: Path, end: Fraction) -> list[str]:
    try:
        with av.open(os.fspath(video)) as vid, av.open(os.fspath(source)) as src:
            if not src.streams.audio:
                notes = [f"{source.name} has no audio track: the animation is silent"]
                os.replace(video, output)
                return notes
            with written(output) as partial, av.open(os.fspath(partial), "w", format=vid.format.name.split(",")[0],
                                                     options=KEEP_TIMESTAMPS) as out:
                v_out = out.add_stream_from_template(vid.streams.video[0])
                audio = src.streams.audio[0]
                name = audio.codec_context.name
                if name not in out.supported_codecs:
                    raise OutputError(f"the driving video's audio ({name}) cannot be stored in {output.suffix}",
                                      output, "write a .mkv output")
                a_out = out.add_stream_from_template(audio)
                for packet in vid.demux(vid.streams.video[0]):
                    if packet.size:
                        packet.stream = v_out
                        out.mux(packet)
                for packet in src.demux(audio):
                    if not packet.size or packet.pts is None:
                        continue
                    if packet.pts * audio.time_base >= end:
                        break
                    packet.stream = a_out
                    out.mux(packet)
    except av.error.FFmpegError as exc:
        raise OutputError(f"cannot write the video with audio ({exc})", output, "try a .mkv output") from None
    return []


# --------------------------------------------------------------------------------------------------- GIF
_BAYER8 = (np.array([[0, 32, 8, 40, 2, 34, 10, 42], [48, 16, 56, 24, 50, 18, 58, 26],
                     [12, 44, 4, 36, 14, 46, 6, 38], [60, 28, 52, 20, 62, 30, 54, 22],
                     [3, 35, 11, 43, 1, 33, 9, 41], [51, 19, 59, 27, 49, 17, 57, 25],
                     [15, 47, 7, 39, 13, 45, 5, 37], [63, 31, 55, 23, 61, 29, 53, 21]]) + 0.5) / 64 - 0.5


class GifPalette:
    """One 256-colour palette for a clip, built from sample pictures (uint8 RGB), and the quantiser that
    maps pictures onto it with ordered (Bayer 8×8) dithering through a 64³ lookup table."""

    def __init__(self, samples: list[np.ndarray]):
        pixels = np.concatenate([s.reshape(-1, 3)[:: max(1, s.size // 3 // 200_000)] for s in samples])
        side = int(np.ceil(np.sqrt(len(pixels))))
        tile = np.zeros((side * side, 3), np.uint8)
        tile[:len(pixels)] = pixels
        tile[len(pixels):] = pixels[0]
        quant = Image.fromarray(tile.reshape(side, side, 3)).quantize(256, method=Image.Quantize.MEDIANCUT)
        used = len(quant.getcolors(256) or []) or 256
        self.palette = np.array(quant.getpalette()[: 3 * used], np.float32).reshape(-1, 3)
        levels = (np.arange(64, dtype=np.float32) * 255 + 127.5) / 64
        cube = np.stack(np.meshgrid(levels, levels, levels, indexing="ij"), -1).reshape(-1, 3)
        lut = np.empty(len(cube), np.uint8)
        for s in range(0, len(cube), 16384):
            d = ((cube[s:s + 16384, None, :] - self.palette[None]) ** 2).sum(-1)
            lut[s:s + 16384] = d.argmin(1)
        self.lut = lut.reshape(64, 64, 64)
        if len(self.palette) > 1:
            d = ((self.palette[:, None] - self.palette[None]) ** 2).sum(-1)
            np.fill_diagonal(d, np.inf)
            self.spread = float(np.median(np.sqrt(d.min(1)))) / np.sqrt(3)
        else:
            self.spread = 0.0

    def quantise(self, image: np.ndarray) -> Image.Image:
        """uint8 RGB H×W×3 → a 'P' image on the palette."""
        h, w = image.shape[:2]
        noise = np.tile(_BAYER8, (h // 8 + 1, w // 8 + 1))[:h, :w, None] * self.spread
        idx = np.clip((image.astype(np.float32) + noise) * (64 / 256), 0, 63).astype(np.intp)
        out = Image.fromarray(self.lut[idx[..., 0], idx[..., 1], idx[..., 2]], "P")
        flat = np.zeros(768, np.uint8)
        flat[: self.palette.size] = self.palette.astype(np.uint8).ravel()
        out.putpalette(flat.tolist())
        return out


class GifWriter:
    """Collects frames (float32 in [0, 1] or uint8 RGB) and writes a looping GIF at ``fps`` on close (GIF
    counts time in hundredths of a second: the frame delay is rounded to that). The palette is built
    from ``palette_from`` (the photograph), so every frame uses the same colours."""

    def __init__(self, output: Path, fps: float, palette_from: list[np.ndarray]):
        self.output = output
        self.fps = fps
        self.palette = GifPalette([quantise(p, np.uint8) for p in palette_from])
        self.images: list[Image.Image] = []

    def add(self, frame: np.ndarray) -> None:
        self.images.append(self.palette.quantise(quantise(frame, np.uint8)))

    def close(self) -> list[str]:
        delay = max(2, round(100 / self.fps)) * 10
        notes = []
        if abs(delay - 1000 / self.fps) > 1:
            notes.append(f"GIF frame delays are in 1/100 s: {self.fps:g} fps plays at {1000 / delay:g} fps")
        try:
            with written(self.output) as partial:
                self.images[0].save(partial, format="GIF", save_all=True, append_images=self.images[1:],
                                    duration=delay, loop=0, disposal=1, optimize=False)
        except OSError as exc:
            raise OutputError(f"cannot write GIF ({exc})", self.output, "check the folder is writable") from None
        return notes
