"""Reader for ncnn models (``.param`` text graph + ``.bin`` weights), without the ncnn engine.

The ``.param`` file lists layers in execution order; the ``.bin`` file holds, in the same order,
the weights of the layers that have any. Convolution weights carry a 4-byte storage tag
(fp32, fp16, or a 256-entry lookup table); biases and PReLU slopes are raw fp32.
This module only parses; :mod:`bian.models.loader` maps the graph onto bian's networks.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import ModelError

MAGIC = 7767517
_TAG_FP16 = 0x01306B47
_TAG_INT8 = 0x000D4B38
_TAG_FP32_SCALED = 0x0002C056

# Layers that hold no weights in the .bin file; anything else unknown stops the reader,
# because the byte offsets of all later layers would be wrong.
_WEIGHTLESS = {
    "Input", "Split", "Concat", "Eltwise", "BinaryOp", "UnaryOp", "Interp", "PixelShuffle",
    "Reorg", "ReLU", "Sigmoid", "TanH", "Clip", "Crop", "Padding", "Reshape", "Permute",
    "Flatten", "Noop", "Dropout", "Pooling", "Softmax", "Slice", "HardSigmoid", "HardSwish",
    "Swish", "Mish", "ELU", "GELU",
}


@dataclass
class Layer:
    type: str
    name: str
    bottoms: list[str]
    tops: list[str]
    params: dict[int, int | float | list]
    """Param id → value (int, float, or list for array params)."""
    weights: dict[str, np.ndarray] = field(default_factory=dict)
    """float32 arrays: ``weight`` (O×I×kh×kw for convolutions), ``bias``, ``slope``."""

    def param(self, key: int, default=None):
        return self.params.get(key, default)


@dataclass
class Graph:
    layers: list[Layer]
    path: Path
    """The .param file, for messages."""

    def of_type(self, kind: str) -> list[Layer]:
        return [layer for layer in self.layers if layer.type == kind]


def _value(text: str) -> int | float:
    return float(text) if any(c in text for c in ".eE") else int(text)


def parse_param(text: str, path: str | os.PathLike = "<param>") -> list[Layer]:
    """Layers of a text ``.param`` file, in file order (weights not yet attached)."""
    lines = [line.split() for line in text.splitlines() if line.strip()]
    if not lines or lines[0] != [str(MAGIC)]:
        raise ModelError("not an ncnn text .param file (bad magic number)", path,
                         "give the .param file written by ncnn's converters")
    try:
        layer_count = int(lines[1][0])
    except (IndexError, ValueError):
        raise ModelError("ncnn .param file has no layer count", path) from None
    layers = []
    for fields in lines[2:2 + layer_count]:
        try:
            kind, name, n_in, n_out = fields[0], fields[1], int(fields[2]), int(fields[3])
            bottoms = fields[4:4 + n_in]
            tops = fields[4 + n_in:4 + n_in + n_out]
            params: dict[int, int | float | list] = {}
            for item in fields[4 + n_in + n_out:]:
                key_text, value_text = item.split("=", 1)
                key = int(key_text)
                if key <= -23300:  # array param: -23300 - id = count,v1,v2...
                    values = value_text.split(",")
                    params[-23300 - key] = [_value(v) for v in values[1:1 + int(values[0])]]
                else:
                    params[key] = _value(value_text)
        except (IndexError, ValueError):
            raise ModelError(f"malformed layer line '{' '.join(fields)}' in ncnn .param", path) from None
        layers.append(Layer(kind, name, bottoms, tops, params))
    if len(layers) != layer_count:
        raise ModelError("ncnn .param file is truncated", path)
    return layers


class _Reader:
    """Sequential reader over the .bin bytes with ncnn's storage tags."""

    def __init__(self, data: bytes, path: Path):
        self.data = data
        self.pos = 0
        self.path = path

    def take(self, nbytes: int) -> bytes:
        if self.pos + nbytes > len(self.data):
            raise ModelError("ncnn .bin file is shorter than its .param file says", self.path,
                             "the .param and .bin files must come from the same model")
        chunk = self.data[self.pos:self.pos + nbytes]
        self.pos += nbytes
        return chunk

    def raw(self, count: int) -> np.ndarray:
        return np.frombuffer(self.take(4 * count), dtype="<f4").astype(np.float32)

    def tagged(self, count: int) -> np.ndarray:
        head = self.take(4)
        tag = int.from_bytes(head, "little")
        if tag == _TAG_FP16:
            aligned = (2 * count + 3) // 4 * 4
            return np.frombuffer(self.take(aligned)[:2 * count], dtype="<f2").astype(np.float32)
        if tag == _TAG_INT8:
            raise ModelError("int8-quantised ncnn weights are not supported", self.path,
                             "use the fp32 or fp16 version of the model")
        if tag == _TAG_FP32_SCALED or tag == 0:
            return self.raw(count)
        if sum(head) != 0:  # 256-entry float table followed by one uint8 index per weight
            table = self.raw(256)
            aligned = (count + 3) // 4 * 4
            index = np.frombuffer(self.take(aligned)[:count], dtype=np.uint8)
            return table[index]
        return self.raw(count)


def _load_weights(layer: Layer, reader: _Reader) -> None:
    p = layer.param
    if layer.type in ("Convolution", "ConvolutionDepthWise"):
        if p(19, 0):
            raise ModelError(f"ncnn layer {layer.name} takes dynamic weights; not supported", reader.path)
        out, size = int(p(0, 0)), int(p(6, 0))
        kw = int(p(1, 0))
        kh = int(p(11, kw))
        if p(8, 0):
            raise ModelError("int8-quantised ncnn weights are not supported", reader.path,
                             "use the fp32 or fp16 version of the model")
        weight = reader.tagged(size)
        groups = int(p(7, 1)) if layer.type == "ConvolutionDepthWise" else 1
        layer.weights["weight"] = weight.reshape(out, size // (out * kh * kw), kh, kw)
        layer.params.setdefault(7, groups)
        if p(5, 0):
            layer.weights["bias"] = reader.raw(out)
    elif layer.type == "PReLU":
        layer.weights["slope"] = reader.raw(int(p(0, 1)))
    elif layer.type not in _WEIGHTLESS:
        raise ModelError(f"ncnn layer type '{layer.type}' is not supported", reader.path,
                         "bian reads ncnn Real-ESRGAN-style networks (convolutions, PReLU, "
                         "pixel shuffle, resize)")


def read(param_path: str | os.PathLike, bin_path: str | os.PathLike | None = None) -> Graph:
    """Parse an ncnn model; ``bin_path`` defaults to the .param path with a .bin suffix."""
    param_path = Path(param_path)
    bin_path = param_path.with_suffix(".bin") if bin_path is None else Path(bin_path)
    for p in (param_path, bin_path):
        if not p.is_file():
            raise ModelError("ncnn model file not found", p, "an ncnn model is a .param and a .bin file side by side")
    try:
        text = param_path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ModelError("binary ncnn .param files are not supported", param_path,
                         "use the text .param file") from None
    layers = parse_param(text, param_path)
    reader = _Reader(bin_path.read_bytes(), bin_path)
    for layer in layers:
        _load_weights(layer, reader)
    if reader.pos != len(reader.data):
        raise ModelError("ncnn .bin file has more data than its .param file uses", bin_path,
                         "the .param and .bin files must come from the same model")
    return Graph(layers, param_path)

