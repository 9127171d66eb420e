"""Denoise: grain model, variance stabilisation, motion-compensated non-local means, grain re-adding."""
import hashlib

import cv2
import numpy as np
import pytest
from film_factory import grain, psnr, run, scene, shifted

from bian.errors import OptionError
from bian.pipeline.options import Option
from bian.stages import denoise as stage_module
from bian.stages.denoise import Denoise
from bian.temporal.denoise import denoise, luma_chroma, rgb_from
from bian.temporal.grain import add_grain, measure_grain
from bian.temporal.noise import NoiseModel, estimate_noise


def _moving_clip(n=5, sigma=0.06, seed=0):
    size, margin = (96, 128), 12
    picture = scene(*size, seed=seed, margin=margin)
    clean = np.stack([shifted(picture, 1.3 * i, -0.7 * i, size, margin) for i in range(n)])
    return clean, grain(clean, sigma, seed=seed + 1)


def test_noise_model_recovers_signal_dependent_grain():
    rng = np.random.default_rng(3)
    ramp = np.tile(np.linspace(0.05, 0.95, 256, dtype=np.float32), (192, 1))
    a, b = 0.02 ** 2, 0.003
    noisy = ramp + rng.standard_normal(ramp.shape).astype(np.float32) * np.sqrt(a + b * ramp)
    model = estimate_noise([noisy])
    for y in (0.1, 0.5, 0.9):
        assert model.sigma(y) == pytest.approx(np.sqrt(a + b * y), rel=0.12)


def test_stabilise_round_trip_and_unit_grain():
    model = NoiseModel(0.02 ** 2, 0.003)
    y = np.linspace(0, 1, 101, dtype=np.float32)
    assert np.abs(model.unstabilise(model.stabilise(y)) - y).max() < 1e-4
    # Small steps of one grain σ become steps of about one unit at every brightness.
    step = model.stabilise(y + model.sigma(y)) - model.stabilise(y)
    assert np.all(np.abs(step[5:-5] - 1) < 0.05)


def test_colour_transform_round_trip():
    rgb = np.random.default_rng(0).random((8, 9, 3), dtype=np.float32)
    assert np.abs(rgb_from(*luma_chroma(rgb)) - rgb).max() < 1e-6


def test_temporal_denoise_beats_spatial_and_removes_most_grain():
    clean, noisy = _moving_clip()
    temporal = denoise(list(noisy), 2)
    spatial = denoise([noisy[2]], 0)
    before = psnr(noisy[2], clean[2])
    assert psnr(spatial, clean[2]) > before + 4
    assert psnr(temporal, clean[2]) > psnr(spatial, clean[2]) + 1
    assert temporal.dtype == np.float32 and temporal.shape == clean[2].shape


def _fine_detail(rgb):
    y = rgb.mean(axis=2)
    return float(np.std(y - cv2.GaussianBlur(y, (0, 0), 1.0)))


def _fine_texture(amplitude, seed=0):
    """Grey picture: mid-grey plus a fine random texture (gravel, fabric) of σ ``amplitude``."""
    field = cv2.GaussianBlur(np.random.default_rng(seed).standard_normal((96, 128)).astype(np.float32), (0, 0), 1.0)
    return np.repeat((0.5 + amplitude * field / field.std())[..., None], 3, axis=2)


def test_still_keeps_fine_texture_under_grain():
    # The earlier still filter (h 1.1σ, nothing put back) flattened this texture: detail 0.19 of the clean
    # picture's and a PSNR below the grainy input's.
    clean = _fine_texture(0.04)
    noisy = grain(clean[None], 0.03, seed=1)[0]
    out = denoise([noisy], 0)
    assert _fine_detail(out) > 0.5 * _fine_detail(clean)
    assert _fine_detail(out) < 0.8 * _fine_detail(noisy)
    assert psnr(out, clean) > psnr(noisy, clean) + 1.5


def test_still_with_grain_under_the_kept_floor_is_left_at_strength_1():
    ramp = np.repeat(np.tile(np.linspace(0.2, 0.8, 128, dtype=np.float32), (96, 1))[..., None], 3, axis=2)
    picture = grain(ramp[None], 0.01, seed=2)[0]
    assert np.abs(denoise([picture], 0) - picture).max() < 1e-5
    # A strong denoise reaches it.
    assert _fine_detail(denoise([picture], 0, strength=4.0)) < 0.7 * _fine_detail(picture)


def test_film_output_does_not_depend_on_the_still_settings(monkeypatch):
    """The still-photo settings (threshold, kept grain, texture put back) never reach the multi-frame path:
    film output is bit-identical whatever they are."""
    import bian.temporal.denoise as module

    size, margin = (48, 64), 8
    picture = scene(*size, seed=2, margin=margin)
    clean = np.stack([shifted(picture, 1.3 * i, -0.7 * i, size, margin) for i in range(3)])
    noisy = grain(clean, 0.05, seed=3)
    colour = np.clip(noisy + np.random.default_rng(4).normal(0, 0.02, noisy.shape).astype(np.float32), 0, 1)

    def hashes():
        return [hashlib.sha256(np.ascontiguousarray(denoise(list(clip), 1)).tobytes()).hexdigest()
                for clip in (noisy, colour)]

    before, still = hashes(), denoise([noisy[1]], 0, 1)
    monkeypatch.setattr(module, "H_SPATIAL", 2.5)
    monkeypatch.setattr(module, "STILL_GRAIN_KEPT", 0.0)
    monkeypatch.setattr(module, "STILL_TEXTURE_BACK", 0.7)
    assert hashes() == before
    assert np.abs(denoise([noisy[1]], 0, 1) - still).max() > 0.01  # a still does follow them


def test_strength_controls_smoothing():
    _, noisy = _moving_clip()
    gentle, strong = denoise(list(noisy), 2, strength=0.5), denoise(list(noisy), 2, strength=2.0)
    assert np.std(np.diff(strong[..., 0], axis=1)) < np.std(np.diff(gentle[..., 0], axis=1))


def test_grey_stays_grey_and_colour_noise_is_removed():
    clean, noisy = _moving_clip()
    out = denoise(list(noisy), 2)
    assert np.array_equal(out[..., 0], out[..., 1]) and np.array_equal(out[..., 1], out[..., 2])
    rng = np.random.default_rng(5)
    colour_noisy = np.clip(noisy + rng.normal(0, 0.03, noisy.shape).astype(np.float32), 0, 1)
    out = denoise(list(colour_noisy), 2)
    chroma_before = np.abs(luma_chroma(colour_noisy[2])[1]).mean()
    assert np.abs(luma_chroma(out)[1]).mean() < chroma_before / 3


def test_stage_ignores_frames_across_a_cut():
    _, noisy = _moving_clip(n=3)
    _, other = _moving_clip(n=2, seed=7)
    other = 1.0 - other  # a different shot
    stage = Denoise(1.0, radius=2)
    together = run(stage, np.concatenate([noisy, other]))
    alone = run(Denoise(1.0, radius=2), noisy)
    assert np.array_equal(together[:3], alone)


def test_stage_is_deterministic_and_keeps_grain_on_request():
    _, noisy = _moving_clip(sigma=0.05)
    plain = run(Denoise(1.0, radius=1), noisy)
    again = run(Denoise(1.0, radius=1), noisy)
    assert np.array_equal(plain, again)
    grainy = run(Denoise(1.0, radius=1, keep_grain=True, grain_amount=0.5), noisy)
    added = (grainy - plain)[:, 8:-8, 8:-8, 0]
    # Re-added grain is half the measured source grain (σ 0.05), different in every frame.
    assert 0.018 < added.std() < 0.032
    assert not np.allclose(added[0], added[1])
    assert np.array_equal(grainy, run(Denoise(1.0, radius=1, keep_grain=True, grain_amount=0.5), noisy))


def test_grain_statistics_are_matched():
    rng = np.random.default_rng(2)
    clean = scene(128, 128, seed=4)
    model = NoiseModel(0.03 ** 2, 0.0)
    import cv2
    white = rng.standard_normal((128, 128)).astype(np.float32)
    clumped = cv2.GaussianBlur(white, (0, 0), 1.0)
    clumped /= clumped.std()
    source = clean + (0.03 * clumped)[..., None]
    stats = measure_grain(source, clean, model)
    assert stats.clump == pytest.approx(1.0, abs=0.3)
    assert stats.colour < 0.05
    fresh = add_grain(clean, stats, seed=1, amount=1.0) - clean
    assert fresh[..., 0].std() == pytest.approx(0.03, rel=0.15)
    assert np.array_equal(fresh, add_grain(clean, stats, seed=1, amount=1.0) - clean)


@pytest.mark.parametrize("value", [0, -1, 4.5, "abc", True])
def test_bad_strength_is_an_option_error(value):
    option = next(o for o in stage_module.OPTIONS if o.name == "denoise")
    assert isinstance(option, Option)
    with pytest.raises(OptionError):
        option.parse(value)


@pytest.mark.parametrize("kwargs", [dict(strength=0), dict(radius=5), dict(radius=-1), dict(grain_amount=1.5)])
def test_bad_stage_parameters(kwargs):
    with pytest.raises(OptionError):
        Denoise(**kwargs)


def test_build():
    opts = {"denoise": None, "denoise_radius": 2, "keep_grain": False, "grain_amount": 0.5}
    assert stage_module.build(opts, None) == []
    with pytest.raises(OptionError):
        stage_module.build({**opts, "keep_grain": True}, None)
    (stage,) = stage_module.build({**opts, "denoise": 1.5, "denoise_radius": 3}, None)
    assert (stage.strength, stage.before, stage.after) == (1.5, 3, 3)
    with pytest.raises(OptionError):
        next(o for o in stage_module.OPTIONS if o.name == "denoise_radius").parse(9)
