"""Audio at another speed with its pitch kept (FFmpeg's ``atempo`` through PyAV's filter graph), for runs
that change how fast the picture plays (silent-film speed, slow motion).

``atempo`` time-stretches by overlap-add of matched waveform blocks, which keeps the pitch. Beyond a
factor of 2 per pass it starts skipping whole blocks, so larger changes are made as a chain of passes
of at most 2 each (0.25 = 0.5 × 0.5). Each pass also puts the sound a little early (about a quarter of
its 2048-sample block, more after a slowing pass) and ends a little short; the chain's lead is measured
once on tone bursts and undone with silence at the start, and the end is cut or padded so the sound
lasts exactly as long as the retimed picture.
"""
from __future__ import annotations

import functools
from fractions import Fraction

import av
import numpy as np

MAX_STEP = 2.0
"""Largest tempo change made by one ``atempo`` pass (and 1 / MAX_STEP the smallest)."""
HOLD = 16384
"""Samples kept back until the end is known (the chain overshoots the exact length by less)."""


def tempo_steps(speed: Fraction) -> list[float]:
    """Factors, each within [1 / MAX_STEP, MAX_STEP], whose product is ``speed``."""
    steps, rest = [], float(speed)
    while rest > MAX_STEP:
        steps.append(MAX_STEP)
        rest /= MAX_STEP
    while rest < 1 / MAX_STEP:
        steps.append(1 / MAX_STEP)
        rest *= MAX_STEP
    return steps + [rest] if rest != 1 else steps


def _graph(steps: list[float], **source):
    graph = av.filter.Graph()
    nodes = [graph.add_abuffer(**source)]
    nodes += [graph.add("atempo", f"{step!r}") for step in steps]
    nodes.append(graph.add("abuffersink"))
    graph.link_nodes(*nodes).configure()
    return graph


def _pull(graph) -> list:
    out = []
    while True:
        try:
            out.append(graph.pull())
        except (av.BlockingIOError, av.EOFError):
            return out


@functools.lru_cache(maxsize=16)
def lead_seconds(rate: int, steps: tuple[float, ...]) -> float:
    """How early the chain of ``steps`` puts sound, in output seconds: the shift of the energy centres of
    tone bursts sent through it."""
    speed = float(np.prod(steps))
    spread = max(1.0, speed)  # bursts that stay apart and about 20 ms long after speeding up
    centres = np.array([0.3, 0.6, 0.9]) * spread
    t = np.arange(int(1.2 * spread * rate)) / rate
    burst = sum(np.exp(-(((t - c) / (0.02 * spread)) ** 2)) for c in centres)
    signal = (0.5 * burst * np.sin(2 * np.pi * 1000 * t)).astype(np.float32)
    graph = _graph(list(steps), sample_rate=rate, format="flt", layout="mono", time_base=Fraction(1, rate))
    frame = av.AudioFrame.from_ndarray(signal[None], format="flt", layout="mono")
    frame.sample_rate, frame.pts, frame.time_base = rate, 0, Fraction(1, rate)
    graph.push(frame)
    out = _pull(graph)
    graph.push(None)
    energy = np.concatenate([f.to_ndarray()[0] for f in out + _pull(graph)]) ** 2
    shifts = []
    for c in centres / speed:
        lo, hi = int((c - 0.12) * rate), int((c + 0.12) * rate)
        part = energy[lo:hi]
        shifts.append(c - (np.arange(lo, lo + len(part)) * part).sum() / part.sum() / rate)
    return max(0.0, float(np.median(shifts)))


class Tempo:
    """Decoded frames of an audio ``stream`` in, the same sound ``speed`` times as fast out, timed from
    the first input frame's time divided by ``speed`` and lasting exactly the input's length (as the
    stream states it, else as decoded) divided by ``speed``, to the sample. Call with a frame, then
    once with None to flush; each call returns the frames ready."""

    def __init__(self, stream, speed: Fraction):
        self.speed = Fraction(speed)
        self.rate = stream.codec_context.sample_rate
        steps = tempo_steps(self.speed)
        self.graph = _graph(steps, template=stream)
        self.lead = round(lead_seconds(self.rate, tuple(steps)) * self.rate)
        self.start: int | None = None
        self.samples_in = self.samples_out = 0
        # a lossy codec's last frame is padded with silence past the stream's stated end
        self.stated = round(stream.duration * stream.time_base * self.rate) if stream.duration else None
        self.held: list = []
        """Frames made but not given out yet."""

    def __call__(self, frame) -> list:
        if frame is not None:
            if self.start is None:
                start = frame.pts * frame.time_base if frame.pts is not None else 0
                self.start = round(start / self.speed * self.rate)
            self.samples_in += frame.samples
        self.graph.push(frame)
        made = _pull(self.graph)
        if made and self.lead and not self.held and not self.samples_out:
            self.held.append(_resized(made[0], self.lead, silent=True))
        self.held += made
        if frame is None:
            length = min(self.samples_in, self.stated or self.samples_in)
            out, self.held = _fitted(self.held, round(length / self.speed) - self.samples_out), []
        else:  # the end may have to be cut: keep the last HOLD samples back until the flush
            out = []
            while self.held and sum(f.samples for f in self.held) - self.held[0].samples >= HOLD:
                out.append(self.held.pop(0))
        for stretched in out:
            stretched.pts, stretched.time_base = self.start + self.samples_out, Fraction(1, self.rate)
            self.samples_out += stretched.samples
        return out


def _fitted(frames: list, total: int) -> list:
    """``frames`` cut, or followed by silence, to ``total`` samples in all."""
    excess = sum(f.samples for f in frames) - total
    while frames and excess > 0:
        frame = frames.pop()
        if frame.samples > excess:
            frames.append(_resized(frame, frame.samples - excess))
        excess -= min(excess, frame.samples)
    if excess < 0 and frames:
        frames.append(_resized(frames[-1], -excess, silent=True))
    return frames


def _resized(frame, samples: int, silent: bool = False):
    """The first ``samples`` samples of ``frame``, or that many samples of silence in its format."""
    data = frame.to_ndarray()
    width = samples if frame.format.is_planar else samples * frame.layout.nb_channels
    if silent:
        data = np.full((data.shape[0], width), 128 if data.dtype == np.uint8 else 0, data.dtype)
    else:
        data = np.ascontiguousarray(data[:, :width])
    out = av.AudioFrame.from_ndarray(data, format=frame.format.name, layout=frame.layout.name)
    out.sample_rate = frame.sample_rate
    return out
