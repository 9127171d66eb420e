"""Automatic chroma: the DDColor network when its weights are present, else an offline fallback.

DDColor sees the grey picture at a square render size (a multiple of 32; 512 as in the official
pipeline) and predicts Lab chroma there; the chroma is resized back and put under the full-resolution
luminance like every other path.

Without weights the automatic path falls back to a toning learnt from a small library of colour
photographs that ship inside scikit-image, a dependency (a portrait, a cat, coffee, a rocket under sky
and trees, a motorcycle in a garage): their mean chroma per luminance band, muted (:func:`toning_table`),
gives every pixel a colour that depends on its luminance only, a hand-tinted look, and faces found by
bian's face detector get a skin tone (:func:`fallback_chroma`). Five photographs cannot say what
colour an unknown wall is; matching the picture against them densely painted wrong colours in blotches
that changed from region to region and frame to frame, and scored below the grey picture
(docs/BENCHMARKS.md). References or hints from the user are far better.
"""
from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

from ..errors import BianError, ModelError, OptionError
from .lab import lab_to_rgb, rgb_to_lab

MODELS = ("ddcolor-modelscope", "ddcolor-artistic", "ddcolor-paper", "ddcolor-paper-tiny")
"""Catalogue names, in the order ``auto`` looks for them (the authors' default first)."""

_LIBRARY = ("astronaut.png", "chelsea.png", "coffee.png", "rocket.jpg", "motorcycle_left.png")


def find_weights(spec: str = "auto", allow_download: bool | None = None) -> Path:
    """The DDColor checkpoint to use: a file path, a catalogue name, or ``auto`` (the first of
    :data:`MODELS` found locally). Raises :class:`ModelError` with a one-line how-to when none is."""
    from ..models import catalogue

    if spec not in ("auto", *MODELS):
        path = Path(spec)
        if path.is_file():
            return path
        raise ModelError("colour model file not found", path, f"give a DDColor .pth or one of: {', '.join(MODELS)}")
    names = MODELS if spec == "auto" else (spec,)
    damaged = None
    for name in names:
        try:
            return catalogue.find_files(name, allow_download=False)[0]
        except ModelError as exc:
            if damaged is None and catalogue.is_installed(name):  # there, but not the published file
                damaged = exc
    if damaged is not None:
        raise damaged
    first = catalogue.get(names[0])
    if allow_download is None:
        allow_download = os.environ.get("BIAN_ALLOW_DOWNLOAD", "") not in ("", "0")
    if allow_download:
        return catalogue.find_files(first.name, allow_download=True)[0]
    raise ModelError(f"DDColor weights not found ({first.files[0].name})",
                     hint=f"download {first.files[0].url} into $BIAN_MODEL_DIR or {catalogue.cache_dir() / first.name} "
                     "(or set BIAN_ALLOW_DOWNLOAD=1), or colour from --reference images or --hints")


def load(path: str | os.PathLike):
    """A :class:`~bian.models.arch.ddcolor.DDColor` in eval mode from an official checkpoint
    (``{"params": state_dict}`` or a bare state dict), variant read off the tensor shapes."""
    import torch

    from ..models.arch.ddcolor import DDColor, variant_of

    path = Path(path)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except Exception as exc:  # zip, pickle and torch errors all mean "not a usable checkpoint"
        raise ModelError(f"cannot read DDColor weights ({type(exc).__name__})", path,
                         "give an official DDColor .pth (a state dict)") from None
    if isinstance(state, dict) and isinstance(state.get("params"), dict):
        state = state["params"]
    if not isinstance(state, dict):
        raise ModelError("DDColor weights hold no state dict", path, "give an official DDColor .pth")
    state = {k.removeprefix("module."): v for k, v in state.items() if isinstance(v, torch.Tensor)}
    try:
        model = DDColor(variant_of(state))
        missing, _unused = model.load_state_dict(state, strict=False)
    except (KeyError, ValueError, RuntimeError) as exc:
        raise ModelError(f"weights do not fit DDColor ({str(exc).splitlines()[0][:120]})", path,
                         "give an official DDColor checkpoint") from None
    if missing:
        raise ModelError(f"DDColor weights lack {len(missing)} tensors (first: {missing[0]})", path,
                         "the file is not a complete DDColor checkpoint")
    return model.eval()


def check_render_size(size: int) -> int:
    if not (64 <= size <= 2048 and size % 32 == 0):
        raise OptionError(f"--render-size must be a multiple of 32 between 64 and 2048, got {size}")
    return size


def predict(model, L: np.ndarray, render_size: int, shape: tuple[int, int]) -> np.ndarray:
    """Chroma from DDColor for luminance ``L`` (H×W, [0, 100]), returned at ``shape`` (h, w) as
    h×w×2 float32. The network runs on its own device and dtype."""
    import torch

    side = check_render_size(render_size)
    lab = np.zeros((side, side, 3), np.float32)
    lab[..., 0] = cv2.resize(L.astype(np.float32), (side, side), interpolation=cv2.INTER_AREA)
    grey = torch.from_numpy(lab_to_rgb(lab).transpose(2, 0, 1)[None].copy())
    weight = next(model.parameters())
    with torch.inference_mode():
        ab = model(grey.to(weight.device, weight.dtype))[0].float().cpu().numpy().transpose(1, 2, 0)
    return cv2.resize(ab, shape[::-1], interpolation=cv2.INTER_AREA)


def example_library() -> list[np.ndarray]:
    """The fallback's colour examples as Lab images (H×W×3 float32), read from scikit-image's folder."""
    import skimage
    from PIL import Image

    folder = Path(skimage.__file__).parent / "data"
    found = []
    for name in _LIBRARY:
        try:
            with Image.open(folder / name) as img:
                found.append(rgb_to_lab(np.asarray(img.convert("RGB"), np.float32) / 255))
        except OSError:
            continue
    if not found:
        raise BianError("no example photographs found for the automatic fallback", folder,
                        "reinstall scikit-image, or give --reference images or --hints")
    return found


TONE_BINS = 10
"""Luminance bins (10 L units each) of the fallback's toning table."""
TONE_CHROMA = 12.0
"""Most chroma (Lab units) the toning gives: a muted, hand-tinted look, not full-strength guesses."""


def toning_table(labs: list[np.ndarray]) -> np.ndarray:
    """The fallback's toning: mean chroma per luminance bin over example pictures (H×W×3 Lab each),
    every picture counting alike in each bin it covers, each bin's chroma then limited softly to
    TONE_CHROMA. TONE_BINS×2 float32; bin k holds L in [10k, 10k + 10)."""
    sums = np.zeros((TONE_BINS, 2))
    counts = np.zeros(TONE_BINS)
    for lab in labs:
        bins = np.clip((lab[..., 0] / (100 / TONE_BINS)).astype(int), 0, TONE_BINS - 1).ravel()
        n = np.bincount(bins, minlength=TONE_BINS)
        have = n > 0
        for c in (0, 1):
            total = np.bincount(bins, lab[..., 1 + c].ravel(), minlength=TONE_BINS)
            sums[have, c] += total[have] / n[have]
        counts += have
    mean = sums / np.maximum(counts, 1)[:, None]
    size = np.maximum(np.hypot(mean[:, 0], mean[:, 1]), 1e-6)[:, None]
    return (mean * TONE_CHROMA * np.tanh(size / TONE_CHROMA) / size).astype(np.float32)


def tone(L: np.ndarray, table: np.ndarray) -> np.ndarray:
    """Chroma (h×w×2 float32) for luminance ``L`` (h×w, [0, 100]) read off a toning table, linear
    between bin centres and fading to neutral at L 0 and 100 (black and paper white hold no colour)."""
    levels = np.concatenate([[0.0], (np.arange(len(table)) + 0.5) * (100 / len(table)), [100.0]])
    ends = np.zeros((1, 2), np.float32)
    values = np.concatenate([ends, table, ends])
    return np.dstack([np.interp(L, levels, values[:, c]) for c in (0, 1)]).astype(np.float32)


SKIN = (9.3, 17.4)
"""Skin chroma (a, b): the median over the face of scikit-image's astronaut example (its L ≈ 75)."""


def fallback_chroma(L: np.ndarray, table: np.ndarray) -> np.ndarray:
    """The offline fallback's chroma (h×w×2 float32) for luminance ``L`` (h×w, [0, 100]): the toning
    (:func:`tone`), and :data:`SKIN` on an ellipse with soft edges over each face that bian's face
    detector finds (a face colour is the one guess that five examples can make safely)."""
    from ..faces.detect import detect_faces

    ab = tone(L, table)
    mask = np.zeros(L.shape, np.float32)
    for face in detect_faces(L / 100.0, landmarks=None):
        x0, y0, x1, y1 = (float(v) for v in face.box)
        r = (x1 - x0) / 2
        one = np.zeros(L.shape, np.float32)
        cv2.ellipse(one, (round((x0 + x1) / 2), round((y0 + y1) / 2 + 0.1 * r)), (round(0.8 * r), round(1.1 * r)),
                    0, 0, 360, 1.0, -1)
        np.maximum(mask, cv2.GaussianBlur(one, (0, 0), max(1.0, 0.25 * r)), out=mask)
    return ab + mask[..., None] * (np.float32(SKIN) - ab)
