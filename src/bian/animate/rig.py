"""The face rig: what the animation needs to know about one face, built from its 68 iBUG landmarks.

Coordinates are picture pixels (x, y), y down. A face has its own frame: ``ex`` along the line from the
eye on the picture's left to the eye on its right, ``ey`` perpendicular to it, pointing to the mouth,
and ``iod`` (inter-ocular distance, eye centre to eye centre) as its unit of length. Everything the
motions do is expressed in that frame, so a tilted, small or large face moves alike.

Pseudo-3-D: the head is an ellipsoid (width from the jaw, height from the chin to an estimated crown,
depth ``DEPTH`` × iod) with a nose ridge in front and shallow eye sockets. It gives every point of the
head a depth, which is what turns a rotation into parallax (the nose moves more than the cheeks, the
outline hardly at all). Proportions are the usual anatomical ones, not fitted to any picture.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .eyelids import Eye, build_eye
from .mouth import Mouth, build_mouth

DEPTH = 1.15
"""Head depth (front of the face to the rotation axis) in inter-ocular distances."""
CROWN = 1.45
"""Top of the skull above the eye line, in inter-ocular distances (the brow is ~0.35 above)."""
NOSE_HEIGHT = 0.32
"""How far the nose tip stands out of the ellipsoid, in inter-ocular distances."""

# iBUG-68 index groups
JAW = np.arange(0, 17)
BROWS = np.arange(17, 27)
NOSE = np.arange(27, 36)
EYE_LEFT = np.arange(36, 42)     # eye on the picture's left: outer 36, upper 37 38, inner 39, lower 40 41
EYE_RIGHT = np.arange(42, 48)    # inner 42, upper 43 44, outer 45, lower 46 47
MOUTH_OUTER = np.arange(48, 60)  # corners 48 (left) and 54 (right), top centre 51, bottom centre 57
MOUTH_INNER = np.arange(60, 68)  # corners 60 and 64, upper 61-63, lower 65-67


@dataclass
class Rig:
    landmarks: np.ndarray
    """(68, 2) float64 picture pixels."""
    ex: np.ndarray
    ey: np.ndarray
    iod: float
    eye_mid: np.ndarray
    """Point halfway between the eye centres."""
    head_centre: np.ndarray
    head_axes: np.ndarray
    """(2,) semi-axes of the head ellipse along ex and ey (pixels)."""
    neck: np.ndarray
    """Pivot for nods and tilts: the top of the neck, below the head centre."""
    eyes: tuple[Eye, Eye]
    mouth: Mouth
    points: np.ndarray
    """(N, 2) control points of the expression warp: 68 landmarks, extra cheek points, an anchor ring."""
    n_anchor: int

    def to_face(self, pts: np.ndarray) -> np.ndarray:
        """Picture points → face frame (units of iod, origin at the eye midpoint)."""
        d = np.asarray(pts, np.float64)[..., :2] - self.eye_mid
        return np.stack([d @ self.ex, d @ self.ey], -1) / self.iod

    def to_picture_vec(self, v: np.ndarray) -> np.ndarray:
        """Face-frame vectors (units of iod) → picture pixel vectors."""
        v = np.asarray(v, np.float64)
        return (np.multiply.outer(v[..., 0], self.ex) + np.multiply.outer(v[..., 1], self.ey)) * self.iod

    def ellipse_radius(self, pts: np.ndarray) -> np.ndarray:
        """Normalised radius of picture points in the head ellipse (1 on its outline)."""
        d = np.asarray(pts, np.float64)[..., :2] - self.head_centre
        u = (d @ self.ex) / self.head_axes[0]
        v = (d @ self.ey) / self.head_axes[1]
        return np.sqrt(u * u + v * v)

    def depth(self, pts: np.ndarray) -> np.ndarray:
        """Depth of picture points on the head (pixels, 0 at the outline, ~DEPTH·iod at the face centre)."""
        pts = np.asarray(pts, np.float64)[..., :2]
        r = self.ellipse_radius(pts)
        z = DEPTH * self.iod * np.sqrt(np.clip(1 - r * r, 0, None))
        f = self.to_face(pts)
        nose_top, nose_tip = self.to_face(self.landmarks[27]), self.to_face(self.landmarks[30])
        # nose: a ridge from the bridge to the tip, highest at the tip
        t = np.clip(((f - nose_top) @ (nose_tip - nose_top)) / max(np.sum((nose_tip - nose_top) ** 2), 1e-9), 0, 1)
        along = nose_top + t[..., None] * (nose_tip - nose_top)
        dist2 = np.sum((f - along) ** 2, -1)
        z = z + self.iod * NOSE_HEIGHT * (0.35 + 0.65 * t) * np.exp(-dist2 / (2 * 0.11 ** 2))
        for eye in (EYE_LEFT, EYE_RIGHT):
            d2 = np.sum((f - self.to_face(self.landmarks[eye].mean(0))) ** 2, -1)
            z = z - self.iod * 0.08 * np.exp(-d2 / (2 * 0.2 ** 2))
        return z


def build_rig(landmarks: np.ndarray, image: np.ndarray | None = None) -> Rig:
    """The rig of a face from its (68, 2) iBUG landmarks (picture pixels); ``image`` (H×W×3 float32, the
    photo) gives the colour of an opened mouth."""
    lm = np.asarray(landmarks, np.float64)[:, :2]
    e_left, e_right = lm[EYE_LEFT].mean(0), lm[EYE_RIGHT].mean(0)
    iod = max(float(np.linalg.norm(e_right - e_left)), 2.0)
    ex = (e_right - e_left) / iod
    ey = np.array([-ex[1], ex[0]])
    eye_mid = (e_left + e_right) / 2

    def face(p):
        d = p - eye_mid
        return np.array([d @ ex, d @ ey]) / iod

    chin = face(lm[8])[1]
    jaw_half = (face(lm[16])[0] - face(lm[0])[0]) / 2
    jaw_mid_x = (face(lm[16])[0] + face(lm[0])[0]) / 2
    top = -CROWN
    centre_f = np.array([jaw_mid_x, (chin + top) / 2])
    axes_f = np.array([max(jaw_half * 1.08, 0.9), max((chin - top) / 2, 1.2)])
    head_centre = eye_mid + (centre_f[0] * ex + centre_f[1] * ey) * iod
    neck = eye_mid + (jaw_mid_x * ex + (chin + 0.15) * ey) * iod

    eyes = (build_eye(lm, EYE_LEFT, np.arange(17, 22)), build_eye(lm, EYE_RIGHT, np.arange(22, 27)))

    extra = np.array([
        (lm[1] + lm[31] + lm[48] + lm[41]) / 4,      # cheek (picture left)
        (lm[15] + lm[35] + lm[54] + lm[46]) / 4,     # cheek (picture right)
        (lm[3] + lm[48]) / 2, (lm[13] + lm[54]) / 2,  # lower cheeks, beside the mouth corners
        (lm[5] + lm[58]) / 2, (lm[11] + lm[56]) / 2,  # between the lower lip and the jaw
    ])
    n_anchor = 20
    angle = np.linspace(0, 2 * np.pi, n_anchor, endpoint=False)
    ring = (head_centre + np.outer(np.cos(angle) * axes_f[0] * 1.12 * iod, ex)
            + np.outer(np.sin(angle) * axes_f[1] * 1.12 * iod, ey))
    points = np.concatenate([lm, extra, ring])
    return Rig(landmarks=lm, ex=ex, ey=ey, iod=iod, eye_mid=eye_mid, head_centre=head_centre,
               head_axes=axes_f * iod, neck=neck, eyes=eyes, mouth=build_mouth(lm, image), points=points, n_anchor=n_anchor)
