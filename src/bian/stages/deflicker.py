"""Deflicker stage (:mod:`bian.temporal.deflicker`): per-frame brightness and smooth tone brought to
the level of a window of ±radius frames, reset at scene cuts and at lasting lighting changes.

A still image passes unchanged (there is nothing to compare it with).
"""
from __future__ import annotations

from ..analysis.cuts import is_cut
from ..errors import OptionError
from ..pipeline.options import Option, boolean, int_range
from ..temporal import deflicker as flick
from ..temporal.framecache import PerFrame, PerPair
from ..temporal.shots import shot_span, thumbnail
from .base import Stage, Window

OPTIONS = [
    Option("deflicker", boolean, False, "even out frame-to-frame brightness flicker (keeps scene cuts and "
           "real lighting changes)", is_flag=True),
    Option("deflicker_radius", int_range("deflicker_radius", 2, 30), 20, "frames on each side the brightness "
           "is compared with (default 20; more removes more flicker, fewer follows lighting faster)",
           metavar="N"),
    Option("deflicker_global", boolean, False, "correct whole-frame brightness only, not its smooth variation "
           "across the frame", is_flag=True),
]


def build(opts: dict, source) -> list:
    if not opts.get("deflicker"):
        return []
    return [Deflicker(opts.get("deflicker_radius", 20), local=not opts.get("deflicker_global"))]


class Deflicker(Stage):
    name = "deflicker"

    def __init__(self, radius: int = 20, local: bool = True, strength: float = 1.0):
        if not 2 <= radius <= 30:
            raise OptionError(f"deflicker radius must be 2..30 frames, got {radius!r}")
        if not 0 < strength <= 1:
            raise OptionError(f"deflicker strength must be in (0, 1], got {strength!r}")
        self.radius, self.local, self.strength = int(radius), bool(local), float(strength)
        self.before = self.after = self.radius
        self._thumb, self._cut = PerFrame(thumbnail), PerPair(is_cut)
        self._cells = PerFrame(_cells)

    def describe(self) -> dict:
        return {"radius": self.radius, "local": self.local, "strength": self.strength}

    def process(self, window: Window) -> list:
        if len(window.frames) == 1:
            return [window.current.replace(image=window.current.rgb())]
        start, stop = shot_span([self._thumb(f.image) for f in window.frames], window.center, self._cut)
        cells = [self._cells(f.image) for f in window.frames[start:stop]]
        center = window.center - start
        levels = flick.relative_levels(cells, center)
        a, b = flick.run_of(levels, center)
        gain, field = flick.correction(cells[a:b], levels[a:b], center - a, self.local, self.strength)
        return [window.current.replace(image=flick.apply_gain(window.current.rgb(), gain, field))]


def _cells(image):
    return flick.measure(thumbnail(image))
