"""Foundation benchmark: pass-through throughput and peak memory.

1. Throughput on a 720p clip: `bian restore` (decode → no stages → H.264 CRF 18, audio copied) against
   `ffmpeg -i in -c:v libx264 -crf 18 out` on the same file, alternating runs so both see the same machine
   load; the median of the per-pair ratios is the figure (target ≥ 0.8).
2. Peak memory (max RSS of the process) restoring a short clip and one 10× longer (target ≤ 1.1×).

Usage: python benchmarks/bench_passthrough.py [--seconds 10] [--pairs 3] [--work DIR]
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def make_clip(path: Path, seconds: float, size: str = "1280x720") -> Path:
    if not path.exists():
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", f"testsrc2=size={size}:rate=25:duration={seconds}",
                        "-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}", "-c:v", "libx264", "-crf", "20",
                        "-preset", "veryfast", "-c:a", "aac", "-pix_fmt", "yuv420p", str(path)], check=True)
    return path


def timed(cmd: list[str]) -> tuple[float, float, int]:
    """Wall seconds, CPU seconds (user + system) and peak RSS (MiB) of one command."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    if status != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}")
    return elapsed, usage.ru_utime + usage.ru_stime, usage.ru_maxrss // 1024


def bian_cmd(src: Path, out: Path) -> list[str]:
    return [sys.executable, "-m", "bian.cli", str(src), "-o", str(out), "-q", "--fresh"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--work", type=Path, default=None)
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="bian-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    frames = int(args.seconds * 25)
    clip = make_clip(work / f"clip_{int(args.seconds)}s.mp4", args.seconds)

    print(f"## Pass-through throughput, 1280×720, {frames} frames, H.264 CRF 18 preset medium\n")
    print(f"load average at start: {os.getloadavg()[0]:.1f}\n")
    print("| pair | ffmpeg s | ffmpeg fps | bian s | bian fps | bian / ffmpeg fps | ffmpeg CPU s | bian CPU s |")
    print("|---|---|---|---|---|---|---|---|")
    ratios, cpu_ratios = [], []
    for pair in range(1, args.pairs + 1):
        t_ff, cpu_ff, _ = timed(["ffmpeg", "-v", "error", "-y", "-i", str(clip), "-c:v", "libx264", "-crf", "18",
                                 str(work / "ffmpeg_out.mp4")])
        t_bian, cpu_bian, _ = timed(bian_cmd(clip, work / "bian_out.mp4"))
        ratios.append(t_ff / t_bian)
        cpu_ratios.append(cpu_ff / cpu_bian)
        print(f"| {pair} | {t_ff:.2f} | {frames / t_ff:.1f} | {t_bian:.2f} | {frames / t_bian:.1f} | {t_ff / t_bian:.2f} "
              f"| {cpu_ff:.2f} | {cpu_bian:.2f} |")
    print(f"\nmedian throughput ratio bian/ffmpeg: **{statistics.median(ratios):.2f}** (target ≥ 0.8); "
          f"by CPU time: {statistics.median(cpu_ratios):.2f}\n")

    long_clip = make_clip(work / f"clip_{int(args.seconds * 10)}s.mp4", args.seconds * 10)
    _, _, rss_short = timed(bian_cmd(clip, work / "short_out.mp4"))
    _, _, rss_long = timed(bian_cmd(long_clip, work / "long_out.mp4"))
    print("## Peak memory (max RSS of the bian process)\n")
    print("| clip | frames | peak RSS MiB |")
    print("|---|---|---|")
    print(f"| short | {frames} | {rss_short} |")
    print(f"| 10× longer | {frames * 10} | {rss_long} |")
    print(f"\nratio long/short: **{rss_long / rss_short:.3f}** (target ≤ 1.1)")
    if args.work is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
