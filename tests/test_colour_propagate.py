"""Colour propagation: Lab split/merge, Levin et al.'s solve, geodesic hint blending, guided upsampling."""
import numpy as np
import pytest

from bian.colour import hints, lab, propagate


def _two_regions(h=48, w=64):
    """A grey picture: dark left half, light right half (L ≈ 30 | 70) with mild texture."""
    rng = np.random.default_rng(0)
    L = np.where(np.arange(w)[None, :] < w // 2, 30.0, 70.0) + rng.normal(0, 0.5, (h, w))
    return L.astype(np.float32)


def test_merge_keeps_the_luminance_and_only_adds_chroma():
    rng = np.random.default_rng(1)
    rgb = rng.uniform(0.2, 0.8, (16, 16, 3)).astype(np.float32)
    L = lab.luminance(rgb)
    ab = np.full((16, 16, 2), 12.0, np.float32)
    out = lab.merge(L, ab)
    assert np.abs(lab.luminance(out) - L).max() < 0.5
    assert np.abs(lab.rgb_to_lab(out)[..., 1:] - 12.0).max() < 1.0
    grey = lab.merge(L, ab, saturation=0.0)
    assert np.abs(grey - grey.mean(axis=2, keepdims=True)).max() < 2e-3


def test_levin_solve_fills_each_region_with_its_own_hint():
    L = _two_regions()
    ab = np.zeros(L.shape + (2,), np.float32)
    conf = np.zeros(L.shape, np.float32)
    ab[10:14, 5:9] = (40, 20)   # a red-ish stroke on the dark side
    ab[30:34, 50:54] = (-30, 35)  # a green-yellow stroke on the light side
    conf[10:14, 5:9] = conf[30:34, 50:54] = 1.0
    out = propagate.solve(L, ab, conf)
    left, right = out[:, : L.shape[1] // 2 - 2], out[:, L.shape[1] // 2 + 2 :]
    assert np.abs(left - (40, 20)).max() < 4
    assert np.abs(right - (-30, 35)).max() < 4


def test_refining_dense_targets_keeps_good_ones_and_fixes_distrusted_ones():
    L = _two_regions()
    ab = np.zeros(L.shape + (2,), np.float32)
    ab[:, :32] = (20, -10)
    ab[:, 32:] = (-5, 30)
    conf = np.ones(L.shape, np.float32) * 100
    ab[20:26, 5:11] = (-60, -60)  # a wrong patch the matcher did not trust
    conf[20:26, 5:11] = 1e-3
    out = propagate.solve(L, ab, conf, refine=True)
    assert np.abs(out[20:26, 5:11] - (20, -10)).max() < 3
    assert np.abs(out[:, 40:] - (-5, 30)).max() < 0.5


def test_geodesic_blend_stops_at_luminance_edges_and_hits_hints_exactly():
    L = _two_regions()
    rgb = np.zeros(L.shape + (3,), np.float32)
    mask = np.zeros(L.shape, bool)
    red, teal = (0.8, 0.2, 0.2), (0.1, 0.6, 0.6)
    rgb[5, 3], mask[5, 3] = red, True
    rgb[40, 60], mask[40, 60] = teal, True
    ab, distance = hints.blend(L, rgb, mask)
    want_red = lab.rgb_to_lab(np.array([[red]], np.float32))[0, 0, 1:]
    want_teal = lab.rgb_to_lab(np.array([[teal]], np.float32))[0, 0, 1:]
    assert np.abs(ab[5, 3] - want_red).max() < 0.1 and distance[5, 3] == 0
    # far corners of each half, closer (in pixels) to the other hint than to their own: still their side
    assert np.abs(ab[47, 28] - want_red).max() < 3
    assert np.abs(ab[0, 34] - want_teal).max() < 3


def test_hints_of_one_colour_form_one_group():
    L = np.full((20, 20), 50.0, np.float32)
    rgb = np.zeros((20, 20, 3), np.float32)
    mask = np.zeros((20, 20), bool)
    for y, x in ((2, 2), (17, 17), (2, 17)):
        rgb[y, x], mask[y, x] = (0.2, 0.3, 0.9), True
    ab, _ = hints.blend(L, rgb, mask)
    assert np.ptp(ab[..., 0]) < 1e-3 and np.ptp(ab[..., 1]) < 1e-3


def test_guided_upsampling_puts_chroma_edges_on_luminance_edges():
    H, W = 96, 128
    L = np.where(np.arange(W)[None, :] < 67, 35.0, 75.0).repeat(H, 0).astype(np.float32)
    small = np.zeros((24, 32, 2), np.float32)
    small[:, :17] = (30, 0)  # the low-resolution chroma edge sits 1–2 pixels off (at 68)
    up = propagate.upsample(L, small)
    assert up.shape == (H, W, 2)
    assert np.all(up[:, :63, 0] > 25) and np.all(up[:, 70:, 0] < 5)
    assert up[:, 66, 0].mean() > 20 and up[:, 67, 0].mean() < 10


def test_propagate_runs_at_working_size_and_returns_full_size():
    L = np.tile(np.linspace(20, 80, 300, dtype=np.float32), (200, 1))
    ab = np.zeros((200, 300, 2), np.float32)
    conf = np.zeros((200, 300), np.float32)
    ab[100, 150], conf[100, 150] = (10, 10), 100.0
    out = propagate.propagate(L, ab, conf, size=64)
    assert out.shape == (200, 300, 2)
    assert out[100, 150] == pytest.approx((10, 10), abs=2)


def test_merge_darkens_a_highlight_a_little_to_hold_its_colour():
    # a cream wall near white whose brightness flickers: 92 in one frame, 95 in the next; film passes
    # room=HIGHLIGHT_ROOM (a still passes nothing and keeps its lightness exactly)
    ab = np.full((24, 24, 2), (4.0, 24.0), np.float32)
    held, exact = [], []
    for level in (92.0, 95.0):
        L = np.full((24, 24), level, np.float32)
        out = lab.rgb_to_lab(lab.merge(L, ab, room=lab.HIGHLIGHT_ROOM))
        drop = level - out[..., 0]
        assert drop.min() > -0.05 and drop.max() <= lab.HIGHLIGHT_ROOM + 0.05
        held.append(np.hypot(out[..., 1], out[..., 2]).mean())
        exact.append(np.hypot(*np.moveaxis(lab.fit_gamut(L, ab), 2, 0)).mean())
        assert held[-1] > exact[-1] + 1.0  # more colour than at the exact lightness
    assert abs(held[0] - held[1]) < 0.5 * abs(exact[0] - exact[1])  # and it changes less with the flicker


def test_make_room_leaves_colours_that_fit_and_dark_ones_alone():
    L = np.full((16, 16), 50.0, np.float32)
    assert np.array_equal(lab.make_room(L, np.full((16, 16, 2), 10.0, np.float32)), L)
    # saturated blue at low lightness is out of gamut, and darker would be worse: no change
    dark = np.full((16, 16), 15.0, np.float32)
    assert np.array_equal(lab.make_room(dark, np.full((16, 16, 2), (60.0, -110.0), np.float32)), dark)
    bright = np.full((16, 16), 95.0, np.float32)
    cream = np.full((16, 16, 2), (4.0, 24.0), np.float32)
    assert lab.make_room(bright, cream).min() < 94.0
    assert np.abs(lab.luminance(lab.merge(bright, cream)) - bright).max() < 0.05  # room 0: exact
