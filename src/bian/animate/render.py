"""Rendering one frame: source picture + rigs + per-face poses → the animated picture.

Output pixel p is read from source position E(W⁻¹(p)): W⁻¹ undoes the smooth fields of every face
(:mod:`bian.animate.field`, inverted on a coarse grid and interpolated to every pixel), and E is the
layered model of the eyes (:mod:`bian.animate.eyelids`) and the mouth (:mod:`bian.animate.mouth`),
evaluated exactly at that position so a lid's or a lip's edge stays a crisp line. Pixels whose map is
the identity are copied, not resampled: the background keeps its exact values.
"""
from __future__ import annotations

import cv2
import numpy as np

from . import eyelids, mouth
from .field import HEAD_FADE, FaceField, invert
from .rig import EYE_LEFT, EYE_RIGHT, Rig


class Renderer:
    """Renders frames of one picture (H×W×3 float32 in [0, 1]) with the given face rigs."""

    def __init__(self, image: np.ndarray, rigs: list[Rig], step: int | None = None):
        self.image = np.ascontiguousarray(image, dtype=np.float32)
        self.rigs = rigs
        h, w = image.shape[:2]
        iod = min(r.iod for r in rigs)
        # the photo without its grain, for the skin of a closed lid and the inside of a mouth
        self.smooth = cv2.GaussianBlur(self.image, (0, 0), max(1.0, 0.04 * iod))
        boxes = [_ellipse_box(r, HEAD_FADE[1] + 0.05) for r in rigs]
        x0 = max(0, int(np.floor(min(b[0] for b in boxes))))
        y0 = max(0, int(np.floor(min(b[1] for b in boxes))))
        x1 = min(w, int(np.ceil(max(b[2] for b in boxes))))
        y1 = min(h, int(np.ceil(max(b[3] for b in boxes))))
        self.roi = (x0, y0, x1, y1)
        self.step = step or int(np.clip(round(iod / 10), 2, 16))
        s = self.step
        gw, gh = (x1 - x0 + s - 1) // s + 1, (y1 - y0 + s - 1) // s + 1
        self.grid_shape = (gh, gw)
        gx, gy = np.meshgrid(x0 + s * np.arange(gw, dtype=np.float64), y0 + s * np.arange(gh, dtype=np.float64))
        grid = np.stack([gx.ravel(), gy.ravel()], 1)
        self.fields = [FaceField(r, grid, rigs[:k] + rigs[k + 1:]) for k, r in enumerate(rigs)]
        px, py = np.meshgrid(np.arange(x0, x1, dtype=np.float32), np.arange(y0, y1, dtype=np.float32))
        self._pixels = (px, py)
        self._grid_coords = ((px - x0) / s, (py - y0) / s)
        # nothing moves beyond the head fields' reach (the coarse grid's interpolation would leak a little)
        pix = np.stack([px.ravel(), py.ravel()], 1)
        reach = np.min([r.ellipse_radius(pix) for r in rigs], axis=0).reshape(px.shape)
        self._still = reach >= HEAD_FADE[1]
        self._boxes = [([_box(e, eyelids.region(e)) for e in r.eyes], _box(r.mouth, mouth.region(r.mouth)))
                       for r in rigs]
        self._lid_skin = [[_lid_skin(self.smooth, e) for e in r.eyes] for r in rigs]

    def source_map(self, poses: list[dict]) -> tuple[np.ndarray, np.ndarray]:
        """Backward map of the smooth fields over the region of interest: (mapx, mapy) float32 source
        positions of every ROI pixel."""
        gh, gw = self.grid_shape
        disp = np.zeros((gh * gw, 2), np.float32)
        for fld, pose in zip(self.fields, poses):
            fld.add_displacement(disp, pose)
        inv = invert(disp.reshape(gh, gw, 2) / self.step)
        x0, y0 = self.roi[:2]
        q = cv2.remap(inv, *self._grid_coords, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        mapx, mapy = q[..., 0] * self.step + x0, q[..., 1] * self.step + y0
        mapx[self._still] = self._pixels[0][self._still]
        mapy[self._still] = self._pixels[1][self._still]
        return mapx, mapy

    def landmark_positions(self, poses: list[dict]) -> list[np.ndarray]:
        """Where each face's 68 landmarks are shown in the frame for ``poses``: the smooth fields of every
        face plus the lid and lip edges (for measuring how fast the animation moves)."""
        out = []
        for rig, pose in zip(self.rigs, poses):
            lm = rig.landmarks
            moved = mouth.landmark_motion(rig.mouth, lm, float(pose["mouth"]) * rig.iod)
            for k, (eye, idx) in enumerate(zip(rig.eyes, (EYE_LEFT, EYE_RIGHT))):
                x, _ = eye.to_local(lm[idx])
                m_up, m_low = eyelids.lid_edges(eye, x, float(np.asarray(pose["blink"])[k]), float(pose["squint"]),
                                                max(float(np.asarray(pose["gaze"])[1]), 0.0))
                up, low = eyelids.Eye.curve(eye.upper, x), eyelids.Eye.curve(eye.lower, x)
                shift = np.where(np.isin(np.arange(6), [1, 2]), m_up - up, np.where(np.isin(np.arange(6), [4, 5]),
                                                                                   m_low - low, 0.0))
                moved[idx] += np.outer(shift, eye.normal)
            total = lm + moved
            for fld, p in zip(self.fields, poses):
                total = total + fld.displacement_at(lm, p)
            out.append(total)
        return out

    def render(self, poses: list[dict]) -> np.ndarray:
        """The frame for one pose per rig (dicts as :meth:`bian.animate.motions.Motion.at` gives)."""
        mapx, mapy = self.source_map(poses)
        x0, y0, x1, y1 = self.roi
        out = self.image.copy()
        roi = cv2.remap(self.image, mapx, mapy, cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT101)
        moved = (np.abs(mapx - self._pixels[0]) > 1e-3) | (np.abs(mapy - self._pixels[1]) > 1e-3)
        for rig, pose, (eye_boxes, mouth_box), skins in zip(self.rigs, poses, self._boxes, self._lid_skin):
            blink, gaze = np.asarray(pose["blink"], float), np.asarray(pose["gaze"], float)
            if blink.any() or gaze.any() or pose["squint"]:
                for k, (eye, box) in enumerate(zip(rig.eyes, eye_boxes)):
                    moved |= self._draw_layer(roi, mapx, mapy, box, lambda pts, e=eye, b=float(blink[k]), s=skins[k]:
                                              eyelids.samples(e, pts, b, float(pose["squint"]), gaze, s))
            opening = float(pose["mouth"]) * rig.iod
            if opening > 0.3:
                moved |= self._draw_layer(roi, mapx, mapy, mouth_box,
                                          lambda pts: mouth.samples(rig.mouth, pts, opening), rig.mouth.cavity)
        region = out[y0:y1, x0:x1]
        region[moved] = roi[moved]
        return np.clip(out, 0.0, 1.0, out=out)

    def _draw_layer(self, roi, mapx, mapy, box, layer, colour=None) -> np.ndarray:
        """Redraw the ROI pixels whose source position falls in ``box`` as the sum of the terms
        ``layer(points)`` gives (see :func:`bian.animate.eyelids.samples`). Returns those pixels' mask."""
        bx0, by0, bx1, by1 = box
        sel = (mapx >= bx0) & (mapx <= bx1) & (mapy >= by0) & (mapy <= by1)
        if not sel.any():
            return sel
        pts = np.stack([mapx[sel], mapy[sel]], 1).astype(np.float64)
        value = np.zeros((len(pts), self.image.shape[2]), np.float32)
        pictures = {"image": self.image, "smooth": self.smooth}
        for picture, pos, wgt in layer(pts):
            wgt = np.asarray(wgt, np.float32)[:, None]
            if picture == "colour":
                value += wgt * (colour[None, :] if pos is None else pos)
                continue
            value += wgt * _sample(pictures[picture], pos)
        roi[sel] = value
        return sel


def _sample(picture: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """Bicubic samples (M, C) of ``picture`` at (M, 2) positions (laid out in rows: OpenCV maps are at most
    32767 wide or high)."""
    n = len(positions)
    width = 1024
    padded = np.zeros((-(-n // width) * width, 2), np.float32)
    padded[:n] = positions
    grid = padded.reshape(-1, width, 2)
    out = cv2.remap(picture, grid[..., 0], grid[..., 1], cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT101)
    return out.reshape(-1, picture.shape[2])[:n]


def _lid_skin(smooth: np.ndarray, eye: eyelids.Eye) -> tuple[np.ndarray, np.ndarray]:
    """(x, colours) of the open upper lid's skin: the median of ``smooth`` down each column of the lid band."""
    x, rows = eyelids.lid_rows(eye)
    colours = _sample(smooth, rows.reshape(-1, 2)).reshape(*rows.shape[:2], -1)
    return x, np.median(colours, 1)


def _ellipse_box(rig: Rig, scale: float) -> tuple[float, float, float, float]:
    a, b = rig.head_axes * scale
    hx = np.hypot(a * rig.ex[0], b * rig.ey[0])
    hy = np.hypot(a * rig.ex[1], b * rig.ey[1])
    c = rig.head_centre
    return c[0] - hx, c[1] - hy, c[0] + hx, c[1] + hy


def _box(part, local: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
    """Picture-space box around a part's local region (x0, x1, y0, y1 in its own frame)."""
    lx0, lx1, ly0, ly1 = local
    corners = part.to_picture(np.array([lx0, lx1, lx0, lx1]), np.array([ly0, ly0, ly1, ly1]))
    return corners[:, 0].min(), corners[:, 1].min(), corners[:, 0].max(), corners[:, 1].max()
