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

from .errors import BianError, InputError, OutputError
from .frame import Frame
from .media.images import is_image
from .media.video import VideoReader
from .pipeline.plan import build_plan
from .pipeline.runner import chain, run

VIDEO_SUFFIXES = {".mp4", ".m4v", ".mov", ".mkv", ".avi", ".webm", ".mpg", ".mpeg", ".ts", ".m2ts", ".mts",
                  ".wmv", ".flv", ".3gp", ".ogv", ".dv", ".mxf"}
_WRITABLE_VIDEO = {".mp4", ".m4v", ".mov", ".mkv"}


def plan(input, output, **options):
    """The plan bian would run, without running it (``bian restore --plan``)."""
    return build_plan(Path(input), Path(output), options)


def restore(input, output, *, fresh: bool = False, quiet: bool = True, on_progress=None, **options) -> dict:
    """Restore ``input`` (an image, a video or a folder of them) into ``output``.

    Options are those of ``bian restore --help`` with underscores (``keep_grain=True``). A stopped run
    resumes when called again with the same arguments; ``fresh=True`` starts over. ``on_progress`` is
    called with the :class:`~bian.progress.Progress` after each video frame (an exception it raises stops
    the run, resumable). Returns the run summary (input, output, stages, frame counts, timing).
    Raises :class:`bian.BianError`.
    """
    input, output = Path(input), Path(output)
    if input.is_dir():
        return _restore_folder(input, output, fresh, quiet, options)
    if output.is_dir():
        output = output / input.name
    return run(build_plan(input, output, options), fresh=fresh, quiet=quiet, on_progress=on_progress)


def preview(input, index: int = 0, **options) -> tuple[Frame, Frame]:
    """Frame ``index`` of ``input`` before and after the restore ``options``, in memory; nothing is written.

    The stages see the same neighbouring frames as in a full run, so "after" is the frame a full run
    encodes (with a frame-rate stage: the first output frame at or after the input frame's time).
    """
    input = Path(input)
    scratch = Path(tempfile.gettempdir()) / ("bian-preview.png" if is_image(input) else "bian-preview.mkv")
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


def _restore_folder(folder: Path, out_dir: Path, fresh: bool, quiet: bool, options: dict) -> dict:
    """Every image and video under ``folder``, written under ``out_dir`` with the same relative names.
    Items finished by an earlier run with the same options are skipped; failures are reported at the end."""
    if out_dir.resolve() == folder.resolve() or folder.resolve() in out_dir.resolve().parents:
        raise OutputError("output folder is inside the input folder", out_dir, "choose a folder outside the input")
    items = sorted(p for p in folder.rglob("*") if p.is_file() and not any(
        part.startswith(".") for part in p.relative_to(folder).parts) and (
        is_image(p) or p.suffix.lower() in VIDEO_SUFFIXES))
    if not items:
        raise BianError("no images or videos found", folder, "give a folder of pictures or films")
    out_dir.mkdir(parents=True, exist_ok=True)
    record_path = out_dir / ".bian-batch.json"
    try:
        record = {} if fresh else json.loads(record_path.read_text())
    except (OSError, ValueError):
        record = {}
    results, failures = [], []
    for number, item in enumerate(items, 1):
        rel = item.relative_to(folder)
        target = out_dir / rel
        if not is_image(item) and item.suffix.lower() not in _WRITABLE_VIDEO:
            target = target.with_suffix(".mkv")
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            item_plan = build_plan(item, target, options)
            key = item_plan.fingerprint()
            if record.get(str(rel)) == key and target.exists():
                results.append({"input": str(item), "output": str(target), "skipped": "done earlier"})
                continue
            if not quiet:
                print(f"bian: [{number}/{len(items)}] {rel}", file=sys.stderr)
            results.append(run(item_plan, fresh=fresh, quiet=quiet))
            record[str(rel)] = key
            tmp = record_path.with_suffix(".tmp")
            tmp.write_text(json.dumps(record, indent=1))
            os.replace(tmp, record_path)
        except BianError as exc:
            failures.append({"input": str(item), "error": exc.line()})
            print(f"bian: error: {exc.line()}", file=sys.stderr)
    summary = {"input": str(folder), "output": str(out_dir), "kind": "folder", "items": results,
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
