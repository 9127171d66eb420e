"""`bian demo`: a built-in example that needs no download.

A real photograph shipped with scikit-image (the astronaut portrait, NASA, public domain) is turned
into a few seconds of "old film": a slow push-in shot on a flickering, weaving, grainy, dusty and
scratched black-and-white print with a projector hum on the sound track. bian then restores it with
its film chain, and writes the restored video and a before/after still to look at.
"""
from __future__ import annotations

import importlib.util
import os
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from .analysis.luma import luma_of
from .errors import BianError
from .media.atomic import written

FPS = 24
SIZE = (512, 384)
FILM_CHAIN = {"dust": True, "denoise": 1.0, "deflicker": True, "stabilise": True}
"""The restoration the demo runs: the film-repair chain."""


def source_photo() -> np.ndarray:
    """The astronaut portrait from scikit-image's bundled data, as float32 grey in [0, 1]."""
    spec = importlib.util.find_spec("skimage")
    path = Path(list(spec.submodule_search_locations)[0]) / "data" / "astronaut.png" if spec else None
    if path is None or not path.is_file():
        raise BianError("scikit-image's sample photographs are missing", hint="pip install scikit-image")
    rgb = cv2.cvtColor(cv2.imread(os.fspath(path)), cv2.COLOR_BGR2RGB).astype(np.float32) / 255
    return luma_of(rgb)


def age_film(photo: np.ndarray, frames: int, seed: int = 7):
    """Yield aged 8-bit RGB frames: push-in, gate weave, gain flicker, grain, dust, a line scratch, vignette."""
    rng = np.random.default_rng(seed)
    h, w = photo.shape
    out_w, out_h = SIZE
    yy, xx = np.mgrid[0:out_h, 0:out_w]
    vignette = 1 - 0.35 * (((xx - out_w / 2) / out_w) ** 2 + ((yy - out_h / 2) / out_h) ** 2) * 2.2
    scratch_x = out_w * 0.62
    for i in range(frames):
        zoom = 1.0 + 0.15 * i / max(1, frames - 1)
        dx, dy = rng.normal(0, 1.6, 2)  # gate weave
        scale = out_w / (w * 0.9) * zoom
        m = np.array([[scale, 0, out_w / 2 - scale * w / 2 + dx], [0, scale, out_h / 2 - scale * h * 0.42 + dy]])
        img = cv2.warpAffine(photo, m, (out_w, out_h), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT)
        img = 0.08 + 0.8 * img  # faded print: lifted blacks, dull whites
        img = img * vignette * (1 + rng.uniform(-0.12, 0.12))  # projector flicker
        img = img + rng.normal(0, 0.045, img.shape) * (0.5 + img)  # grain, stronger in the highlights
        for _ in range(rng.poisson(5)):  # dust: dark and bright specks, a few hairs
            cx, cy, r = rng.uniform(0, out_w), rng.uniform(0, out_h), rng.uniform(1, 4)
            value = float(rng.choice([0.02, 0.95]))
            if rng.random() < 0.2:
                angle = rng.uniform(0, np.pi)
                end = (int(cx + 25 * np.cos(angle)), int(cy + 25 * np.sin(angle)))
                cv2.line(img, (int(cx), int(cy)), end, value, 1, cv2.LINE_AA)
            else:
                cv2.circle(img, (int(cx), int(cy)), int(r), value, -1, cv2.LINE_AA)
        scratch_x += rng.normal(0, 0.6)
        img[:, int(scratch_x)] = np.minimum(img[:, int(scratch_x)] + 0.25, 1)
        sepia = np.stack([img * 1.07, img * 0.98, img * 0.82], axis=2)
        yield (np.clip(sepia, 0, 1) * 255).astype(np.uint8)


def write_old_film(path: Path, seconds: float) -> Path:
    """The aged film as H.264 with a projector hum (AAC), written with PyAV."""
    frames = max(2, int(round(seconds * FPS)))
    with written(path) as partial, av.open(os.fspath(partial), "w") as out:
        video = out.add_stream("libx264", rate=FPS, options={"crf": "16", "preset": "fast"})
        video.width, video.height, video.pix_fmt = SIZE[0], SIZE[1], "yuv420p"
        audio = out.add_stream("aac", rate=48000, layout="mono")
        for i, rgb in enumerate(age_film(source_photo(), frames)):
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, FPS)
            out.mux(video.encode(frame))
        out.mux(video.encode(None))
        t = np.arange(int(48000 * frames / FPS)) / 48000
        rng = np.random.default_rng(1)
        hum = 0.08 * np.sin(2 * np.pi * 50 * t) * (1 + 0.5 * np.sin(2 * np.pi * FPS * t)) + 0.02 * rng.normal(
            size=t.size)
        for start in range(0, t.size, 1024):
            chunk = hum[start:start + 1024].astype(np.float32)[None, :]
            frame = av.AudioFrame.from_ndarray(chunk, format="flt", layout="mono")
            frame.sample_rate, frame.pts, frame.time_base = 48000, start, Fraction(1, 48000)
            out.mux(audio.encode(frame))
        out.mux(audio.encode(None))
    return path


def middle_frame(path: Path) -> np.ndarray:
    with av.open(os.fspath(path)) as container:
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    return frames[len(frames) // 2]


def before_after(before: np.ndarray, after: np.ndarray, path: Path) -> Path:
    """Side by side, labelled, written atomically as PNG."""
    gap = np.full((before.shape[0], 8, 3), 255, np.uint8)
    board = np.concatenate([before, gap, cv2.resize(after, (before.shape[1], before.shape[0]))], axis=1)
    for text, x in (("before", 10), ("after (bian)", before.shape[1] + 18)):
        cv2.putText(board, text, (x, 28), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (0, 0, 0), 4, cv2.LINE_AA)
        cv2.putText(board, text, (x, 28), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (255, 255, 255), 2, cv2.LINE_AA)
    with written(path) as partial:
        cv2.imwrite(os.fspath(partial), cv2.cvtColor(board, cv2.COLOR_RGB2BGR))
    return path


def run_demo(folder: Path, seconds: float = 4.0, quiet: bool = False) -> dict:
    from .api import restore

    folder.mkdir(parents=True, exist_ok=True)
    old = write_old_film(folder / "old_film.mp4", seconds)
    summary = restore(old, folder / "restored.mp4", quiet=quiet, fresh=True, **FILM_CHAIN)
    still = before_after(middle_frame(old), middle_frame(folder / "restored.mp4"), folder / "before_after.png")
    summary["before_after"] = str(still)
    summary["aged_input"] = str(old)
    return summary
