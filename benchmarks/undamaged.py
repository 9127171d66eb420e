"""Undamaged "film" for false-alarm benchmarks: the known answer is the input itself.

A real photo is filmed by a virtual camera (:func:`photo_film`): a still camera, a slow pan, an eased
pan, a zoom, a handheld camera or gate weave, with light grain that changes every frame, and
optionally a small object (a ball, a bird) crossing the frame fast. These are the classic traps for
film repair: vertical structures that a line-scratch detector takes for scratches when the camera is
still or pans slowly, small fast objects that a dust detector erases because no neighbour has them
at the same place, intended pans and zooms that a stabiliser must keep.

Frames are float32 RGB N×H×W×3 in [0, 1]; masks bool N×H×W.
"""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

MOTIONS = ("still", "pan", "ease", "zoom", "handheld", "weave")
"""still: fixed camera; pan: 0.6 px/frame to the right; ease: a pan that starts from rest and speeds up
(60 px over the clip, smoothstep); zoom: 0.4 %/frame in; handheld: slow pan plus a random walk and a
little roll; weave: still camera, the print weaving ±1.5 px sideways, ±1 px vertically."""
JITTERED = ("handheld", "weave")
"""Motions with a part a stabiliser is meant to remove (the rest, :func:`camera_path` with
``intended=True``, it must keep)."""


def camera_path(motion: str, count: int, rng: np.random.Generator, intended: bool = False) -> np.ndarray:
    """Per frame (dx, dy, scale, roll in degrees) of the camera over the photo, N×4 float64.

    ``intended``: the path without its jitter (handheld's slow pan; weave's still camera). ``rng`` draws
    the jitter; it is consumed the same way either way, so both calls with the same seed agree."""
    t = np.arange(count, dtype=np.float64)
    path = np.zeros((count, 4))
    path[:, 2] = 1.0
    walk = np.cumsum(rng.normal(0, 0.8, (count, 2)), axis=0)
    walk = cv2.GaussianBlur(walk.astype(np.float64), (1, 0), 1.5).reshape(count, 2) if count > 1 else walk
    roll = cv2.GaussianBlur(np.cumsum(rng.normal(0, 0.08, count)).reshape(-1, 1), (1, 0), 1.5).ravel()
    phase = rng.uniform(0, 2 * np.pi, 2)
    if motion == "pan":
        path[:, 0] = 0.6 * t
    elif motion == "ease":
        u = t / max(count - 1, 1)
        path[:, 0] = 60.0 * u * u * (3 - 2 * u)
    elif motion == "zoom":
        path[:, 2] = 1.004 ** t
    elif motion == "handheld":
        path[:, 0] = 0.4 * t
        if not intended:
            path[:, :2] += walk - walk.mean(axis=0)
            path[:, 3] = roll - roll.mean()
    elif motion == "weave":
        if not intended:
            path[:, 0] = 1.5 * np.sin(2 * np.pi * t / 7.3 + phase[0])
            path[:, 1] = 1.0 * np.sin(2 * np.pi * t / 5.1 + phase[1])
    elif motion != "still":
        raise ValueError(f"unknown motion {motion!r}")
    return path


def load_photo(path: Path, side: int) -> np.ndarray:
    """A photo as float32 RGB with its longer side at most ``side`` px (area-averaged)."""
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    scale = min(1.0, side / max(bgr.shape[:2]))
    if scale < 1.0:
        bgr = cv2.resize(bgr, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB).astype(np.float32) / 255.0


def film_of(photo: np.ndarray, path: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Frames (``size`` = (width, height)) seen by a camera following ``path`` over ``photo``, centred
    on it; Lanczos resampling (a camera does not blur with sub-pixel position)."""
    w, h = size
    ph, pw = photo.shape[:2]
    frames = []
    for dx, dy, scale, roll in path:
        # frame pixel p → photo position: centre + R(roll) · (p − frame centre) / scale + (dx, dy)
        a = np.deg2rad(roll)
        rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]]) / scale
        offset = np.array([pw / 2 + dx, ph / 2 + dy]) - rot @ np.array([w / 2, h / 2])
        matrix = np.hstack([rot, offset[:, None]]).astype(np.float64)
        frames.append(cv2.warpAffine(photo, matrix, (w, h), flags=cv2.INTER_LANCZOS4 | cv2.WARP_INVERSE_MAP,
                                     borderMode=cv2.BORDER_REFLECT))
    return np.clip(np.stack(frames), 0.0, 1.0).astype(np.float32)


def add_object(frames: np.ndarray, rng: np.random.Generator, speed: float, radius: float = 3.0,
               ) -> tuple[np.ndarray, np.ndarray]:
    """A small round object (bright or dark, drawn with soft edges) crossing the frames in a straight line
    at ``speed`` px/frame. Returns (frames, bool mask of the pixels it changed by more than 4/255)."""
    n, h, w = frames.shape[:3]
    y0 = rng.uniform(0.25, 0.75) * h
    x0 = rng.uniform(0.1, 0.3) * w
    angle = rng.uniform(-0.3, 0.3)
    value = 0.95 if rng.random() < 0.5 else 0.05
    out = frames.copy()
    factor = 4
    for i in range(n):
        x, y = x0 + speed * i * np.cos(angle), y0 + speed * i * np.sin(angle)
        canvas = np.zeros((h * factor, w * factor), np.uint8)
        cv2.circle(canvas, (int(x * factor), int(y * factor)), int(radius * factor), 255, -1)
        alpha = cv2.resize(canvas.astype(np.float32) / 255.0, (w, h), interpolation=cv2.INTER_AREA)[..., None]
        out[i] = frames[i] * (1 - alpha) + value * alpha
    mask = np.abs(out - frames).max(axis=3) > 4 / 255
    return out, mask


def add_grain(frames: np.ndarray, rng: np.random.Generator, sigma: float = 0.012) -> np.ndarray:
    """Fresh fine grain on every frame (Gaussian, σ ``sigma``, slightly clumped, same in all channels)."""
    noise = rng.normal(0, 1, frames.shape[:3]).astype(np.float32)
    noise = np.stack([cv2.GaussianBlur(g, (0, 0), 0.6) for g in noise])
    noise *= sigma / max(float(noise.std()), 1e-6)
    return np.clip(frames + noise[..., None], 0.0, 1.0).astype(np.float32)


def changed(out: np.ndarray, reference: np.ndarray, level: float = 4 / 255) -> np.ndarray:
    """Bool N×H×W: pixels where some channel moved by more than ``level``."""
    return np.abs(np.asarray(out, np.float32) - reference).max(axis=-1) > level


def worst_crop(moved: np.ndarray, side: int = 96) -> tuple[int, int, int]:
    """(frame, top, left) of the ``side``-px square holding the most moved pixels."""
    n, h, w = moved.shape
    side = min(side, h, w)
    best = (-1.0, 0, 0, 0)
    for i in range(n):
        density = cv2.blur(moved[i].astype(np.float32), (side, side), borderType=cv2.BORDER_CONSTANT)
        y, x = np.unravel_index(np.argmax(density), density.shape)
        best = max(best, (float(density[y, x]), i, int(np.clip(y - side // 2, 0, h - side)),
                          int(np.clip(x - side // 2, 0, w - side))))
    return best[1:]
