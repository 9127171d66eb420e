"""Denoise, deflicker and stabilise on real old film with known damage, against FFmpeg in the same run.

Clean frames come from the real film in ``../shared/data/film``; the damage kit (:mod:`damage`) adds
grain at two levels, ±15 % gain flicker, or ±4 px random shifts; bian's stages (run exactly as the
runner runs them) and FFmpeg's filters (each at the best of a sweep of its strength on that clip)
then repair it, and the tables compare them with the clean frames.

    python benchmarks/bench_temporal.py                 # all three parts
    python benchmarks/bench_temporal.py --part denoise  # or deflicker, stabilise

Scores:
- denoise: PSNR (dB) over all frames of the clip; seconds per frame for bian and for ``nlmeans`` at
  its winning setting, as CPU time (all threads; for FFmpeg the ffmpeg process, including its format
  conversion and pipes) and wall time. On a machine shared with other jobs only CPU time is steady:
  wall time then depends on how many threads each side keeps runnable.
- deflicker: flicker = RMS over frames of log(mean(output) / mean(clean)), each shot's own average
  removed (a constant gain per shot is not flicker), means over the pixels the +15 % gain cannot clip;
  the same for the damaged input gives the injected flicker. Old film flickers by itself (frames_002
  does, visibly), and a deflicker evens that out too, which this score counts against it. So also the
  issue's own measure: the spread (σ over frames, per shot) of log frame mean of the output, beside the
  injected σ of the log gains; a moving camera or subject adds real spread to it. And the injected
  flicker a method leaves ("own output"): the first score with the method's own output on the clean
  clip in place of the clean clip (what the method does to the clip's own brightness cancels). Plus a lighting
  step (×1.4 from the middle of a shot, then flickered): the ratio of mean brightness after/before it
  in the output.
- stabilise: displacement of each output frame from its clean frame, measured by ECC (translation)
  on the central part; "residual" = RMS of its length with each shot's mean offset removed (a fixed
  offset is not jitter), "frame-to-frame" = RMS of its change between consecutive frames / √2.
"""
from __future__ import annotations

import argparse
import platform
import resource
import sys
import time
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "src"))

import damage  # noqa: E402
import ffmpeg_anchor  # noqa: E402
from ffmpeg_anchor import run_filter  # noqa: E402

from bian.analysis.cuts import is_cut  # noqa: E402
from bian.frame import Frame  # noqa: E402
from bian.pipeline.runner import apply_stage  # noqa: E402
from bian.stages.deflicker import Deflicker  # noqa: E402
from bian.stages.repair import Dust  # noqa: E402
from bian.stages.denoise import Denoise  # noqa: E402
from bian.stages.stabilise import Stabilise  # noqa: E402
from bian.temporal.denoise import luma_chroma  # noqa: E402
from bian.temporal.grain import measure_grain  # noqa: E402
from bian.temporal.noise import estimate_noise  # noqa: E402

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "film"


def clip(name: str, count: int, start: int = 0) -> np.ndarray:
    """Clean frames of one real film, kept small: sample_bw (920×672) and frames_002 (640×480) halved by
    area averaging (which also halves their own grain), remaster_clip at its size (432×320)."""
    if name == "sample_bw":
        frames = damage.load_frames(SHARED / "sample_bw.mp4", start, count)
        return np.stack([cv2.resize(f, (460, 336), interpolation=cv2.INTER_AREA) for f in frames])
    if name == "frames_002":
        frames = damage.load_frames(SHARED / "frames_002", start, count)
        return np.stack([cv2.resize(f, (320, 240), interpolation=cv2.INTER_AREA) for f in frames])
    return damage.load_frames(SHARED / "remaster_clip.mp4", start, count)


def shots_of(frames: np.ndarray) -> list[tuple[int, int]]:
    bounds = [0] + [i for i in range(1, len(frames)) if is_cut(frames[i - 1], frames[i])] + [len(frames)]
    return list(zip(bounds[:-1], bounds[1:]))


def _child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_stage(stage, frames: np.ndarray) -> tuple[np.ndarray, float, float]:
    """Output of ``stage`` over ``frames`` as the runner feeds it; wall and CPU seconds per frame."""
    inputs = [Frame(f, Fraction(i, 25), Fraction(1, 25), i) for i, f in enumerate(frames)]
    wall, cpu = time.perf_counter(), time.process_time()
    out = np.stack([f.image for f in apply_stage(stage, inputs)])
    return out, (time.perf_counter() - wall) / len(frames), (time.process_time() - cpu) / len(frames)


def timed_filter(frames: np.ndarray, chain: str, pad: int = 0) -> tuple[np.ndarray, float, float]:
    """FFmpeg's output; wall and CPU seconds (of the ffmpeg process) per frame."""
    wall, cpu = time.perf_counter(), _child_cpu()
    out = run_filter(frames, chain, fps=25, pad=pad)
    return out, (time.perf_counter() - wall) / len(frames), (_child_cpu() - cpu) / len(frames)


def best_of(frames: np.ndarray, score, chains: list[tuple[str, int]], higher: bool = True):
    """Run each FFmpeg chain; return the best as (chain, score, output, seconds per frame), and every
    chain's score. Only the best output is kept (a sweep's outputs would not fit in memory)."""
    best, scores = None, {}
    for chain, pad in chains:
        out, seconds, _ = timed_filter(frames, chain, pad)
        value = score(out)
        scores[chain] = value
        if np.isfinite(value) and (best is None or (value > best[1] if higher else value < best[1])):
            best = (chain, value, out, seconds)
        del out
    return best, scores


# ---------------------------------------------------------------- denoise

DENOISE_CLIPS = [("sample_bw", 0), ("frames_002", 0), ("remaster_clip", 150)]


def bench_denoise(count: int, rng: np.random.Generator) -> None:
    # Warm up (OpenCV's first calls set up kernels and threads) so the first row is timed like the rest.
    name, start = DENOISE_CLIPS[0]
    run_stage(Denoise(1.0, radius=2), damage.add_grain(clip(name, 3, start), np.random.default_rng(0), "light"))
    print("\n## Denoise: PSNR (dB) vs the clean frames; seconds per frame, CPU (wall)\n")
    print("| clip | grain | input | hqdn3d (best) | tmedian (best) | nlmeans (best) | bian | bian − nlmeans "
          "| bian − hqdn3d | nlmeans s/frame | bian s/frame | nlmeans / bian CPU (wall) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for name, start in DENOISE_CLIPS:
        clean = clip(name, count, start)
        for level in ("light", "heavy"):
            noisy = damage.add_grain(clean, rng, level)
            score = lambda out: damage.psnr(out, clean)  # noqa: E731
            hq, _ = best_of(noisy, score, [(f"hqdn3d={s}", 0) for s in (2, 4, 6, 8, 12, 16, 24, 32)])
            tm, _ = best_of(noisy, score, [(f"tmedian=radius={r}", r) for r in (1, 2, 3)])
            nl, _ = best_of(noisy, score, [(f"nlmeans=s={s}", 0) for s in (3, 4, 6, 8, 10, 12, 16, 20)])
            # Time the winning nlmeans again right beside bian, so both see the same machine load.
            _, nl_wall, nl_cpu = timed_filter(noisy, nl[0])
            ours, wall, cpu = run_stage(Denoise(1.0, radius=2), noisy)
            p = score(ours)
            print(f"| {name} {clean.shape[2]}×{clean.shape[1]}×{len(clean)} | {level} | {score(noisy):.2f} "
                  f"| {hq[1]:.2f} ({hq[0]}) | {tm[1]:.2f} ({tm[0]}) | {nl[1]:.2f} ({nl[0]}) | **{p:.2f}** "
                  f"| {p - nl[1]:+.2f} | {p - hq[1]:+.2f} | {nl_cpu:.3f} ({nl_wall:.3f}) | {cpu:.3f} ({wall:.3f}) "
                  f"| {nl_cpu / cpu:.2f}× ({nl_wall / wall:.2f}×) |", flush=True)

    # --keep-grain: fresh grain at full strength should look like the source's grain (level across
    # brightness, clump size), on the last clip, heavy grain.
    plain = run_stage(Denoise(1.0, radius=2), noisy)[0]
    grainy = run_stage(Denoise(1.0, radius=2, keep_grain=True, grain_amount=1.0), noisy)[0]
    mid = len(noisy) // 2
    source = measure_grain(noisy[mid], plain[mid], estimate_noise([luma_chroma(f)[0] for f in noisy]))
    fresh = measure_grain(grainy[mid], plain[mid], estimate_noise([luma_chroma(f)[0] for f in grainy]))
    levels = ", ".join(f"{y:.1f}: {source.noise.sigma(y):.3f} / {fresh.noise.sigma(y):.3f}" for y in (0.2, 0.5, 0.8))
    print(f"\n--keep-grain (amount 1, {name} heavy), source / re-added grain: σ at luma {levels}; clump "
          f"{source.clump:.2f} / {fresh.clump:.2f} px; colour {source.colour:.2f} / {fresh.colour:.2f}.", flush=True)


# ---------------------------------------------------------------- deflicker

FLICKER_CLIPS = [("sample_bw", 0, 120), ("frames_002", 0, 60), ("remaster_clip", 0, 120)]


def flicker_of(out: np.ndarray, clean: np.ndarray, shots) -> float:
    """RMS of log(mean(out) / mean(clean)) per frame, each shot's average removed. The means are taken
    over the pixels the +15 % gain cannot have clipped (clean below 0.86), the same for every method:
    a clipped highlight is lost to every deflicker."""
    keep = (clean < 0.86).all(axis=-1, keepdims=True)
    out_means = (out * keep).reshape(len(out), -1).sum(axis=1)
    if out.reshape(len(out), -1).mean(axis=1).min() < 1e-3:  # a black frame: the filter broke the clip
        return float("nan")
    ratio = np.log(out_means / (clean * keep).reshape(len(clean), -1).sum(axis=1))
    return float(np.sqrt(np.mean(np.concatenate([ratio[a:b] - ratio[a:b].mean() for a, b in shots]) ** 2)))


def spread_of(frames: np.ndarray, shots) -> float:
    """σ over frames of log(frame mean), each shot's own average removed."""
    logs = np.log(frames.reshape(len(frames), -1).mean(axis=1))
    return float(np.sqrt(np.mean(np.concatenate([logs[a:b] - logs[a:b].mean() for a, b in shots]) ** 2)))


DEFLICKER_CHAINS = [(f"deflicker=size={s}:mode={m}", 0) for m in ("am", "gm", "hm", "qm", "cm", "pm", "median")
                    for s in (5, 15, 31, 61)]


def bench_deflicker(rng: np.random.Generator) -> None:
    print("\n## Deflicker: flicker left (RMS of log frame-mean ratio to clean, per shot)\n")
    print("| clip | shots | injected | FFmpeg deflicker (best) | bian | bian / injected | bian / FFmpeg "
          "| bian on the undamaged clip | s/frame bian |")
    print("|---|---|---|---|---|---|---|---|---|")
    winners, spreads, own = {}, [], []
    for name, start, count in FLICKER_CLIPS:
        clean = clip(name, count, start)
        shots = shots_of(clean)
        flickered, gains = damage.add_flicker(clean, rng)
        score = lambda out: flicker_of(out, clean, shots)  # noqa: E731
        ff, _ = best_of(flickered, score, DEFLICKER_CHAINS, higher=False)
        winners[name] = ff[0]
        ours, seconds, _ = run_stage(Deflicker(), flickered)
        injected, left = score(flickered), score(ours)
        # Old film flickers by itself and a deflicker evens that out too, which the score counts against
        # it; how far bian moves the undamaged clip shows that floor.
        ours_clean = run_stage(Deflicker(), clean)[0]
        native = score(ours_clean)
        theirs_clean = run_filter(clean, ff[0], fps=25)
        own.append((name, injected, flicker_of(ours, ours_clean, shots), flicker_of(ff[2], theirs_clean, shots),
                    ff[0]))
        print(f"| {name} {clean.shape[2]}×{clean.shape[1]}×{len(clean)} | {len(shots)} | {injected:.4f} "
              f"| {ff[1]:.4f} ({ff[0]}) | **{left:.4f}** | 1/{injected / left:.1f} | {left / ff[1]:.2f} "
              f"| {native:.4f} | {seconds:.3f} |", flush=True)
        spread = [spread_of(gains[:, None, None, None], shots)] + \
            [spread_of(x, shots) for x in (clean, flickered, ff[2], ours)]
        spreads.append((name, spread, ff[0]))

    print("\nThe issue's measure: σ over frames of log frame mean, per shot (input = clean × flicker)\n")
    print("| clip | injected (σ log gain) | clean clip | input | FFmpeg (same setting) | bian | bian / injected |")
    print("|---|---|---|---|---|---|---|")
    for name, (injected, *rest), chain in spreads:
        print(f"| {name} | {injected:.4f} | " + " | ".join(f"{v:.4f}" for v in rest)
              + f" | 1/{injected / rest[-1]:.1f} |", flush=True)

    print("\nInjected flicker left (own output): output on the flickered clip vs the same method's output on "
          "the clean clip, RMS of log frame-mean ratio per shot\n")
    print("| clip | injected | bian | bian / injected | FFmpeg (same setting) | FFmpeg / injected | bian / FFmpeg |")
    print("|---|---|---|---|---|---|---|")
    for name, injected, ours, theirs, chain in own:
        print(f"| {name} | {injected:.4f} | **{ours:.4f}** | 1/{injected / ours:.1f} | {theirs:.4f} (`{chain}`) "
              f"| 1/{injected / theirs:.1f} | {ours / theirs:.2f} |", flush=True)

    # One flicker draw is one sample: a clip's own brightness changes are hidden by some draws more than
    # by others. So also further draws, each method at its setting from above.
    draws = [np.random.default_rng(seed) for seed in (11, 12, 13)]
    print("\nFlicker left / injected over further flicker draws (seeds 11, 12, 13; FFmpeg at the setting above): "
          "against the clean clip, and own output (against the same method on the clean clip)\n")
    print("| clip | bian per draw | bian mean | FFmpeg per draw | FFmpeg mean | bian own per draw | bian own mean "
          "| FFmpeg own per draw | FFmpeg own mean |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, start, count in FLICKER_CLIPS:
        clean = clip(name, count, start)
        shots = shots_of(clean)
        ours_clean, theirs_clean = run_stage(Deflicker(), clean)[0], run_filter(clean, winners[name], fps=25)
        ours, theirs, ours_own, theirs_own = [], [], [], []
        for draw in draws:
            flickered, _ = damage.add_flicker(clean, draw)
            injected = flicker_of(flickered, clean, shots)
            out, ff_out = run_stage(Deflicker(), flickered)[0], run_filter(flickered, winners[name], fps=25)
            ours.append(injected / flicker_of(out, clean, shots))
            theirs.append(injected / flicker_of(ff_out, clean, shots))
            ours_own.append(injected / flicker_of(out, ours_clean, shots))
            theirs_own.append(injected / flicker_of(ff_out, theirs_clean, shots))
        print(f"| {name} | " + " | ".join(", ".join(f"1/{r:.1f}" for r in rs) + f" | 1/{np.mean(rs):.1f}"
                                          for rs in (ours, theirs, ours_own, theirs_own)) + " |", flush=True)

    # A lamp switched on: one shot, brightness ×1.4 from its middle, then flicker on top. FFmpeg runs
    # with the setting that won on sample_bw above.
    clean = clip("sample_bw", 100, 34)
    lit = clean.copy()
    lit[50:] = np.clip(lit[50:] * 1.4, 0, 1)
    flickered, _ = damage.add_flicker(lit, rng)
    shots = shots_of(lit)

    def step(out):
        ratio = out.reshape(len(out), -1).mean(axis=1) / clean.reshape(len(clean), -1).mean(axis=1)
        return float(ratio[50:].mean() / ratio[:50].mean())
    ours = run_stage(Deflicker(), flickered)[0]
    theirs = run_filter(flickered, winners["sample_bw"], fps=25)
    ours_own = flicker_of(ours, run_stage(Deflicker(), lit)[0], shots)
    theirs_own = flicker_of(theirs, run_filter(lit, winners["sample_bw"], fps=25), shots)
    print(f"\nLighting step (sample_bw 460×336×100, one shot, ×1.4 from frame 50, then ±15 % flicker): true step "
          f"{step(lit):.3f}; bian keeps {step(ours):.3f} (flicker left {flicker_of(ours, lit, shots):.4f}); "
          f"FFmpeg {winners['sample_bw']} keeps {step(theirs):.3f} (flicker left "
          f"{flicker_of(theirs, lit, shots):.4f}); input flicker {flicker_of(flickered, lit, shots):.4f}; own output "
          f"(against the same method on the unflickered lit clip): bian {ours_own:.4f}, FFmpeg {theirs_own:.4f}.",
          flush=True)


# ---------------------------------------------------------------- stabilise

SHAKE_CLIPS = [("sample_bw", 34, 100), ("frames_002", 0, 60), ("remaster_clip", 0, 120)]


def displacement(out: np.ndarray, clean: np.ndarray) -> np.ndarray:
    """(dx, dy) of each output frame against its clean frame: ECC translation on the central part."""
    h, w = clean.shape[1:3]
    cy, cx = h // 8, w // 8
    found = []
    for o, c in zip(out, clean):
        a = cv2.GaussianBlur(np.ascontiguousarray(o[cy:-cy, cx:-cx].mean(axis=2)), (0, 0), 1.0)
        b = cv2.GaussianBlur(np.ascontiguousarray(c[cy:-cy, cx:-cx].mean(axis=2)), (0, 0), 1.0)
        warp = np.eye(2, 3, dtype=np.float32)
        try:
            _, warp = cv2.findTransformECC(b, a, warp, cv2.MOTION_TRANSLATION,
                                           (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 100, 1e-6), None, 5)
        except cv2.error:
            warp[:] = np.nan
        found.append((warp[0, 2], warp[1, 2]))
    return np.array(found, np.float64)


def jitter_of(out: np.ndarray, clean: np.ndarray, shots) -> tuple[float, float]:
    e = displacement(out, clean)
    residual = np.concatenate([e[a:b] - e[a:b].mean(axis=0) for a, b in shots])
    steps = np.concatenate([np.diff(e[a:b], axis=0) for a, b in shots])
    return (float(np.sqrt(np.nanmean((residual ** 2).sum(axis=1)))),
            float(np.sqrt(np.nanmean((steps ** 2).sum(axis=1)) / 2)))


def bench_stabilise(rng: np.random.Generator) -> None:
    print("\n## Stabilise: residual displacement vs the clean frames (px)\n")
    print("| clip | shots | injected residual / frame-to-frame | FFmpeg deshake (best) | bian residual "
          "| bian frame-to-frame | bian / deshake | s/frame bian |")
    print("|---|---|---|---|---|---|---|---|")
    own = []
    for name, start, count in SHAKE_CLIPS:
        clean = clip(name, count, start)
        shots = shots_of(clean)
        shaken, _ = damage.add_shifts(clean, rng)
        score = lambda out: jitter_of(out, clean, shots)[0]  # noqa: E731
        ds, _ = best_of(shaken, score, [(f"deshake=rx={r}:ry={r}:blocksize={b}:edge=mirror", 0)
                                          for r in (16, 32, 64) for b in (8, 16)],
                        higher=False)
        ours, seconds, _ = run_stage(Stabilise(), shaken)
        before = jitter_of(shaken, clean, shots)
        left, step = jitter_of(ours, clean, shots)
        print(f"| {name} {clean.shape[2]}×{clean.shape[1]}×{len(clean)} | {len(shots)} "
              f"| {before[0]:.2f} / {before[1]:.2f} | {ds[1]:.2f} ({ds[0]}) | **{left:.3f}** | {step:.3f} "
              f"| {left / ds[1]:.2f} | {seconds:.3f} |", flush=True)
        # A clip whose camera shakes by itself (remaster_clip's first shot is filmed from a moving
        # truck) is steadied too, which the score above counts as error. So also: each method's output
        # on the shaken clip against its own output on the clean clip (the injected shake it leaves).
        own.append((name, jitter_of(ours, run_stage(Stabilise(), clean)[0], shots)[0],
                    jitter_of(ds[2], run_filter(clean, ds[0], fps=25), shots)[0], ds[0]))
    print("\nInjected shake left: output on the shaken clip vs the same method's output on the clean clip (px)\n")
    print("| clip | bian | FFmpeg (same setting) | bian / FFmpeg |")
    print("|---|---|---|---|")
    for name, ours, theirs, chain in own:
        print(f"| {name} | **{ours:.3f}** | {theirs:.3f} (`{chain}`) | {ours / theirs:.2f} |", flush=True)


# ---------------------------------------------------------------- speed of the film chain


def bench_speed(count: int) -> None:
    """Seconds per frame of each film stage at the demo's size (512×384), run alone over the same aged
    frames (real film, grain, flicker, weave, dust), as the runner feeds it."""
    clean = np.stack([cv2.resize(f, (512, 384), interpolation=cv2.INTER_AREA)
                      for f in damage.load_frames(SHARED / "sample_bw.mp4", 34, count)])
    rng = np.random.default_rng(4)
    aged = damage.add_shifts(damage.add_flicker(damage.add_grain(clean, rng, "heavy"), rng)[0], rng)[0]
    aged = damage.add_spots(aged, rng)[0]
    print(f"\n## Film chain speed, 512×384×{count} (sample_bw), {cv2.getNumThreads()} OpenCV threads\n")
    print("| stage | settings | wall s/frame | CPU s/frame |")
    print("|---|---|---|---|")
    total = [0.0, 0.0]
    for stage in (Dust(), Denoise(1.0), Deflicker(), Stabilise()):
        _, wall, cpu = run_stage(stage, aged)
        total[0] += wall
        total[1] += cpu
        settings = ", ".join(f"{k} {v}" for k, v in stage.describe().items() if not isinstance(v, str))
        print(f"| {stage.name} | {settings} | {wall:.3f} | {cpu:.3f} |", flush=True)
    print(f"| **all four** | | **{total[0]:.3f}** | **{total[1]:.3f}** |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=("denoise", "deflicker", "stabilise", "speed", "all"), default="all")
    parser.add_argument("--frames", type=int, default=12, help="frames per denoise clip (default 12)")
    parser.add_argument("--speed-frames", type=int, default=48, help="frames for the speed part (default 48)")
    parser.add_argument("--threads", type=int, default=2, help="threads for OpenCV and for FFmpeg (default 2)")
    args = parser.parse_args()
    cv2.setNumThreads(args.threads)
    ffmpeg_anchor.THREADS = args.threads
    if not SHARED.is_dir():
        sys.exit(f"shared film data not found at {SHARED}")
    print(f"# bench_temporal ({platform.machine()}, {cv2.getNumThreads()} OpenCV threads)")
    # Each part draws its damage from its own seed, so a part run alone gives the same figures.
    if args.part in ("denoise", "all"):
        bench_denoise(args.frames, np.random.default_rng(1))
    if args.part in ("deflicker", "all"):
        bench_deflicker(np.random.default_rng(2))
    if args.part in ("stabilise", "all"):
        bench_stabilise(np.random.default_rng(3))
    if args.part in ("speed", "all"):
        bench_speed(args.speed_frames)


if __name__ == "__main__":
    main()
