"""Portrait animation benchmark: the acceptance figures of issue 5, measured on the output frames with
dlib (its HOG detector, 68-point predictor and face descriptor), which the engine does not use to check
itself: it only uses the 68 landmarks of the source photo to build its rig.

    python benchmarks/bench_animate.py [blink smile identity smooth driving speed sheet]   (default: all)

Tables are printed as Markdown (docs/BENCHMARKS.md, section "Portrait animation"). Outputs are the
real files bian writes (H.264 .mp4, crf 18 unless stated), decoded again for measuring.
"""
from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

import av
import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
sys.path.insert(0, str(ROOT / "src"))

import bian  # noqa: E402
from bian.animate.driving import eye_aspect  # noqa: E402
from bian.animate.motions import parse_motions, preset_motion  # noqa: E402
from bian.animate.render import Renderer  # noqa: E402
from bian.animate.rig import build_rig  # noqa: E402
from bian.faces import detect_faces, loaders  # noqa: E402
from bian.faces.identity import descriptor  # noqa: E402
from bian.frame import to_float  # noqa: E402
from bian.media.images import read_image  # noqa: E402

ANIMATE = SHARED / "data" / "animate"
FACES = SHARED / "data" / "faces"
OLD = SHARED / "data" / "photos" / "old"
PORTRAITS = [ANIMATE / "source.png", ANIMATE / "s0.jpg", ANIMATE / "s9.jpg", FACES / "Blake_Lively.jpg",
             FACES / "00.jpg", FACES / "10045.png", FACES / "Solvay_conference_1927.png", OLD / "a.png",
             OLD / "h.png", OLD / "g.png"]
"""Every portrait of ../shared/data/animate and ../shared/data/faces, and three old photographs (a torn
studio print, a faded sepia portrait, an autochrome looking down); face 0 (the largest) of each."""
TMP = Path(tempfile.gettempdir()) / "bench-animate"


# ----------------------------------------------------------------------------------------------- dlib
class Dlib:
    """dlib's own detector + 68-point predictor, run on a crop around where the face is expected."""

    def __init__(self):
        self.detector = loaders.dlib_hog()
        self.predictor = loaders.dlib_shape_predictor(loaders.model_path("dlib-landmarks68"))

    def landmarks(self, image: np.ndarray, near: np.ndarray | None = None) -> np.ndarray | None:
        """(68, 2) of the largest face (of the one nearest to the box ``near``), or None. The detector runs
        on a copy scaled so that the face is ~160 px wide (HOG's cost grows with the area, its accuracy does
        not); the landmarks are fitted on the full-resolution picture."""
        import dlib
        img = image if image.dtype == np.uint8 else (np.clip(image, 0, 1) * 255 + 0.5).astype(np.uint8)
        x0 = y0 = 0
        scale = 1.0
        if near is not None:
            w = near[2] - near[0]
            x0, y0 = int(max(0, near[0] - w)), int(max(0, near[1] - w))
            x1, y1 = int(min(img.shape[1], near[2] + w)), int(min(img.shape[0], near[3] + w))
            img = img[y0:y1, x0:x1]
            scale = min(1.0, 160 / max(w, 1))
        img = np.ascontiguousarray(img)
        small = img if scale == 1.0 else cv2.resize(img, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        up = 1 if max(small.shape[:2]) < 500 else 0
        rects = self.detector(small, up)
        if not len(rects):
            return None
        r = max(rects, key=lambda r: r.width() * r.height())
        rect = dlib.rectangle(*(int(round(v / scale)) for v in (r.left(), r.top(), r.right(), r.bottom())))
        pts = np.array([(p.x, p.y) for p in self.predictor(img, rect).parts()], np.float64)
        return pts + [x0, y0]


def box_of(lm: np.ndarray) -> np.ndarray:
    return np.array([*lm.min(0), *lm.max(0)])


def decode(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as c:
        return [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]


def track(dl: Dlib, frames: list[np.ndarray], start: np.ndarray) -> np.ndarray:
    """dlib landmarks in every frame (n, 68, 2), searching near the previous frame's face; NaN if missed."""
    out, near = [], box_of(start)
    for f in frames:
        lm = dl.landmarks(f, near)
        out.append(np.full((68, 2), np.nan) if lm is None else lm)
        if lm is not None:
            near = box_of(lm)
    return np.array(out)


def mouth_width(lm):
    return np.linalg.norm(lm[..., 54, :] - lm[..., 48, :], axis=-1)


def corner_height(lm):
    """Mouth corners above the eye line (pixels, positive = higher), measured perpendicular to the eyes."""
    el, er = lm[..., 36:42, :].mean(-2), lm[..., 42:48, :].mean(-2)
    ex = (er - el) / np.linalg.norm(er - el, axis=-1, keepdims=True)
    ey = np.stack([-ex[..., 1], ex[..., 0]], -1)
    corners = (lm[..., 48, :] + lm[..., 54, :]) / 2
    return -np.sum((corners - (el + er) / 2) * ey, -1)


def iod(lm):
    return float(np.linalg.norm(lm[36:42].mean(0) - lm[42:48].mean(0)))


def dark_lines(image: np.ndarray, lm: np.ndarray, side: int) -> int:
    """Dark horizontal lines across the middle of an eye, from just under the brow to the cheek: the lash
    line of an open or closed eye is one; a doubled lid edge would add one."""
    idx = np.arange(36, 42) if side == 0 else np.arange(42, 48)
    p = lm[idx]
    left, right = p[0], p[3]
    half = np.linalg.norm(right - left) / 2
    ax = (right - left) / (2 * half)
    nm = np.array([-ax[1], ax[0]])
    origin = (left + right) / 2
    ys = np.linspace(-0.9 * half, 0.9 * half, 37)
    xs = np.linspace(-0.5 * half, 0.5 * half, 11)
    grid = origin + xs[None, :, None] * ax + ys[:, None, None] * nm
    grey = cv2.GaussianBlur(image.mean(2).astype(np.float32), (0, 0), max(0.6, half / 12))
    prof = cv2.remap(grey, grid[..., 0].astype(np.float32), grid[..., 1].astype(np.float32), cv2.INTER_LINEAR).mean(1)
    rng = prof.max() - prof.min() + 1e-6
    count = 0
    for i in range(2, len(prof) - 2):
        if prof[i] <= prof[i - 1] and prof[i] < prof[i + 1]:
            depth = min(prof[max(0, i - 8):i].max(), prof[i + 1:i + 9].max()) - prof[i]
            count += depth > 0.2 * rng
    return count


def animate(photo: Path, name: str, **options) -> tuple[Path, dict]:
    out = TMP / f"{name}.mp4"
    summary = bian.animate(photo, out, **options)
    return out, summary


# ----------------------------------------------------------------------------------------------- tables
def bench_blink(dl: Dlib) -> None:
    print("\n### Blink (motion=blink, 4 s, one blink; EAR = eye aspect ratio from dlib, mean of both eyes)\n")
    print("Start and end: median EAR over the frames before the blink begins and after it ends (single frames "
          "carry dlib's own jitter of a few %). Measured on the H.264 file at the default crf 18 and at crf 0 "
          "(lossless luma, what the engine drew). Dark lines: dark horizontal lines across the eye from brow to "
          "cheek, in the source and at most in any frame of the blink (a doubled lid edge would add one).\n")
    print("| photo | EAR start | EAR at peak | drop | return error | drop (crf 0) | return error (crf 0) | "
          "dark lines (source → max) |")
    print("|---|---|---|---|---|---|---|---|")
    for photo in PORTRAITS:
        src = to_float(read_image(photo)[0].image)
        faces = detect_faces(src, landmarks="68")
        lm0 = dl.landmarks(src, faces[0].box)
        if lm0 is None:
            print(f"| {photo.name} | dlib finds no face in the source | | | | | | |")
            continue
        row = []
        for crf in (None, 0):
            out, summary = animate(photo, f"blink_{photo.stem}_{crf}", motion="blink", duration=4, face=0, crf=crf)
            frames = decode(out)
            lms = track(dl, frames, lm0)
            ear = np.nanmean(eye_aspect(lms), -1)
            plan = preset_motion(("blink",), len(frames), summary["fps"], 0, 0).blink[:, 0]
            active = np.flatnonzero(plan > 1e-3)
            start, end = np.nanmedian(ear[:active[0]]), np.nanmedian(ear[active[-1] + 1:])
            peak = np.nanmin(ear[active[0]:active[-1] + 1])
            row.append((start, peak, end))
            if crf is None:
                lines_src = max(dark_lines(frames[0], lms[0], s) for s in (0, 1))
                lines = max(dark_lines(frames[i], lms[i], s) for i in active if not np.isnan(lms[i]).any()
                            for s in (0, 1))
        (s1, p1, e1), (s0, p0, e0) = row
        print(f"| {photo.name} | {s1:.3f} | {p1:.3f} | {1 - p1 / s1:.0%} | {abs(e1 - s1) / s1:.1%} | "
              f"{1 - p0 / s0:.0%} | {abs(e0 - s0) / s0:.1%} | {lines_src} → {lines} |")


def bench_smile(dl: Dlib) -> None:
    print("\n### Smile (motion=smile, 4 s; dlib mouth corners 48/54)\n")
    print("| photo | corner distance start → peak | rise | corners up at peak (px, % of eye distance) |")
    print("|---|---|---|---|")
    for photo in PORTRAITS:
        src = to_float(read_image(photo)[0].image)
        lm0 = dl.landmarks(src, detect_faces(src, landmarks="68")[0].box)
        if lm0 is None:
            continue
        out, _ = animate(photo, "smile_" + photo.stem, motion="smile", duration=4, face=0)
        lms = track(dl, decode(out), lm0)
        width = mouth_width(lms)
        k = int(np.nanargmax(width))
        up = corner_height(lms[k]) - corner_height(lms[0])
        print(f"| {photo.name} | {width[0]:.1f} → {width[k]:.1f} px | {width[k] / width[0] - 1:+.1%} | "
              f"{up:+.1f} px ({up / iod(lms[0]):+.1%}) |")


def head_region(lm: np.ndarray, shape) -> np.ndarray:
    """The head and neck, from dlib's landmarks of the source: an ellipse centred 0.35 face heights above the
    face's centre, 1.0 jaw width across and 1.3 face heights (brow to chin) high on each side. Outside it
    is 'background' for the PSNR check."""
    jaw = np.linalg.norm(lm[16] - lm[0])
    top = lm[17:27, 1].min()
    height = lm[8, 1] - top
    cx, cy = lm[:, 0].mean(), (top + lm[8, 1]) / 2 - 0.35 * height
    yy, xx = np.mgrid[:shape[0], :shape[1]]
    return ((xx - cx) / (1.0 * jaw)) ** 2 + ((yy - cy) / (1.3 * height)) ** 2 <= 1


def psnr(a, b) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else 10 * np.log10(255 ** 2 / mse)


def bench_identity_smooth(dl: Dlib) -> None:
    print("\n### Identity, smoothness, background (default motions blink,smile,look,nod,breathe; 6 s, 25 fps)\n")
    print("| photo | identity distance max / mean | frames measured | max landmark jump (dlib) | max planned "
          "jump (engine) | background PSNR outside head (mp4) | engine pixels changed outside head |")
    print("|---|---|---|---|---|---|---|")
    for photo in PORTRAITS:
        frame, _ = read_image(photo)
        src8 = frame.image if frame.image.dtype == np.uint8 else (to_float(frame.image) * 255 + 0.5).astype(np.uint8)
        image = to_float(frame.image)
        faces = detect_faces(image, landmarks="68")
        lm0 = dl.landmarks(src8, faces[0].box)
        if lm0 is None:
            print(f"| {photo.name} | dlib finds no face in the source | | | | | |")
            continue
        out, summary = animate(photo, "default_" + photo.stem, face=0, seed=1)
        frames = decode(out)
        lms = track(dl, frames, lm0)
        ref = descriptor(src8, lm0)
        dist = [np.linalg.norm(descriptor(f, lm) - ref) for f, lm in zip(frames, lms) if not np.isnan(lm).any()]
        jumps = np.nanmax(np.linalg.norm(np.diff(lms, axis=0), axis=-1), axis=1)
        # the engine's own plan: where it moves the source landmarks in each frame
        rig = build_rig(faces[0].landmarks, image)
        renderer = Renderer(image, [rig])
        motion = preset_motion(parse_motions(None), len(frames), 25.0, 1, 0)
        planned = np.array([renderer.landmark_positions([motion.at(i)])[0] for i in range(len(frames))])
        plan_jump = np.linalg.norm(np.diff(planned, axis=0), axis=-1).max(1)
        mask = ~head_region(lm0, src8.shape)
        bg = min(psnr(f[mask], src8[mask]) for f in frames)
        changed = 0
        for i in range(0, len(frames), 10):
            rendered = renderer.render([motion.at(i)])
            changed += int((np.abs(rendered - image).max(2) > 0)[mask].sum())
        print(f"| {photo.name} | {max(dist):.3f} / {np.mean(dist):.3f} | {len(dist)}/{len(frames)} | "
              f"{np.nanmax(jumps):.2f} px | {plan_jump.max():.2f} px | {bg:.1f} dB | {changed} |")


def bench_driving(dl: Dlib) -> None:
    print("\n### Driving video (relative motion; correlation of dlib landmark motion, driving vs output)\n")
    print("| photo | driving | frames | correlation all | head (mean point) x / y | expression (after removing "
          "head similarity) | audio kept |")
    print("|---|---|---|---|---|---|---|")
    driving_landmarks = {}
    for photo in (ANIMATE / "source.png", ANIMATE / "s0.jpg", SHARED / "data/photos/old/h.png"):
        for drive in (ANIMATE / "driving.mp4", ANIMATE / "d0.mp4"):
            src = to_float(read_image(photo)[0].image)
            lm0 = dl.landmarks(src)
            out = TMP / f"drive_{photo.stem}_{drive.stem}.mp4"
            bian.animate(photo, out, driving=drive, audio=drive.name == "driving.mp4", face=0, engine="offline")
            frames = decode(out)
            if drive not in driving_landmarks:
                dframes = decode(drive)
                driving_landmarks[drive] = track(dl, dframes, dl.landmarks(dframes[0]))
            dlm = driving_landmarks[drive]
            olm = track(dl, frames, lm0)
            n = min(len(dlm), len(olm))
            dlm, olm = dlm[:n], olm[:n]
            # driving motion in the photo face's scale and orientation
            a_d = _angle(dlm[0])
            a_o = _angle(olm[0])
            rot = _rot(a_o - a_d) * iod(olm[0]) / iod(dlm[0])
            dm = (dlm - dlm[0]) @ rot.T
            om = olm - olm[0]
            ok = ~(np.isnan(dm).any((1, 2)) | np.isnan(om).any((1, 2)))
            corr = np.corrcoef(dm[ok].ravel(), om[ok].ravel())[0, 1]
            cx = np.corrcoef(dm[ok].mean(1)[:, 0], om[ok].mean(1)[:, 0])[0, 1]
            cy = np.corrcoef(dm[ok].mean(1)[:, 1], om[ok].mean(1)[:, 1])[0, 1]
            ce = np.corrcoef(_expression(dlm[ok]).ravel() * iod(olm[0]) / iod(dlm[0]),
                             _expression(olm[ok]).ravel())[0, 1]
            with av.open(str(out)) as c:
                has_audio = bool(c.streams.audio)
            print(f"| {photo.name} | {drive.name} | {ok.sum()}/{n} | {corr:.3f} | {cx:.3f} / {cy:.3f} | {ce:.3f} | "
                  f"{'yes' if has_audio else 'no'} |")


def _angle(lm):
    d = lm[42:48].mean(0) - lm[36:42].mean(0)
    return np.arctan2(d[1], d[0])


def _rot(a):
    return np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])


def _expression(lms: np.ndarray) -> np.ndarray:
    """Landmark motion left after removing each frame's best similarity to the first frame."""
    from bian.faces.align import apply, similarity
    out = []
    for lm in lms:
        m = similarity(lm, lms[0])
        out.append(apply(m, lm) - lms[0])
    return np.array(out)


def bench_speed() -> None:
    print("\n### Speed: 6 s, 25 fps, 512×512 (source.png resized), default motions, whole command\n")
    src = TMP / "source512.png"
    img = cv2.imread(str(ANIMATE / "source.png"))
    cv2.imwrite(str(src), cv2.resize(img, (512, 512), interpolation=cv2.INTER_AREA))
    runs = []
    for _ in range(2):
        t = time.perf_counter()
        bian.animate(src, TMP / "speed.mp4")
        runs.append(time.perf_counter() - t)
    t = time.perf_counter()
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-loop", "1", "-i", str(src), "-t", "6", "-r", "25", "-c:v",
                    "libx264", "-crf", "18", "-pix_fmt", "yuv420p", str(TMP / "still.mp4")], check=True)
    anchor = time.perf_counter() - t
    print("| run | seconds | vs. FFmpeg encoding the still photo as 6 s of video |")
    print("|---|---|---|")
    for i, r in enumerate(runs):
        print(f"| bian animate #{i + 1} | {r:.1f} | {r / anchor:.1f}× |")
    print(f"| ffmpeg -loop 1 (anchor) | {anchor:.1f} | 1× |")


def bench_sheet() -> None:
    """Contact sheet of frames for the docs (docs/img/animate_contact.jpg)."""
    rows = []
    for photo in (ANIMATE / "s9.jpg", ANIMATE / "source.png", SHARED / "data/photos/old/h.png",
                  SHARED / "data/photos/old/a.png"):
        out, summary = animate(photo, "sheet_" + photo.stem, face=0, seed=2)
        frames = decode(out)
        x0, y0, x1, y1 = summary["faces"][0]["box"]
        s = (x1 - x0) * 0.9
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        box = [int(max(0, cx - s)), int(max(0, cy - 1.1 * s)), int(cx + s), int(cy + 0.9 * s)]
        picks = np.linspace(0, len(frames) - 1, 8).astype(int)
        crops = [cv2.resize(frames[i][box[1]:box[3], box[0]:box[2]], (180, 180), interpolation=cv2.INTER_AREA)
                 for i in picks]
        rows.append(np.concatenate(crops, 1))
    sheet = np.concatenate(rows, 0)
    target = ROOT / "docs" / "img" / "animate_contact.jpg"
    cv2.imwrite(str(target), sheet[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, 88])
    print(f"\ncontact sheet written to {target.relative_to(ROOT)}")


def main(argv: list[str]) -> None:
    parts = argv or ["blink", "smile", "identity", "driving", "speed", "sheet"]
    TMP.mkdir(exist_ok=True)
    dl = Dlib()
    for part in parts:
        {"blink": lambda: bench_blink(dl), "smile": lambda: bench_smile(dl),
         "identity": lambda: bench_identity_smooth(dl), "driving": lambda: bench_driving(dl),
         "speed": bench_speed, "sheet": bench_sheet}[part]()


if __name__ == "__main__":
    main(sys.argv[1:])
