"""Seamless tiled inference: whole-image results from pieces that fit in memory.

A network is run as a chain of :class:`Step` s, each with a *finite* halo: the number of input
pixels on each side that an output pixel depends on (one per 3×3 convolution). A step over a big
image runs tile by tile; each tile is cut with its full halo, and only the tile's core is kept, so
every kept pixel saw exactly the input it would have seen in one whole-image pass. Tiled and
untiled results therefore agree to float rounding, with no seams and no blending. Deep networks
whose receptive field is huge (RRDBNet: ~350 pixels) are split into several steps (one per block)
so that each step's halo stays small; the whole-image feature maps between steps are kept in
memory at the input resolution.

Tile sides come from the memory budget (and tiles of equal size are batched when several fit);
when a tile still runs out of memory, it is halved and retried.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Callable

import torch

from ..errors import ModelError
from .device import is_out_of_memory, memory_budget, release_memory

MIN_TILE = 16


@dataclass
class Step:
    fn: Callable[[torch.Tensor], torch.Tensor]
    """N×C×h×w → N×C'×(h·scale)×(w·scale)."""
    halo: int
    """Input pixels of context each output pixel needs on each side."""
    scale: Fraction = Fraction(1)
    values_per_pixel: int = 512
    """Peak activations per input pixel while the step runs (to size tiles)."""

    @property
    def align(self) -> int:
        """Tile edges sit on multiples of this, so they map to whole output pixels."""
        return self.scale.denominator


def _spans(length: int, tile: int, align: int) -> list[tuple[int, int]]:
    """Split ``range(length)`` into near-equal pieces of at most ``tile``, edges on multiples of ``align``."""
    count = max(1, math.ceil(length / tile))
    edges = [min(length, round(length * i / count / align) * align) for i in range(count + 1)]
    edges[-1] = length
    return [(a, b) for a, b in zip(edges, edges[1:]) if b > a]


def tile_side(step: Step, budget: int, bytes_per_value: int, batch: int = 1) -> int:
    """The largest tile core side whose crop (core + 2·halo) fits ``budget`` bytes."""
    pixels = budget / (step.values_per_pixel * bytes_per_value * batch)
    return max(MIN_TILE, math.isqrt(int(pixels)) - 2 * step.halo)


def _windows(length: int, tile: int, halo: int, align: int) -> list[tuple[int, int, int, int]]:
    """(core start, core end, crop start, crop end) along one axis.

    Every crop has the same length (core + 2·halo, or the whole axis), shifted inward at the image
    edges; a core pixel then always has its full halo inside the crop or sits against the true
    image edge, exactly as in a whole-image pass. Equal crops share one set of compiled kernels
    and can be batched.
    """
    spans = _spans(length, tile, align)
    size = min(length, max(b - a for a, b in spans) + 2 * halo)
    return [(a, b, c, c + size) for a, b in spans
            for c in [min(max(0, a - halo), length - size)]]


def run_step(step: Step, x: torch.Tensor, tile: int, device: torch.device, dtype: torch.dtype,
             out_device: torch.device | None = None, batch: int = 1) -> torch.Tensor:
    """Apply ``step`` to N×C×H×W ``x`` in tiles of at most ``tile``×``tile`` input pixels (core),
    ``batch`` tiles per call."""
    n, _c, h, w = x.shape
    align = step.align
    halo = -(-step.halo // align) * align
    tile = max(align, tile // align * align)
    tiles = [(ys, xs) for ys in _windows(h, tile, halo, align) for xs in _windows(w, tile, halo, align)]
    s = step.scale
    out = None
    for first in range(0, len(tiles), batch):
        group = tiles[first:first + batch]
        crops = torch.cat([x[..., cy0:cy1, cx0:cx1] for (_, _, cy0, cy1), (_, _, cx0, cx1) in group])
        with torch.inference_mode():
            result = step.fn(crops.to(device=device, dtype=dtype, memory_format=torch.channels_last))
        if out is None:
            out = torch.empty((n, result.shape[1], int(h * s), int(w * s)), dtype=result.dtype,
                              device=out_device or x.device).contiguous(memory_format=torch.channels_last)
        for k, ((y0, y1, cy0, _), (x0, x1, cx0, _)) in enumerate(group):
            oy, ox = int((y0 - cy0) * s), int((x0 - cx0) * s)
            hh, ww = int((y1 - y0) * s), int((x1 - x0) * s)
            out[..., int(y0 * s):int(y0 * s) + hh, int(x0 * s):int(x0 * s) + ww] = \
                result[k * n:(k + 1) * n, :, oy:oy + hh, ox:ox + ww].to(out.device)
        del result, crops
    return out


def run_steps(steps: list[Step], x: torch.Tensor, device: torch.device, dtype: torch.dtype,
              tile: int | None = None, out_device: torch.device | None = None,
              on_retry: Callable[[int], None] | None = None) -> torch.Tensor:
    """Run a chain of steps on N×C×H×W ``x``; tiles of ``tile`` input pixels, or sized from free memory.

    Between steps the whole-image maps stay on ``device`` (``out_device`` gets the final result).
    On out-of-memory the failing step's tile is halved and the step retried, down to 16 pixels.
    """
    bytes_per_value = torch.finfo(dtype).bits // 8
    for index, step in enumerate(steps):
        last = index == len(steps) - 1
        budget = memory_budget(device)
        side = tile or tile_side(step, budget, bytes_per_value, x.shape[0])
        while True:
            crop_bytes = (side + 2 * step.halo) ** 2 * step.values_per_pixel * bytes_per_value * x.shape[0]
            batch = max(1, budget // max(1, crop_bytes))
            try:
                x = run_step(step, x, side, device, dtype, out_device if last else device, batch)
                break
            except Exception as error:  # noqa: BLE001 - only out-of-memory is handled, the rest re-raised
                if not is_out_of_memory(error):
                    raise
                release_memory(device)
                if side <= MIN_TILE:
                    raise ModelError(f"out of memory even with {MIN_TILE}-pixel tiles on {device}",
                                     hint="free memory, use a smaller model, or run on the CPU") from None
                side = max(MIN_TILE, side // 2)
                if on_retry:
                    on_retry(side)
    return x
