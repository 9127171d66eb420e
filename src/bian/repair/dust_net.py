"""The learned dust detector: the film-dust U-Net (``film_dust_unet`` in the model catalogue) run on
one frame. An alternative to the temporal detector of :mod:`bian.repair.dust`, needing no neighbours.
"""
from __future__ import annotations

import os

import numpy as np
import torch

from ..errors import ModelError
from ..models import catalogue
from ..models.arch.dust_unet import DustUNet, from_state_dict


def load(path: str | os.PathLike | None = None, allow_download: bool | None = None) -> DustUNet:
    """The network, from ``path`` (file or folder) or wherever the catalogue finds ``film_dust_unet``."""
    weights = catalogue.find_files("film_dust_unet", path, allow_download)[0]
    try:
        state = torch.load(weights, map_location="cpu", weights_only=True)
        return from_state_dict(state)
    except (RuntimeError, KeyError, ValueError, AttributeError) as exc:
        raise ModelError(f"not a film-dust U-Net checkpoint ({type(exc).__name__})", weights,
                         "give the published dust16_19.pth") from None


def probability(rgb: np.ndarray, net: DustUNet) -> np.ndarray:
    """Dust probability per pixel (float32 H×W in [0, 1]) of a float32 RGB H×W×3 frame in [0, 1]."""
    h, w = rgb.shape[:2]
    step = 2 ** (len(net.down_path) - 1)
    pad = ((0, -h % step), (0, -w % step), (0, 0))
    x = torch.from_numpy(np.ascontiguousarray(np.pad(rgb, pad, mode="reflect"))).permute(2, 0, 1)[None]
    with torch.inference_mode():
        return net(x.float())[0, 0, :h, :w].numpy()


def detect(rgb: np.ndarray, net: DustUNet, threshold: float = 0.5) -> np.ndarray:
    """Bool H×W: pixels the network calls dust with probability above ``threshold``."""
    return probability(rgb, net) > threshold
