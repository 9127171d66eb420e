"""Frame interpolation quality and speed on real old film: drop frames, interpolate them back.

For each clip, every other frame is dropped (t = 1/2) and, separately, two of every three (t = 1/3,
2/3). The dropped frames are made again by bian's frame-rate stage (flow engine unless
``--interpolator`` says rife; the options a user gives: ``--fps`` of the original rate; scene-cut guard
and held-frame handling as by default), by
FFmpeg ``minterpolate`` (mi_mode=mci, mc_mode=aobmc, me_mode=bidir, vsbmc=1) in the same run, by plain
blending and by repeating the previous kept frame. PSNR and SSIM (luma) are averaged over the dropped
frames every method produced; a second PSNR column leaves out the dropped frames whose interval holds a
scene cut (found by ``is_cut`` on consecutive frames of the full-rate original): where the cut falls
inside a dropped stretch its time cannot be known from the kept frames, so any method can only guess
(bian shows the input frame nearer in time). Speed: seconds of the whole
interpolation job per made frame, wall clock and CPU (all threads; the machine is shared, so CPU time is the steadier figure), bian vs minterpolate,
both limited to the same number of threads (``--threads``, OpenCV for bian, ``-threads`` and
``-filter_threads`` for FFmpeg); each side runs ``--repeat`` times, alternating, and its fastest run
counts (bian's repeated outputs must be identical).

Unique frames: a transfer that repeats pictures (3:2 pull-down puts a copy of every 4th film frame into
29.97 fps video; remaster_clip.mp4 is one) makes some dropped frames copies of a kept neighbour, so
"interpolating" them measures guessing which neighbour was repeated. bian detects such copies and makes
them again by interpolation at their own time, so the film's frames are the unique ones. For each clip
the copies are found by bian's own held-frame detector (``analysis.duplicates``, as the stage uses it)
and the same protocol runs again on the remaining frames; these rows are printed beside the raw-frame
rows, never instead (a clip with no copies found gets no extra rows: its unique frames are the raw ones).
Each found copy is listed with its PSNR to the frame before, beside the PSNR of the window's other pairs.

    python benchmarks/bench_interpolate.py [--frames 61] [--clips sample_bw,remaster,frames_002]
        [--threads 1] [--repeat 3] [--unique yes|no] [--interpolator flow|rife] [--rife-model PATH]
        [--precision auto|fp32|bf16]
"""
from __future__ import annotations

import argparse
import glob
import os
import resource
import subprocess
import sys
import time
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import torch
from PIL import Image
from skimage.metrics import structural_similarity

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from bian.analysis import duplicates  # noqa: E402
from bian.analysis.cuts import is_cut  # noqa: E402
from bian.frame import Frame  # noqa: E402
from bian.pipeline.plan import Source  # noqa: E402
from bian.pipeline.runner import apply_stage  # noqa: E402
from bian.stages import framerate  # noqa: E402

SHARED = Path(os.environ.get("BIAN_SHARED", Path(__file__).resolve().parents[2] / "shared"))
FILM = SHARED / "data" / "film"
CLIPS = {  # name: (source, first frame)
    "sample_bw": ("sample_bw.mp4", 200),
    "remaster": ("remaster_clip.mp4", 100),
    "frames_002": ("frames_002", 0),
}
RATE = 10  # nominal rate of the kept frames' container; only ratios matter
MINTERPOLATE = "minterpolate=fps={fps}:mi_mode=mci:mc_mode=aobmc:me_mode=bidir:vsbmc=1"
LUMA = np.array([0.299, 0.587, 0.114])


def load(name: str, count: int) -> list[np.ndarray]:
    source, first = CLIPS[name]
    path = FILM / source
    if path.is_dir():
        files = sorted(glob.glob(str(path / "*.png")))[first:first + count]
        return [np.asarray(Image.open(f).convert("RGB")) for f in files]
    frames = []
    with av.open(str(path)) as container:
        for i, frame in enumerate(container.decode(video=0)):
            if i >= first:
                frames.append(frame.to_ndarray(format="rgb24"))
            if len(frames) == count:
                break
    return frames


def copies(frames: list[np.ndarray]) -> list[int]:
    """Indices of the frames bian's held-frame detector takes for copies of the frame before (runs
    of up to ``framerate.MAX_HOLD`` copies: longer ones are freezes the stage keeps), judged as the
    stage judges them, on the whole window."""
    thumbs = [duplicates.thumbnail(f.astype(np.float32) / 255) for f in frames]
    cuts = [is_cut(x, y) for x, y in zip(thumbs, thumbs[1:])]
    held = duplicates.held_pairs([duplicates.difference(x, y) for x, y in zip(thumbs, thumbs[1:])], cuts)
    found, j = [], 0
    while j < len(held):
        k = j
        while k < len(held) and held[k]:
            k += 1
        if 0 < k - j <= framerate.MAX_HOLD:
            found += range(j + 1, k + 1)
        j = k + 1 if k == j else k
    return found


def cpu_children() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def run_minterpolate(kept: list[np.ndarray], step: int, threads: int) -> tuple[list[np.ndarray], float, float]:
    h, w = kept[0].shape[:2]
    cmd = ["ffmpeg", "-v", "error", "-threads", str(threads), "-filter_threads", str(threads), "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{w}x{h}", "-r", str(RATE),
           "-i", "-", "-vf", MINTERPOLATE.format(fps=RATE * step), "-f", "rawvideo", "-pix_fmt", "rgb24", "-"]
    raw = b"".join(np.ascontiguousarray(k).tobytes() for k in kept)
    cpu, wall = cpu_children(), time.perf_counter()
    done = subprocess.run(cmd, input=raw, capture_output=True, check=True)
    wall, cpu = time.perf_counter() - wall, cpu_children() - cpu
    out = np.frombuffer(done.stdout, np.uint8).reshape(-1, h, w, 3)
    return list(out), wall, cpu


def run_bian(kept: list[np.ndarray], step: int, engine: dict) -> tuple[dict[int, np.ndarray], float, float]:
    """Output frames of the frame-rate stage keyed by original frame number; ``engine`` holds the
    stage's interpolator options."""
    rate_in = Fraction(RATE)
    source = Source("video", kept[0].shape[1], kept[0].shape[0], 8, False, rate_in, len(kept))
    opts = {"fps": rate_in * step, "multi": None, "slowmo": None, "source_fps": None, **engine,
            "at_cuts": "repeat", "dedup": "auto"}
    stage = framerate.build(opts, source)[0]
    frames = [Frame(image=k, time=Fraction(i, RATE), duration=Fraction(1, RATE), index=i)
              for i, k in enumerate(kept)]
    cpu, wall = time.process_time(), time.perf_counter()
    out = {}
    for f in apply_stage(stage, frames):
        image = f.image  # kept frames come back as given (uint8), made ones as float32
        out[int(f.time * RATE * step)] = image if image.dtype == np.uint8 else cv2.convertScaleAbs(image, alpha=255.0)
    return out, time.perf_counter() - wall, time.process_time() - cpu


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float(10 * np.log10(255.0 ** 2 / max(mse, 1e-10)))


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    return float(structural_similarity(a @ LUMA, b @ LUMA, data_range=255.0))


def evaluate(name: str, frames: list[np.ndarray], step: int, threads: int, engine: dict, repeat: int = 1) -> dict:
    kept = frames[::step]
    made_mi, mi_wall, mi_cpu = run_minterpolate(kept, step, threads)
    made_bian, bian_wall, bian_cpu = run_bian(kept, step, engine)
    for _ in range(repeat - 1):  # the two alternate; the fastest run of each counts (load comes and goes)
        mi_wall, mi_cpu = (min(x, y) for x, y in zip((mi_wall, mi_cpu), run_minterpolate(kept, step, threads)[1:]))
        again, wall, cpu = run_bian(kept, step, engine)
        assert again.keys() == made_bian.keys() and all(np.array_equal(again[j], made_bian[j]) for j in again)
        bian_wall, bian_cpu = min(bian_wall, wall), min(bian_cpu, cpu)
    last = (len(kept) - 1) * step
    targets = [j for j in range(1, last) if j % step and j < len(made_mi) and j in made_bian]
    scores = {m: [] for m in ("bian", "minterpolate", "blend", "repeat")}
    cut_after = [is_cut(frames[i] / 255.0, frames[i + 1] / 255.0) for i in range(last)]
    clean = []  # index into targets: no cut inside the kept interval
    for n, j in enumerate(targets):
        k = j // step
        if not any(cut_after[k * step:(k + 1) * step]):
            clean.append(n)
        k, r = divmod(j, step)
        t = r / step
        blend = np.clip(kept[k] * (1 - t) + kept[k + 1] * t + 0.5, 0, 255).astype(np.uint8)
        for method, picture in (("bian", made_bian[j]), ("minterpolate", made_mi[j]), ("blend", blend),
                                ("repeat", kept[k])):
            scores[method].append((psnr(picture, frames[j]), ssim(picture, frames[j])))
    made = (len(kept) - 1) * (step - 1)
    return {"clip": name, "step": step, "frames": len(targets), "size": f"{frames[0].shape[1]}×{frames[0].shape[0]}",
            **{m: np.mean(v, axis=0) for m, v in scores.items()},
            **{m + "_clean": np.mean(np.asarray(v)[clean, 0]) for m, v in scores.items()}, "clean": len(clean),
            "bian_wall": bian_wall / made, "bian_cpu": bian_cpu / made, "mi_wall": mi_wall / made,
            "mi_cpu": mi_cpu / made}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=61)
    parser.add_argument("--clips", default=",".join(CLIPS))
    parser.add_argument("--steps", default="2,3")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3, help="timed runs of each side (fastest counts)")
    parser.add_argument("--unique", choices=("yes", "no"), default="yes",
                        help="also run on the frames left when the copies bian finds are taken out")
    parser.add_argument("--interpolator", choices=("flow", "rife"), default="flow", help="bian's engine")
    parser.add_argument("--rife-model", help="RIFE weights (default: the catalogue's)")
    parser.add_argument("--precision", choices=("auto", "fp32", "bf16"), default="auto", help="RIFE's precision")
    args = parser.parse_args()
    cv2.setNumThreads(args.threads)
    torch.set_num_threads(args.threads)
    engine = {"interpolator": args.interpolator, "rife_model": args.rife_model, "device": "cpu",
              "precision": args.precision}
    if not FILM.is_dir():
        sys.exit(f"shared film data not found at {FILM} (set BIAN_SHARED)")
    rows, found_notes = [], []
    load_before = os.getloadavg()
    for name in args.clips.split(","):
        frames = load(name, args.frames)
        found = copies(frames)
        first = CLIPS[name][1]
        pairs = [psnr(frames[i], frames[i + 1]) for i in range(len(frames) - 1)]
        others = sorted((round(pairs[i - 1], 1), first + i) for i in range(1, len(frames)) if i not in found)
        found_notes.append(f"{name} (frames {first}–{first + len(frames) - 1}): {len(found)} copies found by bian's "
                           f"detector: {', '.join(f'{first + i} ({pairs[i - 1]:.1f} dB)' for i in found) or 'none'}; "
                           f"other pairs' PSNR to the frame before, highest: "
                           f"{', '.join(f'{i} ({p} dB)' for p, i in others[-4:][::-1])}")
        sets = [(name, frames)]
        if found and args.unique == "yes":
            sets.append((f"{name}, unique frames ({len(found)} copies out)",
                         [f for i, f in enumerate(frames) if i not in found]))
        for label, pictures in sets:
            for step in (int(s) for s in args.steps.split(",")):
                row = evaluate(label, pictures, step, args.threads, engine, args.repeat)
                rows.append(row)
                print(f"done {label} 1/{step}: bian {row['bian'][0]:.2f} dB, minterpolate "
                      f"{row['minterpolate'][0]:.2f} dB", file=sys.stderr, flush=True)
    print(f"engine {args.interpolator}, threads {args.threads}, fastest of {args.repeat} runs; load average before/after: {load_before} / {os.getloadavg()}\n")
    print("\n".join(f"- {n}" for n in found_notes) + "\n")
    print("| clip | dropped | frames scored | bian PSNR / SSIM | minterpolate | blend | repeat | Δ PSNR vs minterpolate "
          "| frames without a cut: bian / minterpolate / Δ |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        cells = " | ".join(f"{r[m][0]:.2f} / {r[m][1]:.4f}" for m in ("bian", "minterpolate", "blend", "repeat"))
        print(f"| {r['clip']} ({r['size']}) | {r['step'] - 1} of {r['step']} | {r['frames']} | {cells} | "
              f"**{r['bian'][0] - r['minterpolate'][0]:+.2f}** | {r['clean']}: {r['bian_clean']:.2f} / "
              f"{r['minterpolate_clean']:.2f} / **{r['bian_clean'] - r['minterpolate_clean']:+.2f}** |")
    print()
    print("| clip | dropped | bian s/frame wall / CPU | minterpolate s/frame wall / CPU | speed-up wall / CPU |")
    print("|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['clip']} | {r['step'] - 1} of {r['step']} | {r['bian_wall']:.3f} / {r['bian_cpu']:.3f} | "
              f"{r['mi_wall']:.3f} / {r['mi_cpu']:.3f} | **{r['mi_wall'] / r['bian_wall']:.2f}× / "
              f"{r['mi_cpu'] / r['bian_cpu']:.2f}×** |")


if __name__ == "__main__":
    main()
