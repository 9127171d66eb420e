"""The mouth opening: lips that part over a dark mouth, for driving videos that talk.

Like the eyes (:mod:`bian.animate.eyelids`), the mouth is three layers in its own frame (origin halfway
between the mouth corners, x normalised to ±1 at the corners, y in pixels toward the chin): the upper
lip with the skin up to the nose, the inside of the mouth, and the lower lip with the chin. Opening
moves the upper lip up by ``UPPER_SHARE`` of the opening and the lower lip down by the rest, each lip
rigidly, the skin between lip and nose (or lip and chin) giving way. What shows between the lips is
the mouth's own inside stretched, when the photo's mouth is open, or a dark mouth whose colour comes
from the darkest part of the lip line. The jaw itself (chin and jaw line moving down) is the smooth
field's job (see :func:`bian.animate.driving`), which is why the chin here stays where it is.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .eyelids import slide

UPPER_SHARE = 0.2
"""Share of an opening taken by the upper lip (the jaw does the rest)."""


@dataclass
class Mouth:
    origin: np.ndarray
    axis: np.ndarray
    normal: np.ndarray
    half: float
    upper: tuple[np.ndarray, np.ndarray]
    """Inner edge of the upper lip: (x, y) samples, x increasing."""
    lower: tuple[np.ndarray, np.ndarray]
    top: float
    """Below the nose: the upper band's fixed end (y)."""
    bottom: float
    """The chin: the lower band's fixed end (y)."""
    upper_lip: float
    """Thickness of the upper lip at the middle (pixels)."""
    lower_lip: float
    cavity: np.ndarray
    """RGB colour of the inside of an opened mouth."""

    def to_local(self, pts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        d = np.asarray(pts, np.float64)[..., :2] - self.origin
        return (d @ self.axis) / self.half, d @ self.normal

    def to_picture(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return self.origin + np.multiply.outer(x * self.half, self.axis) + np.multiply.outer(y, self.normal)

    def largest_opening(self) -> float:
        """The widest opening (pixels) the bands can take without folding."""
        up_room = (float(np.interp(0.0, *self.upper)) - self.top - self.upper_lip) / UPPER_SHARE
        low_room = (self.bottom - float(np.interp(0.0, *self.lower)) - self.lower_lip) / (1 - UPPER_SHARE)
        return max(0.0, 0.7 * min(up_room, low_room))


def build_mouth(lm: np.ndarray, image: np.ndarray | None) -> Mouth:
    """The mouth of a face with 68 landmarks ``lm`` (picture pixels); ``image`` (H×W×3 float32) gives the
    colour of the inside (a neutral dark grey without it)."""
    left, right = lm[48], lm[54]
    origin = (left + right) / 2
    axis = (right - left) / max(np.linalg.norm(right - left), 1e-6)
    normal = np.array([-axis[1], axis[0]])
    half = max(float(np.linalg.norm(right - left)) / 2, 1.0)
    m = Mouth(origin=origin, axis=axis, normal=normal, half=half, upper=(np.zeros(2), np.zeros(2)),
              lower=(np.zeros(2), np.zeros(2)), top=0.0, bottom=0.0, upper_lip=0.0, lower_lip=0.0,
              cavity=np.full(3, 0.12, np.float32))

    def line(idx):
        x, y = m.to_local(lm[idx])
        x = np.concatenate([[-1.0], x, [1.0]])
        y = np.concatenate([[m.to_local(lm[48])[1]], y, [m.to_local(lm[54])[1]]])
        order = np.argsort(x)
        return x[order], y[order]

    m.upper = line([60, 61, 62, 63, 64])
    m.lower = line([60, 67, 66, 65, 64])
    m.lower = (m.lower[0], np.maximum(m.lower[1], np.interp(m.lower[0], *m.upper)))
    m.top = float(m.to_local(lm[33])[1]) + 0.25 * (float(m.to_local(lm[51])[1]) - float(m.to_local(lm[33])[1]))
    m.bottom = float(m.to_local(lm[8])[1])
    m.upper_lip = max(float(np.interp(0.0, *m.upper)) - float(m.to_local(lm[51])[1]), 1.0)
    m.lower_lip = max(float(m.to_local(lm[57])[1]) - float(np.interp(0.0, *m.lower)), 1.0)
    if image is not None:
        xs = np.linspace(-0.6, 0.6, 25)
        ys = (np.interp(xs, *m.upper) + np.interp(xs, *m.lower)) / 2
        pts = np.round(m.to_picture(xs, ys)).astype(int)
        h, w = image.shape[:2]
        pts[:, 0] = np.clip(pts[:, 0], 0, w - 1)
        pts[:, 1] = np.clip(pts[:, 1], 0, h - 1)
        colours = image[pts[:, 1], pts[:, 0]].astype(np.float32)
        darkest = colours[np.argsort(colours.mean(1))[:5]].mean(0)
        m.cavity = (0.7 * darkest).astype(np.float32)
    return m


def profile(x: np.ndarray) -> np.ndarray:
    """How far the lips part along the mouth, relative to the middle (0 at the corners)."""
    return np.power(np.clip(1 - x * x, 0, 1), 0.6)


UPPER_LIP = [49, 50, 51, 52, 53, 61, 62, 63]
LOWER_LIP = [55, 56, 57, 58, 59, 65, 66, 67]


def landmark_motion(mouth: Mouth, landmarks: np.ndarray, opening: float) -> np.ndarray:
    """(68, 2) picture vectors: how the opening moves the 68 landmarks (the lips rigidly, nothing else)."""
    o = min(opening, mouth.largest_opening())
    x, _ = mouth.to_local(landmarks)
    part = o * profile(np.clip(x, -1, 1))
    out = np.zeros((len(landmarks), 2))
    out[UPPER_LIP] = np.outer(-UPPER_SHARE * part[UPPER_LIP], mouth.normal)
    out[LOWER_LIP] = np.outer((1 - UPPER_SHARE) * part[LOWER_LIP], mouth.normal)
    return out


def region(mouth: Mouth) -> tuple[float, float, float, float]:
    return -1.02, 1.02, mouth.top - 1, mouth.bottom + 1


def samples(mouth: Mouth, points: np.ndarray, opening: float) -> list[tuple]:
    """What to draw at source ``points`` (M, 2) near the mouth, as terms (picture, positions, weights) to
    add up (see :func:`bian.animate.eyelids.samples`; "colour" is the dark inside, positions None). The
    dark inside gets the photo's grain at that place so it does not look pasted on."""
    x, y = mouth.to_local(points)
    up, low = np.interp(x, *mouth.upper), np.interp(x, *mouth.lower)
    inside = np.abs(x) < 1
    o = min(opening, mouth.largest_opening()) * profile(x) * inside
    m_up, m_low = up - UPPER_SHARE * o, low + (1 - UPPER_SHARE) * o
    y_up = np.where(inside & (y > mouth.top), slide(y, np.full_like(y, mouth.top), up, m_up, mouth.upper_lip), y)
    y_low = np.where(inside & (y < mouth.bottom),
                     slide(y, np.full_like(y, mouth.bottom), low, m_low, mouth.lower_lip), y)
    # inside: the photo's own open mouth (teeth) moves with the upper lip; below it the mouth is dark,
    # darkest in the middle of the opening
    gap = np.maximum(low - up, 0)
    y_mid = y + (up - m_up)
    w_up = np.clip(m_up - y + 0.5, 0, 1)
    w_low = np.clip(y - m_low + 0.5, 0, 1)
    w_mid = np.clip(1 - w_up - w_low, 0, 1)
    total = w_up + w_low + w_mid
    w_up, w_mid, w_low = w_up / total, w_mid / total, w_low / total
    own = np.clip(m_up + gap - y + 0.5, 0, 1) * (gap >= 1)
    depth = np.clip((y - m_up - gap) / np.maximum(m_low - m_up - gap, 1e-3), 0, 1)
    cavity = w_mid * (1 - own) * (1 - 0.5 * np.sin(np.pi * depth))
    return [("image", mouth.to_picture(x, y_up), w_up),
            ("image", mouth.to_picture(x, y_mid), w_mid * own),
            ("image", mouth.to_picture(x, y_low), w_low),
            ("colour", None, cavity),
            ("image", points, w_mid * (1 - own)),
            ("smooth", points, -w_mid * (1 - own))]
