"""Peak memory of the film chain (``--dust --denoise 1 --deflicker --stabilise``), and its output.

Each case runs in a fresh process: the plan's stages through :func:`bian.pipeline.runner.chain`, fed by
the runner's decoder and decode-ahead queue as a real run is (no encoder), for the first N frames of a
clip. The parent reads the child's own peak resident memory and CPU time (``os.wait4``); the child
hashes every float32 frame out of the chain, so two code versions can be checked for identical pixels.

    python benchmarks/bench_memory.py                        # this checkout
    python benchmarks/bench_memory.py --before /tmp/old/src  # and another checkout's src, same run

Clips: sample_bw at its own 920×672, the same scaled to 1920×1080 (made once with the ffmpeg CLI into
the cache folder; both versions read the same file), and remaster_clip (432×320, colour).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SRC = HERE.parent / "src"
FILM = HERE.parent.parent / "shared" / "data" / "film"
OPTIONS = {"dust": True, "denoise": 1, "deflicker": True, "stabilise": True}
THREADS = "2"

CHILD = r"""
import hashlib, json, sys, time
from pathlib import Path
import cv2
cv2.setNumThreads(int(sys.argv[4]))
from bian.media.video import VideoReader
from bian.pipeline.plan import build_plan
from bian.pipeline.runner import chain, prefetch
plan = build_plan(Path(sys.argv[1]), Path(sys.argv[2]), json.loads(sys.argv[5]))
digest, count = hashlib.sha256(), 0
for frame in chain(plan.stages, prefetch(VideoReader(plan.info).frames(0, int(sys.argv[3])))):
    digest.update(frame.image.tobytes())
    count += 1
print(json.dumps({"frames": count, "hash": digest.hexdigest()[:16], "dtype": str(frame.image.dtype)}))
"""


def clips(cache: Path, frames: dict[str, int]) -> list[tuple[str, Path, int]]:
    """(label, file, frames) per case; the 1080p clip is scaled from sample_bw once."""
    scaled = cache / f"sample_bw_1920x1080_{frames['1920x1080']}.mp4"
    if not scaled.exists():
        cache.mkdir(parents=True, exist_ok=True)
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(FILM / "sample_bw.mp4"), "-frames:v",
                        str(frames["1920x1080"]), "-vf", "scale=1920:1080:flags=lanczos", "-c:v", "libx264",
                        "-preset", "veryfast", "-crf", "12", "-pix_fmt", "yuv420p", str(scaled)], check=True)
    return [("920x672 sample_bw", FILM / "sample_bw.mp4", frames["920x672"]),
            ("1920x1080 sample_bw", scaled, frames["1920x1080"]),
            ("432x320 remaster_clip", FILM / "remaster_clip.mp4", frames["432x320"])]


def measure(src: Path, clip: Path, frames: int, cache: Path) -> dict:
    """Run the chain in a child importing bian from ``src``; its peak RSS (MB), CPU and wall seconds."""
    env = dict(os.environ, PYTHONPATH=str(src), OMP_NUM_THREADS=THREADS, OPENBLAS_NUM_THREADS=THREADS,
               MKL_NUM_THREADS=THREADS)
    started = time.monotonic()
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(clip), str(cache / "unused.mp4"), str(frames),
                              THREADS, json.dumps(OPTIONS)], env=env, stdout=subprocess.PIPE, text=True)
    out = child.stdout.read()
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise SystemExit(f"child failed ({child.returncode}) on {clip} with {src}")
    result = json.loads(out.strip().splitlines()[-1])
    result.update(rss_mb=usage.ru_maxrss / 1024, cpu_s=usage.ru_utime + usage.ru_stime,
                  wall_s=time.monotonic() - started)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=Path, help="src folder of another checkout, measured in the same run")
    parser.add_argument("--frames-920", type=int, default=100)
    parser.add_argument("--frames-1080", type=int, default=60)
    parser.add_argument("--frames-432", type=int, default=60)
    parser.add_argument("--cache", type=Path, default=Path("/tmp/bian-bench-memory"))
    parser.add_argument("--only", help="run only the cases whose label contains this text")
    args = parser.parse_args()
    frames = {"920x672": args.frames_920, "1920x1080": args.frames_1080, "432x320": args.frames_432}
    versions = [("before", args.before)] if args.before else []
    versions.append(("after", SRC))
    print(f"chain: {' '.join('--' + k if v is True else f'--{k} {v}' for k, v in OPTIONS.items())}; "
          f"threads {THREADS}; load {os.getloadavg()[0]:.2f}")
    print(f"{'clip':24} {'frames':>6} {'version':8} {'peak RSS MB':>11} {'CPU s':>8} {'wall s':>8} hash")
    rows = {}
    for label, clip, n in clips(args.cache, frames):
        if args.only and args.only not in label:
            continue
        for name, src in versions:
            r = rows[label, name] = measure(src, clip, n, args.cache)
            print(f"{label:24} {r['frames']:>6} {name:8} {r['rss_mb']:>11.0f} {r['cpu_s']:>8.1f} "
                  f"{r['wall_s']:>8.1f} {r['hash']}", flush=True)
        if args.before:
            b, a = rows[label, "before"], rows[label, "after"]
            print(f"{'':24} {'':>6} {'ratio':8} {b['rss_mb'] / a['rss_mb']:>10.2f}x "
                  f"{a['cpu_s'] / b['cpu_s']:>8.2f} {'':>8} {'identical' if a['hash'] == b['hash'] else 'DIFFERENT'}",
                  flush=True)
    print(f"load after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
