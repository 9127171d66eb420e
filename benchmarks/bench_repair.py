"""Repair benchmark: film dust and line scratches (issue 10, point 1) and photo cracks (point 5).

Film: clean real frames get synthetic dust, hairs and line scratches (benchmarks/damage.py, fixed
seeds). bian's dust stage algorithm (each frame with up to two neighbours each side) is scored on
pixel precision/recall of its defect mask (1 px tolerance) and PSNR against the undamaged frames;
FFmpeg filter chains, each over a sweep of settings, are scored on PSNR in the same run. The
film-dust U-Net is scored as a second detector (best threshold of a sweep), with the same fill.

Photos: real photos get synthetic cracks (and, separately, torn holes); bian's fill and OpenCV's
Telea and Navier-Stokes inpainting (radius swept) get the same mask; PSNR inside the mask.

    python benchmarks/bench_repair.py                 # everything (a few minutes on 2 cores)
    python benchmarks/bench_repair.py --part film     # or: photo, pairs
    python benchmarks/bench_repair.py --part pairs --pairs-dir docs/img
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import damage  # noqa: E402
import ffmpeg_anchor  # noqa: E402
from damage import load_frames, mask_precision_recall, psnr  # noqa: E402

from bian.repair import cracks, dust_net, film, inpaint  # noqa: E402

SHARED = Path(os.environ.get("BIAN_SHARED", Path(__file__).resolve().parents[2] / "shared"))
FILM = SHARED / "data" / "film"
CLIPS = [  # (label, source, first frame, crop (top, left, height, width) or None)
    ("frames_002", FILM / "frames_002", 20, None),
    ("sample_bw", FILM / "sample_bw.mp4", 100, (96, 140, 480, 640)),
    ("remaster_clip", FILM / "remaster_clip.mp4", 100, None),
]
FFMPEG_CHAINS = (  # (chain, frames of padding each end for temporal filters)
    [(f"tmedian=radius={r}", r) for r in (1, 2, 3)]
    + [(f"median=radius={r}", 0) for r in (1, 2)]
    + [(f"removegrain=m0={m}:m1={m}:m2={m}", 0) for m in (2, 4, 17)]
    + [(f"hqdn3d={s}", 0) for s in (2, 4, 8)]
    + [(f"nlmeans=s={s}", 0) for s in (3, 6)]
    + [("tmedian=radius=1,median=radius=1", 1), ("tmedian=radius=1,hqdn3d=2", 1)]
)


def damaged_clip(label, source, start, crop, frames, seed):
    clean = load_frames(source, start, frames, crop)
    rng = np.random.default_rng(seed)
    spotted, spots = damage.add_spots(clean, rng)
    scratched, lines = damage.add_line_scratches(spotted, rng)
    return clean, scratched, spots | lines


def run_bian(frames, detected=None):
    """The dust stage's algorithm on each frame with up to two neighbours each side; ``detected``
    (N×H×W bool) replaces its own detection (for the U-Net comparison)."""
    out, masks, seconds = [], [], 0.0
    for i in range(len(frames)):
        neighbours = [frames[j] for j in range(max(0, i - 2), min(len(frames), i + 3)) if j != i]
        start = time.perf_counter()
        repaired, mask = film.repair_frame(frames[i], neighbours,
                                           detected=None if detected is None else detected[i])
        seconds += time.perf_counter() - start
        out.append(repaired)
        masks.append(mask)
    return np.stack(out), np.stack(masks), seconds / len(frames)


def film_part(frames: int, net_path: Path | None, only: list[str] | None = None):
    net = dust_net.load(net_path) if net_path else None
    rows, pooled = [], []
    for n, (label, source, start, crop) in enumerate(CLIPS):
        if only and label not in only:
            continue
        clean, dirty, truth = damaged_clip(label, source, start, crop, frames, seed=10 + n)
        repaired, found, per_frame = run_bian(dirty)
        p, r = mask_precision_recall(found, truth)
        ours = psnr(repaired, clean)
        best = (-1.0, "")
        sweep = []
        for chain, pad in FFMPEG_CHAINS:
            value = psnr(ffmpeg_anchor.run_filter(dirty, chain, pad=pad), clean)
            sweep.append((chain, value))
            best = max(best, (value, chain))
        row = {"clip": label, "frames": len(clean), "size": f"{clean.shape[2]}×{clean.shape[1]}",
               "damaged_px": float(truth.mean()), "P": p, "R": r, "psnr_in": psnr(dirty, clean), "psnr_bian": ours,
               "psnr_ffmpeg": best[0], "ffmpeg": best[1], "s_per_frame": per_frame, "sweep": sweep}
        pooled.append((found, truth))
        if net is not None:
            prob = np.stack([dust_net.probability(f, net) for f in dirty])
            scores = []
            for t in (0.3, 0.5, 0.7, 0.9):
                up, ur = mask_precision_recall(prob > t, truth)
                scores.append((2 * up * ur / max(up + ur, 1e-9), t, up, ur))
            f1, t, up, ur = max(scores)
            unet_out, _, _ = run_bian(dirty, detected=prob > t)
            row.update({"unet_threshold": t, "unet_P": up, "unet_R": ur, "psnr_unet": psnr(unet_out, clean)})
        rows.append(row)
        print(f"  {label}: P {p:.3f} R {r:.3f} PSNR {row['psnr_in']:.2f} → bian {ours:.2f} dB, "
              f"best FFmpeg {best[0]:.2f} dB ({best[1]}), {per_frame:.2f} s/frame", file=sys.stderr)
    return rows, _pooled(pooled)


def _pooled(pairs):
    """Precision and recall over all clips' pixels together."""
    hits_d = det = hits_t = tru = 0
    for found, truth in pairs:
        p, r = mask_precision_recall(found, truth)
        det += found.sum()
        tru += truth.sum()
        hits_d += p * found.sum()
        hits_t += r * truth.sum()
    return hits_d / max(det, 1), hits_t / max(tru, 1)


def print_film(rows, pooled):
    print("\n### Film dust, hairs and line scratches (damaged real frames)\n")
    print("| clip | frames | damaged px | precision | recall | PSNR damaged | PSNR bian | best FFmpeg chain "
          "| PSNR FFmpeg | bian − FFmpeg | bian s/frame |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['clip']} ({r['size']}) | {r['frames']} | {r['damaged_px']:.2%} | {r['P']:.3f} | {r['R']:.3f} "
              f"| {r['psnr_in']:.2f} | {r['psnr_bian']:.2f} | `{r['ffmpeg']}` | {r['psnr_ffmpeg']:.2f} "
              f"| **{r['psnr_bian'] - r['psnr_ffmpeg']:+.2f} dB** | {r['s_per_frame']:.2f} |")
    print(f"\nPooled over the clips: precision {pooled[0]:.3f}, recall {pooled[1]:.3f} (1 px tolerance).")
    print("\nFFmpeg sweep (PSNR dB per clip):\n")
    print("| chain | " + " | ".join(r["clip"] for r in rows) + " |")
    print("|---|" + "---|" * len(rows))
    for k, (chain, _) in enumerate(rows[0]["sweep"]):
        print(f"| `{chain}` | " + " | ".join(f"{r['sweep'][k][1]:.2f}" for r in rows) + " |")
    if "unet_P" in rows[0]:
        print("\nSecond detector, film-dust U-Net (same fill; threshold = best F1 of 0.3/0.5/0.7/0.9):\n")
        print("| clip | threshold | precision | recall | PSNR | temporal detector: P / R / PSNR |")
        print("|---|---|---|---|---|---|")
        for r in rows:
            print(f"| {r['clip']} | {r['unet_threshold']} | {r['unet_P']:.3f} | {r['unet_R']:.3f} | {r['psnr_unet']:.2f} "
                  f"| {r['P']:.3f} / {r['R']:.3f} / {r['psnr_bian']:.2f} |")


PHOTOS = sorted((SHARED / "data" / "photos" / "old").glob("*.png")) + \
    sorted((SHARED / "data" / "photos" / "historical").glob("*"))[:5]


def _load_photo(path: Path, side: int = 640) -> np.ndarray:
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    scale = min(1.0, side / max(bgr.shape[:2]))
    if scale < 1.0:
        bgr = cv2.resize(bgr, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB).astype(np.float32) / 255.0


def photo_part():
    results = {}
    for kind, kwargs in (("cracks", {"count": 6, "holes": 0}), ("holes", {"count": 0, "holes": 2})):
        rows = []
        for n, path in enumerate(PHOTOS):
            clean = _load_photo(path)
            dirty, mask = damage.add_cracks(clean, np.random.default_rng(100 + n), **kwargs)
            u8 = (np.clip(dirty, 0, 1) * 255 + 0.5).astype(np.uint8)
            m8 = mask.astype(np.uint8)
            start = time.perf_counter()
            ours = inpaint.inpaint(dirty, mask)
            seconds = time.perf_counter() - start
            row = {"photo": path.name, "bian": psnr(ours, clean, mask), "seconds": seconds,
                   "damaged": psnr(dirty, clean, mask)}
            for name, flag in (("telea", cv2.INPAINT_TELEA), ("ns", cv2.INPAINT_NS)):
                for radius in (1, 3, 5, 9):
                    filled = cv2.inpaint(u8, m8, radius, flag).astype(np.float32) / 255.0
                    row[f"{name}{radius}"] = psnr(filled, clean, mask)
            if kind == "cracks":
                row["detect"] = mask_precision_recall(cracks.detect_cracks(dirty), mask)
            rows.append(row)
        results[kind] = rows
        print(f"  photos, {kind}: bian {np.mean([r['bian'] for r in rows]):.2f} dB", file=sys.stderr)
    # false alarms: what the detector would repair on undamaged photos (every real ridge it takes for a crack
    # is picture detail the fill would wipe out)
    results["clean"] = [{"photo": path.name, "flagged": float(cracks.detect_cracks(_load_photo(path)).mean())}
                        for path in sorted((SHARED / "data" / "photos" / "historical").glob("*"))]
    return results


def print_photo(results):
    clean = results.pop("clean")
    for kind, rows in results.items():
        keys = [k for k in rows[0] if k.startswith(("telea", "ns"))]
        means = {k: float(np.mean([r[k] for r in rows])) for k in keys + ["bian", "damaged", "seconds"]}
        best_telea = max((k for k in keys if k.startswith("telea")), key=means.get)
        best_any = max(keys, key=means.get)
        print(f"\n### Photo {kind}: PSNR inside the damaged area (dB), {len(rows)} real photos\n")
        print(f"| photo | damaged | bian | Telea (best radius: {best_telea[5:]}) | best OpenCV ({best_any}) | bian − Telea |")
        print("|---|---|---|---|---|---|")
        for r in rows:
            print(f"| {r['photo'][:40]} | {r['damaged']:.2f} | {r['bian']:.2f} | {r[best_telea]:.2f} | {r[best_any]:.2f} "
                  f"| {r['bian'] - r[best_telea]:+.2f} |")
        print(f"| **mean** | {means['damaged']:.2f} | **{means['bian']:.2f}** | {means[best_telea]:.2f} "
              f"| {means[best_any]:.2f} | **{means['bian'] - means[best_telea]:+.2f}** |")
        print("\nOpenCV radius sweep (mean dB): " + ", ".join(f"{k} {means[k]:.2f}" for k in keys)
              + f"; bian {means['seconds']:.2f} s per photo.")
        if kind == "cracks":
            ps, rs = zip(*(r["detect"] for r in rows))
            print(f"\nCrack detector (no mask given) on the same photos: precision {np.mean(ps):.3f}, "
                  f"recall {np.mean(rs):.3f} (mean over photos, 1 px tolerance).")
    flagged = [r["flagged"] for r in clean]
    print(f"\nFalse alarms on {len(clean)} undamaged photos (photos/historical, 640 px): {np.mean(flagged):.2%} of pixels "
          f"taken for cracks on average, most {max(flagged):.2%} ({max(clean, key=lambda r: r['flagged'])['photo'][:40]}).")


def pairs_part(folder: Path):
    """Before/after JPEGs of the real scratched photos (detector + fill, no mask), side by side."""
    folder.mkdir(parents=True, exist_ok=True)
    for path in sorted((SHARED / "data" / "photos" / "scratched").glob("*.png")):
        rgb = _load_photo(path, side=1024)
        mask = cracks.detect_cracks(rgb)
        out = inpaint.inpaint(rgb, mask)
        pair = np.concatenate([rgb, np.ones((rgb.shape[0], 8, 3), np.float32), out], axis=1)
        if pair.shape[1] > 1000:
            pair = cv2.resize(pair, None, fx=1000 / pair.shape[1], fy=1000 / pair.shape[1], interpolation=cv2.INTER_AREA)
        target = folder / f"repair_scratched_{path.stem}.jpg"
        bgr = cv2.cvtColor((np.clip(pair, 0, 1) * 255 + 0.5).astype(np.uint8), cv2.COLOR_RGB2BGR)
        cv2.imwrite(str(target), bgr, [cv2.IMWRITE_JPEG_QUALITY, 85])
        print(f"  {target} ({target.stat().st_size // 1024} KB, {mask.mean():.1%} of pixels repaired)", file=sys.stderr)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=("all", "film", "photo", "pairs"), default="all")
    parser.add_argument("--frames", type=int, default=16, help="frames per film clip (default 16)")
    parser.add_argument("--pairs-dir", type=Path, default=Path("docs/img"))
    parser.add_argument("--no-unet", action="store_true", help="skip the U-Net detector")
    parser.add_argument("--clips", nargs="+", choices=[c[0] for c in CLIPS], help="film clips to run (default all)")
    parser.add_argument("--threads", type=int, default=2, help="threads for OpenCV and for FFmpeg (default 2)")
    args = parser.parse_args()
    cv2.setNumThreads(args.threads)
    ffmpeg_anchor.THREADS = args.threads
    if not (SHARED / "data").is_dir():
        sys.exit(f"shared data not found at {SHARED} (set BIAN_SHARED)")
    print(f"bench_repair, {time.strftime('%Y-%m-%d')}, {os.cpu_count()} CPUs", file=sys.stderr)
    if args.part in ("all", "film"):
        net = None if args.no_unet else SHARED / "weights" / "film_dust_unet"
        rows, pooled = film_part(args.frames, net, args.clips)
        print_film(rows, pooled)
    if args.part in ("all", "photo"):
        print_photo(photo_part())
    if args.part in ("all", "pairs"):
        pairs_part(args.pairs_dir)


if __name__ == "__main__":
    main()
