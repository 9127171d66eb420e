"""Film dust and line-scratch repair on small generated sequences (bian.repair.film, .dust, .lines)."""
import cv2
import numpy as np
import pytest

from bian.analysis.luma import luma_of
from bian.repair import dust, film, inpaint, lines, motion


def _texture(h, w, seed=0):
    rng = np.random.default_rng(seed)
    base = cv2.GaussianBlur(rng.random((h, w)).astype(np.float32), (0, 0), 2.5)
    base = (base - base.min()) / (base.max() - base.min())
    return 0.2 + 0.6 * base


def _sequence(n=5, h=96, w=128, step=2, seed=0):
    """``n`` RGB frames of a texture panning ``step`` px per frame to the left."""
    big = _texture(h, w + step * n, seed)
    return [np.repeat(big[:, i * step:i * step + w, None], 3, axis=2).copy() for i in range(n)]


def _specks(frame):
    """A bright and a dark speck and a dark hair on the frame; returns (damaged, true mask)."""
    out = frame.copy()
    cv2.circle(out, (40, 50), 3, (0.97, 0.97, 0.97), -1)
    cv2.circle(out, (95, 30), 2, (0.03, 0.03, 0.03), -1)
    cv2.polylines(out, [np.array([[20, 80], [35, 75], [50, 82], [60, 78]], np.int32)], False, (0.05,) * 3, 1)
    return out, np.abs(out - frame).max(axis=2) > 0.04


def test_temporal_detector_finds_specks_and_nothing_else():
    frames = _sequence()
    frames[2], truth = _specks(frames[2])
    comps = [dust.compensate(frames[2], frames[k]) for k in (0, 1, 3, 4)]
    found = dust.detect_temporal(luma_of(frames[2]), comps)
    near = cv2.dilate(truth.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    assert (found & truth).sum() >= 0.9 * truth.sum()
    assert (found & ~near).sum() <= 0.05 * found.sum()


def test_repair_frame_restores_the_clean_frame():
    frames = _sequence()
    clean = frames[2].copy()
    frames[2], truth = _specks(frames[2])
    out, replaced = film.repair_frame(frames[2], [frames[k] for k in (0, 1, 3, 4)], line_scratches=False)
    assert out.dtype == np.float32 and out.shape == clean.shape
    assert replaced[truth].all()
    assert np.abs(out - clean)[truth].max() < 0.05
    assert np.abs(frames[2] - clean)[truth].max() > 0.5  # the damage was real
    # Outside what it replaced, the frame is untouched.
    assert np.array_equal(out[~replaced], frames[2][~replaced])


def test_clean_sequence_with_flicker_and_a_moving_object_is_left_alone():
    frames = _sequence(seed=3)
    gains = [1.0, 0.87, 1.12, 0.9, 1.15]
    for i, frame in enumerate(frames):
        cv2.rectangle(frame, (10 + 7 * i, 20), (30 + 7 * i, 45), (0.1, 0.1, 0.1), -1)  # a dark object moving fast
        frames[i] = np.clip(frame * gains[i], 0, 1).astype(np.float32)
    out, replaced = film.repair_frame(frames[2], [frames[k] for k in (0, 1, 3, 4)], line_scratches=False)
    assert replaced.sum() <= 0.002 * replaced.size
    assert np.abs(out - frames[2]).mean() < 1e-3


def test_small_object_crossing_fast_is_kept_and_dust_beside_it_is_not():
    # a ball 12 px a frame against a panning picture: in no neighbour at the same place (like dust), but
    # in each at steady steps along its path; the speck in the middle frame is in none
    frames = _sequence(n=5, h=96, w=160, seed=4)
    for i, frame in enumerate(frames):
        cv2.circle(frame, (30 + 12 * i, 40 + 3 * i), 3, (0.95, 0.95, 0.95), -1)
    clean = frames[2].copy()
    frames[2], truth = _specks(frames[2])
    ball = np.zeros(truth.shape, bool)
    cv2.circle(ball.view(np.uint8), (54, 46), 3, 1, -1)
    neighbours = [frames[k] for k in (0, 1, 3, 4)]
    _, replaced = film.repair_frame(frames[2], neighbours, line_scratches=False)
    assert replaced[ball].mean() > 0.5  # without the frames' order it is taken for dust
    out, replaced = film.repair_frame(frames[2], neighbours, line_scratches=False, offsets=[-2, -1, 1, 2])
    assert not replaced[ball].any()
    assert replaced[truth].mean() > 0.9 and np.abs(out - clean)[truth].max() < 0.05


def test_line_scratch_is_found_and_filled_from_beside():
    frame = np.repeat(_texture(120, 100, seed=5)[..., None], 3, axis=2)
    clean = frame.copy()
    frame[:, 60:62] = np.clip(frame[:, 60:62] + 0.3, 0, 1)
    truth = np.zeros(frame.shape[:2], bool)
    truth[:, 60:62] = True
    found = lines.detect_line_scratches(luma_of(frame))
    near = cv2.dilate(truth.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    assert (found & truth).sum() >= 0.9 * truth.sum()
    assert (found & ~near).sum() == 0
    out, _ = film.repair_frame(frame, [], line_scratches=True)
    assert np.abs(out - clean)[truth].mean() < 0.03 < np.abs(frame - clean)[truth].mean()


def test_a_pole_that_pans_with_the_picture_is_kept_and_a_scratch_the_picture_passes_under_is_not():
    # one thin dark vertical line drawn into the scene (it pans with it, 2 px a frame) and one cut into the
    # film (same frame column in every frame): alike in any one frame, told apart by the motion
    h, w, n = 120, 160, 5
    big = _texture(h, w + 2 * n, seed=7)
    big[:, 60:62] = 0.1
    frames = []
    for i in range(n):
        frame = np.repeat(big[:, i * 2:i * 2 + w, None], 3, axis=2).copy()
        frame[:, 110:112] = np.clip(frame[:, 110:112] - 0.3, 0, 1)
        frames.append(frame)
    single = lines.detect_line_scratches(luma_of(frames[2]))
    assert single[:, 56:58].mean() > 0.9 and single[:, 110:112].mean() > 0.9  # both look like scratches
    _, replaced = film.repair_frame(frames[2], [frames[k] for k in (0, 1, 3, 4)], offsets=[-2, -1, 1, 2])
    assert not replaced[:, 50:62].any()
    assert replaced[:, 110:112].mean() > 0.9


def test_short_vertical_content_is_not_a_scratch():
    frame = _texture(120, 100, seed=6)
    frame[30:70, 40:42] = 0.95  # a post a third of the frame tall
    assert not lines.detect_line_scratches(frame).any()


def test_dark_gate_border_at_the_side_is_not_a_scratch():
    frame = _texture(120, 100, seed=8)
    frame[:, -3:] = 0.01  # the black edge of the film gate, full height, at the picture's side
    frame[:, 60:62] -= 0.15  # while a real scratch is still found
    found = lines.detect_line_scratches(frame)
    assert not found[:, 90:].any()
    assert found[:, 60:62].mean() > 0.9


def _lettered(h=120, w=100, seed=9, stop=52):
    """A light, gently textured sign crossed by dark horizontal strokes 4 rows tall every 20 rows, from
    column 30 to ``stop`` (letters' strokes a scratch can run along or across)."""
    frame = 0.55 + 0.5 * (_texture(h, w, seed) - 0.2)
    for top in range(8, h - 4, 20):
        frame[top:top + 4, 30:stop] = 0.15
    return frame


def test_scratch_along_dark_strokes_is_found_over_its_whole_length():
    frame = _lettered()
    clean = frame.copy()
    frame[:, 52:55] = np.clip(frame[:, 52:55] - 0.3, 0, 1)  # dark scratch touching the strokes' ends
    truth = np.abs(frame - clean) > 0.04
    found = lines.detect_line_scratches(frame)
    near = cv2.dilate(truth.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    assert (found & truth).sum() >= 0.9 * truth.sum()
    assert (found & ~near).sum() == 0


def test_outline_of_an_object_is_not_a_scratch():
    frame = _texture(120, 100, seed=10)
    frame[:, :50] *= 0.4  # a dark wall left of a bright one: a corner,
    frame[:, 50:52] = 0.05  # marked by a thin dark line down its whole height
    assert not lines.detect_line_scratches(frame).any()


def test_scratch_removal_keeps_the_detail_under_it():
    grain = np.random.default_rng(12).normal(0, 0.03, (120, 100)).astype(np.float32)  # no fill can guess it
    frame = np.repeat(np.clip(_lettered(seed=11, stop=90) + grain, 0, 1)[..., None], 3, axis=2)
    clean = frame.copy()
    profile = np.float32([0.4, 1.0, 0.4])
    strength = 0.25 * (1 + 0.3 * np.sin(np.arange(120) / 12))  # varies slowly down the scratch
    frame[:, 69:72] = np.clip(frame[:, 69:72] - strength[:, None, None] * profile[None, :, None], 0, 1)
    mask = np.zeros(frame.shape[:2], bool)
    mask[:, 68:73] = True
    fill = inpaint.sparse_fill(frame, mask)
    out = lines.remove_line_scratches(frame, mask, fill)
    error_fill = np.abs(fill - clean)[mask].mean()
    assert np.abs(out - clean)[mask].mean() < 0.7 * error_fill
    assert np.array_equal(out[~mask], frame[~mask])


def test_still_frame_fallback_finds_an_isolated_speck_only():
    frame = np.repeat(_texture(80, 80, seed=7)[..., None], 3, axis=2)
    damaged = frame.copy()
    cv2.circle(damaged, (30, 30), 2, (1.0, 1.0, 1.0), -1)
    found = film.specks(luma_of(damaged))
    assert found[30, 30]
    assert found.sum() < 40
    assert not film.specks(luma_of(frame)).any()


def test_fill_flow_replaces_flow_under_the_mask_by_its_surroundings():
    field = np.zeros((40, 40, 2), np.float32)
    field[..., 0] = 1.5
    mask = np.zeros((40, 40), bool)
    mask[15:25, 15:25] = True
    field[mask] = 30.0
    filled = motion.fill_flow(field, mask)
    assert np.allclose(filled[mask, 0], 1.5, atol=1e-4)
    assert np.array_equal(filled[~mask], field[~mask])


@pytest.mark.parametrize("n", [0, 1])
def test_too_few_neighbours_do_not_use_the_temporal_detector(n):
    frames = _sequence()
    comps = [dust.compensate(frames[2], frames[1])] * n
    assert not dust.detect_temporal(luma_of(frames[2]), comps).any()


def test_fast_order_statistics_equal_numpys():
    rng = np.random.default_rng(3)
    values = rng.standard_normal((5, 6, 64)).astype(np.float32)
    for n in (64, 63):
        assert np.array_equal(dust._median(values[..., :n]), np.median(values[..., :n], axis=-1))
    residuals = rng.standard_normal((4, 7, 9)).astype(np.float32)
    residuals[rng.random(residuals.shape) < 0.3] = np.inf  # untrusted neighbours
    count = np.isfinite(residuals).sum(axis=0)
    ordered = np.sort(residuals, axis=0)
    assert np.array_equal(dust._rank_score(residuals, count), np.where(count >= 4, ordered[1], ordered[0]))


def test_a_still_photos_small_things_are_not_taken_for_dust(shared):
    # pebbles on a path, leaves, buttons, a crowd: many small bright or dark things together are picture
    counts = []
    for path in sorted((shared / "data" / "photos" / "historical").glob("*")):
        rgb = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB).astype(np.float32) / 255
        counts.append(cv2.connectedComponents(film.specks(luma_of(rgb)).astype(np.uint8))[0] - 1)
    assert np.mean(counts) < 60 and max(counts) < 120, counts

