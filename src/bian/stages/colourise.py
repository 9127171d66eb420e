"""Colourise stage (:mod:`bian.colour`): black-and-white pictures and film into colour.

Where the colour comes from, in order of precedence (several may combine):

* ``--hints FILE``: colour points/strokes (JSON) or a painted sparse colour image, propagated along
  luminance edges; near a hint the hint wins over every other source;
* ``--reference IMG ...``: colour references matched densely on luminance and texture; with several,
  each shot takes those that fit it best, or ``IMG@FIRST-LAST`` pins one to source frames;
* otherwise (``--colorize`` alone) DDColor when its weights are found, else an offline toning fallback
  (a muted tint by luminance, skin on faces). The stage's summary (``path``) says which path ran.

Every path predicts chroma only, at a working size, and puts it under the frame's full-resolution
luminance (in a video, where a highlight's colour does not fit in sRGB, its lightness gives up at most
3 L units, smoothly, rather than its colour shrinking with every flicker of the film's brightness; a
still picture, radius 0 or a one-frame shot keeps its lightness exactly). In a video the chroma of
each frame is averaged with that of its ±radius neighbours along optical flow, within the shot, so
colours hold still instead of flickering.
"""
from __future__ import annotations

import re
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..errors import InputError, ModelError, OptionError
from ..pipeline.options import Option, boolean, int_range, text
from .base import Stage, Window

if TYPE_CHECKING:
    from ..media.video import VideoInfo

WORK_SIZE = 256
"""Long side, in pixels, at which chroma is estimated, matched, propagated and fused."""
SCORE_SIZE = 64
"""Long side at which references are compared with a frame to choose them."""
KEEP_RATIO = 1.25
"""References scoring within this factor of the best one are used together."""
HINT_REACH = 20.0
"""Where hints and another source meet, a hint's share is exp(−d / HINT_REACH), d being the geodesic
distance to it (luminance steps crossed plus 0.05 per pixel at working size)."""
HINT_WEIGHT = 4.0
"""A frame with its own hints counts this much more than other frames when chroma is averaged over time."""


def _saturation(value) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise OptionError(f"--saturation needs a number, got {value!r}") from None
    if not 0 <= number <= 4:
        raise OptionError(f"--saturation must be between 0 and 4, got {value}")
    return number


def _render_size(value) -> int:
    from ..colour.auto import check_render_size

    return check_render_size(int_range("render_size", 64, 2048)(value))


@dataclass(frozen=True)
class ReferenceSpec:
    path: Path
    first: int | None = None
    last: int | None = None
    """Source frames the reference is pinned to (inclusive); None: chosen per shot automatically."""

    def covers(self, index: int) -> bool:
        return (self.first is None or index >= self.first) and (self.last is None or index <= self.last)

    @property
    def pinned(self) -> bool:
        return self.first is not None or self.last is not None


def _reference(value) -> ReferenceSpec:
    text_value = str(value)
    match = re.fullmatch(r"(.+)@(\d*)-(\d*)", text_value)
    if match and (match.group(2) or match.group(3)):
        first = int(match.group(2)) if match.group(2) else None
        last = int(match.group(3)) if match.group(3) else None
        if first is not None and last is not None and last < first:
            raise OptionError(f"--reference frame range {first}-{last} is empty", text_value)
        return ReferenceSpec(Path(match.group(1)), first, last)
    return ReferenceSpec(Path(text_value))


OPTIONS = [
    Option("colorize", boolean, False, "colour black-and-white pictures: from --reference images, from "
           "--hints, or automatically (DDColor when its weights are installed, else an offline "
           "toning fallback); luminance is kept (in video, highlights may darken by up to 3 L units "
           "to hold their colour), only colour is added", is_flag=True),
    Option("reference", _reference, None, "colour reference image(s) (implies --colorize); each shot uses "
           "those that fit it best; IMG@FIRST-LAST pins one to source frames FIRST..LAST", metavar="IMG",
           many=True),
    Option("hints", text, None, "colour hints (implies --colorize): a JSON list of points/strokes "
           "({\"x\",\"y\",\"colour\"} or {\"points\",\"colour\",\"width\"}, optional \"frame\") or a "
           "picture with colour painted on it", metavar="FILE"),
    Option("colour_model", text, "auto", "automatic colouriser: auto (first DDColor checkpoint found), a "
           "catalogue name (ddcolor-modelscope, ddcolor-artistic, ddcolor-paper, ddcolor-paper-tiny) or a "
           ".pth file", metavar="NAME|PATH"),
    Option("saturation", _saturation, 1.0, "scale the added colour (0 grey .. 4; default 1)", metavar="S"),
    Option("render_size", _render_size, 512, "side of the square picture the colour network sees (multiple "
           "of 32; default 512; larger is slower and finer)", metavar="PX"),
    Option("colour_radius", int_range("colour_radius", 0, 15), 12, "frames on each side whose colour is "
           "carried along motion to steady the current one (0: each frame alone; default 12)", metavar="N"),
]


def wanted(opts: dict) -> bool:
    """Whether the options ask for colour (``--colorize``, or references or hints, which imply it)."""
    return bool(opts.get("colorize") or opts.get("reference") or opts.get("hints"))


def build(opts: dict, source) -> list:
    refs, hints = opts.get("reference") or [], opts.get("hints")
    if not wanted(opts) or source.own_colour:
        return []
    return [Colourise(references=refs, hints=hints, model=opts.get("colour_model", "auto"),
                      saturation=opts.get("saturation", 1.0), render_size=opts.get("render_size", 512),
                      radius=opts.get("colour_radius", 12) if source.kind == "video" else 0,
                      device=opts.get("device", "auto"), precision=opts.get("precision", "auto"),
                      video=getattr(source, "video", None))]


class _PairCache:
    """Values computed from two live image arrays (flows between consecutive frames), dropped with them."""

    def __init__(self):
        self._store = {}

    def get(self, a: np.ndarray, b: np.ndarray, compute):
        key = (id(a), id(b))
        hit = self._store.get(key)
        if hit is not None and hit[0]() is a and hit[1]() is b:
            return hit[2]
        value = compute()
        if len(self._store) >= 256:
            self._store = {k: v for k, v in self._store.items() if v[0]() is not None and v[1]() is not None}
        self._store[key] = (weakref.ref(a), weakref.ref(b), value)
        return value

    def __getstate__(self):
        return {"_store": {}}


class Colourise(Stage):
    name = "colourise"
    makes_colour = True

    def __init__(self, references=(), hints: str | Path | None = None, model: str = "auto",
                 saturation: float = 1.0, render_size: int = 512, radius: int = 12, device: str = "auto",
                 precision: str = "auto", video: VideoInfo | None = None):
        from ..colour import auto, hints as hint_io, reference
        from ..colour.lab import rgb_to_lab
        from ..temporal.framecache import PerFrame
        from ..temporal.shots import thumbnail

        if not 0 <= radius <= 15:
            raise OptionError(f"colour radius must be 0..15 frames, got {radius!r}")
        self.saturation = _saturation(saturation)
        self.render_size = auto.check_render_size(int(render_size))
        self.radius = int(radius)
        self.before = self.after = self.radius
        specs = [r if isinstance(r, ReferenceSpec) else _reference(r) for r in references]
        self.specs = specs
        labs = [rgb_to_lab(_read_reference(s.path)) for s in specs]
        self.hints = hint_io.read_hints(hints) if hints else None
        self.hints_path = str(hints) if hints else None
        self.model_spec, self.model_path, self.device, self.precision = model, None, device, precision
        self.note = None
        self.fallback = False
        """True when the automatic path found no DDColor weights and uses the example library."""
        if not labs and self.hints is None:
            try:
                self.model_path = auto.find_weights(model)
            except ModelError as missing:
                if model != "auto":  # a model named outright is wanted, not a stand-in
                    raise
                self.note = f"{missing.line()}; used the offline toning fallback instead"
                self.fallback = True
                self._tones = auto.toning_table(auto.example_library())
                self.specs = []
        self._pinned = [s.pinned for s in self.specs] + [False] * (len(labs) - len(self.specs))
        self._keyframe = [None] * len(labs)
        """Per reference: the source frame it was made from (a keyframe coloured by hints), else None."""
        if self.hints is not None and video is not None and self.radius:
            for index, lab in _keyframe_references(video, self.hints):
                labs.append(lab)
                self._pinned.append(False)
                self._keyframe.append(index)
        self._refs = [reference.prepare_reference(lab, WORK_SIZE) for lab in labs]
        self._score_refs = [reference.prepare_reference(lab, SCORE_SIZE) for lab in labs]
        self._model = None
        self._thumb = PerFrame(thumbnail)
        self._luma = PerFrame(_lumas)
        self._scores = PerFrame(self._score_frame)
        self._memo = PerFrame(_no_results)
        self._flows = _PairCache()

    # -- what ran ----------------------------------------------------------------------------------
    @property
    def path(self) -> str:
        parts = []
        if self.hints is not None:
            parts.append(f"hints ({self.hints_path})")
        if self.specs:
            parts.append(f"reference ({len(self.specs)} image{'s' if len(self.specs) > 1 else ''})")
        elif self.model_path is not None:
            parts.append(f"automatic: DDColor ({self.model_path})")
        elif self.fallback:
            parts.append("automatic: offline toning fallback (DDColor weights not found)")
        return " + ".join(parts)

    def describe(self) -> dict:
        out = {"path": self.path, "references": [str(s.path) + _range_text(s) for s in self.specs],
               "saturation": self.saturation, "radius": self.radius, "work_size": WORK_SIZE}
        if self.model_path is not None:
            out["render_size"] = self.render_size
        if self.note:
            out["note"] = self.note
        return out

    # -- per frame ---------------------------------------------------------------------------------
    @property
    def model(self):
        if self._model is None:
            from ..colour.auto import load
            from ..models.device import choose_device, choose_dtype

            device = choose_device(self.device)
            self._model = load(self.model_path).to(device=device, dtype=choose_dtype(device, self.precision))
        return self._model

    def _score_frame(self, image: np.ndarray) -> np.ndarray:
        from ..colour import reference
        from ..colour.propagate import working_shape

        L = self._luma(image)[0]
        return reference.scores(_shrink(L, working_shape(L.shape, SCORE_SIZE)), self._score_refs)

    def _choose(self, frames, center: int) -> tuple[int, ...]:
        """Indices of the references for the current frame: those pinned to it, else those of the
        unpinned ones and of the nearest hint keyframes before and after it that fit its shot (scores
        averaged over the shot's frames in the window)."""
        index = frames[center].index
        pinned = tuple(k for k, s in enumerate(self.specs) if s.pinned and s.covers(index))
        if pinned:
            return pinned
        keyed = [(abs(self._keyframe[k] - index), self._keyframe[k] > index, k)
                 for k in range(len(self._refs)) if self._keyframe[k] is not None]
        nearest = [min((d, k) for d, after, k in keyed if after == side)[1]
                   for side in (False, True) if any(after == side for _, after, _ in keyed)]
        pool = [k for k in range(len(self._refs)) if not self._pinned[k] and self._keyframe[k] is None] + nearest
        pool = pool or list(range(len(self._refs)))
        if len(pool) <= 1:
            return tuple(pool)
        mean = np.mean([self._scores(f.image) for f in frames], axis=0)[pool]
        return tuple(k for k, s in zip(pool, mean) if s <= KEEP_RATIO * mean.min())

    def _estimate(self, frame, chosen: tuple[int, ...]) -> tuple[np.ndarray, float]:
        """Chroma of one frame at working size from its own sources, and its weight over time."""
        memo = self._memo(frame.image)
        if chosen not in memo:
            memo[chosen] = self._compute(frame, chosen)
        return memo[chosen]

    def _compute(self, frame, chosen):
        """Chroma fitted into the gamut at this frame's own luminance, so the average over time is
        (nearly) in gamut too and the final merge need not cut it back frame by frame, which would make
        colours pulse with the film's brightness flicker."""
        from ..colour import auto, hints as hint_io, propagate, reference
        from ..colour.lab import fit_gamut

        L_full, L = self._luma(frame.image)
        base, weight = None, 0.0
        if chosen:
            ab, confidence = reference.transfer(L, [self._refs[k] for k in chosen])
            base, weight = propagate.solve(L, ab, confidence * 100.0, refine=True), 1.0
        elif self.model_path is not None:
            base, weight = auto.predict(self.model, L_full, self.render_size, L.shape), 1.0
        elif self.fallback:
            base, weight = auto.fallback_chroma(L, self._tones), 1.0
        if self.hints is not None and self._has_hints(frame.index):
            rgb, mask = self.hints.rasterise(self._hint_frame(frame.index), L.shape, L_full.shape)
            ab, distance = hint_io.blend(L, rgb, mask)
            if base is not None:
                near = np.exp(-distance / HINT_REACH)[..., None]
                ab = near * ab + (1 - near) * base
            return fit_gamut(L, ab), HINT_WEIGHT
        if base is None:
            return np.zeros(L.shape + (2,), np.float32), 0.0
        return fit_gamut(L, base), weight

    def _hint_frame(self, index: int) -> int:
        # a still picture's hints may be written for frame 0 whatever the picture's index
        return index if self.radius else self.hints.frames()[0]

    def _has_hints(self, index: int) -> bool:
        return not self.radius or index in self.hints.frames()

    def _step(self, frames):
        from ..colour.flow import flow

        def step(a: int, b: int) -> np.ndarray:
            fa, fb = frames[a].image, frames[b].image
            return self._flows.get(fa, fb, lambda: flow(self._luma(fa)[1], self._luma(fb)[1]))
        return step

    def process(self, window: Window) -> list:
        from ..colour import propagate, temporal
        from ..colour.lab import HIGHLIGHT_ROOM, merge
        from ..temporal.shots import shot_span

        start, stop = shot_span([self._thumb(f.image) for f in window.frames], window.center)
        frames = window.frames[start:stop]
        center = window.center - start
        chosen = self._choose(frames, center)
        estimates = [self._estimate(f, chosen) for f in frames]
        if len(frames) > 1:
            ab = temporal.fuse([self._luma(f.image)[1] for f in frames], [e[0] for e in estimates],
                               [e[1] for e in estimates], center, self._step(frames), sigma=max(1.0, self.radius / 1.5))
        else:
            ab = estimates[0][0]
        L_full = self._luma(window.current.image)[0]
        room = HIGHLIGHT_ROOM if len(frames) > 1 else 0.0  # a still keeps its lightness exactly
        rgb = merge(L_full, propagate.upsample(L_full, ab), self.saturation, room)
        return [window.current.replace(image=rgb)]

    def close(self) -> None:
        self._model = None


def _keyframe_references(video: VideoInfo, hints) -> list[tuple[int, np.ndarray]]:
    """Each video frame that carries hints, coloured by them (Lab at working size): it then serves as
    a reference for the frames of its shot that are too far away for the hints to reach along flow."""
    from ..colour import hints as hint_io
    from ..colour.lab import merge, rgb_to_lab
    from ..media.video import VideoReader

    reader = VideoReader(video)
    out = []
    for index in hints.frames():
        for frame in reader.frames(index, index + 1):
            L_full, L = _lumas(frame.image)
            rgb, mask = hints.rasterise(index, L.shape, L_full.shape)
            ab, _ = hint_io.blend(L, rgb, mask)
            out.append((index, rgb_to_lab(merge(L, ab))))
    return out


def _no_results(image: np.ndarray) -> dict:
    """A frame's store of estimates, one per choice of references."""
    return {}


def _lumas(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Full-resolution luminance and its working-size copy (both float32, [0, 100])."""
    from ..colour.lab import luminance
    from ..colour.propagate import working_shape
    from ..frame import to_float

    L = luminance(to_float(image))
    return L, _shrink(L, working_shape(L.shape, WORK_SIZE))


def _shrink(L: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    import cv2

    return cv2.resize(L, shape[::-1], interpolation=cv2.INTER_AREA)


def _range_text(spec: ReferenceSpec) -> str:
    if not spec.pinned:
        return ""
    return f"@{'' if spec.first is None else spec.first}-{'' if spec.last is None else spec.last}"


def _read_reference(path: Path) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    if not path.is_file():
        raise InputError("reference image not found", path, "check the path")
    try:
        with Image.open(path) as img:
            rgb = np.asarray(img.convert("RGB"), np.float32) / 255
    except (UnidentifiedImageError, OSError) as exc:
        raise InputError(f"reference is not a readable image ({exc})", path, "give a PNG, JPEG or TIFF") from None
    if (rgb.max(axis=2) - rgb.min(axis=2)).max() < 2 / 255:
        raise InputError("reference image has no colour", path, "give a colour picture of a similar scene")
    return rgb
