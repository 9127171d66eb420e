"""Scene-cut detection: cuts found, flicker and camera motion within a shot not taken for cuts."""
import cv2
import numpy as np
import pytest

from bian.analysis.cuts import THRESHOLD, cut_score, is_cut


def scene(seed: int, h: int = 240, w: int = 320) -> np.ndarray:
    """A smooth random 'photograph': blobs at several scales, float RGB in [0, 1]."""
    rng = np.random.default_rng(seed)
    img = np.zeros((h, w), np.float32)
    for sigma in (2, 6, 20):
        img += cv2.GaussianBlur(rng.normal(size=(h, w)).astype(np.float32), (0, 0), sigma) * sigma
    img = (img - img.min()) / (img.max() - img.min())
    return np.dstack([img, img * 0.9 + 0.05, img * 0.8 + 0.1])


def flicker(img: np.ndarray, gain: float, gamma: float, ramp: float) -> np.ndarray:
    h, w = img.shape[:2]
    xx = np.linspace(-0.5, 0.5, w, dtype=np.float32)[None, :, None]
    return np.clip(img * gain * (1 + ramp * xx), 0, 1) ** gamma


def move(img: np.ndarray, dx: float, zoom: float = 1.0) -> np.ndarray:
    h, w = img.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), 0, zoom)
    m[0, 2] += dx
    return cv2.warpAffine(img, m, (w, h), borderMode=cv2.BORDER_REFLECT)


def test_different_shots_are_cuts():
    for seed in range(4):
        assert is_cut(scene(seed), scene(seed + 10))


def test_same_shot_is_not_a_cut_under_flicker():
    a = scene(1)
    for gain, gamma, ramp in ((0.6, 1.0, 0.0), (1.4, 0.8, 0.3), (0.8, 1.25, -0.3)):
        assert cut_score(a, flicker(a, gain, gamma, ramp)) < THRESHOLD / 3


def test_camera_motion_is_not_a_cut():
    a = scene(2)
    # a pan of 5 % of the width with a 3 % zoom between two frames
    assert cut_score(a, move(a, 0.05 * a.shape[1], 1.03)) < THRESHOLD / 2


def test_grey_and_tiny_inputs():
    a, b = scene(3), scene(4)
    assert is_cut(a.mean(2), b.mean(2))
    assert not is_cut(a.mean(2)[::8, ::8], a.mean(2)[::8, ::8])
    assert cut_score(a, a) < 0.01


def test_real_cuts_in_old_film(shared):
    av = pytest.importorskip("av")
    wanted = {296, 297, 298, 299, 300}
    frames = {}
    with av.open(str(shared / "data/film/remaster_clip.mp4")) as container:
        for i, frame in enumerate(container.decode(video=0)):
            if i in wanted:
                frames[i] = frame.to_ndarray(format="rgb24").astype(np.float32) / 255
            if i > max(wanted):
                break
    # 298 → 299 is a cut between two outdoor shots of similar layout (sky above, ground below)
    scores = {i: cut_score(frames[i], frames[i + 1]) for i in (296, 297, 298, 299)}
    assert scores[298] > THRESHOLD
    assert all(scores[i] < THRESHOLD / 3 for i in (296, 297, 299))
