"""Temporal fusion: chroma carried along chained flow, averaged within the window, noise spread thin,
colour stays attached to moving content."""
import numpy as np
from film_factory import scene, shifted

from bian.colour import flow, temporal

H, W, MARGIN = 64, 80, 24


def _moving(n=9, speed=1.5, seed=0):
    """Luminance of a textured scene panning right, and a chroma field painted on the scene."""
    picture = scene(H, W, seed=seed, margin=MARGIN)[..., 0] * 100
    paint = np.zeros(picture.shape + (2,), np.float32)
    paint[..., 0] = np.where(picture > 50, 30.0, -20.0)
    paint[..., 1] = np.linspace(-25, 25, picture.shape[1])[None, :]
    Ls = [shifted(picture, -speed * k, 0, (H, W), MARGIN) for k in range(n)]
    abs_ = [shifted(paint, -speed * k, 0, (H, W), MARGIN) for k in range(n)]
    return Ls, abs_


def test_chained_flows_compose_consecutive_motion():
    step = {(a, b): np.dstack([np.full((H, W), 2.0 * (b - a), np.float32), np.zeros((H, W), np.float32)])
            for a in range(5) for b in (a - 1, a + 1)}
    out = temporal.chains(lambda a, b: step[(a, b)], 1, 5)
    assert sorted(out) == [0, 2, 3, 4]
    assert np.allclose(out[4][..., 0], 6.0) and np.allclose(out[0][..., 0], -2.0)
    back = temporal.chains_to(lambda a, b: step[(a, b)], 1, 5)
    assert np.allclose(back[4][..., 0], -6.0) and np.allclose(back[0][..., 0], 2.0)


def test_fusion_removes_per_frame_noise_but_keeps_colour_on_the_moving_content():
    Ls, truth = _moving()
    rng = np.random.default_rng(3)
    noisy = [t + rng.normal(0, 6, t.shape).astype(np.float32) for t in truth]
    step = lambda a, b: flow.flow(Ls[a], Ls[b])
    c = len(Ls) // 2
    fused = temporal.fuse(Ls, noisy, [1.0] * len(Ls), c, step, sigma=4.0)
    inner = (slice(8, -8), slice(8, -8))  # away from borders that enter or leave the view
    before = np.abs(noisy[c] - truth[c])[inner].mean()
    after = np.abs(fused - truth[c])[inner].mean()
    assert after < before / 2.2, (before, after)


def test_frames_without_a_colour_source_add_nothing_and_hint_frames_count_more():
    Ls, truth = _moving(n=5)
    step = lambda a, b: flow.flow(Ls[a], Ls[b])
    grey = [np.zeros_like(t) for t in truth]
    alone = temporal.fuse(Ls, [truth[0]] + grey[1:], [0.0, 0.0, 1.0, 0.0, 0.0], 2, step, sigma=2.0)
    assert np.array_equal(alone, grey[2])
    shifted_colour = [t + 10 for t in truth]
    mixed = temporal.fuse(Ls, [shifted_colour[0]] + truth[1:], [4.0, 1, 1, 1, 1], 2, step, sigma=100.0)
    mean_offset = (mixed - truth[2])[8:-8, 8:-8].mean()
    assert 4.0 < mean_offset < 6.5  # the weighted keyframe: 4·10 / (4 + 4) where its flow holds


def test_reliability_drops_where_flow_is_wrong():
    Ls, _ = _moving(n=2, speed=3)
    f = flow.flow(Ls[0], Ls[1])
    b = flow.flow(Ls[1], Ls[0])
    good = flow.reliability(f, b, Ls[0], Ls[1])
    bad = flow.reliability(f + 6.0, b, Ls[0], Ls[1])
    assert good[8:-8, 8:-8].mean() > 0.8 and bad[8:-8, 8:-8].mean() < 0.1
