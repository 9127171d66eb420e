"""What a cluster worker runs: one segment of a video, or one image. Plain functions (the driver wraps
them into Ray tasks), so they hold no Ray code and the driver alone writes manifests and outputs.

A worker rebuilds the plan from the job's options, so its stages run on its own device (a GPU worker
under a CPU-only driver), and keeps the built stages of the last videos it ran: a model loads once per
worker process and video, not once per task (loaders that cache by file load once per process).
"""
from __future__ import annotations

import dataclasses
import json
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

from ..errors import BianError, InputError
from ..media.encode import EncoderSettings
from ..media.video import PacketIndex
from ..pipeline.plan import Plan, build_plan
from ..pipeline.runner import encode_range, run
from ..stages.base import Stage


@dataclass(frozen=True)
class VideoJob:
    """One video of a job, as every worker must see it."""
    input: str
    """Absolute paths, the same on every node (a shared filesystem)."""
    output: str
    options: dict
    stat: tuple[int, int]
    """Size and mtime (ns) of the input on the driver: a worker refuses a different file."""
    encoder: EncoderSettings
    """The driver's encoder settings, thread count fixed, so every worker encodes the same bits."""
    segment_frames: int
    work: str
    """The work folder beside the output (segments and the driver's manifest)."""


_STAGES: OrderedDict[str, list[Stage]] = OrderedDict()
"""Built stages of the plans this worker process ran last, by their parameters and source (which names
the input: a stage may read it when built)."""
_KEEP = 2


def _with_cached_stages(plan: Plan) -> Plan:
    key = json.dumps([plan.describe()["stages"], dataclasses.asdict(plan.source)], sort_keys=True, default=str)
    if key in _STAGES:
        _STAGES.move_to_end(key)
        plan.stages = _STAGES[key]
    else:
        _STAGES[key] = plan.stages
        while len(_STAGES) > _KEEP:
            for stage in _STAGES.popitem(last=False)[1]:
                stage.close()
    return plan


def worker_plan(job: VideoJob) -> Plan:
    """The job's plan built on this worker, checked against what the driver saw."""
    path = Path(job.input)
    plan = build_plan(path, Path(job.output), job.options)
    if plan.stamp() != tuple(job.stat):
        raise InputError("the input on this worker is not the file the driver saw", path,
                         "keep inputs on a filesystem every node mounts at the same path, unchanged during the job")
    mine, theirs = plan.encoder, job.encoder
    if plan.segment_frames != job.segment_frames or (mine.width, mine.height, mine.pix_fmt) != (
            theirs.width, theirs.height, theirs.pix_fmt):
        raise BianError("internal: a worker planned different output than the driver", path, "report this bug")
    plan.encoder = theirs
    return _with_cached_stages(plan)


def encode_segment(job: VideoJob, index: PacketIndex | None, k: int, last: bool) -> dict:
    """Encode segment ``k`` of ``job`` (``last``: and whatever follows it to the end of the input) into the
    work folder, under a name of its own so that a retried or duplicate attempt never collides.
    Returns ``{"segments": [(k, file name or None, frames), ...], "total": input frames or None}``."""
    plan = worker_plan(job)
    work, token, suffix = Path(job.work), uuid.uuid4().hex[:8], Path(job.output).suffix
    done = []
    _, total = encode_range(plan, k, None if last else k, lambda j: True,
                            lambda j: work / f"segment{j:06d}-{token}{suffix}",
                            lambda j, path, frames: done.append((j, None if path is None else path.name, frames)),
                            index=index)
    return {"segments": done, "total": total}


def restore_image(input: str, output: str, options: dict) -> dict:
    """Restore one image; returns the run summary."""
    plan = build_plan(Path(input), Path(output), options)
    return run(_with_cached_stages(plan), quiet=True)
