"""The film-dust U-Net of videogorillas/pytorch-unet-dust: RGB in [0, 1] → per-pixel dust probability.

A U-Net (Ronneberger et al. 2015) as parameterised in that project: ``depth`` levels with 2**(wf+i)
channels, each level two 3×3 convolutions on reflection-padded input, each followed by ReLU then batch
norm; 2×2 max pooling down, 2×2 transposed convolution up, skip connections concatenated after the
upsampled features; a 1×1 convolution and a sigmoid at the end. Layer names follow the published
state dict (``down_path.i.block.{1,5}`` convolutions, ``.{3,7}`` batch norms, ``up_path.i.up``,
``up_path.i.conv_block.block.*``, ``last``), so its checkpoints load with ``strict=True``.
"""
from __future__ import annotations

import torch
from torch import nn


def _conv_block(cin: int, cout: int) -> nn.Sequential:
    # Indices matter: the checkpoint names the convolutions 1 and 5 and the batch norms 3 and 7.
    return nn.Sequential(
        nn.ReflectionPad2d(1), nn.Conv2d(cin, cout, 3), nn.ReLU(), nn.BatchNorm2d(cout),
        nn.ReflectionPad2d(1), nn.Conv2d(cout, cout, 3), nn.ReLU(), nn.BatchNorm2d(cout),
    )


class _Down(nn.Module):
    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.block = _conv_block(cin, cout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.block(x)


class _Up(nn.Module):
    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.up = nn.ConvTranspose2d(cin, cout, kernel_size=2, stride=2)
        self.conv_block = _Down(cin, cout)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        return self.conv_block(torch.cat([self.up(x), skip], dim=1))


class DustUNet(nn.Module):
    """Input N×3×H×W float in [0, 1], H and W multiples of 2**(depth-1); output N×1×H×W probability."""

    def __init__(self, in_channels: int = 3, out_channels: int = 1, wf: int = 4, depth: int = 4):
        super().__init__()
        widths = [2 ** (wf + i) for i in range(depth)]
        self.down_path = nn.ModuleList(
            _Down(cin, cout) for cin, cout in zip([in_channels] + widths[:-1], widths))
        self.up_path = nn.ModuleList(_Up(widths[i + 1], widths[i]) for i in reversed(range(depth - 1)))
        self.last = nn.Conv2d(widths[0], out_channels, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = []
        for i, down in enumerate(self.down_path):
            x = down(x)
            if i < len(self.down_path) - 1:
                skips.append(x)
                x = nn.functional.max_pool2d(x, 2)
        for up, skip in zip(self.up_path, reversed(skips)):
            x = up(x, skip)
        return torch.sigmoid(self.last(x))


def from_state_dict(state: dict) -> DustUNet:
    """Build the network matching a checkpoint's shapes (width and depth read from it) and load it strictly.

    The published checkpoints' batch-norm running statistics do not fit their own outputs: with them the
    network marks texture everywhere, while with each image's own statistics it reproduces the output
    published beside the weights (the project's R1A.jpg). So batch norm here normalises with the
    statistics of the image being processed (one image per call).
    """
    depth = sum(1 for k in state if k.startswith("down_path.") and k.endswith(".block.1.weight"))
    width = state["down_path.0.block.1.weight"].shape[0]
    model = DustUNet(in_channels=state["down_path.0.block.1.weight"].shape[1],
                     out_channels=state["last.weight"].shape[0], wf=int(width).bit_length() - 1, depth=depth)
    model.load_state_dict(state, strict=True)
    for module in model.modules():
        if isinstance(module, nn.BatchNorm2d):
            module.track_running_stats = False
            module.running_mean = module.running_var = None
    return model.eval()
