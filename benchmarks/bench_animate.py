"""Portrait animation benchmark: the acceptance figures of issue 5, measured on the output frames with
dlib (its HOG detector, 68-point predictor and face descriptor), which the engine does not use to check
itself: it only uses the 68 landmarks of the source photo to build its rig.

    python benchmarks/bench_animate.py [instrument blink realblink probe smile identity background jitter smooth
        driving speed sheet] [--photos a.png,h.png] [--instrument old,steady] [--crf 14]
    (default: all parts, every portrait, both instruments)

Every dlib table is printed once per instrument (`Dlib`): the old one (the detector's box found again in
every frame, one predictor fit in whole pixels) and the steady one (one box per clip, the predictor's median
over 25 boxes on a 2× crop); the `instrument` part shows on a known motion why the steady one is trusted.
Tables are printed as Markdown (docs/BENCHMARKS.md, section "Portrait animation"). Outputs are the
real files bian writes (H.264 .mp4 at bian's default crf, 18, unless stated),
decoded again for measuring.
"""
from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import av
import cv2
import numpy as np
from scipy.stats import trim_mean

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
sys.path.insert(0, str(ROOT / "src"))

import bian  # noqa: E402
from bian.animate.driving import eye_aspect, read_driving  # noqa: E402
from bian.animate.motions import parse_motions, preset_motion  # noqa: E402
from bian.media.encode import DEFAULT_CRF  # noqa: E402
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
CRF = DEFAULT_CRF["h264"]
"""What bian writes animations at (no --crf)."""


# ----------------------------------------------------------------------------------------------- dlib
class Dlib:
    """dlib's own detector + 68-point predictor, run on a crop around where the face is expected.

    Two instruments (``steady``): the old one re-detects the face box in every frame and fits the predictor
    once, at the picture's pixels (dlib returns whole-pixel points); the steady one keeps the detector's box
    of the clip's first frame (for a travelling head, the detector's boxes averaged over ±4 frames:
    `track`) and fits the predictor from 25 boxes around it (±5 % shifts, ±4 % sizes) on the crop resampled 2×, taking each
    coordinate's trimmed mean (middle 15 of 25) — the multiple-initialisation scheme of robust cascaded pose regression
    (Burgos-Artizzu et al. 2013) for dlib's cascade of the same kind (Kazemi & Sullivan 2014). Same model,
    same pictures: it only removes the dependence on one box and on whole pixels."""

    GRID = np.linspace(-0.05, 0.05, 5)
    UP = 2.0
    SIDE = 200
    """Smallest box side (px) the steady fit sees: a small face's crop is resampled up to it (dlib's predictor
    was trained on faces of a few hundred pixels; 2× of a 35-px box leaves its eyes and mouth a few pixels)."""

    def __init__(self, steady: bool = True):
        self.steady = steady
        self.detector = loaders.dlib_hog()
        self.predictor = loaders.dlib_shape_predictor(loaders.model_path("dlib-landmarks68"))

    def box(self, image: np.ndarray, near: np.ndarray | None = None) -> np.ndarray | None:
        """dlib's detector box (x0, y0, x1, y1) of the largest face (of the one nearest to the box ``near``),
        or None. The detector runs on a copy scaled so that the face is ~160 px wide (HOG's cost grows with
        the area, its accuracy does not)."""
        img = _u8(image)
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
        return np.round(np.array([r.left(), r.top(), r.right(), r.bottom()], float) / scale) + [x0, y0, x0, y0]

    def fit(self, image: np.ndarray, box: np.ndarray, steady: bool | None = None) -> np.ndarray:
        """(68, 2) landmarks (picture pixels, float) in ``box``: one predictor run at full resolution (old), or
        the trimmed mean over the 25 boxes on the 2× crop (steady; default: this instrument's)."""
        import dlib
        img = _u8(image)
        if not (self.steady if steady is None else steady):
            rect = dlib.rectangle(*(int(round(v)) for v in box))
            return np.array([(p.x, p.y) for p in self.predictor(img, rect).parts()], np.float64)
        box = np.asarray(box, float)
        side = box[2:] - box[:2]
        ox, oy = np.floor(box[:2] - 0.6 * side).astype(int)
        cw, ch = np.ceil(2.2 * side).astype(int) + 1
        pad = max(0, -ox, -oy, ox + cw - img.shape[1], oy + ch - img.shape[0])
        src = cv2.copyMakeBorder(img, pad, pad, pad, pad, cv2.BORDER_REPLICATE) if pad else img
        up = max(self.UP, self.SIDE / side[0])
        crop = cv2.resize(src[oy + pad:oy + pad + ch, ox + pad:ox + pad + cw], None, fx=up, fy=up,
                          interpolation=cv2.INTER_CUBIC)
        crop = np.ascontiguousarray(crop)
        centre, half = (box[:2] + box[2:]) / 2 - [ox, oy], side / 2
        fits = []
        for i, dy in enumerate(self.GRID):
            for j, dx in enumerate(self.GRID):
                c = centre + np.array([dx, dy]) * side[0]
                h = half * (1 + 0.04 * ((i + j) % 3 - 1))
                rect = dlib.rectangle(*(int(round(v * up)) for v in (*(c - h), *(c + h))))
                fits.append([(p.x, p.y) for p in self.predictor(crop, rect).parts()])
        # Each coordinate's mean over the middle 15 of the 25 fits: robust like a median, but not stuck on the
        # whole pixels dlib returns (a median moves in 0.5-px steps, a whole smile on an 11-px mouth).
        # dlib's pixel (x, y) covers [x - ½, x + ½]: centres map back through the resampling.
        return (trim_mean(np.array(fits, np.float64), 0.2, axis=0) + 0.5) / up - 0.5 + [ox, oy]

    def landmarks(self, image: np.ndarray, near: np.ndarray | None = None) -> np.ndarray | None:
        """(68, 2) of the largest face (of the one nearest to the box ``near``), or None."""
        box = self.box(image, near)
        return None if box is None else self.fit(image, box)


def _u8(image: np.ndarray) -> np.ndarray:
    return image if image.dtype == np.uint8 else (np.clip(image, 0, 1) * 255 + 0.5).astype(np.uint8)


def box_of(lm: np.ndarray) -> np.ndarray:
    return np.array([*lm.min(0), *lm.max(0)])


def decode(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as c:
        return [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]


def track(dl: Dlib, frames: list[np.ndarray], start: np.ndarray, follow: bool = True) -> np.ndarray:
    """dlib landmarks in every frame (n, 68, 2); NaN where dlib's detector finds no face.

    The detector searches near the previous frame's face (``follow``) or always near the source face ``start``
    (landmarks). Old instrument: the predictor fits in each frame's own box. Steady instrument: without
    ``follow`` (a head that hardly moves) one box for the whole clip, the detector's box of the first frame;
    with ``follow`` (a driving video's head travels a quarter of its box) the same detector boxes as the old
    instrument, averaged over ±4 frames (0.16 s at 25 fps) so that their steps of whole HOG cells become ramps."""
    if dl.steady and not follow:
        box = dl.box(frames[0], box_of(start))
        return np.array([np.full((68, 2), np.nan) if box is None else dl.fit(f, box) for f in frames])
    boxes, out, near = [], [], box_of(start)
    for f in frames:
        box = dl.box(f, near)
        boxes.append(np.full(4, np.nan) if box is None else box)
        lm = None if box is None else dl.fit(f, box, steady=False)
        out.append(np.full((68, 2), np.nan) if lm is None else lm)
        if lm is not None and follow:
            near = box_of(lm)
    if not dl.steady:
        return np.array(out)
    boxes = np.array(boxes)
    return np.array([np.full((68, 2), np.nan) if np.isnan(b[0]) else
                     dl.fit(f, np.nanmean(boxes[max(0, i - 4):i + 5], 0)) for i, (f, b) in enumerate(zip(frames, boxes))])


def still_clip(photo: Path) -> Path:
    """The photo as a still 2 s H.264 clip made by FFmpeg (animate's crf, 4:2:0, as bian writes): the anchor for
    what the codec alone does to a picture where nothing moves."""
    still = TMP / f"still_{photo.stem}.mp4"
    if not still.exists():
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-loop", "1", "-i", str(photo), "-t", "2", "-r", "25",
                        "-vf", "crop=iw-mod(iw\\,2):ih-mod(ih\\,2):0:0", "-c:v", "libx264", "-crf", str(CRF),
                        "-pix_fmt", "yuv420p", str(still)], check=True)
    return still


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


MADE: dict[Path, dict] = {}
"""Files written in this run (path → bian's summary): both instruments measure the same outputs."""


def animate(photo: Path, name: str, **options) -> tuple[Path, dict]:
    out = TMP / f"{name}.mp4"
    if options.get("crf") is None:
        options["crf"] = CRF
    if out not in MADE:
        MADE[out] = bian.animate(photo, out, **options)
    return out, MADE[out]


# ----------------------------------------------------------------------------------------------- tables
def bench_blink(dl: Dlib) -> None:
    print("\n### Blink (motion=blink, 3 s, one blink; EAR = eye aspect ratio from dlib, mean of both eyes)\n")
    print("Start and end: median EAR over the frames before the blink begins and after it ends (single frames "
          f"carry dlib's own jitter of a few %). Measured on the H.264 file at the default crf {CRF} and at crf 0 "
          "(lossless luma, what the engine drew). Dark lines: dark horizontal lines across the eye from brow to "
          "cheek, in the source and at most in any frame of the blink (a doubled lid edge would add one). "
          "dlib jitter: (max − min) / median of the EAR over the frames before the blink, which the engine "
          "leaves exactly as the photo (the codec alone changes them). Eye pixels after: mean |difference| "
          "(8-bit levels) between the frames after the blink and the first frame, in the box around both eyes, "
          f"crf {CRF}.\n")
    print("| photo | eye distance | EAR start | EAR at peak | drop | return error | drop (crf 0) | "
          f"return error (crf 0) | dlib jitter before (crf {CRF} / 0) | eye pixels after | dark lines (source → max) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for photo in PORTRAITS:
        src = to_float(read_image(photo)[0].image)
        faces = detect_faces(src, landmarks="68")
        lm0 = dl.landmarks(src, faces[0].box)
        if lm0 is None:
            print(f"| {photo.name} | dlib finds no face in the source | | | | | | | | | |")
            continue
        row = []
        for crf in (None, 0):
            out, summary = animate(photo, f"blink_{photo.stem}_{crf}", motion="blink", duration=3, face=0, crf=crf)
            frames = decode(out)
            lms = track(dl, frames, lm0, follow=False)
            ear = np.nanmean(eye_aspect(lms), -1)
            plan = preset_motion(("blink",), len(frames), summary["fps"], 0, 0).blink[:, 0]
            active = np.flatnonzero(plan > 1e-3)
            start, end = np.nanmedian(ear[:active[0]]), np.nanmedian(ear[active[-1] + 1:])
            peak = np.nanmin(ear[active[0]:active[-1] + 1])
            before = ear[:active[0]]
            row.append((start, peak, end, (np.nanmax(before) - np.nanmin(before)) / start))
            if crf is None:
                (ex0, ey0), (ex1, ey1) = lm0[36:48].min(0).astype(int), lm0[36:48].max(0).astype(int) + 1
                after = np.mean([np.abs(f[ey0:ey1, ex0:ex1].astype(float) - frames[0][ey0:ey1, ex0:ex1]).mean()
                                 for f in frames[active[-1] + 1:]])
                lines_src = max(dark_lines(frames[0], lms[0], s) for s in (0, 1))
                lines = max(dark_lines(frames[i], lms[i], s) for i in active if not np.isnan(lms[i]).any()
                            for s in (0, 1))
        (s1, p1, e1, j1), (s0, p0, e0, j0) = row
        print(f"| {photo.name} | {iod(lm0):.0f} px | {s1:.3f} | {p1:.3f} | {1 - p1 / s1:.0%} | {abs(e1 - s1) / s1:.1%} | "
              f"{1 - p0 / s0:.0%} | {abs(e0 - s0) / s0:.1%} | {j1:.1%} / {j0:.1%} | {after:.2f} | "
              f"{lines_src} → {lines} |")


def bench_probe(dl: Dlib) -> None:
    """How far dlib follows a closing eye at all, on single rendered frames (uint8, no codec)."""
    from bian.animate import eyelids
    from bian.animate.motions import Motion
    from bian.faces.align import apply, similarity

    def closed(renderer, amount=1.0):
        m = Motion.still(1)
        m.blink[:] = amount
        return (np.clip(renderer.render([m.at(0)]), 0, 1) * 255 + 0.5).astype(np.uint8)

    def squash(eye, points, blink, squint, gaze, lid_skin):
        """The forbidden blink, as a probe: the whole eye squashed to 10 % of its height, skin pulled in."""
        x, y = eye.to_local(points)
        xs = np.linspace(-1, 1, 41)
        h = 1.1 * max(-eyelids.Eye.curve(eye.upper, xs).min(), eyelids.Eye.curve(eye.lower, xs).max())
        k, b = 1 - 0.9 * blink, 3 * h
        a = np.abs(y)
        src = np.where(a < k * h, y / k, np.sign(y) * (h + (a - k * h) * (b - h) / (b - k * h)))
        src = np.where((a < b) & (np.abs(x) < 1.1), src, y)
        return [("image", eye.to_picture(x, src), np.ones_like(y))]

    print("\n### Probes: how far dlib follows a closing eye (single frames, no codec)\n")
    print("EAR drop of one frame with both eyes closed (blink 1.0) against the photo, dlib's box searched near the "
          "source face: the engine's lid; the whole eye squashed to 10 % of its height (the forbidden method, as a "
          "probe of dlib, not of the engine); and the engine's closed frame read with dlib's box moved (12 boxes, "
          "±6 % shift, 0.95–1.1× size): lowest / median / highest.\n")
    print("| photo | engine's lid | eye squashed to 10 % | engine's lid, box moved: min / median / max |")
    print("|---|---|---|---|")
    real = eyelids.samples
    for photo in PORTRAITS:
        image = to_float(read_image(photo)[0].image)
        src8 = (image * 255 + 0.5).astype(np.uint8)
        face = detect_faces(image, landmarks="68")[0]
        lm0 = dl.landmarks(src8, face.box)
        if lm0 is None:
            continue
        renderer = Renderer(image, [build_rig(face.landmarks, image)])
        e0 = np.mean(eye_aspect(lm0))
        drops = []
        for layer in (real, squash):
            eyelids.samples = layer
            try:
                lm = dl.landmarks(closed(renderer), box_of(lm0))
            finally:
                eyelids.samples = real
            drops.append(np.nan if lm is None else 1 - np.mean(eye_aspect(lm)) / e0)
        shut = closed(renderer)
        bx = box_of(lm0)
        side, rng, moved = bx[2] - bx[0], np.random.default_rng(0), []
        for _ in range(12):
            dx, dy = rng.uniform(-0.06, 0.06, 2) * side
            half = 0.55 * side * rng.uniform(0.95, 1.1)
            cx, cy = (bx[0] + bx[2]) / 2 + dx, (bx[1] + bx[3]) / 2 + dy
            rect = np.array([cx - half, cy - half, cx + half, cy + half]).round()
            ears = [np.mean(eye_aspect(dl.fit(im, rect))) for im in (src8, shut)]
            moved.append(1 - ears[1] / ears[0])
        print(f"| {photo.name} | {drops[0]:.0%} | {drops[1]:.0%} | {min(moved):.0%} / {np.median(moved):.0%} / "
              f"{max(moved):.0%} |")

    # the engine's closed eyes in the face of a real blink (d0.mp4 frame 0 closed by the engine; frame 65 real)
    frames = decode(ANIMATE / "d0.mp4")
    first, shut_real = frames[0], frames[65]
    lm_first = dl.landmarks(first)
    lm_shut = dl.landmarks(shut_real, box_of(lm_first))
    face = detect_faces(to_float(first), landmarks="68")[0]
    ours = closed(Renderer(to_float(first), [build_rig(face.landmarks, to_float(first))]))
    stable = np.r_[17:36, 36, 39, 42, 45]
    m = np.asarray(similarity(lm_first[stable], lm_shut[stable]))[:2]
    yy, xx = np.mgrid[:first.shape[0], :first.shape[1]]
    scale = iod(lm_shut)
    e0 = np.mean(eye_aspect(lm_first))

    def reading(picture):
        lm = dl.landmarks(picture, box_of(lm_first))
        return 1 - np.mean(eye_aspect(lm)) / e0

    def pasted(picture):
        warped = cv2.warpAffine(picture, m, first.shape[1::-1], flags=cv2.INTER_CUBIC).astype(float)
        out = shut_real.astype(float)
        for eye in (slice(36, 42), slice(42, 48)):
            c = apply(m, lm_first[eye].mean(0)[None])[0]
            r = np.hypot((xx - c[0]) / (0.35 * scale), (yy - c[1]) / (0.21 * scale))
            w = np.clip((1.2 - r) / 0.4, 0, 1)[..., None]
            out = out * (1 - w) + warped * w
        return out.astype(np.uint8)

    print("\nd0.mp4 (EAR drop against its frame 0): real closed frame 65 "
          f"{reading(shut_real):.0%}; frame 0 closed by the engine {reading(ours):.0%}; the engine's closed eyes "
          f"pasted into frame 65 {reading(pasted(ours)):.0%}; frame 0's open eyes pasted into frame 65 "
          f"{reading(pasted(first)):.0%}.")


def bench_real_blink(dl: Dlib) -> None:
    print("\n### Anchor: dlib on real blinks (the driving videos, tracked the same way)\n")
    print("| video | frames | EAR median | EAR lowest (frame) | drop |")
    print("|---|---|---|---|---|")
    for video in (ANIMATE / "d0.mp4", ANIMATE / "driving.mp4"):
        frames = decode(video)
        ear = np.nanmean(eye_aspect(track(dl, frames, dl.landmarks(frames[0]))), -1)
        med, low = np.nanmedian(ear), np.nanmin(ear)
        print(f"| {video.name} | {len(frames)} | {med:.3f} | {low:.3f} ({int(np.nanargmin(ear))}) | {1 - low / med:.0%} |")


def bench_smile(dl: Dlib) -> None:
    print("\n### Smile (motion=smile, 4 s; dlib mouth corners 48/54)\n")
    print("Start: median over the frames before the smile begins; peak: median over the frames where the planned "
          "smile is at least 90 % of its height (single frames carry dlib's jitter). Corners up: height of the "
          "corners' midpoint above the eye line, perpendicular to it.\n")
    print("| photo | frames found | corner distance start → peak | rise | "
          "corners up at peak (px, % of eye distance) |")
    print("|---|---|---|---|---|")
    for photo in PORTRAITS:
        src = to_float(read_image(photo)[0].image)
        lm0 = dl.landmarks(src, detect_faces(src, landmarks="68")[0].box)
        if lm0 is None:
            print(f"| {photo.name} | dlib finds no face in the source | | | |")
            continue
        out, summary = animate(photo, "smile_" + photo.stem, motion="smile", duration=4, face=0)
        lms = track(dl, decode(out), lm0)
        plan = preset_motion(("smile",), len(lms), summary["fps"], 0, 0).smile
        before, hold = np.arange(int(np.flatnonzero(plan > 1e-3)[0])), np.flatnonzero(plan >= 0.9 * plan.max())
        width, height = mouth_width(lms), corner_height(lms)
        w0, w1 = np.nanmedian(width[before]), np.nanmedian(width[hold])
        up = np.nanmedian(height[hold]) - np.nanmedian(height[before])
        found = int(np.sum(~np.isnan(width)))
        print(f"| {photo.name} | {found}/{len(lms)} | {w0:.1f} → {w1:.1f} px | {w1 / w0 - 1:+.1%} | "
              f"{up:+.1f} px ({up / iod(lm0):+.1%}) |")


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
    print("Jumps: the largest frame-to-frame displacement of any of the 68 landmarks, as dlib measures it on the "
          "output and as the engine plans it (the motion's own speed: its landmarks moved by the same fields, lids "
          "and lips); 'over plan' counts frame pairs where dlib's jump exceeds the planned one for that pair by "
          "more than 5 % of the eye distance (dlib's own jitter on a moving face). Engine pixels changed outside "
          "head: the engine's rendered pixels outside the head and neck region (`head_region`) that differ at all "
          "from the photo (every 10th frame, before encoding; PSNR there: the background part).\n")
    print("| photo | eye distance | identity distance max / mean | frames measured | max jump dlib / planned | "
          "pairs over plan | engine pixels changed outside head |")
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
        changed = 0
        for i in range(0, len(frames), 10):
            rendered = renderer.render([motion.at(i)])
            changed += int((np.abs(rendered - image).max(2) > 0)[mask].sum())
        over = int(np.sum(jumps > plan_jump + 0.05 * iod(lm0)))
        print(f"| {photo.name} | {iod(lm0):.0f} px | {max(dist):.3f} / {np.mean(dist):.3f} | {len(dist)}/{len(frames)} | "
              f"{np.nanmax(jumps):.2f} / {plan_jump.max():.2f} px | {over}/{len(jumps)} | {changed} |")


def bench_background(dl: Dlib) -> None:
    print("\n### Background outside the head (the default animations of the identity part)\n")
    print("PSNR outside the head and neck region (an ellipse from dlib's landmarks of the source, see "
          "`head_region`), worst frame: the animation against the photo; the anchor — the photo written as a still "
          f"2 s clip by bian's own video writer (same encoder, crf {CRF}, chroma 4:2:0, or 4:4:4 for odd sizes) — "
          "against the photo, i.e. what the codec alone costs; and every frame of the animation against its first "
          "frame (whether the background changes over time).\n")
    print("| photo | size | animation vs photo | anchor: still clip vs photo | animation vs its first frame |")
    print("|---|---|---|---|---|")
    from bian.animate.output import frame_times, write_video
    from fractions import Fraction
    for photo in PORTRAITS:
        src8 = (to_float(read_image(photo)[0].image) * 255 + 0.5).astype(np.uint8)
        lm0 = dl.landmarks(src8, detect_faces(src8, landmarks=None)[0].box)
        out = TMP / f"default_{photo.stem}.mp4"
        if lm0 is None or not out.exists():
            print(f"| {photo.name} | run the identity part first | | | |")
            continue
        still = TMP / f"bianstill_{photo.stem}.mp4"
        h, w = src8.shape[:2]
        write_video((src8 for _ in range(50)), frame_times(50, Fraction(25)), still, w, h, Fraction(1, 25),
                    Fraction(25), crf=CRF)
        mask = ~head_region(lm0, src8.shape)
        frames = decode(out)
        bg = min(psnr(f[mask], src8[mask]) for f in frames)
        first = min(psnr(f[mask], frames[0][mask]) for f in frames[1:])
        anchor = min(psnr(f[mask], src8[mask]) for f in decode(still))
        print(f"| {photo.name} | {w}×{h} | {bg:.1f} dB | {anchor:.1f} dB | {first:.1f} dB |")


GROUPS = {"jaw": slice(0, 17), "brows": slice(17, 27), "nose": slice(27, 36), "eyes": slice(36, 48),
          "mouth": slice(48, 68)}


def bench_jitter(dl: Dlib) -> None:
    print(f"\n### dlib's own jitter: the photo as a still 2 s H.264 clip (FFmpeg, crf {CRF}), tracked as above\n")
    print("Largest frame-to-frame jump of dlib's landmarks per group on a clip where nothing moves: the "
          "measuring noise that the 'max jump' columns above include.\n")
    print("| photo | eye distance | " + " | ".join(GROUPS) + " |")
    print("|---|---|" + "---|" * len(GROUPS))
    for photo in PORTRAITS:
        src8 = (to_float(read_image(photo)[0].image) * 255 + 0.5).astype(np.uint8)
        lm0 = dl.landmarks(src8, detect_faces(src8, landmarks=None)[0].box)
        if lm0 is None:
            continue
        jumps = np.linalg.norm(np.diff(track(dl, decode(still_clip(photo)), lm0), axis=0), axis=-1)
        print(f"| {photo.name} | {iod(lm0):.0f} px | " +
              " | ".join(f"{np.nanmax(jumps[:, g]):.2f} px" for g in GROUPS.values()) + " |")


def known_motion(dl: Dlib, src8: np.ndarray, lm0: np.ndarray, name: str, frames: int) -> tuple[np.ndarray, np.ndarray]:
    """dlib on a clip whose true motion is known: the photo turned, shifted and scaled as a whole by a smooth
    path (up to 0.08 eye distances, 1.5°, 1.5 %, 25 fps), written by bian's own video writer at its default
    settings, like the animations. Returns dlib's landmarks and the true ones, both (frames, 68, 2) pixels."""
    from fractions import Fraction
    from bian.animate.output import frame_times, write_video
    h, w = src8.shape[:2]
    t = np.arange(frames) / 25
    d = iod(lm0)
    centre = lm0.mean(0)
    out = TMP / f"moving_{name}_{frames}.mp4"
    truth, pictures = [], []
    for k in range(frames):
        phase = np.pi * t[k]
        m = cv2.getRotationMatrix2D(tuple(centre), 1.5 * np.sin(phase), 1 + 0.015 * np.sin(0.5 * phase))
        m[:, 2] += 0.08 * d * np.array([np.sin(phase), 0.5 * np.sin(1.5 * phase)])
        pictures.append(cv2.warpAffine(src8, m, (w, h), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT101))
        truth.append(lm0 @ m[:, :2].T + m[:, 2])
    if out not in MADE:
        write_video(iter(pictures), frame_times(frames, Fraction(25)), out, w, h, Fraction(1, 25), Fraction(25),
                    crf=CRF)
        MADE[out] = {}
    return track(dl, decode(out), lm0), np.array(truth)


def bench_instrument(dl: Dlib) -> None:
    """Which dlib reading to trust: both instruments on clips whose truth is known."""
    print("\n### The measuring instrument: dlib on a known rigid motion (50 frames, bian's writer, crf "
          f"{CRF})\n")
    print("The photo turned, shifted and scaled as a whole (`known_motion`): its eye aspect ratio does not change "
          "and every landmark's true path is the source reading moved by the known transform. EAR deviation: "
          "largest |EAR − source EAR| / source EAR over the frames, and its standard deviation; position error: "
          "mean distance to the true path; step error: largest |measured − true frame-to-frame step|; eye "
          "distances. What is left is the instrument's own noise (codec, interpolation, its box and pixels).\n")
    print("| photo | instrument | EAR deviation max / sd | position error mean | step error max | ms per frame |")
    print("|---|---|---|---|---|---|")
    for photo in PORTRAITS:
        src8 = _u8(to_float(read_image(photo)[0].image))
        lm0 = dl.landmarks(src8, detect_faces(src8, landmarks=None)[0].box)
        if lm0 is None:
            continue
        t = time.process_time()
        lms, truth = known_motion(dl, src8, lm0, photo.stem, 50)
        ms = (time.process_time() - t) / 50 * 1000
        e0, ear = np.mean(eye_aspect(lm0)), np.nanmean(eye_aspect(lms), -1)
        d = iod(lm0)
        step_err = np.abs(steps(lms) - steps(truth))
        print(f"| {photo.name} | {'steady' if dl.steady else 'old'} | {np.nanmax(np.abs(ear - e0)) / e0:.1%} / "
              f"{np.nanstd(ear) / e0:.1%} | {np.nanmean(np.linalg.norm(lms - truth, axis=-1)) / d:.3f} iod | "
              f"{np.nanmax(step_err) / d:.3f} iod | {ms:.0f} |")


def steps(lms: np.ndarray) -> np.ndarray:
    """Frame-to-frame displacement of every point, (n − 1, 68) pixels (NaN where dlib missed a frame)."""
    return np.linalg.norm(np.diff(lms, axis=0), axis=-1)


def bench_smooth(dl: Dlib) -> None:
    from scipy.stats import mannwhitneyu
    print("\n### Smoothness per landmark group (the default animations above, seed 1)\n")
    print("Excess: per frame pair, the largest |dlib's jump − the planned jump| over the group's points (planned: the "
          "engine's landmarks moved by the same fields, lids and lips). (1) Against a known smooth motion: the "
          "largest excess on the output / the largest on a clip of the photo moved as a whole along a known smooth "
          "path, as many frames long and written by the same writer (`known_motion`, dlib against the true jumps). "
          "(2) Where the engine moves: the frame pairs split in halves by the planned speed of the group's points; "
          "the largest excess on the faster half / on the slower half (where the engine hardly moves those "
          "points: the photo's own dlib noise under the same codec and expressions), and the one-sided "
          "Mann–Whitney p that the faster half's excess is larger (a jump made by the motion would show there).\n")
    print("| photo | " + " | ".join(f"{g}: output / known motion; fast / slow half, p" for g in GROUPS) +
          " | planned step max |")
    print("|---|" + "---|" * len(GROUPS) + "---|")
    held = np.zeros(2, int)
    total = 0
    for photo in PORTRAITS:
        image = to_float(read_image(photo)[0].image)
        src8 = (image * 255 + 0.5).astype(np.uint8)
        faces = detect_faces(image, landmarks="68")
        lm0 = dl.landmarks(src8, faces[0].box)
        out = TMP / f"default_{photo.stem}.mp4"
        if lm0 is None or not out.exists():
            print(f"| {photo.name} | run the identity part first |" + " |" * len(GROUPS))
            continue
        frames = decode(out)
        measured = track(dl, frames, lm0)
        moved, truth = known_motion(dl, src8, lm0, photo.stem, len(frames))
        renderer = Renderer(image, [build_rig(faces[0].landmarks, image)])
        motion = preset_motion(parse_motions(None), len(frames), 25.0, 1, 0)
        planned = np.array([renderer.landmark_positions([motion.at(i)])[0] for i in range(len(frames))])
        cells = []
        for g in GROUPS.values():
            total += 1
            excess = np.nanmax(np.abs(steps(measured[:, g]) - steps(planned[:, g])), axis=1)
            known = np.nanmax(np.abs(steps(moved[:, g]) - steps(truth[:, g])))
            order = np.argsort(steps(planned[:, g]).max(1))
            slow, fast = excess[order[:len(order) // 2]], excess[order[-(len(order) // 2):]]
            slow, fast = slow[~np.isnan(slow)], fast[~np.isnan(fast)]
            p = mannwhitneyu(fast, slow, alternative="greater").pvalue
            held += [np.nanmax(excess) <= known, p >= 0.05]
            cells.append(f"{np.nanmax(excess):.1f} / {known:.1f}; {fast.max():.1f} / {slow.max():.1f}, {p:.2f}")
        print(f"| {photo.name} | " + " | ".join(cells) + f" | {np.nanmax(steps(planned)):.1f} |")
    print(f"\nGroups whose largest excess is within the known-motion clip's: {held[0]}/{total}; groups where the "
          f"faster half shows no larger excess (p ≥ 0.05): {held[1]}/{total}.")


def bench_driving(dl: Dlib) -> None:
    print("\n### Driving video (relative motion; correlation of dlib landmark motion, driving vs output)\n")
    print("Correlation of the landmark displacements from the first frame (all 68 points, x and y), the driving "
          "face's turned and scaled to the photo face's frame. Also: the engine's planned landmark motion (its own "
          "fields, lids and lips) against the driving motion (how faithfully it transfers) and dlib on the output "
          "against that plan (how well dlib follows the output: its jitter is the remainder).\n")
    print("| photo | driving | frames | correlation all | head (mean point) x / y | expression (after removing "
          "head similarity) | plan vs driving | output vs plan | audio kept |")
    print("|---|---|---|---|---|---|---|---|---|")
    driving_landmarks = {}
    for photo in (ANIMATE / "source.png", ANIMATE / "s0.jpg", SHARED / "data/photos/old/h.png"):
        for drive in (ANIMATE / "driving.mp4", ANIMATE / "d0.mp4"):
            src = to_float(read_image(photo)[0].image)
            lm0 = dl.landmarks(src)
            out, _ = animate(photo, f"drive_{photo.stem}_{drive.stem}", driving=drive, audio=drive.name == "driving.mp4",
                             face=0, engine="offline")
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
            rig = build_rig(detect_faces(src, landmarks="68")[0].landmarks, src)
            motion = read_driving(drive).motion_for(rig)
            renderer = Renderer(src, [rig])
            planned = np.array([renderer.landmark_positions([motion.at(i)])[0] for i in range(n)])
            pm = planned - planned[0]
            c_plan = np.corrcoef(dm[ok].ravel(), pm[ok].ravel())[0, 1]
            c_out = np.corrcoef(pm[ok].ravel(), om[ok].ravel())[0, 1]
            with av.open(str(out)) as c:
                has_audio = bool(c.streams.audio)
            print(f"| {photo.name} | {drive.name} | {ok.sum()}/{n} | {corr:.3f} | {cx:.3f} / {cy:.3f} | {ce:.3f} | "
                  f"{c_plan:.3f} | {c_out:.3f} | {'yes' if has_audio else 'no'} |")


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


def _cpu() -> float:
    """CPU seconds (user + system) of this process and its finished children so far."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def bench_speed() -> None:
    print("\n### Speed: 6 s, 25 fps, 512×512 (source.png resized), default motions, whole call\n")
    print("Wall time and CPU time (user + system, all threads) of `bian.animate` (read, detect, rig, 150 frames, "
          f"H.264 crf {CRF}) and of the anchor, FFmpeg encoding the still photo as the same 6 s of H.264; OpenCV "
          "limited to 2 threads, x264 picks its own threads on both sides. Load average (1 min) before each run.\n")
    src = TMP / "source512.png"
    img = cv2.imread(str(ANIMATE / "source.png"))
    cv2.imwrite(str(src), cv2.resize(img, (512, 512), interpolation=cv2.INTER_AREA))
    cv2.setNumThreads(2)
    anchor = ["ffmpeg", "-v", "error", "-y", "-loop", "1", "-i", str(src), "-t", "6", "-r", "25", "-c:v",
              "libx264", "-crf", str(CRF), "-pix_fmt", "yuv420p", str(TMP / "still.mp4")]
    rows = []
    for name, run in (("bian animate #1", lambda: bian.animate(src, TMP / "speed.mp4")),
                      ("ffmpeg -loop 1 (anchor)", lambda: subprocess.run(anchor, check=True)),
                      ("bian animate #2", lambda: bian.animate(src, TMP / "speed.mp4"))):
        load = os.getloadavg()[0]
        t, c = time.perf_counter(), _cpu()
        run()
        rows.append((name, time.perf_counter() - t, _cpu() - c, load))
    wall_anchor, cpu_anchor = rows[1][1], rows[1][2]
    print("| run | wall s | CPU s (user+sys) | wall / anchor | CPU / anchor | load avg before |")
    print("|---|---|---|---|---|---|")
    for name, wall, cpu, load in rows:
        print(f"| {name} | {wall:.1f} | {cpu:.1f} | {wall / wall_anchor:.1f}× | {cpu / cpu_anchor:.1f}× | "
              f"{load:.2f} |")
    print(f"\n{os.cpu_count()} cores; `uptime` after: {subprocess.run(['uptime'], capture_output=True, text=True).stdout.strip()}")


def bench_sheet() -> None:
    """Contact sheet for the docs (docs/img/animate_contact.jpg): 8 evenly spaced frames of the default
    animations of the identity table (seed 1) and of source.png driven by driving.mp4, cropped around face 0:
    the files those parts wrote (a photo whose file is missing is left out)."""
    rows = []
    for photo in (ANIMATE / "source.png", ANIMATE / "s0.jpg", ANIMATE / "s9.jpg", FACES / "Blake_Lively.jpg",
                  FACES / "10045.png", OLD / "a.png", OLD / "h.png", OLD / "g.png", "driving"):
        if photo == "driving":
            photo, out = ANIMATE / "source.png", TMP / "drive_source_driving.mp4"
        else:
            out = TMP / f"default_{photo.stem}.mp4"
        if not out.exists():
            print(f"contact sheet: {out.name} missing, {photo.name} left out")
            continue
        frames = decode(out)
        src = to_float(read_image(photo)[0].image)
        x0, y0, x1, y1 = detect_faces(src, landmarks=None)[0].box
        s = (x1 - x0) * 0.9
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        box = [int(max(0, cx - s)), int(max(0, cy - 1.1 * s)), int(cx + s), int(cy + 0.9 * s)]
        picks = np.linspace(0, len(frames) - 1, 8).astype(int)
        crops = [cv2.resize(frames[i][box[1]:box[3], box[0]:box[2]], (112, 112), interpolation=cv2.INTER_AREA)
                 for i in picks]
        rows.append(np.concatenate(crops, 1))
    sheet = np.concatenate(rows, 0)
    target = ROOT / "docs" / "img" / "animate_contact.jpg"
    cv2.imwrite(str(target), sheet[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, 80])
    print(f"\ncontact sheet written to {target.relative_to(ROOT)} ({target.stat().st_size // 1024} KiB)")


def main(argv: list[str]) -> None:
    global PORTRAITS, CRF, TMP
    if "--help" in argv or "-h" in argv:
        print(__doc__)
        return
    instruments = ["old", "steady"]
    if "--photos" in argv:   # a subset by file name, e.g. --photos a.png,h.png (to split a run)
        k = argv.index("--photos")
        names = set(argv[k + 1].split(","))
        PORTRAITS = [p for p in PORTRAITS if p.name in names]
        argv = argv[:k] + argv[k + 2:]
    if "--crf" in argv:   # outputs at another crf than bian's default (files under bench-animate/crfN)
        k = argv.index("--crf")
        CRF = int(argv[k + 1])
        TMP = TMP / f"crf{CRF}"
        argv = argv[:k] + argv[k + 2:]
    if "--instrument" in argv:   # old, steady or both (default): see `Dlib`
        k = argv.index("--instrument")
        instruments = argv[k + 1].split(",")
        argv = argv[:k] + argv[k + 2:]
    parts = argv or ["instrument", "blink", "realblink", "probe", "smile", "identity", "background", "jitter",
                     "smooth", "driving", "speed", "sheet"]
    TMP.mkdir(exist_ok=True)
    meters = [Dlib(steady=name == "steady") for name in instruments]
    for part in parts:
        if part in ("speed", "sheet"):
            {"speed": bench_speed, "sheet": bench_sheet}[part]()
            continue
        for dl in meters:
            print(f"\n#### {part}, {'steady' if dl.steady else 'old'} instrument")
            {"blink": bench_blink, "smile": bench_smile, "identity": bench_identity_smooth, "jitter": bench_jitter,
             "background": bench_background, "probe": bench_probe, "realblink": bench_real_blink,
             "smooth": bench_smooth, "driving": bench_driving, "instrument": bench_instrument}[part](dl)


if __name__ == "__main__":
    main(sys.argv[1:])
