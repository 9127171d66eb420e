"""GFPGAN v1.4 ("clean" architecture: no compiled StyleGAN2 ops) in plain PyTorch, loading the official
``GFPGANv1.4.pth`` (catalogue ``gfpgan-v1.4``; its ``params_ema`` state dict).

Architecture (Wang et al., "GFP-GAN", CVPR 2021; layer names and sizes as in the published checkpoint):
a U-Net encoder (bilinear down/up residual blocks) reads the 512 × 512 aligned face in [-1, 1]; its
bottleneck gives 16 style vectors (one per StyleGAN2 layer) and its decoder side gives, at every scale
8…512, a spatial scale and shift that modulate half of the channels of a StyleGAN2 generator (SFT).
Noise inputs use the checkpoint's stored noise maps, so the output is deterministic — the same face
gives the same result in every frame, which matters for flicker.

Verified here only on synthetic checkpoints with the official key names and shapes (the real weights
cannot be fetched on the development machines); the loader is strict, so a real checkpoint with any
other layout is refused with a clear error instead of loading half-way.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from ..errors import ModelError

STYLE = 512


def _channels(narrow: float, multiplier: int = 2) -> dict[int, int]:
    base = {4: 512, 8: 512, 16: 512, 32: 512, 64: 256 * multiplier, 128: 128 * multiplier,
            256: 64 * multiplier, 512: 32 * multiplier}
    return {k: int(v * narrow) for k, v in base.items()}


class ModulatedConv(nn.Module):
    """StyleGAN2 weight-modulated convolution (optionally demodulated, optionally 2× bilinear upsampled)."""

    def __init__(self, cin: int, cout: int, k: int, demodulate: bool = True, upsample: bool = False):
        super().__init__()
        self.modulation = nn.Linear(STYLE, cin)
        self.weight = nn.Parameter(torch.randn(1, cout, cin, k, k) / math.sqrt(cin * k * k))
        self.demodulate, self.upsample, self.pad = demodulate, upsample, k // 2

    def forward(self, x, style):
        b, cin = x.shape[:2]
        w = self.weight * self.modulation(style).view(b, 1, cin, 1, 1)
        if self.demodulate:
            w = w * torch.rsqrt(w.pow(2).sum((2, 3, 4), keepdim=True) + 1e-8)
        if self.upsample:
            x = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
        cout = w.shape[1]
        out = F.conv2d(x.reshape(1, -1, *x.shape[2:]), w.reshape(b * cout, cin, *w.shape[3:]),
                       padding=self.pad, groups=b)
        return out.view(b, cout, *out.shape[2:])


class StyleConv(nn.Module):
    def __init__(self, cin: int, cout: int, upsample: bool = False):
        super().__init__()
        self.modulated_conv = ModulatedConv(cin, cout, 3, True, upsample)
        self.weight = nn.Parameter(torch.zeros(1))  # noise strength
        self.bias = nn.Parameter(torch.zeros(1, cout, 1, 1))

    def forward(self, x, style, noise):
        out = self.modulated_conv(x, style) * math.sqrt(2) + self.weight * noise + self.bias
        return F.leaky_relu(out, 0.2)


class ToRGB(nn.Module):
    def __init__(self, cin: int, upsample: bool = True):
        super().__init__()
        self.modulated_conv = ModulatedConv(cin, 3, 1, demodulate=False)
        self.bias = nn.Parameter(torch.zeros(1, 3, 1, 1))
        self.upsample = upsample

    def forward(self, x, style, skip=None):
        out = self.modulated_conv(x, style) + self.bias
        if skip is not None:
            if self.upsample:
                skip = F.interpolate(skip, scale_factor=2, mode="bilinear", align_corners=False)
            out = out + skip
        return out


class _Constant(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(1, channels, 4, 4))


class StyleDecoder(nn.Module):
    """StyleGAN2 generator whose feature maps are modulated by SFT conditions on half of their channels."""

    def __init__(self, size: int = 512, mlp: int = 8):
        super().__init__()
        ch = _channels(1.0)
        self.log_size = int(math.log2(size))
        layers = []
        for _ in range(mlp):  # the mapping MLP is unused (styles come from the encoder) but is in the file
            layers += [nn.Linear(STYLE, STYLE), nn.LeakyReLU(0.2)]
        self.style_mlp = nn.Sequential(nn.Identity(), *layers)
        self.constant_input = _Constant(ch[4])
        self.style_conv1 = StyleConv(ch[4], ch[4])
        self.to_rgb1 = ToRGB(ch[4], upsample=False)
        self.style_convs, self.to_rgbs = nn.ModuleList(), nn.ModuleList()
        self.noises = nn.Module()
        for i in range((self.log_size - 2) * 2 + 1):
            side = 2 ** ((i + 5) // 2)
            self.noises.register_buffer(f"noise{i}", torch.randn(1, 1, side, side))
        cin = ch[4]
        for level in range(3, self.log_size + 1):
            cout = ch[2 ** level]
            self.style_convs.append(StyleConv(cin, cout, upsample=True))
            self.style_convs.append(StyleConv(cout, cout))
            self.to_rgbs.append(ToRGB(cout))
            cin = cout

    def forward(self, latent, conditions):
        noise = [getattr(self.noises, f"noise{i}") for i in range(len(self.style_convs) + 1)]
        out = self.constant_input.weight.repeat(latent.shape[0], 1, 1, 1)
        out = self.style_conv1(out, latent[:, 0], noise[0])
        skip = self.to_rgb1(out, latent[:, 1])
        for j, to_rgb in enumerate(self.to_rgbs):
            i = 2 * j + 1
            out = self.style_convs[2 * j](out, latent[:, i], noise[i])
            same, sft = out.split(out.shape[1] // 2, dim=1)
            out = torch.cat([same, sft * conditions[2 * j] + conditions[2 * j + 1]], 1)
            out = self.style_convs[2 * j + 1](out, latent[:, i + 1], noise[i + 1])
            skip = to_rgb(out, latent[:, i + 2], skip)
        return skip


class _ResBlock(nn.Module):
    def __init__(self, cin: int, cout: int, scale: float):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cin, 3, 1, 1)
        self.conv2 = nn.Conv2d(cin, cout, 3, 1, 1)
        self.skip = nn.Conv2d(cin, cout, 1, bias=False)
        self.scale = scale

    def forward(self, x):
        def resize(t):
            return F.interpolate(t, scale_factor=self.scale, mode="bilinear", align_corners=False)
        out = F.leaky_relu(self.conv2(resize(F.leaky_relu(self.conv1(x), 0.2))), 0.2)
        return out + self.skip(resize(x))


def _sft_head(c: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c, c, 3, 1, 1), nn.LeakyReLU(0.2), nn.Conv2d(c, c, 3, 1, 1))


class GFPGANv1Clean(nn.Module):
    """GFPGAN v1.3/v1.4 generator for 512 × 512 faces: input and output RGB in [-1, 1]."""

    def __init__(self, size: int = 512):
        super().__init__()
        ch = _channels(0.5)
        self.log_size = int(math.log2(size))
        levels = range(3, self.log_size + 1)
        self.conv_body_first = nn.Conv2d(3, ch[size], 1)
        self.conv_body_down = nn.ModuleList(
            _ResBlock(ch[2 ** i], ch[2 ** (i - 1)], 0.5) for i in range(self.log_size, 2, -1))
        self.final_conv = nn.Conv2d(ch[4], ch[4], 3, 1, 1)
        self.conv_body_up = nn.ModuleList(_ResBlock(ch[2 ** (i - 1)], ch[2 ** i], 2.0) for i in levels)
        self.toRGB = nn.ModuleList(nn.Conv2d(ch[2 ** i], 3, 1) for i in levels)  # training-only side outputs
        self.final_linear = nn.Linear(ch[4] * 16, (self.log_size * 2 - 2) * STYLE)
        self.stylegan_decoder = StyleDecoder(size)
        self.condition_scale = nn.ModuleList(_sft_head(ch[2 ** i]) for i in levels)
        self.condition_shift = nn.ModuleList(_sft_head(ch[2 ** i]) for i in levels)

    def forward(self, x):
        feat = F.leaky_relu(self.conv_body_first(x), 0.2)
        skips = []
        for block in self.conv_body_down:
            feat = block(feat)
            skips.insert(0, feat)
        feat = F.leaky_relu(self.final_conv(feat), 0.2)
        latent = self.final_linear(feat.flatten(1)).view(x.shape[0], -1, STYLE)
        conditions = []
        for skip, up, scale, shift in zip(skips, self.conv_body_up, self.condition_scale, self.condition_shift):
            feat = up(feat + skip)
            conditions += [scale(feat), shift(feat)]
        return self.stylegan_decoder(latent, conditions)


def load_gfpgan(path: str | Path) -> GFPGANv1Clean:
    """The network with the weights of an official GFPGAN v1.3/v1.4 checkpoint (``params_ema`` preferred)."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # pickle/zip errors come in many types
        raise ModelError(f"cannot read GFPGAN checkpoint ({type(exc).__name__})", path,
                         "fetch GFPGANv1.4.pth again (catalogue entry 'gfpgan-v1.4')") from None
    if isinstance(state, dict) and ("params_ema" in state or "params" in state):
        state = state.get("params_ema", state.get("params"))
    net = GFPGANv1Clean()
    try:
        net.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise ModelError(f"checkpoint does not fit GFPGAN v1 clean ({str(exc).splitlines()[1].strip()})", path,
                         "use GFPGANv1.3.pth or GFPGANv1.4.pth") from None
    return net.eval()


def restore_aligned(net: GFPGANv1Clean, aligned: np.ndarray) -> np.ndarray:
    """Run the network on 512 × 512 × 3 float32 RGB faces in [0, 1] (one face or a batch N×512×512×3)."""
    batch = aligned[None] if aligned.ndim == 3 else aligned
    x = torch.from_numpy(np.ascontiguousarray(batch.transpose(0, 3, 1, 2))) * 2 - 1
    with torch.inference_mode():
        y = net(x.float())
    out = ((y.clamp(-1, 1) + 1) / 2).numpy().transpose(0, 2, 3, 1).astype(np.float32)
    return out[0] if aligned.ndim == 3 else out
