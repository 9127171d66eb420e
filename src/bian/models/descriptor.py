"""What a caller needs to know about a loaded image-to-image network, whatever its architecture.

In the spirit of spandrel's model descriptor: the network travels with its scale, channel counts,
input-size constraint and its forward pass as tileable steps, so the tiler, the device code and
the stages never look at the architecture.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn
from torch.nn import functional as F

from .tiling import Step, run_steps


@dataclass
class ModelDescriptor:
    name: str
    """Catalogue name or file name, for messages and run summaries."""
    arch: str
    """Architecture name (``RRDBNet``, ``SRVGGNetCompact``), for summaries only."""
    model: nn.Module
    """Takes N×in_channels×H×W float in [0, 1]; returns N×out_channels×(H·scale)×(W·scale)."""
    scale: int
    in_channels: int = 3
    out_channels: int = 3
    size_multiple: int = 1
    """Input height and width must be multiples of this (the tiler pads by reflection)."""
    steps: list[Step] = field(default_factory=list)
    """The forward pass as a chain of tileable steps (see :mod:`bian.models.tiling`)."""
    source: str = ""
    """Where the weights came from (file path or catalogue entry)."""

    def to(self, device: torch.device, dtype: torch.dtype) -> "ModelDescriptor":
        """Move the network in place; channels-last is faster for convolutions on CPU and GPU."""
        self.model = self.model.to(device=device, dtype=dtype, memory_format=torch.channels_last).eval()
        return self

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    @property
    def dtype(self) -> torch.dtype:
        return next(self.model.parameters()).dtype

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """One whole-image pass, no tiling, no padding (for tests and small inputs)."""
        with torch.inference_mode():
            return self.model(x)

    def run(self, x: torch.Tensor, tile: int | None = None, out_device: torch.device | None = None,
            on_retry=None) -> torch.Tensor:
        """N×C×H×W float in [0, 1] on any device → float32 N×C×(H·scale)×(W·scale) in [0, 1].

        Sides that are not multiples of ``size_multiple`` are padded by reflection and the padding
        cut off again. ``tile``: tile side in input pixels (None: from free memory).
        """
        h, w = x.shape[-2:]
        m = self.size_multiple
        pad_h, pad_w = -h % m, -w % m
        if pad_h or pad_w:
            x = F.pad(x, (0, pad_w, 0, pad_h), mode="reflect" if min(h, w) > max(pad_h, pad_w) else "replicate")
        out = run_steps(self.steps, x, self.device, self.dtype, tile, out_device or x.device, on_retry)
        out = out[..., : h * self.scale, : w * self.scale].float()
        return out.clamp_(0.0, 1.0).contiguous()

    def describe(self) -> dict:
        return {"model": self.name, "arch": self.arch, "scale": self.scale, "weights": self.source,
                "device": str(self.device), "precision": str(self.dtype).replace("torch.", "")}
