"""Deinterlace stage (:mod:`bian.temporal.deinterlace`): first in the chain, so that no later stage takes
the combing of a woven frame for detail. One frame out per frame in, at its first field's moment (same
rate and timestamps); the frames before and after give the other field's lines where nothing moves.

``--deinterlace auto`` (default) deinterlaces a video whose stream is flagged interlaced, unless frames looked
at in three places show both fields of each frame from one moment (film transferred 2:2), and a video not
flagged whose frames there show combing clearly (captures re-encoded or exported without the flag); pictures
are never interlaced. ``--field-order auto`` takes the order those frames show clearly, else the one the stream
states (DV: bottom first by its standard), else top first; the plan's note says which.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..analysis.cuts import is_cut
from ..errors import OptionError
from ..media.video import sample_runs
from ..pipeline.options import Option, choice
from ..temporal.deinterlace import deinterlace, field_pattern, matching_field, weave
from ..temporal.framecache import PerPair
from ..temporal.shots import shot_span, thumbnail
from .base import Stage, Window

MODES = ("auto", "on", "off")
ORDERS = ("auto", "tff", "bff")

OPTIONS = [
    Option("deinterlace", choice("deinterlace", MODES), "auto", "rebuild whole frames from interlaced video "
           "(two fields per frame: DV, VHS, TV transfers): auto (default; when the stream is flagged "
           "interlaced, or its frames show combing clearly), on or off", choices=MODES),
    Option("field_order", choice("field_order", ORDERS), "auto", "which field of an interlaced frame comes "
           "first: auto (default; as the pictures show, else as the stream states, else top), tff (top) or bff "
           "(bottom)", choices=ORDERS),
]


RUN = 16
"""Consecutive frames looked at, in each of :data:`SPANS`, when the plan is made, to see how the fields
relate in time."""
SPANS = (0.0, 0.35, 0.7)
"""Where the runs start, as shares of the video's duration (a film transfer often opens on black leader
or still titles, which say nothing)."""
_MOST_LINES = 1088
"""Tallest picture looked at for combing when the stream is not flagged (1080i, coded as 1088 lines): film
scans at 2K and 4K are progressive, and the look would cost seconds there."""


def build(opts: dict, source) -> list:
    mode, order = opts.get("deinterlace", "auto"), opts.get("field_order", "auto")
    if source.kind != "video":
        if mode == "on" or order != "auto":
            raise OptionError("--deinterlace and --field-order apply to video, not to a picture",
                              hint="drop them (a photo has no fields)")
        return []
    video = source.video
    # not flagged: only combing the pictures show clearly (fields run across a picture turned by 90°; no
    # interlaced format has more lines than 1080i, and woven frames scaled up have lost their fields)
    looked = (mode == "auto" and not video.interlaced and video.rotation not in (90, 270)
              and video.height <= _MOST_LINES)
    seen = combing_seen(look(video)) if looked else None
    if mode == "off" or (mode == "auto" and not video.interlaced and seen is None):
        if order != "auto":
            raise OptionError("--field-order needs deinterlacing", hint="add --deinterlace on, or drop --field-order")
        return []
    if video.rotation in (90, 270):
        raise OptionError("cannot deinterlace a video shown turned by 90° (its fields run across the picture)",
                          video.path, "use --deinterlace off, or deinterlace it first (ffmpeg -vf bwdif)")
    pattern = look(video)
    if seen is not None:
        order, origin = (order, "option") if order != "auto" else (seen, "pictures")
        # film in fields shifted by one (2:2) combs every frame and is seen so: matched as on a flagged stream
        return [Deinterlace(order == "tff", origin, pattern["telecine"], pulled_down(pattern),
                            seen=(pattern[f"edge_{seen}"], pattern["frames"]))]
    if mode == "auto" and progressive(pattern):
        return []
    order, origin = field_order(order, video, pattern)
    return [Deinterlace(order == "tff", origin, pattern["telecine"], pulled_down(pattern))]


_LOOKS: dict = {}


def look(video) -> dict:
    """:func:`~bian.temporal.deinterlace.field_pattern` of :data:`RUN` frames at each of :data:`SPANS`, the
    votes added up, ``telecine`` if any run shows it (kept for the plan's note, which asks again)."""
    path = Path(video.path)
    stamp = (path.stat().st_size, path.stat().st_mtime_ns) if path.is_file() else None
    key = (str(path), repr(video.image2), video.frames, video.duration, stamp)
    if key not in _LOOKS:
        votes: dict = {}
        for run in _runs(video):
            found = field_pattern(run)
            votes = {k: (votes.get(k, False) or v) if k == "telecine" else votes.get(k, 0) + v
                     for k, v in found.items()}
        votes = votes or field_pattern([])
        _LOOKS.clear()
        _LOOKS[key] = votes
    return _LOOKS[key]


def _runs(video):
    """Runs of :data:`RUN` consecutive decoded frames (grey float32 in [0, 1], upright), one at each of
    :data:`SPANS`; a video too short for them to stand apart gives one run of as many frames from its
    start."""
    frames = (video.duration or 0) * float(video.rate or 25)
    spans, length = (SPANS, RUN) if frames >= 4 * RUN * len(SPANS) else ((0.0,), RUN * len(SPANS))
    for run in sample_runs(video, spans, length):
        yield [grey.astype(np.float32) / 255 for grey in run]


def progressive(pattern: dict) -> bool:
    """Most frames that showed motion had both fields from one moment."""
    spoke = _spoke(pattern)
    return spoke >= 8 and pattern["progressive"] >= 0.7 * spoke


def combing_seen(pattern: dict) -> str | None:
    """The field order ("tff" or "bff") when the frames' vertical edges show an interlaced video clearly:
    at least 10 frames combed one way, four times as many as the other way and more than showed one
    moment; else None (a miss leaves the video as it is; a false alarm would soften every progressive
    frame that moves, so the bar is high: the woven clips of the benchmark give 10–26 such frames of 42–46,
    every progressive one none)."""
    tff, bff = pattern["edge_tff"], pattern["edge_bff"]
    most, other = max(tff, bff), min(tff, bff)
    if most >= 10 and most >= 4 * other and most > pattern["edge_progressive"]:
        return "tff" if tff > bff else "bff"
    return None


def pulled_down(pattern: dict) -> bool:
    """Film carried in fields across frames: a 3:2 pull-down, or most frames that showed motion combed
    across moments their neighbours' fields match (2:2 with the fields shifted by one)."""
    spoke = _spoke(pattern)
    return pattern["telecine"] or (spoke >= 8 and pattern["combed"] >= 0.5 * spoke)


def _spoke(pattern: dict) -> int:
    """How many frames of the look showed motion clear enough to judge."""
    return sum(pattern[k] for k in ("tff", "bff", "progressive", "combed"))


def field_order(order: str, video, pattern: dict) -> tuple[str, str]:
    """(the field order to use, where it comes from: "option", "pictures", "stream" or "assumed"): the
    user's, else what the pictures show when they show it clearly, else the stream's, else top first.
    Turned upside down (rotation 180°), a picture of even height has the stream's order swapped (the
    pictures are looked at upright)."""
    if order != "auto":
        return order, "option"
    tff, bff = pattern["tff"], pattern["bff"]
    if tff + bff >= 6 and max(tff, bff) >= 0.8 * (tff + bff):
        return ("tff" if tff > bff else "bff"), "pictures"
    stated = video.field_order
    if stated is None:
        return "tff", "assumed"
    if video.rotation == 180 and video.height % 2 == 0:
        stated = "bff" if stated == "tff" else "tff"
    return stated, "stream"


def note(stages: list, info, opts: dict) -> str | None:
    """The plan's line on interlacing: what was done with a flagged, seen or forced interlaced source."""
    stage = next((s for s in stages if isinstance(s, Deinterlace)), None)
    if stage is None:
        if not info.interlaced:
            return None
        if opts.get("deinterlace", "auto") == "off":
            return ("the source is interlaced but --deinterlace off: bian restores the woven frames as they are, "
                    "and combing on moving edges is taken for detail")
        return ("the stream is flagged interlaced but both fields of each frame show one moment (film "
                "transferred 2:2, or progressive video): kept as whole frames (--deinterlace on forces it)")
    chosen, stated = ("tff" if stage.top_first else "bff"), info.field_order
    said = "" if stated in (None, chosen) else f" (the stream says {'top' if stated == 'tff' else 'bottom'} first)"
    order = "top field first" if stage.top_first else "bottom field first"
    order += {"stream": " as the stream states",
              "pictures": " as the pictures show" + said,
              "assumed": " (assumed: neither the stream nor the pictures say; if motion judders, give "
                         "--field-order bff)",
              "option": ""}[stage.order_from]
    if info.interlaced:
        flagged = "the source is interlaced"
    elif stage.seen:
        flagged = f"interlaced (combing seen in {stage.seen[0]} of {stage.seen[1]} frames, not flagged)"
    else:
        flagged = "--deinterlace on (the stream is not flagged interlaced)"
    text = (f"{flagged}: deinterlaced, {order}, one frame per frame at its first field's moment (same rate; "
            "weave where still, interpolation where moving)")
    if stage.telecine:
        text += ("; its fields follow a 3:2 pull-down (film at 24 fps): each film frame's two fields are woven "
                 "back together where neighbouring frames hold them, and the rate is kept (--pulldown remove "
                 "also drops the repeated frames to give the film's own rate)")
    elif stage.match:
        text += ("; each film frame's two fields lie in neighbouring frames (2:2 shifted by a field): they are "
                 "woven back together")
    return text


class Deinterlace(Stage):
    """Woven frames → progressive frames at the first field's moment; output float32 RGB in [0, 1].

    ``match``: the video carries film in fields (pull-down): where a neighbouring frame holds the other
    field of the current picture, the two are woven back together (the film frame itself); elsewhere the
    frame is deinterlaced. ``seen``: (frames that showed combing, frames looked at) when the stream is not
    flagged interlaced and the plan's look found it so (for the note)."""

    name = "deinterlace"
    before = after = 1

    def __init__(self, top_first: bool = True, order_from: str = "option", telecine: bool = False,
                 match: bool = False, seen: tuple[int, int] | None = None):
        self.top_first, self.order_from, self.telecine, self.match = bool(top_first), order_from, telecine, match
        self.seen = seen
        self._cut = PerPair(is_cut)

    def describe(self) -> dict:
        return {"field_order": "tff" if self.top_first else "bff", "field_order_from": self.order_from,
                "method": "motion-adaptive: weave where still, field interpolation where moving"
                + ("; film fields matched across frames first" if self.match else "")}

    def summarise(self, frame):
        """The thumbnail of ``frame`` (for the cut test: a neighbour across a cut is no help)."""
        return thumbnail(frame.image)

    def process(self, window: Window) -> list:
        start, stop = shot_span(self.summaries(window), window.center, self._cut)
        c, current = window.center, window.current
        frames = [window.frames[c - 1] if c - 1 >= start else None, current,
                  window.frames[c + 1] if c + 1 < stop else None]
        planes = [None if f is None else _planes(f) for f in frames]
        if planes[1] is not None and all(f is None or _alike(p, planes[1]) for f, p in zip(frames, planes)):
            # The decoded planes themselves: an interlaced 4:2:0 picture's chroma alternates fields row by row
            # of its own plane, which the conversion to RGB has already smeared across both fields.
            match = self._matching([None if p is None else p[0] for p in planes])  # judged on luma
            if match == 0:
                return [current.replace()]
            if match is not None:
                rebuilt = [weave(cur, other, self.top_first) for cur, other in zip(planes[1], planes[1 + match])]
            else:
                rebuilt = [deinterlace(cur, before, after, self.top_first) for before, cur, after in
                           zip(*(p or [None] * len(planes[1]) for p in planes))]
            return [current.replace(image=None, source=_decoded(current.source, rebuilt))]
        rgb = [None if f is None else f.rgb() for f in frames]
        match = self._matching(rgb)
        if match is not None:
            return [current.replace(image=weave(rgb[1], rgb[1 + match], self.top_first))]
        return [current.replace(image=deinterlace(rgb[1], rgb[0], rgb[2], self.top_first))]

    def _matching(self, pictures: list) -> int | None:
        """With ``match``, which of (previous, current, next) holds the current picture's other field."""
        return matching_field(pictures[1], pictures[0], pictures[2], self.top_first) if self.match else None


def _plane_bits(picture) -> list[int] | None:
    """Bits per sample of each plane of a decoded picture whose planes each hold one component (planar YUV,
    grey, planar RGB), little-endian, at most 16 bits; None for packed or semi-planar layouts."""
    fmt = picture.format
    planes = {c.plane: c.bits for c in fmt.components}
    if len(planes) != len(fmt.components) or fmt.is_big_endian or fmt.has_palette or fmt.is_bayer \
            or max(planes.values()) > 16:
        return None
    return [planes[i] for i in range(len(planes))]


def _planes(frame) -> list[np.ndarray] | None:
    """The decoded planes of ``frame`` as float32 in [0, 1] (each at its own size), or None when the frame
    holds no decoded picture (already worked on, or turned) or one of another layout."""
    source = frame.source
    bits = None if source is None else _plane_bits(source.picture)
    if bits is None:
        return None
    out = []
    for plane, depth in zip(source.picture.planes, bits):
        samples = np.frombuffer(plane, np.uint8 if depth <= 8 else np.dtype("<u2"))
        out.append(samples.reshape(plane.height, -1)[:, : plane.width] * np.float32(1 / (2 ** depth - 1)))
    return out


def _alike(planes: list[np.ndarray] | None, like: list[np.ndarray]) -> bool:
    return planes is not None and [p.shape for p in planes] == [p.shape for p in like]


def _decoded(source, planes: list[np.ndarray]):
    """A decoded picture like ``source``'s (format, size, colour tags) holding ``planes`` (float32 in [0, 1])."""
    import av

    from ..media.video import Decoded
    like = source.picture
    picture = av.VideoFrame(like.width, like.height, like.format.name)
    for plane, depth, values in zip(picture.planes, _plane_bits(like), planes):
        dtype = np.dtype(np.uint8 if depth <= 8 else "<u2")
        rows = np.zeros((plane.height, plane.line_size // dtype.itemsize), dtype)
        rows[:, : plane.width] = np.rint(values * np.float32(2 ** depth - 1))
        plane.update(rows)
    for tag in ("colorspace", "color_range", "color_primaries", "color_trc"):
        setattr(picture, tag, getattr(like, tag))
    return Decoded(picture, source.rgb_format)
