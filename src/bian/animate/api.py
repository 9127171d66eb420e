"""``bian.animate(photo, output, **options)``: a still portrait → a short video or GIF.

Thin: it reads the photograph, finds the faces, builds their rigs and motions (presets or a driving
video), renders the frames with the chosen engine and writes them.
"""
from __future__ import annotations

import tempfile
import time
from fractions import Fraction
from pathlib import Path

import numpy as np

from ..errors import InputError, OptionError
from ..frame import to_float
from ..media.images import read_image
from ..progress import Progress
from . import output as out_io
from .motions import parse_motions, preset_motion
from .rig import build_rig

VIDEO_SUFFIXES = (".mp4", ".m4v", ".mov", ".mkv")
ENGINES = ("auto", "offline", "neural")
MIN_IOD = 8.0
"""Faces whose eyes are closer than this many pixels are too small to animate (and are left still)."""
MIN_SCORE = 0.6
"""Detector confidence below which a face is left still: animating a false detection (a pattern, a badge)
warps something that is not a face. dlib's HOG margin 0.2, YuNet's own default threshold."""
MIN_SCORE_ALONE = 0.45
"""When no face reaches MIN_SCORE, the most confident one is still animated down to this confidence: a
portrait looking down or a faded print scores lower, and the user asked to animate this very photo."""


def animate(photo, output, *, motion=None, driving=None, duration: float | None = None, fps: float | None = None,
            gif: bool = False, face: int | None = None, seed: int = 0, strength: float = 1.0,
            engine: str = "auto", audio: bool = False, restore=False, crf: int | None = None,
            detector: str = "auto", quiet: bool = True, on_progress=None) -> dict:
    """Animate the faces of ``photo`` into ``output`` (.mp4/.mov/.mkv video, or .gif).

    motion: presets, 'blink,smile,look,nod,turn,breathe' or a list ('all'; default all but 'turn');
    driving: a video whose face's motion is copied instead (relative to its first frame);
    duration: seconds (default 6, or the driving video's length); fps: frames per second (default 25,
    or the driving video's rate); gif: also write ``<output>.gif`` beside a video; face: animate only
    face N (0 = largest; default all); seed: the random variation of the presets; strength: scales
    every preset amplitude (0–2); engine: 'offline' (landmark-driven warp, always available),
    'neural' (Thin-Plate Spline Motion Model, needs its weights and a driving video) or 'auto'
    (neural when both are there); audio: keep the driving video's audio; restore: restore the photo
    first (True = faces, or a dict of :func:`bian.restore` options); crf: H.264 quality (default 18); detector:
    face detector (auto, yunet, dlib); on_progress: called with a :class:`bian.progress.Progress` after
    every frame (may raise to stop). Returns a summary dict. Raises :class:`bian.BianError`.
    """
    started = time.monotonic()
    photo, output = Path(photo), Path(output)
    names = parse_motions(motion)
    suffix = output.suffix.lower()
    if suffix not in VIDEO_SUFFIXES + (out_io.GIF_SUFFIX,):
        raise OptionError(f"unsupported output extension '{output.suffix}'", output, "use .mp4, .mov, .mkv or .gif")
    if output.resolve() == photo.resolve():
        raise OptionError("output would overwrite the photo", output, "choose another output name")
    if engine not in ENGINES:
        raise OptionError(f"--engine must be one of {', '.join(ENGINES)}, got {engine!r}")
    if not 0 <= strength <= 2:
        raise OptionError(f"--strength must be between 0 and 2, got {strength}")
    if audio and driving is None:
        raise OptionError("--audio keeps a driving video's sound", hint="add --driving VIDEO or drop --audio")
    if audio and suffix == out_io.GIF_SUFFIX:
        raise OptionError("a GIF has no sound", output, "write a .mp4 to keep the driving video's audio")
    if engine == "neural" and driving is None:
        raise OptionError("the neural engine copies a driving video's motion", hint="add --driving VIDEO")
    if duration is not None and not 0 < duration <= 120:
        raise OptionError(f"--duration must be between 0 and 120 seconds, got {duration}")
    if fps is not None and not 1 <= fps <= 60:
        raise OptionError(f"--fps must be between 1 and 60, got {fps}")
    if not output.parent.is_dir():
        raise OptionError("output folder does not exist", output.parent, "create it first")

    frame, info = read_image(photo)
    notes: list[str] = []
    if frame.alpha is not None:
        notes.append("the photo's transparency was dropped (videos have none)")
    image = to_float(frame.image)
    if restore:
        image = _restore(photo, restore)
        notes.append("photo restored before animating")

    from ..faces import detect_faces
    faces = select_faces(detect_faces(image, backend=detector, landmarks="68"), notes)
    if not faces:
        raise InputError("no face found in the photo", photo,
                         "animate needs a face with its eyes at least ~10 px apart; try a larger scan")
    if face is not None:
        if not 0 <= face < len(faces):
            raise OptionError(f"--face {face} does not exist: the photo has {len(faces)} face(s)",
                              hint=f"use 0 … {len(faces) - 1} (0 is the largest)")
        faces = [faces[face]]
    rigs = [build_rig(f.landmarks, image) for f in faces]

    if driving is not None and fps is not None:
        notes.append("--fps is ignored with a driving video: its own frame rate is kept")
    use_neural = driving is not None and (engine == "neural" or (engine == "auto" and _neural_available()))
    if driving is not None and engine == "auto" and not use_neural:
        notes.append("offline engine: the neural engine's weights (tpsmm-vox) were not found")
    if use_neural:
        from .neural import NeuralAnimator
        animator = NeuralAnimator(image, faces, Path(driving), duration, detector=detector)
        rate, times, time_base = animator.rate, animator.times, animator.time_base
        engine_name, render = animator.name, animator.frame
    else:
        if driving is not None:
            from .driving import read_driving
            drive = read_driving(Path(driving), duration, detector)
            rate, times, time_base = drive.rate, drive.times, drive.time_base
            motions = [drive.motion_for(rig) for rig in rigs]
            notes += drive.notes
        else:
            rate = Fraction(fps or 25).limit_denominator(1001)
            count = max(1, int(round(float(duration or 6.0) * rate)))
            times = out_io.frame_times(count, rate)
            time_base = Fraction(1, rate.numerator)
            motions = [preset_motion(names, count, float(rate), seed, k, strength) for k in range(len(rigs))]
        from .render import Renderer
        renderer = Renderer(image, rigs)
        engine_name = "offline"

        def render(i):
            return renderer.render([m.at(i) for m in motions])

    progress = Progress(len(times), "animate", quiet, callback=on_progress)
    gif_path = output if suffix == out_io.GIF_SUFFIX else (output.with_suffix(".gif") if gif else None)
    gif_writer = None if gif_path is None else out_io.GifWriter(gif_path, float(rate), [image, image * 0.35])

    def frames():
        for i in range(len(times)):
            picture = render(i)
            if gif_writer is not None:
                gif_writer.add(picture)
            progress.update()
            yield picture

    h, w = image.shape[:2]
    if suffix == out_io.GIF_SUFFIX:
        for _ in frames():
            pass
    else:
        notes += out_io.write_video(frames(), times, output, w, h, time_base, rate, crf=crf,
                                    audio_from=Path(driving) if audio else None)
    if gif_writer is not None:
        notes += gif_writer.close()
    progress.finish()
    return {"input": str(photo), "output": str(output), "gif": None if gif_path is None else str(gif_path),
            "engine": engine_name, "motion": "driving" if driving is not None else list(names),
            "driving": None if driving is None else str(driving), "audio": bool(audio),
            "frames": len(times), "fps": float(rate), "size": [w, h],
            "faces": [{"box": [round(float(v), 1) for v in f.box], "eye_distance": round(r.iod, 1)}
                      for f, r in zip(faces, rigs)],
            "seconds": round(time.monotonic() - started, 2), "notes": notes}


def select_faces(faces: list, notes: list[str]) -> list:
    """The faces to animate (largest first): those with eyes at least MIN_IOD apart and a detector
    confidence of MIN_SCORE; if there is none, the most confident one above MIN_SCORE_ALONE (with a note)."""
    big = [f for f in faces if _iod(f.landmarks) >= MIN_IOD]
    sure = [f for f in big if f.score >= MIN_SCORE]
    if sure or not big:
        return sure
    best = max(big, key=lambda f: f.score)
    if best.score < MIN_SCORE_ALONE:
        return []
    notes.append(f"the only face found has a low detector confidence ({best.score:.2f}); it is animated")
    return [best]


def _iod(landmarks: np.ndarray) -> float:
    lm = np.asarray(landmarks)
    return float(np.linalg.norm(lm[36:42].mean(0) - lm[42:48].mean(0)))


def _neural_available() -> bool:
    from ..faces import loaders
    return loaders.available("tpsmm-vox")


def _restore(photo: Path, restore) -> np.ndarray:
    """The photo restored with :func:`bian.restore` (True = faces; a dict = those options)."""
    from ..api import restore as restore_api
    options = {"faces": True} if restore is True else dict(restore)
    with tempfile.TemporaryDirectory(prefix="bian-animate-") as tmp:
        target = Path(tmp) / (photo.stem + ".png")
        restore_api(photo, target, quiet=True, **options)
        return to_float(read_image(target)[0].image)
