"""Run frames through an FFmpeg filter chain (Debian ``ffmpeg`` CLI): the anchor benchmarks compare with.

Frames go in and come out as raw 16-bit RGB over pipes, so the only loss besides the filter itself is
FFmpeg's own format conversion for filters that work in YUV.
"""
from __future__ import annotations

import shutil
import subprocess

import numpy as np

THREADS = 2
"""Threads FFmpeg may use (decoding and filtering); benchmarks give bian the same number."""


def available() -> bool:
    return shutil.which("ffmpeg") is not None


def run_filter(frames: np.ndarray, chain: str, fps: int = 24, pad: int = 0) -> np.ndarray:
    """``frames`` (float32 N×H×W×3 in [0, 1]) filtered by the FFmpeg filter chain ``chain`` (e.g. "hqdn3d=4").

    ``pad`` mirrors that many frames at both ends first, for temporal filters; ``tmedian=radius=r``
    drops r frames at each end, so give it ``pad=r``. Returns the same number of frames as given
    (float32 in [0, 1]); raises RuntimeError with FFmpeg's message.
    """
    n = len(frames)
    if pad:
        frames = np.concatenate([frames[pad:0:-1], frames, frames[-2:-2 - pad:-1]])
    h, w = frames.shape[1:3]
    raw = (np.clip(frames, 0, 1) * 65535 + 0.5).astype("<u2").tobytes()
    cmd = ["ffmpeg", "-v", "error", "-threads", str(THREADS), "-filter_threads", str(THREADS),
           "-f", "rawvideo", "-pix_fmt", "rgb48le", "-s", f"{w}x{h}", "-r", str(fps), "-i", "-",
           "-vf", chain, "-sws_flags", "accurate_rnd+full_chroma_int+bitexact", "-f", "rawvideo",
           "-pix_fmt", "rgb48le", "-"]
    done = subprocess.run(cmd, input=raw, capture_output=True)
    if done.returncode != 0:
        raise RuntimeError(f"ffmpeg -vf {chain!r} failed: {done.stderr.decode(errors='replace').strip()}")
    out = np.frombuffer(done.stdout, "<u2").reshape(-1, h, w, 3)
    if len(out) == n + 2 * pad:
        out = out[pad:pad + n]
    if len(out) != n:
        raise RuntimeError(f"ffmpeg -vf {chain!r} returned {len(out)} frames for {n} (+{pad} padding each end)")
    return out.astype(np.float32) / 65535.0
