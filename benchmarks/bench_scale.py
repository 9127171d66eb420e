"""Scale-out benchmark (issue 7): throughput of one Ray job on 1 and on 2 worker nodes of a local cluster,
against the local executor on the same clip in the same run.

A head node that runs no tasks plus one worker node (1 CPU); then a second worker node is added, the job
rerun, the node removed again, and so on, so 1-worker and 2-worker runs alternate under the same machine
load. Each run restores a multi-shot clip afresh (``fresh=True``) through one driver connection whose
worker processes are already started (as in a long archive job); throughput counts the whole restore
(planning, packet index, segment tasks, final remux). Every Ray output is checked frame-identical to
the local one.

Usage: python benchmarks/bench_scale.py [--seconds 6] [--size 480x270] [--pairs 2] [--work DIR]
"""
from __future__ import annotations

import argparse
import hashlib
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import av
import psutil

import bian
from bian.pipeline.plan import all_options


def make_clip(path: Path, seconds: float, size: str) -> Path:
    """Three shots (moving pattern, bars, zoom) with brightness flicker and a tone."""
    third = seconds / 3
    parts = [f"testsrc2=size={size}:rate=25:duration={third}", f"smptebars=size={size}:rate=25:duration={third}",
             f"mandelbrot=size={size}:rate=25,trim=duration={third}"]
    args = [a for p in parts for a in ("-f", "lavfi", "-i", p)]
    subprocess.run(["ffmpeg", "-v", "error", "-y", *args, "-f", "lavfi", "-i", f"sine=frequency=300:duration={seconds}",
                    "-filter_complex", "[0:v][1:v][2:v]concat=n=3:v=1:a=0,eq=brightness='0.06*sin(2.7*n)':eval=frame[v]",
                    "-map", "[v]", "-map", "3:a", "-c:v", "libx264", "-preset", "veryfast", "-c:a", "aac", str(path)],
                   check=True)
    return path


def frame_hashes(path: Path) -> list[str]:
    with av.open(str(path)) as c:
        return [hashlib.md5(f.to_ndarray(format="rgb24").tobytes()).hexdigest() for f in c.decode(video=0)]


class CpuMeter:
    """CPU seconds (user + system) used by this driver and every process under the cluster's nodes while
    it runs, sampled every 0.2 s (a job's worker processes start and exit with the job)."""

    def __init__(self, cluster):
        self.cluster, self.first, self.last = cluster, {}, {}
        self.stop = threading.Event()
        self._sample()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _sample(self) -> None:
        procs = [psutil.Process()]
        for node in self.cluster.list_all_nodes():
            for infos in node.all_processes.values():
                for info in infos:
                    try:
                        parent = psutil.Process(info.process.pid)
                        procs += [parent, *parent.children(recursive=True)]
                    except psutil.Error:
                        pass
        started = not self.last  # the first sample is the baseline; later processes count from zero
        for proc in procs:
            try:
                times = proc.cpu_times()
                key = (proc.pid, proc.create_time())
            except psutil.Error:
                continue
            self.first.setdefault(key, times.user + times.system if started else 0.0)
            self.last[key] = times.user + times.system

    def _run(self) -> None:
        while not self.stop.wait(0.2):
            self._sample()

    def seconds(self) -> float:
        self.stop.set()
        self.thread.join()
        self._sample()
        return sum(self.last[key] - self.first[key] for key in self.last)


def prepass(clip: Path) -> tuple[float, float, int]:
    """Seconds the driver needs before scheduling: bian's packet index (frame count and keyframes, no
    decoding), against decoding every frame to find scene cuts (what splitting at cuts would need)."""
    from bian.analysis.cuts import is_cut
    from bian.media.video import VideoReader, index_packets, probe_video

    info = probe_video(clip)
    start = time.perf_counter()
    index_packets(info)
    packets = time.perf_counter() - start
    start, prev, cuts = time.perf_counter(), None, 0
    for frame in VideoReader(info).frames():
        rgb = frame.rgb()
        cuts += prev is not None and is_cut(prev, rgb)
        prev = rgb
    return packets, time.perf_counter() - start, cuts


def python_start(code: str) -> tuple[float, float]:
    """Wall and CPU seconds of a fresh Python running ``code``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--size", default="480x270")
    parser.add_argument("--pairs", type=int, default=2)
    parser.add_argument("--work", type=Path, default=None)
    args = parser.parse_args()
    from ray.cluster_utils import Cluster  # needs pip install 'bian[scale]'

    work = args.work or Path(tempfile.mkdtemp(prefix="bian-bench-scale-"))
    work.mkdir(parents=True, exist_ok=True)
    clip = make_clip(work / "clip.mp4", args.seconds, args.size)
    temporal = "deflicker" in {o.name for o in all_options()}
    options = ({"deflicker": True} if temporal else {}) | {"scale": 0.75, "segment_seconds": 1.0}
    start = time.perf_counter()
    frames = bian.restore(clip, work / "local.mp4", fresh=True, **options)["frames_in"]
    local_fps = frames / (time.perf_counter() - start)
    reference = frame_hashes(work / "local.mp4")

    import ray

    worker_start = python_start("import bian.scale.tasks")
    warmup = make_clip(work / "warmup.mp4", 0.8, "96x64")
    started = time.perf_counter()
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 0, "include_dashboard": False})
    cluster.add_node(num_cpus=1)
    cluster.wait_for_nodes()
    startup = time.perf_counter() - started
    # one driver connection for all runs: its worker processes stay warm between jobs, as in one long
    # archive job; each new node is warmed by a tiny job before it is timed
    ray.init(address=cluster.address, logging_level="ERROR")
    rows, fps = [], {1: [], 2: []}
    try:
        for pair in range(args.pairs):
            for workers in (1, 2):
                second = cluster.add_node(num_cpus=1) if workers == 2 else None
                cluster.wait_for_nodes()
                if pair == 0 or second is not None:
                    bian.restore(warmup, work / "warmup_out.mp4", fresh=True, executor="ray", segment_seconds=0.2)
                out = work / f"ray{workers}.mp4"
                load = os.getloadavg()[0]
                meter, start = CpuMeter(cluster), time.perf_counter()
                summary = bian.restore(clip, out, fresh=True, executor="ray", address=cluster.address, **options)
                seconds = time.perf_counter() - start
                busy = meter.seconds() / seconds
                same = frame_hashes(out) == reference
                fps[workers].append(frames / seconds)
                rows.append((pair + 1, workers, summary["segments"], seconds, frames / seconds, busy, load, same))
                if second is not None:
                    cluster.remove_node(second)
    finally:
        ray.shutdown()
        cluster.shutdown()

    chain = "deflicker → resize ×0.75" if temporal else "resize ×0.75"
    print(f"## Scale-out: {args.size}, {frames} frames, 3 shots, {chain}, H.264 CRF 18 medium, 1 s segments\n")
    print(f"Local executor (anchor): {local_fps:.1f} fps. Not counted below: cluster start-up (head + 1 node) "
          f"{startup:.0f} s; a worker process's start (Python + bian imports, once per node per job) "
          f"{worker_start[0]:.1f} s wall, {worker_start[1]:.1f} s CPU.\n")
    print("| pair | worker nodes | segments | job s | fps | fps / local | cores busy (job's processes) "
          "| machine load avg (1 min) | frames = local |")
    print("|---|---|---|---|---|---|---|---|---|")
    for pair, workers, segments, seconds, rate, busy, load, same in rows:
        print(f"| {pair} | {workers} | {segments} | {seconds:.1f} | {rate:.1f} | {rate / local_fps:.2f} | {busy:.2f} "
              f"| {load:.1f} | {'yes' if same else 'NO'} |")
    packets, cuts_seconds, cuts = prepass(clip)
    print(f"\nDriver pre-pass on this clip: packet index {packets:.2f} s ({frames / packets:.0f} fps); decoding "
          f"every frame to find cuts {cuts_seconds:.2f} s ({frames / cuts_seconds:.0f} fps, {cuts} cuts found).")
    ratios = [b / a for a, b in zip(fps[1], fps[2])]
    print(f"\nThroughput 2 workers / 1 worker: median {statistics.median(ratios):.2f} "
          f"(pairs: {', '.join(f'{r:.2f}' for r in ratios)}); on {os.cpu_count()} cores.")
    if not all(row[-1] for row in rows):
        sys.exit("a Ray output differs from the local run")


if __name__ == "__main__":
    main()
