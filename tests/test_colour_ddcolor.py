"""Automatic colouring: the DDColor loader and forward pass on checkpoints built here with the official
key names and shapes (real weights cannot be fetched on the development machines), and the one-line
message when the weights are missing."""
import numpy as np
import pytest
import torch

from bian.colour import auto
from bian.errors import ModelError
from bian.models.arch.ddcolor import DDColor, SpectralConv2d

TINY = ((96, 192, 384, 768), (3, 3, 9, 3))


def official_shapes(dims, depths):
    """Key → shape of an official DDColor ``params`` state dict, written out from the layout of the
    official code (piddnad/DDColor basicsr/archs/ddcolor_arch.py and its ConvNeXt, fastai-style U-Net
    blocks with spectral norm, Mask2Former-style transformer layers), independently of bian's classes."""
    s = {}
    enc = "encoder.arch."
    s[enc + "downsample_layers.0.0.weight"] = (dims[0], 3, 4, 4)
    s[enc + "downsample_layers.0.0.bias"] = (dims[0],)
    s[enc + "downsample_layers.0.1.weight"] = s[enc + "downsample_layers.0.1.bias"] = (dims[0],)
    for i in (1, 2, 3):
        s[f"{enc}downsample_layers.{i}.0.weight"] = s[f"{enc}downsample_layers.{i}.0.bias"] = (dims[i - 1],)
        s[f"{enc}downsample_layers.{i}.1.weight"] = (dims[i], dims[i - 1], 2, 2)
        s[f"{enc}downsample_layers.{i}.1.bias"] = (dims[i],)
    for i, (d, n) in enumerate(zip(dims, depths)):
        for j in range(n):
            b = f"{enc}stages.{i}.{j}."
            s[b + "dwconv.weight"], s[b + "dwconv.bias"] = (d, 1, 7, 7), (d,)
            s[b + "norm.weight"] = s[b + "norm.bias"] = s[b + "gamma"] = (d,)
            s[b + "pwconv1.weight"], s[b + "pwconv1.bias"] = (4 * d, d), (4 * d,)
            s[b + "pwconv2.weight"], s[b + "pwconv2.bias"] = (d, 4 * d), (d,)
        s[f"{enc}norm{i}.weight"] = s[f"{enc}norm{i}.bias"] = (d,)
    s[enc + "norm.weight"] = s[enc + "norm.bias"] = (dims[3],)

    def bn(prefix, c):
        for k in ("weight", "bias", "running_mean", "running_var"):
            s[f"{prefix}.{k}"] = (c,)
        s[f"{prefix}.num_batches_tracked"] = ()

    def sn(prefix, cout, cin, k, bias):
        s[f"{prefix}.weight_orig"] = (cout, cin, k, k)
        s[f"{prefix}.weight_u"], s[f"{prefix}.weight_v"] = (cout,), (cin * k * k,)
        if bias:
            s[f"{prefix}.bias"] = (cout,)

    for k, (up, skip, out) in enumerate(((dims[3], dims[2], 512), (512, dims[1], 512), (512, dims[0], 256))):
        b = f"decoder.layers.{k}."
        sn(b + "shuf.conv.0", out * 4, up, 1, False)
        bn(b + "shuf.conv.1", out * 4)
        bn(b + "bn", skip)
        sn(b + "conv.0", out, out + skip, 3, False)
        bn(b + "conv.2", out)
    sn("decoder.last_shuf.conv.0", 256 * 16, 256, 1, True)
    cd = "decoder.color_decoder."
    for i in range(9):
        for layer, attn in (("transformer_self_attention_layers", "self_attn"),
                            ("transformer_cross_attention_layers", "multihead_attn")):
            b = f"{cd}{layer}.{i}."
            s[b + attn + ".in_proj_weight"], s[b + attn + ".in_proj_bias"] = (768, 256), (768,)
            s[b + attn + ".out_proj.weight"], s[b + attn + ".out_proj.bias"] = (256, 256), (256,)
            s[b + "norm.weight"] = s[b + "norm.bias"] = (256,)
        b = f"{cd}transformer_ffn_layers.{i}."
        s[b + "linear1.weight"], s[b + "linear1.bias"] = (2048, 256), (2048,)
        s[b + "linear2.weight"], s[b + "linear2.bias"] = (256, 2048), (256,)
        s[b + "norm.weight"] = s[b + "norm.bias"] = (256,)
    s[cd + "decoder_norm.weight"] = s[cd + "decoder_norm.bias"] = (256,)
    s[cd + "query_feat.weight"] = s[cd + "query_embed.weight"] = (100, 256)
    s[cd + "level_embed.weight"] = (3, 256)
    for i, c in enumerate((512, 512, 256)):
        s[f"{cd}input_proj.{i}.weight"], s[f"{cd}input_proj.{i}.bias"] = (256, c, 1, 1), (256,)
    for i in range(3):
        s[f"{cd}color_embed.layers.{i}.weight"], s[f"{cd}color_embed.layers.{i}.bias"] = (256, 256), (256,)
    sn("refine_net.0.0", 2, 103, 1, True)
    s["mean"] = s["std"] = (1, 3, 1, 1)
    return s


def synthetic_checkpoint(path, dims=TINY[0], depths=TINY[1]):
    """An official-layout checkpoint with small weights (a cheap deterministic pattern, not random
    draws: 55 M values); the final 1×1 convolution is set so the output is a known function of the
    input (only the three input channels feed it)."""
    state = {}
    for n, (key, shape) in enumerate(official_shapes(dims, depths).items()):
        if key.endswith("num_batches_tracked"):
            state[key] = torch.tensor(0)
        elif key.endswith("running_var") or key.endswith("weight_u") or key.endswith("weight_v"):
            state[key] = torch.full(shape, 1.0)
        else:
            count = int(np.prod(shape))
            state[key] = (torch.arange(count, dtype=torch.float32) % 7 - 3).reshape(shape) * (0.002 + 0.001 * (n % 3))
    state["mean"] = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    state["std"] = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    w = torch.zeros(2, 103, 1, 1)
    w[0, 100:103, 0, 0] = torch.tensor([1.0, 2.0, 3.0])
    w[1, 100, 0, 0] = -4.0
    state["refine_net.0.0.weight_orig"] = w
    state["refine_net.0.0.weight_u"] = torch.tensor([0.6, 0.8])
    state["refine_net.0.0.weight_v"] = torch.zeros(103)
    state["refine_net.0.0.weight_v"][100] = 1.0  # σ = u·(W v) = 0.6·1 + 0.8·(−4) = −2.6
    state["refine_net.0.0.bias"] = torch.tensor([5.0, -7.0])
    torch.save({"params": state}, path)
    return state


def test_model_layout_matches_the_official_checkpoint_exactly():
    for variant, (dims, depths) in (("tiny", TINY), ("large", ((192, 384, 768, 1536), (3, 3, 27, 3)))):
        ours = {k: tuple(v.shape) for k, v in DDColor(variant).state_dict().items()} if variant == "tiny" else None
        if ours is not None:
            assert ours == official_shapes(dims, depths)
    # Total tensor bytes vs the published file sizes (220 393 145 and 911 950 059 bytes): the rest
    # is pickle overhead, ~430 bytes per tensor in both files.
    for dims, depths, size in ((TINY[0], TINY[1], 220393145), ((192, 384, 768, 1536), (3, 3, 27, 3), 911950059)):
        shapes = official_shapes(dims, depths)
        numel = sum(int(np.prod(s)) * (8 if k.endswith("num_batches_tracked") else 4) for k, s in shapes.items())
        assert 400 < (size - numel) / len(shapes) < 460


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    path = tmp_path_factory.mktemp("ddcolor") / "ddcolor_paper_tiny.pth"
    synthetic_checkpoint(path)
    return path


def _expected_ab(grey: float) -> tuple[float, float]:
    """What the synthetic checkpoint's last layer makes of a grey level (see synthetic_checkpoint)."""
    x = (grey - np.array([0.485, 0.456, 0.406])) / np.array([0.229, 0.224, 0.225])
    return (x[0] + 2 * x[1] + 3 * x[2]) / -2.6 + 5.0, (x[0] * -4) / -2.6 - 7.0


def test_loader_and_forward_on_an_official_layout_checkpoint(checkpoint):
    model = auto.load(checkpoint)
    assert model.variant == "tiny"
    grey = torch.full((1, 3, 32, 32), 0.5)
    with torch.inference_mode():
        out = model(grey)
    assert out.shape == (1, 2, 32, 32) and torch.isfinite(out).all()
    want_a, want_b = _expected_ab(0.5)
    assert out[0, 0].mean().item() == pytest.approx(want_a, abs=1e-4)
    assert out[0, 1].mean().item() == pytest.approx(want_b, abs=1e-4)
    ab = auto.predict(model, np.full((40, 60), 50.0, np.float32), 64, (20, 30))
    assert ab.shape == (20, 30, 2) and np.isfinite(ab).all()


def test_the_stage_runs_ddcolor_when_weights_are_given(checkpoint):
    from fractions import Fraction

    from bian.colour import lab
    from bian.frame import Frame
    from bian.stages.base import Window
    from bian.stages.colourise import Colourise

    stage = Colourise(model=str(checkpoint), render_size=64, radius=0, device="cpu", precision="fp32")
    assert stage.describe()["path"] == f"automatic: DDColor ({checkpoint})" and stage.describe()["render_size"] == 64
    picture = np.full((40, 60, 3), 0.5, np.float32)
    out = stage.process(Window([Frame(picture, Fraction(0), Fraction(1, 25), 0)], 0))[0].image
    grey_in = lab.lab_to_rgb(np.dstack([lab.luminance(picture), np.zeros((40, 60, 2), np.float32)]))[0, 0, 0]
    want = lab.rgb_to_lab(lab.merge(lab.luminance(picture), np.broadcast_to(np.float32(_expected_ab(grey_in)),
                                                                             (40, 60, 2))))[20, 30, 1:]
    assert np.abs(lab.rgb_to_lab(out)[20, 30, 1:] - want).max() < 0.5


def test_spectral_convolution_matches_pytorch_spectral_norm_at_inference():
    torch.manual_seed(0)
    reference = torch.nn.utils.spectral_norm(torch.nn.Conv2d(6, 4, 3, padding=1))
    reference.train()
    reference(torch.rand(1, 6, 8, 8))  # one power iteration updates u, v
    reference.eval()
    ours = SpectralConv2d(6, 4, 3, bias=True)
    ours.load_state_dict(reference.state_dict())
    x = torch.rand(2, 6, 10, 10)
    assert torch.allclose(ours(x), reference(x), atol=1e-5)


def test_incomplete_or_foreign_checkpoints_are_refused_in_one_line(tmp_path):
    path = tmp_path / "partial.pth"
    torch.save({"params": {"encoder.arch.downsample_layers.0.0.weight": torch.zeros(96, 3, 4, 4),
                           **{f"encoder.arch.stages.2.{j}.gamma": torch.zeros(384) for j in range(9)}}}, path)
    with pytest.raises(ModelError, match="lack") as err:
        auto.load(path)
    assert "\n" not in str(err.value)
    torch.save({"params": {"conv_first.weight": torch.zeros(1)}}, tmp_path / "esrgan.pth")
    with pytest.raises(ModelError, match="do not fit DDColor"):
        auto.load(tmp_path / "esrgan.pth")
    (tmp_path / "junk.pth").write_bytes(b"junk")
    with pytest.raises(ModelError, match="cannot read"):
        auto.load(tmp_path / "junk.pth")


def test_missing_weights_say_what_is_needed_and_how_to_get_it(tmp_path, monkeypatch):
    monkeypatch.setenv("BIAN_MODEL_DIR", str(tmp_path / "models"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("BIAN_ALLOW_DOWNLOAD", raising=False)
    with pytest.raises(ModelError) as err:
        auto.find_weights("auto")
    line = str(err.value)
    assert "\n" not in line
    assert "DDColor weights not found (ddcolor_modelscope.pth)" in line
    assert "https://huggingface.co/piddnad/DDColor-models/resolve/main/ddcolor_modelscope.pth" in line
    assert "--reference" in line and "--hints" in line
    with pytest.raises(ModelError, match="colour model file not found"):
        auto.find_weights(str(tmp_path / "nope.pth"))


def test_weights_are_found_in_the_model_folder(tmp_path, monkeypatch):
    import dataclasses
    import hashlib

    from bian.models import catalogue

    (tmp_path / "ddcolor-paper-tiny").mkdir()
    target = tmp_path / "ddcolor-paper-tiny" / "ddcolor_paper_tiny.pth"
    target.write_bytes(b"x")
    monkeypatch.setenv("BIAN_MODEL_DIR", str(tmp_path))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    # not the published file: reported as such (with the file), not skipped as if missing
    for spec in ("auto", "ddcolor-paper-tiny"):
        with pytest.raises(ModelError, match="sha256") as err:
            auto.find_weights(spec)
        assert str(target) in str(err.value)
    entry = catalogue.get("ddcolor-paper-tiny")
    published = dataclasses.replace(entry.files[0], sha256=hashlib.sha256(b"x").hexdigest())
    monkeypatch.setitem(catalogue.ENTRIES, entry.name, dataclasses.replace(entry, files=(published,)))
    assert auto.find_weights("auto") == target
    assert auto.find_weights("ddcolor-paper-tiny") == target


def test_render_size_must_suit_the_network():
    from bian.errors import OptionError

    assert auto.check_render_size(512) == 512
    for bad in (500, 32, 4096):
        with pytest.raises(OptionError):
            auto.check_render_size(bad)
