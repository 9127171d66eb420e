"""Frame-rate stage on real old film: no output frame mixes two shots (scene-cut guard), and held frames
are replaced by pictures made at their own time (no duplicates left, same frame count and duration)."""
from fractions import Fraction

import cv2
import numpy as np
import pytest

from bian.analysis import duplicates
from bian.frame import Frame
from bian.pipeline.plan import Source
from bian.pipeline.runner import apply_stage
from bian.stages import framerate

SIZE = (176, 128)


def film(shared, name: str, first: int, count: int) -> list[np.ndarray]:
    """``count`` frames of a shared clip from ``first``, as float RGB at SIZE."""
    av = pytest.importorskip("av")
    out = []
    with av.open(str(shared / "data/film" / name)) as container:
        for i, frame in enumerate(container.decode(video=0)):
            if i >= first:
                rgb = frame.to_ndarray(format="rgb24").astype(np.float32) / 255
                out.append(cv2.resize(rgb, SIZE, interpolation=cv2.INTER_AREA))
            if len(out) == count:
                return out
    return out


def frames_at(rate: Fraction, pictures) -> list[Frame]:
    return [Frame(image=p, time=k / rate, duration=1 / rate, index=k) for k, p in enumerate(pictures)]


def stage(rate: Fraction, **opts):
    source = Source("video", SIZE[0], SIZE[1], 8, False, rate, 0)
    full = {"fps": None, "multi": None, "slowmo": None, "source_fps": None, "interpolator": "flow",
            "at_cuts": "repeat", "dedup": "auto", **opts}
    return framerate.build(full, source)[0]


def mad(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a - b).mean())


@pytest.mark.parametrize("at_cuts,fps", [("repeat", 24), ("repeat", 48), ("crossfade", 24)])
def test_no_frame_mixes_two_shots(shared, at_cuts, fps):
    shot_a = film(shared, "sample_bw.mp4", 310, 8)
    shot_b = film(shared, "remaster_clip.mp4", 100, 8)
    rate = Fraction(16)
    frames = frames_at(rate, shot_a + shot_b)
    out = list(apply_stage(stage(rate, fps=Fraction(fps), at_cuts=at_cuts), frames))
    assert [f.time for f in out] == [Fraction(k, fps) for k in range(16 * fps // 16)]
    apart = mad(shot_a[-1], shot_b[0])
    # the cut lies somewhere in [7/16, 8/16); repeat shows the frame nearer in time: A before the middle
    middle = Fraction(15, 32)
    inside = [k for k, f in enumerate(out) if 7 / rate < f.time < 8 / rate]
    assert inside  # 24 fps: one frame at u = 1/3; 48 fps: u = 1/3 and 2/3
    for k, f in enumerate(out):
        near_a = min(mad(f.image, p) for p in shot_a)
        near_b = min(mad(f.image, p) for p in shot_b)
        if at_cuts == "crossfade" and k in inside:
            # the frames inside the cut interval are the blend the user asked for, at their own time
            u = np.float32((f.time - 7 / rate) * rate)
            np.testing.assert_allclose(f.image, shot_a[-1] * (1 - u) + shot_b[0] * u, atol=1e-6)
            continue
        # within a shot, an interpolated frame stays close to its own shot's frames and far from the other's
        own, other = (near_a, near_b) if f.time <= middle else (near_b, near_a)
        assert own < 0.15 * apart, (k, own, apart)
        assert other > 0.6 * apart, (k, other, apart)
        if at_cuts == "repeat" and k in inside:  # untouched copies of the nearer frame
            np.testing.assert_array_equal(f.image, shot_a[-1] if f.time <= middle else shot_b[0])
    # the cut is noted on the first frame of shot B: past the middle (repeat), at 8/16 (crossfade)
    first_b = next(k for k, f in enumerate(out) if (f.time > middle if at_cuts == "repeat" else f.time >= 8 / rate))
    assert out[first_b].meta.get("cut") and not any(f.meta.get("cut") for f in out[:first_b] + out[first_b + 1:])


def test_held_frames_replaced_not_dropped(shared):
    truth = film(shared, "sample_bw.mp4", 300, 16)
    rng = np.random.default_rng(0)
    held = [4, 9, 10]  # one hold of one copy, one of two copies
    pictures = [p.copy() for p in truth]
    for k in held:  # a repeated picture, with the small coding noise a transfer adds
        pictures[k] = np.clip(pictures[k - 1] + rng.normal(0, 0.5 / 255, pictures[k].shape), 0, 1).astype(np.float32)
    rate = Fraction(24)
    frames = frames_at(rate, pictures)
    out = list(apply_stage(stage(rate, dedup="on"), frames))
    # same count, times and durations
    assert [(f.time, f.duration, f.index) for f in out] == [(f.time, f.duration, f.index) for f in frames]
    # no duplicates left: no consecutive pair is judged held any more
    thumbs = [duplicates.thumbnail(f.image) for f in out]
    diffs = [duplicates.difference(a, b) for a, b in zip(thumbs, thumbs[1:])]
    assert not any(duplicates.held_pairs(diffs, [False] * len(diffs)))
    assert min(diffs) > 2 * max(duplicates.difference(duplicates.thumbnail(pictures[k - 1]),
                                                       duplicates.thumbnail(pictures[k])) for k in held)
    # each held copy became a picture of its own time: much closer to the frame the hold had hidden
    for k in held:
        assert out[k].meta.get("interpolated")
        assert mad(out[k].image, truth[k]) < 0.8 * mad(pictures[k], truth[k]), k
    # every other frame passes untouched
    for k, f in enumerate(out):
        if k not in held:
            np.testing.assert_array_equal(f.image, pictures[k])


def test_holds_replaced_while_converting(shared):
    """16 fps film transferred at 24 fps by repeating every other frame (2:1:2:1 …), converted back to a
    smooth 24 fps: the output has one picture per output time and no repeats."""
    truth = film(shared, "sample_bw.mp4", 300, 12)
    pictures = [truth[k] for k in range(12) for _ in range(2 if k % 2 == 0 else 1)][:18]
    rate = Fraction(24)
    out = list(apply_stage(stage(rate, fps=Fraction(24)), frames_at(rate, pictures)))
    assert len(out) == len(pictures)
    copies = [k for k in range(1, len(pictures)) if pictures[k] is pictures[k - 1]]
    assert [k for k, f in enumerate(out) if f.meta.get("interpolated")] == copies
    thumbs = [duplicates.thumbnail(f.image) for f in out]
    diffs = [duplicates.difference(a, b) for a, b in zip(thumbs, thumbs[1:])]
    assert not any(duplicates.held_pairs(diffs, [False] * len(diffs)))
    assert min(diffs) > 2 * duplicates.IDENTICAL  # the copies differed by 0
