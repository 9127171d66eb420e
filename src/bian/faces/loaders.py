"""Where the face models are loaded (once per process; each loader is cached by its weights path).

Weights are found through the model catalogue (:func:`bian.models.catalogue.find_files`): YuNet and
MediaPipe Face Mesh from ``$BIAN_MODEL_DIR`` (``../shared/weights`` here) or the user cache; the dlib
models from the ``face-recognition-models`` PyPI package, which the project depends on.
"""
from __future__ import annotations

import functools
from pathlib import Path

from ..errors import ModelError
from ..models.catalogue import find_files


@functools.lru_cache(maxsize=32)
def model_path(name: str, path=None) -> Path:
    """The weights file of catalogue model ``name`` (hash-checked once per process)."""
    return find_files(name, path)[0]


def available(name: str) -> bool:
    """True when catalogue model ``name`` can be loaded without a download."""
    try:
        find_files(name, allow_download=False, check_hash=False)
    except ModelError:
        return False
    return True


@functools.lru_cache(maxsize=4)
def yunet(path: Path):
    import cv2
    level = cv2.utils.logging.getLogLevel()
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)  # silence a backend-target warning
    try:
        return cv2.FaceDetectorYN.create(str(path), "", (320, 320), 0.5, 0.3, 5000)
    finally:
        cv2.utils.logging.setLogLevel(level)


@functools.lru_cache(maxsize=1)
def dlib_hog():
    import dlib
    return dlib.get_frontal_face_detector()


@functools.lru_cache(maxsize=4)
def dlib_shape_predictor(path: Path):
    import dlib
    return dlib.shape_predictor(str(path))


@functools.lru_cache(maxsize=2)
def dlib_descriptor(path: Path):
    import dlib
    return dlib.face_recognition_model_v1(str(path))


@functools.lru_cache(maxsize=2)
def face_mesh(path: Path):
    from .mesh import FaceMeshNet, load_face_mesh
    return load_face_mesh(path) if path is not None else FaceMeshNet()
