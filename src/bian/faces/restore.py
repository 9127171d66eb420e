"""Face restoration of one picture (a photo, or the current frame of a video window).

Per face: (video) fuse the face from neighbouring frames of the same shot → landmark-guided
enhancement → optionally the neural restorer on the FFHQ-aligned crop, mixed with the offline result by
``fidelity`` → colour matched to the picture → identity guard → pasted back through a feathered mask.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from . import identity
from .align import align_matrix, warp
from .enhance import GRAIN_KEPT, enhance_face, face_region, noise_sigma
from .face import Face
from .fusion import align_neighbour, fuse
from .paste import face_outline, match_colour, outline_from_points5, paste, soft_mask


@dataclass
class Settings:
    fidelity: float = 0.5
    """Neural path only: 0 = the network's face, 1 = the offline restoration (closest to the input)."""
    keep_texture: float = 0.3
    sharpen: float = 0.8
    """Unsharp amount on the features of a blurred face; a sharp face is not sharpened (:func:`enhance_face`)."""
    grain_kept: float = GRAIN_KEPT
    """Grain σ left alone on a still (at the 128-px face scale); film keeps none: its grain changes every frame."""
    guard: float | None = identity.DEFAULT_THRESHOLD
    """Identity-guard threshold (dlib descriptor distance); None switches the guard off."""
    min_size: float = 24.0
    """Faces smaller than this (pixels) are left alone: there is nothing to restore or measure."""


def _outline(face: Face) -> np.ndarray:
    if face.landmarks is not None and len(face.landmarks) == 68:
        return face_outline(face.landmarks)
    return outline_from_points5(face.points5)


def restore_face(frames: list[np.ndarray], center: int, face: Face, neighbours: list[tuple[int, Face]],
                 settings: Settings, neural=None) -> tuple[np.ndarray, dict]:
    """Restore one face of ``frames[center]`` in place on a copy and return (picture, report).

    frames: float32 H×W×3 RGB in [0, 1]; neighbours: (frame index, the same face there) pairs, same shot.
    neural: a callable on 512 × 512 × 3 float faces in [0, 1] (e.g. GFPGAN), or None for the offline path.
    """
    image = frames[center]
    outline = _outline(face)
    x0, y0, x1, y1 = face_region(image.shape[:2], outline)
    original = image[y0:y1, x0:x1]
    report = {"box": [round(float(v), 1) for v in face.box], "track": face.track_id, "frames_fused": 1}
    if face.track_id is not None:
        report["track"] = int(face.track_id)
    sigma = noise_sigma(original)
    crop = original
    usable = [(t, f) for t, f in neighbours if f.landmarks is not None and face.landmarks is not None
              and f.landmarks.shape == face.landmarks.shape]
    if usable:
        ref_lm = face.landmarks[:, :2]
        aligned = [align_neighbour(frames[t], f.landmarks[:, :2], ref_lm, original, (x0, y0, x1, y1))
                   for t, f in usable]
        tw = [float(np.exp(-0.5 * ((t - center) / 2.5) ** 2)) for t, _ in usable]
        crop, support = fuse(original, aligned, sigma, tw)
        report["neighbours"] = len(usable)
        report["frames_fused"] = round(float(np.median(support)), 2)
        sigma = sigma / np.sqrt(max(float(np.median(support)), 1.0))
    lm_crop = None if face.landmarks is None else face.landmarks[:, :2] - (x0, y0)
    restored = enhance_face(crop, lm_crop if lm_crop is not None and len(lm_crop) == 68 else None, sigma,
                            settings.keep_texture, settings.sharpen, settings.grain_kept)
    if neural is not None:
        restored = _neural(image, restored, (x0, y0, x1, y1), face, neural, settings.fidelity)
        report["model"] = "neural"
    restored = np.clip(match_colour(restored, original, max(2.0, face.size / 8)), 0, 1)
    if settings.guard is not None and face.landmarks is not None and len(face.landmarks) == 68:
        restored, guard = identity.guard(original, restored, lm_crop, settings.guard)
        report["identity"] = guard
    mask = soft_mask(original.shape[:2], outline - (x0, y0), max(2.0, face.size * 0.08))
    out = image.copy()
    out[y0:y1, x0:x1] = paste(original, restored, mask)
    return out, report


def _neural(image, restored_crop, region, face, neural, fidelity):
    """The network's face on the FFHQ-aligned 512 crop of the offline result, mixed by ``fidelity``,
    brought back into the region's frame."""
    import cv2
    x0, y0, x1, y1 = region
    base = image.copy()
    base[y0:y1, x0:x1] = restored_crop
    matrix = align_matrix(face.points5, 512)
    aligned = warp(base, matrix, 512)
    mixed = fidelity * aligned + (1 - fidelity) * neural(aligned)
    inv = cv2.invertAffineTransform(matrix)
    inv[:, 2] -= (x0, y0)
    back = cv2.warpAffine(mixed, inv, (x1 - x0, y1 - y0), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE)
    # outside the aligned crop's footprint keep the offline result
    cover = cv2.warpAffine(np.ones((512, 512), np.float32), inv, (x1 - x0, y1 - y0), flags=cv2.INTER_LINEAR)
    return back * cover[..., None] + restored_crop * (1 - cover[..., None])


def restore_faces(frames: list[np.ndarray], center: int, faces: list[Face],
                  tracks: list[list[Face]] | None = None, settings: Settings | None = None,
                  neural=None) -> tuple[np.ndarray, list[dict]]:
    """Restore every face of ``frames[center]`` (float32 H×W×3 RGB in [0, 1]).

    faces: the faces of the current frame (landmarks in picture pixels; smoothed when from a track);
    tracks: the linked faces of every frame in ``frames`` (:func:`bian.faces.track.link`), used to fuse
    the same face from neighbouring frames; None for a photo. With more than one frame (film) no grain is
    kept as texture. Returns (picture, one report per face).
    """
    settings = settings or Settings()
    if len(frames) > 1:
        settings = replace(settings, grain_kept=0.0)
    picture = np.asarray(frames[center], np.float32)
    frames = list(frames)
    frames[center] = picture
    reports = []
    for face in faces:
        if face.size < settings.min_size:
            reports.append({"box": [round(float(v), 1) for v in face.box], "skipped": "too small"})
            continue
        neighbours = []
        if tracks is not None and face.track_id is not None:
            neighbours = [(t, f) for t, fs in enumerate(tracks) if t != center for f in fs
                          if f.track_id == face.track_id]
        picture, report = restore_face(frames, center, face, neighbours, settings, neural)
        frames[center] = picture
        reports.append(report)
    return picture, reports
