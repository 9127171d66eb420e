"""Load super-resolution weights from any of their forms into a :class:`ModelDescriptor`.

Accepted: a catalogue name (``realesrgan-x4plus`` …), an ncnn ``.param`` file (its ``.bin`` beside
it), a PyTorch checkpoint (``.pth``/``.pt``, read with ``weights_only=True``; ``params_ema`` is
preferred over ``params`` as in the official releases) or a ``.safetensors`` file. The
architecture and its hyper-parameters are read off the weights, never from the file name.
"""
from __future__ import annotations

import math
import os
import re
from fractions import Fraction
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from ..errors import ModelError
from . import catalogue, ncnn
from .arch.rrdbnet import RRDBNet
from .arch.srvgg import SRVGGNetCompact
from .descriptor import ModelDescriptor
from .tiling import Step

def locate(spec: str | os.PathLike, allow_download: bool | None = None) -> tuple[Path, str]:
    """The weights file ``spec`` names (a file, or a catalogue name whose files are found or fetched)
    and a display name, without reading the weights; raises :class:`ModelError` with a how-to."""
    path = Path(spec)
    if path.is_file():
        return path, path.stem
    if str(spec) in catalogue.ENTRIES:
        return catalogue.find_files(str(spec), allow_download=allow_download)[0], str(spec)
    if path.suffix or os.sep in str(spec):
        raise ModelError("model file not found", path, "give an existing .pth, .safetensors or ncnn .param file")
    catalogue.get(str(spec))  # raises the "unknown model" error listing known names
    raise AssertionError("unreachable")


def load(spec: str | os.PathLike, allow_download: bool | None = None) -> ModelDescriptor:
    """A model from a catalogue name or a weights file; raises :class:`ModelError` with a how-to."""
    path, name = locate(spec, allow_download)
    descriptor = load_file(path, name=name)
    if not Path(spec).is_file():
        descriptor.source = f"{name} ({path})"
    return descriptor


def load_file(path: str | os.PathLike, name: str | None = None) -> ModelDescriptor:
    path = Path(path)
    suffix = path.suffix.lower()
    name = name or path.stem
    if suffix == ".param":
        descriptor = from_ncnn(ncnn.read(path), name)
    elif suffix == ".bin" and path.with_suffix(".param").is_file():
        descriptor = from_ncnn(ncnn.read(path.with_suffix(".param"), path), name)
    elif suffix in (".pth", ".pt", ".ckpt"):
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:  # pickle, zip and torch errors all mean the same to the user
            raise ModelError(f"cannot read PyTorch weights ({type(exc).__name__})", path,
                             "give a state-dict checkpoint such as the official Real-ESRGAN .pth") from None
        descriptor = from_state_dict(state, name, path)
    elif suffix == ".safetensors":
        from safetensors.torch import load_file as load_safetensors
        try:
            state = load_safetensors(str(path), device="cpu")
        except Exception as exc:
            raise ModelError(f"cannot read safetensors weights ({type(exc).__name__})", path) from None
        descriptor = from_state_dict(state, name, path)
    else:
        raise ModelError("unknown weights format", path, "use .pth, .safetensors or an ncnn .param/.bin pair")
    descriptor.source = str(path)
    return descriptor


# --- PyTorch state dicts ----------------------------------------------------------------------

def _unwrap(state) -> dict[str, torch.Tensor]:
    if isinstance(state, dict):
        for key in ("params_ema", "params", "state_dict", "model"):
            if key in state and isinstance(state[key], dict):
                return _unwrap(state[key])
        return {k.removeprefix("module."): v for k, v in state.items() if isinstance(v, torch.Tensor)}
    return {}


_OLD_ESRGAN = [  # original ESRGAN (×4) sequential names → RRDBNet names
    (r"^model\.0\.", "conv_first."),
    (r"^model\.1\.sub\.(\d+)\.RDB(\d)\.conv(\d)\.0\.", r"body.\1.rdb\2.conv\3."),
    (r"^model\.3\.", "conv_up1."),
    (r"^model\.6\.", "conv_up2."),
    (r"^model\.8\.", "conv_hr."),
    (r"^model\.10\.", "conv_last."),
]


def _rename_old_esrgan(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    blocks = {int(m.group(1)) for k in state if (m := re.match(r"model\.1\.sub\.(\d+)\.RDB", k))}
    body = f"model.1.sub.{len(blocks)}."
    renamed = {}
    for key, value in state.items():
        new = key.replace(body, "conv_body.", 1) if key.startswith(body) else key
        for pattern, replacement in _OLD_ESRGAN:
            new = re.sub(pattern, replacement, new)
        renamed[new] = value
    return renamed


def from_state_dict(state, name: str, path: str | os.PathLike | None = None) -> ModelDescriptor:
    """Build the network that fits ``state`` (official Real-ESRGAN / ESRGAN key names)."""
    sd = _unwrap(state)
    if "model.0.weight" in sd and "model.10.weight" in sd:
        sd = _rename_old_esrgan(sd)
    try:
        if "conv_first.weight" in sd and "body.0.rdb1.conv1.weight" in sd:
            descriptor = _rrdbnet_from_state(sd, name)
        elif "body.0.weight" in sd and sd["body.0.weight"].ndim == 4:
            descriptor = _srvgg_from_state(sd, name)
        else:
            raise ModelError("weights match no known super-resolution architecture", path,
                             "bian reads RRDBNet (ESRGAN, Real-ESRGAN) and SRVGGNetCompact checkpoints")
        descriptor.model.load_state_dict(sd, strict=True)
    except (RuntimeError, KeyError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0][:160]
        raise ModelError(f"weights do not fit the architecture ({first})", path) from None
    descriptor.model.eval()
    return descriptor


def _rrdbnet_from_state(sd: dict, name: str) -> ModelDescriptor:
    first = sd["conv_first.weight"]
    out_ch = sd["conv_last.weight"].shape[0]
    fold_sq = first.shape[1] // out_ch
    scale = {1: 4, 4: 2, 16: 1}.get(fold_sq)
    if scale is None or first.shape[1] % out_ch:
        raise ValueError(f"conv_first takes {first.shape[1]} channels for {out_ch} output channels")
    num_block = len({k.split(".")[1] for k in sd if k.startswith("body.")})
    net = RRDBNet(out_ch, out_ch, scale, first.shape[0], num_block, sd["body.0.rdb1.conv1.weight"].shape[0])
    return _rrdb_descriptor(net, name, out_ch)


def _rrdb_descriptor(net: RRDBNet, name: str, channels: int) -> ModelDescriptor:
    return ModelDescriptor(name=name, arch="RRDBNet", model=net, scale=net.scale, in_channels=channels,
                           out_channels=channels, size_multiple=net.fold, steps=net.steps())


def _srvgg_from_state(sd: dict, name: str) -> ModelDescriptor:
    convs = sorted(int(k.split(".")[1]) for k in sd if k.startswith("body.") and k.endswith(".weight")
                   and sd[k].ndim == 4)
    last = sd[f"body.{convs[-1]}.weight"]
    in_ch, feat = sd["body.0.weight"].shape[1], sd["body.0.weight"].shape[0]
    upscale = math.isqrt(last.shape[0] // in_ch)
    if upscale * upscale * in_ch != last.shape[0]:
        raise ValueError(f"last convolution has {last.shape[0]} outputs, not channels × scale²")
    if "body.1.weight" not in sd:
        raise ValueError("SRVGGNetCompact without PReLU weights (activation cannot be told)")
    net = SRVGGNetCompact(in_ch, in_ch, feat, len(convs) - 2, upscale, "prelu")
    return _srvgg_descriptor(net, name, in_ch)


def _srvgg_descriptor(net: SRVGGNetCompact, name: str, channels: int) -> ModelDescriptor:
    return ModelDescriptor(name=name, arch="SRVGGNetCompact", model=net, scale=net.upscale,
                           in_channels=channels, out_channels=channels, steps=net.steps())


# --- ncnn graphs ------------------------------------------------------------------------------

class _Resize(nn.Module):
    """The resize some ncnn graphs end with (realesr-animevideov3-x2/x3 shrink the ×4 output)."""

    def __init__(self, factor: float, mode: str):
        super().__init__()
        self.factor, self.mode = factor, mode

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.interpolate(x, scale_factor=self.factor, mode=self.mode, align_corners=False)


_NCNN_RESIZE = {2: "bilinear", 3: "bicubic"}


def from_ncnn(graph: ncnn.Graph, name: str) -> ModelDescriptor:
    """Map an ncnn Real-ESRGAN graph (RRDBNet or SRVGGNetCompact) onto bian's network."""
    convs = graph.of_type("Convolution")
    if not convs:
        raise ModelError("ncnn model has no convolutions", graph.path)
    tensor = lambda a: torch.from_numpy(np.array(a, dtype=np.float32))  # noqa: E731
    if graph.of_type("PixelShuffle"):
        descriptor, sd = _srvgg_from_ncnn(graph, convs, name)
    else:
        descriptor, sd = _rrdbnet_from_ncnn(graph, convs, name)
    core = descriptor.model[0] if isinstance(descriptor.model, nn.Sequential) else descriptor.model
    try:
        core.load_state_dict({k: tensor(v) for k, v in sd.items()}, strict=True)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()[0][:160]
        raise ModelError(f"ncnn weights do not fit the architecture ({first})", graph.path) from None
    descriptor.model.eval()
    return descriptor


def _rrdbnet_from_ncnn(graph: ncnn.Graph, convs: list, name: str):
    num_block, rest = divmod(len(convs) - 6, 15)
    nearest = [i for i in graph.of_type("Interp") if i.param(0) == 1 and float(i.param(1, 1)) == 2.0]
    channels = convs[0].weights["weight"].shape[1]
    if rest or num_block < 1 or len(nearest) != 2 or channels != convs[-1].weights["weight"].shape[0]:
        raise ModelError("ncnn model is not a Real-ESRGAN network bian knows", graph.path,
                         "bian reads ncnn RRDBNet ×4 and SRVGGNetCompact models")
    names = ["conv_first"]
    names += [f"body.{b}.rdb{r}.conv{c}" for b in range(num_block) for r in (1, 2, 3) for c in range(1, 6)]
    names += ["conv_body", "conv_up1", "conv_up2", "conv_hr", "conv_last"]
    sd = {}
    for key, layer in zip(names, convs):
        sd[f"{key}.weight"] = layer.weights["weight"]
        sd[f"{key}.bias"] = layer.weights.get("bias", np.zeros(layer.weights["weight"].shape[0], np.float32))
    feat = convs[0].weights["weight"].shape[0]
    net = RRDBNet(channels, channels, 4, feat, num_block, convs[1].weights["weight"].shape[0])
    return _rrdb_descriptor(net, name, channels), sd


def _srvgg_from_ncnn(graph: ncnn.Graph, convs: list, name: str):
    prelus = graph.of_type("PReLU")
    upscale = int(graph.of_type("PixelShuffle")[0].param(0, 1))
    channels = convs[0].weights["weight"].shape[1]
    feat = convs[0].weights["weight"].shape[0]
    if len(prelus) != len(convs) - 1 or convs[-1].weights["weight"].shape[0] != channels * upscale ** 2:
        raise ModelError("ncnn model is not an SRVGGNetCompact network bian knows", graph.path,
                         "bian reads ncnn RRDBNet ×4 and SRVGGNetCompact models")
    sd = {}
    for i, layer in enumerate(convs):
        sd[f"body.{2 * i}.weight"] = layer.weights["weight"]
        sd[f"body.{2 * i}.bias"] = layer.weights.get("bias", np.zeros(layer.weights["weight"].shape[0], np.float32))
    for i, layer in enumerate(prelus):
        sd[f"body.{2 * i + 1}.weight"] = np.broadcast_to(layer.weights["slope"], (feat,))
    net = SRVGGNetCompact(channels, channels, feat, len(convs) - 2, upscale, "prelu")
    descriptor = _srvgg_descriptor(net, name, channels)
    # A resize after the final addition (the graph's output) changes the overall scale.
    last = graph.layers[-1]
    if last.type == "Interp" and last.param(0) in _NCNN_RESIZE:
        factor = float(last.param(2, 1.0))
        scale = upscale * factor
        if abs(scale - round(scale)) > 1e-6 or float(last.param(1, 1.0)) != factor:
            raise ModelError("ncnn model ends with a resize bian cannot reproduce", graph.path)
        descriptor.model = nn.Sequential(net, _Resize(factor, _NCNN_RESIZE[int(last.param(0))]))
        descriptor.scale = round(scale)
        # the resize's filter taps reach less than one input pixel further
        descriptor.steps = [Step(descriptor.model, halo=net.steps()[0].halo + 1, scale=Fraction(round(scale)),
                                 values_per_pixel=net.steps()[0].values_per_pixel)]
    return descriptor, sd
