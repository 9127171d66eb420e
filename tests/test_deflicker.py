"""Deflicker: flicker removed, real lighting steps and fades kept, reset at cuts, local tone evened."""
import numpy as np
import pytest
from film_factory import frames_of, run, scene

from bian.errors import OptionError
from bian.stages import deflicker as stage_module
from bian.stages.base import Window
from bian.stages.deflicker import Deflicker
from bian.temporal.deflicker import measure, relative_levels, run_of, trend_at
from bian.temporal.trend import level_at


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
    assert run_of(flicker, 15) == (0, 31)
    stepped = flicker + np.where(np.arange(31) >= 10, np.log(1.6), 0)
    assert run_of(stepped, 15) == (10, 31)
    assert run_of(stepped, 5) == (0, 10)


def test_a_fade_is_kept():
    picture = scene(64, 80, seed=3) * 0.9
    fade = np.linspace(1.0, 0.5, 30)
    frames = (picture[None] * fade[:, None, None, None]).astype(np.float32)
    out = run(Deflicker(radius=10), frames)
    assert np.allclose(_means(out) / _means(frames), 1, atol=0.01)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_exposure_settling_after_a_cut_is_followed(seed):
    frames = np.arange(41)
    settle = 0.5 * np.exp(-frames / 8)  # log brightness easing down over the first frames of a shot
    levels = settle + np.log(np.random.default_rng(seed).uniform(0.85, 1.15, 41))
    bent = np.array([trend_at(levels, c) for c in frames]) - settle
    straight = np.array([float(level_at(levels, frames, c)) for c in frames]) - settle
    assert np.sqrt(np.mean(bent ** 2)) < 0.75 * np.sqrt(np.mean(straight ** 2))


def test_flicker_alone_gets_no_bent_trend():
    for seed in range(5):
        levels = np.log(np.random.default_rng(10 + seed).uniform(0.85, 1.15, 41))
        assert [trend_at(levels, c) for c in (0, 20, 40)] == [float(level_at(levels, np.arange(41), c))
                                                               for c in (0, 20, 40)]


def test_a_contrast_drift_reads_the_same_whether_or_not_highlights_clip():
    # Smooth tones 0.08..0.95; the other frame's contrast has drifted (dark tones fall more than light
    # ones). Its level relative to the picture must not change when the reference frame is the same
    # picture flickered up by 15 % with its highlights clipped (fewer usable bright cells).
    yy, xx = np.mgrid[0:96, 0:128] / np.array([96, 128])[:, None, None]
    picture = (0.08 + 0.87 * (0.6 * xx + 0.4 * yy)).astype(np.float32)
    drifted = measure(picture ** 1.6)
    plain = relative_levels([measure(picture), drifted], 0)[1]
    clipped = relative_levels([measure(np.clip(picture * 1.15, 0, 1)), drifted], 0)[1]
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
    assert local < 1.5 * whole


def test_still_image_passes_unchanged():
    picture = scene(32, 32)
    (frame,) = frames_of([picture])
    (out,) = Deflicker().process(Window([frame], 0))
    assert np.array_equal(out.image, picture)


@pytest.mark.parametrize("kwargs", [dict(radius=1), dict(radius=31), dict(strength=0), dict(strength=1.5)])
def test_bad_parameters(kwargs):
    with pytest.raises(OptionError):
        Deflicker(**kwargs)


def test_options_and_build():
    radius = next(o for o in stage_module.OPTIONS if o.name == "deflicker_radius")
    for bad in ("x", 0, 100):
        with pytest.raises(OptionError):
            radius.parse(bad)
    assert stage_module.build({"deflicker": False}, None) == []
    (stage,) = stage_module.build({"deflicker": True, "deflicker_radius": 8, "deflicker_global": True}, None)
    assert (stage.before, stage.after, stage.local) == (8, 8, False)
