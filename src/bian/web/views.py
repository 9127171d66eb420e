"""What the page shows for a job: status lines, links, players and comparison frames (no gradio here)."""
from __future__ import annotations

import html
import re
import time
from pathlib import Path
from urllib.parse import quote

import numpy as np
from PIL import Image

from ..frame import Frame
from ..media.images import is_image, read_image
from ..media.video import VideoReader, probe_video
from .jobs import Job, JobQueue


def url(job: Job, area: str, name: str) -> str:
    """The address the server serves a job's file at (see ``app.job_file``)."""
    return f"/jobs/{job.id}/{area}/{quote(name)}"


def clock(seconds: float) -> str:
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60:02d}:{rest % 60:02d}"


_FOLDERS = re.compile(r"(?:/[^/\s:'\"()]+)+/(?=[^/\s:'\"()]+)")


def user_text(message: str) -> str:
    """``message`` with absolute folders removed (``/srv/data/jobs/…/input/a.jpg`` → ``a.jpg``): the page
    names the user's file, never where the server keeps it."""
    return _FOLDERS.sub("", message)


def error_html(message: str) -> str:
    return f'<div class="bian-status bian-error" role="alert">✖ {html.escape(user_text(message))}</div>'


def status_html(queue: JobQueue, job: Job | None) -> str:
    if job is None:
        return '<div class="bian-status bian-idle">No job yet.</div>'
    name = html.escape(job.label)
    if job.state == "queued":
        position = queue.position(job)
        ahead = position - 1 + len(queue.running())
        resumed = " (will resume where the restarted server stopped)" if job.restarts else ""
        return (f'<div class="bian-status bian-queued" data-state="queued" data-position="{position}">'
                f'{name}: queued, position {position} in line ({ahead} job{"s" * (ahead != 1)} ahead){resumed}'
                '</div>')
    if job.state == "running":
        if job.total:
            eta = job.eta()
            speed = f" · {job.fps:.1f} fps · ETA {clock(eta)}" if eta is not None else ""
            bar = f'<progress value="{job.done}" max="{job.total}"></progress> '
            text = f"{job.done}/{job.total} frames{speed}"
        else:
            bar, text = '<progress></progress> ', f"working for {clock(time.time() - (job.started or time.time()))}"
        resumed = f" · resumed after {job.restarts} server restart{'s' * (job.restarts != 1)}" if job.restarts else ""
        return (f'<div class="bian-status bian-running" data-state="running">{name}: running {bar}'
                f'{html.escape(text)}{resumed}</div>')
    if job.state == "done":
        took = clock((job.finished or 0) - (job.started or 0))
        notes = (job.summary or {}).get("notes", []) + (job.summary or {}).get("notes_output", [])
        extra = "".join(f"<li>{html.escape(str(n))}</li>" for n in notes)
        return (f'<div class="bian-status bian-done" data-state="done">{name}: done in {took}'
                f'{"<ul>" + extra + "</ul>" if extra else ""}</div>')
    if job.state == "failed":
        return error_html(f"{job.label}: {job.error}")
    return f'<div class="bian-status bian-cancelled" data-state="cancelled">{name}: cancelled</div>'


def download_html(queue: JobQueue, job: Job | None, elem: str) -> str:
    if job is None or job.state != "done" or not queue.output_path(job).is_file():
        return ""
    size = queue.output_path(job).stat().st_size
    return (f'<a id="{elem}" class="bian-download" href="{url(job, "output", job.output)}" '
            f'download="{html.escape(job.output)}">⬇ Download {html.escape(job.output)} '
            f'({size / 1e6:.1f} MB)</a>')


def videos_html(queue: JobQueue, job: Job | None, elem: str) -> str:
    """The source and the result side by side, with one button playing both from the start."""
    if job is None or job.state != "done":
        return ""
    before, after = url(job, "input", job.input), url(job, "output", job.output)
    return (f'<div id="{elem}" class="bian-sbs">'
            f'<figure><video src="{before}" controls muted preload="metadata"></video><figcaption>Before'
            f'</figcaption></figure><figure><video src="{after}" controls preload="metadata"></video>'
            '<figcaption>After</figcaption></figure></div>')


def result_html(queue: JobQueue, job: Job | None, elem: str) -> str:
    """A finished animation, playing in a loop."""
    if job is None or job.state != "done":
        return ""
    return (f'<video id="{elem}" src="{url(job, "output", job.output)}" controls autoplay loop muted '
            'style="width:100%"></video>')


def jobs_html(queue: JobQueue) -> str:
    rows = []
    for job in queue.listing():
        link = download_html(queue, job, f"download-{job.id}") or html.escape(job.state)
        rows.append(f'<tr data-job="{job.id}"><td>{html.escape(job.id)}</td><td>{html.escape(job.kind)}</td>'
                    f'<td>{html.escape(job.label)}</td><td>{job.state}</td><td>{link}</td></tr>')
    if not rows:
        return "<p>No jobs yet.</p>"
    return ('<table id="jobs-table" class="bian-jobs"><tr><th>job</th><th>kind</th><th>file</th><th>state</th>'
            f'<th>result</th></tr>{"".join(rows)}</table>')


def to_rgb8(frame: Frame) -> np.ndarray:
    """H×W×3 uint8 for display (float32 [0, 1] and 16-bit frames rounded)."""
    return np.clip(np.rint(frame.rgb() * 255), 0, 255).astype(np.uint8)


def pair(before: Frame, after: Frame) -> tuple[np.ndarray, np.ndarray]:
    """The two frames as uint8 at the result's size (the source enlarged or shrunk for display only), so
    the slider lays one exactly over the other."""
    a, b = to_rgb8(before), to_rgb8(after)
    if a.shape[:2] != b.shape[:2]:
        a = np.asarray(Image.fromarray(a).resize((b.shape[1], b.shape[0]), Image.LANCZOS))
    return a, b


def frame_at(path: Path, index: int) -> Frame:
    """Frame ``index`` of a video (clamped to its length), or the picture itself."""
    if is_image(path):
        return read_image(path)[0]
    info = probe_video(path)
    index = min(max(0, index), max(0, info.frames - 1))
    for frame in VideoReader(info).frames(index, index + 1):
        return frame
    raise ValueError(f"no frame {index} in {path.name}")


def result_pair(queue: JobQueue, job: Job, index: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Frame ``index`` of the job's input and the result frame shown at the same time."""
    before = frame_at(queue.input_path(job), index)
    output = queue.output_path(job)
    if is_image(output):
        return pair(before, read_image(output)[0])
    after = None
    for frame in VideoReader(probe_video(output)).frames():  # by time: a frame-rate stage renumbers frames
        after = frame
        if frame.time >= before.time:
            break
    return pair(before, after)
