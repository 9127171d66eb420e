"""Deinterlace stage (:mod:`bian.temporal.deinterlace`): first in the chain, so that no later stage takes
the combing of a woven frame for detail. One frame out per frame in, at its first field's moment (same
rate and timestamps); the frames before and after give the other field's lines where nothing moves.

``--deinterlace auto`` (default) deinterlaces a video whose stream is flagged interlaced; pictures are
never interlaced. ``--field-order auto`` takes the order the stream states (DV: bottom first by its
standard), else top first (the plan says so).
"""
from __future__ import annotations

from ..analysis.cuts import is_cut
from ..errors import OptionError
from ..pipeline.options import Option, choice
from ..temporal.deinterlace import deinterlace
from ..temporal.framecache import PerPair
from ..temporal.shots import shot_span, thumbnail
from .base import Stage, Window

MODES = ("auto", "on", "off")
ORDERS = ("auto", "tff", "bff")

OPTIONS = [
    Option("deinterlace", choice("deinterlace", MODES), "auto", "rebuild whole frames from interlaced video "
           "(two fields per frame: DV, VHS, TV transfers): auto (default; when the stream is flagged "
           "interlaced), on or off", choices=MODES),
    Option("field_order", choice("field_order", ORDERS), "auto", "which field of an interlaced frame comes "
           "first: auto (default; as the stream states, else top), tff (top) or bff (bottom)", choices=ORDERS),
]


def build(opts: dict, source) -> list:
    mode, order = opts.get("deinterlace", "auto"), opts.get("field_order", "auto")
    if source.kind != "video":
        if mode == "on" or order != "auto":
            raise OptionError("--deinterlace and --field-order apply to video, not to a picture",
                              hint="drop them (a photo has no fields)")
        return []
    video = source.video
    if mode == "off" or (mode == "auto" and not (video is not None and video.interlaced)):
        if order != "auto":
            raise OptionError("--field-order needs deinterlacing", hint="add --deinterlace on, or drop --field-order")
        return []
    if video is not None and video.rotation in (90, 270):
        raise OptionError("cannot deinterlace a video shown turned by 90° (its fields run across the picture)",
                          video.path, "use --deinterlace off, or deinterlace it first (ffmpeg -vf bwdif)")
    order, origin = field_order(order, video)
    return [Deinterlace(order == "tff", origin)]


def field_order(order: str, video) -> tuple[str, str]:
    """(the field order to use, where it comes from: "option", "stream" or "assumed"): the user's, else
    the stream's, else top first. Turned upside down (rotation 180°), a picture of even height has its
    fields swapped."""
    if order != "auto":
        return order, "option"
    stated = video.field_order if video is not None else None
    order = stated or "tff"
    if video is not None and video.rotation == 180 and video.height % 2 == 0:
        order = "bff" if order == "tff" else "tff"
    return order, "stream" if stated else "assumed"


def note(stages: list, info) -> str | None:
    """The plan's line on interlacing: what was done with a flagged or forced interlaced source."""
    stage = next((s for s in stages if isinstance(s, Deinterlace)), None)
    if stage is None:
        return ("the source is interlaced but --deinterlace off: bian restores the woven frames as they are, "
                "and combing on moving edges is taken for detail") if info.interlaced else None
    order = "top field first" if stage.top_first else "bottom field first"
    if stage.order_from == "stream":
        order += " as the stream states"
    elif stage.order_from == "assumed":
        order += " (assumed: the stream does not say; if motion judders, give --field-order bff)"
    flagged = "the source is interlaced" if info.interlaced else "--deinterlace on (the stream is not flagged interlaced)"
    return (f"{flagged}: deinterlaced, {order}, one frame per frame at its first field's moment (same rate; "
            "weave where still, interpolation where moving)")


class Deinterlace(Stage):
    """Woven frames → progressive frames at the first field's moment; output float32 RGB in [0, 1]."""

    name = "deinterlace"
    before = after = 1

    def __init__(self, top_first: bool = True, order_from: str = "option"):
        self.top_first, self.order_from = bool(top_first), order_from
        self._cut = PerPair(is_cut)

    def describe(self) -> dict:
        return {"field_order": "tff" if self.top_first else "bff",
                "method": "motion-adaptive: weave where still, field interpolation where moving"}

    def summarise(self, frame):
        """The thumbnail of ``frame`` (for the cut test: a neighbour across a cut is no help)."""
        return thumbnail(frame.image)

    def process(self, window: Window) -> list:
        start, stop = shot_span(self.summaries(window), window.center, self._cut)
        c = window.center
        prev = window.frames[c - 1].rgb() if c - 1 >= start else None
        nxt = window.frames[c + 1].rgb() if c + 1 < stop else None
        return [window.current.replace(image=deinterlace(window.current.rgb(), prev, nxt, self.top_first))]
