"""RRDBNet, the ESRGAN / Real-ESRGAN generator (Wang et al. 2018, 2021).

Parameter names follow the official checkpoints (``conv_first``, ``body.N.rdbK.convM``,
``conv_body``, ``conv_up1``, ``conv_up2``, ``conv_hr``, ``conv_last``) so their state dicts load as they
are. The network always upsamples ×4 internally; the ×2 and ×1 variants first fold each 2×2 (or
4×4) block of pixels into channels, which is why their input sides must be multiples of 2 (or 4).

Its receptive field is ~350 input pixels, too wide to tile with overlap alone, so :meth:`RRDBNet.steps`
splits it into a head, one step per RRDB block (halo 15) and a tail; ``forward`` is the same chain.
Between steps the map carries the head's features beside the running features (2·num_feat
channels) for the long skip connection.
"""
from __future__ import annotations

from fractions import Fraction

import torch
from torch import nn
from torch.nn import functional as F

from ..tiling import Step
from .fastconv import conv2d

LEAK = 0.2
"""Slope of the leaky ReLUs."""


class ResidualDenseBlock(nn.Module):
    """Five convolutions, each seeing the block input and all earlier outputs (dense connections)."""

    def __init__(self, num_feat: int = 64, num_grow_ch: int = 32):
        super().__init__()
        self.conv1 = nn.Conv2d(num_feat, num_grow_ch, 3, 1, 1)
        self.conv2 = nn.Conv2d(num_feat + num_grow_ch, num_grow_ch, 3, 1, 1)
        self.conv3 = nn.Conv2d(num_feat + 2 * num_grow_ch, num_grow_ch, 3, 1, 1)
        self.conv4 = nn.Conv2d(num_feat + 3 * num_grow_ch, num_grow_ch, 3, 1, 1)
        self.conv5 = nn.Conv2d(num_feat + 4 * num_grow_ch, num_feat, 3, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x1 = conv2d(self.conv1, x, LEAK)
        x2 = conv2d(self.conv2, torch.cat((x, x1), 1), LEAK)
        x3 = conv2d(self.conv3, torch.cat((x, x1, x2), 1), LEAK)
        x4 = conv2d(self.conv4, torch.cat((x, x1, x2, x3), 1), LEAK)
        x5 = conv2d(self.conv5, torch.cat((x, x1, x2, x3, x4), 1))
        return torch.add(x, x5, alpha=0.2)


class RRDB(nn.Module):
    """Residual-in-residual dense block: three dense blocks inside a scaled residual."""

    def __init__(self, num_feat: int, num_grow_ch: int = 32):
        super().__init__()
        self.rdb1 = ResidualDenseBlock(num_feat, num_grow_ch)
        self.rdb2 = ResidualDenseBlock(num_feat, num_grow_ch)
        self.rdb3 = ResidualDenseBlock(num_feat, num_grow_ch)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.add(x, self.rdb3(self.rdb2(self.rdb1(x))), alpha=0.2)


class RRDBNet(nn.Module):
    """Input N×C×H×W in [0, 1] → N×C×(H·scale)×(W·scale), roughly [0, 1] (callers clamp)."""

    def __init__(self, num_in_ch: int = 3, num_out_ch: int = 3, scale: int = 4, num_feat: int = 64,
                 num_block: int = 23, num_grow_ch: int = 32):
        super().__init__()
        if scale not in (1, 2, 4):
            raise ValueError(f"RRDBNet scale must be 1, 2 or 4, got {scale}")
        self.scale = scale
        self.fold = 4 // scale
        self.conv_first = nn.Conv2d(num_in_ch * self.fold ** 2, num_feat, 3, 1, 1)
        self.body = nn.Sequential(*(RRDB(num_feat, num_grow_ch) for _ in range(num_block)))
        self.conv_body = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.conv_up1 = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.conv_up2 = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.conv_hr = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.conv_last = nn.Conv2d(num_feat, num_out_ch, 3, 1, 1)

    def head(self, x: torch.Tensor) -> torch.Tensor:
        if self.fold > 1:
            x = F.pixel_unshuffle(x, self.fold)
        feat = conv2d(self.conv_first, x)
        return torch.cat((feat, feat), 1)

    def _split(self, state: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(head features, running features); the latter made dense again, because convolutions on a
        channel slice fall off the fast channels-last kernels (measured 2.5× slower in bf16)."""
        n = self.conv_first.out_channels
        return state[:, :n], state[:, n:].contiguous(memory_format=torch.channels_last)

    def block(self, index: int, state: torch.Tensor) -> torch.Tensor:
        head, feat = self._split(state)
        return torch.cat((head, self.body[index](feat)), 1)

    def tail(self, state: torch.Tensor) -> torch.Tensor:
        head, feat = self._split(state)
        feat = head + conv2d(self.conv_body, feat)
        feat = conv2d(self.conv_up1, F.interpolate(feat, scale_factor=2, mode="nearest"), LEAK)
        feat = conv2d(self.conv_up2, F.interpolate(feat, scale_factor=2, mode="nearest"), LEAK)
        return conv2d(self.conv_last, conv2d(self.conv_hr, feat, LEAK))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        state = self.head(x)
        for index in range(len(self.body)):
            state = self.block(index, state)
        return self.tail(state)

    def steps(self) -> list[Step]:
        """The forward pass as tileable steps; halos count 3×3 convolutions (one pixel each)."""
        n = self.conv_first.out_channels
        g = self.body[0].rdb1.conv1.out_channels
        blocks = [Step(lambda s, i=i: self.block(i, s), halo=15, values_per_pixel=5 * n + 8 * g)
                  for i in range(len(self.body))]
        # tail: conv_body (1) + conv_up1 at ×2 (1) + conv_up2, conv_hr, conv_last at ×4 (3) → 3 input pixels
        return ([Step(self.head, halo=self.fold, scale=Fraction(1, self.fold), values_per_pixel=6 * n)]
                + blocks + [Step(self.tail, halo=3, scale=Fraction(4), values_per_pixel=60 * n)])
