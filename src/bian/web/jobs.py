"""Jobs of the web UI: each in its own folder under the data directory, run one at a time (by default)
in submission order by a worker thread, and kept on disk so a restarted server finishes them.

A job folder holds ``job.json`` (state, options, progress), ``input/`` (the upload, named safely, and any
attached files such as colour hints) and ``output/``. A job that was running when the server stopped is
queued again at start; running the same restore into the same output resumes from the last finished
segment (the pipeline's manifest), so its result equals an uninterrupted run.
"""
from __future__ import annotations

import json
import os
import secrets
import shutil
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..errors import BianError, InputError
from ..media.images import FORMATS, frame_count, is_image, read_image
from ..pipeline.manifest import work_dir_for
from .safety import JOB_ID, safe_name

KINDS = ("restore", "animate")
STATES = ("queued", "running", "done", "failed", "cancelled")
_VIDEO_OUT = {".mp4", ".m4v", ".mov", ".mkv"}


class Cancelled(Exception):
    """Raised from the progress callback to stop a running job."""


@dataclass
class Job:
    id: str
    kind: str
    label: str
    """The file name the user uploaded (for display only)."""
    input: str
    """File name under ``input/``."""
    output: str
    """File name under ``output/``."""
    options: dict
    attachments: dict = field(default_factory=dict)
    """Option name → files under ``input/`` (colour hints, references, a driving video)."""
    state: str = "queued"
    created: float = 0.0
    started: float | None = None
    finished: float | None = None
    done: int = 0
    total: int = 0
    fps: float = 0.0
    error: str | None = None
    summary: dict | None = None
    restarts: int = 0
    """How often a server restart interrupted this job (each time it resumed)."""

    @property
    def active(self) -> bool:
        return self.state in ("queued", "running")

    def eta(self) -> float | None:
        """Seconds left, from this run's speed; None while unknown."""
        if self.state != "running" or self.fps <= 0 or not self.total:
            return None
        return max(0.0, (self.total - self.done) / self.fps)


def output_name(label: str, kind: str, upload: Path | None = None) -> str:
    """The result's file name: ``photo.jpg`` → ``photo_restored.jpg``; videos bian cannot write in their own
    container become ``.mkv`` (an animated GIF ``upload`` too); an animation is always ``.mp4``."""
    name = safe_name(label)
    stem, suffix = Path(name).stem, Path(name).suffix.lower()
    if kind == "animate":
        return f"{stem}_animated.mp4"
    if is_image(Path(name)) and not (suffix == ".gif" and upload is not None and frame_count(upload) > 1):
        return f"{stem}_restored{suffix if suffix in FORMATS else '.png'}"
    return f"{stem}_restored{suffix if suffix in _VIDEO_OUT else '.mkv'}"


class JobQueue:
    """The job store and its workers. ``runner(job, input, output, options, on_progress) -> summary``
    does the work (by default the bian API); ``start()`` starts ``workers`` threads."""

    def __init__(self, data_dir: Path, workers: int = 1, runner=None):
        self.root = Path(data_dir) / "jobs"
        self.root.mkdir(parents=True, exist_ok=True)
        self.workers = max(1, int(workers))
        self.runner = runner or run_job
        self.jobs: dict[str, Job] = {}
        self._cancel: set[str] = set()
        self._cond = threading.Condition()
        self._threads: list[threading.Thread] = []
        self._stopping = False
        for path in sorted(self.root.glob("*/job.json")):
            try:
                job = Job(**json.loads(path.read_text()))
            except (OSError, ValueError, TypeError):
                continue  # not a job folder this version can read; left alone
            if job.state == "running":  # the server stopped mid-job: run it again, which resumes
                job.state, job.restarts = "queued", job.restarts + 1
                self._save(job)
            self.jobs[job.id] = job

    # --- paths -------------------------------------------------------------------------------------------
    def folder(self, job: Job) -> Path:
        return self.root / job.id

    def input_path(self, job: Job) -> Path:
        return self.folder(job) / "input" / job.input

    def output_path(self, job: Job) -> Path:
        return self.folder(job) / "output" / job.output

    # --- submitting and watching ---------------------------------------------------------------------------
    def submit(self, kind: str, upload: Path, label: str, options: dict | None = None,
               attachments: dict[str, list[Path]] | None = None, validate=None) -> Job:
        """Copy ``upload`` (and ``attachments``: option → files) into a new job folder and queue it.
        ``validate(input, output, options)`` runs first and may raise :class:`BianError`; the folder is
        then removed and the error raised: a bad upload never becomes a job."""
        if kind not in KINDS:
            raise ValueError(f"unknown job kind {kind!r}")
        upload = Path(upload)
        if not upload.is_file() or upload.stat().st_size == 0:
            raise InputError("the upload is empty or missing", safe_name(label), "choose the file again")
        now = time.time()
        job_id = time.strftime("%Y%m%d-%H%M%S", time.localtime(now)) + "-" + secrets.token_hex(3)
        job = Job(job_id, kind, Path(str(label)).name, safe_name(label), output_name(label, kind, upload),
                  dict(options or {}), created=now)
        folder = self.folder(job)
        try:
            (folder / "output").mkdir(parents=True)
            (folder / "input").mkdir()
            shutil.copyfile(upload, self.input_path(job))
            for option, files in (attachments or {}).items():
                if not files:
                    continue
                names = []
                for number, path in enumerate(files):
                    name = f"{safe_name(option)}-{number}-{safe_name(Path(path).name)}"
                    shutil.copyfile(path, folder / "input" / name)
                    names.append(name)
                job.attachments[option] = names
            if validate is not None:
                validate(self.input_path(job), self.output_path(job), self.options_for(job))
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        with self._cond:
            self.jobs[job.id] = job
            self._save(job)
            self._cond.notify_all()
        return job

    def options_for(self, job: Job) -> dict:
        """The job's options with its attachments as paths (a list for options that take several)."""
        options = dict(job.options)
        for option, names in job.attachments.items():
            paths = [str(self.folder(job) / "input" / n) for n in names]
            options[option] = paths if _takes_many(option) else paths[0]
        return options

    def get(self, job_id: str) -> Job | None:
        return self.jobs.get(job_id) if job_id and JOB_ID.match(job_id) else None

    def listing(self) -> list[Job]:
        return sorted(self.jobs.values(), key=lambda j: j.created, reverse=True)

    def position(self, job: Job) -> int:
        """1 for the next queued job to start, 2 for the one after …; 0 when not queued."""
        if job.state != "queued":
            return 0
        queued = sorted((j for j in self.jobs.values() if j.state == "queued"), key=lambda j: j.created)
        return queued.index(job) + 1

    def running(self) -> list[Job]:
        return [j for j in self.jobs.values() if j.state == "running"]

    def cancel(self, job_id: str) -> bool:
        """Stop a queued or running job; False when it is not active."""
        with self._cond:
            job = self.get(job_id)
            if job is None or not job.active:
                return False
            if job.state == "queued":
                self._finish(job, "cancelled")
            else:
                self._cancel.add(job.id)
            return True

    # --- workers -----------------------------------------------------------------------------------------
    def start(self) -> None:
        for number in range(self.workers):
            thread = threading.Thread(target=self._work, name=f"bian-job-{number}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        """Let the workers end after their current job (tests; a killed server needs no call)."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()

    def _next(self) -> Job | None:
        with self._cond:
            while not self._stopping:
                queued = sorted((j for j in self.jobs.values() if j.state == "queued"), key=lambda j: j.created)
                if queued:
                    job = queued[0]
                    job.state, job.started, job.error = "running", time.time(), None
                    self._save(job)
                    return job
                self._cond.wait()
            return None

    def _work(self) -> None:
        while (job := self._next()) is not None:
            last_save = [0.0]

            def on_progress(progress, job=job):
                job.done, job.total, job.fps = progress.done, progress.total, round(progress.rate(), 2)
                if job.id in self._cancel:
                    raise Cancelled(job.id)
                if time.monotonic() - last_save[0] > 1.0:
                    last_save[0] = time.monotonic()
                    self._save(job)

            try:
                summary = self.runner(job, self.input_path(job), self.output_path(job), self.options_for(job),
                                      on_progress)
            except Cancelled:
                shutil.rmtree(work_dir_for(self.output_path(job)), ignore_errors=True)
                self._finish(job, "cancelled")
            except BianError as exc:
                self._finish(job, "failed", error=exc.line())
            except Exception as exc:  # noqa: BLE001  (shown in the page; the server keeps serving)
                self._finish(job, "failed", error=f"internal error: {type(exc).__name__}: {exc}")
            else:
                job.done = job.total = job.total or 1
                self._finish(job, "done", summary=summary)

    def _finish(self, job: Job, state: str, error: str | None = None, summary: dict | None = None) -> None:
        with self._cond:
            job.state, job.finished, job.error, job.summary = state, time.time(), error, summary
            self._cancel.discard(job.id)
            self._save(job)
            self._cond.notify_all()

    def _save(self, job: Job) -> None:
        path = self.folder(job) / "job.json"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(job), indent=1, default=str))
        os.replace(tmp, path)


def _takes_many(option: str) -> bool:
    from ..pipeline.plan import all_options
    return any(o.name == option and o.many for o in all_options())


def run_job(job: Job, input: Path, output: Path, options: dict, on_progress) -> dict:
    """The default runner: the bian API, nothing else."""
    if job.kind == "animate":
        from ..animate import animate
        return animate(input, output, **{k: v for k, v in options.items() if v is not None})
    from ..api import restore
    return restore(input, output, on_progress=on_progress, **options)


def validate_job(kind: str):
    """The check made before a job is queued: the plan for a restore (it probes the input), a readable
    picture for an animation."""
    def validate(input: Path, output: Path, options: dict) -> None:
        if kind == "animate":
            read_image(input)
            return
        from ..api import plan
        plan(input, output, **options)
    return validate
