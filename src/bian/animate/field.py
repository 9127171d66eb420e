"""The smooth part of the motion: where each point of a face moves, as a displacement field.

Two fields are added for each face, both computed on a coarse grid of source positions:

* expression — a thin-plate spline through the rig's control points (landmarks, cheeks, a ring of
  anchors that stay put), whose displacements the smile, the brows and driving videos set;
* head — the head ellipsoid (:meth:`bian.animate.rig.Rig.depth`) turned by yaw, pitch and roll about
  the neck and the head's vertical axis, shifted and scaled, then projected back onto the picture.
  Full weight inside the head ellipse, fading smoothly to nothing at 1.55 × its size, so hair, neck and
  the background near the head follow a little and the rest of the picture does not move at all.

The fields are forward displacements (source point → where it is shown). :func:`invert` turns their
sum into the backward map a renderer samples with (output pixel → source position).
"""
from __future__ import annotations

import cv2
import numpy as np

from . import tps
from .rig import Rig

HEAD_FADE = (1.0, 1.55)
"""Head-ellipse radii between which the head motion fades from full to none."""
EXPR_FADE = (1.1, 1.3)


def _smooth_fade(r: np.ndarray, inner: float, outer: float) -> np.ndarray:
    t = np.clip((outer - r) / (outer - inner), 0, 1)
    return t * t * (3 - 2 * t)


def expression(rig: Rig, pose: dict) -> np.ndarray:
    """Displacements (N, 2) in picture pixels of the rig's control points for one frame's ``pose``."""
    lm = rig.landmarks
    f = rig.to_face(lm)
    d = np.zeros((len(lm), 2))
    smile = float(pose["smile"])
    if smile:
        corners = f[[48, 54]]
        centre = corners.mean(0)
        width = max(float(corners[1, 0] - corners[0, 0]), 0.3)
        lift = 0.095 * width * smile
        out = 0.075 * width * smile
        for i in range(48, 68):
            u = np.clip((f[i, 0] - centre[0]) / (width / 2), -1, 1)
            d[i] = [np.sign(u) * out * abs(u) ** 1.5, -lift * abs(u) ** 1.5]
        d[[50, 51, 52, 61, 62, 63, 65, 66, 67], 1] -= 0.012 * width * smile
        d[[56, 57, 58], 1] -= 0.02 * width * smile
        d[[31, 35], 0] += np.array([-1, 1]) * 0.012 * smile
        d[31:36, 1] -= 0.012 * smile
    brow = float(pose["brow"])
    if brow:
        d[17:27, 1] -= 0.06 * brow
    if pose.get("expr") is not None:
        d = d + pose["expr"]
    extra = np.array([
        (d[1] + d[31] + d[48] + d[41]) / 4, (d[15] + d[35] + d[54] + d[46]) / 4,
        (d[3] + d[48]) / 2, (d[13] + d[54]) / 2, (d[5] + d[58]) / 2, (d[11] + d[56]) / 2])
    if smile:
        extra[0:2] += np.array([[-0.015, -0.06], [0.015, -0.06]]) * smile
        extra[2:4] += np.array([[-0.01, -0.03], [0.01, -0.03]]) * smile
    ring = np.zeros((rig.n_anchor, 2))
    return rig.to_picture_vec(np.concatenate([d, extra, ring]))


def head(rig: Rig, points: np.ndarray, depth: np.ndarray, pose: dict) -> np.ndarray:
    """Forward displacement (M, 2) of source ``points`` (M, 2) with head depths ``depth`` (M,)."""
    rel = points - rig.head_centre
    u, v = rel @ rig.ex, rel @ rig.ey
    neck_v = float((rig.neck - rig.head_centre) @ rig.ey)
    yaw, pitch, roll = (np.radians(float(pose[k])) for k in ("yaw", "pitch", "roll"))
    # nod about the top of the neck, then turn about the head's vertical axis (orthographic projection)
    vn = v - neck_v
    v2 = vn * np.cos(pitch) + depth * np.sin(pitch) + neck_v
    z2 = -vn * np.sin(pitch) + depth * np.cos(pitch)
    u2 = u * np.cos(yaw) + z2 * np.sin(yaw)
    # tilt and breathe about the neck, then shift
    s = 1 + float(pose["scale"])
    cu, cv = u2, v2 - neck_v
    u3 = s * (cu * np.cos(roll) - cv * np.sin(roll))
    v3 = s * (cu * np.sin(roll) + cv * np.cos(roll)) + neck_v
    shift = np.asarray(pose["shift"], np.float64) * rig.iod
    du, dv = u3 - u + shift[0], v3 - v + shift[1]
    return np.outer(du, rig.ex) + np.outer(dv, rig.ey)


def _keep_off(points: np.ndarray, others: list[Rig]) -> np.ndarray:
    """1 away from other faces, 0 on them (inside 0.9 of their head ellipse): in a group photo one face's
    motion must not drag its neighbour's face along."""
    keep = np.ones(len(points))
    for other in others:
        keep *= 1 - _smooth_fade(other.ellipse_radius(points), 0.9, 1.25)
    return keep


class FaceField:
    """One face's fields on the renderer's coarse grid (``points``: (M, 2) source positions); ``others``:
    the other animated faces of the picture."""

    def __init__(self, rig: Rig, points: np.ndarray, others: list[Rig] = ()):
        self.rig = rig
        self.others = list(others)
        r = rig.ellipse_radius(points)
        self.head_index = np.flatnonzero(r < HEAD_FADE[1])
        self.head_points = points[self.head_index]
        self.head_weight = _smooth_fade(r[self.head_index], *HEAD_FADE) * _keep_off(self.head_points, self.others)
        self.depth = rig.depth(self.head_points)
        self.expr_index = np.flatnonzero(r < EXPR_FADE[1])
        weight = _smooth_fade(r[self.expr_index], *EXPR_FADE) * _keep_off(points[self.expr_index], self.others)
        self.expr_operator = tps.operator(rig.points, points[self.expr_index], rig.iod) * weight[:, None]

    def displacement_at(self, points: np.ndarray, pose: dict) -> np.ndarray:
        """This face's forward displacement (M, 2) at any source ``points`` (M, 2)."""
        r = self.rig.ellipse_radius(points)
        keep = _keep_off(points, self.others)
        expr = (tps.operator(self.rig.points, points, self.rig.iod) * (_smooth_fade(r, *EXPR_FADE) * keep)[:, None]) \
            @ expression(self.rig, pose)
        head_weight = _smooth_fade(r, *HEAD_FADE) * keep
        return expr + head_weight[:, None] * head(self.rig, points, self.rig.depth(points), pose)

    def add_displacement(self, out: np.ndarray, pose: dict) -> None:
        """Add this face's forward displacement for ``pose`` to ``out`` (M, 2) (grid order)."""
        out[self.expr_index] += self.expr_operator @ expression(self.rig, pose).astype(np.float32)
        out[self.head_index] += self.head_weight[:, None] * head(self.rig, self.head_points, self.depth, pose)


def invert(displacement: np.ndarray, iterations: int = 8) -> np.ndarray:
    """Backward map of a forward displacement field given on a grid.

    displacement: (gh, gw, 2) float32, in grid cells (source point g moves to g + displacement[g]).
    Returns (gh, gw, 2) float32 grid positions q with q + displacement(q) = g, by fixed-point iteration
    (converges because the fields stretch nothing by more than a fraction of its size).
    """
    gh, gw = displacement.shape[:2]
    gx, gy = np.meshgrid(np.arange(gw, dtype=np.float32), np.arange(gh, dtype=np.float32))
    qx, qy = gx.copy(), gy.copy()
    for _ in range(iterations):
        d = cv2.remap(displacement, qx, qy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        qx, qy = gx - d[..., 0], gy - d[..., 1]
    return np.stack([qx, qy], -1)
