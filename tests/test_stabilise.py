"""Stabilise: weave and jitter removed, pans kept, reset at cuts, border modes."""
import cv2
import numpy as np
import pytest
from film_factory import frames_of, run, scene, shifted

from bian.errors import OptionError
from bian.stages import stabilise as stage_module
from bian.stages.base import Window
from bian.stages.stabilise import Stabilise
from bian.temporal.stabilise import Motion, correction_matrix, warp_frame

SIZE, MARGIN = (96, 128), 24


def _offsets(out, reference_path):
    """Measured (dx, dy) of each output frame against the clean scene at ``reference_path``."""
    picture = scene(*SIZE, seed=1, margin=MARGIN)
    found = []
    for frame, (px, py) in zip(out, reference_path):
        ref = shifted(picture, px, py, SIZE, MARGIN)[12:-12, 12:-12].mean(axis=2)
        (dx, dy), _ = cv2.phaseCorrelate(ref.astype(np.float32), frame[12:-12, 12:-12].mean(axis=2).astype(np.float32))
        found.append((dx, dy))
    return np.array(found)


def _clip(path, jitter):
    picture = scene(*SIZE, seed=1, margin=MARGIN)
    return np.stack([shifted(picture, px + jx, py + jy, SIZE, MARGIN) for (px, py), (jx, jy) in zip(path, jitter)])


def test_jitter_is_removed():
    rng = np.random.default_rng(0)
    n = 30
    jitter = rng.uniform(-3, 3, (n, 2))
    path = np.zeros((n, 2))
    out = run(Stabilise(radius=15), _clip(path, jitter))
    residual = _offsets(out, path)
    residual -= residual.mean(axis=0)
    before = jitter - jitter.mean(axis=0)
    rms = lambda v: float(np.sqrt((v ** 2).sum(axis=1).mean()))  # noqa: E731
    assert rms(residual) < 0.8
    assert rms(residual) < rms(before) / 3


def test_a_pan_is_kept():
    rng = np.random.default_rng(1)
    n = 24
    path = np.stack([np.arange(n) * 0.8, np.arange(n) * -0.3], axis=1)
    jitter = rng.uniform(-1.5, 1.5, (n, 2))
    out = run(Stabilise(radius=8), _clip(path, jitter))
    residual = _offsets(out, path)
    # Following the pan, the output stays within a pixel of it, ends included (no lag).
    assert np.abs(residual - residual.mean(axis=0)).max() < 1.2
    assert np.abs(residual.mean(axis=0)).max() < 0.6


def test_an_eased_pan_is_kept():
    # a real pan starts from rest and speeds up (smoothstep, 20 px over 30 frames), with no jitter at all:
    # a straight-line path fit over ±15 frames would pull each frame off it
    n = 30
    u = np.arange(n) / (n - 1)
    path = np.stack([20 * u * u * (3 - 2 * u), np.zeros(n)], axis=1)
    out = run(Stabilise(radius=15), _clip(path, np.zeros((n, 2))))
    assert np.abs(_offsets(out, path)).max() < 0.7  # 1.37 px with a straight-line fit


def test_cut_resets_and_steady_shot_is_untouched():
    rng = np.random.default_rng(2)
    shaky = _clip(np.zeros((10, 2)), rng.uniform(-3, 3, (10, 2)))
    steady = np.repeat(1 - scene(*SIZE, seed=9)[None], 10, axis=0)
    out = run(Stabilise(radius=6), np.concatenate([shaky, steady]))
    assert np.abs(out[10:] - steady).max() < 1e-3


def test_strength_zero_changes_nothing_and_half_halves():
    picture = scene(*SIZE, seed=1)
    m = correction_matrix(Motion(4.0, -2.0, 0.0, 0.0), SIZE, strength=0.5)
    assert np.allclose(m, [[1, 0, 2.0], [0, 1, -1.0]])
    assert np.allclose(warp_frame(picture, correction_matrix(Motion(3, 1, 0.01, 0.0), SIZE, 0.0)), picture,
                       atol=1e-5)


def test_border_modes():
    picture = scene(*SIZE, seed=1)
    m = correction_matrix(Motion(6.0, 0.0, 0.0, 0.0), SIZE)
    black = warp_frame(picture, m, "black")
    fill = warp_frame(picture, m, "fill")
    crop = warp_frame(picture, m, "crop", margin=0.06)
    assert black[:, :5].max() == 0
    assert fill[:, :5].min() > 0.1 and np.allclose(fill[:, :6], fill[:, 6:7], atol=1e-6)
    assert crop[:, :5].min() > 0.1 and not np.allclose(crop[:, :6], crop[:, 6:7], atol=1e-3)


def test_still_image_passes_unchanged():
    picture = scene(32, 32)
    (frame,) = frames_of([picture])
    (out,) = Stabilise().process(Window([frame], 0))
    assert np.array_equal(out.image, picture)


@pytest.mark.parametrize("kwargs", [dict(radius=1), dict(radius=40), dict(strength=-0.1), dict(strength=2),
                                    dict(border="mirror")])
def test_bad_parameters(kwargs):
    with pytest.raises(OptionError):
        Stabilise(**kwargs)


def test_options_and_build():
    border = next(o for o in stage_module.OPTIONS if o.name == "stabilise_border")
    with pytest.raises(OptionError):
        border.parse("wrap")
    strength = next(o for o in stage_module.OPTIONS if o.name == "stabilise_strength")
    with pytest.raises(OptionError):
        strength.parse(3)
    assert stage_module.build({"stabilise": False}, None) == []
    (stage,) = stage_module.build({"stabilise": True, "stabilise_radius": 5, "stabilise_strength": 0.5,
                                   "stabilise_border": "crop"}, None)
    assert (stage.before, stage.strength, stage.border) == (5, 0.5, "crop")
