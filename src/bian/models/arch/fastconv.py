"""3×3 convolutions for inference on the CPU through oneDNN directly: weights pre-packed once into
oneDNN's own layout, and an optional leaky-ReLU fused into the same call.

PyTorch's ``nn.Conv2d`` hands oneDNN plain weights, which it re-lays out on every call; for the
64-channel convolutions of Real-ESRGAN on frame-sized tiles that costs as much as the convolution
itself (measured 1.2–3× per call in bf16). The results are bit-identical to the plain oneDNN call for
any input size. Inference only (no gradients flow through); elsewhere (GPU, builds without oneDNN)
the plain PyTorch ops run.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


def _pointwise_op():
    try:
        if torch.backends.mkldnn.is_available():
            return torch.ops.mkldnn._convolution_pointwise, torch.ops.mkldnn._reorder_convolution_weight
    except (AttributeError, RuntimeError):
        pass
    return None


_ONEDNN = _pointwise_op()


def _packed_weight(conv: nn.Conv2d, x: torch.Tensor) -> torch.Tensor:
    """``conv``'s weight in oneDNN's layout for inputs shaped like ``x``; one packing kept per module,
    redone only when the weights (dtype, device, values' storage) or the input shape change."""
    key = (conv.weight.data_ptr(), conv.weight.dtype, conv.weight._version, tuple(x.shape))
    cached = getattr(conv, "_onednn_weight", None)
    if cached is None or cached[0] != key:
        with torch.no_grad():
            weight = conv.weight.contiguous(memory_format=torch.channels_last)
            packed = _ONEDNN[1](weight, list(conv.padding), list(conv.stride), list(conv.dilation),
                                conv.groups, list(x.shape))
        cached = (key, packed)
        conv._onednn_weight = cached
    return cached[1]


def conv2d(conv: nn.Conv2d, x: torch.Tensor, leaky_slope: float | None = None) -> torch.Tensor:
    """``conv(x)``, followed by ``leaky_relu(·, leaky_slope)`` when a slope is given."""
    if _ONEDNN is not None and x.device.type == "cpu" and x.dtype == conv.weight.dtype \
            and isinstance(conv.padding, tuple):
        attr, scalars = ("leaky_relu", [leaky_slope]) if leaky_slope is not None else ("none", [])
        x = x.contiguous(memory_format=torch.channels_last)
        return _ONEDNN[0](x, _packed_weight(conv, x), conv.bias, list(conv.padding), list(conv.stride),
                          list(conv.dilation), conv.groups, attr, scalars, "")
    out = conv(x)
    return out if leaky_slope is None else F.leaky_relu(out, leaky_slope, inplace=True)
