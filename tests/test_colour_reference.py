"""Reference transfer: dense matching on luminance texture finds the right colours, also among
several references, deterministically; the reference scores pick the reference that fits."""
import cv2
import numpy as np

from bian.colour import reference


def _painted_scene(seed, h=72, w=96):
    """A colour picture whose regions differ in texture, not only in brightness: the same mean grey
    carries two different colours (one smooth, one striped), which a grey-level lookup cannot tell apart."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    L = np.full((h, w), 55.0, np.float32)
    ab = np.zeros((h, w, 2), np.float32)
    stripes = (xx // 3) % 2 == 0
    right = xx >= w // 2
    L[right] = np.where(stripes[right], 40.0, 70.0)  # striped, same mean as the smooth left half
    ab[~right] = (35, 25)    # smooth half: red
    ab[right] = (-25, -30)   # striped half: blue
    L += rng.normal(0, 0.3, (h, w)).astype(np.float32)
    return np.dstack([L, ab]).astype(np.float32)


def _shift(image, dx, dy):
    m = np.float32([[1, 0, dx], [0, 1, dy]])
    return cv2.warpAffine(image, m, image.shape[1::-1], borderMode=cv2.BORDER_REFLECT)


def test_transfer_recovers_the_colours_of_a_moved_view():
    truth = _painted_scene(0)
    ref = reference.prepare_reference(_shift(truth, 7, -3), 96)
    ab, confidence = reference.transfer(truth[..., 0], [ref])
    err = np.abs(ab - truth[..., 1:]).mean()
    assert err < 2.0, err
    assert confidence.shape == truth.shape[:2] and 0 < confidence.min() and confidence.max() <= 1


def test_texture_not_just_grey_level_decides():
    truth = _painted_scene(1)
    ref = reference.prepare_reference(truth[:, ::-1].copy(), 96)  # mirrored: halves swap sides
    ab, _ = reference.transfer(truth[..., 0], [ref])
    w = truth.shape[1]
    assert np.median(ab[:, : w // 2 - 4, 0]) > 25    # smooth half stays red
    assert np.median(ab[:, w // 2 + 4 :, 1]) < -20   # striped half stays blue


def test_matching_is_deterministic():
    truth = _painted_scene(2)
    ref = reference.prepare_reference(_shift(truth, 4, 4), 96)
    a = reference.transfer(truth[..., 0], [ref])[0]
    b = reference.transfer(truth[..., 0], [ref])[0]
    assert np.array_equal(a, b)


def test_several_references_and_the_scores_that_choose_them():
    truth = _painted_scene(3)
    fitting = reference.prepare_reference(_shift(truth, 3, 0), 96)
    rng = np.random.default_rng(9)
    other = np.dstack([cv2.GaussianBlur(rng.uniform(0, 100, (60, 80)).astype(np.float32), (0, 0), 6),
                       np.full((60, 80), 60.0), np.full((60, 80), 60.0)]).astype(np.float32)
    unrelated = reference.prepare_reference(other, 96)
    scores = reference.scores(truth[..., 0], [unrelated, fitting])
    assert scores[1] < scores[0] / 2
    ab, _ = reference.transfer(truth[..., 0], [unrelated, fitting])
    assert np.abs(ab - truth[..., 1:]).mean() < 3.0


def test_prepare_reference_shrinks_keeping_aspect():
    ref = reference.prepare_reference(np.zeros((300, 600, 3), np.float32), 128)
    assert ref.L.shape == (64, 128) and ref.ab.shape == (64, 128, 2)
