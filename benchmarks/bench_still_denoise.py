"""Denoise on still photos: is texture kept, is grain removed?

The 13 photos of ``photos/historical`` (shared data), split by sorted name into a dev half (even
positions; the still filter's constants were chosen on it) and a held-out half (odd positions).

- real: each photo as it is through ``denoise`` at strength 1 (a still: one frame). PSNR of the output
  against the input (high = little changed), fine detail out/in (σ of luma minus its 1-px Gaussian blur),
  and the share of pixels that moved by more than 4 levels.
- grain: a copy downscaled by 2 (so the photo's own grain mostly averages away) gets synthetic film grain
  (``damage.add_grain`` light and heavy); PSNR of the output against that clean copy. Anchor: FFmpeg
  ``nlmeans`` at the strength of a small sweep that is best on the half's mean, in the same run.

"before" is the previous still filter (H 1.1, no kept grain, nothing put back: the same function with
those constants). Usage (from the repository root)::

    python benchmarks/bench_still_denoise.py            # --photos DIR to point elsewhere
"""
from __future__ import annotations

import argparse
import platform
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import cv2
import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "src"))

import damage  # noqa: E402
import ffmpeg_anchor  # noqa: E402

from bian.media.images import read_image  # noqa: E402
from bian.temporal import denoise as still_module  # noqa: E402

BEFORE = {"H_SPATIAL": 1.1, "STILL_GRAIN_KEPT": 0.0, "STILL_TEXTURE_BACK": 0.0}
NLMEANS = (2, 3, 4, 6, 8, 12, 16, 20)


@contextmanager
def constants(values: dict):
    saved = {k: getattr(still_module, k) for k in values}
    for k, v in values.items():
        setattr(still_module, k, v)
    try:
        yield
    finally:
        for k, v in saved.items():
            setattr(still_module, k, v)


def bian(rgb: np.ndarray, before: bool = False) -> np.ndarray:
    with constants(BEFORE if before else {}):
        return still_module.denoise([rgb], 0, 1.0)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((np.asarray(a, np.float64) - np.asarray(b, np.float64)) ** 2))
    return 10 * np.log10(1 / max(mse, 1e-12))


def detail(rgb: np.ndarray) -> float:
    y = rgb.mean(axis=2)
    return float(np.std(y - cv2.GaussianBlur(y, (0, 0), 1.0)))


def real_row(rgb: np.ndarray, out: np.ndarray) -> tuple[float, float, float]:
    moved = float(np.mean(np.abs(out - rgb).max(axis=2) > 4 / 255))
    return min(psnr(out, rgb), 60.0), detail(out) / detail(rgb), moved


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--photos", type=Path, default=HERE.parent.parent / "shared/data/photos/historical")
    args = parser.parse_args()
    files = sorted(p for p in args.photos.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
    if not files or not ffmpeg_anchor.available():
        sys.exit(f"needs the photos in {args.photos} and the ffmpeg CLI")
    print(f"bench_still_denoise — {len(files)} photos, {platform.machine()} {platform.system()}, strength 1\n")
    halves = {"dev": files[0::2], "held-out": files[1::2]}
    real = {}
    grain = {}  # (half, level) -> list of dicts method -> PSNR
    seconds = {"bian": 0.0, "nlmeans": 0.0}
    for half, group in halves.items():
        for i, path in enumerate(group):
            rgb = read_image(path)[0].rgb()
            t = time.perf_counter()
            after = bian(rgb)
            seconds["bian"] += time.perf_counter() - t
            real[path.name] = (half, real_row(rgb, bian(rgb, before=True)), real_row(rgb, after))
            small = cv2.resize(rgb, (rgb.shape[1] // 2, rgb.shape[0] // 2), interpolation=cv2.INTER_AREA)
            rng = np.random.default_rng(1000 + files.index(path))
            for level in ("light", "heavy"):
                noisy = damage.add_grain(small[None], rng, level)[0]
                scores = {"input": psnr(noisy, small), "before": psnr(bian(noisy, True), small),
                          "after": psnr(bian(noisy), small)}
                for s in NLMEANS:
                    t = time.perf_counter()
                    scores[s] = psnr(ffmpeg_anchor.run_filter(noisy[None], f"nlmeans=s={s}")[0], small)
                    seconds["nlmeans"] += time.perf_counter() - t
                grain.setdefault((half, level), []).append(scores)

    print("Real photos as they are (PSNR out vs in capped 60 dB; detail = σ of the 1-px high-pass, out/in; "
          "moved = share of pixels changed by > 4 levels):\n")
    print("| photo | half | before PSNR | before detail | before moved | after PSNR | after detail | after moved |")
    print("|---|---|---|---|---|---|---|---|")
    for name, (half, b, a) in real.items():
        print(f"| {name[:40]} | {half} | {b[0]:.2f} | {b[1]:.3f} | {b[2]:.1%} | {a[0]:.2f} | {a[1]:.3f} | {a[2]:.1%} |")
    print("\n| half | before PSNR mean | before detail mean / min | before moved | after PSNR mean "
          "| after detail mean / min | after moved |")
    print("|---|---|---|---|---|---|---|")
    for half in halves:
        b = np.array([r[1] for r in real.values() if r[0] == half])
        a = np.array([r[2] for r in real.values() if r[0] == half])
        print(f"| {half} | {b[:, 0].mean():.2f} | {b[:, 1].mean():.3f} / {b[:, 1].min():.3f} | {b[:, 2].mean():.1%} "
              f"| {a[:, 0].mean():.2f} | {a[:, 1].mean():.3f} / {a[:, 1].min():.3f} | {a[:, 2].mean():.1%} |")

    print("\nSynthetic grain on the photos downscaled ÷2, PSNR vs the clean copy (dB, mean over the half; "
          f"nlmeans: best s of {NLMEANS} on that mean):\n")
    print("| half | grain | input | before | after | after − before | nlmeans (best s) | after − nlmeans |")
    print("|---|---|---|---|---|---|---|---|")
    for (half, level), rows in grain.items():
        mean = {k: float(np.mean([r[k] for r in rows])) for k in rows[0]}
        best = max(NLMEANS, key=lambda s: mean[s])
        print(f"| {half} | {level} | {mean['input']:.2f} | {mean['before']:.2f} | {mean['after']:.2f} "
              f"| {mean['after'] - mean['before']:+.2f} | {mean[best]:.2f} (s={best}) "
              f"| {mean['after'] - mean[best]:+.2f} |")
    count = len(files)
    print(f"\nWall seconds per full-size photo, bian after: {seconds['bian'] / count:.2f}; "
          f"nlmeans per half-size photo and s: {seconds['nlmeans'] / (2 * count * len(NLMEANS)):.2f}")


if __name__ == "__main__":
    main()
