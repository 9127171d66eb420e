"""The offline face enhancement adapts to the face's damage: noise read as noise (not texture), blur read
on edges, a sharp clean face left nearly as it is, a blurred grainy face improved."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from bian.faces.enhance import blur_sigma, enhance_face, noise_sigma


def psnr(a, b):
    return 10 * np.log10(1 / max(np.mean((np.asarray(a, np.float64) - b) ** 2), 1e-12))


def detail(image):
    y = image.mean(axis=2)
    return float(np.std(y - cv2.GaussianBlur(y, (0, 0), 1.0)))


def texture(size: int, seed: int = 0) -> np.ndarray:
    """Noise-free texture: random fields smoothed at 1.2, 3 and 8 px (pores, folds, shading), grey RGB."""
    rng = np.random.default_rng(seed)
    field = sum(a * cv2.GaussianBlur(rng.standard_normal((size, size)).astype(np.float32), (0, 0), s)
                for s, a in ((1.2, 0.6), (3.0, 2.0), (8.0, 6.0)))
    return np.repeat((0.5 + 0.08 * field / field.std())[..., None], 3, axis=2).astype(np.float32)


def face_like(size: int, seed: int = 0) -> np.ndarray:
    """A sharp face-like picture (size × size, float32 RGB): skin-toned oval with fine texture, dark eyes
    and brows, a mouth, on a darker background; edges drawn antialiased at 4× and reduced."""
    big = np.full((4 * size, 4 * size, 3), 0.2, np.float32)
    c, s = 2 * size, 4 * size
    cv2.ellipse(big, (c, c), (int(0.34 * s), int(0.45 * s)), 0, 0, 360, (0.78, 0.62, 0.52), -1)
    for dx in (-1, 1):
        cv2.ellipse(big, (c + dx * int(0.14 * s), c - int(0.08 * s)), (int(0.06 * s), int(0.03 * s)), 0, 0, 360,
                    (0.12, 0.08, 0.06), -1)
        cv2.line(big, (c + dx * int(0.07 * s), c - int(0.16 * s)), (c + dx * int(0.22 * s), c - int(0.17 * s)),
                 (0.3, 0.2, 0.15), max(1, s // 60))
    cv2.ellipse(big, (c, c + int(0.22 * s)), (int(0.11 * s), int(0.03 * s)), 0, 0, 360, (0.55, 0.25, 0.25), -1)
    picture = cv2.resize(big, (size, size), interpolation=cv2.INTER_AREA)
    return np.clip(picture + 0.6 * (texture(size, seed) - 0.5), 0, 1).astype(np.float32)


def test_noise_sigma_reads_texture_as_texture_and_white_noise_as_noise():
    tex = texture(160)
    assert noise_sigma(tex) < 0.005
    noisy = tex + np.random.default_rng(1).normal(0, 0.03, tex.shape[:2]).astype(np.float32)[..., None]
    assert noise_sigma(noisy) == pytest.approx(0.03, abs=0.003)
    assert noise_sigma(np.zeros((6, 6, 3), np.float32)) == 0.0  # too small to measure


def test_blur_sigma_grows_with_blur():
    face = face_like(120)
    sharp = blur_sigma(face)
    assert sharp < 1.2
    assert 1.7 < blur_sigma(cv2.GaussianBlur(face, (0, 0), 2.0)) < 2.8
    assert blur_sigma(cv2.GaussianBlur(face, (0, 0), 1.0)) > sharp + 0.2


def test_sharp_clean_face_changes_little():
    face = face_like(120)
    out = enhance_face(face)
    assert out.dtype == np.float32 and out.shape == face.shape
    assert psnr(out, face) > 45
    assert detail(out) / detail(face) > 0.95


def test_blurred_grainy_face_improves():
    face = face_like(120)
    rng = np.random.default_rng(2)
    damaged = cv2.GaussianBlur(face, (0, 0), 1.5) + rng.normal(0, 0.05, face.shape[:2]).astype(np.float32)[..., None]
    damaged = np.clip(damaged, 0, 1)
    out = enhance_face(damaged)
    assert psnr(out, face) > psnr(damaged, face) + 2.0


def test_the_same_grain_is_texture_on_a_large_face_and_noise_on_a_small_one():
    grain = 0.025
    small, large = face_like(100, seed=3), face_like(400, seed=3)
    rng = np.random.default_rng(4)
    grainy_small = small + rng.normal(0, grain, small.shape[:2]).astype(np.float32)[..., None]
    grainy_large = large + rng.normal(0, grain, large.shape[:2]).astype(np.float32)[..., None]
    out_small, out_large = enhance_face(grainy_small), enhance_face(grainy_large)
    # the small face: grain reduced; the large one: grain kept (a fine print's texture)
    assert psnr(out_small, small) > psnr(grainy_small, small) + 1.0
    assert detail(out_large) / detail(grainy_large) > 0.95
    # on film (grain changes every frame) none is kept: the large face's grain is reduced too
    assert psnr(enhance_face(grainy_large, grain_kept=0.0), large) > psnr(grainy_large, large) + 2.0


def test_restore_faces_keeps_a_stills_fine_grain_and_removes_films():
    """The same faint grain is left on a photo (the print's texture) and reduced on film (it changes every frame)."""
    from bian.faces.face import Face
    from bian.faces.restore import restore_faces
    size, c = 160, 80.0
    image = face_like(size)
    eyes_y, mouth_y = c - 0.08 * size, c + 0.22 * size
    points5 = np.array([[c - 0.14 * size, eyes_y], [c + 0.14 * size, eyes_y], [c, c + 0.05 * size],
                        [c - 0.11 * size, mouth_y], [c + 0.11 * size, mouth_y]], np.float32)
    face = Face(box=np.array([c - 0.34 * size, c - 0.45 * size, c + 0.34 * size, c + 0.45 * size], np.float32),
                score=1.0, points5=points5)
    grain = np.random.default_rng(5).normal(0, 0.015, image.shape[:2]).astype(np.float32)[..., None]
    grainy = np.clip(image + grain, 0, 1)
    still, _ = restore_faces([grainy], 0, [face])
    film, _ = restore_faces([grainy, grainy], 0, [face])
    inside = (slice(40, 120), slice(50, 110))
    assert psnr(still[inside], grainy[inside]) > 50  # kept as it is
    assert psnr(film[inside], image[inside]) > psnr(grainy[inside], image[inside]) + 0.5  # grain reduced
