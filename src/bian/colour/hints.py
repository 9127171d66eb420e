"""Colour hints: points and strokes a user puts on a grey picture, and their propagation.

A hint file is either JSON or a sparse colour image.

JSON: a list of marks, or ``{"size": [width, height], "hints": [...]}`` when the coordinates were
taken on a copy of another size. Each mark is a point ``{"x": 120, "y": 80, "colour": "#c03020"}`` or a
stroke ``{"points": [[x, y], ...], "colour": [192, 48, 32], "width": 6}``; ``"frame": N`` puts it on
frame N of a video (default 0). Coordinates are source pixels; colours are sRGB, hex or 0–255 triples.
Only a mark's chroma is used: the picture's own luminance is kept.

Sparse colour image: the grey picture with colour painted on it (any size, same aspect). Painted
pixels are those with visible colour (channel spread above 10 of 255) or, in an image with
transparency, every opaque pixel (which also allows neutral "keep this grey" hints).

Propagation is geodesic chrominance blending (Yatziv & Sapiro, "Fast image and video colorization
using chrominance blending", 2006): each pixel takes a blend of the hint colours weighted by the
inverse power of its geodesic distance to them, where distance grows with every luminance step
crossed. On random point hints it beats Levin et al.'s optimisation by 0.4–0.7 dB PSNR in our
benchmark (docs/BENCHMARKS.md), because a single constrained pixel barely pulls a harmonic solution.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, UnidentifiedImageError
from scipy.sparse.csgraph import dijkstra

from ..errors import InputError
from .lab import rgb_to_lab
from .propagate import geodesic_graph

_PAINTED = 10 / 255
_REACH = 4.0
"""Channel spread above which a pixel of a hint image counts as painted."""


@dataclass(frozen=True)
class Mark:
    frame: int
    points: np.ndarray
    """N×2 float (x, y) in the coordinates of ``size``; one point, or a polyline when N > 1."""
    rgb: tuple[float, float, float]
    """sRGB in [0, 1]."""
    width: float = 1.0
    """Stroke width in pixels of ``size``."""


@dataclass
class Hints:
    marks: list[Mark]
    size: tuple[int, int] | None = None
    """(width, height) the coordinates refer to; None means the source's own pixels."""
    images: dict[int, np.ndarray] | None = None
    """Per frame, a painted hint image: H×W×3 RGB in [0, 1] plus H×W mask (stacked as H×W×4)."""

    def frames(self) -> list[int]:
        found = {m.frame for m in self.marks} | set(self.images or {})
        return sorted(found)

    def rasterise(self, frame: int, shape: tuple[int, int], source: tuple[int, int]):
        """Hints of ``frame`` of a source picture of ``source`` (height, width) pixels, drawn at
        ``shape`` (h, w). Returns (h×w×3 RGB in [0, 1], h×w bool painted)."""
        h, w = shape
        rgb = np.zeros((h, w, 3), np.float32)
        mask = np.zeros((h, w), np.uint8)
        if self.images and frame in self.images:
            painted = cv2.resize(self.images[frame], (w, h), interpolation=cv2.INTER_NEAREST)
            on = painted[..., 3] > 0.5
            rgb[on] = painted[..., :3][on]
            mask[on] = 1
        ref_w, ref_h = self.size or (source[1], source[0])
        sx, sy = w / ref_w, h / ref_h
        for m in (m for m in self.marks if m.frame == frame):
            pts = np.round(m.points * (sx, sy)).astype(np.int32)
            line = np.zeros((h, w), np.uint8)
            if len(pts) == 1:
                x, y = pts[0]
                if 0 <= x < w and 0 <= y < h:
                    line[y, x] = 1
            else:
                cv2.polylines(line, [pts], False, 1, 1)
            radius = m.width * (sx + sy) / 4
            if radius >= 1:  # every pixel within half the width of the centre line
                line = cv2.distanceTransform(1 - line, cv2.DIST_L2, 5) <= radius
            on = line.astype(bool)
            rgb[on] = m.rgb
            mask[on] = 1
        return rgb, mask.astype(bool)


def _colour(value, where: str) -> tuple[float, float, float]:
    try:
        if isinstance(value, str):
            text = value.lstrip("#")
            if len(text) != 6:
                raise ValueError
            rgb = [int(text[k : k + 2], 16) for k in (0, 2, 4)]
        else:
            rgb = [float(v) for v in value]
            if len(rgb) != 3 or not all(0 <= v <= 255 for v in rgb):
                raise ValueError
    except (TypeError, ValueError):
        raise InputError(f"hint colour {value!r} is not '#rrggbb' or [r, g, b] in 0..255", where,
                         "fix the hint file") from None
    return tuple(v / 255 for v in rgb)


def _mark(item, where: str) -> Mark:
    if not isinstance(item, dict) or "colour" not in item and "color" not in item:
        raise InputError("each hint needs a colour and x/y or points", where, "fix the hint file")
    rgb = _colour(item.get("colour", item.get("color")), where)
    try:
        if "points" in item:
            points = np.asarray(item["points"], np.float64).reshape(-1, 2)
        else:
            points = np.asarray([[item["x"], item["y"]]], np.float64)
        frame = int(item.get("frame", 0))
        width = float(item.get("width", 1.0))
    except (KeyError, TypeError, ValueError):
        raise InputError("a hint has bad coordinates, frame or width", where, "fix the hint file") from None
    if len(points) == 0 or frame < 0 or width <= 0 or not np.isfinite(points).all():
        raise InputError("a hint has no points, a negative frame or a bad width", where, "fix the hint file")
    return Mark(frame=frame, points=points, rgb=rgb, width=width)


def painted_image(rgba: np.ndarray) -> np.ndarray:
    """A hint image (H×W×3 or H×W×4 float in [0, 1]) → H×W×4: RGB and a 0/1 painted mask."""
    rgb = rgba[..., :3]
    if rgba.shape[2] == 4 and (rgba[..., 3] < 1).any():
        painted = rgba[..., 3] > 0.5
    else:
        painted = (rgb.max(axis=2) - rgb.min(axis=2)) > _PAINTED
    return np.dstack([rgb, painted.astype(np.float32)]).astype(np.float32)


def read_hints(path: str | Path) -> Hints:
    """Load a JSON hint file or a sparse colour hint image. Raises InputError for a bad file."""
    path = Path(path)
    if not path.is_file():
        raise InputError("hint file not found", path, "check the path")
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(path.read_text())
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InputError(f"hint file is not valid JSON ({exc.msg if hasattr(exc, 'msg') else exc})",
                             path, "fix the hint file") from None
        size = None
        if isinstance(data, dict):
            size = data.get("size")
            data = data.get("hints")
            if size is not None:
                try:
                    size = (int(size[0]), int(size[1]))
                except (TypeError, ValueError, IndexError):
                    raise InputError("hint 'size' must be [width, height]", path, "fix the hint file") from None
        if not isinstance(data, list) or not data:
            raise InputError("hint file must hold a non-empty list of hints", path, "see docs/COLOUR.md for the format")
        return Hints(marks=[_mark(item, str(path)) for item in data], size=size)
    try:
        with Image.open(path) as img:
            img = img.convert("RGBA")
            pixels = np.asarray(img, np.float32) / 255
    except (UnidentifiedImageError, OSError) as exc:
        raise InputError(f"hint file is neither JSON nor a readable image ({exc})", path,
                         "give a .json hint list or a PNG with painted colour") from None
    painted = painted_image(pixels)
    if not painted[..., 3].any():
        raise InputError("hint image has no painted (coloured or opaque) pixels", path,
                         "paint colour on the grey picture, or use transparency around the hints")
    return Hints(marks=[], images={0: painted})


def blend(L: np.ndarray, rgb: np.ndarray, mask: np.ndarray, power: float = 3.0,
          step_cost: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """Geodesic chrominance blending of painted hints over a picture.

    ``L``: h×w luminance in [0, 100] (the working resolution); ``rgb``/``mask``: hint colours and
    where they are, at the same size. Hints of one colour form one group; each pixel's chroma is
    Σ_g d_g^−p · ab_g / Σ_g d_g^−p over groups g, with d_g the geodesic distance to the group.
    Returns (h×w×2 chroma, h×w geodesic distance to the nearest hint).
    """
    h, w = L.shape
    ab = rgb_to_lab(rgb)[..., 1:][mask]
    where = np.flatnonzero(mask)
    if len(where) == 0:
        return np.zeros((h, w, 2), np.float32), np.full((h, w), np.inf, np.float32)
    # group painted pixels by their chroma (quantised to a tenth of a Lab unit)
    keys, group = np.unique(np.round(ab * 10).astype(np.int32), axis=0, return_inverse=True)
    group = group.ravel()
    graph = geodesic_graph(L, step_cost)
    # Each pixel's nearest hint group, then every group only as far as it can still matter: beyond
    # REACH × the upper-quartile nearest distance its weight is under REACH^−power of the nearest one's.
    nearest, _, source = dijkstra(graph, directed=False, indices=where, min_only=True, return_predecessors=True)
    nearest_group = np.full(h * w, -1)
    reached = source >= 0
    nearest_group[reached] = group[np.searchsorted(where, source[reached])]
    limit = _REACH * float(np.percentile(nearest[reached], 75)) + 1e-3
    num = np.zeros((h * w, 2))
    den = np.zeros(h * w)
    for g in range(len(keys)):
        members = where[group == g]
        d = dijkstra(graph, directed=False, indices=members, min_only=True, limit=limit)
        own = nearest_group == g  # always counted, however far
        d[own] = nearest[own]
        weight = np.where(np.isfinite(d), (d + 1e-3) ** -power, 0.0)
        num += weight[:, None] * ab[group == g].mean(axis=0)
        den += weight
    out = (num / den[:, None]).reshape(h, w, 2).astype(np.float32)
    return out, nearest.reshape(h, w).astype(np.float32)
