"""What the Ray executor relies on, checked without Ray: segments encoded one by one, in any order, each
seeking to its keyframe and decoding only its own context, remux into the file a local run writes
(temporal stages included); and a worker's task reports its segment without touching the manifest."""
import dataclasses
import json
import random

import numpy as np
import pytest

from bian.errors import BianError, OptionError
from bian.media.encode import fixed_threads
from bian.media.mux import assemble
from bian.media.video import index_packets
from bian.pipeline.manifest import work_dir_for
from bian.pipeline.plan import build_plan
from bian.pipeline.runner import encode_range, run
from bian.scale import tasks
from bian.stages.base import Stage
from media_factory import audio_packet_hash, frame_hashes, shots_video


class Smear(Stage):
    """A temporal stage: each output is the mean of its window."""
    name = "smear"

    def __init__(self, before, after):
        self.before, self.after = before, after

    def process(self, window):
        mean = np.mean([f.rgb() for f in window.frames], axis=0)
        return [window.current.replace(image=mean)]


def test_segments_in_any_order_remux_to_the_local_run(tmp_path):
    src = shots_video(tmp_path / "shots.mp4")
    options = {"segment_seconds": 0.4, "scale": 0.75}
    local = build_plan(src, tmp_path / "local.mp4", options)
    stages = local.stages = [Smear(2, 1), *local.stages, Smear(1, 3)]  # temporal, resize, temporal
    run(local, quiet=True)

    plan = build_plan(src, tmp_path / "segments.mp4", options)
    plan.stages = stages
    plan.encoder = fixed_threads(plan.encoder)
    index = index_packets(plan.info)
    assert index.count == 90 and len(index.keyframes) >= 6
    count = -(-index.count // plan.segment_frames)
    order = list(range(count))
    random.Random(7).shuffle(order)
    done = {}
    for k in order:
        encoded, total = encode_range(plan, k, None if k == count - 1 else k, lambda j: True,
                                      lambda j: tmp_path / f"seg{j:03d}.mp4",
                                      lambda j, path, frames: done.setdefault(j, (path, frames)), index=index)
        assert total == (90 if k == count - 1 else None)
    assert sorted(done) == list(range(count)) and sum(n for _, n in done.values()) == 90
    assemble([done[k][0] for k in range(count)], plan.info, plan.output, plan.encoder.container)

    assert frame_hashes(plan.output) == frame_hashes(local.output)
    assert len(frame_hashes(plan.output)) == 90
    assert audio_packet_hash(plan.output) == audio_packet_hash(local.output)


def test_task_writes_its_own_segment_and_leaves_the_manifest_alone(tmp_path):
    src = shots_video(tmp_path / "shots.mp4", seconds=0.4)
    out = tmp_path / "out.mp4"
    plan = build_plan(src, out, {"segment_seconds": 0.2})
    work = work_dir_for(out)
    work.mkdir()
    (work / "manifest.json").write_text("{}")
    stat = src.stat()
    job = tasks.VideoJob(str(src), str(out), {"segment_seconds": 0.2}, (stat.st_size, stat.st_mtime_ns),
                         fixed_threads(plan.encoder), plan.segment_frames, str(work))
    index = index_packets(plan.info)
    first = tasks.encode_segment(job, index, 2, last=False)
    again = tasks.encode_segment(job, index, 2, last=False)  # a retry: a file of its own, same frames
    tail = tasks.encode_segment(job, index, 5, last=True)
    assert [(k, n) for k, _, n in first["segments"]] == [(2, 5)] and first["total"] is None
    assert first["segments"][0][1] != again["segments"][0][1]
    assert frame_hashes(work / first["segments"][0][1]) == frame_hashes(work / again["segments"][0][1])
    assert [(k, n) for k, _, n in tail["segments"]] == [(5, 5)] and tail["total"] == 30
    assert (work / "manifest.json").read_text() == "{}"

    # the worker keeps a video's built stages (and so any model they loaded) from task to task; another
    # video gets its own (a stage may read its input when built)
    other = shots_video(tmp_path / "other.mp4", seconds=0.4)
    stat2 = other.stat()
    job2 = dataclasses.replace(job, input=str(other), stat=(stat2.st_size, stat2.st_mtime_ns))
    for options in ({"segment_seconds": 0.2}, {"segment_seconds": 0.2, "deflicker": True}):
        one, two = (dataclasses.replace(j, options=options) for j in (job, job2))
        assert tasks.worker_plan(one).stages is tasks.worker_plan(one).stages
        assert tasks.worker_plan(one).stages is not tasks.worker_plan(two).stages
    smaller = dataclasses.replace(job, options={"segment_seconds": 0.2, "scale": 0.5})
    with pytest.raises(BianError, match="planned different output"):  # other frames than the driver's settings
        tasks.worker_plan(smaller)

    touched = dataclasses.replace(job, stat=(stat.st_size + 1, stat.st_mtime_ns))
    with pytest.raises(BianError, match="not the file the driver saw"):
        tasks.encode_segment(touched, index, 0, last=False)
    assert json.loads((work / "manifest.json").read_text()) == {}


def test_task_resources_follow_the_cluster():
    from bian.scale.driver import task_resources
    assert task_resources({"CPU": 16.0}, 1.0, None) == (0.0, 32)
    assert task_resources({"CPU": 64.0, "GPU": 8.0}, 4.0, None) == (1.0, 16)  # GPU tasks by default
    assert task_resources({"CPU": 64.0, "GPU": 8.0}, 1.0, 0.5) == (0.5, 32)  # two tasks share a GPU
    assert task_resources({"CPU": 64.0, "GPU": 8.0}, 1.0, 0.0) == (0.0, 128)  # CPU-only chain on GPU nodes
    assert task_resources({"CPU": 8.0}, 1.0, 1.0) == (1.0, 2)  # autoscaling: GPU nodes not up yet
    with pytest.raises(OptionError):
        task_resources({"CPU": 8.0}, 0.0, None)
