"""The runner: streams frames from the decoder through the plan's stages into segment encoders.

Memory is bounded by the stages' windows and a short decode-ahead queue, whatever the length of the
film: per stage, the pictures of ``pixels_before`` + 1 + ``after`` frames and the small summaries of the
rest of its window (:mod:`bian.stages.base`). Output is written segment by segment; the
manifest records finished segments, and a rerun of the same command starts at the first missing one,
decoding ``before`` frames of context ahead of it so every output frame is bit-identical to an
uninterrupted run.
"""
from __future__ import annotations

import queue
import threading
import time
from collections import deque
from pathlib import Path
from typing import Callable, Iterable, Iterator

from ..errors import InputError
from ..frame import Frame
from ..media import images as image_io
from ..media.mux import assemble, assemble_frames
from ..media.video import PacketIndex, VideoReader
from ..progress import Progress
from ..stages.base import Stage, Window
from .manifest import Manifest, work_dir_for
from .plan import Plan


def apply_stage(stage: Stage, frames: Iterable[Frame]) -> Iterator[Frame]:
    """Feed ``stage`` one window per input frame; windows are shorter at the ends of the stream.

    Each frame's summary (:meth:`~bian.stages.base.Stage.summarise`) is made once, as it enters; a frame
    more than ``stage.pixels_before`` behind the current one is dropped from the window's pictures (None)
    and stands by its summary until it leaves, so the runner holds ``pixels_before`` + 1 + ``after``
    pictures for the stage, not ``before`` + 1 + ``after``."""
    keep = stage.before if stage.pixels_before is None else min(stage.pixels_before, stage.before)
    window: deque[Frame | None] = deque()
    summaries: deque = deque()
    center = 0

    def step() -> Iterator[Frame]:
        nonlocal center
        yield from stage.process(Window(list(window), center, list(summaries)))
        center += 1
        if center - 1 - keep >= 0:
            window[center - 1 - keep] = None  # out of the pixels the stage reads: let the picture go
        if center > stage.before:
            window.popleft()
            summaries.popleft()
            center -= 1

    for frame in frames:
        window.append(frame)
        summaries.append(stage.summarise(frame))
        del frame  # the window alone keeps it
        if len(window) - 1 - center >= stage.after:
            yield from step()
    while center < len(window):
        yield from step()


def chain(stages: list[Stage], frames: Iterable[Frame]) -> Iterator[Frame]:
    for stage in stages:
        frames = apply_stage(stage, frames)
    return iter(frames)


def prefetch(frames: Iterator[Frame], depth: int = 4) -> Iterator[Frame]:
    """Decode ahead in a thread so decoding overlaps processing and encoding (FFmpeg releases the GIL)."""
    box: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()
    done = object()

    def pump():
        try:
            for frame in frames:
                while not stop.is_set():
                    try:
                        box.put(frame, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            box.put(done)
        except BaseException as exc:  # noqa: BLE001  (handed to the consumer, raised there)
            box.put(exc)

    thread = threading.Thread(target=pump, name="bian-decode", daemon=True)
    thread.start()
    try:
        while True:
            item = box.get()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join()


def run(plan: Plan, fresh: bool = False, quiet: bool = False, on_progress=None) -> dict:
    """Execute ``plan``; returns the run summary (also what the CLI prints as JSON). ``on_progress`` is
    called with the :class:`~bian.progress.Progress` after each video frame; an exception it raises stops
    the run, leaving the finished segments for a resume."""
    started = time.monotonic()
    summary = {"input": str(plan.input), "output": str(plan.output), "kind": plan.kind,
               "stages": plan.describe()["stages"], "notes": list(plan.notes)}
    if plan.kind == "image":
        summary.update(_run_image(plan))
    else:
        summary.update(_run_video(plan, fresh, quiet, on_progress))
    summary["seconds"] = round(time.monotonic() - started, 3)
    return summary


def _run_image(plan: Plan) -> dict:
    outputs = list(chain(plan.stages, [plan.first_frame]))
    if len(outputs) != 1:
        raise InputError("the plan made no single picture from this image", plan.input,
                         "frame-rate options apply to videos only")
    notes = image_io.write_image(outputs[0], plan.info, plan.output, grey=plan.grey_output)
    out = outputs[0]
    return {"frames_in": 1, "frames_out": 1, "size": [out.width, out.height], "notes_output": notes}


def _run_video(plan: Plan, fresh: bool, quiet: bool, on_progress=None) -> dict:
    manifest = Manifest.open(work_dir_for(plan.output), plan.fingerprint(), plan.segment_frames, fresh)
    already = len(manifest.segments)
    progress = Progress(plan.source.frames, label=plan.input.name, quiet=quiet, callback=on_progress)
    try:
        if manifest.missing() != []:
            frames_out = encode_segments(plan, manifest, progress)
        else:
            frames_out = 0
        progress.finish()
        notes = write_output(plan, manifest.files())
    except InputError:
        manifest.remove()  # the input is at fault: nothing worth resuming
        raise
    total_out = sum(v["frames"] for v in manifest.segments.values())
    manifest.remove()
    return {"frames_in": manifest.total_frames, "frames_out": total_out, "frames_encoded_this_run": frames_out,
            "segments": manifest.segment_count(), "segments_resumed": already,
            "size": [plan.encoder.width, plan.encoder.height], "fps": round(progress.rate(), 2),
            "encoder": plan.encoder.describe(), "notes_output": notes}


def write_output(plan: Plan, segments: list[Path]) -> list[str]:
    """The output from its finished ``segments`` (either executor): a remux of the segment files, or numbered
    frames moved to their final names. Returns notes about streams converted or left out."""
    if plan.encoder.container == "frames":
        return assemble_frames(segments, plan.output, plan.first_number)
    return assemble(segments, plan.info, plan.output, plan.encoder.container, plan.speed)


def encode_segments(plan: Plan, manifest: Manifest, progress: Progress | None = None) -> int:
    """Encode the segments the manifest lacks, from the first one missing to the end of the input, and
    record each in the manifest as it completes. Returns the number of frames encoded."""
    encoded, total = encode_range(plan, manifest.first_missing(), None, lambda k: k not in manifest.segments,
                                  lambda k: manifest.segment_file(k, plan.output.suffix), manifest.mark_done,
                                  progress)
    manifest.total_frames = total
    manifest.save()
    return encoded


def encode_range(plan: Plan, first: int, last: int | None, wanted: Callable[[int], bool],
                 segment_path: Callable[[int], Path], done: Callable[[int, Path | None, int], None],
                 progress: Progress | None = None, index: PacketIndex | None = None) -> tuple[int, int | None]:
    """Encode the ``wanted`` segments among ``first`` … ``last`` (None: to the end of the input), each into
    ``segment_path(k)``, decoding the chain's context before ``first`` and after ``last`` so every frame is
    the one a full run makes. ``done(k, path, frames)`` is called as each segment completes, with
    ``(k, None, 0)`` for one that has no frames. With ``index`` the decoder seeks instead of decoding from
    the beginning. Returns the frames encoded and the input's frame count once the end was reached."""
    from ..media.encode import open_writer

    seg_len = plan.segment_frames
    before, after = plan.context
    start = max(0, first * seg_len - before)
    stop = None if last is None else (last + 1) * seg_len + after
    reader = VideoReader(plan.info)
    seen = {"last": start - 1}

    def source():
        for frame in reader.frames(start, stop, index):
            seen["last"] = frame.index
            yield frame

    writer, current, encoded, finished = None, None, 0, set()
    shown = first * seg_len  # progress counts input frames whose output is out of the chain, not decoded
    try:
        for frame in chain(plan.stages, prefetch(source())):
            k = frame.index // seg_len
            if progress is not None and frame.index >= shown and (last is None or k <= last):
                progress.update(frame.index + 1 - shown)  # (decoding runs ahead by the stages' context)
                shown = frame.index + 1
            if k < first or (last is not None and k > last) or not wanted(k):
                continue
            if k != current:
                if writer is not None:
                    done(current, writer.close(), writer.frames)
                    finished.add(current)
                writer, current = open_writer(plan.encoder, segment_path(k)), k
            writer.write(frame)
            encoded += 1
        if writer is not None:
            done(current, writer.close(), writer.frames)
            finished.add(current)
            writer = None
    finally:
        if writer is not None:
            writer.abort()
    total = seen["last"] + 1 if stop is None or seen["last"] + 1 < stop else None
    end = last + 1 if last is not None else max(1, -(-total // seg_len))
    for k in range(first, end):  # segments whose frames a stage dropped, or past the end of the input
        if k not in finished and wanted(k):
            done(k, None, 0)
    return encoded, total
