"""Spatial fills (bian.repair.inpaint) on small generated images."""
import numpy as np
import pytest

from bian.repair import inpaint


def _psnr(a, b, mask):
    return 10 * np.log10(1 / max(float(np.mean((a[mask] - b[mask]) ** 2)), 1e-12))


def _crack(h, w):
    mask = np.zeros((h, w), bool)
    for x in range(w):
        y = int(h / 2 + 0.2 * h * np.sin(x / 9))
        mask[y - 1:y + 2, x] = True
    return mask


def test_diffuse_reproduces_a_linear_ramp():
    y, x = np.mgrid[0:64, 0:80].astype(np.float32)
    ramp = np.stack([x / 80, y / 64, (x + y) / 144], axis=2)
    mask = np.zeros((64, 80), bool)
    mask[20:40, 30:55] = True
    out = inpaint.diffuse(np.where(mask[..., None], 0.0, ramp).astype(np.float32), mask)
    assert np.abs(out - ramp).max() < 5e-3


@pytest.mark.parametrize("fill", [inpaint.diffuse, inpaint.sparse_fill, inpaint.patch_fill, inpaint.inpaint])
def test_fills_leave_undamaged_pixels_alone(fill):
    rng = np.random.default_rng(0)
    image = rng.random((48, 56, 3)).astype(np.float32)
    mask = _crack(48, 56)
    out = fill(image, mask)
    assert out.shape == image.shape and out.dtype == np.float32
    assert np.array_equal(out[~mask], image[~mask])
    assert np.array_equal(fill(image, np.zeros((48, 56), bool)), image)


def test_sparse_fill_carries_texture_across_a_crack_better_than_diffusion():
    y, x = np.mgrid[0:96, 0:96].astype(np.float32)
    stripes = (0.5 + 0.35 * np.sin(x * 2 * np.pi / 7 + y * 2 * np.pi / 11)).astype(np.float32)
    mask = _crack(96, 96)
    damaged = np.where(mask, 1.0, stripes).astype(np.float32)
    smooth = inpaint.diffuse(damaged, mask)
    sparse = inpaint.sparse_fill(damaged, mask)
    assert _psnr(sparse, stripes, mask) > _psnr(smooth, stripes, mask) + 3.0


def test_patch_fill_continues_a_regular_texture_into_a_hole():
    y, x = np.mgrid[0:80, 0:80]
    checks = (((x // 4) + (y // 4)) % 2).astype(np.float32) * 0.6 + 0.2
    mask = np.zeros((80, 80), bool)
    mask[32:46, 30:44] = True
    damaged = np.where(mask, 1.0, checks).astype(np.float32)
    assert _psnr(inpaint.patch_fill(damaged, mask), checks, mask) > _psnr(inpaint.diffuse(damaged, mask), checks, mask) + 3.0


def test_inpaint_sends_wide_holes_to_patches_and_thin_cracks_to_sparse_fill():
    rng = np.random.default_rng(1)
    image = rng.random((64, 64)).astype(np.float32)
    hole = np.zeros((64, 64), bool)
    hole[10:30, 10:30] = True
    crack = np.zeros((64, 64), bool)
    crack[50, 5:60] = True
    out = inpaint.inpaint(image, hole | crack)
    cracks_first = inpaint.sparse_fill(image, crack)
    assert np.allclose(out[crack], cracks_first[crack], atol=1e-6)
    assert np.allclose(out[hole], inpaint.patch_fill(cracks_first, hole)[hole], atol=1e-6)
