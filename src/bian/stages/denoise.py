"""Denoise stage: motion-compensated, grain-aware non-local means (:mod:`bian.temporal.denoise`),
optionally re-adding fresh grain with the source's statistics (:mod:`bian.temporal.grain`).

A still image (a window of one frame) gets the spatial filter alone.
"""
from __future__ import annotations

from ..analysis.cuts import is_cut
from ..errors import OptionError
from ..frame import to_float
from ..pipeline.options import Option, boolean, int_range, unit_float
from ..temporal.denoise import denoise_planes, pooled, split
from ..temporal.grain import add_grain, measure_grain
from ..temporal.framecache import PerPair
from ..temporal.shots import shot_span, thumbnail
from .base import Stage, Window


def _strength(value):
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise OptionError(f"--denoise needs a strength number, got {value!r}", hint="e.g. --denoise 1") from None
    if isinstance(value, bool) or not 0 < number <= 4:
        raise OptionError(f"--denoise must be a strength above 0 and at most 4, got {value!r}",
                          hint="1 removes grain of the measured level; 0.5 is gentle, 2 strong")
    return number


OPTIONS = [
    Option("denoise", _strength, None, "remove film grain and noise with this strength (1 = the measured "
           "grain level, 0.5 gentle, 2 strong)", metavar="STRENGTH"),
    Option("denoise_radius", int_range("denoise_radius", 0, 4), 2, "frames on each side the denoiser "
           "aligns and averages (0 = each frame alone; default 2)", metavar="N"),
    Option("keep_grain", boolean, False, "after denoising, add back fresh grain with the source's grain "
           "size, brightness dependence and colour, so the result does not look plastic", is_flag=True),
    Option("grain_amount", unit_float("grain_amount"), 0.5, "strength of the grain --keep-grain adds, as a "
           "share of the source's grain (default 0.5)", metavar="F"),
]


def build(opts: dict, source) -> list:
    if opts.get("denoise") is None:
        if opts.get("keep_grain"):
            raise OptionError("--keep-grain needs --denoise", hint="e.g. --denoise 1 --keep-grain")
        return []
    radius = opts.get("denoise_radius", 2)
    return [Denoise(opts["denoise"], radius, bool(opts.get("keep_grain")), opts.get("grain_amount", 0.5))]


class Denoise(Stage):
    name = "denoise"
    pixels_before = 0
    """Neighbours count by their thumbnail and split planes (:meth:`summarise`) alone."""

    def __init__(self, strength: float = 1.0, radius: int = 2, keep_grain: bool = False,
                 grain_amount: float = 0.5):
        for label, value, ok in (("strength", strength, 0 < strength <= 4), ("radius", radius, 0 <= radius <= 4),
                                 ("grain amount", grain_amount, 0 <= grain_amount <= 1)):
            if not ok:
                raise OptionError(f"denoise {label} out of range: {value!r}",
                                  hint="strength in (0, 4], radius 0..4, grain amount 0..1")
        self.strength, self.radius = float(strength), int(radius)
        self.keep_grain, self.grain_amount = keep_grain, float(grain_amount)
        self.before = self.after = self.radius
        self._cut = PerPair(is_cut)

    def describe(self) -> dict:
        return {"strength": self.strength, "radius": self.radius, "keep_grain": self.keep_grain,
                "grain_amount": self.grain_amount if self.keep_grain else None,
                "method": "motion-compensated non-local means on variance-stabilised luma"}

    def summarise(self, frame) -> tuple:
        """(thumbnail, :func:`~bian.temporal.denoise.split` planes) of ``frame``."""
        return thumbnail(frame.image), split(to_float(frame.image))

    def process(self, window: Window) -> list:
        summaries = self.summaries(window)
        start, stop = shot_span([s[0] for s in summaries], window.center, self._cut)
        planes = [s[1] for s in summaries[start:stop]]
        noise = pooled([p.noise for p in planes])
        clean = denoise_planes(planes, window.center - start, self.strength, noise)
        if self.keep_grain and self.grain_amount > 0:
            stats = measure_grain(window.current.rgb(), clean, noise)
            clean = add_grain(clean, stats, seed=window.current.index, amount=self.grain_amount)
        return [window.current.replace(image=clean)]
