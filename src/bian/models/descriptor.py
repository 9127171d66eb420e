"""What a caller needs to know about a loaded image-to-image network, whatever its architecture.

In the spirit of spandrel's model descriptor: the network travels with its scale, channel counts,
input-size constraint and the context a tile needs, so the tiler, the device code and the stages
never look at the architecture.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn


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
    context: int = 16
    """Input pixels a tile needs on each side so tiled output matches the whole-image output
    within 1e-3 (exact for a finite receptive field, measured for deep networks)."""
    values_per_pixel: int = 1024
    """Peak float activations per input pixel during a forward pass (for choosing tile sizes)."""
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
        with torch.inference_mode():
            return self.model(x)

    def describe(self) -> dict:
        return {"model": self.name, "arch": self.arch, "scale": self.scale, "weights": self.source,
                "device": str(self.device), "precision": str(self.dtype).replace("torch.", "")}
