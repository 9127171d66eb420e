"""Super-resolution benchmark: speed against the ncnn engine, quality against bicubic and Lanczos.

    python benchmarks/bench_upscale.py speed   [--threads 2] [--rounds 3] [--x4plus-size 64]
    python benchmarks/bench_upscale.py quality [--frames 12] [--crop 192]
    python benchmarks/bench_upscale.py crops   (before/after strips into docs/img/ and bench-out/upscale/)
    python benchmarks/bench_upscale.py memory  [--seconds 3] [--longer 10]

speed: the same ncnn files, the same input and thread count, run by the ``ncnn`` engine (its default
CPU options, and with bf16 storage, which is faster on CPUs with AVX-512 BF16) and by bian in fp32 and
bf16; rounds alternate between the engines in random order so machine load hits all alike; best round
reported, ratios against the faster ncnn setting. Also the bf16-vs-fp32 output difference.

quality: clean crops of real photos (../shared/data/photos) and film frames
(../shared/data/film/frames_002) are blurred (Gaussian σ 0.5·factor), shrunk ×2 or ×4 (antialiased
area), given Gaussian noise (σ 0.01) and enlarged back. PSNR/SSIM against the clean crop; on the film
frames also a temporal flicker figure: the mean absolute error of frame-to-frame differences,
|Δresult − Δclean| in 8-bit levels (noise or texture that changes from frame to frame raises it).

memory: ``bian restore clip.mp4 --upscale 2`` (CLI, own process) on a generated clip with an AAC track and
on one ``--longer`` times as long; peak RSS of each process, frames and audio checked in the output.
Prints markdown tables for docs/BENCHMARKS.md.
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import torch
from skimage.metrics import structural_similarity

sys.path.insert(0, str(Path(__file__).resolve().parent))
from damage import load_frames, psnr  # noqa: E402

from bian.models import catalogue, loader  # noqa: E402
from bian.stages.resize import lanczos  # noqa: E402
from bian.superres.enlarge import enlarge, finish, super_resolve  # noqa: E402

SHARED = Path(os.environ.get("BIAN_SHARED", Path(__file__).resolve().parents[1].parent / "shared"))
OUT = Path(__file__).resolve().parents[1] / "bench-out" / "upscale"


# ---------------------------------------------------------------- speed

def _ncnn_net(name: str, threads: int, **options):
    import ncnn
    param, weights = catalogue.find_files(name)
    net = ncnn.Net()
    net.opt.use_vulkan_compute = False
    net.opt.num_threads = threads
    for key, value in options.items():
        setattr(net.opt, key, value)
    net.load_param(str(param))
    net.load_model(str(weights))

    def run(chw: np.ndarray) -> np.ndarray:
        ex = net.create_extractor()
        ex.input("data", ncnn.Mat(chw))
        _, out = ex.extract("output")
        return np.array(out)
    return run


def bench_speed(threads: int, rounds: int, x4plus_size: int) -> None:
    if importlib.util.find_spec("ncnn") is None:
        sys.exit("the ncnn package is needed: pip install ncnn")
    torch.set_num_threads(threads)
    print(f"\n### Speed: CPU, {threads} threads, best of {rounds} alternating rounds\n")
    print("Wall seconds, and in brackets the process CPU seconds (robust when other work shares the cores). "
          "ncnn runs twice: its default options, and with bf16 storage (faster on CPUs with AVX-512 BF16); "
          "ratios are the faster ncnn time ÷ bian time, from wall [CPU].\n")
    print("| model | input | ncnn default s | ncnn bf16 s | bian fp32 s | bian bf16 s | fp32 vs ncnn | bf16 vs ncnn | "
          "bf16 vs fp32: max abs | mean abs | PSNR dB |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    rng = np.random.default_rng(0)
    frame = load_frames(SHARED / "data/film/frames_002", 0, 1)[0]
    for name, size in (("realesrgan-x4plus", x4plus_size), ("realesr-animevideov3-x4", 256)):
        chw = np.ascontiguousarray(frame[100:100 + size, 150:150 + size].transpose(2, 0, 1))
        ncnn_default, ncnn_bf16 = _ncnn_net(name, threads), _ncnn_net(name, threads, use_bf16_storage=True)
        fp32 = loader.load(name).to(torch.device("cpu"), torch.float32)
        bf16 = loader.load(name).to(torch.device("cpu"), torch.bfloat16)
        x = torch.from_numpy(chw)[None]
        runs = {"ncnn": lambda: ncnn_default(chw), "ncnn bf16": lambda: ncnn_bf16(chw),
                "fp32": lambda: fp32.run(x), "bf16": lambda: bf16.run(x)}
        for fn in runs.values():  # warm-up: kernel selection, allocations, weight packing
            fn()
        wall = {k: float("inf") for k in runs}
        cpu = dict(wall)
        for _ in range(rounds):
            for key in rng.permutation(list(runs)):
                start, start_cpu = time.perf_counter(), time.process_time()
                runs[key]()
                wall[key] = min(wall[key], time.perf_counter() - start)
                cpu[key] = min(cpu[key], time.process_time() - start_cpu)
        a, b = fp32.run(x).numpy(), bf16.run(x).numpy()
        diff = np.abs(a - b)
        best_wall, best_cpu = min(wall["ncnn"], wall["ncnn bf16"]), min(cpu["ncnn"], cpu["ncnn bf16"])
        cell = lambda k: f"{wall[k]:.2f} [{cpu[k]:.2f}]"  # noqa: E731
        ratio = lambda k: f"{best_wall / wall[k]:.2f}× [{best_cpu / cpu[k]:.2f}×]"  # noqa: E731
        print(f"| {name} | {size}×{size} | {cell('ncnn')} | {cell('ncnn bf16')} | {cell('fp32')} | {cell('bf16')} | "
              f"{ratio('fp32')} | {ratio('bf16')} | {diff.max():.4f} | {diff.mean():.5f} | {psnr(b, a):.1f} |",
              flush=True)


# ---------------------------------------------------------------- quality

def degrade(clean: np.ndarray, factor: int, rng: np.random.Generator) -> np.ndarray:
    """Blur, shrink by ``factor`` (area), add Gaussian noise σ 0.01; float32 in [0, 1]."""
    h, w = clean.shape[:2]
    blurred = cv2.GaussianBlur(clean, (0, 0), 0.5 * factor)
    small = cv2.resize(blurred, (w // factor, h // factor), interpolation=cv2.INTER_AREA)
    return np.clip(small + rng.normal(0, 0.01, small.shape).astype(np.float32), 0, 1)


def bicubic(image: np.ndarray, width: int, height: int) -> np.ndarray:
    return np.clip(cv2.resize(image, (width, height), interpolation=cv2.INTER_CUBIC), 0, 1)


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    return float(structural_similarity(a, b, channel_axis=2, data_range=1.0))


def flicker(frames: list[np.ndarray], clean: np.ndarray) -> float:
    """Mean |Δresult − Δclean| over consecutive frames, in 8-bit levels."""
    errors = [np.abs((frames[i] - frames[i - 1]) - (clean[i] - clean[i - 1])).mean() for i in range(1, len(frames))]
    return float(np.mean(errors) * 255)


MODELS = ("realesrgan-x4plus", "realesr-animevideov3-x4")
STRENGTHS = (1.0, 0.65, 0.5)


def _methods(lr: np.ndarray, w: int, h: int, models: dict) -> dict[str, np.ndarray]:
    out = {"bicubic": bicubic(lr, w, h), "lanczos": lanczos(lr, w, h)}
    for name, model in models.items():
        network = enlarge(lr, w, h, model)  # once; each strength is the stage's own finish of it
        for s in STRENGTHS:
            out[f"{name} s={s:g}"] = finish(network, lr, w, h, s)
    return out


def _photo_crops(crop: int) -> list[np.ndarray]:
    crops = []
    for path in sorted((SHARED / "data/photos/old").glob("*.png")) + sorted((SHARED / "data/photos/historical").glob("*"))[:6]:
        image = cv2.cvtColor(cv2.imread(str(path), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB).astype(np.float32) / 255
        h, w = image.shape[:2]
        if min(h, w) >= crop:
            top, left = (h - crop) // 2, (w - crop) // 2
            crops.append(np.ascontiguousarray(image[top:top + crop, left:left + crop]))
    return crops


def bench_quality(frames: int, crop: int) -> None:
    models = {name: loader.load(name).to(torch.device("cpu"), torch.bfloat16) for name in MODELS}
    photos = _photo_crops(crop)
    film = load_frames(SHARED / "data/film/frames_002", 0, frames, crop=(160, 224, crop, crop))
    for factor in (2, 4):
        rng = np.random.default_rng(factor)
        scores: dict[str, list] = {}
        for clean in photos:
            lr = degrade(clean, factor, rng)
            for key, result in _methods(lr, crop, crop, models).items():
                scores.setdefault(key, [[], [], [], []])
                scores[key][0].append(psnr(result, clean))
                scores[key][1].append(ssim(result, clean))
        film_out: dict[str, list] = {}
        for clean in film:
            lr = degrade(clean, factor, rng)
            for key, result in _methods(lr, crop, crop, models).items():
                film_out.setdefault(key, []).append(result)
                scores[key][2].append(psnr(result, clean))
                scores[key][3].append(ssim(result, clean))
        print(f"\n### Quality ×{factor}: {len(photos)} photo crops and {len(film)} film frames, {crop}×{crop} "
              f"(bf16)\n")
        print("| method | photos PSNR dB | photos SSIM | film PSNR dB | film SSIM | film flicker (8-bit levels) |")
        print("|---|---:|---:|---:|---:|---:|")
        for key, (p_psnr, p_ssim, f_psnr, f_ssim) in scores.items():
            print(f"| {key} | {np.mean(p_psnr):.2f} | {np.mean(p_ssim):.4f} | {np.mean(f_psnr):.2f} | "
                  f"{np.mean(f_ssim):.4f} | {flicker(film_out[key], film):.2f} |")


def write_crops(crop: int = 128) -> None:
    """Before/after strips at ×4 (input, Lanczos, bian default, clean) as small JPEGs in docs/img/: a
    public-domain portrait and an MIT-licenced old photo; a film frame (no licence) into bench-out/upscale/."""
    from skimage import data

    OUT.mkdir(parents=True, exist_ok=True)
    docs = Path(__file__).resolve().parents[1] / "docs/img"
    model = loader.load("realesrgan-x4plus").to(torch.device("cpu"), torch.bfloat16)
    rng = np.random.default_rng(4)
    astronaut = data.astronaut().astype(np.float32)[40:40 + 2 * crop, 150:150 + 2 * crop] / 255  # NASA, public domain
    sources = {
        docs / "upscale_astronaut_x4.jpg":
            cv2.resize(np.repeat(astronaut.mean(axis=2, keepdims=True), 3, axis=2), (crop, crop),
                       interpolation=cv2.INTER_AREA),
        docs / "upscale_old_photo_x4.jpg": _photo_crops(crop)[2],  # photos/old/c.png, MIT
        OUT / "film_x4.jpg": load_frames(SHARED / "data/film/frames_002", 0, 1, crop=(200, 260, crop, crop))[0],
    }
    for path, clean in sources.items():
        lr = degrade(clean, 4, rng)
        panels = [cv2.resize(lr, (crop, crop), interpolation=cv2.INTER_NEAREST), lanczos(lr, crop, crop),
                  super_resolve(lr, crop, crop, model), clean]
        strip = np.concatenate(panels, axis=1)
        cv2.imwrite(str(path), cv2.cvtColor((strip * 255 + 0.5).astype(np.uint8), cv2.COLOR_RGB2BGR),
                    [cv2.IMWRITE_JPEG_QUALITY, 88])
        print(path)


# ---------------------------------------------------------------- memory

def _clip(path: Path, seconds: float, size: str = "160x120", rate: int = 10) -> Path:
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", f"testsrc2=size={size}:rate={rate}:duration={seconds}",
                    "-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}", "-c:v", "libx264", "-c:a", "aac",
                    "-shortest", str(path)], check=True)
    return path


def _streams(path: Path) -> tuple[int, float, int, int]:
    """(video frames, audio seconds, width, height) of a file."""
    import av
    with av.open(str(path)) as c:
        video, audio = c.streams.video[0], c.streams.audio[0]
        frames = sum(1 for _ in c.decode(video))
        size = video.codec_context.width, video.codec_context.height
    with av.open(str(path)) as c:
        audio = c.streams.audio[0]
        seconds = sum(float(p.duration * audio.time_base) for p in c.demux(audio) if p.duration)
    return frames, seconds, *size


def bench_memory(seconds: float, longer: float, threads: int, model: str) -> None:
    if shutil.which("ffmpeg") is None:
        sys.exit("the ffmpeg CLI is needed to make the clips")
    work = OUT / "memory"
    work.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    print(f"\n### Memory: `bian restore clip.mp4 --upscale 2 --upscale-model {model}`, 160×120 → 320×240, "
          f"10 fps, AAC audio, {threads} threads\n")
    print("| clip | frames in → out | audio s in → out | output size | wall s | CPU s | peak RSS MiB |")
    print("|---|---|---|---|---:|---:|---:|")
    for length in (seconds, seconds * longer):
        clip = _clip(work / f"clip_{length:g}s.mp4", length)
        out = work / f"out_{length:g}s.mp4"
        start = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "bian.cli", "restore", str(clip), "-o", str(out), "--upscale", "2",
                                 "--upscale-model", model, "--fresh", "--quiet"], env=env,
                                stdout=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        if status:
            sys.exit(f"bian failed on {clip} (status {status})")
        (fi, ai, *_), (fo, ao, w, h) = _streams(clip), _streams(out)
        print(f"| {length:g} s | {fi} → {fo} | {ai:.2f} → {ao:.2f} | {w}×{h} | {wall:.1f} | "
              f"{usage.ru_utime + usage.ru_stime:.1f} | {usage.ru_maxrss / 1024:.0f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=("speed", "quality", "crops", "memory"))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--x4plus-size", type=int, default=64, help="input side for realesrgan-x4plus")
    parser.add_argument("--frames", type=int, default=12)
    parser.add_argument("--crop", type=int, default=192)
    parser.add_argument("--seconds", type=float, default=3, help="memory: length of the short clip")
    parser.add_argument("--longer", type=float, default=10, help="memory: the long clip is this many times longer")
    parser.add_argument("--model", default="realesr-animevideov3-x4", help="memory: the model")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.what == "speed":
        bench_speed(args.threads, args.rounds, args.x4plus_size)
    elif args.what == "quality":
        bench_quality(args.frames, args.crop)
    elif args.what == "memory":
        bench_memory(args.seconds, args.longer, args.threads, args.model)
    else:
        write_crops()


if __name__ == "__main__":
    main()
