"""Stabilise stage (:mod:`bian.temporal.stabilise`): camera path over ±radius frames of the shot,
smoothed by a straight-line fit, the frame warped onto it.

A still image passes unchanged.
"""
from __future__ import annotations

from ..analysis.cuts import is_cut
from ..errors import OptionError
from ..pipeline.options import Option, boolean, choice, int_range, unit_float
from ..temporal import stabilise as stab
from ..temporal.framecache import PerPair
from ..temporal.shots import shot_span, thumbnail
from .base import Stage, Window

OPTIONS = [
    Option("stabilise", boolean, False, "remove gate weave and camera jitter, keeping pans and zooms",
           is_flag=True),
    Option("stabilise_strength", unit_float("stabilise_strength"), 1.0, "share of the measured jitter "
           "removed (default 1)", metavar="F"),
    Option("stabilise_radius", int_range("stabilise_radius", 2, 30), 20, "frames on each side the camera path "
           "is smoothed over (default 20; more gives a steadier picture, fewer follows the camera closer)",
           metavar="N"),
    Option("stabilise_border", choice("stabilise_border", stab.BORDERS), "fill", "edge uncovered by the "
           "correction: fill (repeat the frame edge, default), crop (zoom in 4 %%) or black",
           choices=stab.BORDERS),
]


def build(opts: dict, source) -> list:
    if not opts.get("stabilise"):
        return []
    return [Stabilise(opts.get("stabilise_radius", 20), opts.get("stabilise_strength", 1.0),
                      opts.get("stabilise_border", "fill"))]


class Stabilise(Stage):
    name = "stabilise"
    pixels_before = 0
    """Neighbours count by their thumbnail and tracking luma (:meth:`summarise`) alone."""

    def __init__(self, radius: int = 20, strength: float = 1.0, border: str = "fill"):
        if not 2 <= radius <= 30:
            raise OptionError(f"stabilise radius must be 2..30 frames, got {radius!r}")
        if not 0 <= strength <= 1:
            raise OptionError(f"stabilise strength must be between 0 and 1, got {strength!r}")
        if border not in stab.BORDERS:
            raise OptionError(f"stabilise border must be one of {', '.join(stab.BORDERS)}, got {border!r}")
        self.radius, self.strength, self.border = int(radius), float(strength), border
        self.before = self.after = self.radius
        self._cut = PerPair(is_cut)

    def describe(self) -> dict:
        return {"radius": self.radius, "strength": self.strength, "border": self.border,
                "method": "corner tracking to the current frame, similarity RANSAC, straight-line path fit"}

    def summarise(self, frame) -> tuple:
        """(thumbnail, (analysis luma, its scale)) of ``frame``."""
        return thumbnail(frame.image), stab.analysis_luma(frame.image)

    def process(self, window: Window) -> list:
        current = window.current
        if len(window.frames) == 1:
            return [current.replace(image=current.rgb())]
        summaries = self.summaries(window)
        start, stop = shot_span([s[0] for s in summaries], window.center, self._cut)
        center = window.center - start
        analysed = [s[1] for s in summaries[start:stop]]
        lumas, scale = [a[0] for a in analysed], analysed[center][1]
        others = [y for j, y in enumerate(lumas) if j != center]
        found = iter(stab.track(lumas[center], others))
        path = [stab.IDENTITY if j == center else next(found) for j in range(len(lumas))]
        target = stab.to_full_size(stab.smoothed(path, center), scale)
        matrix = stab.correction_matrix(target, (current.height, current.width), self.strength)
        alpha = current.alpha_float()
        return [current.replace(image=stab.warp_frame(current.rgb(), matrix, self.border),
                                alpha=None if alpha is None else stab.warp_frame(alpha, matrix, self.border))]
