"""Faces: detection, landmarks, alignment, tracking and restoration, shared by the faces stage and by
portrait animation.

The API in four calls (pictures are H×W×3 RGB, uint8/uint16 or float32 in [0, 1]):

    faces = detect_faces(image, landmarks="68")        # list[Face]: box, score, points5, landmarks
    crop, matrix = align_face(image, faces[0].points5, 512)   # FFHQ-aligned crop + picture→crop matrix
    linked = link([detect_faces(f) for f in frames])   # track ids across frames (cuts end tracks)
    picture, reports = restore_faces([image], 0, faces)        # offline restoration + identity guard

Modules: ``face`` (the Face record), ``detect`` (YuNet / dlib detectors, dlib 68 and Face Mesh 468
landmarks), ``mesh`` (the Face Mesh network), ``align`` (similarity transforms, FFHQ template),
``track`` (linking and smoothing), ``fusion`` (multi-frame fusion), ``enhance`` (single-picture
enhancement), ``paste`` (masks, colour matching, paste-back), ``identity`` (dlib descriptor, guard),
``gfpgan`` (GFPGAN v1.4 network), ``restore`` (all of it for one picture), ``loaders`` (weights).
"""
from .align import align_face, align_matrix, warp
from .detect import add_mesh, detect_faces
from .face import Face
from .restore import Settings, restore_faces
from .track import link, smooth

__all__ = ["Face", "Settings", "add_mesh", "align_face", "align_matrix", "detect_faces", "link", "restore_faces",
           "smooth", "warp"]
