"""Inverse telecine: a 3:2 pull-down transfer (one film frame in five shown twice) back to the film's frames.

Four inputs:
- remaster_clip.mp4 (whole clip, 360 frames at 29 fps): every frame with index ≡ 3 (mod 5) repeats the one
  before, straight through its cuts (measured in notes/issue-9.md); output 4/5 of the rate, 23.2 fps.
- a telecine made here with known truth: sample_bw frames (shrunk to half size) taken as 23.976 fps film;
  each run of 4 film frames becomes 5 video frames, one of them shown twice, at 29.97 fps, the copy with
  light noise (σ 1.5/255), written as H.264 (crf 16, 4:2:0) like a video transfer.
- the same film frames at 59.94 fps, each shown 3 times then 2 (copies noisy), to 23.976 (2/5); anchors
  ``decimate=cycle=5,decimate=cycle=2`` and ``fps=24000/1001`` (nearest frame).
- the same film frames through FFmpeg's 3:2 ``telecine`` filter (interlaced fields), restored end to end by
  ``bian restore`` (deinterlace, then frame rate) and by ``fieldmatch,decimate``: PSNR only (no output frame
  is a source frame once fields are matched or interpolated).

Methods, same run: bian's frame-rate stage at the film's rate, 4/5 (2/5 at 59.94) of the source's (pull-down
undone where the cadence is seen, the default), bian before (``--pulldown keep``: copies replaced by
interpolation, then interpolated to the new rate) and FFmpeg (``-vf decimate``, cycle 5, unless said;
written lossless so both sides are decoded alike).
Columns: output frames; "exact": share of output frames that are bit-identical to a source frame (the rest
are made up); "copies left": consecutive output frames showing the same film frame; "lost": film frames
(within the output's span) never shown; PSNR of output frame j against film frame j (telecine only: output
time j/23.976 is film frame j's own time); CPU seconds of the method.

    python benchmarks/bench_pulldown.py [--film-frames 160] [--threads 1]
"""
from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from bian.frame import Frame  # noqa: E402
from bian.pipeline.plan import Source  # noqa: E402
from bian.pipeline.runner import apply_stage  # noqa: E402
from bian.stages import framerate  # noqa: E402

SHARED = Path(os.environ.get("BIAN_SHARED", Path(__file__).resolve().parents[2] / "shared"))
FILM = SHARED / "data" / "film"


def decode(path: Path) -> list[Frame]:
    with av.open(str(path)) as container:
        return [Frame(image=f.to_ndarray(format="rgb24"), time=Fraction(f.pts) * f.time_base,
                      duration=Fraction(0), index=i) for i, f in enumerate(container.decode(video=0))]


def with_durations(frames: list[Frame], rate: Fraction) -> list[Frame]:
    ends = [f.time for f in frames[1:]] + [frames[-1].time + 1 / rate]
    return [f.replace(duration=end - f.time) for f, end in zip(frames, ends)]


def cpu() -> float:
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def bian(frames: list[Frame], rate: Fraction, share: Fraction, pulldown: str) -> tuple[list[np.ndarray], float]:
    source = Source("video", frames[0].width, frames[0].height, 8, False, rate, len(frames))
    stage = framerate.build({"fps": rate * share, "pulldown": pulldown}, source)[0]
    assert bool(stage.film) == (pulldown == "auto")
    start = cpu()
    out = [f.image if f.image.dtype == np.uint8 else cv2.convertScaleAbs(f.image, alpha=255)
           for f in apply_stage(stage, frames)]
    return out, cpu() - start


def decimate(path: Path, work: Path, threads: int, chain: str = "decimate=cycle=5") -> tuple[list[np.ndarray], float]:
    out = work / "decimated.mkv"
    start = cpu()
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-threads", str(threads), "-i", str(path), "-vf",
                    chain, "-filter_threads", str(threads), "-c:v", "ffv1", str(out)], check=True)
    spent = cpu() - start
    return [f.image for f in decode(out)], spent


def telecine(work: Path, count: int, showings=(1, 2, 1, 1)) -> tuple[Path, list[np.ndarray], list[int]]:
    """sample_bw frames 120 … as film (cuts at 134 and 207 inside), half size, film frame j shown
    ``showings[j % len(showings)]`` times (copies noisy) at 29.97 fps, or 59.94 when 5 showings take 2 film
    frames; also the film frame each video frame shows."""
    with av.open(str(FILM / "sample_bw.mp4")) as container:
        film = []
        for i, f in enumerate(container.decode(video=0)):
            if i >= 120:
                rgb = f.to_ndarray(format="rgb24")
                film.append(cv2.resize(rgb, (rgb.shape[1] // 2, rgb.shape[0] // 2), interpolation=cv2.INTER_AREA))
            if len(film) == count:
                break
    rng = np.random.default_rng(0)
    video, film_of = [], []
    for j, picture in enumerate(film):
        video.append(picture)
        for _ in range(showings[j % len(showings)] - 1):
            noisy = picture.astype(np.float32) + rng.normal(0, 1.5, picture.shape).astype(np.float32)
            video.append(np.clip(np.rint(noisy), 0, 255).astype(np.uint8))
        film_of += [j] * showings[j % len(showings)]
    rate = Fraction(24000, 1001) * sum(showings) / len(showings)
    path = work / f"telecine{rate.numerator}.mp4"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=rate, options={"crf": "16"})
        stream.width, stream.height, stream.pix_fmt = film[0].shape[1], film[0].shape[0], "yuv420p"
        for picture in video:
            for packet in stream.encode(av.VideoFrame.from_ndarray(picture, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path, film, film_of


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return 99.0 if mse == 0 else 10 * np.log10(255 ** 2 / mse)


def score(out: list[np.ndarray], source: list[np.ndarray], film_of: list[int], truth: list[np.ndarray] | None):
    where = {p.tobytes(): i for i, p in reversed(list(enumerate(source)))}
    shown = [film_of[where[p.tobytes()]] if p.tobytes() in where else None for p in out]
    exact = [s for s in shown if s is not None]
    copies = sum(1 for a, b in zip(shown, shown[1:]) if a is not None and a == b)
    lost = len(set(range(min(exact), max(exact) + 1)) - set(exact)) if exact else None
    row = {"frames": len(out), "exact": len(exact) / len(out), "copies left": copies, "lost": lost}
    if truth is not None:
        n = min(len(out), len(truth))
        row["psnr"] = float(np.mean([psnr(out[j], truth[j]) for j in range(n)]))
    return row


def table(name: str, rows: dict) -> None:
    print(f"\n{name}")
    print("| method | frames out | exact source frames | copies left | film frames lost | PSNR vs film (dB) | CPU s |")
    print("|---|---|---|---|---|---|---|")
    for method, (row, spent) in rows.items():
        p = f"{row['psnr']:.2f}" if "psnr" in row else "—"
        print(f"| {method} | {row['frames']} | {row['exact']:.1%} | {row['copies left']} | {row['lost']} | {p} | "
              f"{spent:.1f} |")


def run_clip(name: str, path: Path, film_of: list[int], truth, threads: int, work: Path,
             share: Fraction = Fraction(4, 5), anchors=("decimate=cycle=5",)) -> None:
    frames = decode(path)
    with av.open(str(path)) as container:
        rate = container.streams.video[0].average_rate
    rate = framerate.nominal_rate(Fraction(rate))
    frames = with_durations(frames, rate)
    source = [f.image for f in frames]
    rows = {}
    out, spent = bian(frames, rate, share, "auto")
    rows["bian (pull-down undone)"] = (score(out, source, film_of, truth), spent)
    for chain in anchors:
        out, spent = decimate(path, work, threads, chain)
        rows[f"ffmpeg {chain}"] = (score(out, [f.image for f in decode(path)], film_of, truth), spent)
    out, spent = bian(frames, rate, share, "keep")
    rows["bian before (--pulldown keep)"] = (score(out, source, film_of, truth), spent)
    table(f"{name}: {len(frames)} frames at {rate} fps → {rate * share} fps", rows)


def interlaced(work: Path, count: int, threads: int) -> None:
    """The NTSC chain: the same film frames through FFmpeg's ``telecine`` filter (3:2 fields, top first,
    interlaced H.264), restored by ``bian restore --pulldown remove`` (deinterlace stage, then this one) and
    by ``fieldmatch,decimate``; PSNR of output frame j against film frame j, decoded alike."""
    import bian

    film = work / "film.mkv"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(FILM / "sample_bw.mp4"), "-vf",
                    f"select=between(n\\,120\\,{119 + count}),setpts=N/(24000/1001)/TB,scale=iw/2:ih/2",
                    "-r", "24000/1001", "-c:v", "ffv1", str(film)], check=True)
    source = work / "interlaced.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(film), "-vf", "telecine=first_field=t:pattern=23",
                    "-c:v", "libx264", "-crf", "14", "-flags", "+ilme+ildct", "-x264opts", "tff=1",
                    "-pix_fmt", "yuv420p", "-r", "30000/1001", str(source)], check=True)
    truth = [f.image for f in decode(film)]
    rows = {}
    for method, pulldown in (("bian --pulldown remove", "remove"), ("bian before (--pulldown keep)", "keep")):
        out = work / f"{pulldown}.mkv"
        start = cpu()
        bian.restore(source, out, fps="24000/1001", pulldown=pulldown, codec="ffv1", quiet=True)
        rows[method] = ([f.image for f in decode(out)], cpu() - start)
    rows["ffmpeg fieldmatch,decimate"] = decimate(source, work, threads, "fieldmatch,decimate")
    print(f"\nsample_bw film through 3:2 interlaced telecine ({len(truth)} film frames, H.264): PSNR vs film")
    print("| method | frames out | PSNR mean (dB) | frames below 30 dB | CPU s |")
    print("|---|---|---|---|---|")
    for method, (out, spent) in rows.items():
        values = [psnr(a, b) for a, b in zip(out, truth)]
        print(f"| {method} | {len(out)} | {np.mean(values):.2f} | {sum(v < 30 for v in values)} | {spent:.1f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--film-frames", type=int, default=160)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    cv2.setNumThreads(args.threads)
    print(f"bench_pulldown {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, load {os.getloadavg()[0]:.1f}, "
          f"threads {args.threads}")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        clip = FILM / "remaster_clip.mp4"
        count = len(decode(clip))
        run_clip("remaster_clip (copies at i ≡ 3 mod 5)", clip,
                 [i - (i + 2) // 5 for i in range(count)], None, args.threads, work)
        path, film, film_of = telecine(work, args.film_frames)
        run_clip(f"sample_bw telecine ({len(film)} film frames, H.264)", path, film_of, film, args.threads, work)
        path, film, film_of = telecine(work, args.film_frames, (3, 2))
        run_clip(f"sample_bw 3:2 at 59.94 ({len(film)} film frames, H.264)", path, film_of, film, args.threads, work,
                 Fraction(2, 5), ("decimate=cycle=5,decimate=cycle=2", "fps=24000/1001"))
        interlaced(work, args.film_frames, args.threads)


if __name__ == "__main__":
    main()
