"""Faces benchmark: detection counts, landmark jitter with/without tracking, multi-frame fusion vs
single-frame restoration, identity distance of restored faces.

    BIAN_MODEL_DIR=../shared/weights python benchmarks/bench_faces.py [detect|track|fusion|identity|crops|adapt ...]

``adapt`` compares the offline enhancement of today's code with the one at commit ``$BIAN_FACES_BEFORE``
(default bf40023, main before the adaptive enhancement) on clean faces (how little they change) and on the same faces with
known damage (how much they gain), dev and held-out pictures reported apart.

Uses ../shared (or $BIAN_SHARED). Prints markdown tables for docs/BENCHMARKS.md.
"""
from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
from PIL import Image
from skimage.metrics import structural_similarity

sys.path.insert(0, str(Path(__file__).resolve().parent))
from damage import add_grain, load_frames, psnr  # noqa: E402

from bian.faces import detect_faces, identity  # noqa: E402
from bian.faces.enhance import enhance_face, face_region, noise_sigma  # noqa: E402
from bian.faces.fusion import align_neighbour, fuse  # noqa: E402
from bian.faces.paste import face_outline  # noqa: E402
from bian.faces import restore as restore_module  # noqa: E402
from bian.faces.paste import soft_mask  # noqa: E402
from bian.faces.restore import Settings, restore_faces  # noqa: E402
from bian.faces.track import landmark_jitter, link, smooth  # noqa: E402

SHARED = Path(os.environ.get("BIAN_SHARED", Path(__file__).resolve().parents[1].parent / "shared"))

# Faces counted by eye: clearly visible human faces (frontal or three-quarter, eyes visible).
EXPECTED = {
    "faces/00.jpg": 2, "faces/10045.png": 3, "faces/Blake_Lively.jpg": 2, "faces/Solvay_conference_1927.png": 29,
    "photos/old/a.png": 1, "photos/old/b.png": 1, "photos/old/c.png": 1, "photos/old/g.png": 1,
    "photos/old/h.png": 1, "photos/scratched/a.png": 1, "photos/scratched/b.png": 1, "photos/scratched/c.png": 1,
    "photos/scratched/d.png": 2,
    "photos/historical/Einstein, Rejection, and Crafting a Future.jpeg": 1,
    "photos/historical/Louis Armstrong practicing in his dressing room, ca 1946.jpg": 1,
    "photos/historical/colorized-historical-photos-vintage-photography-39.jpg": 1,
    "photos/historical/February 1936. Nipomo, Calif. Destitute pea pickers living in tent in migrant camp. "
    "Mother of seven children. Age 32.jpg": 1,
    "photos/historical/Audrey Hepburn.jpg": 1,
}


def read(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"), np.float32) / 255.0


def matched(found, truth_count):
    return min(len(found), truth_count)


def bench_detect():
    print("\n### Detection: found / expected per picture\n")
    print("| picture | expected | YuNet found | dlib HOG found | YuNet s | dlib s |")
    print("|---|---:|---:|---:|---:|---:|")
    tot = {"y": 0, "d": 0, "e": 0}
    for name, expected in EXPECTED.items():
        image = read(SHARED / "data" / name)
        t = time.perf_counter()
        y = detect_faces(image, backend="yunet", landmarks=None)
        ty = time.perf_counter() - t
        t = time.perf_counter()
        d = detect_faces(image, backend="dlib", landmarks=None)
        td = time.perf_counter() - t
        tot["y"] += matched(y, expected)
        tot["d"] += matched(d, expected)
        tot["e"] += expected
        short = name if len(name) < 48 else name[:45] + "…"
        print(f"| {short} | {expected} | {len(y)} | {len(d)} | {ty:.2f} | {td:.2f} |")
    print(f"| **recall (min(found, expected) summed)** | {tot['e']} | {tot['y']} ({tot['y'] / tot['e']:.0%}) | "
          f"{tot['d']} ({tot['d'] / tot['e']:.0%}) | | |")


def bench_track(frames=90, radius=4, sigma=2.0):
    print(f"\n### Tracking: landmark jitter (68 points, global similarity motion removed, ÷ eye distance), "
          f"{frames} frames, window ±{radius}, σ {sigma}\n")
    print("| clip | raw jitter | smoothed jitter | ratio |")
    print("|---|---:|---:|---:|")
    for clip in ("animate/d0.mp4", "animate/driving.mp4"):
        video = load_frames(SHARED / "data" / clip, count=frames)
        linked = link([detect_faces(f) for f in video])
        tid = linked[0][0].track_id
        raw, smoothed = [], []
        for c in range(len(linked)):
            lo, hi = max(0, c - radius), min(len(linked), c + radius + 1)
            faces = [f for f in linked[c] if f.track_id == tid]
            if not faces:
                continue
            raw.append(faces[0].landmarks)
            smoothed.append([f for f in smooth(linked[lo:hi], c - lo, sigma) if f.track_id == tid][0].landmarks)
        a, b = landmark_jitter([np.stack(raw)]), landmark_jitter([np.stack(smoothed)])
        print(f"| {clip} ({len(raw)} frames tracked) | {a:.4f} | {b:.4f} | {a / b:.1f}× |")


def degrade(frames: np.ndarray, seed: int = 7) -> np.ndarray:
    """Blur (σ 1.2 px) then heavy film grain (benchmarks/damage.py)."""
    blurred = np.stack([cv2.GaussianBlur(f, (0, 0), 1.2) for f in frames])
    return add_grain(blurred, np.random.default_rng(seed), "heavy")


SAME = dict(keep_texture=0.0, sharpen=0.4, grain_kept=0.0)
"""Enhancement settings for both the single-frame and the fused result, so only fusion differs (no grain
put back: a deliberate departure from the clean frame; none kept, as the stage does on film)."""


def bench_fusion(clip="animate/d0.mp4", centres=(10, 30, 50), radius=3):
    print(f"\n### Multi-frame fusion: {clip}, blur σ 1.2 + heavy grain, face region, window ±{radius}\n")
    clean_all = load_frames(SHARED / "data" / clip, count=max(centres) + radius + 1)
    noisy_all = degrade(clean_all)
    rows = {k: [] for k in ("degraded", "single: nl-means", "single: bian enhance", "fusion + bian enhance")}
    for c in centres:
        faces = detect_faces(clean_all[c])
        face = faces[0]
        lm = face.landmarks
        x0, y0, x1, y1 = face_region(clean_all[c].shape[:2], face_outline(lm))
        clean = clean_all[c, y0:y1, x0:x1]
        noisy = noisy_all[c, y0:y1, x0:x1]
        lm_crop = lm - (x0, y0)
        sigma = noise_sigma(noisy)
        u8 = (noisy * 255 + .5).astype(np.uint8)
        h = float(sigma * 255 * 1.2)
        nlm = cv2.fastNlMeansDenoisingColored(u8, None, h, h, 5, 15).astype(np.float32) / 255
        single = enhance_face(noisy, lm_crop, sigma, **SAME)
        # neighbours: landmarks found on the degraded frames (what the stage sees)
        aligned, tw = [], []
        for t in range(c - radius, c + radius + 1):
            if t == c:
                continue
            found = detect_faces(noisy_all[t])
            if found:
                aligned.append(align_neighbour(noisy_all[t], found[0].landmarks, lm, noisy, (x0, y0, x1, y1)))
                tw.append(float(np.exp(-0.5 * ((t - c) / 2.5) ** 2)))
        fused, support = fuse(noisy, aligned, sigma, tw)
        fused_out = enhance_face(fused, lm_crop, sigma / np.sqrt(max(np.median(support), 1)), **SAME)
        for key, img in zip(rows, (noisy, nlm, single, fused_out)):
            p = psnr(np.clip(img, 0, 1), clean)
            s = structural_similarity(np.clip(img, 0, 1), clean, channel_axis=2, data_range=1.0)
            d = identity.distance(np.clip(img, 0, 1), clean, lm_crop)
            rows[key].append((p, s, d))
    print("| method | PSNR dB | SSIM | identity distance to clean |")
    print("|---|---:|---:|---:|")
    for key, vals in rows.items():
        v = np.mean(vals, axis=0)
        print(f"| {key} | {v[0]:.2f} | {v[1]:.4f} | {v[2]:.4f} |")
    print(f"\n(mean over centre frames {list(centres)})")


def bench_identity():
    print("\n### Identity: dlib descriptor distance, input face → restored face (offline path, guard 0.35)\n")
    print("| picture | faces restored | max distance | guard blends | every face's distance |")
    print("|---|---:|---:|---:|---|")
    worst = 0.0
    for name in EXPECTED:
        image = read(SHARED / "data" / name)
        faces = detect_faces(image)
        _, reports = restore_faces([image], 0, faces)
        dists = [r["identity"]["final"] for r in reports if "identity" in r]
        blends = sum(1 for r in reports if "identity" in r and r["identity"]["blend"] < 1)
        if dists:
            worst = max(worst, max(dists))
            short = name if len(name) < 48 else name[:45] + "…"
            every = " ".join(f"{d:.2f}" for d in dists)
            print(f"| {short} | {len(dists)} | {max(dists):.3f} | {blends} | {every} |")
    print(f"\nworst face: {worst:.3f} (bar: ≤ 0.4)")


def _side_by_side(before: np.ndarray, after: np.ndarray, box, path: Path, zoom: int = 2) -> None:
    x0, y0, x1, y1 = box
    pair = np.concatenate([before[y0:y1, x0:x1], after[y0:y1, x0:x1]], axis=1)
    pair = cv2.resize(pair, None, fx=zoom, fy=zoom, interpolation=cv2.INTER_NEAREST)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray((np.clip(pair, 0, 1) * 255 + 0.5).astype(np.uint8)).save(path)


def bench_crops(out=Path("bench-out/faces")):
    """Before/after crops through the real CLI (`bian restore --faces`): a photo and a degraded film clip
    from ../shared go to bench-out/ (not committed: shared material stays out of git); the public-domain
    astronaut portrait shipped with scikit-image goes to docs/img/."""
    from bian.cli import main
    from skimage.data import astronaut
    print("\n### Before/after crops\n")
    for name, box in (("photos/old/g.png", (220, 140, 440, 380)),
                      ("faces/Solvay_conference_1927.png", (660, 150, 900, 300))):
        src = SHARED / "data" / name
        dst = out / (Path(name).stem + "_restored.png")
        dst.parent.mkdir(parents=True, exist_ok=True)
        t = time.perf_counter()
        assert main(["restore", str(src), "-o", str(dst), "--faces", "-q"]) == 0
        _side_by_side(read(src), read(dst), box, out / (Path(name).stem + "_before_after.png"))
        print(f"- `bian restore {name} --faces`: {time.perf_counter() - t:.1f} s → {out}/{Path(name).stem}_before_after.png")
    clean = load_frames(SHARED / "data" / "animate/d0.mp4", count=25)
    film = out / "d0_degraded.mp4"
    import av
    with av.open(str(film), "w") as container:
        stream = container.add_stream("libx264", rate=25, options={"crf": "12"})
        stream.width, stream.height, stream.pix_fmt = clean.shape[2], clean.shape[1], "yuv420p"
        for f in degrade(clean):
            container.mux(stream.encode(av.VideoFrame.from_ndarray((f * 255 + .5).astype(np.uint8), format="rgb24")))
        container.mux(stream.encode())
    t = time.perf_counter()
    assert main(["restore", str(film), "-o", str(out / "d0_restored.mp4"), "--faces", "-q"]) == 0
    restored = load_frames(out / "d0_restored.mp4")
    degraded = load_frames(film)
    box = face_region(clean.shape[1:3], face_outline(detect_faces(clean[12])[0].landmarks))
    _side_by_side(degraded[12], restored[12], box, out / "d0_frame12_before_after.png")
    print(f"- `bian restore d0_degraded.mp4 --faces` (25 frames, blur + heavy grain): "
          f"{time.perf_counter() - t:.1f} s → {out}/d0_frame12_before_after.png")
    portrait = astronaut().astype(np.float32) / 255
    old = 0.25 + 0.55 * degrade(portrait[None])[0].mean(axis=2, keepdims=True).repeat(3, 2)  # grey, faded, grainy
    faces = detect_faces(old)
    restored, _ = restore_faces([old], 0, faces)
    docs = Path(__file__).resolve().parents[1] / "docs" / "img" / "faces_astronaut_before_after.png"
    _side_by_side(old, restored, (150, 40, 300, 210), docs)
    print(f"- astronaut (scikit-image, public domain), greyed, faded, blurred, grain added → {docs.name}")


ADAPT_DIRS = ("photos/historical", "faces", "photos/old")

DAMAGE = {
    "grain light": lambda x, rng: add_grain(x[None], rng, "light")[0],
    "grain heavy": lambda x, rng: add_grain(x[None], rng, "heavy")[0],
    "blur σ1": lambda x, rng: cv2.GaussianBlur(x, (0, 0), 1.0),
    "blur σ2": lambda x, rng: cv2.GaussianBlur(x, (0, 0), 2.0),
    "down ×2": lambda x, rng: _down_up(x, 2),
    "down ×3": lambda x, rng: _down_up(x, 3),
    "jpeg q40": lambda x, rng: _jpeg(x, 40),
    "jpeg q20": lambda x, rng: _jpeg(x, 20),
    "blur σ1.2 + grain heavy": lambda x, rng: add_grain(cv2.GaussianBlur(x, (0, 0), 1.2)[None], rng, "heavy")[0],
}
"""Known damage applied to a clean face and its surroundings (float32 H×W×3 in [0, 1])."""


def _down_up(x: np.ndarray, factor: int) -> np.ndarray:
    h, w = x.shape[:2]
    small = cv2.resize(x, (max(1, w // factor), max(1, h // factor)), interpolation=cv2.INTER_AREA)
    return np.clip(cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC), 0, 1)


def _jpeg(x: np.ndarray, quality: int) -> np.ndarray:
    ok, buf = cv2.imencode(".jpg", (np.clip(x, 0, 1) * 255 + 0.5).astype(np.uint8), [cv2.IMWRITE_JPEG_QUALITY, quality])
    return cv2.imdecode(buf, cv2.IMREAD_UNCHANGED).astype(np.float32) / 255


def _adapt_faces(per_picture: int = 6, min_size: float = 40.0):
    """(picture name, context crop, the face in it, half) for every picture with faces of ``min_size`` px and
    up; half is "dev" for even-numbered pictures, "held-out" for odd ones. Many faces of one picture are
    thinned to ``per_picture`` evenly spread by size, so one group photo does not outweigh the rest."""
    out, k = [], 0
    for sub in ADAPT_DIRS:
        for path in sorted((SHARED / "data" / sub).iterdir()):
            image = read(path)
            faces = [f for f in detect_faces(image) if f.landmarks is not None and len(f.landmarks) == 68
                     and f.size >= min_size]
            if not faces:
                continue
            faces = [faces[i] for i in np.unique(np.linspace(0, len(faces) - 1, per_picture).round().astype(int))]
            half = "dev" if k % 2 == 0 else "held-out"
            k += 1
            for face in faces:
                # context: twice the face region, so the stage's paste and colour match see real surroundings
                x0, y0, x1, y1 = face_region(image.shape[:2], face_outline(face.landmarks), margin=0.6)
                shift = np.array([x0, y0], np.float32)
                moved = face.replace(box=face.box - np.tile(shift, 2), points5=face.points5 - shift,
                                     landmarks=face.landmarks - shift)
                out.append((f"{sub}/{path.name}", image[y0:y1, x0:x1].copy(), moved, half))
    return out


def _module_at(commit: str):
    """src/bian/faces/enhance.py as it was at ``commit``, imported as a separate module."""
    root = Path(__file__).resolve().parents[1]
    text = subprocess.run(["git", "show", f"{commit}:src/bian/faces/enhance.py"], cwd=root, check=True,
                          capture_output=True, text=True).stdout
    path = Path(tempfile.mkdtemp()) / "enhance_before.py"
    path.write_text(text)
    spec = importlib.util.spec_from_file_location("enhance_before", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _restore(context: np.ndarray, face, enhance=None) -> np.ndarray:
    """The stage's per-face path on one picture (identity guard off, so only the enhancement differs);
    ``enhance`` = a module providing enhance_face and noise_sigma, None for today's."""
    saved = restore_module.enhance_face, restore_module.noise_sigma
    if enhance is not None:
        def before(crop, landmarks, sigma, keep_texture, sharpen, grain_kept):
            # that code kept no grain as such, and the stage also asked for local contrast (its default 0.15)
            return enhance.enhance_face(crop, landmarks, sigma, keep_texture, sharpen, 0.15)
        restore_module.enhance_face, restore_module.noise_sigma = before, enhance.noise_sigma
    try:
        return restore_faces([context], 0, [face], settings=Settings(guard=None))[0]
    finally:
        restore_module.enhance_face, restore_module.noise_sigma = saved


def _detail(image: np.ndarray, inside: np.ndarray) -> float:
    """Fine detail: σ of luminance minus its Gaussian blur (σ 1 px) over ``inside``."""
    y = image.mean(axis=2)
    return float(np.std((y - cv2.GaussianBlur(y, (0, 0), 1.0))[inside]))


def bench_adapt(before: str = os.environ.get("BIAN_FACES_BEFORE", "bf40023"), halves=("dev", "held-out")):
    old = _module_at(before)
    faces = _adapt_faces()
    methods = {f"before ({before})": old, "after (this tree)": None}
    print(f"\n### Offline face enhancement adapts to the damage: {len(faces)} faces of "
          f"{len({n for n, *_ in faces})} pictures in {', '.join(ADAPT_DIRS)}\n")
    print("Clean faces as they are (the output should differ little; PSNR capped at 60 dB, so an untouched face "
          "counts 60; detail = σ of the 1-px high-pass, out/in):\n")
    print("| half | faces | method | PSNR out vs in dB (mean / min) | detail out/in (mean / min / max) |")
    print("|---|---:|---|---:|---:|")
    for half in halves:
        subset = [f for f in faces if f[3] == half]
        for label, module in methods.items():
            rows = []
            for _, context, face, _ in subset:
                x0, y0, x1, y1 = face_region(context.shape[:2], face_outline(face.landmarks))
                inside = soft_mask((y1 - y0, x1 - x0), face_outline(face.landmarks) - (x0, y0), 4) > 0.5
                out = _restore(context, face, module)[y0:y1, x0:x1]
                src = context[y0:y1, x0:x1]
                rows.append((min(psnr(out, src), 60.0), _detail(out, inside) / _detail(src, inside)))
            r = np.array(rows)
            print(f"| {half} | {len(r)} | {label} | {r[:, 0].mean():.2f} / {r[:, 0].min():.2f} | "
                  f"{r[:, 1].mean():.3f} / {r[:, 1].min():.3f} / {r[:, 1].max():.3f} |")
    print("\nDamaged faces (scores vs the clean face over its region; identity = dlib descriptor distance):\n")
    print("| half | damage | damaged PSNR / SSIM / id | before PSNR / SSIM / id | after PSNR / SSIM / id |")
    print("|---|---|---:|---:|---:|")
    for half in halves:
        subset = [f for f in faces if f[3] == half]
        total = []
        for d, (damage, fn) in enumerate(DAMAGE.items()):
            rows = []
            for i, (_, context, face, _) in enumerate(subset):
                damaged = np.clip(fn(context, np.random.default_rng(100 * d + i)), 0, 1).astype(np.float32)
                x0, y0, x1, y1 = face_region(context.shape[:2], face_outline(face.landmarks))
                clean, lm = context[y0:y1, x0:x1], face.landmarks - (x0, y0)
                row = []
                for pic in (damaged, _restore(damaged, face, old), _restore(damaged, face)):
                    crop = np.clip(pic[y0:y1, x0:x1], 0, 1)
                    row += [psnr(crop, clean), structural_similarity(crop, clean, channel_axis=2, data_range=1.0),
                            identity.distance(crop, clean, lm)]
                rows.append(row)
            v = np.mean(rows, axis=0)
            total.append(v)
            print(f"| {half} | {damage} | " + " | ".join(f"{v[j]:.2f} / {v[j + 1]:.3f} / {v[j + 2]:.3f}"
                                                        for j in (0, 3, 6)) + " |")
        v = np.mean(total, axis=0)
        print(f"| {half} | **mean of all damage** | " + " | ".join(f"**{v[j]:.2f} / {v[j + 1]:.3f} / {v[j + 2]:.3f}**"
                                                                 for j in (0, 3, 6)) + " |")


if __name__ == "__main__":
    parts = sys.argv[1:] or ["detect", "track", "fusion", "identity", "crops"]
    for part in parts:
        globals()[f"bench_{part}"]()
