"""SRVGGNetCompact, Real-ESRGAN's small video network (realesr-animevideov3, realesr-general-x4v3).

A plain stack of 3×3 convolutions at the input resolution, a pixel shuffle at the end, and the
nearest-neighbour enlarged input added back. Parameter names follow the official checkpoints:
``body.0`` first conv, ``body.1`` its activation, then conv/activation pairs, and the last conv.
"""
from __future__ import annotations

from fractions import Fraction

import torch
from torch import nn
from torch.nn import functional as F

from ..tiling import Step
from .fastconv import conv2d


class SRVGGNetCompact(nn.Module):
    """Input N×C×H×W in [0, 1] → N×C×(H·upscale)×(W·upscale), roughly [0, 1] (callers clamp)."""

    def __init__(self, num_in_ch: int = 3, num_out_ch: int = 3, num_feat: int = 64, num_conv: int = 16,
                 upscale: int = 4, act_type: str = "prelu"):
        super().__init__()
        self.upscale = upscale
        self.body = nn.ModuleList([nn.Conv2d(num_in_ch, num_feat, 3, 1, 1), _activation(act_type, num_feat)])
        for _ in range(num_conv):
            self.body.append(nn.Conv2d(num_feat, num_feat, 3, 1, 1))
            self.body.append(_activation(act_type, num_feat))
        self.body.append(nn.Conv2d(num_feat, num_out_ch * upscale * upscale, 3, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = x
        for layer in self.body:
            out = conv2d(layer, out) if isinstance(layer, nn.Conv2d) else layer(out)
        out = F.pixel_shuffle(out, self.upscale)
        return out + F.interpolate(x, scale_factor=self.upscale, mode="nearest")

    def steps(self) -> list[Step]:
        """One step: every 3×3 convolution widens the receptive field by one pixel."""
        feat = self.body[0].out_channels
        return [Step(self, halo=(len(self.body) + 1) // 2, scale=Fraction(self.upscale),
                     values_per_pixel=3 * feat + 3 * self.body[-1].out_channels)]


def _activation(kind: str, num_feat: int) -> nn.Module:
    if kind == "prelu":
        return nn.PReLU(num_parameters=num_feat)
    if kind == "lrelu":
        return nn.LeakyReLU(0.1, inplace=True)
    if kind == "relu":
        return nn.ReLU(inplace=True)
    raise ValueError(f"unknown activation '{kind}'")
