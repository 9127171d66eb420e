"""The neural engine: the Thin-Plate Spline Motion Model (:mod:`bian.animate.tpsmm`) on each face's crop,
pasted back into the photo.

The model was trained on 256 × 256 VoxCeleb crops (a face with some hair and neck around it), so the
photo's face and the driving video's face are cropped alike: a square twice the detector's face box,
raised by a tenth of its side, fixed for the whole clip (the driving crop from its first frame, as the
dataset's own crops are). The network's 256-pixel result is scaled to the crop and blended into the photo
through a feathered ellipse, so the rest of the photo keeps its resolution and pixels.
"""
from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np
import torch

from ..errors import InputError
from ..frame import to_float
from ..media.video import probe_video
from .tpsmm import SIZE, TPSMM, load_tpsmm


def crop_box(box: np.ndarray, width: int, height: int) -> tuple[int, int, int]:
    """(x0, y0, side) of the square crop around a face box (may extend past the picture; padded)."""
    side = 2.0 * max(box[2] - box[0], box[3] - box[1])
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2 - 0.1 * side
    return int(round(cx - side / 2)), int(round(cy - side / 2)), max(8, int(round(side)))


def cut(image: np.ndarray, x0: int, y0: int, side: int) -> np.ndarray:
    """The square (x0, y0, side) of ``image`` resized to the model's size (mirrored past the edges)."""
    m = np.array([[SIZE / side, 0, -x0 * SIZE / side], [0, SIZE / side, -y0 * SIZE / side]])
    return cv2.warpAffine(image, m, (SIZE, SIZE), flags=cv2.INTER_AREA if side > SIZE else cv2.INTER_CUBIC,
                          borderMode=cv2.BORDER_REFLECT101)


def to_tensor(image: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1)))[None].float()


class NeuralAnimator:
    """Frames of the photo with every face driven by the video's face through TPSMM."""

    name = "tpsmm-vox"

    def __init__(self, image: np.ndarray, faces, driving: Path, duration: float | None = None,
                 model: TPSMM | None = None, detector: str = "auto"):
        from ..faces import detect_faces, loaders
        from .driving import driving_frames

        self.image = image
        self.model = model or load_tpsmm(loaders.model_path("tpsmm-vox"))
        h, w = image.shape[:2]
        self.crops = [crop_box(f.box, w, h) for f in faces]
        self.sources = [to_tensor(cut(image, *c)) for c in self.crops]
        self.kp_sources = [self.model.keypoints(s) for s in self.sources]
        self.masks = [_feather(c[2]) for c in self.crops]
        info = probe_video(driving)
        self.rate, self.time_base = info.rate or Fraction(25), info.time_base
        self.times, self._driving = [], []
        for time, picture in driving_frames(info, duration):
            picture = to_float(picture)
            if not self._driving:
                found = detect_faces(picture, backend=detector, landmarks=None)
                if not found:
                    raise InputError("no face in the driving video's first frame", driving,
                                     "trim the video so that it starts on a visible face")
                crop = crop_box(found[0].box, picture.shape[1], picture.shape[0])
            self.times.append(time)
            self._driving.append((cut(picture, *crop) * 255 + 0.5).astype(np.uint8))   # 256² crops only
        self.kp_initial = self.model.keypoints(to_tensor(self._driving[0] / np.float32(255)))

    def frame(self, i: int) -> np.ndarray:
        """Frame ``i`` of the animation (the photo with every face moved like the driving face in frame i)."""
        kp = self.model.keypoints(to_tensor(self._driving[i] / np.float32(255)))
        out = self.image.copy()
        h, w = out.shape[:2]
        for source, kp_src, (x0, y0, side), mask in zip(self.sources, self.kp_sources, self.crops, self.masks):
            pred = self.model.animate(source, kp_src, kp, self.kp_initial)[0].numpy().transpose(1, 2, 0)
            big = cv2.resize(pred, (side, side), interpolation=cv2.INTER_CUBIC)
            ax0, ay0, ax1, ay1 = max(x0, 0), max(y0, 0), min(x0 + side, w), min(y0 + side, h)
            if ax1 <= ax0 or ay1 <= ay0:
                continue
            part = big[ay0 - y0:ay1 - y0, ax0 - x0:ax1 - x0]
            m = mask[ay0 - y0:ay1 - y0, ax0 - x0:ax1 - x0, None]
            out[ay0:ay1, ax0:ax1] = out[ay0:ay1, ax0:ax1] * (1 - m) + part * m
        return np.clip(out, 0, 1)


def _feather(side: int) -> np.ndarray:
    """An ellipse filling the crop, 1 inside 0.7 of its radius, fading to 0 at 0.95."""
    yy, xx = np.mgrid[:side, :side].astype(np.float32)
    r = np.hypot((xx - (side - 1) / 2) / (side / 2), (yy - (side - 1) / 2) / (side / 2))
    t = np.clip((0.95 - r) / 0.25, 0, 1)
    return t * t * (3 - 2 * t)
