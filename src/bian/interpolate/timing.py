"""Exact output timing for frame-rate conversion, in Fractions of a second.

Input time t plays at output time t / ``speed`` (speed < 1 slows the picture down: slow motion, or a
hand-cranked film brought back to its true speed). Output frames sit either on a fixed grid k / rate
(``--fps``), anchored at time zero so every segment of a film agrees on it, or at ``multi`` equal steps
inside each input interval (``--multi``, which follows variable-frame-rate input exactly).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction


NOMINAL = [Fraction(r) for r in (12, 15, 16, 18, 20, 22, 24, 25, 30, 48, 50, 60, 72, 96, 100, 120)] + [
    Fraction(r * 1000, 1001) for r in (24, 30, 48, 60, 120)]
"""Frame rates a file's average rate is taken to mean when it is within ``SNAP`` of one."""
SNAP = Fraction(1, 500)


def nominal_rate(rate: Fraction | None) -> Fraction | None:
    """The standard rate an average frame rate stands for (an MP4's average is frames / duration, so a
    24 fps file whose last frame's duration is stored short reads 72000/2999), else the rate itself.
    Speed changes are ratios of rates, and an average off by 0.03 % would make every one inexact."""
    if not rate:
        return rate
    near = min(NOMINAL, key=lambda r: abs(r - rate))
    return near if abs(near - rate) <= SNAP * near else rate


@dataclass(frozen=True)
class Timing:
    speed: Fraction = Fraction(1)
    """Playback speed of the source: output time = input time / speed."""
    rate: Fraction | None = None
    """Output frames per second on the grid k / rate; None means ``multi`` steps per input interval."""
    multi: int = 1

    def __post_init__(self):
        if self.speed <= 0:
            raise ValueError("speed must be positive")
        if self.rate is not None and self.rate <= 0:
            raise ValueError("rate must be positive")
        if self.multi < 1:
            raise ValueError("multi must be at least 1")

    def retime(self, t: Fraction) -> Fraction:
        """Input time → output time."""
        return t / self.speed

    def frames_in(self, start: Fraction, end: Fraction) -> list[tuple[Fraction, Fraction]]:
        """(time, duration) of the output frames whose times fall in the output interval [start, end)."""
        if end <= start:
            return []
        if self.rate is None:
            step = (end - start) / self.multi
            return [(start + k * step, step) for k in range(self.multi)]
        first, stop = math.ceil(start * self.rate), math.ceil(end * self.rate)
        step = 1 / self.rate
        return [(k * step, step) for k in range(first, stop)]

    def time_base(self, input_time_base: Fraction) -> Fraction:
        """A time base in which every output timestamp is an integer."""
        if self.rate is not None:
            return 1 / self.rate
        return input_time_base / self.speed / self.multi

    def output_rate(self, input_rate: Fraction | None) -> Fraction | None:
        """Nominal output frame rate (exact on the grid; the average for ``multi``)."""
        if self.rate is not None:
            return self.rate
        return None if input_rate is None else input_rate * self.multi * self.speed
