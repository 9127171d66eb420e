"""The stage contract.

A stage is a small object between the decoder and the encoder. It declares how many frames
before and after the current one it needs (``before``/``after``); the runner hands it a
:class:`Window` per input frame and the stage returns the frames it produces for that input
frame (usually one; a frame-rate stage may return several, a de-duplicating one none).

Determinism rule that makes resume and scale-out exact: the output for frame *i* may depend only
on the frames in its window. No state may carry over from earlier windows. At the ends of the
stream (or of a resumed segment's context) the window is shorter; ``Window.center`` says where
the current frame is.

Memory: the runner holds the frames of each stage's window, so a stage with a wide window would keep
hundreds of megabytes of pictures (a float32 1080p frame is 25 MB). A stage
whose older neighbours contribute only small per-frame measurements (a thumbnail, cell statistics, a
luma for tracking) says so: :meth:`Stage.summarise` makes them, once per frame as it enters the window,
and ``pixels_before`` says how many past frames the stage still reads the pixels of. The runner hands
older frames as their summary alone (``None`` in ``Window.frames``) and lets their pictures go. Future
frames always come whole: they are still to be processed. A summary must be a pure function of its
frame, so this changes no output and keeps the determinism rule.
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from ..frame import Frame


@dataclass
class Window:
    frames: list[Frame | None]
    """Consecutive frames, at most ``before`` + 1 + ``after`` of them; None for a past frame beyond the
    stage's ``pixels_before`` (its summary stands for it)."""
    center: int
    """Position of the current frame in ``frames``."""
    summaries: list | None = None
    """The stage's :meth:`Stage.summarise` of each frame, as the runner made them; None where the caller
    (a test calling ``process`` directly) made none: :meth:`Stage.summaries` then makes them."""

    @property
    def current(self) -> Frame:
        return self.frames[self.center]

    @property
    def past(self) -> list[Frame]:
        return self.frames[: self.center]

    @property
    def future(self) -> list[Frame]:
        return self.frames[self.center + 1 :]


class Stage:
    """Base class. Subclasses set ``name``, optionally ``before``/``after``, and implement ``process``."""

    name: str = "stage"
    before: int = 0
    after: int = 0
    makes_colour: bool = False
    """True when the stage turns grey pictures into colour ones (grey images are then written in colour)."""
    changes_timing: bool = False
    """True when the stage adds, drops or retimes frames (it must then come last in a plan)."""
    speed: Fraction = Fraction(1)
    """How fast the stage plays the source (output duration = input duration / speed); audio, subtitles
    and chapters are retimed to follow."""
    pixels_before: int | None = None
    """How many of the ``before`` past frames the stage reads the pixels of (None: all of them); older
    ones come as their summary only."""

    def summarise(self, frame: Frame) -> object:
        """What the stage needs of ``frame`` as a neighbour beyond ``pixels_before`` (a thumbnail, statistics,
        analysis planes): a pure function of the frame, made once per frame by the runner."""
        return None

    def summaries(self, window: Window) -> list:
        """The summary of every frame in ``window``."""
        if window.summaries is None:
            window.summaries = [self.summarise(f) for f in window.frames]
        return window.summaries

    def describe(self) -> dict:
        """The stage's parameters, for the plan printout and the run summary."""
        return {}

    def output_size(self, width: int, height: int) -> tuple[int, int]:
        """Size of the frames this stage emits for input frames of ``width`` × ``height``."""
        return width, height

    def output_timing(self, time_base: Fraction, rate: Fraction | None) -> tuple[Fraction, Fraction | None]:
        """Time base that represents this stage's output timestamps exactly, and the nominal output rate.
        Only stages with ``changes_timing`` override it."""
        return time_base, rate

    def process(self, window: Window) -> list[Frame]:
        raise NotImplementedError

    def close(self) -> None:
        """Release models and buffers."""


class FrameStage(Stage):
    """A stage that looks at one frame at a time."""

    def process(self, window: Window) -> list[Frame]:
        return [self.process_frame(window.current)]

    def process_frame(self, frame: Frame) -> Frame:
        raise NotImplementedError
