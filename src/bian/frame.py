"""The unit that flows through the pipeline: one picture with its exact timing.

An image is a video of one frame. Pixels are RGB, height × width × 3:
``uint8`` (0..255) or ``uint16`` (0..65535) as decoded, ``float32`` (0..1) once a stage has
worked on them. Stages read :meth:`Frame.rgb` and return float32; the writer quantises once.

A decoded video frame keeps its decoded picture (``source``) and becomes RGB only when something reads
``image``: a frame no stage changes goes to the encoder as decoded, without a YUV → RGB → YUV round
trip that costs time and rounds every pixel twice.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np


class _Pixels:
    """``Frame.image``: converted from ``Frame.source`` on first read; setting new pixels drops the source."""

    def __get__(self, frame, owner=None):
        if frame is None:
            raise AttributeError("image")  # tells dataclass the field has no default
        pixels = frame.__dict__["_image"]
        if pixels is None:
            pixels = frame.__dict__["_image"] = frame.source.pixels()
        return pixels

    def __set__(self, frame, pixels) -> None:
        frame.__dict__["_image"] = pixels
        frame.__dict__["source"] = None


@dataclass
class Frame:
    image: np.ndarray = _Pixels()
    """H×W×3 RGB; uint8, uint16 or float32 in [0, 1]. None with a ``source``: converted when read."""
    time: Fraction
    """Presentation time in seconds, exact (from the stream's time base, never from an assumed rate)."""
    duration: Fraction
    """How long the frame is shown, in seconds."""
    index: int
    """Index of the source frame this frame comes from (an inserted frame carries its predecessor's)."""
    alpha: np.ndarray | None = None
    """Optional H×W transparency in the same dtype convention as ``image``."""
    meta: dict = field(default_factory=dict)
    """Per-frame notes stages leave for later stages (e.g. ``"cut": True`` on the first frame of a shot)."""
    source: object = field(default=None, repr=False, compare=False)
    """The decoded picture ``image`` is an exact conversion of (:class:`bian.media.video.Decoded`), or None."""

    @property
    def height(self) -> int:
        return self.source.height if self.__dict__["_image"] is None else self.image.shape[0]

    @property
    def width(self) -> int:
        return self.source.width if self.__dict__["_image"] is None else self.image.shape[1]

    def rgb(self) -> np.ndarray:
        """The pixels as float32 RGB in [0, 1] (a view when already float32)."""
        return to_float(self.image)

    def alpha_float(self) -> np.ndarray | None:
        return None if self.alpha is None else to_float(self.alpha)

    def replace(self, **changes) -> "Frame":
        """A copy with some fields changed; ``meta`` is copied so stages never share it. New pixels drop
        the decoded source; other changes keep it (and leave the pixels unconverted)."""
        changes.setdefault("meta", dict(self.meta))
        if "image" in changes:
            changes.setdefault("source", None)
        else:
            changes["image"] = self.__dict__["_image"]
        return dataclasses.replace(self, **changes)


def to_float(pixels: np.ndarray) -> np.ndarray:
    """uint8/uint16/float → float32 in [0, 1]."""
    if pixels.dtype == np.uint8:
        return pixels.astype(np.float32) * np.float32(1 / 255)
    if pixels.dtype == np.uint16:
        return pixels.astype(np.float32) * np.float32(1 / 65535)
    return pixels.astype(np.float32, copy=False)


def quantise(pixels: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """Pixels of any supported dtype → ``dtype`` (uint8 or uint16), rounding once."""
    dtype = np.dtype(dtype)
    if pixels.dtype == dtype:
        return pixels
    if pixels.dtype == np.uint8 and dtype == np.uint16:
        return pixels.astype(np.uint16) * 257
    if pixels.dtype == np.uint16 and dtype == np.uint8:
        return ((pixels.astype(np.uint32) + 128) // 257).astype(np.uint8)
    peak = 255.0 if dtype == np.uint8 else 65535.0
    out = np.clip(pixels, 0.0, 1.0) * np.float32(peak) + np.float32(0.5)
    return out.astype(dtype)
