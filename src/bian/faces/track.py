"""Tracking faces across video frames: stable ids, temporally smoothed boxes and landmarks.

Everything here is a plain function of the frames it is given, so a stage can call it on its window
and get the same answer wherever the window is processed (the stage contract's determinism rule).
Ids are stable within the frames handed in (a whole clip for analysis, a window in the stage).

Linking: faces of consecutive frames are paired by box overlap (Hungarian assignment on IoU); a face
may skip up to ``max_gap`` frames (a missed detection) and keep its id; a scene cut ends every track.

Smoothing: each landmark's path is fitted, around the frame of interest, by a Gaussian-weighted
straight line in time (local linear regression). Unlike a plain moving average this follows steady
motion without lag, and at the ends of a track (or of a window) it does not pull toward the middle.
"""
from __future__ import annotations

import numpy as np

from .align import apply, similarity
from .face import Face, box_iou, points5_from_68


def link(faces_per_frame: list[list[Face]], cuts: list[bool] | None = None, min_iou: float = 0.25,
         max_gap: int = 2) -> list[list[Face]]:
    """Copies of the faces with ``track_id`` set. ``cuts[i]`` True means frame i starts a new shot."""
    from scipy.optimize import linear_sum_assignment  # here, not at the top: `bian` starts without scipy

    next_id = 0
    last: dict[int, tuple[int, Face]] = {}  # id → (frame index, face) where it was last seen
    out: list[list[Face]] = []
    for t, faces in enumerate(faces_per_frame):
        if cuts is not None and cuts[t]:
            last = {}
        live = [(i, f) for i, (s, f) in last.items() if t - s <= max_gap + 1]
        linked = [f.replace(track_id=None) for f in faces]
        if live and linked:
            iou = box_iou(np.stack([f.box for _, f in live]), np.stack([f.box for f in linked]))
            rows, cols = linear_sum_assignment(-iou)
            for r, c in zip(rows, cols):
                if iou[r, c] >= min_iou:
                    linked[c].track_id = live[r][0]
        for f in linked:
            if f.track_id is None:
                f.track_id = next_id
                next_id += 1
            last[f.track_id] = (t, f)
        out.append(linked)
    return out


def _local_linear(times: np.ndarray, values: np.ndarray, t: float, sigma: float) -> np.ndarray:
    """Value at ``t`` of a Gaussian-weighted least-squares line through (times, values[k, ...])."""
    w = np.exp(-0.5 * ((times - t) / sigma) ** 2)
    dt = times - t
    s0, s1, s2 = w.sum(), (w * dt).sum(), (w * dt * dt).sum()
    det = s0 * s2 - s1 * s1
    flat = values.reshape(len(times), -1).astype(np.float64)
    if len(times) < 3 or det < 1e-9 * s0 * s0:
        return ((w[:, None] * flat).sum(0) / s0).reshape(values.shape[1:])
    # intercept of the weighted line: (s2·Σw·y − s1·Σw·dt·y) / det
    fit = (s2 * (w[:, None] * flat).sum(0) - s1 * ((w * dt)[:, None] * flat).sum(0)) / det
    return fit.reshape(values.shape[1:])


def smooth(linked: list[list[Face]], center: int, sigma: float = 2.0) -> list[Face]:
    """The faces of frame ``center`` with box, points5 and landmarks smoothed along their tracks.

    ``linked`` is the output of :func:`link`; every frame in it is used (pass the window you want).
    """
    out = []
    for face in linked[center]:
        times, boxes, marks = [], [], []
        for t, faces in enumerate(linked):
            for f in faces:
                if f.track_id == face.track_id:
                    same = f.landmarks is not None and face.landmarks is not None \
                        and f.landmarks.shape == face.landmarks.shape
                    times.append(t)
                    boxes.append(f.box)
                    marks.append(f.landmarks if same else None)
        times = np.asarray(times, np.float64)
        box = _local_linear(times, np.stack(boxes), center, sigma).astype(np.float32)
        new = face.replace(box=box, notes=dict(face.notes, smoothed_over=len(times)))
        keep = [m is not None for m in marks]
        if face.landmarks is not None and sum(keep) >= 1:
            lm = _local_linear(times[keep], np.stack([m for m, k in zip(marks, keep) if k]), center, sigma)
            new.landmarks = lm.astype(np.float32)
            if len(lm) == 68:
                new.points5 = points5_from_68(lm)
        out.append(new)
    return out


def landmark_jitter(tracks: list[np.ndarray]) -> float:
    """Mean frame-to-frame landmark motion left after removing the face's global (similarity) motion,
    as a fraction of the eye distance. ``tracks``: one (T, N, 2) array of one face's landmarks per track
    (68-point layout: outer eye corners 36 and 45 set the eye distance)."""
    values = []
    for lm in tracks:
        for a, b in zip(lm[:-1], lm[1:]):
            residual = np.linalg.norm(apply(similarity(a, b), a) - b[:, :2], axis=1).mean()
            values.append(residual / np.linalg.norm(b[45, :2] - b[36, :2]))
    return float(np.mean(values)) if values else 0.0
