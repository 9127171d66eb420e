"""Eyes: blinks that draw the eyelid down over the eye, and gaze that moves the iris inside it.

A blink is not a squash of the eye. The eye is three layers in the eye's own frame (see
:class:`bian.animate.rig.Eye`): the upper lid (the skin band from below the brow down to the lash
line), the eyeball between the lids, and the lower lid. Closing moves the upper lid's edge, lash line
first, down over the eyeball, which stays where it is and is covered; the lid skin stretches to follow
as a real lid unfolds from under its crease. The lower lid rises a little to meet it (22 % of the way).
Gaze shifts the eyeball layer sideways with a weight that is 1 in the middle of the eye and fades to 0
at the corners, so the iris moves and the whites compress and stretch without leaving the lids.

Everything here maps sample positions: given points of the (unwarped) source picture, it returns where
to read the source instead, for each layer, and how much each layer covers each point (1-pixel
anti-aliased edges where a lid overlaps the eyeball).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

CLOSE_AT = 0.78
"""Where closed lids meet, as a fraction of the opening from the upper lid."""
IRIS_SHIFT = 0.3
"""Largest sideways iris shift, in half eye widths."""
TERMS = ("upper lid", "upper lid smooth part", "skin above", "skin below", "eyeball", "lower lid")
"""The order of the terms :func:`samples` returns."""


@dataclass
class Eye:
    """One eye in its own frame: origin halfway between the corners, ``axis`` from the picture-left corner
    to the picture-right corner, ``half`` = half the corner distance. Curves are sampled on ``x`` ∈ [-1, 1]
    (corner to corner); values are offsets along the normal (pixels, positive = down)."""
    origin: np.ndarray
    axis: np.ndarray
    normal: np.ndarray
    half: float
    upper: np.ndarray
    """(3,) coefficients of the upper lid curve: y = (1 - x²)(a + b x + c x²)."""
    lower: np.ndarray
    brow: tuple[np.ndarray, np.ndarray]
    """Brow points in the eye frame: (x, y) arrays, sorted by x."""

    def to_local(self, pts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        d = np.asarray(pts, np.float64)[..., :2] - self.origin
        return (d @ self.axis) / self.half, d @ self.normal

    def to_picture(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return self.origin + np.multiply.outer(x * self.half, self.axis) + np.multiply.outer(y, self.normal)

    @staticmethod
    def curve(coeffs: np.ndarray, x: np.ndarray) -> np.ndarray:
        x = np.clip(x, -1.0, 1.0)
        return (1 - x * x) * (coeffs[0] + coeffs[1] * x + coeffs[2] * x * x)

    def opening(self) -> float:
        """Largest lid-to-lid distance in pixels."""
        x = np.linspace(-1, 1, 41)
        return float((self.curve(self.lower, x) - self.curve(self.upper, x)).max())


def _fit_lid(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Coefficients (a, b, c) of y = (1 - x²)(a + b x + c x²) through the interior lid points (least squares,
    with a small pull of c toward 0 so two points still give a well-posed, smooth curve)."""
    base = (1 - x * x)
    a = np.stack([base, base * x, base * x * x], 1)
    reg = np.diag([0.0, 0.0, 0.5])
    return np.linalg.solve(a.T @ a + reg, a.T @ y)


def build_eye(lm: np.ndarray, idx: np.ndarray, brow_idx: np.ndarray) -> Eye:
    """An eye from the 68 landmarks ``lm``: its six points ``idx`` and its brow's points ``brow_idx``."""
    pts = lm[idx]
    # corners: for the left eye 36 (outer, picture-left) and 39; for the right eye 42 and 45 (outer)
    left, right = (pts[0], pts[3])
    origin = (left + right) / 2
    axis = (right - left) / max(np.linalg.norm(right - left), 1e-6)
    normal = np.array([-axis[1], axis[0]])
    half = max(float(np.linalg.norm(right - left)) / 2, 1.0)
    eye = Eye(origin=origin, axis=axis, normal=normal, half=half, upper=np.zeros(3), lower=np.zeros(3),
              brow=(np.zeros(0), np.zeros(0)))
    ux, uy = eye.to_local(pts[[1, 2]])
    lx, ly = eye.to_local(pts[[5, 4]])
    eye.upper = _fit_lid(ux, uy)
    eye.lower = _fit_lid(lx, ly)
    bx, by = eye.to_local(lm[brow_idx])
    order = np.argsort(bx)
    eye.brow = (bx[order], by[order])
    return eye


def _band(eye: Eye, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Upper lid U, lower lid L, top of the upper-lid band B and bottom of the lower-lid band K (pixels
    along the eye's normal) at normalised positions x. B and K run parallel to the lids so the bands have
    no kinks of their own."""
    up, low = Eye.curve(eye.upper, x), Eye.curve(eye.lower, x)
    low = np.maximum(low, up)
    bx, by = eye.brow
    near = np.abs(bx) < 1.2
    gap = np.median(Eye.curve(eye.upper, bx[near]) - by[near]) if near.any() else eye.half
    top = up - max(0.7 * gap, 0.5 * eye.half)
    bottom = low + 0.55 * eye.half
    return up, low, top, bottom


def slide(y: np.ndarray, fixed: np.ndarray, edge: np.ndarray, moved: np.ndarray, lash: float) -> np.ndarray:
    """Source coordinate of output ``y`` in a lid band whose far end ``fixed`` stays put and whose edge moves
    from ``edge`` to ``moved``: a strip of ``lash`` pixels at the edge (the lashes) moves rigidly, the skin
    between stretches most near the lashes and least near the far end, where the crease stays in place."""
    delta = edge - moved                                    # how far the edge moved (signed)
    span = np.abs(moved - fixed) - lash                     # skin between the far end and the lash strip
    safe = np.maximum(span, 1e-3)
    t = np.clip(np.abs(y - fixed) / safe, 0, None)
    # t**p bunches the stretch at the lashes; p is capped so that no row is stretched beyond 5×
    p = np.clip(0.8 * safe / np.maximum(np.abs(delta), 1e-3), 1.0, 2.0)
    share = np.where(t >= 1, 1.0, np.power(np.minimum(t, 1.0), p))
    return y + delta * np.where(span > 0, share, 1.0)


def lid_edges(eye: Eye, x: np.ndarray, blink: float, squint: float = 0.0, look_down: float = 0.0
              ) -> tuple[np.ndarray, np.ndarray]:
    """Where the upper and lower lid edges are drawn (pixels along the normal) for a closure ``blink``,
    a ``squint`` (lower lid raised) and a downward gaze ``look_down`` (upper lid follows the eye)."""
    up, low, _, _ = _band(eye, x)
    h = low - up
    open_part = 1 - blink
    upper = up + h * (CLOSE_AT * blink + open_part * (0.08 * squint + 0.25 * look_down))
    lower = low - h * ((1 - CLOSE_AT) * blink + open_part * 0.25 * squint)
    return upper, np.maximum(lower, upper)


def region(eye: Eye) -> tuple[float, float, float, float]:
    """The box (x0, x1, y0, y1) in the eye frame (x normalised, y pixels) outside which nothing changes."""
    x = np.linspace(-1, 1, 33)
    _, _, top, bottom = _band(eye, x)
    return -1.02, 1.02, float(top.min()) - 1, float(bottom.max()) + 1


def lid_rows(eye: Eye, columns: int = 33, rows: int = 17) -> tuple[np.ndarray, np.ndarray]:
    """Where the open upper lid's own skin is: ``columns`` positions x across the eye and, for each, ``rows``
    picture points (columns, rows, 2) down the lid band from its top to 0.8 of the way to the lash line (below
    the brow's fringe, above the lashes and their shadow)."""
    x = np.linspace(-1, 1, columns)
    up, _, top, _ = _band(eye, x)
    ys = top[:, None] + np.linspace(0, 0.8, rows)[None, :] * (up - top)[:, None]
    return x, eye.to_picture(np.repeat(x[:, None], rows, 1), ys)


def samples(eye: Eye, points: np.ndarray, blink: float, squint: float, gaze: np.ndarray,
            lid_skin: tuple[np.ndarray, np.ndarray]) -> list[tuple]:
    """What to draw at source ``points`` (M, 2) near the eye: a list of terms (picture, positions (M, 2),
    weights (M,)) to add up, ``picture`` being "image" (the photo) or "smooth" (the photo blurred), or
    ("colour", colours (M, C), weights). ``lid_skin``: (x, colours) of the open lid's skin per column x, the
    median of the smooth photo down the rows of :func:`lid_rows`.

    Layers: upper lid, eyeball, lower lid, with 1-pixel anti-aliased edges. As the lid closes, the skin
    above its lashes turns into plain lid skin — the lid's own median colour with the photo's grain —
    because the fold and crease shadows of an open eye are not on a closed lid (a median, so that neither
    a low brow's fringe nor the crease's shadow tints it).
    """
    x, y = eye.to_local(points)
    up, low, top, bottom = _band(eye, x)
    inside = np.abs(x) < 1
    m_up, m_low = lid_edges(eye, x, blink, squint, max(float(gaze[1]), 0.0))

    lash = 0.12 * eye.half
    # upper lid: the band [top, m_up] is read from [top, up]; lower lid: [m_low, bottom] from [low, bottom]
    y_up = np.where(inside & (y > top), slide(y, top, up, m_up, lash), y)
    y_low = np.where(inside & (y < bottom), slide(y, bottom, low, m_low, 0.5 * lash), y)
    # eyeball: the iris moves with the gaze, the corners stay
    fade = np.clip((np.abs(x) - 0.25) / 0.7, 0, 1)
    weight = np.where(inside, 0.5 + 0.5 * np.cos(np.pi * fade), 0.0)
    x_ball = x - IRIS_SHIFT * float(gaze[0]) * weight
    y_ball = y - 0.12 * (low - up) * float(gaze[1]) * weight

    w_up = np.clip(m_up - y + 0.5, 0, 1)
    w_low = np.clip(y - m_low + 0.5, 0, 1)
    w_ball = np.clip(1 - w_up - w_low, 0, 1)
    total = w_up + w_low + w_ball
    w_up, w_ball, w_low = w_up / total, w_ball / total, w_low / total
    # closed-lid skin, without an outline of its own: it fades in over the upper quarter of the band (whose
    # top is the photo's own) and is full down to one lash width above the lashes; in proportion to the
    # closure, and fading out toward the corners, where the lid does not move
    closing = float(np.clip(blink, 0, 1)) ** 2 * (3 - 2 * float(np.clip(blink, 0, 1)))
    skin = (w_up * closing * np.clip((m_up - y - lash) / lash, 0, 1) * np.clip((y - top) / (0.25 * (up - top)), 0, 1)
            * np.clip((1 - np.abs(x)) / 0.3, 0, 1))
    p_up = eye.to_picture(x, y_up)
    # its colour: from the lid's own to that of the skin under the lower lid, down the lid
    t = np.clip((y - top) / np.maximum(m_up - top, 1e-3), 0, 1)
    lid = np.stack([np.interp(x, lid_skin[0], c) for c in lid_skin[1].T], 1)
    p_below = eye.to_picture(x, low + 0.3 * (bottom - low))
    # the stretched lid; where it turns into skin it still gives its grain (its smooth part is taken out)
    return [("image", p_up, w_up),
            ("smooth", p_up, -skin),
            ("colour", lid, skin * (1 - t)),
            ("smooth", p_below, skin * t),
            # the last sliver of eyeball lies in the shadow of the closing lashes
            ("image", eye.to_picture(x_ball, y_ball), w_ball * (1 - 0.75 * closing)),
            ("image", eye.to_picture(x, y_low), w_low)]
