"""The runner's memory contract (``Stage.pixels_before`` and ``Stage.summarise``): it holds only the
pictures a stage reads, and the temporal stages give exactly what full windows give."""
import weakref
from fractions import Fraction

import numpy as np

from bian.frame import Frame
from bian.pipeline.runner import apply_stage, chain
from bian.stages.base import Stage, Window
from bian.stages.deflicker import Deflicker
from bian.stages.denoise import Denoise
from bian.stages.repair import Dust
from bian.stages.stabilise import Stabilise
from film_factory import frames_of, grain, scene, shifted


class Probe(Stage):
    """Records, per window, how many input pictures are alive and what the window looked like."""

    name = "probe"

    def __init__(self, before, after, pixels_before, alive, made=None):
        self.before, self.after, self.pixels_before, self.alive = before, after, pixels_before, alive
        self.made = made  # where to register the output pictures' weakrefs
        self.seen = []

    def summarise(self, frame):
        return frame.index, float(frame.image.mean())

    def process(self, window):
        live = sum(ref() is not None for ref in self.alive)
        self.seen.append((live, [f is None for f in window.frames], self.summaries(window), window.center))
        out = window.current.image + 1
        if self.made is not None:
            self.made.append(weakref.ref(out))
        return [window.current.replace(image=out)]


def stream(count, alive, size=(8, 8)):
    """Frames made one at a time (the test holds no picture), each picture's weakref in ``alive``."""
    for i in range(count):
        image = np.full(size + (3,), i, np.float32)
        alive.append(weakref.ref(image))
        yield Frame(image, Fraction(i, 25), Fraction(1, 25), i)


def test_runner_holds_only_the_pictures_a_stage_reads():
    alive = []
    probe = Probe(before=6, after=2, pixels_before=1, alive=alive)
    out = [f.image[0, 0, 0] for f in apply_stage(probe, stream(20, alive))]
    assert out == [i + 1.0 for i in range(20)]
    # at most pixels_before + 1 + after input pictures, however long the window's past
    assert max(live for live, *_ in probe.seen) == 1 + 1 + 2
    for live, dropped, summaries, center in probe.seen:
        assert dropped == [j < center - 1 for j in range(len(dropped))]
        first = summaries[0][0]
        assert [s[0] for s in summaries] == list(range(first, first + len(dropped)))
        assert [s[1] for s in summaries] == [float(i) for i in range(first, first + len(dropped))]


def test_a_stage_reading_all_pictures_keeps_them_all():
    alive = []
    probe = Probe(before=6, after=2, pixels_before=None, alive=alive)
    list(apply_stage(probe, stream(20, alive)))
    assert max(live for live, *_ in probe.seen) == 6 + 1 + 2
    assert not any(any(dropped) for _, dropped, _, _ in probe.seen)


def test_a_chain_of_wide_stages_holds_far_fewer_pictures():
    alive, middle = [], []
    stages = [Probe(10, 3, 0, alive, made=middle), Probe(10, 3, 0, middle)]
    assert len(list(chain(stages, stream(40, alive)))) == 40
    # each stage holds 1 + 3 of its inputs, never the 14 of its whole window
    assert [max(live for live, *_ in s.seen) for s in stages] == [4, 4]


def full_windows(stage, frames):
    """The stage's output with every window whole and summaries made afresh (the path before
    ``pixels_before``: nothing dropped, nothing reused)."""
    out = []
    for i in range(len(frames)):
        lo, hi = max(0, i - stage.before), min(len(frames), i + stage.after + 1)
        out += stage.process(Window(list(frames[lo:hi]), i - lo))
    return np.stack([f.image for f in out])


def film(count=22, cut=12, size=(48, 64)):
    """Grainy, jittering, flickering generated film with a scene cut at ``cut``."""
    rng = np.random.default_rng(3)
    margin = 6
    shots = [scene(*size, seed=1, margin=margin), scene(*size, seed=2, margin=margin)]
    pictures = []
    for i in range(count):
        dx, dy = rng.uniform(-2, 2, 2)
        gain = np.float32(1 + rng.uniform(-0.1, 0.1))
        pictures.append(np.clip(shifted(shots[i >= cut], dx, dy, size, margin) * gain, 0, 1))
    return grain(np.stack(pictures), 0.03)


def test_temporal_stages_give_exactly_the_full_window_output():
    images = film()
    colour = images * np.float32([1.0, 0.9, 0.8])  # a colour film too (denoise's chroma path)
    for stage in (Deflicker(radius=3, hold=0.2, rate=20), Stabilise(radius=4), Denoise(1.0, radius=2),
                  Denoise(1.0, radius=1, keep_grain=True), Dust(0.5)):
        for pictures in (images, colour):
            expected = full_windows(stage, frames_of(pictures))
            got = np.stack([f.image for f in apply_stage(stage, frames_of(pictures))])
            assert got.dtype == np.float32 and np.array_equal(got, expected), stage.name


def test_uint8_frames_through_the_film_chain_match_full_windows():
    images = (film(count=14, cut=8) * 255 + 0.5).astype(np.uint8)
    stages = [Dust(0.5), Denoise(1.0, radius=1), Deflicker(radius=2, hold=0.2, rate=15), Stabilise(radius=3)]
    frames = [Frame(im, Fraction(i, 25), Fraction(1, 25), i) for i, im in enumerate(images)]
    for stage in stages:
        reference = full_windows(stage, frames)
        frames = list(apply_stage(stage, frames))
        assert np.array_equal(np.stack([f.image for f in frames]), reference), stage.name
