"""Deflicker stage (:mod:`bian.temporal.deflicker`): per-frame brightness and smooth tone brought to
the level of a window of ±radius frames, reset at scene cuts and at lighting changes that last
(``hold`` seconds; the window is widened to that when it is shorter, so a change can be seen to last).

A still image passes unchanged (there is nothing to compare it with).
"""
from __future__ import annotations

import math

from ..analysis.cuts import is_cut
from ..errors import OptionError
from ..pipeline.options import Option, boolean, int_range, positive_float
from ..temporal import deflicker as flick
from ..temporal.framecache import PerPair
from ..temporal.shots import shot_span, thumbnail
from .base import Stage, Window

MAX_CONTEXT = 60
"""Most frames of context each side the hold rule may ask for (the runner keeps the frames ahead whole)."""

OPTIONS = [
    Option("deflicker", boolean, False, "even out frame-to-frame brightness flicker (keeps scene cuts and "
           "real lighting changes)", is_flag=True),
    Option("deflicker_radius", int_range("deflicker_radius", 2, 30), 30, "frames on each side the brightness "
           "is compared with (default 30; more removes more flicker; widened to the hold time when shorter)",
           metavar="N"),
    Option("deflicker_hold", positive_float("deflicker_hold"), flick.HOLD, "shortest brightness change kept "
           "as real light, in seconds (default 1; a change that comes back sooner is flicker)", metavar="S"),
    Option("deflicker_global", boolean, False, "correct whole-frame brightness only, not its smooth variation "
           "across the frame", is_flag=True),
]


def build(opts: dict, source) -> list:
    if not opts.get("deflicker"):
        return []
    return [Deflicker(opts.get("deflicker_radius", 30), local=not opts.get("deflicker_global"),
                      hold=opts.get("deflicker_hold", flick.HOLD), rate=getattr(source, "rate", None) or 25)]


class Deflicker(Stage):
    name = "deflicker"
    pixels_before = 0
    """Neighbours count by their thumbnail and cell statistics (:meth:`summarise`) alone."""

    def __init__(self, radius: int = 30, local: bool = True, strength: float = 1.0, hold: float = flick.HOLD,
                 rate: float = 25):
        """``rate``: the source's frames per second, which sets how many frames of context ``hold``
        seconds need (the rule itself counts each window's own frame durations)."""
        if not 2 <= radius <= 30:
            raise OptionError(f"deflicker radius must be 2..30 frames, got {radius!r}")
        if not 0 < strength <= 1:
            raise OptionError(f"deflicker strength must be in (0, 1], got {strength!r}")
        if not 0.2 <= hold <= 3:
            raise OptionError(f"--deflicker-hold must be 0.2..3 seconds, got {hold!r}")
        if not rate > 0:
            raise OptionError(f"deflicker frame rate must be positive, got {rate!r}")
        self.radius, self.local, self.strength, self.hold = int(radius), bool(local), float(strength), float(hold)
        # A short excursion around the current frame is seen whole with hold − 1 frames each side.
        self.before = self.after = max(self.radius, min(MAX_CONTEXT, math.ceil(self.hold * float(rate)) - 1))
        self._cut = PerPair(is_cut)

    def describe(self) -> dict:
        return {"radius": self.radius, "local": self.local, "strength": self.strength, "hold": self.hold}

    def summarise(self, frame) -> tuple:
        """(thumbnail, cell statistics) of ``frame``."""
        thumb = thumbnail(frame.image)
        return thumb, flick.measure(thumb)

    def process(self, window: Window) -> list:
        if len(window.frames) == 1:
            return [window.current.replace(image=window.current.rgb())]
        summaries = self.summaries(window)
        start, stop = shot_span([s[0] for s in summaries], window.center, self._cut)
        cells = [s[1] for s in summaries[start:stop]]
        center = window.center - start
        levels, spread = flick.relative_levels(cells, center)
        target, a, b = flick.lasting_level(levels, center, _frames_in(self.hold, window.current), spread)
        gain, field = flick.correction(cells[a:b], levels[a:b], center - a, target, self.local, self.strength)
        return [window.current.replace(image=flick.apply_gain(window.current.rgb(), gain, field))]


def _frames_in(seconds: float, frame) -> int:
    """How many frames of ``frame``'s duration make ``seconds`` (frames of unknown duration: 25 fps)."""
    duration = float(frame.duration) if frame.duration else 1 / 25
    return max(1, round(seconds / duration))
