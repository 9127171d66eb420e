"""The stage contract.

A stage is a small object between the decoder and the encoder. It declares how many frames
before and after the current one it needs (``before``/``after``); the runner hands it a
:class:`Window` per input frame and the stage returns the frames it produces for that input
frame (usually one; a frame-rate stage may return several, a de-duplicating one none).

Determinism rule that makes resume and scale-out exact: the output for frame *i* may depend only
on the frames in its window. No state may carry over from earlier windows. At the ends of the
stream (or of a resumed segment's context) the window is shorter; ``Window.center`` says where
the current frame is.
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from ..frame import Frame


@dataclass
class Window:
    frames: list[Frame]
    """Consecutive frames, at most ``before`` + 1 + ``after`` of them."""
    center: int
    """Position of the current frame in ``frames``."""

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
