"""Repair stages (bian.stages.repair): windows, scene cuts, masks, options and bad parameters."""
from fractions import Fraction
from types import SimpleNamespace

import cv2
import numpy as np
import pytest

from bian.errors import InputError, OptionError
from bian.frame import Frame
from bian.stages import repair
from bian.stages.base import Window


def _texture(h, w, seed):
    rng = np.random.default_rng(seed)
    base = cv2.GaussianBlur(rng.random((h, w)).astype(np.float32), (0, 0), 2.5)
    return 0.2 + 0.6 * (base - base.min()) / (base.max() - base.min())


def _frames(n=5, h=72, w=96, seed=0, step=2):
    big = _texture(h, w + step * n, seed)
    return [np.repeat(big[:, i * step:i * step + w, None], 3, axis=2).copy() for i in range(n)]


def _window(images, center):
    frames = [Frame((np.clip(im, 0, 1) * 255 + 0.5).astype(np.uint8), Fraction(i, 24), Fraction(1, 24), i)
              for i, im in enumerate(images)]
    return Window(frames, center)


def _speck(image):
    out = image.copy()
    cv2.circle(out, (30, 40), 3, (1.0, 1.0, 1.0), -1)
    return out


def test_dust_stage_repairs_the_current_frame_and_is_deterministic():
    images = _frames()
    clean = images[2].copy()
    images[2] = _speck(images[2])
    stage = repair.Dust()
    out = stage.process(_window(images, 2))
    assert len(out) == 1 and out[0].index == 2 and out[0].time == Fraction(2, 24)
    assert out[0].image.dtype == np.float32 and out[0].image.shape == clean.shape
    assert abs(float(out[0].image[40, 30, 0]) - float(clean[40, 30, 0])) < 0.05
    again = repair.Dust().process(_window(images, 2))[0].image
    assert np.array_equal(out[0].image, again)


def test_dust_stage_never_takes_neighbours_across_a_scene_cut():
    shot_a, shot_b = _frames(seed=1), _frames(seed=2)
    images = [shot_a[0], shot_a[1], _speck(shot_b[2]), shot_b[3], shot_b[4]]
    clean = shot_b[2]
    out = repair.Dust().process(_window(images, 2))[0].image
    assert abs(float(out[40, 30, 0]) - float(clean[40, 30, 0])) < 0.05
    # Away from the speck nothing from the other shot leaks in.
    assert np.abs(out - clean)[:, 50:].max() < 1 / 255 + 1e-6


def test_dust_stage_on_a_still_image_uses_the_spatial_fallback():
    image = _speck(np.repeat(_texture(64, 64, 3)[..., None], 3, axis=2))
    window = _window([image], 0)
    out = repair.Dust(line_scratches=False).process(window)[0].image
    assert out[40, 30, 0] < 0.9 and np.array_equal(out[:, 45:], window.current.rgb()[:, 45:])


def test_scratches_stage_fills_a_user_mask_only_there():
    image = np.repeat(_texture(64, 64, 4)[..., None], 3, axis=2)
    damaged = image.copy()
    damaged[20:23, 5:60] = 1.0
    mask = np.zeros((64, 64), bool)
    mask[19:24, 5:60] = True
    frame = _window([damaged], 0).current
    out = repair.Scratches(detect=False, mask=mask).process_frame(frame).image
    assert np.abs(out - image)[mask].mean() < 0.05 < np.abs(damaged - image)[mask].mean()
    assert np.array_equal(out[~mask], frame.rgb()[~mask])


def test_read_mask_checks_existence_and_size(tmp_path):
    path = tmp_path / "mask.png"
    m = np.zeros((20, 30), np.uint8)
    m[5:8, :] = 255
    cv2.imwrite(str(path), m)
    assert repair.read_mask(path, (20, 30)).sum() == 90
    with pytest.raises(OptionError):
        repair.read_mask(path, (30, 20))
    with pytest.raises(InputError):
        repair.read_mask(tmp_path / "missing.png", (20, 30))
    (tmp_path / "junk.png").write_bytes(b"not an image")
    with pytest.raises(InputError):
        repair.read_mask(tmp_path / "junk.png", (20, 30))


def _source(kind="video"):
    return SimpleNamespace(kind=kind, width=30, height=20, bits=8, grey=False, rate=Fraction(24), frames=10)


def test_build_follows_the_options(tmp_path):
    assert repair.build({}, _source()) == []
    stages = repair.build({"dust": True, "scratches": True}, _source())
    assert [s.name for s in stages] == ["dust", "scratches"]
    assert stages[0].line_scratches and stages[0].before == stages[0].after == 2
    assert not repair.build({"dust": True}, _source("image"))[0].line_scratches
    assert not repair.build({"dust": True, "keep_lines": True}, _source())[0].line_scratches
    path = tmp_path / "m.png"
    cv2.imwrite(str(path), np.full((20, 30), 255, np.uint8))
    only_mask = repair.build({"mask": str(path)}, _source())
    assert [s.name for s in only_mask] == ["scratches"] and not only_mask[0].detect


@pytest.mark.parametrize("opts", [{"dust_detector": "unet"}, {"keep_lines": True}, {"dust_model": "x.pth"}])
def test_dust_options_without_dust_are_refused(opts):
    with pytest.raises(OptionError):
        repair.build(opts, _source())


@pytest.mark.parametrize("make", [lambda: repair.Dust(strength=1.5), lambda: repair.Dust(strength=-0.1),
                                  lambda: repair.Dust(detector="magic"), lambda: repair.Scratches(strength=2),
                                  lambda: repair.Scratches(detect=False, mask=None)])
def test_bad_parameters_are_option_errors(make):
    with pytest.raises(OptionError):
        make()


def test_option_parsers_reject_bad_values():
    options = {o.name: o for o in repair.OPTIONS}
    for name, value in (("dust_strength", "2"), ("dust_strength", "lots"), ("scratch_strength", "-1"),
                        ("dust_detector", "magic")):
        with pytest.raises(OptionError):
            options[name].parse(value)
    assert options["dust_strength"].parse("0.7") == pytest.approx(0.7)
