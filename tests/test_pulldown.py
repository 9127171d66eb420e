"""Inverse telecine in the frame-rate stage: a 3:2 pull-down (one film frame in five shown twice) brought to
4/5 of its rate gives the film's own frames back, untouched, at exact times; a broken cadence falls back to
conversion; video without the cadence is converted as before."""
from fractions import Fraction

import cv2
import numpy as np
import pytest

from bian.analysis import duplicates, pulldown
from bian.errors import OptionError
from bian.frame import Frame
from bian.pipeline.plan import Source
from bian.pipeline.runner import apply_stage
from bian.stages import framerate

NTSC = Fraction(30000, 1001)
FILM = NTSC * Fraction(4, 5)


def film_frames(count, seed=0, size=(48, 64), grain=0.0, start=0):
    """Distinct pictures: a textured square moving to and fro over a textured background, with fresh grain
    (σ in [0, 1] units) on each."""
    rng = np.random.default_rng(seed)
    h, w = size
    background = cv2.GaussianBlur(rng.random((h, w)).astype(np.float32), (0, 0), 2)
    square = rng.random((10, 10)).astype(np.float32)
    out = []
    for j in range(start, start + count):
        img = background + np.float32(j / 1e4)  # no two alike
        x = 2 + abs((2 * j + 25) % 100 - 50)  # to and fro
        img[16:26, x:x + 10] = square
        img += rng.normal(0, grain, img.shape).astype(np.float32)
        out.append(np.clip(np.dstack([img] * 3), 0, 1).astype(np.float32))
    return out


def telecine(film, place=1, noise=1 / 255, heavy=(), rate=NTSC, seed=1):
    """Video frames at ``rate``: each run of 4 film frames gives 5 frames, film frame ``place`` of the run
    shown twice, the copy with gaussian noise (σ ``noise``, or 3× for the copies of film frames in ``heavy``).
    Returns the frames and, per frame, the film frame it shows."""
    rng = np.random.default_rng(seed)
    pictures, shows = [], []
    for j, picture in enumerate(film):
        pictures.append(picture)
        shows.append(j)
        if j % 4 == place:
            sigma = noise * (3 if j in heavy else 1)
            pictures.append(np.clip(picture + rng.normal(0, sigma, picture.shape).astype(np.float32), 0, 1))
            shows.append(j)
    frames = [Frame(image=p, time=k / rate, duration=1 / rate, index=k) for k, p in enumerate(pictures)]
    return frames, shows


def stage(opts, rate=NTSC):
    source = Source("video", 64, 48, 8, False, rate, 0)
    stages = framerate.build({"interpolator": "flow", **opts}, source)
    assert len(stages) == 1
    return stages[0]


def run(st, frames):
    return list(apply_stage(st, frames))


def film_index(picture, film):
    """Which film frame ``picture`` is exactly, or None (made up or a noisy copy)."""
    return next((j for j, f in enumerate(film) if np.array_equal(picture, f)), None)


def check_times(out, frames, rate_out):
    end = frames[-1].time + frames[-1].duration
    assert [f.time for f in out] == [Fraction(k) / rate_out for k in range(int(np.ceil(end * rate_out)))]
    assert all(f.duration == 1 / rate_out for f in out)
    assert abs(len(out) / rate_out - end) < 1 / rate_out  # the sound stays in sync


@pytest.mark.parametrize("place", [0, 1, 2, 3])
def test_pulldown_gives_the_film_frames_back(place):
    film = film_frames(40)
    frames, _ = telecine(film, place)
    out = run(stage({"fps": FILM}), frames)
    check_times(out, frames, FILM)
    assert len(out) == 40
    # output frame j is film frame j itself: none made up, left out, shown twice or taken from a noisy copy
    assert [film_index(f.image, film) for f in out] == list(range(40))
    assert not any(f.meta.get("interpolated") for f in out)
    # each film frame stays within one source frame of where the video showed it first
    first_shown = {j: frames[k].time for k, j in reversed(list(enumerate(telecine(film, place)[1])))}
    assert all(abs(f.time - first_shown[j]) <= 1 / NTSC for j, f in enumerate(out))


def test_millisecond_timestamps():
    """Matroska and many MP4s store times in milliseconds: 29.97 fps frames sit up to ½ ms off the grid,
    so an output time can fall in the interval before its own; the film frames come back all the same."""
    film = film_frames(60, seed=11)
    frames, _ = telecine(film, place=1)
    times = [Fraction(round(f.time * 1000), 1000) for f in frames]
    ends = times[1:] + [times[-1] + Fraction(33, 1000)]
    frames = [f.replace(time=t, duration=end - t) for f, t, end in zip(frames, times, ends)]
    out = run(stage({"fps": FILM}), frames)
    check_times(out, frames, FILM)
    assert [film_index(f.image, film) for f in out] == list(range(60))


@pytest.mark.parametrize("pattern", [(3, 2), (2, 3), (2, 3, 3, 2)], ids=["3:2", "2:3", "2:3:3:2"])
def test_field_rate_pulldown_at_59_94(pattern):
    """24 fps film at 59.94 fps (each film frame shown 3 times then 2, or 2:3:3:2), copies with light noise:
    at 23.976 each output frame is its film frame, untouched, shown once; also where the film holds a
    picture itself (the square turns back at film frames 12/13 and 37/38)."""
    film = film_frames(40, seed=13)
    rng = np.random.default_rng(2)
    rate = Fraction(60000, 1001)
    pictures = []
    for j, picture in enumerate(film):
        pictures.append(picture)
        for _ in range(pattern[j % len(pattern)] - 1):
            pictures.append(np.clip(picture + rng.normal(0, 1 / 255, picture.shape).astype(np.float32), 0, 1))
    frames = [Frame(image=p, time=k / rate, duration=1 / rate, index=k) for k, p in enumerate(pictures)]
    st = stage({"pulldown": "remove"}, rate)
    assert st.rate == FILM and st.film == Fraction(2, 5)
    out = run(st, frames)
    check_times(out, frames, FILM)
    assert [film_index(f.image, film) for f in out] == list(range(40))


def test_noisy_copy_found_by_its_place_in_the_cadence():
    # grain on every film frame and a copy with three times the noise: alone it does not look held
    film = film_frames(40, seed=3, grain=0.01)
    frames, shows = telecine(film, place=2, noise=0.006, heavy={18})
    copy = shows.index(18) + 1
    thumbs = [duplicates.thumbnail(f.image) for f in frames]
    diffs = [duplicates.difference(a, b) for a, b in zip(thumbs, thumbs[1:])]
    assert not duplicates.held_pairs(diffs, [False] * len(diffs))[copy - 1]
    out = run(stage({"fps": FILM}), frames)
    assert [film_index(f.image, film) for f in out] == list(range(40))


def test_cadence_break_falls_back_there_only():
    # an edit made on the video: two frames cut out, so the copy's place moves by two
    film = film_frames(80, seed=5)
    frames, shows = telecine(film, place=1)
    cut = 51
    kept = frames[:cut] + frames[cut + 2:]
    kept = [f.replace(time=k / NTSC, index=k) for k, f in enumerate(kept)]
    out = run(stage({"fps": FILM}), kept)
    check_times(out, kept, FILM)
    shown = [film_index(f.image, film) for f in out]
    edit = cut * 4 // 5  # the output frame at the edit's time
    # (the last output frame is left out: the cut left 78 film frames for 79 output frames' time, so it repeats)
    far = [j for j in range(len(out) - 1) if abs(j - edit) > 10]
    # away from the edit every output frame is a film frame, in order, each once
    assert all(shown[j] is not None for j in far)
    before = [shown[j] for j in far if j < edit]
    after = [shown[j] for j in far if j > edit]
    assert before == list(range(len(before)))
    assert after == list(range(after[0], after[0] + len(after)))
    # near it the frames are converted, not decimated at a wrong place: no film frame twice in a row
    assert all(a != b for a, b in zip(shown[:-2], shown[1:-1]) if a is not None)


def test_video_without_cadence_is_converted_as_before():
    # 30 fps video with motion and grain, and held frames at irregular places: no pull-down
    film = film_frames(60, seed=7, grain=0.01)
    pictures = film[:10] + [film[9]] + film[10:23] + [film[22]] + film[23:]
    frames = [Frame(image=p, time=Fraction(k, 30), duration=Fraction(1, 30), index=k) for k, p in enumerate(pictures)]
    auto = stage({"fps": Fraction(24)}, Fraction(30))
    assert auto.film
    keep = stage({"fps": Fraction(24), "pulldown": "keep"}, Fraction(30))
    assert not keep.film
    a, b = run(auto, frames), run(keep, frames)
    assert len(a) == len(b) == 50
    for x, y in zip(a, b):
        assert (x.time, x.duration, x.index) == (y.time, y.duration, y.index)
        np.testing.assert_array_equal(x.image, y.image)
    assert sum(bool(f.meta.get("interpolated")) for f in a) > 30


def test_59_94_video_without_cadence_is_converted_as_before():
    film = film_frames(50, seed=17, grain=0.01)
    rate = Fraction(60000, 1001)
    frames = [Frame(image=p, time=k / rate, duration=1 / rate, index=k) for k, p in enumerate(film)]
    a = run(stage({"fps": FILM}, rate), frames)
    b = run(stage({"fps": FILM, "pulldown": "keep"}, rate), frames)
    assert len(a) == len(b) == 20
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x.image, y.image)


def test_segmented_run_equals_whole_run():
    film = film_frames(48, seed=9)
    frames, _ = telecine(film, place=3)
    whole = run(stage({"fps": FILM}), frames)
    for split in (17, 23, 31):
        st = stage({"fps": FILM})
        first = [f for f in run(st, frames[: split + st.after]) if f.index < split]
        second = [f for f in run(stage({"fps": FILM}), frames[max(0, split - st.before):]) if f.index >= split]
        assert len(first) + len(second) == len(whole)
        for a, b in zip(first + second, whole):
            assert (a.time, a.duration, a.index) == (b.time, b.duration, b.index)
            np.testing.assert_array_equal(a.image, b.image)


def test_options():
    st = stage({"pulldown": "remove"})
    assert st.film and st.rate == FILM and st.speed == 1
    assert stage({"pulldown": "remove"}, Fraction(30)).rate == 24
    assert stage({"fps": Fraction(24)}, Fraction(30)).film
    assert not stage({"fps": Fraction(25)}, Fraction(30)).film  # not 4/5: converted as any video
    assert not stage({"fps": FILM, "pulldown": "keep"}).film
    for bad in ({"pulldown": "remove", "fps": Fraction(25)}, {"pulldown": "remove", "multi": 2},
                {"pulldown": "remove", "slowmo": Fraction(2)}):
        with pytest.raises(OptionError):
            stage(bad)


def test_cycle_lows_and_copy_place():
    cuts = np.zeros(5, bool)
    assert pulldown.lows(np.array([9.0, 8, 0.5, 10, 9]), cuts) == ({2}, {2})
    assert pulldown.lows(np.array([9.0, 8, 5, 10, 9]), cuts) == (set(), {2})
    assert pulldown.lows(np.array([9.0, 0.2, 0.5, 10, 9]), cuts) == ({1, 2}, {1, 2})  # a held film frame too
    assert pulldown.lows(np.array([9.0, 0.1, 8.5, 10, 9]), np.array([0, 1, 0, 0, 0], bool)) == (set(), set())
    firm, lean, none = ({3}, {3}), (set(), {3}), (set(), set())
    assert pulldown.copy_place([firm, firm, none, firm, (set(), {1})], 2) == 3
    assert pulldown.copy_place([firm, firm, ({3, 1}, {3, 1}), firm, firm], 2) == 3
    other = ({1}, {1})
    assert pulldown.copy_place([firm, firm, other, other, other], 1) == 3  # its own clear copy, an edit later
    assert pulldown.copy_place([firm, firm, none, other, other], 2) is None  # the edit's cycle: nothing low
    assert pulldown.copy_place([firm, lean, none, lean, other], 2) is None
    assert pulldown.copy_place([firm, firm, firm, other, other], 2) == 3
    assert pulldown.copy_place([lean] * 5, 2) == 3
    assert pulldown.copy_place([lean, lean, none, lean, lean], 2) is None
    assert pulldown.copy_place([({1, 3}, {1, 3})] * 5, 2) is None  # held on twos: no single place
    assert pulldown.starts(np.array([9.0, 0.2, 0.3, 8, 0.1]), cuts) == ((0, 3), True)
    assert pulldown.starts(np.array([9.0, 3, 4, 8, 0.1]), cuts) == ((0, 3), False)
    assert pulldown.starts(np.array([9.0, 0.2, 0.3, 0.4, 8]), cuts) is None  # 4 apart: not 3:2
    assert pulldown.starts(np.array([np.nan, 0.2, 0.3, 8, 0.1]), cuts) == ((0, 3), True)  # the stream's start
    both, held = ((0, 3), True), np.array([9.0, 0.2, 0.3, 0.1, 0.1])  # the film held its picture at place 3
    assert pulldown.start_places([both, both, None, both], 2, held, cuts) == (0, 3)
    assert pulldown.start_places([both, both, None, both], 2, np.array([9.0, 5, 0.3, 0.1, 0.1]), cuts) is None
    slow, alt = ((0, 3), False), ((0, 2), False)
    assert pulldown.start_places([slow] * 5, 2, held, cuts) == (0, 3)  # a slow shot: the pattern alone
    assert pulldown.start_places([slow, alt, slow, alt, slow], 2, held, cuts) == (0, 3)  # 2:3:3:2
    assert pulldown.start_places([slow, alt, alt, slow, slow], 2, held, cuts) is None
    assert pulldown.start_places([((1, 4), True), ((0, 2), True), both], 1, held, cuts) is None  # 1 apart: a break
    drift = [firm, firm, ({2}, {2}), ({2}, {2}), firm]
    assert pulldown.copy_place(drift, 2) == 2 and pulldown.copy_place(drift, 1) == 3
    assert pulldown.copy_place([none, none, ({2}, {2}), none, firm], 2) is None


def test_telecined_file_end_to_end(tmp_path):
    """A 23.976 fps film made 29.97 by showing one frame in five twice (as NLE exports of field-matched
    transfers are), with sound: the plan names it, and --pulldown remove gives one output frame per film
    frame, in order, at exact times, the sound as long as the picture."""
    import av

    import bian
    from bian.pipeline.plan import build_plan
    from media_factory import audio_seconds, ffmpeg, video_times

    film = tmp_path / "film.mkv"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=160x96:rate=24000/1001:duration=2.5", "-c:v", "ffv1", str(film))
    src = tmp_path / "ntsc.mov"
    ffmpeg("-i", str(film), "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:duration=2.5",
           "-vf", "fps=30000/1001", "-c:v", "libx264", "-crf", "12", "-g", "15", "-pix_fmt", "yuv420p",
           "-c:a", "pcm_s16le", "-shortest", str(src))
    plan = build_plan(src, tmp_path / "x.mov", {})
    assert any(n.startswith("telecined film") and "--fps 24000/1001" in n for n in plan.notes)
    assert not any(n.startswith("telecined film") for n in build_plan(film, tmp_path / "y.mov", {}).notes)
    assert not any("pulldown" in n for n in build_plan(src, tmp_path / "x.mov", {"pulldown": "remove"}).notes)
    video = tmp_path / "video.mp4"  # 30 fps, no pull-down
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=160x96:rate=30:duration=2", "-c:v", "libx264", str(video))
    assert not any("pulldown" in n or "telecined" in n for n in build_plan(video, tmp_path / "z.mov", {}).notes)
    assert any(n.startswith("--pulldown remove: the plan's look found no")
               for n in build_plan(video, tmp_path / "z.mov", {"pulldown": "remove"}).notes)
    out = tmp_path / "out.mov"
    bian.restore(src, out, pulldown="remove", preset="ultrafast", crf=12)
    times = video_times(out)
    rate = Fraction(24000, 1001)
    assert times == [Fraction(k) / rate for k in range(len(times))]
    with av.open(str(film)) as c:
        truth = [f.to_ndarray(format="rgb24").astype(np.float32) for f in c.decode(video=0)]
    with av.open(str(out)) as c:
        made = [f.to_ndarray(format="rgb24").astype(np.float32) for f in c.decode(video=0)]
    assert abs(len(made) - len(truth)) <= 1
    # each output frame is its own film frame (testsrc2 draws a counter: any other frame is far off)
    for k, picture in enumerate(made[: len(truth)]):
        errors = [np.mean(np.abs(picture - t)) for t in truth[max(0, k - 2):k + 3]]
        assert int(np.argmin(errors)) == min(k, 2) and min(errors) < 4
    assert abs(audio_seconds(out) - len(made) / rate) <= 1 / rate


def _decode(path, start=0, count=None, half=False):
    import av

    with av.open(str(path)) as c:
        pictures = []
        for i, f in enumerate(c.decode(video=0)):
            if i >= start:
                rgb = f.to_ndarray(format="rgb24")
                pictures.append(cv2.resize(rgb, (rgb.shape[1] // 2, rgb.shape[0] // 2), interpolation=cv2.INTER_AREA)
                                if half else rgb)
            if count is not None and len(pictures) == count:
                break
    return pictures


def test_remaster_clip_gives_its_film_frames(shared):
    """remaster_clip.mp4 is 29 fps with every frame whose index is 3 mod 5 a copy of the one before (through
    its cuts, some copies noisy enough that the held-frame test misses 13 of the 72): at 23.2 fps every output
    frame is an untouched non-copy source frame, in order, each once."""
    pictures = _decode(shared / "data" / "film" / "remaster_clip.mp4")
    rate = Fraction(29)
    frames = [Frame(image=p, time=k / rate, duration=1 / rate, index=k) for k, p in enumerate(pictures)]
    out = run(stage({"fps": rate * Fraction(4, 5)}, rate), frames)
    check_times(out, frames, rate * Fraction(4, 5))
    by_bytes = {p.tobytes(): k for k, p in reversed(list(enumerate(pictures)))}
    shown = [by_bytes.get(f.image.tobytes()) for f in out]
    assert shown == [k for k in range(len(pictures)) if k % 5 != 3]


def test_real_film_at_30_fps_is_not_decimated(shared):
    """sample_bw's frames (with its near-still stretch and a few held frames) taken as 30 fps video: 4/5 of
    the rate converts them exactly as --pulldown keep does."""
    pictures = _decode(shared / "data" / "film" / "sample_bw.mp4", start=150, count=60, half=True)
    frames = [Frame(image=p, time=Fraction(k, 30), duration=Fraction(1, 30), index=k) for k, p in enumerate(pictures)]
    a = run(stage({"fps": Fraction(24)}, Fraction(30)), frames)
    b = run(stage({"fps": Fraction(24), "pulldown": "keep"}, Fraction(30)), frames)
    assert len(a) == len(b) == 48
    for x, y in zip(a, b):
        assert x.time == y.time
        np.testing.assert_array_equal(x.image, y.image)
