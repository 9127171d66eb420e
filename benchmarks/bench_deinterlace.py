"""Deinterlacing on interlaced clips with a known answer, against FFmpeg's deinterlacers in the same run.

Real progressive footage from ``../shared/data`` (and FFmpeg's synthetic ``testsrc2`` pattern, sharp
saturated graphics at 50 fps) becomes interlaced the way a camera makes it: woven
frame k holds the first field's lines from source frame 2k and the second field's from frame 2k+1
(both field orders). The answer for frame k is source frame 2k (the first field's moment), which is
what bian's deinterlace stage outputs (one frame per woven frame, at its first field's time).
With ``--h264`` the clip becomes a real capture file instead: each moment to 4:2:0, fields woven, coded
as interlaced H.264 (x264 ``+ildct+ilme``, crf 18, field order flagged), as a DV/HDV/broadcast capture;
bian reads it with its own reader (the stage gets the decoded planes) and FFmpeg deinterlaces it as
``ffmpeg -i capture.mp4 -vf bwdif`` does (on the decoded planes), both then converted to RGB.

Scores per clip and field order: PSNR (dB) and SSIM against the answer over whole frames, combing
(:func:`bian.temporal.deinterlace.combing`, 8-bit levels; the answer's own is shown for reference: real
fine horizontal detail scores too), and CPU seconds per frame (bian: this process, the stage run as
the runner runs it; FFmpeg: the ffmpeg process, including its pipes and format conversion).

    python benchmarks/bench_deinterlace.py             # all clips, both field orders
    python benchmarks/bench_deinterlace.py --pairs 6   # fewer frames
    python benchmarks/bench_deinterlace.py --h264      # real interlaced H.264 capture files
    python benchmarks/bench_deinterlace.py --detail    # also every method's SSIM, combing and CPU per clip
    python benchmarks/bench_deinterlace.py --pulldown  # film in fields (3:2 telecine, 2:2 shifted by a field)
    python benchmarks/bench_deinterlace.py --detect    # is an unflagged file interlaced? bian's plan vs idet

``--detect`` counts what ``--deinterlace auto`` decides for files whose stream is not flagged interlaced:
each clip woven (both orders) and written without the flag (progressive H.264, FFV1 4:2:2 as a VHS
capture, MJPEG AVI, numbered PNG frames) must be seen, in its order; every progressive video in
``../shared`` (film, animate), the clips here rendered progressive (as they are, each frame held twice,
line-doubled from half height) and every still in ``../shared`` made a pan-and-zoom video must not (false
alarms). FFmpeg's ``idet`` filter on the same files is the anchor (its multi-frame counts over up to 400
frames; interlaced when its TFF + BFF frames outnumber its progressive ones).
"""
from __future__ import annotations

import argparse
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np
from skimage.metrics import structural_similarity

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "src"))

import ffmpeg_anchor  # noqa: E402

from bian.frame import Frame  # noqa: E402
from bian.media.sequence import scan  # noqa: E402
from bian.media.video import VideoReader, probe_video  # noqa: E402
from bian.pipeline.plan import build_plan  # noqa: E402
from bian.pipeline.runner import apply_stage  # noqa: E402
from bian.stages.deinterlace import Deinterlace, look, pulled_down  # noqa: E402
from bian.temporal.deinterlace import combing, field_pattern, line_double, weave  # noqa: E402

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"

CLIPS = {
    # name: (file or folder, first source frame, crop (w, h) from the centre or None)
    "frames_002 (old film, 640×480)": ("film/frames_002", 0, None),
    "sample_bw (film, 920×672 → 640×480)": ("film/sample_bw.mp4", 120, (640, 480)),
    "remaster_clip (damaged film, 432×320)": ("film/remaster_clip.mp4", 60, None),
    "driving (head moving, 410×412)": ("animate/driving.mp4", 20, None),
    "testsrc2 (FFmpeg's synthetic colour pattern, 50 fps, 480×320)": ("lavfi:testsrc2=size=480x320:rate=50", 0, None),
}


def load(source: str, start: int, count: int, crop) -> np.ndarray:
    """``count`` consecutive source frames as float32 N×H×W×3 in [0, 1] (even height and width)."""
    path = SHARED / source
    if source.startswith("lavfi:"):
        w, h = (int(v) for v in source.split("size=")[1].split(":")[0].split("x"))
        raw = subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", source[6:], "-frames:v", str(start + count),
                              "-f", "rawvideo", "-pix_fmt", "rgb24", "-"], capture_output=True, check=True).stdout
        frames = list(np.frombuffer(raw, np.uint8).reshape(-1, h, w, 3)[start:])
    elif path.is_dir():
        files = sorted(path.glob("*.png"))[start:start + count]
        frames = [cv2.cvtColor(cv2.imread(str(f)), cv2.COLOR_BGR2RGB) for f in files]
    else:
        frames = [f.image for f in VideoReader(probe_video(path)).frames(start, start + count)]
    out = np.stack(frames).astype(np.float32) / 255
    if crop:
        h, w = out.shape[1:3]
        y, x = (h - crop[1]) // 2, (w - crop[0]) // 2
        out = out[:, y:y + crop[1], x:x + crop[0]]
    return out[:, : out.shape[1] // 2 * 2, : out.shape[2] // 2 * 2]


def h264_capture(clip: np.ndarray, top_first: bool, folder: Path) -> Path:
    """The progressive ``clip`` (taken as field moments, 50 per second) made into an interlaced capture as
    a camera writes it: 4:2:0 per moment, fields woven (FFmpeg tinterlace), interlaced H.264 (x264
    +ildct+ilme, crf 18) flagged with its field order."""
    n, h, w = clip.shape[:3]
    order = "tff" if top_first else "bff"
    path = folder / f"capture_{order}.mp4"
    raw = (np.clip(clip, 0, 1) * 255 + 0.5).astype(np.uint8).tobytes()
    weave_filter = f"format=yuv420p,tinterlace=mode=interleave_{'top' if top_first else 'bottom'},setfield={order}"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{w}x{h}", "-r", "50",
                    "-i", "-", "-vf", weave_filter, "-c:v", "libx264", "-crf", "18", "-preset", "fast",
                    "-flags", "+ildct+ilme", "-x264-params", f"{order}=1", str(path)], input=raw, check=True)
    return path


def decode_rgb(path: Path) -> np.ndarray:
    """The capture's frames as bian's reader gives them (float32 RGB)."""
    return np.stack([f.rgb() for f in VideoReader(probe_video(path)).frames()])


def run_bian(woven: np.ndarray | Path, top_first: bool) -> tuple[np.ndarray, float]:
    """bian's stage over the clip (windows as the runner makes them); (frames, CPU s/frame). A capture
    file is read by bian's reader, as a restore reads it (its decoded pictures go to the stage, and the
    decoding counts in the time)."""
    stage = Deinterlace(top_first)
    started = time.process_time()
    if isinstance(woven, Path):
        frames = VideoReader(probe_video(woven)).frames()
    else:
        frames = [Frame(image=f, time=Fraction(k, 25), duration=Fraction(1, 25), index=k) for k, f in enumerate(woven)]
    out = np.stack([f.rgb() for f in apply_stage(stage, frames)])
    return out, (time.process_time() - started) / len(out)


def run_ffmpeg(woven: np.ndarray | Path, name: str, top_first: bool) -> tuple[np.ndarray, float]:
    """FFmpeg's deinterlacer ``name`` over the woven frames (as 16-bit planar RGB), or over a capture file
    (on its decoded YUV planes, as ``ffmpeg -vf bwdif`` on the file works); (frames, CPU s/frame)."""
    parity = "tff" if top_first else "bff"
    options = f"mode=frame:parity={parity}:deint=all" if name == "estdif" else \
        f"mode=send_frame:parity={parity}:deint=all"
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    if isinstance(woven, Path):
        reference = decode_rgb(woven)
        cmd = ["ffmpeg", "-v", "error", "-threads", str(ffmpeg_anchor.THREADS), "-filter_threads",
               str(ffmpeg_anchor.THREADS), "-i", str(woven), "-vf", f"{name}={options}", "-sws_flags",
               "accurate_rnd+full_chroma_int+bitexact", "-f", "rawvideo", "-pix_fmt", "rgb48le", "-"]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        raw = subprocess.run(cmd, capture_output=True, check=True).stdout
        out = np.frombuffer(raw, "<u2").reshape(reference.shape).astype(np.float32) / 65535
    else:
        out = ffmpeg_anchor.run_filter(woven, f"format=gbrp16le,setfield={parity},{name}={options}", fps=25)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return out, cpu / len(out)


def scores(out: np.ndarray, truth: np.ndarray) -> tuple[float, float, float]:
    """(PSNR dB, SSIM, combing) averaged over frames; PSNR from the mean squared error of all frames."""
    q = np.round(np.clip(out, 0, 1) * 255) / 255  # as written to 8-bit video
    mse = float(((q - truth) ** 2).mean())
    psnr = 10 * np.log10(1 / max(mse, 1e-12))
    ssim = float(np.mean([structural_similarity(a, b, channel_axis=2, data_range=1.0) for a, b in zip(q, truth)]))
    return psnr, ssim, float(np.mean([combing(f) for f in q]))


def pull_down(clip: np.ndarray, kind: str) -> tuple[np.ndarray, np.ndarray]:
    """Film frames carried in fields, top field first: "3:2" (telecine: A/A B/B B/C C/D D/D per four film
    frames) or "2:2 shifted" (each frame's bottom field from the next film frame). Returns (woven frames,
    the film frame each one's first field shows)."""
    if kind == "3:2":
        frames, shown = [], []
        for a, b, c, d in zip(clip[0::4], clip[1::4], clip[2::4], clip[3::4]):
            frames += [a, b, weave(b, c), weave(c, d), d]
            shown += [a, b, b, c, d]
        return np.stack(frames), np.stack(shown)
    return np.stack([weave(a, b) for a, b in zip(clip[:-1], clip[1:])]), clip[:-1]


def run_bian_pulldown(woven: np.ndarray) -> tuple[np.ndarray, float, bool]:
    """bian's stage as a plan would build it for this clip: matching only if the look finds pull-down."""
    started = time.process_time()
    match = pulled_down(field_pattern([f.mean(axis=2) for f in woven]))
    stage = Deinterlace(True, match=match)
    frames = [Frame(image=f, time=Fraction(k, 30), duration=Fraction(1, 30), index=k) for k, f in enumerate(woven)]
    out = np.stack([f.rgb() for f in apply_stage(stage, frames)])
    return out, (time.process_time() - started) / len(out), match


def pulldown_main(pairs: int) -> None:
    """Film in fields: bian (field matching as the plan decides it, else its deinterlacer), FFmpeg's
    fieldmatch with bwdif for what it leaves combed, and bwdif alone."""
    print(f"# pull-down — {platform.node()} {platform.machine()}, {4 * (pairs // 2)} film frames per clip, "
          "top field first")
    print("\n| clip | carried as | bian matches | PSNR bian | PSNR fieldmatch+bwdif | PSNR bwdif | PSNR woven | "
          "CPU bian | CPU fieldmatch+bwdif |\n" + "|---" * 9 + "|")
    for label, (source, start, crop) in CLIPS.items():
        clip = load(source, start, 4 * (pairs // 2) + 1, crop)
        for kind in ("3:2", "2:2 shifted"):
            woven, answer = pull_down(clip[:-1] if kind == "3:2" else clip, kind)
            ours, cpu, match = run_bian_pulldown(woven)
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            matched = ffmpeg_anchor.run_filter(woven, "format=gbrp,fieldmatch=order=tff:combmatch=full,"
                                               "bwdif=mode=send_frame:deint=interlaced", fps=30)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            anchor_cpu = ((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)) / len(woven)
            plain, _ = run_ffmpeg(woven, "bwdif", True)
            cells = [scores(x, answer)[0] for x in (ours, matched, plain, woven)]
            print(f"| {label} | {kind} | {'yes' if match else 'no'} | " + " | ".join(f"{v:.2f}" for v in cells)
                  + f" | {cpu:.4f} | {anchor_cpu:.4f} |")


def write_unflagged(path: Path, frames: np.ndarray, kind: str) -> Path:
    """``frames`` (float32 N×H×W×3) written with no interlace flag: "h264" (progressive, 4:2:0, crf 18), "ffv1"
    (4:2:2, lossless), "mjpeg" (AVI, 4:2:2) or "png" (numbered frames; returns the pattern)."""
    raw = (np.clip(frames, 0, 1) * 255 + 0.5).astype(np.uint8)
    if kind == "png":
        path.mkdir()
        for k, f in enumerate(raw):
            cv2.imwrite(str(path / f"{k:06d}.png"), cv2.cvtColor(f, cv2.COLOR_RGB2BGR))
        return path / "%06d.png"
    codec = {"h264": ["-c:v", "libx264", "-crf", "18", "-preset", "fast", "-pix_fmt", "yuv420p"],
             "ffv1": ["-c:v", "ffv1", "-pix_fmt", "yuv422p"],
             "mjpeg": ["-c:v", "mjpeg", "-q:v", "3", "-pix_fmt", "yuvj422p"]}[kind]
    n, h, w = raw.shape[:3]
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{w}x{h}", "-r", "25",
                    "-i", "-", *codec, str(path)], input=raw.tobytes(), check=True)
    return path


def bian_verdict(path: Path, folder: Path) -> tuple[str, str, float]:
    """What ``bian restore`` plans for ``path`` with default options: ("tff"/"bff" when it deinterlaces, else
    "progressive"; what the frames' vertical edges said, as frames combed top first / bottom first / whole
    of the frames judged; seconds to make the plan)."""
    started = time.perf_counter()
    plan = build_plan(path, folder / "out.mkv", {})
    seconds = time.perf_counter() - started
    votes = look(plan.info)  # the plan's own look, kept
    said = f"{votes['edge_tff']}/{votes['edge_bff']}/{votes['edge_progressive']} of {votes['frames']}"
    stage = next((s for s in plan.stages if s.name == "deinterlace"), None)
    return ("progressive" if stage is None else "tff" if stage.top_first else "bff"), said, seconds


def idet_verdict(path: Path) -> tuple[str, str]:
    """FFmpeg idet's multi-frame detection over up to 400 frames: ("tff"/"bff" when its TFF + BFF frames
    outnumber its progressive ones, else "progressive"; the counts TFF/BFF/progressive/undetermined)."""
    source = ["-framerate", "25", "-start_number", str(scan(path).first)] if "%" in path.name else []
    source += ["-i", str(path)]
    done = subprocess.run(["ffmpeg", "-hide_banner", "-nostats", *source, "-frames:v", "400", "-vf", "idet",
                           "-an", "-f", "null", "-"], capture_output=True, text=True, check=True)
    line = next(x for x in done.stderr.splitlines() if "Multi frame detection" in x)
    counts = line.split("TFF:")[1]
    for word in ("BFF:", "Progressive:", "Undetermined:"):
        counts = counts.replace(word, "")
    tff, bff, prog, und = (int(v) for v in counts.split())
    verdict = ("tff" if tff >= bff else "bff") if tff + bff > prog else "progressive"
    return verdict, f"{tff}/{bff}/{prog}/{und}"


def pan_and_zoom(picture: np.ndarray, frames: int = 48, size: tuple[int, int] = (640, 480)) -> np.ndarray:
    """A still made a video as an editor's pan-and-zoom does: ``frames`` views (float32, ``size`` = w, h)
    drifting sideways across the picture while zooming in by 15 %."""
    h, w = picture.shape[:2]
    out = []
    for k in range(frames):
        zoom = 1 + 0.15 * k / frames
        view_w, view_h = w / zoom * 0.8, w / zoom * 0.8 * size[1] / size[0]
        if view_h > h * 0.95:
            view_w, view_h = view_w * h * 0.95 / view_h, h * 0.95
        x0, y0 = (w - view_w) * (0.2 + 0.6 * k / frames), (h - view_h) / 2
        scale = size[0] / view_w
        matrix = np.float32([[scale, 0, -x0 * scale], [0, scale, -y0 * scale]])
        out.append(cv2.warpAffine(picture, matrix, size, flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT))
    return np.clip(np.stack(out), 0, 1)


def detect_main(pairs: int) -> None:
    """Unflagged interlaced files seen or missed, progressive files falsely seen: bian's plan vs FFmpeg idet."""
    print(f"# interlace detection on unflagged files — {platform.node()} {platform.machine()}, up to {pairs} woven "
          "frames per clip (96 as PNG frames)")
    folder = Path(tempfile.mkdtemp(prefix="bench_detect_"))
    woven_rows, progressive_rows, seconds = [], [], []

    def judge(path: Path) -> tuple:
        ours, seen, took = bian_verdict(path, folder)
        seconds.append(took)
        return ours, seen, *idet_verdict(path)

    for label, (source, start, crop) in CLIPS.items():
        name, clip = label.split(" (")[0], load(source, start, 2 * pairs, crop)
        for top_first in (True, False):
            order = "tff" if top_first else "bff"
            woven = np.stack([weave(a, b, top_first) for a, b in zip(clip[0::2], clip[1::2])])
            for kind, suffix in (("h264", ".mp4"), ("ffv1", ".mkv"), ("mjpeg", ".avi"), ("png", "")):
                path = write_unflagged(folder / f"{name}_{order}_{kind}{suffix}",
                                       woven[:96] if kind == "png" else woven, kind)
                woven_rows.append((f"{name}, {order}, {kind}", order, *judge(path)))
        rendered = {"as is": clip, "each frame twice": np.repeat(clip[: len(clip) // 2], 2, axis=0),
                    "line-doubled": np.repeat(clip[:, 0::2], 2, axis=1)}
        for variant, frames in rendered.items():
            path = write_unflagged(folder / f"{name}_{variant.replace(' ', '_')}.mp4", frames, "h264")
            progressive_rows.append((f"{name} rendered progressive, {variant}", *judge(path)))
    for path in (SHARED / "film" / "sample_bw.mp4", SHARED / "film" / "remaster_clip.mp4",
                 SHARED / "animate" / "driving.mp4", SHARED / "animate" / "d0.mp4",
                 SHARED / "film" / "frames_002" / "%04d.png"):
        progressive_rows.append((f"{path.parent.name}/{path.name}", *judge(path)))
    stills = sorted(p for p in SHARED.rglob("*") if p.suffix.lower() in (".jpg", ".jpeg", ".png")
                    and p.parent.name not in ("frames_002", "remaster_refs"))
    for k, still in enumerate(stills):
        picture = cv2.cvtColor(cv2.imread(str(still)), cv2.COLOR_BGR2RGB).astype(np.float32) / 255
        path = write_unflagged(folder / f"still_{k:02d}.mp4", pan_and_zoom(picture), "h264")
        progressive_rows.append((f"pan-and-zoom: {still.relative_to(SHARED)}", *judge(path)))
    shutil.rmtree(folder)
    print("\n## Interlaced, not flagged (woven from progressive footage)\n")
    print("| file | woven | bian | edges: combed tff/bff/whole | idet | idet TFF/BFF/prog/und |\n" + "|---" * 6 + "|")
    for row in woven_rows:
        print("| " + " | ".join(row) + " |")
    print("\n## Progressive (must not be seen interlaced)\n")
    print("| file | bian | edges: combed tff/bff/whole | idet | idet TFF/BFF/prog/und |\n" + "|---" * 5 + "|")
    for row in progressive_rows:
        print("| " + " | ".join(row) + " |")

    def tally(verdicts: list[tuple[str, str]]) -> str:
        right = sum(v == truth for truth, v in verdicts)
        wrong = sum(v not in (truth, "progressive") for truth, v in verdicts)
        return f"{right} right order, {wrong} wrong order, {len(verdicts) - right - wrong} missed"

    print("\n## Summary\n")
    print(f"| detector | interlaced, not flagged ({len(woven_rows)} files) | false alarms on progressive "
          f"({len(progressive_rows)} files) |\n|---|---|---|")
    print(f"| bian (plan, --deinterlace auto) | {tally([(r[1], r[2]) for r in woven_rows])} | "
          f"{sum(r[1] != 'progressive' for r in progressive_rows)} |")
    print(f"| FFmpeg idet | {tally([(r[1], r[4]) for r in woven_rows])} | "
          f"{sum(r[3] != 'progressive' for r in progressive_rows)} |")
    print(f"\nplan time (probe + look, {len(seconds)} files): mean {np.mean(seconds):.2f} s, max {max(seconds):.2f} s")


METHODS = ("woven (no deinterlace)", "line doubling", "bian", "ffmpeg yadif", "ffmpeg bwdif", "ffmpeg estdif")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", type=int, default=12, help="woven frames per clip (default 12)")
    parser.add_argument("--h264", action="store_true", help="real interlaced H.264 capture files")
    parser.add_argument("--detail", action="store_true", help="also a table per clip and field order")
    parser.add_argument("--pulldown", action="store_true", help="film in fields (3:2, 2:2 shifted) instead")
    parser.add_argument("--detect", action="store_true", help="interlace detection on unflagged files instead "
                        "(--pairs: woven frames per clip, 200 unless given)")
    args = parser.parse_args()
    if not ffmpeg_anchor.available():
        sys.exit("ffmpeg CLI not found")
    if args.pulldown:
        pulldown_main(args.pairs)
        return
    if args.detect:
        detect_main(200 if args.pairs == parser.get_default("pairs") else args.pairs)
        return
    print(f"# deinterlace — {platform.node()} {platform.machine()}, {args.pairs} woven frames per clip"
          + (", interlaced H.264 captures (crf 18, 4:2:0)" if args.h264 else ", lossless RGB weave"))
    results: dict[str, dict[str, tuple]] = {}
    folder = Path(tempfile.mkdtemp(prefix="bench_deinterlace_"))
    for label, (source, start, crop) in CLIPS.items():
        clip = load(source, start, 2 * args.pairs, crop)
        truth = clip[0::2]
        for top_first in (True, False):
            woven = np.stack([weave(a, b, top_first) for a, b in zip(clip[0::2], clip[1::2])])
            source = woven
            if args.h264:
                source = h264_capture(clip, top_first, folder)
                woven = decode_rgb(source)
            runs = {"woven (no deinterlace)": (woven, 0.0),
                    "line doubling": (np.stack([line_double(f, top_first) for f in woven]), 0.0),
                    "bian": run_bian(source, top_first)}
            for name in ("yadif", "bwdif", "estdif"):
                runs[f"ffmpeg {name}"] = run_ffmpeg(source, name, top_first)
            row = f"{label}, {'tff' if top_first else 'bff'}"
            results[row] = {name: (*scores(out, truth), cpu) for name, (out, cpu) in runs.items()}
            results[row]["answer"] = (None, None, float(np.mean([combing(f) for f in truth])), None)
            if args.detail:
                print(f"\n## {row} (answer's own combing {results[row]['answer'][2]:.2f})\n")
                print("| method | PSNR dB | SSIM | combing | CPU s/frame |\n|---|---|---|---|---|")
                for name in METHODS:
                    psnr, ssim, comb, cpu = results[row][name]
                    print(f"| {name} | {psnr:.2f} | {ssim:.4f} | {comb:.2f} | {cpu:.4f} |")
    shutil.rmtree(folder)
    print("\n## PSNR (dB) against the first field's true frame\n")
    print("| clip, field order | " + " | ".join(METHODS) + " |\n" + "|---" * (len(METHODS) + 1) + "|")
    for row, runs in results.items():
        best = max(runs[name][0] for name in METHODS)
        cells = [f"**{runs[n][0]:.2f}**" if runs[n][0] == best else f"{runs[n][0]:.2f}" for n in METHODS]
        print(f"| {row} | " + " | ".join(cells) + " |")
    means = {n: np.mean([runs[n][0] for runs in results.values()]) for n in METHODS}
    print("| **mean** | " + " | ".join(f"{means[n]:.2f}" for n in METHODS) + " |")
    print("| mean − bwdif | " + " | ".join(f"{means[n] - means['ffmpeg bwdif']:+.2f}" for n in METHODS)
          + " |")
    print("\n## bian beside bwdif: SSIM, combing (8-bit levels; the answer's own beside), CPU s/frame\n")
    print("| clip, field order | SSIM bian | SSIM bwdif | combing bian | combing bwdif | combing woven | combing answer "
          "| CPU bian | CPU bwdif | CPU bian / bwdif |\n" + "|---" * 10 + "|")
    for row, runs in results.items():
        b, f = runs["bian"], runs["ffmpeg bwdif"]
        woven = runs["woven (no deinterlace)"]
        print(f"| {row} | {b[1]:.4f} | {f[1]:.4f} | {b[2]:.2f} | {f[2]:.2f} | {woven[2]:.2f} | "
              f"{runs['answer'][2]:.2f} | {b[3]:.4f} | {f[3]:.4f} | {b[3] / f[3]:.2f} |")


if __name__ == "__main__":
    main()
