"""The ncnn reader: param parsing, fp32 / fp16 / lookup-table weight storage, mapping onto SRVGGNetCompact,
and (when the ``ncnn`` package is installed) agreement with the ncnn engine on the same synthetic files."""
import importlib.util

import numpy as np
import pytest
import torch

from bian.errors import ModelError
from bian.models import ncnn
from bian.models.arch.srvgg import SRVGGNetCompact
from bian.models.loader import from_ncnn, load_file

TAG_FP16 = 0x01306B47


def write_srvgg_ncnn(folder, net: SRVGGNetCompact, storage: str = "fp32", name: str = "tiny"):
    """Write ``net`` as an ncnn model the way ncnn's converters lay it out; returns the .param path."""
    convs = [m for m in net.body if isinstance(m, torch.nn.Conv2d)]
    prelus = [m for m in net.body if isinstance(m, torch.nn.PReLU)]
    lines, blob = [], "x0"
    lines.append("Input in 0 1 data")
    lines.append("Split split 1 2 data d0 d1")
    blob = "d0"
    for i, conv in enumerate(convs):
        w = conv.weight
        lines.append(f"Convolution conv{i} 1 1 {blob} c{i} 0={w.shape[0]} 1=3 4=1 5=1 6={w.numel()}")
        blob = f"c{i}"
        if i < len(prelus):
            lines.append(f"PReLU prelu{i} 1 1 {blob} p{i} 0={w.shape[0]}")
            blob = f"p{i}"
    lines.append(f"PixelShuffle ps 1 1 {blob} up 0={net.upscale}")
    lines.append(f"Interp near 1 1 d1 base 0=1 1={net.upscale:.6e} 2={net.upscale:.6e}")
    lines.append("BinaryOp add 2 1 up base output")
    text = "7767517\n%d %d\n" % (len(lines), len(lines) + 2) + "\n".join(lines) + "\n"
    param = folder / f"{name}.param"
    param.write_text(text)
    with open(folder / f"{name}.bin", "wb") as fh:
        for i, conv in enumerate(convs):
            flat = conv.weight.detach().numpy().ravel()
            if storage == "fp16":
                data = flat.astype("<f2").tobytes()
                fh.write(TAG_FP16.to_bytes(4, "little") + data + b"\0" * (-len(data) % 4))
            elif storage == "table":
                table = np.linspace(flat.min(), flat.max(), 256).astype("<f4")
                index = np.abs(flat[:, None] - table[None]).argmin(1).astype(np.uint8)
                fh.write(bytes([1, 0, 0, 0]) + table.tobytes() + index.tobytes() + b"\0" * (-len(index) % 4))
            else:
                fh.write(b"\0\0\0\0" + flat.astype("<f4").tobytes())
            fh.write(conv.bias.detach().numpy().astype("<f4").tobytes())
            if i < len(prelus):
                fh.write(prelus[i].weight.detach().numpy().astype("<f4").tobytes())
    return param


def tiny_srvgg(seed=0, upscale=4):
    torch.manual_seed(seed)
    net = SRVGGNetCompact(num_feat=8, num_conv=3, upscale=upscale).eval()
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.randn_like(p) * 0.2)
    return net


def test_parse_param_values_and_arrays():
    layers = ncnn.parse_param("7767517\n2 3\nInput in 0 1 data 0=8\n"
                              "Convolution c 1 1 data out 0=4 1=3 5=1 6=108 9=2 -23310=1,2.000000e-01\n")
    assert [layer.type for layer in layers] == ["Input", "Convolution"]
    conv = layers[1]
    assert conv.bottoms == ["data"] and conv.tops == ["out"]
    assert conv.params[0] == 4 and isinstance(conv.params[0], int)
    assert conv.params[10] == [pytest.approx(0.2)]


@pytest.mark.parametrize("text", ["123\n1 1\nInput in 0 1 data\n", "7767517\n3 3\nInput in 0 1 data\n",
                                  "7767517\n1 1\nInput in 0 1 data 0=x\n"])
def test_parse_param_rejects_bad_files(text):
    with pytest.raises(ModelError):
        ncnn.parse_param(text)


@pytest.mark.parametrize("storage", ["fp32", "fp16", "table"])
def test_storage_formats_map_onto_network(tmp_path, storage):
    net = tiny_srvgg()
    param = write_srvgg_ncnn(tmp_path, net, storage)
    graph = ncnn.read(param)
    weight = graph.of_type("Convolution")[1].weights["weight"]
    expected = net.body[2].weight.detach().numpy()
    assert weight.shape == expected.shape
    tolerance = {"fp32": 0, "fp16": 2e-3, "table": (expected.max() - expected.min()) / 255}[storage]
    assert np.abs(weight - expected).max() <= tolerance + 1e-7
    descriptor = from_ncnn(graph, "tiny")
    assert descriptor.arch == "SRVGGNetCompact" and descriptor.scale == 4
    x = torch.rand(1, 3, 9, 11)
    if storage == "fp32":
        assert torch.equal(descriptor(x), net(x).detach())
    else:
        assert (descriptor(x) - net(x).detach()).abs().max() < 0.1


def test_truncated_and_oversized_bin_are_refused(tmp_path):
    param = write_srvgg_ncnn(tmp_path, tiny_srvgg())
    data = (tmp_path / "tiny.bin").read_bytes()
    (tmp_path / "tiny.bin").write_bytes(data[:-10])
    with pytest.raises(ModelError, match="shorter"):
        ncnn.read(param)
    (tmp_path / "tiny.bin").write_bytes(data + b"\0" * 8)
    with pytest.raises(ModelError, match="more data"):
        ncnn.read(param)


def test_int8_weights_and_unknown_layers_are_refused(tmp_path):
    param = write_srvgg_ncnn(tmp_path, tiny_srvgg())
    data = bytearray((tmp_path / "tiny.bin").read_bytes())
    data[:4] = (0x000D4B38).to_bytes(4, "little")
    (tmp_path / "tiny.bin").write_bytes(bytes(data))
    with pytest.raises(ModelError, match="int8"):
        ncnn.read(param)
    param.write_text(param.read_text().replace("PixelShuffle", "InnerProduct"))
    with pytest.raises(ModelError, match="not supported"):
        ncnn.read(param)


def test_bin_path_can_be_given_instead_of_param(tmp_path):
    net = tiny_srvgg(upscale=2)
    write_srvgg_ncnn(tmp_path, net)
    descriptor = load_file(tmp_path / "tiny.bin")
    assert descriptor.scale == 2 and descriptor.source.endswith("tiny.bin")


@pytest.mark.skipif(importlib.util.find_spec("ncnn") is None, reason="the ncnn package is not installed")
@pytest.mark.parametrize("storage", ["fp32", "fp16"])
def test_synthetic_files_match_the_ncnn_engine(tmp_path, storage):
    import ncnn as engine
    param = write_srvgg_ncnn(tmp_path, tiny_srvgg(3), storage)
    x = np.random.default_rng(1).random((3, 13, 17), dtype=np.float32)
    net = engine.Net()
    for flag in ("use_vulkan_compute", "use_fp16_storage", "use_fp16_arithmetic", "use_fp16_packed",
                 "use_bf16_storage"):
        setattr(net.opt, flag, False)
    net.load_param(str(param))
    net.load_model(str(param.with_suffix(".bin")))
    ex = net.create_extractor()
    ex.input("data", engine.Mat(x))
    _, out = ex.extract("output")
    ours = load_file(param)(torch.from_numpy(x)[None])[0].numpy()
    assert np.abs(np.array(out) - ours).max() < 1e-3
