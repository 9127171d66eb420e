"""Driving videos: copy the motion of a face in a video onto the faces of a photo.

The motion is relative (as in the "relative" mode of motion-transfer models): what changes from the
video's first frame is copied, not the driving face's shape, so the photo keeps its own face. For every
frame of the video the main face's 68 landmarks are split into

* head pose — yaw, pitch, roll, scale and shift, fitted to the stable landmarks (eye corners, nose,
  upper jaw) with the same pseudo-3-D head model the renderer moves (:func:`bian.animate.field.head`);
* eyes — closure from the eye aspect ratio against the clip's open-eye level, which drives the lid
  model (a blink is never a landmark squash);
* mouth — the gap between the inner lips, which drives the mouth layer (lips part over a dark mouth);
* the rest of the expression — each landmark's residual motion in the face's own frame (brows, mouth
  corners, jaw), given to the expression spline.

Lengths are measured in the driving face's inter-ocular distances and applied in the photo face's, so
a small face in the video can drive a large one in the photo. Parameters are lightly smoothed in time
(detector jitter), blinks less than the rest so that they stay quick.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np
from scipy.ndimage import gaussian_filter1d
from scipy.optimize import least_squares

from ..errors import InputError
from ..media.video import VideoReader, probe_video
from . import field as fields
from . import mouth as mouth_model
from .motions import Motion
from .rig import EYE_LEFT, EYE_RIGHT, Rig, build_rig

STABLE = np.r_[0, 1, 2, 14, 15, 16, 27:36, 36, 39, 42, 45]
"""Landmarks that move with the head but hardly with the expression."""
LIMITS = {"yaw": 20.0, "pitch": 12.0, "roll": 10.0, "scale": 0.1, "shift": 0.25, "mouth": 0.6}
"""Largest pose the photo is asked to take (degrees; relative size; inter-ocular distances): beyond these the
hair and background around a still photo's head stretch visibly. Poses approach them softly (tanh)."""


def _soft(values: np.ndarray, limit: float) -> np.ndarray:
    """``values`` squeezed smoothly into (-limit, limit): unchanged when small, never past the limit."""
    return limit * np.tanh(np.asarray(values, np.float64) / limit)


def eye_aspect(lm: np.ndarray) -> np.ndarray:
    """Eye aspect ratio (Soukupová & Čech 2016) of both eyes: (..., 2) for landmarks (..., 68, 2)."""
    out = []
    for idx in (EYE_LEFT, EYE_RIGHT):
        p = lm[..., idx, :]
        vertical = np.linalg.norm(p[..., 1, :] - p[..., 5, :], axis=-1) + np.linalg.norm(p[..., 2, :] - p[..., 4, :],
                                                                                             axis=-1)
        out.append(vertical / (2 * np.maximum(np.linalg.norm(p[..., 0, :] - p[..., 3, :], axis=-1), 1e-6)))
    return np.stack(out, -1)


def lip_gap(lm: np.ndarray) -> np.ndarray:
    """Mean distance between the inner edges of the lips, (...,) for landmarks (..., 68, 2)."""
    return np.mean([np.linalg.norm(lm[..., a, :] - lm[..., b, :], axis=-1) for a, b in ((61, 67), (62, 66), (63, 65))],
                   axis=0)


def _pose(values) -> dict:
    return {"yaw": values[0], "pitch": values[1], "roll": values[2], "scale": values[3],
            "shift": np.array(values[4:6])}


def fit_head(rig: Rig, depth: np.ndarray, landmarks: np.ndarray, start: np.ndarray | None = None) -> np.ndarray:
    """Head pose (yaw, pitch, roll, scale, shift x, shift y) that moves the rig's stable landmarks closest to
    ``landmarks`` (68, 2)."""
    src = rig.landmarks[STABLE]
    target = landmarks[STABLE]

    def residual(v):
        return ((src + fields.head(rig, src, depth[STABLE], _pose(v))) - target).ravel() / rig.iod

    x0 = np.zeros(6) if start is None else start
    return least_squares(residual, x0, x_scale=[10, 10, 10, 0.1, 0.1, 0.1], method="lm").x


@dataclass
class Driving:
    """A driving video read and analysed: its timing and its face's motion, frame by frame."""
    path: Path
    times: list[Fraction]
    rate: Fraction
    time_base: Fraction
    landmarks: np.ndarray
    """(n, 68, 2) the driving face's landmarks (missed frames filled from their neighbours)."""
    head: np.ndarray
    """(n, 6) yaw, pitch, roll (degrees), scale, shift x, y (driving inter-ocular distances)."""
    blink: np.ndarray
    """(n, 2)"""
    mouth: np.ndarray
    """(n,) lip gap opening beyond the first frame's, in inter-ocular distances."""
    expr: np.ndarray
    """(n, 68, 2) residual landmark motion in the driving face's frame (inter-ocular distances)."""
    notes: list[str] = field(default_factory=list)

    def motion_for(self, rig: Rig) -> Motion:
        """The motion for a face of the photo with ``rig``, clamped to what a still photo can take."""
        n = len(self.times)
        m = Motion.still(n)
        m.yaw, m.pitch, m.roll = (_soft(self.head[:, k], LIMITS[name]) for k, name in enumerate(("yaw", "pitch", "roll")))
        m.scale = _soft(self.head[:, 3], LIMITS["scale"])
        shift = self.head[:, 4:6]
        norm = np.linalg.norm(shift, axis=1, keepdims=True)
        m.shift = shift * _soft(norm, LIMITS["shift"]) / np.maximum(norm, 1e-9)
        m.blink = self.blink.copy()
        m.mouth = np.clip(self.mouth, 0, LIMITS["mouth"])
        # the lips' share of the expression is the mouth layer's: take it out of what the spline does
        expr = self.expr.copy()
        for i in range(n):
            moved = mouth_model.landmark_motion(rig.mouth, rig.landmarks, m.mouth[i] * rig.iod)
            expr[i] -= rig.to_face(rig.landmarks + moved) - rig.to_face(rig.landmarks)
        # inner lips touch in a closed mouth: give each upper/lower pair one motion so the spline cannot fold
        for a, b in ((61, 67), (62, 66), (63, 65), (60, 60), (64, 64)):
            mean = (expr[:, a] + expr[:, b]) / 2
            expr[:, a], expr[:, b] = mean, mean
        expr[:, 36:48] = 0  # the lid model moves the eyes
        m.expr = expr
        m.notes["driving"] = str(self.path)
        return m


def _track(image: np.ndarray, box: np.ndarray | None, detector: str):
    """The driving face in ``image``: the largest face, searched near ``box`` (the previous frame's face)
    when there is one — faster on large frames, and it keeps to the same person."""
    from ..faces import detect_faces

    if box is None:
        found = detect_faces(image, backend=detector, landmarks="68")
        return max(found, key=lambda f: f.size) if found else None
    side = 1.5 * max(box[2] - box[0], box[3] - box[1])
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    h, w = image.shape[:2]
    x0, y0 = int(max(0, cx - side)), int(max(0, cy - side))
    x1, y1 = int(min(w, cx + side)), int(min(h, cy + side))
    found = detect_faces(image[y0:y1, x0:x1], backend=detector, landmarks="68")
    if not found:
        return None
    face = max(found, key=lambda f: f.size)
    offset = np.array([x0, y0], np.float32)
    return face.replace(box=face.box + np.tile(offset, 2), points5=face.points5 + offset,
                        landmarks=face.landmarks[:, :2] + offset)


def driving_frames(info, duration: float | None):
    """(time from the first frame, RGB picture) of the driving video's frames within ``duration`` seconds."""
    limit = None if duration is None else Fraction(duration).limit_denominator(10**6)
    start = None
    for frame in VideoReader(info).frames():
        start = frame.time if start is None else start
        if limit is not None and frame.time - start >= limit:
            break
        yield frame.time - start, frame.image
    if start is None:
        raise InputError("the driving video has no frames", info.path, "give another video")


def read_driving(path: Path, duration: float | None = None, detector: str = "auto") -> Driving:
    """Read and analyse the driving video at ``path`` (its first ``duration`` seconds). The last few
    analyses are kept (one driving video often animates several photos)."""
    stat = Path(path).stat()
    return _read_driving(Path(path), stat.st_mtime_ns, stat.st_size, duration, detector)


@functools.lru_cache(maxsize=4)
def _read_driving(path: Path, _mtime: int, _size: int, duration: float | None, detector: str) -> Driving:

    info = probe_video(path)
    frames, marks = [], []
    box = None
    for time, image in driving_frames(info, duration):
        frames.append(time)
        face = _track(image, box, detector)
        if face is None and not marks:
            raise InputError("no face in the driving video's first frame", path,
                             "trim the video so that it starts on a visible face")
        marks.append(np.full((68, 2), np.nan) if face is None else face.landmarks[:, :2])
        box = box if face is None else face.box
    n = len(frames)
    lm = np.array(marks, np.float64)
    found = ~np.isnan(lm[:, 0, 0])
    notes = []
    if found.mean() < 0.5:
        raise InputError(f"the driving face is found in only {found.sum()} of {n} frames", path,
                         "use a video where one face stays in view")
    if not found.all():
        idx = np.arange(n)
        flat = lm.reshape(n, -1)
        for k in range(flat.shape[1]):
            flat[:, k] = np.interp(idx, idx[found], flat[found, k])
        lm = flat.reshape(n, 68, 2)
        notes.append(f"driving face missed in {n - found.sum()} frame(s): filled from its neighbours")

    rig = build_rig(lm[0])
    depth = rig.depth(rig.landmarks)
    head = np.zeros((n, 6))
    for i in range(n):
        head[i] = fit_head(rig, depth, lm[i], head[i - 1] if i else None)
    head = gaussian_filter1d(head, 1.0, axis=0, mode="nearest")
    expr = np.zeros((n, 68, 2))
    for i in range(n):
        posed = rig.landmarks + fields.head(rig, rig.landmarks, depth, _pose(head[i]))
        residual = lm[i] - posed
        # into the face's own frame (undo its roll and size), in inter-ocular distances
        angle = np.radians(head[i, 2])
        c, s = np.cos(-angle), np.sin(-angle)
        residual = residual @ np.array([[c, s], [-s, c]]) / (1 + head[i, 3])
        expr[i] = np.stack([residual @ rig.ex, residual @ rig.ey], -1) / rig.iod
    expr = gaussian_filter1d(expr, 1.0, axis=0, mode="nearest")

    ear = eye_aspect(lm)
    open_level = np.percentile(ear, 90, axis=0)
    blink = np.clip((open_level - ear) / (0.7 * np.maximum(open_level, 1e-6)), 0, 1)
    blink = gaussian_filter1d(blink, 0.5, axis=0, mode="nearest")
    gap = lip_gap(lm) / rig.iod
    mouth = np.clip(gaussian_filter1d(gap - gap[0], 0.7, mode="nearest"), 0, None)

    rate = info.rate or Fraction(25)
    return Driving(path=path, times=frames, rate=rate, time_base=info.time_base, landmarks=lm, head=head,
                   blink=blink, mouth=mouth, expr=expr, notes=notes)
