"""DDColor (Kang et al., ICCV 2023, "DDColor: Towards Photo-Realistic Image Colorization via Dual
Decoders"), written for bian from the paper and the layout of the official checkpoints.

The network takes a grey picture as RGB (L of Lab with a = b = 0, converted back to RGB) at a square
render size that is a multiple of 32, and predicts the Lab chroma ``a``, ``b`` at that size:

* encoder: ConvNeXt (tiny or large) whose four stage outputs are layer-normalised (``norm0..3``);
* pixel decoder: three U-Net blocks (pixel-shuffle ×2 upsampling, batch-normed skip, 3×3 conv)
  and a final ×4 pixel shuffle back to full size;
* colour decoder: 100 learned colour queries refined by 9 transformer layers (cross-attention to
  the three decoder scales in turn, self-attention, feed-forward); each query's embedding dotted
  with the full-size features gives one map per query;
* a 1×1 convolution over those 100 maps plus the normalised input gives ``a`` and ``b``.

Module and parameter names follow the official ``params`` state dict (``encoder.arch.*``,
``decoder.layers.*``, ``decoder.last_shuf.*``, ``decoder.color_decoder.*``, ``refine_net.*``), so a
published checkpoint loads with ``load_state_dict``. Convolutions trained with spectral
normalisation keep their stored ``weight_orig``/``weight_u``/``weight_v``; the normalised weight is
``weight_orig / (u · W v)``, exactly what PyTorch's spectral norm computes at inference.
"""
from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

CONFIGS = {
    "tiny": {"dims": (96, 192, 384, 768), "depths": (3, 3, 9, 3)},
    "large": {"dims": (192, 384, 768, 1536), "depths": (3, 3, 27, 3)},
}
NUM_QUERIES = 100
DEC_LAYERS = 9
NF = 512
HIDDEN = 256


class ChannelNorm(nn.Module):
    """Layer norm over the channels of an N×C×H×W tensor."""

    def __init__(self, channels: int):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x):
        mean = x.mean(1, keepdim=True)
        var = (x - mean).pow(2).mean(1, keepdim=True)
        x = (x - mean) / torch.sqrt(var + 1e-6)
        return self.weight[:, None, None] * x + self.bias[:, None, None]


class ConvNeXtBlock(nn.Module):
    def __init__(self, dim: int):
        super().__init__()
        self.dwconv = nn.Conv2d(dim, dim, 7, padding=3, groups=dim)
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.pwconv1 = nn.Linear(dim, 4 * dim)
        self.pwconv2 = nn.Linear(4 * dim, dim)
        self.gamma = nn.Parameter(torch.full((dim,), 1e-6))

    def forward(self, x):
        y = self.dwconv(x).permute(0, 2, 3, 1)
        y = self.pwconv2(F.gelu(self.pwconv1(self.norm(y))))
        return x + (self.gamma * y).permute(0, 3, 1, 2)


class ConvNeXt(nn.Module):
    """Returns the four layer-normalised stage outputs (strides 4, 8, 16, 32)."""

    def __init__(self, dims, depths):
        super().__init__()
        self.downsample_layers = nn.ModuleList(
            [nn.Sequential(nn.Conv2d(3, dims[0], 4, stride=4), ChannelNorm(dims[0]))]
            + [nn.Sequential(ChannelNorm(dims[i]), nn.Conv2d(dims[i], dims[i + 1], 2, stride=2)) for i in range(3)])
        self.stages = nn.ModuleList(nn.Sequential(*[ConvNeXtBlock(d) for _ in range(n)]) for d, n in zip(dims, depths))
        for i, d in enumerate(dims):
            self.add_module(f"norm{i}", ChannelNorm(d))
        self.norm = nn.LayerNorm(dims[-1], eps=1e-6)  # classifier head norm: in the checkpoint, unused here

    def forward(self, x):
        features = []
        for i in range(4):
            x = self.stages[i](self.downsample_layers[i](x))
            features.append(getattr(self, f"norm{i}")(x))
        return features


class Encoder(nn.Module):
    def __init__(self, dims, depths):
        super().__init__()
        self.arch = ConvNeXt(dims, depths)

    def forward(self, x):
        return self.arch(x)


class SpectralConv2d(nn.Conv2d):
    """A convolution stored as trained with spectral normalisation (``weight_orig`` + power-iteration
    vectors ``weight_u``, ``weight_v``); inference divides by the stored singular-value estimate."""

    def __init__(self, cin: int, cout: int, kernel: int, bias: bool):
        super().__init__(cin, cout, kernel, padding=kernel // 2, bias=bias)
        weight = self.weight
        del self.weight
        self.weight_orig = nn.Parameter(weight.detach())
        self.register_buffer("weight_u", F.normalize(torch.randn(cout), dim=0))
        self.register_buffer("weight_v", F.normalize(torch.randn(cin * kernel * kernel), dim=0))

    def forward(self, x):
        w = self.weight_orig
        sigma = torch.dot(self.weight_u, torch.mv(w.reshape(w.shape[0], -1), self.weight_v))
        return self._conv_forward(x, w / sigma, self.bias)


def _conv_bn(cin: int, cout: int, kernel: int, relu: bool) -> nn.Sequential:
    """fastai's ``custom_conv_layer`` with spectral norm and an extra batch norm: conv[, ReLU], BN."""
    layers = [SpectralConv2d(cin, cout, kernel, bias=False)] + ([nn.ReLU()] if relu else []) + [nn.BatchNorm2d(cout)]
    return nn.Sequential(*layers)


class PixelShuffleUp(nn.Module):
    """1×1 conv to ``cout·scale²`` channels, ReLU, pixel shuffle, then a 2×2 average (ICNR-style blur)."""

    def __init__(self, cin: int, cout: int, scale: int, batch_norm: bool):
        super().__init__()
        if batch_norm:
            self.conv = _conv_bn(cin, cout * scale * scale, 1, relu=False)
        else:
            self.conv = nn.Sequential(SpectralConv2d(cin, cout * scale * scale, 1, bias=True))
        self.scale = scale

    def forward(self, x):
        x = F.pixel_shuffle(F.relu(self.conv(x)), self.scale)
        return F.avg_pool2d(F.pad(x, (1, 0, 1, 0), mode="replicate"), 2, stride=1)


class UnetBlock(nn.Module):
    def __init__(self, up_in: int, skip_in: int, out: int):
        super().__init__()
        self.shuf = PixelShuffleUp(up_in, out, 2, batch_norm=True)
        self.bn = nn.BatchNorm2d(skip_in)
        self.conv = _conv_bn(out + skip_in, out, 3, relu=True)

    def forward(self, up, skip):
        return self.conv(F.relu(torch.cat([self.shuf(up), self.bn(skip)], dim=1)))


def sine_position(x: torch.Tensor, feats: int = HIDDEN // 2) -> torch.Tensor:
    """DETR's normalised sine position encoding for an N×C×H×W map → N×(2·feats)×H×W."""
    n, _, h, w = x.shape
    y_embed = torch.arange(1, h + 1, dtype=torch.float32, device=x.device)[:, None].expand(h, w)
    x_embed = torch.arange(1, w + 1, dtype=torch.float32, device=x.device)[None, :].expand(h, w)
    y_embed = y_embed / (h + 1e-6) * 2 * math.pi
    x_embed = x_embed / (w + 1e-6) * 2 * math.pi
    dim_t = 10000 ** (2 * (torch.arange(feats, dtype=torch.float32, device=x.device) // 2) / feats)
    px, py = x_embed[..., None] / dim_t, y_embed[..., None] / dim_t
    px = torch.stack((px[..., 0::2].sin(), px[..., 1::2].cos()), dim=3).flatten(2)
    py = torch.stack((py[..., 0::2].sin(), py[..., 1::2].cos()), dim=3).flatten(2)
    return torch.cat((py, px), dim=2).permute(2, 0, 1)[None].expand(n, -1, -1, -1).to(x.dtype)


class CrossAttentionLayer(nn.Module):
    def __init__(self):
        super().__init__()
        self.multihead_attn = nn.MultiheadAttention(HIDDEN, 8)
        self.norm = nn.LayerNorm(HIDDEN)

    def forward(self, q, memory, pos, query_pos):
        return self.norm(q + self.multihead_attn(q + query_pos, memory + pos, memory)[0])


class SelfAttentionLayer(nn.Module):
    def __init__(self):
        super().__init__()
        self.self_attn = nn.MultiheadAttention(HIDDEN, 8)
        self.norm = nn.LayerNorm(HIDDEN)

    def forward(self, q, query_pos):
        qk = q + query_pos
        return self.norm(q + self.self_attn(qk, qk, q)[0])


class FFNLayer(nn.Module):
    def __init__(self):
        super().__init__()
        self.linear1 = nn.Linear(HIDDEN, 2048)
        self.linear2 = nn.Linear(2048, HIDDEN)
        self.norm = nn.LayerNorm(HIDDEN)

    def forward(self, q):
        return self.norm(q + self.linear2(F.relu(self.linear1(q))))


class MLP(nn.Module):
    def __init__(self, layers: int = 3):
        super().__init__()
        self.layers = nn.ModuleList(nn.Linear(HIDDEN, HIDDEN) for _ in range(layers))

    def forward(self, x):
        for i, layer in enumerate(self.layers):
            x = layer(x) if i == len(self.layers) - 1 else F.relu(layer(x))
        return x


class ColorDecoder(nn.Module):
    def __init__(self, in_channels=(NF, NF, NF // 2)):
        super().__init__()
        self.transformer_self_attention_layers = nn.ModuleList(SelfAttentionLayer() for _ in range(DEC_LAYERS))
        self.transformer_cross_attention_layers = nn.ModuleList(CrossAttentionLayer() for _ in range(DEC_LAYERS))
        self.transformer_ffn_layers = nn.ModuleList(FFNLayer() for _ in range(DEC_LAYERS))
        self.decoder_norm = nn.LayerNorm(HIDDEN)
        self.query_feat = nn.Embedding(NUM_QUERIES, HIDDEN)
        self.query_embed = nn.Embedding(NUM_QUERIES, HIDDEN)
        self.level_embed = nn.Embedding(len(in_channels), HIDDEN)
        self.input_proj = nn.ModuleList(nn.Conv2d(c, HIDDEN, 1) for c in in_channels)
        self.color_embed = MLP()

    def forward(self, scales, image_features):
        n = image_features.shape[0]
        src, pos = [], []
        for i, x in enumerate(scales):  # sequence-first (HW × N × C), as nn.MultiheadAttention expects
            pos.append(sine_position(x).flatten(2).permute(2, 0, 1))
            src.append((self.input_proj[i](x).flatten(2) + self.level_embed.weight[i][None, :, None]).permute(2, 0, 1))
        query_pos = self.query_embed.weight[:, None].expand(-1, n, -1)
        out = self.query_feat.weight[:, None].expand(-1, n, -1)
        for i in range(DEC_LAYERS):
            level = i % len(scales)
            out = self.transformer_cross_attention_layers[i](out, src[level], pos[level], query_pos)
            out = self.transformer_self_attention_layers[i](out, query_pos)
            out = self.transformer_ffn_layers[i](out)
        embed = self.color_embed(self.decoder_norm(out).transpose(0, 1))  # N × Q × C
        return torch.einsum("nqc,nchw->nqhw", embed, image_features)


class Decoder(nn.Module):
    def __init__(self, dims):
        super().__init__()
        self.layers = nn.Sequential(UnetBlock(dims[3], dims[2], NF), UnetBlock(NF, dims[1], NF),
                                    UnetBlock(NF, dims[0], NF // 2))
        self.last_shuf = PixelShuffleUp(NF // 2, NF // 2, 4, batch_norm=False)
        self.color_decoder = ColorDecoder()

    def forward(self, features):
        out0 = self.layers[0](features[3], features[2])
        out1 = self.layers[1](out0, features[1])
        out2 = self.layers[2](out1, features[0])
        return self.color_decoder([out0, out1, out2], self.last_shuf(out2))


class DDColor(nn.Module):
    """Grey RGB N×3×S×S in [0, 1] (S a multiple of 32) → Lab chroma N×2×S×S."""

    def __init__(self, variant: str = "large"):
        super().__init__()
        config = CONFIGS[variant]
        self.variant = variant
        self.encoder = Encoder(config["dims"], config["depths"])
        self.decoder = Decoder(config["dims"])
        self.refine_net = nn.Sequential(nn.Sequential(SpectralConv2d(NUM_QUERIES + 3, 2, 1, bias=True)))
        self.register_buffer("mean", torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1))

    def forward(self, x):
        x = (x - self.mean) / self.std
        maps = self.decoder(self.encoder(x))
        return self.refine_net(torch.cat([maps, x], dim=1))


def variant_of(state: dict) -> str:
    """``tiny`` or ``large`` from the shapes in an official state dict (never from a file name)."""
    stem = state.get("encoder.arch.downsample_layers.0.0.weight")
    if stem is None:
        raise KeyError("encoder.arch.downsample_layers.0.0.weight")
    for name, config in CONFIGS.items():
        depth = 1 + max((int(k.split(".")[4]) for k in state if k.startswith("encoder.arch.stages.2.")), default=-1)
        if stem.shape[0] == config["dims"][0] and depth == config["depths"][2]:
            return name
    raise ValueError(f"ConvNeXt stem of width {stem.shape[0]} and stage-3 depth {depth} is neither DDColor "
                     "tiny nor large")
