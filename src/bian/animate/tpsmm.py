"""Thin-Plate Spline Motion Model (Zhao & Zhang, CVPR 2022) in PyTorch, loading the published checkpoint
``vox.pth.tar`` (catalogue name ``tpsmm-vox``; keys ``kp_detector``, ``dense_motion_network``,
``inpainting_network``, plus training state that is ignored).

From the paper and the authors' configuration ``vox-256.yaml``: 10 thin-plate-spline transforms of 5
keypoints each, predicted by a ResNet-18 from a 256 × 256 RGB frame in [0, 1]; a dense-motion hourglass
(5 levels, 64 → 1024 channels, at ¼ resolution) mixes them with an identity (background) transform into
one flow and four occlusion masks (¼ to full resolution); an encoder–decoder (3 levels, 64 → 512
channels) warps the source's features by that flow and paints what the source does not show.
Normalisation layers are instance norms with affine parameters; up-sampling is nearest-neighbour ×2.
Layer names follow the published state dict, so the checkpoint loads strictly (any other layout is
refused).
"""
from __future__ import annotations

from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

from ..errors import ModelError

NUM_TPS = 10
SIZE = 256


# ------------------------------------------------------------------------------------------ ResNet-18
class _Basic(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = (nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
                           if stride != 1 or cin != cout else None)

    def forward(self, x):
        skip = x if self.downsample is None else self.downsample(x)
        out = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(out)) + skip)


class ResNet18(nn.Module):
    """ResNet-18 with the layer names of the common reference implementation (conv1, bn1, layer1-4, fc)."""

    def __init__(self, outputs: int, in_channels: int = 3):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        widths = (64, 128, 256, 512)
        cin = 64
        for i, w in enumerate(widths):
            stride = 1 if i == 0 else 2
            setattr(self, f"layer{i + 1}", nn.Sequential(_Basic(cin, w, stride), _Basic(w, w, 1)))
            cin = w
        self.fc = nn.Linear(512, outputs)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 3, 2, 1)
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


class KPDetector(nn.Module):
    def __init__(self, num_tps: int = NUM_TPS):
        super().__init__()
        self.num_tps = num_tps
        self.fg_encoder = ResNet18(num_tps * 5 * 2)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) in [0, 1] → keypoints (B, num_tps·5, 2) in [-1, 1] (x, y)."""
        kp = torch.sigmoid(self.fg_encoder(image)) * 2 - 1
        return kp.view(image.shape[0], self.num_tps * 5, 2)


# ------------------------------------------------------------------------------------------ blocks
class _Norm(nn.Module):
    """conv → instance norm (affine) → ReLU, optionally → 2×2 average pool or preceded by ×2 up-sampling."""

    def __init__(self, cin: int, cout: int, kernel: int = 3, padding: int = 1, down: bool = False, up: bool = False):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, kernel, padding=padding)
        self.norm = nn.InstanceNorm2d(cout, affine=True)
        self.down, self.up = down, up

    def forward(self, x):
        if self.up:
            x = F.interpolate(x, scale_factor=2)
        x = F.relu(self.norm(self.conv(x)))
        return F.avg_pool2d(x, 2) if self.down else x


class _Res(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1)
        self.norm1 = nn.InstanceNorm2d(channels, affine=True)
        self.norm2 = nn.InstanceNorm2d(channels, affine=True)

    def forward(self, x):
        out = self.conv1(F.relu(self.norm1(x)))
        return x + self.conv2(F.relu(self.norm2(out)))


class _Encoder(nn.Module):
    def __init__(self, expansion: int, cin: int, blocks: int, most: int):
        super().__init__()
        self.down_blocks = nn.ModuleList(
            _Norm(cin if i == 0 else min(most, expansion * 2 ** i), min(most, expansion * 2 ** (i + 1)), down=True)
            for i in range(blocks))

    def forward(self, x):
        outs = [x]
        for block in self.down_blocks:
            outs.append(block(outs[-1]))
        return outs


class _Decoder(nn.Module):
    def __init__(self, expansion: int, cin: int, blocks: int, most: int):
        super().__init__()
        self.out_channels = []
        ups = []
        for i in reversed(range(blocks)):
            filters = (1 if i == blocks - 1 else 2) * min(most, expansion * 2 ** (i + 1))
            self.out_channels.append(filters)
            ups.append(_Norm(filters, min(most, expansion * 2 ** i), up=True))
        self.up_blocks = nn.ModuleList(ups)
        self.out_channels.append(expansion + cin)

    def forward(self, skips: list[torch.Tensor]) -> list[torch.Tensor]:
        skips = list(skips)
        out = skips.pop()
        outs = []
        for block in self.up_blocks:
            out = torch.cat([block(out), skips.pop()], 1)
            outs.append(out)
        return outs


class _Hourglass(nn.Module):
    def __init__(self, expansion: int, cin: int, blocks: int, most: int):
        super().__init__()
        self.encoder = _Encoder(expansion, cin, blocks, most)
        self.decoder = _Decoder(expansion, cin, blocks, most)
        self.out_channels = self.decoder.out_channels

    def forward(self, x):
        return self.decoder(self.encoder(x))


class _AntiAlias(nn.Module):
    """Gaussian blur then nearest down-sampling by ``scale`` (the blur kernel is a stored buffer)."""

    def __init__(self, channels: int, scale: float):
        super().__init__()
        sigma = (1 / scale - 1) / 2
        size = 2 * round(sigma * 4) + 1
        self.pad = size // 2
        ax = torch.arange(size, dtype=torch.float32) - (size - 1) / 2
        g = torch.exp(-ax ** 2 / (2 * sigma ** 2))
        kernel = torch.outer(g, g)
        self.register_buffer("weight", (kernel / kernel.sum()).expand(channels, 1, size, size).clone())
        self.scale = scale

    def forward(self, x):
        x = F.conv2d(F.pad(x, (self.pad,) * 4), self.weight, groups=x.shape[1])
        return F.interpolate(x, scale_factor=(self.scale, self.scale))


# ------------------------------------------------------------------------------------------ geometry
def coordinate_grid(h: int, w: int, like: torch.Tensor) -> torch.Tensor:
    """(h, w, 2) grid of (x, y) in [-1, 1], corners at ±1 (grid_sample's align_corners=True)."""
    x = torch.linspace(-1, 1, w, dtype=like.dtype, device=like.device)
    y = torch.linspace(-1, 1, h, dtype=like.dtype, device=like.device)
    return torch.stack(torch.meshgrid(x, y, indexing="xy"), -1)


def tps_warp(kp_from: torch.Tensor, kp_to: torch.Tensor, points: torch.Tensor) -> torch.Tensor:
    """Thin-plate splines taking each group's keypoints ``kp_from`` (B, K, N, 2) to ``kp_to``, applied to
    ``points`` (P, 2) → (B, K, P, 2). Kernel r² log r² with a 0.01 ridge, as in the published model."""
    b, k, n, _ = kp_from.shape
    d2 = ((kp_from[:, :, :, None] - kp_from[:, :, None]) ** 2).sum(-1)
    kernel = d2 * torch.log(d2 + 1e-9)
    ones = torch.ones(b, k, n, 1, dtype=kp_from.dtype, device=kp_from.device)
    p = torch.cat([kp_from, ones], 3)
    top = torch.cat([kernel, p], 3)
    bottom = torch.cat([p.transpose(2, 3), torch.zeros(b, k, 3, 3, dtype=p.dtype, device=p.device)], 3)
    system = torch.cat([top, bottom], 2) + 0.01 * torch.eye(n + 3, dtype=p.dtype, device=p.device)
    rhs = torch.cat([kp_to, torch.zeros(b, k, 3, 2, dtype=p.dtype, device=p.device)], 2)
    params = torch.linalg.solve(system, rhs)
    weights, affine = params[:, :, :n], params[:, :, n:]
    out = points @ affine[:, :, :2] + affine[:, :, 2:]
    r2 = ((points[None, None, :, None] - kp_from[:, :, None]) ** 2).sum(-1)
    return out + (r2 * torch.log(r2 + 1e-9)) @ weights


def gaussians(kp: torch.Tensor, h: int, w: int, variance: float = 0.01) -> torch.Tensor:
    """(B, N, 2) keypoints → (B, N, h, w) Gaussian heat maps."""
    grid = coordinate_grid(h, w, kp)
    d2 = ((grid[None, None] - kp[:, :, None, None]) ** 2).sum(-1)
    return torch.exp(-0.5 * d2 / variance)


# ------------------------------------------------------------------------------------------ networks
class DenseMotionNetwork(nn.Module):
    def __init__(self, num_tps: int = NUM_TPS, channels: int = 3, expansion: int = 64, blocks: int = 5,
                 most: int = 1024, scale: float = 0.25):
        super().__init__()
        self.num_tps = num_tps
        self.down = _AntiAlias(channels, scale)
        self.hourglass = _Hourglass(expansion, channels * (num_tps + 1) + num_tps * 5 + 1, blocks, most)
        sizes = self.hourglass.out_channels
        self.maps = nn.Conv2d(sizes[-1], num_tps + 1, 7, padding=3)
        self.up_nums = 2  # log2(1 / scale)
        self.occlusion_num = 4
        widths = [sizes[-1] // 2 ** i for i in range(self.up_nums)]
        self.up = nn.ModuleList(_Norm(c, c // 2, up=True) for c in widths)
        occ = [sizes[-i - 1] for i in reversed(range(self.occlusion_num - self.up_nums))]
        occ += [sizes[-1] // 2 ** (i + 1) for i in range(self.up_nums)]
        self.occlusion = nn.ModuleList(nn.Conv2d(c, 1, 7, padding=3) for c in occ)

    def forward(self, source: torch.Tensor, kp_driving: torch.Tensor, kp_source: torch.Tensor) -> dict:
        src = self.down(source)
        b, _, h, w = src.shape
        heat = gaussians(kp_driving, h, w) - gaussians(kp_source, h, w)
        heat = torch.cat([torch.zeros(b, 1, h, w, dtype=heat.dtype, device=heat.device), heat], 1)
        grid = coordinate_grid(h, w, src).reshape(-1, 2)
        warped = tps_warp(kp_driving.view(b, -1, 5, 2), kp_source.view(b, -1, 5, 2), grid).view(b, -1, h, w, 2)
        identity = grid.view(1, 1, h, w, 2).expand(b, 1, h, w, 2)
        transforms = torch.cat([identity, warped], 1)                                   # (B, K+1, h, w, 2)
        k1 = transforms.shape[1]
        deformed = F.grid_sample(src.repeat_interleave(k1, 0), transforms.reshape(b * k1, h, w, 2),
                                 align_corners=True).view(b, k1, -1, h, w)
        feats = self.hourglass(torch.cat([heat, deformed.reshape(b, -1, h, w)], 1))
        weights = F.softmax(self.maps(feats[-1]), 1)
        flow = (transforms.permute(0, 1, 4, 2, 3) * weights[:, :, None]).sum(1).permute(0, 2, 3, 1)
        masks = [torch.sigmoid(self.occlusion[i](feats[self.up_nums - self.occlusion_num + i]))
                 for i in range(self.occlusion_num - self.up_nums)]
        x = feats[-1]
        for i in range(self.up_nums):
            x = self.up[i](x)
            masks.append(torch.sigmoid(self.occlusion[i + self.occlusion_num - self.up_nums](x)))
        return {"deformation": flow, "occlusion": masks, "weights": weights}


class InpaintingNetwork(nn.Module):
    def __init__(self, channels: int = 3, expansion: int = 64, most: int = 512, down_blocks: int = 3):
        super().__init__()
        self.first = _Norm(channels, expansion, 7, 3)
        self.down_blocks = nn.ModuleList(
            _Norm(min(most, expansion * 2 ** i), min(most, expansion * 2 ** (i + 1)), down=True)
            for i in range(down_blocks))
        ins = [most, most, most // 2]
        outs = [most // 2, most // 4, most // 8]
        self.up_blocks = nn.ModuleList(_Norm(ins[i], outs[i], up=True) for i in range(down_blocks))
        self.resblock = nn.ModuleList(_Res(ins[i // 2]) for i in range(2 * down_blocks))
        self.final = nn.Conv2d(expansion, channels, 7, padding=3)

    @staticmethod
    def _warp(x: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
        if flow.shape[1:3] != x.shape[2:]:
            flow = F.interpolate(flow.permute(0, 3, 1, 2), size=x.shape[2:], mode="bilinear",
                                 align_corners=True).permute(0, 2, 3, 1)
        return F.grid_sample(x, flow, align_corners=True)

    def forward(self, source: torch.Tensor, motion: dict) -> torch.Tensor:
        feats = [self.first(source)]
        for block in self.down_blocks:
            feats.append(block(feats[-1]))
        flow, masks = motion["deformation"], motion["occlusion"]
        out = self._warp(feats[-1], flow) * masks[0]
        skip = out
        n = len(self.down_blocks)
        for i in range(n):
            out = self.up_blocks[i](self.resblock[2 * i + 1](self.resblock[2 * i](out)))
            skip = self._warp(feats[-(i + 2)], flow) * masks[i + 1]
            if i < n - 1:
                out = torch.cat([out, skip], 1)
        last = masks[-1]
        out = torch.sigmoid(self.final(out * (1 - last) + skip))
        return out * (1 - last) + self._warp(source, flow) * last


class TPSMM(nn.Module):
    """The three networks of the published model and relative-motion animation (the authors' demo mode)."""

    def __init__(self, motion_width: int = 64, motion_most: int = 1024, paint_width: int = 64, paint_most: int = 512):
        """Widths of the published model by default (smaller ones only to test the wiring quickly)."""
        super().__init__()
        self.kp_detector = KPDetector()
        self.dense_motion_network = DenseMotionNetwork(expansion=motion_width, most=motion_most)
        self.inpainting_network = InpaintingNetwork(expansion=paint_width, most=paint_most)

    @torch.inference_mode()
    def keypoints(self, frames: torch.Tensor) -> torch.Tensor:
        return self.kp_detector(frames)

    @torch.inference_mode()
    def animate(self, source: torch.Tensor, kp_source: torch.Tensor, kp_driving: torch.Tensor,
                kp_initial: torch.Tensor) -> torch.Tensor:
        """Source (1, 3, H, W) moved as the driving keypoints moved since ``kp_initial``, the motion scaled by
        the square root of the ratio of the keypoint clouds' convex-hull areas (the authors' relative mode)."""
        scale = (_hull_area(kp_source[0]) / max(_hull_area(kp_initial[0]), 1e-12)) ** 0.5
        kp_norm = kp_source + (kp_driving - kp_initial) * scale
        motion = self.dense_motion_network(source, kp_norm, kp_source)
        return self.inpainting_network(source, motion)


def _hull_area(points: torch.Tensor) -> float:
    from scipy.spatial import ConvexHull
    return float(ConvexHull(points.detach().cpu().double().numpy()).volume)


def load_tpsmm(path: str | Path) -> TPSMM:
    """The model with the weights of a published TPSMM checkpoint (strict: every layer must match)."""
    model = TPSMM()
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        for name in ("kp_detector", "dense_motion_network", "inpainting_network"):
            getattr(model, name).load_state_dict(state[name])
    except (RuntimeError, KeyError, OSError, TypeError, AttributeError) as exc:
        raise ModelError(f"not a Thin-Plate Spline Motion Model checkpoint ({str(exc).splitlines()[0][:160]})", path,
                         "use vox.pth.tar from the catalogue entry 'tpsmm-vox'") from None
    return model.eval()
