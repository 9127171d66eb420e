"""Photo crack detection (bian.repair.cracks) on small generated pictures."""
import cv2
import numpy as np

from bian.repair import cracks


def _photo(h=160, w=160, seed=0):
    rng = np.random.default_rng(seed)
    base = cv2.GaussianBlur(rng.random((h, w)).astype(np.float32), (0, 0), 4)
    base = 0.25 + 0.4 * (base - base.min()) / (base.max() - base.min())
    return np.repeat(base[..., None], 3, axis=2)


def _draw(image, colour, width=2):
    out = image.copy()
    points = np.array([[5, 20], [50, 45], [90, 40], [130, 90], [155, 150]], np.int32)
    cv2.polylines(out, [points], False, (colour,) * 3, width)
    return out, np.abs(out - image).max(axis=2) > 0.04


def test_a_white_crack_is_found():
    photo = _photo()
    damaged, truth = _draw(photo, 0.95, width=1)
    found = cracks.detect_cracks(damaged)
    near = cv2.dilate(truth.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    assert (found & truth).sum() >= 0.9 * truth.sum()
    assert (found & ~near).sum() <= 0.05 * found.sum()


def test_an_undamaged_photo_and_dark_lines_are_left_alone():
    photo = _photo(seed=1)
    assert cracks.detect_cracks(photo).sum() == 0
    # Thin dark lines (eyebrows, lashes, hair) are never taken for cracks.
    dark, _ = _draw(photo, 0.02)
    assert cracks.detect_cracks(dark).sum() == 0


def test_short_bright_marks_are_not_cracks():
    photo = _photo(seed=2)
    cv2.line(photo, (60, 60), (66, 62), (0.95,) * 3, 2)  # a catch-light, not a crack
    assert cracks.detect_cracks(photo).sum() == 0


def test_sensitivity_finds_fainter_cracks():
    photo = _photo(seed=3)
    faint, truth = _draw(photo, 0.75, width=1)
    low = cracks.detect_cracks(faint, sensitivity=0.0).sum()
    high = cracks.detect_cracks(faint, sensitivity=1.0).sum()
    assert high >= low and high > 0


def test_a_lit_edge_between_two_different_things_is_not_a_crack():
    # a rim light: a thin line along the border of a dark figure (≈ 0.07) on a mid-grey ground (≈ 0.44),
    # brighter than the ground by less than the two sides differ
    photo = _photo(seed=4)
    photo[:, :80] *= 0.15
    cv2.line(photo, (81, 0), (81, 159), (0.7,) * 3, 2)
    assert cracks.detect_cracks(photo).sum() == 0
    # the same line across the ground, with the same picture on both sides, is a crack
    crossed = _photo(seed=4)
    cv2.line(crossed, (120, 0), (120, 159), (0.7,) * 3, 2)
    assert cracks.detect_cracks(crossed)[:, 119:122].mean() > 0.9


def test_real_undamaged_photos_are_left_alone(shared):
    # hair, brickwork, printed dresses, tweed, lit edges: ridges everywhere, no cracks
    for path in sorted((shared / "data" / "photos" / "historical").glob("*")):
        bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
        scale = 640 / max(bgr.shape[:2])
        rgb = cv2.cvtColor(cv2.resize(bgr, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2RGB)
        assert cracks.detect_cracks(rgb.astype(np.float32) / 255).mean() < 0.02, path.name


def test_a_large_scan_is_searched_at_the_working_size():
    # a 2400-px scan: its crack is 8 px wide, wider than any crack at the working size's limits
    photo = cv2.resize(_photo(seed=6), (2400, 2400), interpolation=cv2.INTER_CUBIC)
    damaged = photo.copy()
    points = np.array([[75, 300], [750, 675], [1350, 600], [1950, 1350], [2325, 2250]], np.int32)
    cv2.polylines(damaged, [points], False, (0.95,) * 3, 8)
    truth = np.abs(damaged - photo).max(axis=2) > 0.04
    found = cracks.detect_cracks(damaged)
    assert found.shape == truth.shape
    assert (found & truth).sum() >= 0.9 * truth.sum()
    assert found.sum() <= 4 * truth.sum()
