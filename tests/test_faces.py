"""bian.faces on small generated or derived inputs: detection, alignment, tracking, fusion, enhancement,
paste-back and the identity guard."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from bian.errors import OptionError
from bian.faces import align, detect_faces, identity, link, smooth
from bian.faces.align import TEMPLATE_512, align_face, similarity
from bian.faces.enhance import enhance_face, face_region, noise_sigma
from bian.faces.face import Face, points5_from_68
from bian.faces.fusion import align_neighbour, fuse
from bian.faces.paste import face_outline, match_colour, paste, soft_mask
from bian.faces.restore import restore_faces
from bian.faces.track import landmark_jitter


@pytest.fixture(scope="module")
def astronaut() -> np.ndarray:
    """A real portrait that ships inside scikit-image (no download), float32 RGB in [0, 1]."""
    from skimage.data import astronaut as load
    return load().astype(np.float32) / 255


@pytest.fixture(scope="module")
def astro_face(astronaut) -> Face:
    faces = detect_faces(astronaut, backend="dlib")
    return max(faces, key=lambda f: f.score)


def psnr(a, b):
    return 10 * np.log10(1 / np.mean((np.asarray(a, np.float64) - b) ** 2))


# ---------------------------------------------------------------- detection and landmarks

def test_dlib_detects_the_astronaut_with_68_landmarks(astro_face):
    f = astro_face
    assert f.landmarks.shape == (68, 2) and f.points5.shape == (5, 2)
    # box around the face, which is in the top middle of the picture
    assert 150 < f.center[0] < 300 and 60 < f.center[1] < 190
    # eyes on the left/right of the nose, above it; mouth below the nose
    left_eye, right_eye, nose, mouth_l, mouth_r = f.points5
    assert left_eye[0] < nose[0] < right_eye[0]
    assert max(left_eye[1], right_eye[1]) < nose[1] < min(mouth_l[1], mouth_r[1])
    margin = 0.3 * f.size  # dlib's box stops near the mouth; the jaw line runs below it
    assert np.all((f.landmarks >= f.box[:2] - margin) & (f.landmarks <= f.box[2:] + margin))


def test_detection_on_grey_faded_small_and_many_faces(astronaut, astro_face, shared):
    """A 3×4 grid of grey, faded, shrunk copies of the face: every copy is found (YuNet), once."""
    x0, y0, x1, y1 = (astro_face.box + [-40, -50, 40, 40]).astype(int)
    tile = astronaut[y0:y1, x0:x1].mean(axis=2)
    tile = cv2.resize(tile, None, fx=0.3, fy=0.3, interpolation=cv2.INTER_AREA)  # face ≈ 27 px
    faded = 0.45 + 0.3 * tile  # low contrast, lifted blacks
    grid = np.tile(faded, (3, 4))
    faces = detect_faces(grid, backend="yunet", landmarks=None, model_path=shared / "weights" / "yunet")
    assert len(faces) == 12
    centres = np.array([f.center for f in faces])
    th, tw = faded.shape
    cells = {(int(cx // tw), int(cy // th)) for cx, cy in centres}
    assert len(cells) == 12


def test_detect_rejects_unknown_backend(astronaut):
    with pytest.raises(OptionError):
        detect_faces(astronaut, backend="magic")


def test_points5_from_68_takes_eye_centres_nose_and_mouth_corners():
    lm = np.zeros((68, 2), np.float32)
    lm[36:42] = (10, 20)
    lm[42:48] = (30, 20)
    lm[30] = (20, 30)
    lm[48], lm[54] = (12, 40), (28, 40)
    assert np.allclose(points5_from_68(lm), [[10, 20], [30, 20], [20, 30], [12, 40], [28, 40]])


# ---------------------------------------------------------------- alignment

def test_similarity_recovers_a_known_transform():
    rng = np.random.default_rng(0)
    src = rng.uniform(0, 100, (10, 2))
    angle, scale, shift = 0.3, 1.7, np.array([5.0, -12.0])
    rot = scale * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    dst = src @ rot.T + shift
    m = similarity(src, dst)
    assert np.allclose(m[:, :2], rot, atol=1e-9) and np.allclose(m[:, 2], shift, atol=1e-7)
    assert np.allclose(align.apply(align.invert(m), dst), src, atol=1e-3)


def test_align_face_puts_the_five_points_on_the_template(astronaut, astro_face):
    crop, m = align_face(astronaut, astro_face.points5, 256)
    assert crop.shape == (256, 256, 3)
    moved = align.apply(m, astro_face.points5)
    # five real points cannot all land exactly; within 6 % of the crop
    assert np.abs(moved - TEMPLATE_512 / 2).max() < 0.06 * 256


# ---------------------------------------------------------------- tracking

def _face(x, y, s=40.0, lm=None):
    box = np.array([x, y, x + s, y + s], np.float32)
    p5 = np.array([[x + .3 * s, y + .4 * s], [x + .7 * s, y + .4 * s], [x + .5 * s, y + .6 * s],
                   [x + .35 * s, y + .8 * s], [x + .65 * s, y + .8 * s]], np.float32)
    return Face(box=box, score=0.9, points5=p5, landmarks=lm)


def test_link_keeps_ids_handles_entering_leaving_and_cuts():
    frames = []
    for t in range(8):
        faces = [_face(10 + 3 * t, 10)]  # A moves right the whole time
        if 2 <= t <= 4:
            faces.append(_face(200, 100 + t))  # B enters at 2, leaves after 4
        if t == 3:
            faces = faces[::-1]  # detection order must not matter
        frames.append(faces)
    frames[5] = []  # A missed in one frame (gap)
    linked = link(frames, cuts=[t == 7 for t in range(8)])
    ids_a = [min(f.track_id for f in fs if f.box[0] < 150) for fs in linked if fs]
    assert ids_a[:6] == [ids_a[0]] * 6  # same id through the gap at frame 5
    ids_b = {f.track_id for fs in linked for f in fs if f.box[0] >= 150}
    assert len(ids_b) == 1 and ids_a[0] not in ids_b
    assert linked[7][0].track_id not in ids_b | {ids_a[0]}  # the cut starts a new track


def test_smoothing_cuts_landmark_jitter_and_follows_motion():
    rng = np.random.default_rng(1)
    base = rng.uniform(0, 60, (68, 2))
    base[36], base[45] = (10, 20), (50, 20)
    frames, truth = [], []
    for t in range(30):
        clean = base + (2.0 * t, 0.5 * t)  # steady motion
        truth.append(clean)
        frames.append([_face(clean[:, 0].min(), clean[:, 1].min(), 60, clean + rng.normal(0, 0.6, clean.shape))])
    linked = link(frames)
    smoothed = []
    for c in range(30):
        lo, hi = max(0, c - 4), min(30, c + 5)
        smoothed.append(smooth(linked[lo:hi], c - lo, 2.0)[0].landmarks)
    raw = np.stack([fs[0].landmarks for fs in linked])
    assert landmark_jitter([raw]) > 3 * landmark_jitter([np.stack(smoothed)])
    # no lag: the smoothed track stays on the true path, also at both ends
    err = np.abs(np.stack(smoothed) - np.stack(truth)).mean(axis=(1, 2))
    assert err.max() < 0.5 and err.mean() < 0.3


# ---------------------------------------------------------------- fusion, enhancement, paste-back

def _texture(h=96, w=96, seed=3):
    rng = np.random.default_rng(seed)
    img = cv2.GaussianBlur(rng.uniform(0, 1, (h, w, 3)).astype(np.float32), (0, 0), 2.0)
    return (img - img.min()) / (img.max() - img.min()) * 0.8 + 0.1


def test_fusion_of_shifted_noisy_copies_beats_the_single_frame():
    rng = np.random.default_rng(4)
    big = _texture(160, 160)
    pts = np.array([[60, 60], [100, 60], [80, 80], [65, 100], [95, 100]], np.float64)
    region = (40, 40, 120, 120)
    clean = big[40:120, 40:120]
    crops, lms = [], []
    for dx, dy in [(0, 0), (1.5, -0.7), (-2.2, 1.1), (0.6, 2.4), (-1.1, -1.8)]:
        m = np.array([[1, 0, dx], [0, 1, dy]], np.float64)
        moved = cv2.warpAffine(big, m, (160, 160), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT101)
        crops.append(np.clip(moved + rng.normal(0, 0.06, moved.shape), 0, 1).astype(np.float32))
        lms.append(pts + (dx, dy) + rng.normal(0, 0.3, pts.shape))  # landmarks a bit off, like a detector's
    ref = crops[0][40:120, 40:120]
    aligned = [align_neighbour(f, lm, lms[0], ref, region) for f, lm in zip(crops[1:], lms[1:])]
    fused, support = fuse(ref, aligned, 0.06)
    inner = (slice(8, -8), slice(8, -8))
    assert psnr(fused[inner], clean[inner]) > psnr(ref[inner], clean[inner]) + 4.0
    assert np.median(support) > 3.5


def test_noise_sigma_and_enhancement_reduce_noise(astronaut, astro_face):
    x0, y0, x1, y1 = face_region(astronaut.shape[:2], face_outline(astro_face.landmarks))
    clean = astronaut[y0:y1, x0:x1]
    noisy = np.clip(clean + np.random.default_rng(5).normal(0, 0.05, clean.shape), 0, 1).astype(np.float32)
    assert 0.03 < noise_sigma(noisy) < 0.08
    out = enhance_face(noisy, astro_face.landmarks - (x0, y0), keep_texture=0.0, sharpen=0.3)
    assert out.dtype == np.float32 and out.min() >= 0 and out.max() <= 1
    assert psnr(out, clean) > psnr(noisy, clean) + 3.0


def test_soft_mask_is_zero_outside_one_inside_and_smooth():
    outline = np.array([[20, 20], [80, 20], [80, 80], [20, 80]], np.float32)
    m = soft_mask((100, 100), outline, feather=10)
    assert m[5, 5] == 0 and m[50, 50] == 1 and 0 < m[50, 25] < 1
    assert np.abs(np.diff(m, axis=1)).max() < 0.2  # no hard edge


def test_paste_with_colour_matching_leaves_no_seam():
    image = _texture(120, 120)
    restored = image + 0.15  # a restoration that drifted in brightness
    restored[40:80, 40:80] += np.random.default_rng(6).normal(0, 0.02, (40, 40, 3))  # and added detail
    matched = match_colour(restored, image, sigma=8)
    outline = np.array([[30, 30], [90, 30], [90, 90], [30, 90]], np.float32)
    out = paste(image, matched, soft_mask((120, 120), outline, 8))
    # along the mask's edge the result equals the picture within a small fraction of the drift
    ring = (soft_mask((120, 120), outline + [[-4, -4], [4, -4], [4, 4], [-4, 4]], 1) > 0) & \
        (soft_mask((120, 120), outline, 1) < 1)
    assert np.abs(out - image)[ring].max() < 0.03
    assert np.abs(out - image)[55:65, 55:65].mean() < 0.05  # the drift did not survive inside either


# ---------------------------------------------------------------- identity and restoration

def test_identity_distance_and_guard(astronaut, astro_face):
    lm = astro_face.landmarks
    assert identity.distance(astronaut, astronaut, lm) == pytest.approx(0.0, abs=1e-4)
    # an impostor: the face scrambled into blocks, same framing and landmarks
    impostor = astronaut.copy()
    x0, y0, x1, y1 = astro_face.box.astype(int)
    face = impostor[y0:y1, x0:x1]
    impostor[y0:y1, x0:x1] = np.rot90(face, 2)
    far = identity.distance(astronaut, impostor, lm)
    assert far > 0.4
    out, report = identity.guard(astronaut, impostor, lm, threshold=0.35)
    assert report["distance"] == pytest.approx(far, abs=1e-3)
    assert report["blend"] < 1
    assert identity.distance(astronaut, out, lm) <= 0.35 + 1e-3


def test_restore_photo_keeps_identity_and_touches_only_faces(astronaut, astro_face):
    noisy = np.clip(astronaut + np.random.default_rng(8).normal(0, 0.04, astronaut.shape), 0, 1).astype(np.float32)
    out, reports = restore_faces([noisy], 0, [astro_face])
    assert out.shape == noisy.shape and out.dtype == np.float32
    assert reports[0]["identity"]["final"] <= 0.35
    x0, y0, x1, y1 = astro_face.box.astype(int)
    assert psnr(out[y0:y1, x0:x1], astronaut[y0:y1, x0:x1]) > psnr(noisy[y0:y1, x0:x1], astronaut[y0:y1, x0:x1])
    assert np.array_equal(out[400:], noisy[400:])  # far from the face nothing changes
