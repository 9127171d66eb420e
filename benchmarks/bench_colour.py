"""Colourisation with a known answer: real colour pictures turned grey and coloured again, and colour
flicker on real black-and-white film.

    python benchmarks/bench_colour.py                    # every part
    python benchmarks/bench_colour.py --part hints       # or reference, auto, flicker, video

Pictures: every real colour photograph under ../shared/data (film frames coloured by the remastering
paper's authors, colour scans of old photos, face photos, interpolation frames, the animation
portraits) and the colour photographs shipped in scikit-image, each shrunk to at most 512 px.

* reference: a grey picture coloured from a *neighbouring frame* or *another view* of the same scene
  (the interpolation frame pairs, both ways, and scikit-image's stereo motorcycle pair), against the
  grey picture itself and against Reinhard et al.'s global colour transfer from the same reference
  (on a grey target it reduces to the reference's mean chroma under the kept luminance).
* hints: 10, 50 and 200 points at uniformly random positions (seeded), coloured with the truth there,
  propagated by bian's geodesic blending and by Levin et al.'s optimisation (bian's solver, 256 px).
* auto: the offline example-based fallback (DDColor weights cannot be fetched here), against grey;
  scikit-image's pictures are left out here because they are the fallback's examples.
* flicker: frames_002 (60 frames) coloured from one reference, a keyframe coloured by the hint
  strokes in benchmarks/data/frames_002_hints.json; each frame alone (radius 0) against the temporal
  stage (its default radius, or --radius), on the raw frames and after bian's deflicker stage.
  Flicker = mean |Δa| + |Δb| / 2 (Lab units) between consecutive output frames aligned by optical
  flow, over pixels whose flow passes a forward-backward check and that are not near black (L ≥ 10,
  where sRGB has no room for chroma); measured with Lab area-averaged to 320 px (chroma is seen at
  low resolution) and, for the record, at full size. Then real colour clips (animate/d0.mp4,
  driving.mp4) made grey: accuracy and flicker, each frame alone against the temporal stage.
* video: `bian restore remaster_clip.mp4 --colorize --reference <its four colour references> -o …`
  run as a user would (a subprocess, 2 threads); the output's frame count and timestamps are compared
  with the input's, and before/after stills of four shots go to docs/img/colour_remaster_before_after.jpg.

Scores: PSNR (dB) of the RGB picture; PSNR of the chroma alone (Cb, Cr of BT.601 YCbCr in [0, 1]);
SSIM (RGB); colourfulness (Hasler & Süsstrunk 2003, the truth's in brackets); seconds per picture.
"""
from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, PngImagePlugin

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))

from bian.colour import flow, lab, propagate  # noqa: E402
from bian.frame import Frame  # noqa: E402
from bian.pipeline.runner import apply_stage  # noqa: E402
from bian.stages.colourise import OPTIONS, Colourise  # noqa: E402

PngImagePlugin.MAX_TEXT_CHUNK = 1 << 26  # interp/one.png carries a large text chunk
DATA = HERE.parents[1] / "shared" / "data"
MAX_SIDE = 512
DARK = 10.0
"""Flicker is not measured where either frame is darker than this (L): sRGB holds almost no chroma
there, so film grain toggling a pixel between L 0 and 5 toggles its chroma whatever the colouriser does."""


def shrink(rgb: np.ndarray, side: int = MAX_SIDE) -> np.ndarray:
    h, w = rgb.shape[:2]
    s = min(1.0, side / max(h, w))
    if s < 1:
        rgb = cv2.resize(rgb, (round(w * s), round(h * s)), interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(rgb, dtype=np.float32)


def read(path: Path) -> np.ndarray:
    with Image.open(path) as img:
        return shrink(np.asarray(img.convert("RGB"), np.float32) / 255)


def skimage_pictures() -> dict[str, np.ndarray]:
    import skimage.data as data

    left, right, _ = data.stereo_motorcycle()
    return {"sk:astronaut": shrink(data.astronaut() / 255), "sk:chelsea": shrink(data.chelsea() / 255),
            "sk:coffee": shrink(data.coffee() / 255), "sk:rocket": shrink(data.rocket() / 255),
            "sk:motorcycle": shrink(left / 255)}


def colour_set() -> dict[str, np.ndarray]:
    names = (sorted((DATA / "film" / "remaster_refs").glob("*.png")) + sorted((DATA / "photos" / "old").glob("*.png"))
             + sorted((DATA / "photos" / "scratched").glob("*.png"))
             + [DATA / "faces" / n for n in ("00.jpg", "10045.png", "Blake_Lively.jpg")]
             + [DATA / "interp" / n for n in ("I0_0.png", "I1_0.png", "I2_0.png", "practical/i0.png", "one.png")]
             + [DATA / "animate" / n for n in ("s0.jpg", "s9.jpg", "source.png")])
    out = {str(p.relative_to(DATA)): read(p) for p in names}
    out.update(skimage_pictures())
    return out


def reference_pairs() -> list[tuple[str, np.ndarray, np.ndarray]]:
    import skimage.data as data

    pairs = [(f"interp/{a}", read(DATA / "interp" / a), read(DATA / "interp" / b)) for a, b in
             (("I0_0.png", "I0_1.png"), ("I1_0.png", "I1_1.png"), ("I2_0.png", "I2_1.png"),
              ("practical/i0.png", "practical/i1.png"), ("one.png", "two.png"))]
    left, right, _ = data.stereo_motorcycle()
    pairs.append(("sk:motorcycle (stereo)", shrink(left / 255), shrink(right / 255)))
    both = []
    for name, a, b in pairs:
        both += [(name + " →", a, b), (name + " ←", b, a)]
    return both


# -- metrics ---------------------------------------------------------------------------------------

def psnr(a, b) -> float:
    return float(10 * np.log10(1.0 / np.mean((np.asarray(a, np.float64) - b) ** 2)))


def chroma_psnr(a, b) -> float:
    def cbcr(rgb):
        r, g, bb = rgb[..., 0], rgb[..., 1], rgb[..., 2]
        return np.stack([-0.168736 * r - 0.331264 * g + 0.5 * bb, 0.5 * r - 0.418688 * g - 0.081312 * bb], -1)
    return psnr(cbcr(a), cbcr(b))


def ssim(a, b) -> float:
    from skimage.metrics import structural_similarity

    return float(structural_similarity(a, b, channel_axis=2, data_range=1.0))


def colourfulness(rgb) -> float:
    rgb = np.asarray(rgb, np.float64) * 255
    rg = rgb[..., 0] - rgb[..., 1]
    yb = 0.5 * (rgb[..., 0] + rgb[..., 1]) - rgb[..., 2]
    return float(np.hypot(rg.std(), yb.std()) + 0.3 * np.hypot(rg.mean(), yb.mean()))


def scores(out, truth) -> list[float]:
    return [psnr(out, truth), chroma_psnr(out, truth), ssim(out, truth), colourfulness(out)]


def grey_of(rgb) -> np.ndarray:
    return lab.merge(lab.luminance(rgb), np.zeros(rgb.shape[:2] + (2,), np.float32))


def run_stage(stage, rgb) -> np.ndarray:
    frame = Frame(np.ascontiguousarray(rgb, np.float32), Fraction(0), Fraction(1, 25), 0)
    return next(iter(apply_stage(stage, [frame]))).image


def table(title: str, rows: list[tuple[str, list[float], float | None]], truth_cf: float) -> None:
    print(f"\n{title}")
    print(f"| method | PSNR dB | chroma PSNR dB | SSIM | colourfulness (truth {truth_cf:.1f}) | s/picture |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, vals, sec in rows:
        print(f"| {name} | {vals[0]:.2f} | {vals[1]:.2f} | {vals[2]:.3f} | {vals[3]:.1f} | "
              f"{'' if sec is None else f'{sec:.2f}'} |")


# -- parts -----------------------------------------------------------------------------------------

def part_reference(tmp: Path) -> None:
    rows = {"grey (luminance only)": [], "Reinhard global transfer": [], "bian reference": []}
    seconds, truth_cf, per_pair = [], [], []
    for k, (name, target, ref) in enumerate(reference_pairs()):
        L = lab.luminance(target)
        ref_path = tmp / f"ref{k}.png"
        Image.fromarray((ref * 255 + 0.5).astype(np.uint8)).save(ref_path)
        mean_ab = lab.rgb_to_lab(ref)[..., 1:].reshape(-1, 2).mean(axis=0)
        reinhard = lab.merge(L, np.broadcast_to(mean_ab, L.shape + (2,)).astype(np.float32))
        start = time.perf_counter()
        ours = run_stage(Colourise(references=[ref_path], radius=0), grey_of(target))
        seconds.append(time.perf_counter() - start)
        rows["grey (luminance only)"].append(scores(grey_of(target), target))
        rows["Reinhard global transfer"].append(scores(reinhard, target))
        rows["bian reference"].append(scores(ours, target))
        truth_cf.append(colourfulness(target))
        per_pair.append((name, rows["Reinhard global transfer"][-1][0], rows["bian reference"][-1][0]))
    table(f"Reference mode: {len(per_pair)} pictures coloured from a neighbouring frame or another view (means)",
          [(n, list(np.mean(v, axis=0)), np.mean(seconds) if n == "bian reference" else None) for n, v in rows.items()],
          float(np.mean(truth_cf)))
    gain = np.mean([b - a for _, a, b in per_pair])
    print(f"\nbian reference − Reinhard: {gain:+.2f} dB on average; per pair (Reinhard → bian, dB):")
    print("; ".join(f"{n} {a:.1f} → {b:.1f}" for n, a, b in per_pair))


def _sample_hints(truth: np.ndarray, count: int, path: Path) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(count)
    h, w = truth.shape[:2]
    ys, xs = rng.integers(0, h, count), rng.integers(0, w, count)
    marks = [{"x": int(x), "y": int(y), "colour": [int(round(c * 255)) for c in truth[y, x]]} for y, x in zip(ys, xs)]
    path.write_text(json.dumps(marks))
    return ys, xs


def part_hints(tmp: Path, pictures: dict[str, np.ndarray]) -> None:
    truth_cf = float(np.mean([colourfulness(p) for p in pictures.values()]))
    grey_rows = [scores(grey_of(p), p) for p in pictures.values()]
    for count in (10, 50, 200):
        ours, levin, t_ours, t_levin, names = [], [], [], [], []
        for k, (name, truth) in enumerate(pictures.items()):
            path = tmp / f"hints{k}_{count}.json"
            ys, xs = _sample_hints(truth, count, path)
            start = time.perf_counter()
            out = run_stage(Colourise(hints=path, radius=0), grey_of(truth))
            t_ours.append(time.perf_counter() - start)
            ours.append(scores(out, truth))
            L = lab.luminance(truth)
            quantised = np.round(truth * 255) / 255  # the JSON carries 8-bit colours, as for bian
            ab = np.zeros(L.shape + (2,), np.float32)
            conf = np.zeros(L.shape, np.float32)
            ab[ys, xs] = lab.rgb_to_lab(quantised)[ys, xs, 1:]
            conf[ys, xs] = 100.0
            start = time.perf_counter()
            levin_out = lab.merge(L, propagate.propagate(L, ab, conf, size=256))
            t_levin.append(time.perf_counter() - start)
            levin.append(scores(levin_out, truth))
            names.append(name)
        table(f"Hint mode, {count} random points, {len(pictures)} pictures (means)",
              [("grey (luminance only)", list(np.mean(grey_rows, axis=0)), None),
               ("Levin et al. optimisation", list(np.mean(levin, axis=0)), float(np.mean(t_levin))),
               ("bian hints (geodesic blending)", list(np.mean(ours, axis=0)), float(np.mean(t_ours)))], truth_cf)
        if count == 50:
            print("\nPer picture, 50 points (bian PSNR dB): " + "; ".join(
                f"{n} {r[0]:.1f}" for n, r in zip(names, ours)))


def part_auto(pictures: dict[str, np.ndarray]) -> None:
    chosen = {n: p for n, p in pictures.items() if not n.startswith("sk:")}
    stage = Colourise(model="auto")
    print(f"\nAutomatic path taken: {stage.describe()['path']}")
    rows, grey_rows, seconds = [], [], []
    for truth in chosen.values():
        start = time.perf_counter()
        rows.append(scores(run_stage(stage, grey_of(truth)), truth))
        seconds.append(time.perf_counter() - start)
        grey_rows.append(scores(grey_of(truth), truth))
    table(f"Automatic mode, {len(chosen)} pictures (means)",
          [("grey (luminance only)", list(np.mean(grey_rows, axis=0)), None),
           ("bian automatic (offline fallback)", list(np.mean(rows, axis=0)), float(np.mean(seconds)))],
          float(np.mean([colourfulness(p) for p in chosen.values()])))


def _flicker(outputs: list[np.ndarray], size: int | None) -> float:
    """Mean |Δa| + |Δb| / 2 between flow-aligned consecutive frames, in Lab computed at full size and
    then (with ``size``) area-averaged to ``size`` px wide: averaging RGB first would mix grainy
    luminance into the chroma through the non-linear conversion and measure grain, not colour."""
    values = []
    for a, b in zip(outputs, outputs[1:]):
        la, lb = lab.rgb_to_lab(a), lab.rgb_to_lab(b)
        if size:
            la, lb = (cv2.resize(x, (size, size * x.shape[0] // x.shape[1]), interpolation=cv2.INTER_AREA)
                      for x in (la, lb))
        forward, backward = flow.flow(la[..., 0], lb[..., 0]), flow.flow(lb[..., 0], la[..., 0])
        ok = flow.reliability(forward, backward, la[..., 0], lb[..., 0]) > 0.5
        ok &= np.minimum(la[..., 0], flow.warp(lb[..., 0], forward)) >= DARK
        values.append(np.abs(la[..., 1:] - flow.warp(lb[..., 1:], forward))[ok].mean())
    return float(np.mean(values))


def _frames_002(deflicker: bool) -> list[Frame]:
    files = sorted((DATA / "film" / "frames_002").glob("*.png"))
    frames = [Frame(np.asarray(Image.open(p).convert("RGB")), Fraction(i, 25), Fraction(1, 25), i)
              for i, p in enumerate(files)]
    if deflicker:
        from bian.stages.deflicker import Deflicker

        frames = [f.replace(image=(np.clip(f.image, 0, 1) * 255 + 0.5).astype(np.uint8))
                  for f in apply_stage(Deflicker(), frames)]
    return frames


def part_flicker(tmp: Path, radius: int) -> None:
    from bian.colour import hints as hint_io

    assert hint_io.read_hints(HERE / "data" / "frames_002_hints.json").frames() == [0]
    for deflicker in (False, True):
        frames = _frames_002(deflicker)
        key_path = tmp / f"keyframe{int(deflicker)}.png"
        key = run_stage(Colourise(hints=HERE / "data" / "frames_002_hints.json", radius=0), frames[0].rgb())
        Image.fromarray((key * 255 + 0.5).astype(np.uint8)).save(key_path)
        results, outputs = {}, {}
        for r in (0, radius):
            start = time.perf_counter()
            out = outputs[r] = [f.image for f in apply_stage(Colourise(references=[key_path], radius=r), frames)]
            results[r] = (_flicker(out, 320), _flicker(out, None), (time.perf_counter() - start) / len(frames))
        source = "after bian's deflicker stage (as `--deflicker --colorize` runs)" if deflicker else "raw"
        print(f"\nTemporal flicker, frames_002 ({len(frames)} frames, 640×480, {source}) coloured from one "
              "reference (its first frame coloured by hints)")
        print("| method | flicker at 320 px | flicker at full size | s/frame |")
        print("|---|---:|---:|---:|")
        for r, name in ((0, "each frame on its own (radius 0)"), (radius, f"bian temporal (radius {radius})")):
            a, b, s = results[r]
            print(f"| {name} | {a:.4f} | {b:.4f} | {s:.2f} |")
        print(f"\nflicker ratio (alone / temporal): {results[0][0] / results[radius][0]:.2f}× at 320 px, "
              f"{results[0][1] / results[radius][1]:.2f}× at full size")
        if not deflicker:
            middle = slice(len(frames) // 2 - 6, len(frames) // 2 + 7)
            carried = _carried(frames[middle], outputs[radius][len(frames) // 2])
            print(f"\nFloor, frames {middle.start}–{middle.stop - 1} at 320 px: each alone "
                  f"{_flicker(outputs[0][middle], 320):.3f}, temporal {_flicker(outputs[radius][middle], 320):.3f}, "
                  f"the middle frame's temporal chroma carried along the stage's own flow to the others "
                  f"{_flicker(carried, 320):.3f}")


def part_video_truth(tmp: Path, radius: int, count: int = 40) -> None:
    """Colour kept right over time: real colour clips made grey, coloured from their own first frame,
    each frame alone against the temporal stage, scored against the truth (so stability bought by
    washing colour out would show as lower chroma PSNR and colourfulness)."""
    import av

    for name in ("animate/d0.mp4", "animate/driving.mp4"):
        with av.open(str(DATA / name)) as c:
            truth = [f.to_ndarray(format="rgb24").astype(np.float32) / 255
                     for _, f in zip(range(count + 1), c.decode(video=0))]
        ref_path = tmp / "truth_ref.png"
        Image.fromarray((truth[0] * 255 + 0.5).astype(np.uint8)).save(ref_path)
        truth = truth[1:]
        grey = [Frame(grey_of(t), Fraction(i, 25), Fraction(1, 25), i) for i, t in enumerate(truth)]
        rows = [("grey (luminance only)", [scores(g.image, t) for g, t in zip(grey, truth)], None)]
        for r in (0, radius):
            out = [f.image for f in apply_stage(Colourise(references=[ref_path], radius=r), grey)]
            rows.append((f"bian reference, {'each frame alone' if r == 0 else f'temporal (radius {r})'}",
                         [scores(o, t) for o, t in zip(out, truth)], _flicker(out, 320)))
        print(f"\nKnown-answer video: {name}, frames 1–{count} made grey, coloured from frame 0 (means; "
              f"truth's flicker {_flicker(truth, 320):.4f})")
        print(f"| method | PSNR dB | chroma PSNR dB | SSIM | colourfulness (truth "
              f"{np.mean([colourfulness(t) for t in truth]):.1f}) | flicker at 320 px |")
        print("|---|---:|---:|---:|---:|---:|")
        for label, vals, fl in rows:
            v = np.mean(vals, axis=0)
            print(f"| {label} | {v[0]:.2f} | {v[1]:.2f} | {v[2]:.3f} | {v[3]:.1f} | {'' if fl is None else f'{fl:.4f}'} |")


def _carried(frames: list[Frame], rgb: np.ndarray) -> list[np.ndarray]:
    """The chroma of the middle frame's output carried to every frame along the stage's chained flow
    (at the stage's working size) under each frame's own luminance: colour that never changes except by
    motion, so its flicker is what the metric reads from grain, upsampling and flow error alone."""
    from bian.colour import temporal
    from bian.stages.colourise import _lumas

    lumas = [_lumas(f.image) for f in frames]
    small = [L for _, L in lumas]
    h, w = small[0].shape
    ab = cv2.resize(lab.rgb_to_lab(rgb)[..., 1:], (w, h), interpolation=cv2.INTER_AREA)
    center = len(frames) // 2
    to_center = temporal.chains_to(lambda a, b: flow.flow(small[a], small[b]), center, len(frames))
    return [lab.merge(L, propagate.upsample(L, ab if k == center else flow.warp(ab, to_center[k])),
                      room=lab.HIGHLIGHT_ROOM) for k, (L, _) in enumerate(lumas)]


def _timestamps(path: Path) -> list[Fraction]:
    import av

    with av.open(str(path)) as c:
        s = c.streams.video[0]
        return [f.pts * s.time_base for f in c.decode(s)]


def _frames_at(path: Path, indices: list[int]) -> list[np.ndarray]:
    import av

    with av.open(str(path)) as c:
        frames = [f.to_ndarray(format="rgb24") for k, f in enumerate(c.decode(video=0)) if k in indices]
    return frames


def part_video(tmp: Path) -> None:
    import os
    import resource
    import subprocess

    clip = DATA / "film" / "remaster_clip.mp4"
    refs = sorted((DATA / "film" / "remaster_refs").glob("*.png"))
    out = tmp / "remaster_colour.mp4"
    args = ["restore", str(clip), "--colorize", "--reference", *map(str, refs), "-o", str(out), "-q"]
    env = dict(os.environ, OMP_NUM_THREADS="2")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "bian.cli", *args], env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode:
        sys.exit(f"bian failed: {done.stderr.strip()}")
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    path = next(s["path"] for s in summary["stages"] if s["name"] == "colourise")
    source, result = _timestamps(clip), _timestamps(out)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    print(f"\nVideo end to end: `{' '.join(['bian', 'restore', clip.name, '--colorize', '--reference', *(r.name for r in refs), '-o', out.name])}`")
    print(f"frames in {len(source)}, out {len(result)}; timestamps identical: {source == result}; "
          f"{wall:.0f} s wall ({wall / len(source):.2f} s/frame), {cpu:.0f} s CPU (user+sys); path: {path}")
    shots = [20, 90, 220, 330]  # one frame of each of the clip's four shots (cuts at 44, 134, 299)
    top = np.concatenate(_frames_at(clip, shots), axis=1)
    bottom = np.concatenate(_frames_at(out, shots), axis=1)
    still = np.concatenate([top, bottom], axis=0)
    half = cv2.resize(still, (still.shape[1] // 2, still.shape[0] // 2), interpolation=cv2.INTER_AREA)
    target = HERE.parent / "docs" / "img" / "colour_remaster_before_after.jpg"
    Image.fromarray(half).save(target, quality=88)
    print(f"stills (frames {shots}, top input, bottom output) → {target.relative_to(HERE.parent)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--part", choices=("all", "reference", "hints", "auto", "flicker", "video"), default="all")
    parser.add_argument("--radius", type=int, default=next(o.default for o in OPTIONS if o.name == "colour_radius"),
                        help="the temporal arm's colour radius (default: the stage's)")
    args = parser.parse_args()
    if not DATA.is_dir():
        sys.exit(f"shared data not found at {DATA}")
    print(f"bian colour benchmark — {platform.machine()} {platform.system()}, python {platform.python_version()}")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        pictures = colour_set() if args.part in ("all", "hints", "auto") else {}
        if args.part in ("all", "reference"):
            part_reference(tmp)
        if args.part in ("all", "hints"):
            part_hints(tmp, pictures)
        if args.part in ("all", "auto"):
            part_auto(pictures)
        if args.part in ("all", "flicker"):
            part_flicker(tmp, args.radius)
            part_video_truth(tmp, args.radius)
        if args.part in ("all", "video"):
            part_video(tmp)


if __name__ == "__main__":
    main()
