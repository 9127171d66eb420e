"""Deflicker: flicker removed, real lighting steps and fades kept, reset at cuts, local tone evened."""
from fractions import Fraction

import numpy as np
import pytest
from film_factory import frames_of, run, scene

from bian.errors import OptionError
from bian.frame import Frame
from bian.pipeline.runner import apply_stage
from bian.stages import deflicker as stage_module
from bian.stages.base import Window
from bian.stages.deflicker import Deflicker
from bian.temporal.deflicker import lasting_level, light_steps, measure, relative_levels, steps_of


def _means(frames):
    return frames.mean(axis=(1, 2, 3))


def _flickered(n=40, amount=0.15, seed=0, picture=None):
    rng = np.random.default_rng(seed)
    picture = scene(64, 80, seed=seed) * 0.8 if picture is None else picture
    gains = rng.uniform(1 - amount, 1 + amount, n).astype(np.float32)
    return np.clip(picture[None] * gains[:, None, None, None], 0, 1), picture


def test_flicker_is_removed_to_a_fifth():
    frames, picture = _flickered()
    out = run(Deflicker(radius=15), frames)
    injected = np.std(np.log(_means(frames) / picture.mean()))
    left = np.std(np.log(_means(out) / picture.mean()))
    assert left < injected / 5


def test_a_lamp_switched_on_survives():
    rng = np.random.default_rng(1)
    picture = scene(64, 80, seed=2) * 0.6
    light = np.where(np.arange(40) < 20, 1.0, 1.5) * rng.uniform(0.95, 1.05, 40)
    frames = np.clip(picture[None] * light[:, None, None, None].astype(np.float32), 0, 1)
    out = _means(run(Deflicker(radius=15), frames))
    step = out[20:].mean() / out[:20].mean()
    assert step == pytest.approx(1.5, rel=0.04)
    # ... and right at the switch, neither side is pulled towards the other.
    assert out[19] / out[:19].mean() == pytest.approx(1, abs=0.04)
    assert out[20] / out[21:].mean() == pytest.approx(1, abs=0.04)


def test_step_detection_splits_only_at_real_steps():
    rng = np.random.default_rng(4)
    flicker = np.log(rng.uniform(0.85, 1.15, 31))
    assert steps_of(flicker) == []
    stepped = flicker + np.where(np.arange(31) >= 10, np.log(1.6), 0)
    assert steps_of(stepped) == [10]


def test_a_fade_is_kept():
    # A clean fade to half: followed to within 1 % in its middle; its first and last frames eased by at
    # most 6 % (a slope is followed as clearly as it would be under typical flicker).
    picture = scene(64, 80, seed=3) * 0.9
    fade = np.linspace(1.0, 0.5, 30)
    frames = (picture[None] * fade[:, None, None, None]).astype(np.float32)
    ratio = _means(run(Deflicker(radius=10), frames)) / _means(frames)
    assert np.allclose(ratio[10:20], 1, atol=0.01)
    assert np.allclose(ratio, 1, atol=0.06)
    depth = np.log(_means(frames)[-1] / _means(frames)[0])
    assert np.log(ratio[-1] / ratio[0]) / depth + 1 > 0.85   # the output keeps 85 % of the fade's depth


def test_a_ramp_is_followed_not_cut_into_steps():
    # Without flicker a ramp stands far above the noise at every frame, so it looks like a staircase of
    # small steps; it must be followed as a trend, as it is when flicker hides the stairs. The trend is
    # a straight line over the view, so the fade's corners are rounded, never turned into a bump.
    levels = np.concatenate([np.zeros(25), np.linspace(0, -0.3, 20), np.full(15, -0.3)])
    assert light_steps(levels, 25) == []
    out = []
    for c in range(60):
        lo, hi = max(0, c - 24), min(60, c + 25)
        out.append(levels[c] + lasting_level(levels[lo:hi] - levels[c], c - lo, 25)[0])
    out = np.array(out)
    assert np.diff(out).max() < 0.002                     # it only falls, as the fade does
    assert np.abs(out - levels).max() < 0.075             # corners rounded by under a quarter of the fade
    assert out[35] == pytest.approx(levels[35], abs=0.02)  # the middle of the ramp is where it is
    assert out[[0, 59]] == pytest.approx([0, -0.3], abs=0.01)


def test_flicker_alone_gets_the_plain_average():
    for seed in range(5):
        levels = np.log(np.random.default_rng(10 + seed).uniform(0.85, 1.15, 49))
        level, start, stop = lasting_level(levels, 24, 25)
        assert (start, stop) == (0, 49)
        assert level == pytest.approx(np.log(np.exp(levels).mean()), abs=0.02)


def test_a_contrast_drift_reads_the_same_whether_or_not_highlights_clip():
    # Smooth tones 0.08..0.95; the other frame's contrast has drifted (dark tones fall more than light
    # ones). Its level relative to the picture must not change when the reference frame is the same
    # picture flickered up by 15 % with its highlights clipped (fewer usable bright cells).
    yy, xx = np.mgrid[0:96, 0:128] / np.array([96, 128])[:, None, None]
    picture = (0.08 + 0.87 * (0.6 * xx + 0.4 * yy)).astype(np.float32)
    drifted = measure(picture ** 1.6)
    plain = relative_levels([measure(picture), drifted], 0)[0][1]
    clipped = relative_levels([measure(np.clip(picture * 1.15, 0, 1)), drifted], 0)[0][1]
    assert clipped == pytest.approx(plain - np.log(1.15), abs=0.003)


def test_cut_resets_the_window():
    dark, _ = _flickered(20, amount=0.1, seed=5, picture=scene(64, 80, seed=5) * 0.3)
    bright, _ = _flickered(20, amount=0.1, seed=6, picture=1 - scene(64, 80, seed=6) * 0.5)
    frames = np.concatenate([dark, bright])
    out = _means(run(Deflicker(radius=15), frames))
    # Each shot keeps its own level up to the cut.
    assert out[19] == pytest.approx(_means(dark).mean(), rel=0.05)
    assert out[20] == pytest.approx(_means(bright).mean(), rel=0.05)


def test_local_flicker_across_the_frame_is_evened():
    rng = np.random.default_rng(7)
    picture = scene(64, 96, seed=8) * 0.8
    ramp = np.linspace(-1, 1, 96, dtype=np.float32)[None, :, None]
    tilts = rng.uniform(-0.15, 0.15, 30)
    frames = np.stack([np.clip(picture * (1 + t * ramp), 0, 1) for t in tilts])

    def tilt(f):
        return np.log(f[:, :32].mean() / f[:, -32:].mean())
    target = tilt(picture)
    before = np.std([tilt(f) - target for f in frames])
    local = np.std([tilt(f) - target for f in run(Deflicker(radius=15), frames)])
    whole = np.std([tilt(f) - target for f in run(Deflicker(radius=15, local=False), frames)])
    assert local < before / 3
    assert whole > before * 0.8


def test_a_shaking_camera_gets_no_uneven_light_correction():
    # No flicker at all: the camera shakes by up to 10 px over a textured scene, so cells see different
    # content from frame to frame. A smooth light field fitted to that would be noise.
    rng = np.random.default_rng(3)
    big = scene(96, 128, seed=9) * 0.9
    frames = np.stack([big[16 + dy:80 + dy, 16 + dx:112 + dx] for dx, dy in rng.integers(-10, 11, (30, 2))])

    def change(out):
        return np.sqrt(np.mean(np.log((out + 0.01) / (frames + 0.01)) ** 2))
    local = change(run(Deflicker(radius=15), frames))
    whole = change(run(Deflicker(radius=15, local=False), frames))
    assert whole < 0.01          # neighbours whose cells disagree (other picture) are trusted less
    assert local - whole < 0.005  # and the light field adds little


def test_still_image_passes_unchanged():
    picture = scene(32, 32)
    (frame,) = frames_of([picture])
    (out,) = Deflicker().process(Window([frame], 0))
    assert np.array_equal(out.image, picture)


@pytest.mark.parametrize("kwargs", [dict(radius=1), dict(radius=31), dict(strength=0), dict(strength=1.5),
                                    dict(hold=0.1), dict(hold=5), dict(rate=0)])
def test_bad_parameters(kwargs):
    with pytest.raises(OptionError):
        Deflicker(**kwargs)


def test_options_and_build():
    radius = next(o for o in stage_module.OPTIONS if o.name == "deflicker_radius")
    for bad in ("x", 0, 100):
        with pytest.raises(OptionError):
            radius.parse(bad)
    assert stage_module.build({"deflicker": False}, None) == []
    (stage,) = stage_module.build({"deflicker": True, "deflicker_radius": 8, "deflicker_global": True,
                                   "deflicker_hold": 0.2}, None)
    assert (stage.before, stage.after, stage.local) == (8, 8, False)
    # One second at 25 fps needs 24 frames each side to see a change last: the window widens to that.
    (stage,) = stage_module.build({"deflicker": True, "deflicker_radius": 8}, None)
    assert (stage.before, stage.after) == (24, 24)


def _lit(picture, light):
    """``picture`` under a log brightness ``light`` per frame."""
    return np.clip(picture[None] * np.exp(light)[:, None, None, None].astype(np.float32), 0, 1)


def _run_at(stage, images, fps):
    frames = [Frame(np.asarray(im, np.float32), Fraction(i, fps), Fraction(1, fps), i) for i, im in enumerate(images)]
    return np.stack([f.image for f in apply_stage(stage, frames)])


def test_the_result_does_not_depend_on_the_flicker_that_hides_the_light():
    # The film's own breathing (±0.1 log for 6 to 10 frames) and a lamp that stays, a second away from
    # the breathing (each level is seen to last), once clean and once under ±15 % flicker: what is left
    # of the flicker (output on the flickered clip against the output on the clean one) is at most a
    # fifth of it, and the lamp is kept in both.
    light = np.where(np.arange(120) >= 60, np.log(1.4), 0.0)
    for start, length, level in ((5, 8, 0.1), (22, 10, -0.1), (88, 6, 0.1), (100, 10, -0.08)):
        light[start:start + length] += level
    picture = scene(48, 64, seed=11) * 0.6
    gains = np.log(np.random.default_rng(3).uniform(0.85, 1.15, 120))
    clean = np.log(_means(run(Deflicker(), _lit(picture, light))))
    flickered = np.log(_means(run(Deflicker(), _lit(picture, light + gains))))
    assert np.std(flickered - clean) < np.std(gains) / 5
    for out in (clean, flickered):
        assert out[65:].mean() - out[:55].mean() == pytest.approx(np.log(1.4), abs=0.04)


def test_short_breathing_is_evened_out_with_no_other_flicker():
    # A clean clip whose light breathes: ±0.1 log for 6 to 12 frames (0.2–0.5 s at 25 fps), each time
    # coming back. It is flicker, not lighting: averaged over the view like any other flicker, which
    # leaves a slow swell (under half the breathing) and no sudden change.
    light = np.zeros(95)
    for start, length, level in ((5, 8, 0.1), (25, 12, -0.1), (50, 6, 0.1), (70, 10, -0.08)):
        light[start:start + length] = level
    picture = scene(48, 64, seed=11) * 0.7
    out = np.log(_means(run(Deflicker(), _lit(picture, light))) / picture.mean())
    assert np.std(out) < np.std(light) / 3
    assert np.abs(out - out.mean()).max() < 0.1 / 2
    assert np.abs(np.diff(out)).max() < 0.1 / 5


def test_a_lasting_step_among_breathing_is_kept():
    # The same kind of breathing, and a lamp switched on at frame 40 that stays (2.4 s at 25 fps): the
    # output steps at the switch by the lamp's whole step. The light before the switch is seen to last
    # a second (28 frames) after the breathing came back; the breathing after it is an excursion from the
    # new level. Elsewhere the output changes by at most a third of the breathing's steps per frame
    # (where the view first sees a level last).
    light = np.where(np.arange(100) >= 40, np.log(1.3), 0.0)
    light[5:12] += 0.1
    light[70:80] -= 0.1
    picture = scene(48, 64, seed=12) * 0.6
    out = np.log(_means(run(Deflicker(), _lit(picture, light))) / picture.mean())
    assert out[40:45].mean() - out[35:40].mean() == pytest.approx(np.log(1.3), abs=0.02)
    assert np.abs(np.diff(out[:40])).max() < 0.1 / 3 and np.abs(np.diff(out[40:])).max() < 0.1 / 3


@pytest.mark.parametrize("fps", [16, 50])
def test_the_hold_rule_is_in_seconds(fps):
    # The same history in seconds at two frame rates: a brightening that lasts 0.6 s and comes back
    # is evened out (its spread halved at least, no change of more than 0.05 from frame to frame where
    # the input steps by 0.12), a step 1.2 s later that then holds 2 s is kept.
    t = np.arange(int(5 * fps)) / fps
    light = np.where((t >= 0.7) & (t < 1.3), 0.12, 0.0) + np.where(t >= 2.5, np.log(1.3), 0.0)
    picture = scene(32, 40, seed=13) * 0.6
    out = np.log(_means(_run_at(Deflicker(rate=fps), _lit(picture, light), fps)) / picture.mean())
    before, after = out[t < 2.5], out[t >= 2.5]
    assert np.std(before) < np.std(light[t < 2.5]) / 2
    assert np.abs(np.diff(before)).max() < 0.05
    step = out[(t >= 2.5) & (t < 2.7)].mean() - out[(t >= 2.3) & (t < 2.5)].mean()
    assert step == pytest.approx(np.log(1.3), abs=0.02)


def test_light_steps_are_where_lasting_levels_meet():
    levels = np.zeros(70)
    levels[10:19] = 0.2   # 9 frames: back before 10
    levels[40:] = -0.3    # holds to the end
    assert light_steps(levels, 10) == [40]
    assert light_steps(levels, 9) == [10, 19, 40]   # a 9-frame hold keeps the 9-frame level
    levels[65:] = 0.0     # 5 frames before the end of the view: under half a hold of 12, flicker
    assert light_steps(levels, 12) == [40]
    levels[10:19] = 0.2
    levels[25:31] = -0.2  # out and back, 6 frames: the light from 19 to 40 is not broken by it
    assert light_steps(levels, 20) == [40]


def test_a_lamp_during_a_pan_is_kept():
    # The camera pans 3 px a frame over a textured scene (cells see other picture as it goes, so the
    # levels drift) and a lamp ×1.3 comes on at frame 24 and stays: the step is kept, not averaged away.
    big = scene(64, 80 + 3 * 60, seed=14) * 0.6
    frames = np.stack([big[:, 3 * i:3 * i + 80] for i in range(60)])
    lit = frames.copy()
    lit[24:] = np.clip(lit[24:] * 1.3, 0, 1)
    out = run(Deflicker(), lit)

    def step(x):
        means = _means(x)
        return np.log(means[24:].mean() / means[:24].mean())
    assert step(out) / step(lit) == pytest.approx(1, abs=0.1)
