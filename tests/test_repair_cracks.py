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
