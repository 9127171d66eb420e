"""RIFE v4 loader and forward pass on checkpoints built with the official key names and shapes
(the real flownet.pkl cannot be fetched here)."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from bian.errors import ModelError  # noqa: E402
from bian.interpolate.rife import RifeInterpolator, load_ifnet  # noqa: E402
from bian.models.arch.ifnet import IFNet, IFNetConfig  # noqa: E402

V425 = IFNetConfig()  # v4.25 / v4.26
V422 = IFNetConfig(widths=(192, 128, 96, 64), head_width=32, head_out=8, block_out=6, carried=0)

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


def save_checkpoint(path, config, seed=0, prefix="module.", program=None):
    torch.manual_seed(seed)
    net = IFNet(config)
    if program is not None:
        program(net)
    state = {prefix + k: v.clone() for k, v in net.state_dict().items()}
    torch.save(state, path)
    return state


def test_key_names_and_shapes_are_the_official_ones():
    state = IFNet(V425).state_dict()
    for key, shape in OFFICIAL_425.items():
        assert tuple(state[key].shape) == shape, key
    assert sum(v.numel() for v in state.values()) > 5_000_000  # the ~22 MB v4.26 file


@pytest.mark.parametrize("config", [V425, V422], ids=["v4.25", "v4.22"])
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


def test_timestep_drives_the_blend(tmp_path):
    path = tmp_path / "flownet.pkl"
    save_checkpoint(path, V425, program=_blend_by_time)
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
    with pytest.raises(ModelError, match="RIFEv4.26"):
        RifeInterpolator(None, device="cpu")
