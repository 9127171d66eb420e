"""YUV ⇄ RGB for sources of more than 8 bits: bian.media.yuv against swscale through PyAV (the path it
replaces: ``to_ndarray(format="rgb48le")`` to decode, ``from_ndarray`` + ``reformat`` to encode).

Accuracy: mean error (8-bit levels) on a 10-bit grey ramp (decode) and on a 16-bit grey ramp written to
10-bit YUV (encode), each against the exact code values. Also timed: RGB into full-range 8-bit YUV. Speed: the same frames, calls alternating one by
one so that a shared machine's slow spells hit both; the median time of each and the median of the
paired ratios. CPU time by default (like for like: OpenCV on one thread, as swscale converts); ``--wall``
for wall-clock time with OpenCV's own threads.

    python benchmarks/bench_yuv.py [--rounds 100] [--wall]
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import av
import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from bian.media import yuv  # noqa: E402

SOURCES = [  # (label, size, ffmpeg encoder arguments)
    ("HEVC 10-bit 4:2:0", "1920x1080", ["-c:v", "libx265", "-pix_fmt", "yuv420p10le", "-x265-params", "log-level=error"]),
    ("ProRes 422 HQ", "1920x1080", ["-c:v", "prores_ks", "-profile:v", "3"]),
    ("H.264 10-bit 4:2:0", "720x576", ["-c:v", "libx264", "-pix_fmt", "yuv420p10le"]),
]


def accuracy() -> tuple[float, float, float, float]:
    """(swscale, here) mean decode error and (swscale, here) mean encode error, 8-bit levels."""
    h, w = 64, 256
    luma = (64 + np.round(np.linspace(0, 876, w)))[None, :].repeat(h, 0).astype(np.uint16)
    picture = av.VideoFrame(w, h, "yuv420p10le")
    for plane, value in zip(picture.planes, (luma, 512, 512)):
        yuv._plane(plane)[:] = value
    picture.colorspace, picture.color_range = 1, 1
    exact = (luma - 64) / 876 * 255
    decode = [(rgb.astype(np.float64) / 257 - exact[..., None]).mean()
              for rgb in (picture.to_ndarray(format="rgb48le"), yuv.to_rgb48(picture))]
    grey = np.round(np.linspace(0, 1, w)[None, :].repeat(h, 0) * 65535).astype(np.uint16)
    rgb = np.dstack([grey] * 3)
    swscale = av.VideoFrame.from_ndarray(rgb, format="rgb48le").reformat(
        format="yuv420p10le", dst_colorspace=1, dst_color_range=1)
    ours = yuv.from_rgb(rgb, "yuv420p10le", 1, 1)
    target = 64 + 876 * grey.astype(np.float64) / 65535
    encode = [(yuv._plane(p.planes[0]) - target).mean() / 4 for p in (swscale, ours)]  # 10-bit codes → 8-bit
    return decode[0], decode[1], encode[0], encode[1]


def speed(path: Path, rounds: int, clock) -> list[float]:
    frames = [f for f in av.open(str(path)).decode(video=0)][:4]
    fmt = frames[0].format.name
    rgbs = [yuv.to_rgb48(f) for f in frames]
    pairs = [
        (lambda f: f.to_ndarray(format="rgb48le"), yuv.to_rgb48, frames),
        (lambda a: av.VideoFrame.from_ndarray(a, format="rgb48le").reformat(format=fmt, dst_colorspace=1,
                                                                            dst_color_range=1),
         lambda a: yuv.from_rgb(a, fmt, 1, 1), rgbs),
    ]
    row = []
    for old, new, items in pairs:
        t_old, t_new = [], []
        for i in range(rounds):
            item = items[i % len(items)]
            for fn, store in ((old, t_old), (new, t_new)) if i % 2 else ((new, t_new), (old, t_old)):
                start = clock()
                fn(item)
                store.append(clock() - start)
        row += [np.median(t_old) * 1e3, np.median(t_new) * 1e3, float(np.median(np.asarray(t_new) / np.asarray(t_old)))]
    return row


def speed_full_range_8bit(path: Path, rounds: int, clock) -> list[float]:
    """RGB → full-range 8-bit 4:2:0 (MJPEG cameras, phones): swscale with bian's accurate flags vs here."""
    from bian.media.video import conversion

    rgbs = [f.to_ndarray(format="rgb24") for f in list(av.open(str(path)).decode(video=0))[:4]]
    t_old, t_new = [], []
    for i in range(rounds):
        rgb = rgbs[i % len(rgbs)]
        old = lambda: av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(  # noqa: E731
            format="yuv420p", dst_colorspace=5, dst_color_range=2, interpolation=conversion("rgb24"))
        new = lambda: yuv.from_rgb(rgb, "yuv420p", 5, 2)  # noqa: E731
        for fn, store in ((old, t_old), (new, t_new)) if i % 2 else ((new, t_new), (old, t_old)):
            start = clock()
            fn()
            store.append(clock() - start)
    return [np.median(t_old) * 1e3, np.median(t_new) * 1e3, float(np.median(np.asarray(t_new) / np.asarray(t_old)))]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=100)
    parser.add_argument("--wall", action="store_true", help="wall-clock time, OpenCV on its own threads")
    args = parser.parse_args()
    if not args.wall:
        cv2.setNumThreads(1)
    clock = time.perf_counter if args.wall else time.process_time
    d_sws, d_here, e_sws, e_here = accuracy()
    print("Mean error on grey ramps (8-bit levels): decode 10-bit → RGB: swscale "
          f"{d_sws:+.3f}, bian {d_here:+.3f}; encode 16-bit RGB → 10-bit: swscale {e_sws:+.3f}, bian {e_here:+.3f}\n")
    print(f"{'wall-clock' if args.wall else 'CPU'} ms per frame, median of {args.rounds} alternating calls\n")
    print("| source | decode swscale | decode bian | ratio | encode swscale | encode bian | ratio |")
    print("|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for label, size, codec in SOURCES:
            path = Path(tmp) / "src.mkv"
            subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i",
                            f"testsrc2=size={size}:rate=25:duration=0.16", *codec, str(path)], check=True)
            row = speed(path, args.rounds, clock)
            print(f"| {label} {size.replace('x', '×')} | " + " | ".join(
                f"{v:.2f}" if i % 3 == 2 else f"{v:.1f}" for i, v in enumerate(row)) + " |")
            if label.startswith("HEVC"):
                full = speed_full_range_8bit(path, args.rounds, clock)
    print(f"\nRGB → full-range 8-bit 4:2:0 at 1920×1080 (encode only): swscale {full[0]:.1f} ms, "
          f"bian {full[1]:.1f} ms, ratio {full[2]:.2f}")


if __name__ == "__main__":
    main()
