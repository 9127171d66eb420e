"""The driver of a Ray job: many inputs, one task per video segment (or per image), no scheduler of its own.

For each video the driver opens the same resume manifest a local run uses and counts the input's frames
from its packets (no decoding), then submits a task for every segment the manifest lacks. Each task
decodes its segment plus the context frames its temporal stages need, seeking to the keyframe before
it, and writes its encoded segment into the work folder; the driver records it in the manifest as
the task returns. Ray retries a task whose worker died; a rerun after the driver died submits only
the segments still missing. When a video's last segment is in, the driver remuxes the segments with
the source's audio, subtitles and chapters into the output, exactly as the local executor does.

Every node must see the inputs and outputs at the same absolute paths (a shared filesystem).
"""
from __future__ import annotations

import os
import time
from collections import deque
from dataclasses import dataclass, field

from ..errors import BianError, InputError, OptionError
from ..media.encode import fixed_threads
from ..media.video import PacketIndex, index_packets
from ..pipeline.manifest import Manifest, work_dir_for
from ..pipeline.plan import Plan
from ..pipeline.runner import write_output
from ..progress import Progress
from . import tasks

RETRIES = 3
"""Times Ray reruns a task whose worker process or node died."""


def require_ray():
    try:
        import ray
    except ImportError:
        raise OptionError("--executor ray needs Ray, which is not installed",
                          hint="pip install 'bian[scale]'") from None
    return ray


@dataclass
class _Reel:
    """One video of the job and the driver's view of it."""
    plan: Plan
    manifest: Manifest | None = None
    index: PacketIndex | None = None
    resumed: int = 0
    todo: deque = field(default_factory=deque)
    running: int = 0
    total: int | None = None
    encoded: int = 0
    started: float = 0.0
    error: BianError | None = None
    job: tasks.VideoJob | None = None
    index_ref: object = None
    """The packet index in Ray's object store, shared by the reel's tasks."""
    last: int = 0
    """The last segment by the packet count; its task also encodes whatever follows."""


def run_job(plans: list[Plan], options: dict, *, address: str | None = None, fresh: bool = False,
            quiet: bool = True, task_cpus: float = 1.0, task_gpus: float | None = None,
            on_progress=None) -> list[dict | BianError]:
    """Run ``plans`` (built with ``options``) on a Ray cluster; returns, in order, each plan's run summary
    or the error that stopped it.

    ``address``: ``None`` (the cluster in ``RAY_ADDRESS``, the last one started on this machine, else a
    new one on this machine), ``"auto"`` (an existing cluster only), ``"host:port"`` or
    ``"ray://host:port"`` (Ray Client). ``task_gpus``: GPUs per task, by default 1 when the cluster has
    GPUs, else 0; fractions share a GPU between tasks.
    """
    ray = require_ray()
    own = not ray.is_initialized()
    if own:
        try:
            ray.init(address=address, logging_level="ERROR", log_to_driver=not quiet)
        except (ConnectionError, ValueError, RuntimeError) as exc:
            raise OptionError(f"cannot reach a Ray cluster ({str(exc).splitlines()[0]})", address,
                              "start one with `ray start --head`, or check --address") from None
    try:
        return _Job(ray, plans, options, fresh, quiet, task_cpus, task_gpus, on_progress).run()
    finally:
        if own:
            ray.shutdown()


def task_resources(cluster: dict, task_cpus: float, task_gpus: float | None) -> tuple[float, int]:
    """GPUs per task (by default 1 on a cluster with GPUs, else 0) and how many tasks to keep in flight:
    two per task slot, every worker busy with one queued, without flooding Ray with an archive's tasks.
    Asked again as tasks complete, so the window follows a cluster that grows or shrinks."""
    if task_gpus is None:
        task_gpus = 1.0 if cluster.get("GPU", 0) > 0 else 0.0
    if task_cpus <= 0 or task_gpus < 0:
        raise OptionError("--task-cpus must be above 0 and --task-gpus at least 0")
    slots = cluster.get("CPU", 0) / task_cpus
    if task_gpus:  # none yet on an autoscaling cluster: the pending tasks make it start GPU nodes
        slots = min(slots, cluster.get("GPU", 0) / task_gpus)
    return task_gpus, max(2, int(2 * slots))


class _Job:
    def __init__(self, ray, plans, options, fresh, quiet, task_cpus, task_gpus, on_progress):
        self.ray, self.options, self.fresh = ray, options, fresh
        self.task_cpus = task_cpus
        self.task_gpus, _ = task_resources(ray.cluster_resources(), task_cpus, task_gpus)
        # a reused worker keeps its loaded models (Ray's default for GPU tasks is a new process each time)
        settings = {"num_cpus": task_cpus, "num_gpus": self.task_gpus, "max_retries": RETRIES, "max_calls": 0}
        self.segment_task = ray.remote(**settings)(tasks.encode_segment)
        self.image_task = ray.remote(**settings)(tasks.restore_image)
        self.plans = plans
        self.results: list[dict | BianError | None] = [None] * len(plans)
        self.reels: dict[int, _Reel] = {}
        self.progress = Progress(0, label="ray job", quiet=quiet, callback=on_progress)
        self.flight: dict = {}
        """Task reference → (plan number, segment number or None for an image)."""

    def run(self) -> list[dict | BianError]:
        ray = self.ray
        queue = deque(range(len(self.plans)))
        try:
            while queue or self.flight:
                _, window = task_resources(ray.cluster_resources(), self.task_cpus, self.task_gpus)
                while queue and len(self.flight) < window:
                    if not self._submit_next(queue[0]):
                        queue.popleft()
                if not self.flight:
                    continue
                ready, _ = ray.wait(list(self.flight), num_returns=1)
                number, k = self.flight.pop(ready[0])
                try:
                    value = ray.get(ready[0])
                except Exception as exc:  # noqa: BLE001  (a task's error becomes that input's error)
                    self._fail(number, _cause(exc, self.plans[number], k))
                    continue
                if k is None:
                    self.results[number] = value
                    self.progress.update(1)
                else:
                    self._segment_done(number, value)
        finally:
            for ref in self.flight:
                ray.cancel(ref, force=True)
        self.progress.finish()
        return self.results

    def _submit_next(self, number: int) -> bool:
        """Submit the next task of plan ``number``; False when it has none left to submit."""
        plan = self.plans[number]
        if plan.kind == "image":
            if number in self.reels:
                return False
            self.reels[number] = _Reel(plan)
            self.progress.total += 1
            ref = self.image_task.remote(os.path.abspath(plan.input), os.path.abspath(plan.output), self.options)
            self.flight[ref] = (number, None)
            return True
        reel = self.reels.get(number)
        if reel is None:
            reel = self.reels[number] = self._open(number)
            if reel.error is None and not reel.todo:
                self._finish(number)
        if reel.error is not None or not reel.todo:
            return False
        k = reel.todo.popleft()
        ref = self.segment_task.remote(reel.job, reel.index_ref, k, k == reel.last)
        reel.running += 1
        self.flight[ref] = (number, k)
        return True

    def _open(self, number: int) -> _Reel:
        plan = self.plans[number]
        reel = _Reel(plan, started=time.monotonic())
        try:
            reel.manifest = Manifest.open(work_dir_for(plan.output), plan.fingerprint(), plan.segment_frames,
                                          self.fresh)
            reel.index = index_packets(plan.info)
        except BianError as exc:
            reel.error = self.results[number] = exc
            if isinstance(exc, InputError) and reel.manifest is not None:
                reel.manifest.remove()
            return reel
        seg = plan.segment_frames
        reel.resumed = len(reel.manifest.segments)
        reel.last = max(0, -(-reel.index.count // seg) - 1)
        reel.todo.extend(k for k in range(reel.last + 1) if k not in reel.manifest.segments)
        self.progress.total += sum(min(seg, reel.index.count - k * seg) for k in reel.todo)
        reel.job = tasks.VideoJob(
            input=os.path.abspath(plan.input), output=os.path.abspath(plan.output), options=self.options,
            stat=plan.stamp(), encoder=fixed_threads(plan.encoder), segment_frames=seg,
            work=os.path.abspath(reel.manifest.folder))
        reel.index_ref = self.ray.put(reel.index)
        return reel

    def _segment_done(self, number: int, value: dict) -> None:
        reel = self.reels[number]
        reel.running -= 1
        if reel.error is not None:
            return
        for k, name, frames in value["segments"]:
            reel.manifest.mark_done(k, None if name is None else reel.manifest.folder / name, frames)
            reel.encoded += frames
        if value["total"] is not None:
            reel.total = value["total"]
        self.progress.update(sum(frames for _, _, frames in value["segments"]))
        if not reel.todo and not reel.running:
            self._finish(number)

    def _finish(self, number: int) -> None:
        """All segments are in: write the output, as the local executor does."""
        reel, plan = self.reels[number], self.plans[number]
        manifest = reel.manifest
        manifest.total_frames = reel.total if reel.total is not None else (
            manifest.total_frames or reel.index.count)
        manifest.save()
        try:
            notes = write_output(plan, manifest.files())
        except BianError as exc:
            reel.error = self.results[number] = exc
            return
        elapsed = time.monotonic() - reel.started
        self.results[number] = {
            "input": str(plan.input), "output": str(plan.output), "kind": "video", "executor": "ray",
            "stages": plan.describe()["stages"], "notes": list(plan.notes),
            "frames_in": manifest.total_frames, "frames_out": sum(v["frames"] for v in manifest.segments.values()),
            "frames_encoded_this_run": reel.encoded, "segments": manifest.segment_count(),
            "segments_resumed": reel.resumed, "size": [plan.encoder.width, plan.encoder.height],
            "fps": round(reel.encoded / elapsed, 2) if elapsed > 0 else 0.0,
            "encoder": plan.encoder.describe(), "notes_output": notes, "seconds": round(elapsed, 3)}
        manifest.remove()

    def _fail(self, number: int, error: BianError) -> None:
        """One input failed: drop its other tasks; the others go on."""
        self.results[number] = error
        reel = self.reels.get(number)
        if reel is None:
            return
        reel.error = error
        reel.todo.clear()
        for ref, (n, _) in list(self.flight.items()):
            if n == number:
                self.ray.cancel(ref, force=True)
                del self.flight[ref]
        if isinstance(error, InputError) and reel.manifest is not None:
            reel.manifest.remove()  # the input is at fault: nothing worth resuming


def _cause(exc: Exception, plan: Plan, k: int | None) -> BianError:
    """The error a failed task stands for, as one bian error line."""
    cause = getattr(exc, "cause", None)
    if isinstance(cause, BianError):
        return cause
    where = "an image task" if k is None else f"segment {k}"
    if cause is None:  # the worker died more often than Ray retries
        return BianError(f"{where} failed on the cluster after {RETRIES} retries ({type(exc).__name__})",
                         plan.input, "check the workers' memory and logs; rerun to resume")
    return BianError(f"internal error in {where} on a worker: {type(cause).__name__}: {cause}", plan.input,
                     "rerun with --debug and report it")
