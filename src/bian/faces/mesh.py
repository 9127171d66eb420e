"""MediaPipe Face Mesh (468 3-D landmarks) as a PyTorch network, loading the weights of the PyTorch port
(zmurez/MediaPipePyTorch ``blazeface_landmark.pth``; catalogue name ``mediapipe_face``).

The network (from MediaPipe's published model card and the port's layer list): a BlazeNet backbone of
depthwise-separable residual blocks with PReLU on a 192 × 192 RGB crop in [0, 1], then two heads: 1404
numbers (468 × (x, y, z) in crop pixels) and a face-presence logit. Stride-2 blocks pad right/bottom
only (TensorFlow "same" padding), which the weights depend on.
"""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from ..errors import ModelError

RESOLUTION = 192
ROI_SCALE = 1.5
"""The crop side is this × the detector box side (MediaPipe's detection-to-ROI rule)."""

# Landmark indices in the 468-point mesh that correspond to Face.points5 and a few iBUG-68 points.
MESH_EYE_CORNERS = ((33, 133), (362, 263))
MESH_NOSE_TIP = 1
MESH_MOUTH_CORNERS = (61, 291)


class _Block(nn.Module):
    """Depthwise 3×3 (+ stride) → pointwise 1×1, residual add (max-pooled, zero-padded channels), PReLU."""

    def __init__(self, cin: int, cout: int, stride: int = 1):
        super().__init__()
        self.stride = stride
        self.extra = cout - cin
        self.convs = nn.Sequential(nn.Conv2d(cin, cin, 3, stride, 0 if stride == 2 else 1, groups=cin),
                                   nn.Conv2d(cin, cout, 1))
        self.act = nn.PReLU(cout)

    def forward(self, x):
        if self.stride == 2:
            h = F.pad(x, (0, 2, 0, 2))
            x = F.max_pool2d(x, 2)
        else:
            h = x
        if self.extra:
            x = F.pad(x, (0, 0, 0, 0, 0, self.extra))
        return self.act(self.convs(h) + x)


def _stage(cin: int, cout: int) -> list[nn.Module]:
    return [_Block(cin, cin), _Block(cin, cin), _Block(cin, cout, 2)]


class FaceMeshNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.backbone1 = nn.Sequential(
            nn.Conv2d(3, 16, 3, 2, 0), nn.PReLU(16),
            *_stage(16, 32), *_stage(32, 64), *_stage(64, 128), *_stage(128, 128),
            _Block(128, 128), _Block(128, 128))
        self.backbone2a = nn.Sequential(
            _Block(128, 128, 2), _Block(128, 128), _Block(128, 128),
            nn.Conv2d(128, 32, 1), nn.PReLU(32), _Block(32, 32), nn.Conv2d(32, 1404, 3))
        self.backbone2b = nn.Sequential(
            _Block(128, 128, 2), nn.Conv2d(128, 32, 1), nn.PReLU(32), _Block(32, 32), nn.Conv2d(32, 1, 3))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x: (B, 3, 192, 192) RGB in [0, 1] → (presence probability (B,), landmarks (B, 468, 3) in crop px)."""
        x = self.backbone1(F.pad(x, (0, 1, 0, 1)))
        points = self.backbone2a(x).reshape(-1, 468, 3)
        presence = torch.sigmoid(self.backbone2b(x).reshape(-1))
        return presence, points


def load_face_mesh(path: str | Path) -> FaceMeshNet:
    net = FaceMeshNet()
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        net.load_state_dict(state)
    except (RuntimeError, KeyError, OSError) as exc:
        raise ModelError(f"not a MediaPipe Face Mesh state dict ({str(exc).splitlines()[0]})", path,
                         "use blazeface_landmark.pth from the catalogue entry 'mediapipe_face'") from None
    return net.eval()


def roi_matrix(box: np.ndarray, points5: np.ndarray) -> np.ndarray:
    """2×3 matrix from picture pixels to the 192 crop: a square of ``ROI_SCALE`` × the box side around the
    box centre, rotated so the eyes are level."""
    box = np.asarray(box, np.float64)
    centre = np.array([(box[0] + box[2]) / 2, (box[1] + box[3]) / 2])
    side = ROI_SCALE * max(box[2] - box[0], box[3] - box[1])
    dx, dy = np.asarray(points5[1], np.float64) - np.asarray(points5[0], np.float64)
    angle = np.arctan2(dy, dx)
    scale = RESOLUTION / side
    cos, sin = np.cos(-angle) * scale, np.sin(-angle) * scale
    rot = np.array([[cos, -sin], [sin, cos]])
    return np.hstack([rot, (RESOLUTION / 2 - rot @ centre)[:, None]])


def mesh_landmarks(net: FaceMeshNet, image: np.ndarray, boxes: list[np.ndarray],
                   points5: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """468 landmarks for each face. image: H×W×3 RGB float32 in [0, 1].

    Returns (landmarks (N, 468, 3) float32 in picture pixels — z scaled like x, y — and presence (N,)).
    """
    if not boxes:
        return np.zeros((0, 468, 3), np.float32), np.zeros(0, np.float32)
    crops, mats = [], []
    for box, p5 in zip(boxes, points5):
        m = roi_matrix(box, p5)
        crops.append(cv2.warpAffine(image, m, (RESOLUTION, RESOLUTION), flags=cv2.INTER_LINEAR,
                                    borderMode=cv2.BORDER_CONSTANT))
        mats.append(m)
    batch = torch.from_numpy(np.ascontiguousarray(np.stack(crops).transpose(0, 3, 1, 2)))
    with torch.inference_mode():
        presence, points = net(batch)
    points = points.numpy().astype(np.float64)
    out = np.empty(points.shape, np.float32)
    for i, m in enumerate(mats):
        inv = cv2.invertAffineTransform(m)
        out[i, :, :2] = points[i, :, :2] @ inv[:, :2].T + inv[:, 2]
        out[i, :, 2] = points[i, :, 2] / np.sqrt(abs(np.linalg.det(m[:, :2])))
    return out, presence.numpy().astype(np.float32)
