"""Small generated media for the foundation tests, made with the FFmpeg CLI and PyAV (not with bian),
plus readers that report what a file holds: frame timestamps and hashes, audio length, streams."""
from __future__ import annotations

import hashlib
import shutil
import subprocess
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest


def need_ffmpeg() -> str:
    exe = shutil.which("ffmpeg")
    if exe is None:
        pytest.skip("ffmpeg CLI not installed (scripts/setup.sh --test installs it)")
    return exe


def ffmpeg(*args: str) -> None:
    subprocess.run([need_ffmpeg(), "-v", "error", "-y", *args], check=True)


def pattern_video(path: Path, size="320x240", rate="25", seconds=2.0, audio: str | None = "aac", extra=()) -> Path:
    """A moving test pattern with a tone; ``audio`` is an audio codec name or None."""
    args = ["-f", "lavfi", "-i", f"testsrc2=size={size}:rate={rate}:duration={seconds}"]
    if audio:
        args += ["-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={seconds}", "-c:a", audio]
    ffmpeg(*args, *extra, str(path))
    return path


def shots_video(path: Path, seconds=1.2, size="192x108") -> Path:
    """Three shots of ``seconds`` each (moving pattern, bars, zoom) with brightness flicker and a tone,
    a keyframe every 15 frames (so segments start inside GOPs)."""
    parts = [f"testsrc2=size={size}:rate=25:duration={seconds}", f"smptebars=size={size}:rate=25:duration={seconds}",
             f"mandelbrot=size={size}:rate=25,trim=duration={seconds}"]
    args = [a for p in parts for a in ("-f", "lavfi", "-i", p)]
    ffmpeg(*args, "-f", "lavfi", "-i", f"sine=frequency=300:duration={3 * seconds}", "-filter_complex",
           "[0:v][1:v][2:v]concat=n=3:v=1:a=0,eq=brightness='0.06*sin(2.7*n)':eval=frame[v]",
           "-map", "[v]", "-map", "3:a", "-c:v", "libx264", "-g", "15", "-c:a", "aac", str(path))
    return path


def vfr_video(path: Path, audio_codec: str = "pcm_s16le") -> tuple[Path, list[Fraction]]:
    """A variable-frame-rate mkv (frame gaps of 40, 80 and 20 ms) with a PCM tone, written with PyAV."""
    tb = Fraction(1, 1000)
    steps = [40, 80, 20, 40, 40, 120, 20, 20, 40] * 5
    times, t = [], 0
    with av.open(str(path), "w") as c:
        v = c.add_stream("libx264", rate=25, options={"crf": "20", "preset": "veryfast"})
        v.width, v.height, v.pix_fmt = 192, 128, "yuv420p"
        v.time_base = v.codec_context.time_base = tb
        a = c.add_stream(audio_codec, rate=48000, layout="mono")
        total = sum(steps)
        samples = int(48000 * total / 1000)
        tone = (np.sin(np.arange(samples) * 2 * np.pi * 440 / 48000) * 8000).astype(np.int16)
        for i, step in enumerate(steps):
            img = np.zeros((128, 192, 3), np.uint8)
            img[:, (i * 7) % 192] = 255
            img[..., 1] = i * 5
            f = av.VideoFrame.from_ndarray(img, format="rgb24")
            f.pts, f.time_base = t, tb
            times.append(Fraction(t, 1000))
            t += step
            c.mux(v.encode(f))
        c.mux(v.encode(None))
        for start in range(0, samples, 1024):
            chunk = tone[start:start + 1024]
            af = av.AudioFrame.from_ndarray(chunk[None, :], format="s16", layout="mono")
            af.sample_rate, af.pts, af.time_base = 48000, start, Fraction(1, 48000)
            c.mux(a.encode(af))
        c.mux(a.encode(None))
    return path, times


def video_times(path: Path) -> list[Fraction]:
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        return [f.pts * s.time_base for f in c.decode(s)]


def frame_hashes(path: Path) -> list[str]:
    with av.open(str(path)) as c:
        return [hashlib.md5(f.to_ndarray(format="rgb24").tobytes()).hexdigest() for f in c.decode(video=0)]


def audio_seconds(path: Path, index: int = 0) -> float:
    """Decoded audio length of the ``index``-th audio stream, from its first timestamp."""
    with av.open(str(path)) as c:
        s = c.streams.audio[index]
        start, samples, rate = None, 0, s.codec_context.sample_rate
        for f in c.decode(s):
            if start is None:
                start = float(f.pts * f.time_base) if f.pts is not None else 0.0
            samples += f.samples
        return samples / rate


def audio_packet_hash(path: Path) -> str:
    digest = hashlib.md5()
    with av.open(str(path)) as c:
        for p in c.demux(c.streams.audio[0]):
            if p.size:
                digest.update(bytes(p))
    return digest.hexdigest()


def streams(path: Path) -> list[tuple[str, str]]:
    with av.open(str(path)) as c:
        return [(s.type, s.codec_context.name if s.codec_context else "") for s in c.streams]


def file_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
