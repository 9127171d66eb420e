"""Frame-rate stage timing: exact output counts and timestamps (Fractions) for the usual conversions,
silent-film speed, slow motion and variable-frame-rate input; segmented runs equal whole runs."""
from fractions import Fraction

import cv2
import numpy as np
import pytest

from bian.errors import OptionError
from bian.frame import Frame
from bian.interpolate.timing import Timing
from bian.pipeline.options import rational
from bian.pipeline.plan import Source
from bian.pipeline.runner import apply_stage
from bian.stages import framerate
from bian.stages.framerate import FrameRate


def moving_frames(times, size=(48, 64), seed=0):
    """Frames of a textured square gliding across a textured background, one per time (last one
    shown as long as the interval before it)."""
    rng = np.random.default_rng(seed)
    h, w = size
    background = cv2.GaussianBlur(rng.random((h, w)).astype(np.float32), (0, 0), 2)
    square = rng.random((12, 12)).astype(np.float32)
    frames = []
    for i, t in enumerate(times):
        img = background.copy()
        x = 4 + min(int(round(float(t) * 20)), w - 20)
        img[18:30, x:x + 12] = square
        end = times[i + 1] if i + 1 < len(times) else t + (t - times[i - 1])
        frames.append(Frame(image=np.dstack([img] * 3), time=Fraction(t), duration=Fraction(end - t), index=i))
    return frames


def regular(n, rate, start=0):
    return [Fraction(start) + Fraction(k) / rate for k in range(n)]


def stage(opts, rate):
    source = Source("video", 64, 48, 8, False, rate, 0)
    full = {"fps": None, "multi": None, "slowmo": None, "source_fps": None, "interpolator": "flow",
            "at_cuts": "repeat", "dedup": "auto", **opts}
    stages = framerate.build(full, source)
    assert len(stages) == 1
    return stages[0]


def run(st, frames):
    return list(apply_stage(st, frames))


def check_grid(out, rate, end):
    """Exactly the grid times k / rate in [0, end), in order, each lasting 1 / rate."""
    expected = [Fraction(k) / rate for k in range(int(np.ceil(end * rate)))]
    assert [f.time for f in out] == expected
    assert all(f.duration == 1 / rate for f in out)
    assert all(isinstance(f.time, Fraction) for f in out)


def check_indices(out, frames, speed=Fraction(1)):
    """Each output frame carries the index of the input frame at or before its (retimed) time."""
    starts = [f.time / speed for f in frames]
    for f in out:
        i = max(k for k, s in enumerate(starts) if s <= f.time)
        assert f.index == frames[i].index


def test_16_to_24():
    frames = moving_frames(regular(32, 16))
    out = run(stage({"fps": rational("fps")("24")}, Fraction(16)), frames)
    assert len(out) == 48
    check_grid(out, Fraction(24), Fraction(2))
    check_indices(out, frames)
    # input frames land on the grid every third output frame and come out untouched
    for k in range(0, 48, 3):
        np.testing.assert_array_equal(out[k].image, frames[k * 2 // 3].rgb())
        assert not out[k].meta.get("interpolated") and out[k + 1].meta.get("interpolated")


def test_18_to_24_with_source_fps():
    # a hand-cranked film scanned one frame per video frame at 24 fps plays too fast: at its true
    # 18 fps it lasts 4/3 as long, filled to 24 fps
    frames = moving_frames(regular(36, 24))
    st = stage({"source_fps": rational("source_fps")("18")}, Fraction(24))
    assert st.speed == Fraction(3, 4) and st.rate == 24
    out = run(st, frames)
    assert len(out) == 48  # 1.5 s × 24 → 2 s × 24
    check_grid(out, Fraction(24), Fraction(2))
    check_indices(out, frames, st.speed)
    # the same film stored at 18 fps: no speed change, 18 → 24
    frames18 = moving_frames(regular(36, 18))
    st18 = stage({"source_fps": Fraction(18), "fps": Fraction(24)}, Fraction(18))
    assert st18.speed == 1
    out18 = run(st18, frames18)
    check_grid(out18, Fraction(24), Fraction(2))


def test_23_976_to_59_94():
    rate_in, rate_out = rational("fps")("23.976"), rational("fps")("59.94")
    assert (rate_in, rate_out) == (Fraction(24000, 1001), Fraction(60000, 1001))
    frames = moving_frames(regular(48, rate_in))
    st = stage({"fps": rate_out}, rate_in)
    out = run(st, frames)
    assert len(out) == 120  # exactly 2.5 × 48
    check_grid(out, rate_out, 48 / rate_in)
    check_indices(out, frames)
    assert st.output_timing(Fraction(1, 24000), rate_in) == (Fraction(1001, 60000), rate_out)


def test_25_to_50_by_fps_and_by_multi():
    frames = moving_frames(regular(25, 25))
    by_fps = run(stage({"fps": Fraction(50)}, Fraction(25)), frames)
    by_multi = run(stage({"multi": 2}, Fraction(25)), frames)
    check_grid(by_fps, Fraction(50), Fraction(1))
    assert [f.time for f in by_multi] == [f.time for f in by_fps]
    for a, b in zip(by_fps, by_multi):
        np.testing.assert_array_equal(a.image, b.image)


def test_variable_frame_rate_input():
    times = [Fraction(0), Fraction(1, 30), Fraction(1, 12), Fraction(1, 10), Fraction(1, 5), Fraction(7, 30),
             Fraction(3, 10), Fraction(2, 5), Fraction(9, 20), Fraction(1, 2)]
    frames = moving_frames(times)
    end = times[-1] + frames[-1].duration
    out = run(stage({"fps": Fraction(24)}, Fraction(20)), frames)
    check_grid(out, Fraction(24), end)
    check_indices(out, frames)
    # --multi follows each interval of the input
    out = run(stage({"multi": 3}, Fraction(20)), frames)
    expected = [t + k * (e - t) / 3 for t, e in zip(times, times[1:] + [end]) for k in range(3)]
    assert [f.time for f in out] == expected
    assert sum(f.duration for f in out) == end


def test_slow_motion():
    frames = moving_frames(regular(10, 25))
    st = stage({"slowmo": Fraction(2)}, Fraction(25))
    assert st.speed == Fraction(1, 2)
    out = run(st, frames)
    check_grid(out, Fraction(25), Fraction(4, 5))
    check_indices(out, frames, st.speed)


@pytest.mark.parametrize("opts", [{"fps": Fraction(24)}, {"multi": 3}, {"source_fps": Fraction(16)}],
                         ids=["fps", "multi", "source-fps"])
def test_segmented_run_equals_whole_run(opts):
    """The runner resumes a segment by decoding `before` frames of context ahead of it and keeping the
    output frames whose index is in the segment; that must give the whole run's frames exactly."""
    frames = moving_frames(regular(30, 18), seed=4)
    whole = run(stage(opts, Fraction(18)), frames)
    st = stage(opts, Fraction(18))
    split = 13
    first = [f for f in run(st, frames[: split + st.after]) if f.index < split]
    second = [f for f in run(stage(opts, Fraction(18)), frames[split - st.before:]) if f.index >= split]
    assert len(first) + len(second) == len(whole)
    for a, b in zip(first + second, whole):
        assert (a.time, a.duration, a.index) == (b.time, b.duration, b.index)
        np.testing.assert_array_equal(a.image, b.image)


def test_grid_starts_on_the_grid_when_the_stream_does_not():
    frames = moving_frames(regular(5, 10, start=Fraction(1, 7)))
    out = run(stage({"fps": Fraction(20)}, Fraction(10)), frames)
    assert out[0].time == Fraction(3, 20)  # first k/20 ≥ 1/7
    assert out[-1].time < Fraction(1, 7) + Fraction(1, 2)


def test_timing_arithmetic():
    t = Timing(speed=Fraction(3, 4), rate=Fraction(30000, 1001))
    assert t.retime(Fraction(3)) == 4
    slots = t.frames_in(Fraction(0), Fraction(1))
    assert len(slots) == 30 and slots[-1][0] == Fraction(29 * 1001, 30000)
    assert Timing(multi=4).frames_in(Fraction(1), Fraction(2))[1] == (Fraction(5, 4), Fraction(1, 4))
    assert Timing(speed=Fraction(1, 2), multi=2).time_base(Fraction(1, 90000)) == Fraction(1, 90000)


def test_bad_options():
    source = Source("video", 64, 48, 8, False, Fraction(25), 10)
    base = {"fps": None, "multi": None, "slowmo": None, "source_fps": None, "dedup": "auto"}
    assert framerate.build(base, source) == []
    with pytest.raises(OptionError, match="cannot be combined"):
        framerate.build({**base, "fps": Fraction(24), "multi": 2}, source)
    with pytest.raises(OptionError, match="videos only"):
        framerate.build({**base, "fps": Fraction(24)}, Source("image", 64, 48, 8, False, None, 1))
    with pytest.raises(OptionError):
        rational("fps")("-3")
    with pytest.raises(OptionError):
        FrameRate(Timing(), None, at_cuts="blend")
