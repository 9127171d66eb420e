"""The Python API. Thin: it builds plans and runs them; no logic of its own beyond walking folders.

>>> import bian
>>> summary = bian.restore("reel.mp4", "reel_restored.mp4", scale=2)
"""
from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

from .errors import BianError, InputError, OptionError, OutputError
from .frame import Frame
from .media.images import is_image
from .media.sequence import is_pattern, output_name
from .media.video import VideoReader
from .pipeline.plan import build_plan
from .pipeline.runner import chain, run

VIDEO_SUFFIXES = {".mp4", ".m4v", ".mov", ".mkv", ".avi", ".webm", ".mpg", ".mpeg", ".ts", ".m2ts", ".mts",
                  ".wmv", ".flv", ".3gp", ".ogv", ".dv", ".mxf", ".gif"}
_WRITABLE_VIDEO = {".mp4", ".m4v", ".mov", ".mkv"}


def plan(input, output, **options):
    """The plan bian would run, without running it (``bian restore --plan``)."""
    return build_plan(Path(input), Path(output), options)


def restore(input, output, *, fresh: bool = False, quiet: bool = True, on_progress=None, executor: str = "local",
            address: str | None = None, task_cpus: float = 1.0, task_gpus: float | None = None, **options) -> dict:
    """Restore ``input`` (an image, a video or a folder of them; or a list of those, ``output`` then
    being a folder) into ``output``.

    Options are those of ``bian restore --help`` with underscores (``keep_grain=True``). A stopped run
    resumes when called again with the same arguments; ``fresh=True`` starts over. ``on_progress`` is
    called with the :class:`~bian.progress.Progress` after each video frame (an exception it raises stops
    the run, resumable). Returns the run summary (input, output, stages, frame counts, timing).
    Raises :class:`bian.BianError`.

    ``executor="ray"`` runs all the inputs as one job on a Ray cluster, one task per video segment
    (``pip install 'bian[scale]'``; docs/SCALE.md): ``address`` is the cluster (None: ``RAY_ADDRESS``
    or a Ray started on this machine; ``"auto"``; ``"host:port"``; ``"ray://host:port"``), ``task_cpus``
    and ``task_gpus`` what each task reserves (GPUs: 1 when the cluster has them, else 0).
    """
    if executor not in ("local", "ray"):
        raise OptionError(f"unknown executor '{executor}'", hint="use local or ray")
    if executor == "local" and (address is not None or task_gpus is not None or task_cpus != 1.0):
        raise OptionError("--address, --task-cpus and --task-gpus apply to --executor ray", hint="add --executor ray")
    many = isinstance(input, (list, tuple))
    inputs, output = [Path(p) for p in (input if many else [input])], Path(output)
    if is_pattern(output) and (many or inputs[0].is_dir()):
        raise OptionError("numbered frames are written from one film, not from several inputs", output,
                          "give one video or one numbered-frame pattern as input")
    if executor == "ray":
        from .scale.driver import run_job
        ray_options = {"address": address, "task_cpus": task_cpus, "task_gpus": task_gpus}
        return _restore_job(inputs, output, many, fresh, quiet, on_progress, options,
                            lambda plans: run_job(plans, options, fresh=fresh, quiet=quiet, on_progress=on_progress,
                                                  **ray_options))
    if many:
        output.mkdir(parents=True, exist_ok=True)
        items = [restore(p, output / output_name(p), fresh=fresh, quiet=quiet, on_progress=on_progress, **options)
                 for p in inputs]
        return {"inputs": [str(p) for p in inputs], "output": str(output), "items": items}
    input = inputs[0]
    if input.is_dir():
        return _restore_folder(input, output, fresh, quiet, options)
    if output.is_dir():
        output = output / output_name(input)
    return run(build_plan(input, output, options), fresh=fresh, quiet=quiet, on_progress=on_progress)


def preview(input, index: int = 0, **options) -> tuple[Frame, Frame]:
    """Frame ``index`` of ``input`` before and after the restore ``options``, in memory; nothing is written.

    The stages see the same neighbouring frames as in a full run, so "after" is the frame a full run
    encodes (with a frame-rate stage: the first output frame at or after the input frame's time).
    """
    input = Path(input)
    scratch = Path(tempfile.gettempdir()) / ("bian-preview.png" if is_image(input) and not is_pattern(input)
                                                  else "bian-preview.mkv")
    the_plan = build_plan(input, scratch, options)
    if the_plan.kind == "image":
        return the_plan.first_frame, next(chain(the_plan.stages, [the_plan.first_frame]))
    index = min(max(0, int(index)), max(0, the_plan.source.frames - 1))
    before, after = the_plan.context
    frames = list(VideoReader(the_plan.info).frames(max(0, index - before), index + after + 1))
    if not frames:
        raise InputError("no frames could be decoded", input, "check the file plays")
    source = next((f for f in frames if f.index == index), frames[-1])
    result = None
    for frame in chain(the_plan.stages, frames):
        result = frame
        if frame.time >= source.time:
            break
    return source, result


def _folder_items(folder: Path, out_dir: Path) -> list[tuple[Path, Path, str]]:
    """(input, output, name relative to the folder) for every image and video under ``folder``, written
    under ``out_dir`` with the same relative names (videos in containers bian cannot write become .mkv)."""
    if out_dir.resolve() == folder.resolve() or folder.resolve() in out_dir.resolve().parents:
        raise OutputError("output folder is inside the input folder", out_dir, "choose a folder outside the input")
    items = sorted(p for p in folder.rglob("*") if p.is_file() and not any(
        part.startswith(".") for part in p.relative_to(folder).parts) and (
        is_image(p) or p.suffix.lower() in VIDEO_SUFFIXES))
    if not items:
        raise BianError("no images or videos found", folder, "give a folder of pictures or films")
    result = []
    for item in items:
        rel = item.relative_to(folder)
        target = out_dir / rel
        if not is_image(item) and item.suffix.lower() not in _WRITABLE_VIDEO:
            target = target.with_suffix(".mkv")
        target.parent.mkdir(parents=True, exist_ok=True)
        result.append((item, target, str(rel)))
    return result


def _read_record(out_dir: Path, fresh: bool) -> dict:
    """Which items of a folder an earlier run finished: relative name → plan fingerprint."""
    try:
        return {} if fresh else json.loads((out_dir / ".bian-batch.json").read_text())
    except (OSError, ValueError):
        return {}


def _write_record(out_dir: Path, record: dict) -> None:
    tmp = out_dir / ".bian-batch.tmp"
    tmp.write_text(json.dumps(record, indent=1))
    os.replace(tmp, out_dir / ".bian-batch.json")


def _restore_folder(folder: Path, out_dir: Path, fresh: bool, quiet: bool, options: dict) -> dict:
    """Every image and video under ``folder``, written under ``out_dir`` with the same relative names.
    Items finished by an earlier run with the same options are skipped; failures are reported at the end."""
    items = _folder_items(folder, out_dir)
    record = _read_record(out_dir, fresh)
    results, failures = [], []
    for number, (item, target, rel) in enumerate(items, 1):
        try:
            item_plan = build_plan(item, target, options)
            key = item_plan.fingerprint()
            if record.get(rel) == key and target.exists():
                results.append({"input": str(item), "output": str(target), "skipped": "done earlier"})
                continue
            if not quiet:
                print(f"bian: [{number}/{len(items)}] {rel}", file=sys.stderr)
            results.append(run(item_plan, fresh=fresh, quiet=quiet))
            record[rel] = key
            _write_record(out_dir, record)
        except BianError as exc:
            failures.append({"input": str(item), "error": exc.line()})
            print(f"bian: error: {exc.line()}", file=sys.stderr)
    summary = {"input": str(folder), "output": str(out_dir), "kind": "folder", "items": results,
               "failed": failures}
    if failures:
        raise BatchError(summary)
    return summary


def _restore_job(inputs: list[Path], output: Path, many: bool, fresh: bool, quiet: bool, on_progress,
                 options: dict, run_plans) -> dict:
    """All ``inputs`` (files and folders) planned first, then run together by ``run_plans(plans)`` (one
    Ray job), which returns each plan's summary or error. Folders keep their record of finished items."""
    single = not many and not inputs[0].is_dir()
    work = []  # (input, output, folder output or None, name in the folder)
    for path in inputs:
        base = output / output_name(path) if many else output
        if path.is_dir():
            work += [(item, target, base, rel) for item, target, rel in _folder_items(path, base)]
        else:
            if many:
                output.mkdir(parents=True, exist_ok=True)
            work.append((path, base / output_name(path) if base.is_dir() else base, None, None))
    records = {out_dir: _read_record(out_dir, fresh) for _, _, out_dir, _ in work if out_dir is not None}
    plans, placed, results, failures = [], [], [], []
    for item, target, out_dir, rel in work:
        try:
            item_plan = build_plan(item, target, options)
        except BianError as exc:
            if single:
                raise
            failures.append({"input": str(item), "error": exc.line()})
            print(f"bian: error: {exc.line()}", file=sys.stderr)
            continue
        if out_dir is not None and records[out_dir].get(rel) == item_plan.fingerprint() and target.exists():
            results.append({"input": str(item), "output": str(target), "skipped": "done earlier"})
            continue
        plans.append(item_plan)
        placed.append((out_dir, rel))
    for item_plan, (out_dir, rel), outcome in zip(plans, placed, run_plans(plans) if plans else []):
        if isinstance(outcome, BianError):
            if single:
                raise outcome
            failures.append({"input": str(item_plan.input), "error": outcome.line()})
            print(f"bian: error: {outcome.line()}", file=sys.stderr)
            continue
        results.append(outcome)
        if out_dir is not None:
            records[out_dir][rel] = item_plan.fingerprint()
            _write_record(out_dir, records[out_dir])
    if single:
        return results[0]
    summary = {"input": ", ".join(map(str, inputs)), "output": str(output), "kind": "job", "items": results,
               "failed": failures}
    if failures:
        raise BatchError(summary)
    return summary


class BatchError(BianError):
    """Some items of a folder failed (each was reported as it happened)."""

    def __init__(self, summary: dict):
        self.summary = summary
        n = len(summary["failed"])
        super().__init__(f"{n} of {n + len(summary['items'])} items failed", summary["input"],
                         "see the errors above; rerun to retry only those")
