"""The faces stage: find, track and restore every face, keeping identity and without flicker.

Per output frame it looks at ±``radius`` frames of the same shot (cuts from
:mod:`bian.analysis.cuts` or a ``"cut"`` note from an earlier stage), detects faces in each (cached:
a frame's faces are a pure function of its pixels, so the cache cannot change any result), links them
into tracks, smooths the current frame's landmarks along its track, fuses the same face from the
neighbours, enhances it, optionally runs GFPGAN, checks identity and pastes it back. Nothing is
carried between windows, so a resumed run or a Ray segment produces the same pixels.
"""
from __future__ import annotations

import hashlib
from collections import OrderedDict

import numpy as np

from ..analysis.cuts import is_cut
from ..errors import OptionError
from ..faces import loaders
from ..faces.detect import BACKENDS, detect_faces
from ..faces.restore import Settings, restore_faces
from ..faces.track import link, smooth
from ..pipeline.options import Option, boolean, choice, int_range, positive_float, unit_float
from .base import Stage, Window

MODELS = ("auto", "offline", "gfpgan")

OPTIONS = [
    Option("faces", boolean, False, "restore faces: multi-frame fusion (video) and landmark-guided enhancement, "
           "identity-checked; GFPGAN v1.4 too when its weights are found", is_flag=True),
    Option("face_model", choice("face_model", MODELS), "auto", "face restorer: offline (no learned model), "
           "gfpgan (needs GFPGANv1.4.pth) or auto (gfpgan when its weights are found, else offline)",
           choices=MODELS),
    Option("fidelity", unit_float("fidelity"), 0.5, "with --face-model gfpgan: 0 = the network's face, "
           "1 = the offline restoration (closest to the input); default 0.5", metavar="F"),
    Option("face_detector", choice("face_detector", BACKENDS), "auto", "face detector: yunet, dlib or auto",
           choices=BACKENDS),
    Option("face_radius", int_range("face_radius", 0, 6), 3, "video: frames on each side used to track and "
           "fuse each face (default 3)", metavar="N"),
    Option("identity_threshold", positive_float("identity_threshold"), 0.35, "largest dlib descriptor "
           "distance allowed between a face and its restoration before it is blended back (default 0.35)",
           metavar="D"),
]


def build(opts: dict, source) -> list:
    if not opts.get("faces"):
        return []
    radius = opts.get("face_radius", 3) if source.kind == "video" else 0
    return [FaceRestore(model=opts.get("face_model", "auto"), fidelity=opts.get("fidelity", 0.5),
                        detector=opts.get("face_detector", "auto"), radius=radius,
                        identity_threshold=opts.get("identity_threshold", 0.35))]


class FaceRestore(Stage):
    name = "faces"

    def __init__(self, model: str = "auto", fidelity: float = 0.5, detector: str = "auto", radius: int = 3,
                 identity_threshold: float | None = 0.35, model_path=None):
        if model not in MODELS:
            raise OptionError(f"face model must be one of {', '.join(MODELS)}, got {model!r}")
        if not 0 <= fidelity <= 1:
            raise OptionError(f"fidelity must be between 0 and 1, got {fidelity}")
        if not 0 <= radius <= 6:
            raise OptionError(f"face radius must be 0..6, got {radius}")
        self.detector, self.radius = detector, int(radius)
        self.before = self.after = self.radius
        self.settings = Settings(fidelity=float(fidelity), guard=identity_threshold)
        self.neural = None
        self.model = "offline"
        if model == "gfpgan" or (model == "auto" and (model_path is not None or loaders.available("gfpgan-v1.4"))):
            from ..faces.gfpgan import load_gfpgan, restore_aligned
            net = load_gfpgan(loaders.model_path("gfpgan-v1.4", model_path))
            self.neural = lambda aligned: restore_aligned(net, aligned)
            self.model = "gfpgan-v1.4"
        self._cache: OrderedDict = OrderedDict()

    def describe(self) -> dict:
        offline = ("multi-frame fusion + landmark-guided enhancement" if self.radius
                   else "landmark-guided enhancement")
        path = (f"GFPGAN v1.4 on the {offline}, mixed by fidelity" if self.neural is not None
                else f"offline: {offline}")
        return {"model": self.model, "path": path, "fidelity": self.settings.fidelity if self.neural else None,
                "detector": self.detector, "radius": self.radius, "identity_threshold": self.settings.guard}

    def _faces(self, frame, rgb: np.ndarray):
        """Detected faces of one frame, memoised by the frame's index and a digest of its pixels."""
        key = (frame.index, hashlib.blake2b(np.ascontiguousarray(rgb[::7, ::7]).tobytes(), digest_size=16).digest())
        if key not in self._cache:
            self._cache[key] = detect_faces(rgb, backend=self.detector, landmarks="68")
            while len(self._cache) > 4 * (2 * self.radius + 1):
                self._cache.popitem(last=False)
        return [f.replace() for f in self._cache[key]]

    def process(self, window: Window) -> list:
        frames = window.frames
        rgbs = [f.rgb() for f in frames]
        start, stop = window.center, window.center + 1
        while start > 0 and not frames[start].meta.get("cut") and not is_cut(rgbs[start - 1], rgbs[start]):
            start -= 1
        while stop < len(frames) and not frames[stop].meta.get("cut") and not is_cut(rgbs[stop - 1], rgbs[stop]):
            stop += 1
        shot = rgbs[start:stop]
        centre = window.center - start
        linked = link([self._faces(f, rgb) for f, rgb in zip(frames[start:stop], shot)])
        faces = smooth(linked, centre, sigma=max(1.0, self.radius / 2)) if len(shot) > 1 else linked[centre]
        picture, reports = restore_faces(shot, centre, faces, linked if len(shot) > 1 else None,
                                         self.settings, self.neural)
        out = window.current.replace(image=np.clip(picture, 0, 1).astype(np.float32))
        out.meta["faces"] = reports
        return [out]

    def close(self) -> None:
        self._cache.clear()
        self.neural = None
