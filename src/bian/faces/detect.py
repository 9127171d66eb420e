"""Face detection and landmarks: one entry point, :func:`detect_faces`, over the backends that can be had.

Backends: ``yunet`` (OpenCV's FaceDetectorYN; best on small, grey and faded faces), ``dlib`` (dlib's HOG
detector from the ``dlib-bin`` package; always installed, frontal faces of ~40 px and up). ``auto``
takes YuNet when its weights are found, else dlib. Landmarks: ``68`` (dlib's iBUG predictor) or ``468``
(MediaPipe Face Mesh), or none.

Old pictures need help the detectors were not trained for: the picture is contrast-stretched (faded
prints), grey pictures are fed as three equal channels, and small pictures are searched a second time
at twice the size so that faces of ~12 px are found (the Solvay photograph has 29 faces of ~30 px).
"""
from __future__ import annotations

import cv2
import numpy as np

from ..errors import OptionError
from ..frame import to_float
from . import loaders
from .face import Face, box_iou, points5_from_68

BACKENDS = ("auto", "yunet", "dlib")
LANDMARKS = (None, "68", "468")
_MAX_SIDE = 1600
"""Pictures are searched at most this large (faces stay ≥ 12 px for any sensible picture)."""
_UPSCALE_BELOW = 1400
"""Pictures whose larger side is below this are searched again at 2× for small faces."""


def detector_input(image: np.ndarray) -> np.ndarray:
    """A picture as the detectors want it: uint8 RGB, contrast stretched to its 0.5–99.5 % range.

    image: H×W or H×W×3 (or ×4) uint8/uint16/float32 (float in [0, 1])."""
    rgb = to_float(np.asarray(image))
    if rgb.ndim == 2:
        rgb = rgb[..., None]
    rgb = np.repeat(rgb, 3, axis=2) if rgb.shape[2] == 1 else rgb[..., :3]
    grey = rgb.mean(axis=2)
    lo, hi = np.percentile(grey[::4, ::4], (0.5, 99.5))
    if hi - lo > 1e-3:
        rgb = (rgb - lo) / (hi - lo)
    return (np.clip(rgb, 0, 1) * 255 + 0.5).astype(np.uint8)


def _nms(boxes: np.ndarray, scores: np.ndarray, iou: float) -> list[int]:
    order = list(np.argsort(-scores))
    keep = []
    while order:
        best = order.pop(0)
        keep.append(best)
        if order:
            overlap = box_iou(boxes[best], boxes[order])[0]
            order = [o for o, v in zip(order, overlap) if v <= iou]
    return keep


def _yunet(rgb8: np.ndarray, min_score: float, model_path) -> list[Face]:
    net = loaders.yunet(loaders.model_path("yunet", model_path))
    h, w = rgb8.shape[:2]
    scales = [min(1.0, _MAX_SIDE / max(h, w))]
    if max(h, w) < _UPSCALE_BELOW:
        scales.append(2.0)
    rows = []
    for s in scales:
        size = (max(1, int(round(w * s))), max(1, int(round(h * s))))
        pic = rgb8 if s == 1.0 else cv2.resize(rgb8, size, interpolation=cv2.INTER_AREA if s < 1 else
                                                cv2.INTER_CUBIC)
        net.setInputSize(size)
        net.setScoreThreshold(min_score)
        _, found = net.detect(np.ascontiguousarray(pic[..., ::-1]))
        if found is not None:
            found = found.astype(np.float64)
            found[:, :14] /= s
            rows.append(found)
    if not rows:
        return []
    found = np.concatenate(rows)
    boxes = np.stack([found[:, 0], found[:, 1], found[:, 0] + found[:, 2], found[:, 1] + found[:, 3]], 1)
    keep = _nms(boxes, found[:, 14], 0.3)
    return [Face(box=boxes[i].astype(np.float32), score=float(found[i, 14]),
                 points5=found[i, 4:14].reshape(5, 2).astype(np.float32)) for i in keep]


def _dlib_rect(box):
    import dlib
    x0, y0, x1, y1 = (int(round(v)) for v in box)
    return dlib.rectangle(x0, y0, x1, y1)


def _dlib_box_from_points5(points5: np.ndarray) -> np.ndarray:
    """The box dlib's HOG detector would draw for a face with ``points5`` (dlib's landmark predictor was
    trained on those boxes, so it is most accurate when started from one). Proportions measured on the 52
    faces of ../shared that both detectors found: centred 0.49 of the way from the eyes to the mouth,
    2.3 eye–mouth distances wide."""
    eyes = points5[:2].mean(0)
    mouth = points5[3:].mean(0)
    d = float(np.linalg.norm(mouth - eyes))
    centre = eyes + 0.49 * (mouth - eyes)
    half = 1.155 * d
    return np.array([centre[0] - half, centre[1] - half, centre[0] + half, centre[1] + half], np.float32)


def landmarks_68(rgb8: np.ndarray, faces: list[Face], model_path=None) -> list[np.ndarray]:
    """68 iBUG landmarks (68, 2) float32 for each face, from dlib's shape predictor."""
    predictor = loaders.dlib_shape_predictor(loaders.model_path("dlib-landmarks68", model_path))
    out = []
    for face in faces:
        shape = predictor(rgb8, _dlib_rect(_dlib_box_from_points5(face.points5)))
        out.append(np.array([(p.x, p.y) for p in shape.parts()], np.float32))
    return out


def _dlib(rgb8: np.ndarray) -> list[Face]:
    detector = loaders.dlib_hog()
    h, w = rgb8.shape[:2]
    upsample = 1 if max(h, w) < _UPSCALE_BELOW else 0
    # dlib's own operating point (SVM margin > 0); margins are squashed to a [0, 1] confidence.
    rects, scores, _ = detector.run(rgb8, upsample, 0.0)
    predictor = loaders.dlib_shape_predictor(loaders.model_path("dlib-landmarks68"))
    faces = []
    for rect, score in zip(rects, scores):
        conf = float(1 / (1 + np.exp(-2 * score)))
        lm = np.array([(p.x, p.y) for p in predictor(rgb8, rect).parts()], np.float32)
        box = np.array([rect.left(), rect.top(), rect.right(), rect.bottom()], np.float32)
        faces.append(Face(box=box, score=conf, points5=points5_from_68(lm), landmarks=lm))
    return faces


def detect_faces(image: np.ndarray, backend: str = "auto", landmarks: str | None = "68",
                 min_score: float = 0.6, min_size: float = 0.0, model_path=None) -> list[Face]:
    """Faces in a picture, largest first.

    image: H×W or H×W×3 RGB, uint8/uint16/float32 (float in [0, 1]).
    backend: ``auto`` | ``yunet`` | ``dlib``; landmarks: ``None`` | ``"68"`` | ``"468"``.
    min_score: YuNet confidence in [0, 1] (dlib keeps its own operating point, SVM margin > 0);
    min_size: smallest face side in pixels to keep.
    model_path: explicit YuNet weights (file or folder), else the catalogue's lookup.
    """
    if backend not in BACKENDS:
        raise OptionError(f"face detector must be one of {', '.join(BACKENDS)}, got {backend!r}")
    if landmarks not in LANDMARKS:
        raise OptionError(f"face landmarks must be 68, 468 or none, got {landmarks!r}")
    rgb8 = detector_input(image)
    if backend == "auto":
        backend = "yunet" if model_path is not None or loaders.available("yunet") else "dlib"
    if backend == "yunet":
        faces = _yunet(rgb8, min_score, model_path)
    else:
        faces = _dlib(rgb8)
    faces = [f for f in faces if f.size >= min_size]
    faces.sort(key=lambda f: -f.size)
    if landmarks == "68" and backend == "yunet":
        for face, lm in zip(faces, landmarks_68(rgb8, faces)):
            face.landmarks = lm
    elif landmarks == "468":
        add_mesh(image, faces)
    return faces


def add_mesh(image: np.ndarray, faces: list[Face], model_path=None) -> list[Face]:
    """Set each face's ``landmarks`` to the 468-point MediaPipe Face Mesh (needs its weights)."""
    net = loaders.face_mesh(loaders.model_path("mediapipe_face", model_path))
    rgb = detector_input(image).astype(np.float32) / 255.0
    from .mesh import mesh_landmarks  # torch is imported only when Face Mesh is used

    points, presence = mesh_landmarks(net, rgb, [f.box for f in faces], [f.points5 for f in faces])
    for face, pts, p in zip(faces, points, presence):
        face.landmarks = pts
        face.notes["mesh_presence"] = float(p)
    return faces
