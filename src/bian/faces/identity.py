"""Identity: dlib's 128-D face descriptor, the distance between two pictures of a face, and the guard that
keeps a restored face the same person.

dlib's descriptor puts two photos of the same person at distance < 0.6 (its published operating point,
99.38 % on LFW); a faithful restoration of the *same* photo should stay far below that. The guard
measures input vs. restored with the same landmarks (so only the pixels differ) and, above its
threshold, blends the restored face back toward the input until it is below.
"""
from __future__ import annotations

import numpy as np

from . import loaders

DEFAULT_THRESHOLD = 0.35
"""Guard threshold; the acceptance bar is 0.4, this leaves a margin."""


def _shape(landmarks: np.ndarray, offset=(0, 0)):
    import dlib
    pts = np.asarray(landmarks, np.float64)[:, :2] - offset
    lo, hi = pts.min(0), pts.max(0)
    rect = dlib.rectangle(int(lo[0]), int(lo[1]), int(np.ceil(hi[0])), int(np.ceil(hi[1])))
    return dlib.full_object_detection(rect, [dlib.point(int(round(x)), int(round(y))) for x, y in pts])


def _to_u8(image: np.ndarray) -> np.ndarray:
    if image.dtype == np.uint8:
        return np.ascontiguousarray(image[..., :3])
    return np.ascontiguousarray((np.clip(image[..., :3], 0, 1) * 255 + 0.5).astype(np.uint8))


def descriptor(image: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """dlib's 128-D descriptor of the face with 68 ``landmarks`` (picture pixels) in ``image`` (H×W×3 RGB,
    uint8 or float32 in [0, 1]). Only a crop around the face is handed to dlib."""
    lm = np.asarray(landmarks, np.float64)[:, :2]
    lo, hi = lm.min(0), lm.max(0)
    pad = (hi - lo).max()
    h, w = image.shape[:2]
    x0, y0 = (max(int(v), 0) for v in lo - pad)
    x1, y1 = min(int(hi[0] + pad) + 1, w), min(int(hi[1] + pad) + 1, h)
    crop = _to_u8(image[y0:y1, x0:x1])
    model = loaders.dlib_descriptor(loaders.model_path("dlib-descriptor"))
    return np.array(model.compute_face_descriptor(crop, _shape(lm, (x0, y0))), np.float32)


def distance(a: np.ndarray, b: np.ndarray, landmarks: np.ndarray) -> float:
    """Descriptor distance between the same face in pictures ``a`` and ``b`` (same landmarks)."""
    return float(np.linalg.norm(descriptor(a, landmarks) - descriptor(b, landmarks)))


def guard(original: np.ndarray, restored: np.ndarray, landmarks: np.ndarray,
          threshold: float = DEFAULT_THRESHOLD, steps: int = 4) -> tuple[np.ndarray, dict]:
    """Keep ``restored`` the same person as ``original`` (both float32 H×W×3 in [0, 1], same framing).

    When the descriptor distance exceeds ``threshold``, blend toward ``original`` in ``steps`` equal steps
    until it does not. Returns (picture, report) with report keys ``distance`` (before), ``final``
    (after) and ``blend`` (share of the restoration kept, 1 = untouched).
    """
    ref = descriptor(original, landmarks)
    dist = float(np.linalg.norm(descriptor(restored, landmarks) - ref))
    report = {"distance": round(dist, 4), "final": round(dist, 4), "blend": 1.0}
    if dist <= threshold:
        return restored, report
    out = original
    final = 0.0
    for k in range(steps - 1, 0, -1):
        keep = k / steps
        candidate = original + keep * (restored - original)
        final = float(np.linalg.norm(descriptor(candidate, landmarks) - ref))
        if final <= threshold:
            out, report["blend"] = candidate, keep
            break
    else:
        report["blend"] = 0.0
    report["final"] = round(final, 4)
    return out, report
