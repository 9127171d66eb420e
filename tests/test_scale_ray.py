"""Issue 7 acceptance on a local Ray cluster (a head that runs nothing plus two one-CPU worker nodes,
all on this machine): frame-identical output to the local executor for a multi-shot job of several
inputs, a worker process killed mid-segment, a driver killed and rerun; and without Ray, one line
saying how to install it."""
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import bian
from bian.api import BatchError
from bian.cli import main
from bian.pipeline.manifest import work_dir_for
from bian.pipeline.plan import all_options
from media_factory import audio_packet_hash, ffmpeg, frame_hashes, pattern_video, shots_video, video_times

# the restoration chain: a temporal stage when the plan has one (its context crosses segment edges)
TEMPORAL = "deflicker" in {o.name for o in all_options()}
CHAIN = ({"deflicker": True, "deflicker_radius": 4} if TEMPORAL else {}) | {"scale": 0.75, "segment_seconds": 0.4}


def flags(options):
    out = []
    for name, value in options.items():
        out += [f"--{name.replace('_', '-')}"] + ([] if value is True else [str(value)])
    return out


@pytest.fixture(scope="module")
def cluster():
    ray = pytest.importorskip("ray", reason="Ray is optional: pip install 'bian[scale]'")
    from ray.cluster_utils import Cluster

    head = Cluster(initialize_head=True, head_node_args={"num_cpus": 0, "include_dashboard": False})
    workers = [head.add_node(num_cpus=1) for _ in range(2)]
    head.wait_for_nodes()
    head.raylets = [node.all_processes["raylet"][0].process.pid for node in workers]
    # this process stays connected, so its jobs share worker processes (each new driver would start its
    # own, importing bian anew); the driver-restart test runs its drivers as separate processes
    ray.init(address=head.address, logging_level="ERROR")
    yield head
    ray.shutdown()
    head.shutdown()


@pytest.fixture(scope="module")
def job(tmp_path_factory):
    """A job of a clip and a folder (another clip, a photo), and the local executor's outputs."""
    root = tmp_path_factory.mktemp("job")
    (root / "reels").mkdir()
    # (.mov: a .mkv output of several segments fails to mux at this commit, local executor too)
    a, b = shots_video(root / "a.mp4"), shots_video(root / "reels" / "b.mov", seconds=0.8, size="160x96")
    ffmpeg("-f", "lavfi", "-i", "mandelbrot=size=200x150", "-frames:v", "1", str(root / "reels" / "photo.png"))
    bian.restore([a, root / "reels"], root / "local", **CHAIN)
    return root, [a, root / "reels"]


def test_ray_job_equals_local_run(cluster, job, tmp_path):
    root, inputs = job
    summary = bian.restore(inputs, tmp_path, executor="ray", address=cluster.address, **CHAIN)
    assert not summary["failed"] and len(summary["items"]) == 3
    videos = [item for item in summary["items"] if item["kind"] == "video"]
    for item in videos:
        out = Path(item["output"])
        ref = root / "local" / out.relative_to(tmp_path)
        assert item["executor"] == "ray" and item["segments"] == -(-item["frames_in"] // 10) >= 6
        assert frame_hashes(out) == frame_hashes(ref)
        assert video_times(out) == video_times(ref)
        assert audio_packet_hash(out) == audio_packet_hash(ref)
        assert not work_dir_for(out).exists()
    assert sorted(Path(i["output"]).name for i in videos) == ["a.mp4", "b.mov"]
    photo = np.asarray(Image.open(tmp_path / "reels" / "photo.png"))
    assert photo.shape == (112, 150, 3)
    np.testing.assert_array_equal(photo, np.asarray(Image.open(root / "local" / "reels" / "photo.png")))
    assert len(json.loads((tmp_path / "reels" / ".bian-batch.json").read_text())) == 2


def test_worker_killed_mid_segment(cluster, tmp_path):
    src = shots_video(tmp_path / "in.mp4")
    options = CHAIN
    killed, finished = [], threading.Event()

    def kill_a_worker_while_it_decodes():
        import psutil
        while not killed and not finished.is_set():
            for raylet in cluster.raylets:
                for proc in psutil.Process(raylet).children(recursive=True):
                    try:
                        if any(f.path == str(src) for f in proc.open_files()):  # running one of our tasks
                            proc.send_signal(signal.SIGKILL)
                            killed.append(proc.pid)
                            return
                    except psutil.Error:
                        continue
            time.sleep(0.01)

    killer = threading.Thread(target=kill_a_worker_while_it_decodes)
    killer.start()
    out = tmp_path / "ray.mp4"
    try:
        summary = bian.restore(src, out, executor="ray", address=cluster.address, **options)
    finally:
        finished.set()
        killer.join()
    assert killed, "no worker was caught mid-segment"
    assert summary["frames_out"] == summary["frames_in"] == 90
    bian.restore(src, tmp_path / "local.mp4", **options)
    hashes = frame_hashes(out)
    assert len(hashes) == 90 and hashes == frame_hashes(tmp_path / "local.mp4")
    times = video_times(out)
    assert times == sorted(set(times))  # no segment twice


def test_driver_killed_then_rerun_runs_only_missing_segments(cluster, job, tmp_path, capsys):
    root, (src, _) = job  # 90 frames, 9 segments
    out = tmp_path / "out.mp4"
    args = ["restore", str(src), "-o", str(out), "-q", "--executor", "ray", "--address", cluster.address,
            *flags(CHAIN)]
    manifest = work_dir_for(out) / "manifest.json"
    driver = subprocess.Popen([sys.executable, "-m", "bian.cli", *args], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, env=dict(os.environ, RAY_ADDRESS=""))
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and driver.poll() is None:
        if manifest.exists() and json.loads(manifest.read_text())["segments"]:
            break
        time.sleep(0.02)
    driver.send_signal(signal.SIGKILL)
    driver.wait()
    assert not out.exists()
    before = json.loads(manifest.read_text())["segments"]
    assert 0 < len(before) < 9, "the kill must land mid-job"

    # the same command again (in this process: its connection to the cluster has warm workers)
    assert main(args) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["segments_resumed"] == len(before)
    assert summary["frames_encoded_this_run"] == 90 - sum(v["frames"] for v in before.values())
    assert frame_hashes(out) == frame_hashes(root / "local" / src.name)
    assert len(frame_hashes(out)) == 90


def test_a_bad_input_fails_alone(cluster, tmp_path):
    good = shots_video(tmp_path / "good.mp4", seconds=0.4)
    full = pattern_video(tmp_path / "full.mkv", seconds=2, size="160x120", audio=None)
    cut = tmp_path / "cut.mkv"  # header intact, half the frames gone: found by the task that reaches the end
    cut.write_bytes(full.read_bytes()[: full.stat().st_size // 2])
    out = tmp_path / "out"
    with pytest.raises(BatchError) as failed:
        bian.restore([good, cut], out, executor="ray", address=cluster.address, segment_seconds=0.4)
    summary = failed.value.summary
    assert [f["input"] for f in summary["failed"]] == [str(cut)]
    assert "truncated" in summary["failed"][0]["error"]
    assert len(frame_hashes(out / "good.mp4")) == 30
    assert not (out / "cut.mkv").exists() and not work_dir_for(out / "cut.mkv").exists()


def test_numbered_frames_on_ray_equal_a_local_run(cluster, tmp_path):
    """A scanned reel given as a numbered-frame pattern: the driver and the workers check the same frames."""
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=128x96:rate=18:duration=1.5", "-start_number", "101",
           str(tmp_path / "reel_%04d.png"))
    pattern = tmp_path / "reel_%04d.png"
    options = CHAIN | {"source_fps": 18}
    summary = bian.restore(pattern, tmp_path / "ray.mp4", executor="ray", address=cluster.address, **options)
    bian.restore(pattern, tmp_path / "local.mp4", **options)
    assert summary["frames_out"] == summary["frames_in"] == 27
    assert frame_hashes(tmp_path / "ray.mp4") == frame_hashes(tmp_path / "local.mp4")
    assert video_times(tmp_path / "ray.mp4") == video_times(tmp_path / "local.mp4")

    # and written as numbered frames (a folder of frames per segment, moved into place by the driver)
    (tmp_path / "ray").mkdir()
    (tmp_path / "local").mkdir()
    bian.restore(pattern, tmp_path / "ray" / "out_%04d.png", executor="ray", address=cluster.address, **options)
    bian.restore(pattern, tmp_path / "local" / "out_%04d.png", **options)
    names = sorted(p.name for p in (tmp_path / "ray").iterdir())
    assert names == [f"out_{n:04d}.png" for n in range(101, 128)]
    assert names == sorted(p.name for p in (tmp_path / "local").iterdir())
    for name in names:
        assert (tmp_path / "ray" / name).read_bytes() == (tmp_path / "local" / name).read_bytes()


def test_without_ray_one_line_says_how_to_install(tmp_path, monkeypatch, capsys):
    src = shots_video(tmp_path / "in.mp4", seconds=0.2)
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now fails as if not installed
    code = main(["restore", str(src), "-o", str(tmp_path / "out.mp4"), "--executor", "ray", "-q"])
    err = capsys.readouterr().err.strip()
    assert code == 3 and "\n" not in err
    assert "pip install 'bian[scale]'" in err
    assert not (tmp_path / "out.mp4").exists()
