"""Motions: what each face does in each frame, and the presets that write it.

A :class:`Motion` holds one face's parameters for every frame (arrays over frames). The presets
(:func:`preset_motion`) place a few events on the timeline (blinks, a smile, glances with the head
following, a nod, a slow turn) with eased transitions and small seeded random variation, plus
breathing and a faint idle sway made of whole cycles over the clip. Every event ends before the clip
does and every cycle is whole, so the last frame leads smoothly back into the first: clips loop.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import OptionError

PRESETS = ("blink", "smile", "look", "nod", "turn", "breathe")
DEFAULT = ("blink", "smile", "look", "nod", "breathe")


@dataclass
class Motion:
    """Per-frame parameters of one face (n frames). Angles in degrees, lengths in inter-ocular distances
    of the face, amounts in [0, 1] unless stated."""
    blink: np.ndarray
    """(n, 2) lid closure of the eye on the picture's left and right (1 = closed)."""
    squint: np.ndarray
    """(n,) lower lids raised (the eyes of a smile)."""
    gaze: np.ndarray
    """(n, 2) eye direction, x right / y down, -1..1 of the largest iris shift."""
    smile: np.ndarray
    """(n,) mouth corners and cheeks up."""
    brow: np.ndarray
    """(n,) brows raised (negative: lowered)."""
    yaw: np.ndarray
    """(n,) head turn; positive turns the face toward the picture's right."""
    pitch: np.ndarray
    """(n,) nod; positive looks down."""
    roll: np.ndarray
    """(n,) head tilt; positive clockwise on the picture."""
    shift: np.ndarray
    """(n, 2) head shift in the face frame."""
    scale: np.ndarray
    """(n,) relative size change of the head (breathing), 0 = none."""
    mouth: np.ndarray
    """(n,) lips apart, in inter-ocular distances (driving videos)."""
    expr: np.ndarray | None = None
    """(n, 68, 2) further landmark displacements in the face frame (driving videos), or None."""
    notes: dict = field(default_factory=dict)

    @property
    def frames(self) -> int:
        return len(self.smile)

    @classmethod
    def still(cls, n: int) -> "Motion":
        z = np.zeros(n)
        return cls(blink=np.zeros((n, 2)), squint=z.copy(), gaze=np.zeros((n, 2)), smile=z.copy(),
                   brow=z.copy(), yaw=z.copy(), pitch=z.copy(), roll=z.copy(), shift=np.zeros((n, 2)),
                   scale=z.copy(), mouth=z.copy())

    def at(self, i: int) -> dict:
        """The parameters of frame ``i`` as a dict of scalars / small arrays."""
        out = {k: getattr(self, k)[i] for k in ("blink", "squint", "gaze", "smile", "brow", "yaw", "pitch",
                                                  "roll", "shift", "scale", "mouth")}
        out["expr"] = None if self.expr is None else self.expr[i]
        return out


def parse_motions(value) -> tuple[str, ...]:
    """'blink,smile' or a list → validated tuple of preset names ('all' = every preset)."""
    if value is None:
        return DEFAULT
    items = value.split(",") if isinstance(value, str) else list(value)
    names = tuple(dict.fromkeys(s.strip().lower() for s in items if s and s.strip()))
    if names == ("all",):
        return PRESETS
    unknown = [n for n in names if n not in PRESETS]
    if unknown or not names:
        raise OptionError(f"unknown motion {', '.join(unknown) or '(none)'}",
                          hint=f"use a comma-separated list of {', '.join(PRESETS)} or all")
    return names


# ---------------------------------------------------------------------------------------------- easing
def smootherstep(t: np.ndarray) -> np.ndarray:
    """0→1 with zero velocity and acceleration at both ends."""
    t = np.clip(t, 0.0, 1.0)
    return t * t * t * (t * (6 * t - 15) + 10)


def pulse(times: np.ndarray, start: float, rise: float, hold: float, fall: float) -> np.ndarray:
    """0 → 1 over ``rise`` s from ``start``, 1 for ``hold`` s, back to 0 over ``fall`` s (eased)."""
    up = smootherstep((times - start) / max(rise, 1e-6))
    down = 1 - smootherstep((times - start - rise - hold) / max(fall, 1e-6))
    return np.minimum(up, down)


# ---------------------------------------------------------------------------------------------- presets
def preset_motion(names: tuple[str, ...], frames: int, fps: float, seed: int = 0, face: int = 0,
                  strength: float = 1.0) -> Motion:
    """The motion of one face for ``frames`` frames at ``fps``; ``seed`` and ``face`` pick the random
    variation (the same arguments give the same motion); ``strength`` scales every amplitude."""
    rng = np.random.default_rng([seed, face, 0x5EED])
    t = np.arange(frames) / fps
    length = frames / fps
    m = Motion.still(frames)
    dt = 1 / fps

    if "blink" in names:
        count = max(1, int(round(length / 3.6)))
        slots = (np.arange(count) + 0.5) / count * length
        for centre in slots:
            centre = float(np.clip(centre + rng.uniform(-0.25, 0.25) * length / count, 0.35, length - 0.5))
            close = rng.uniform(0.08, 0.11)
            hold = max(0.03, 1.2 * dt)
            opening = rng.uniform(0.2, 0.28)
            b = pulse(t, centre - close, close, hold, opening)
            m.blink = np.maximum(m.blink, b[:, None] * np.array([1.0, rng.uniform(0.97, 1.0)]))

    if "smile" in names:
        rise, fall = [min(v, 0.18 * length) for v in (rng.uniform(0.6, 0.9), rng.uniform(0.7, 1.0))]
        hold = min(rng.uniform(1.2, 2.0), max(0.0, length - rise - fall - 0.6) * 0.6)
        start = rng.uniform(0.1, 0.3) * max(length - rise - hold - fall, 0.0) + 0.15
        amount = rng.uniform(0.85, 1.0) * strength
        m.smile = amount * pulse(t, start, rise, hold, fall)
        m.squint = 0.6 * m.smile

    if "look" in names:
        glances = max(1, min(3, int(length / 2.2)))
        span = length - 0.5
        for k in range(glances):
            side = (-1) ** (k + int(rng.integers(2)))
            target = np.array([side * rng.uniform(0.55, 1.0), rng.uniform(-0.35, 0.35)]) * strength
            start = 0.25 + span * k / glances + rng.uniform(0, 0.15) * span / glances
            hold = rng.uniform(0.5, 0.8) * span / glances - 0.35
            g = pulse(t, start, 0.09, max(hold, 0.2), 0.12)
            m.gaze += g[:, None] * target
            # the head follows the eyes late and slowly, by a few degrees
            h = pulse(t, start + 0.08, 0.45, max(hold - 0.35, 0.05), 0.5)
            m.yaw += h * target[0] * 5.0
            m.pitch += h * target[1] * 3.0
            m.brow += h * max(-target[1], 0.0) * 0.5

    if "nod" in names:
        start = rng.uniform(0.3, 0.5) * max(length - 1.6, 0.0) + 0.2
        depth = rng.uniform(3.0, 4.5) * strength
        m.pitch += depth * pulse(t, start, 0.45, 0.1, 0.55)
        m.roll += rng.choice([-1, 1]) * rng.uniform(1.5, 2.5) * strength * pulse(t, start - 0.2, 0.8, 0.6, 0.9)

    if "turn" in names:
        start = rng.uniform(0.15, 0.3) * length
        hold = 0.25 * length
        side = rng.choice([-1, 1])
        turn = pulse(t, start, min(1.0, 0.2 * length), hold, min(1.0, 0.2 * length))
        m.yaw += side * rng.uniform(7.0, 10.0) * strength * turn

    if "breathe" in names:
        cycles = max(1, int(round(length / 4.0)))
        phase = 2 * np.pi * cycles * t / length
        breath = 0.5 - 0.5 * np.cos(phase)          # 0 → 1 → 0, whole cycles: loops
        m.shift[:, 1] -= 0.012 * strength * breath
        m.scale += 0.004 * strength * breath
        # idle sway: a few whole cycles of small, incommensurate-looking drifts
        for arr, amp in ((m.yaw, 0.7), (m.pitch, 0.4), (m.roll, 0.4)):
            k1, k2 = rng.integers(1, 3), rng.integers(2, 5)
            p1, p2 = rng.uniform(0, 2 * np.pi, 2)
            # zero at the first frame, so the clip opens on the photograph as it is
            sway = np.sin(2 * np.pi * k1 * t / length + p1) - np.sin(p1)
            sway += 0.5 * (np.sin(2 * np.pi * k2 * t / length + p2) - np.sin(p2))
            arr += amp * strength * sway / 1.5
    m.notes["presets"] = list(names)
    return m
