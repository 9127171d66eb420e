"""The page (Gradio) and the server around it (FastAPI + uvicorn). The page only calls the bian API and
the job queue; every decision about stages lives in the plan.

Served: the page, Gradio's own upload area (inside the data directory), and ``/jobs/ID/input|output/NAME``
for files inside a job's folder — nothing else on disk.
"""
from __future__ import annotations

import ipaddress
import os
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

from ..api import VIDEO_SUFFIXES, preview
from ..errors import BianError
from ..media.images import FORMATS
from ..media.video import probe_video
from . import views
from .controls import Control, controls, options_from, presets
from .jobs import JobQueue, validate_job
from .safety import inside

CUSTOM = "Custom"
CSS = """
.bian-status { padding: .6em .8em; border-radius: 6px; background: #f3f4f6; }
.bian-error { background: #fde8e8; color: #9b1c1c; font-weight: 600; }
.bian-done { background: #e6f4ea; }
.bian-queued { background: #fff7e0; }
.bian-status progress { width: 12em; vertical-align: middle; }
.bian-sbs { display: flex; gap: 8px; }
.bian-sbs figure { flex: 1; margin: 0; }
.bian-sbs video { width: 100%; }
.bian-download { display: inline-block; padding: .5em 1em; border-radius: 6px; background: #2563eb; color: #fff; }
.bian-jobs td, .bian-jobs th { padding: 2px 8px; }
"""
PLAY_BOTH = """() => { document.querySelectorAll('#film-videos video').forEach(v => { v.currentTime = 0; v.play(); }); }"""


# --- the page ------------------------------------------------------------------------------------------------
def build_blocks(queue: JobQueue):
    import gradio as gr

    # Gradio's copies of uploads and shown pictures are dropped after a day; jobs keep their own files
    with gr.Blocks(title="bian — restore old photographs and film", analytics_enabled=False,
                   delete_cache=(3600, 86400)) as blocks:
        gr.Markdown("## bian — bring old photographs and film back to life")
        with gr.Tabs():
            with gr.Tab("Photo", id="photo", elem_id="tab-photo"):
                _restore_tab(gr, queue, "photo", "image")
            with gr.Tab("Film", id="film", elem_id="tab-film"):
                _restore_tab(gr, queue, "film", "video")
            with gr.Tab("Animate", id="animate", elem_id="tab-animate"):
                _animate_tab(gr, queue)
            with gr.Tab("Jobs", id="jobs", elem_id="tab-jobs"):
                table = gr.HTML(lambda: views.jobs_html(queue), every=gr.Timer(2.0), elem_id="jobs")
                gr.Button("Refresh").click(lambda: views.jobs_html(queue), None, table)
    return blocks


def _component(gr, control: Control, prefix: str):
    option, elem = control.option, f"{prefix}-opt-{control.option.name}"
    label, info = option.name.replace("_", " "), option.help
    if control.kind == "checkbox":
        return gr.Checkbox(value=False, label=label, info=info, elem_id=elem)
    if control.kind == "dropdown":
        return gr.Dropdown(list(option.choices), value=option.default, label=label, info=info, elem_id=elem)
    if control.kind == "slider":
        return gr.Slider(0, 1, value=option.default, step=0.05, label=label, info=info, elem_id=elem)
    if control.kind in ("number", "integer"):
        return gr.Number(value=option.default, label=label, info=info, precision=0 if control.kind == "integer"
                         else None, elem_id=elem)
    if control.kind in ("file", "files"):
        return gr.File(label=label, file_count="multiple" if control.kind == "files" else "single",
                       type="filepath", elem_id=elem)
    if control.kind == "hints":
        return gr.ImageEditor(label=f"colour {label}: paint colours on the picture"
                              f"{' (frame 0)' if prefix == 'film' else ''}", type="numpy", image_mode="RGBA",
                              sources=(), layers=False, transforms=(), elem_id=elem, brush=gr.Brush(
                                  default_size=8, colors=["#b03a2e", "#d4ac0d", "#239b56", "#2e86c1",
                                                          "#884ea0", "#f0c8a0", "#808080"]))
    return gr.Textbox(value=option.default or "", label=label, info=info, placeholder="not set", elem_id=elem)


def _restore_tab(gr, queue: JobQueue, prefix: str, kind: str) -> None:
    ctrls = controls(kind)
    types = sorted(FORMATS) if kind == "image" else sorted(VIDEO_SUFFIXES)
    with gr.Row():
        with gr.Column(scale=1):
            upload = gr.File(label="Photograph" if kind == "image" else "Film", file_types=types, type="filepath",
                             elem_id=f"{prefix}-upload")
            frame = gr.Slider(0, 1, value=0, step=1, label="Frame for the preview and the comparison",
                              elem_id=f"{prefix}-frame", visible=kind == "video")
            preset = gr.Dropdown([CUSTOM, *presets()], value=CUSTOM, label="Preset", elem_id=f"{prefix}-preset")
            with gr.Row():
                preview_button = gr.Button("Preview frame" if kind == "video" else "Preview",
                                           elem_id=f"{prefix}-preview")
                run_button = gr.Button("Restore" + (" the whole film" if kind == "video" else ""),
                                       variant="primary", elem_id=f"{prefix}-run")
                cancel_button = gr.Button("Cancel", variant="stop", elem_id=f"{prefix}-cancel")
            made = {}  # control number → component
            for group in dict.fromkeys(c.group for c in ctrls if c.kind != "hints"):
                with gr.Accordion(group, open=False, elem_id=f"{prefix}-group-{group}"):
                    made.update({k: _component(gr, c, prefix) for k, c in enumerate(ctrls)
                                 if c.group == group and c.kind != "hints"})
        with gr.Column(scale=1):
            status = gr.HTML(views.status_html(queue, None), elem_id=f"{prefix}-status")
            slider = gr.ImageSlider(label="Before / after", type="numpy", format="png", interactive=False,
                                    elem_id=f"{prefix}-slider")
            videos = gr.HTML("", elem_id=f"{prefix}-videos-box", visible=kind == "video")
            play = gr.Button("Play both from the start", elem_id=f"{prefix}-play", visible=kind == "video")
            download = gr.HTML("", elem_id=f"{prefix}-download")
            # the painter stays in view: a canvas inside a closed accordion never draws its picture
            made.update({k: _component(gr, c, prefix) for k, c in enumerate(ctrls) if c.kind == "hints"})
    components = [made[k] for k in range(len(ctrls))]
    job_id, shown = gr.State(""), gr.State("")
    hints = [made[k] for k, c in enumerate(ctrls) if c.kind == "hints"]

    def on_upload(path, index):
        if not path:
            return views.status_html(queue, None), None, gr.update(), *[None for _ in hints]
        try:
            picture = views.frame_at(Path(path), 0)
            slider_max = probe_video(Path(path)).frames - 1 if kind == "video" else 0
        except BianError as exc:
            return views.error_html(exc.line()), None, gr.update(), *[None for _ in hints]
        rgb = views.to_rgb8(picture)
        message = (f'<div class="bian-status bian-idle">{Path(path).name}: {rgb.shape[1]}×{rgb.shape[0]}'
                   f'{f", {slider_max + 1} frames" if kind == "video" else ""}. Preview or restore.</div>')
        return (message, (rgb, rgb), gr.update(maximum=max(slider_max, 1), value=0, interactive=slider_max > 0),
                *[_editor_value(rgb) for _ in hints])

    def on_preset(name):
        if name == CUSTOM:
            return [gr.update() for _ in ctrls]
        values = presets()[name]
        return [gr.update(value=values.get(c.option.name, False if c.kind == "checkbox" else c.option.default))
                if c.kind not in ("file", "files", "hints") else gr.update() for c in ctrls]

    def on_preview(path, index, *values):
        if not path:
            return views.error_html("choose a file first"), gr.update()
        try:
            with tempfile.TemporaryDirectory(prefix="bian-web-") as scratch:
                options = {**options_from(ctrls, values), **_attachment_options(ctrls, values, Path(scratch))}
                before, after = preview(path, int(index or 0), **options)
        except BianError as exc:
            return views.error_html(exc.line()), gr.update()
        note = f"Preview of frame {int(index or 0)}" if kind == "video" else "Preview"
        return (f'<div class="bian-status bian-idle">{note}: drag the slider to compare.</div>',
                views.pair(before, after))

    def on_run(path, current, *values):
        if not path:
            return current, gr.update(), views.error_html("choose a file first")
        active = queue.get(current)
        if active is not None and active.active:
            return current, gr.update(), views.error_html("this tab's job is still running: wait or cancel it")
        try:
            with tempfile.TemporaryDirectory(prefix="bian-web-") as scratch:  # the job keeps copies
                job = queue.submit("restore", Path(path), Path(path).name, options_from(ctrls, values),
                                   _attachments(ctrls, values, Path(scratch)), validate=validate_job("restore"))
        except BianError as exc:
            return current, gr.update(), views.error_html(f"not started: {exc.line()}")
        return job.id, "", views.status_html(queue, job)

    def on_tick(current, seen, index):
        job = queue.get(current)
        if job is None:
            return gr.update(), gr.update(), gr.update(), gr.update(), seen
        key = f"{job.id}:{job.state}"
        if key == seen:
            return views.status_html(queue, job), gr.update(), gr.update(), gr.update(), seen
        comparison = views.result_pair(queue, job, int(index or 0)) if job.state == "done" else gr.update()
        return (views.status_html(queue, job), comparison, views.videos_html(queue, job, f"{prefix}-videos"),
                views.download_html(queue, job, f"{prefix}-download-link"), key)

    def on_frame(current, index):
        job = queue.get(current)
        if job is None or job.state != "done":
            return gr.update()
        return views.result_pair(queue, job, int(index or 0))

    upload.change(on_upload, [upload, frame], [status, slider, frame, *hints])
    preset.change(on_preset, preset, components)
    preview_button.click(on_preview, [upload, frame, *components], [status, slider], concurrency_limit=1)
    run = run_button.click(on_run, [upload, job_id, *components], [job_id, shown, status])
    cancel_button.click(lambda current: _cancel(queue, current), job_id, status)
    _watch(gr, queue, run, on_tick, [job_id, shown, frame], [status, slider, videos, download, shown])
    frame.release(on_frame, [job_id, frame], slider)
    play.click(None, js=PLAY_BOTH)


def _animate_tab(gr, queue: JobQueue) -> None:
    try:
        from ..animate import DEFAULT, PRESETS
    except ImportError:
        gr.Markdown("Portrait animation (`bian.animate`) is not in this build.")
        return
    with gr.Row():
        with gr.Column(scale=1):
            upload = gr.File(label="Portrait", file_types=sorted(FORMATS), type="filepath",
                             elem_id="animate-upload")
            motion = gr.CheckboxGroup(list(PRESETS), value=list(DEFAULT), label="Motion",
                                      elem_id="animate-motion")
            duration = gr.Slider(1, 12, value=6, step=0.5, label="Seconds", elem_id="animate-duration")
            strength = gr.Slider(0, 2, value=1, step=0.1, label="Strength of the motion",
                                 elem_id="animate-strength")
            seed = gr.Number(0, precision=0, label="Variation (seed)", elem_id="animate-seed")
            restore = gr.Checkbox(False, label="Restore the face first", elem_id="animate-restore")
            with gr.Accordion("Copy the motion of a driving video instead", open=False):
                driving = gr.File(label="Driving video", file_types=sorted(VIDEO_SUFFIXES), type="filepath",
                                  elem_id="animate-driving")
                audio = gr.Checkbox(False, label="Keep the driving video's sound", elem_id="animate-audio")
            with gr.Row():
                run_button = gr.Button("Animate", variant="primary", elem_id="animate-run")
                cancel_button = gr.Button("Cancel", variant="stop", elem_id="animate-cancel")
        with gr.Column(scale=1):
            status = gr.HTML(views.status_html(queue, None), elem_id="animate-status")
            portrait = gr.Image(label="Portrait", type="numpy", interactive=False, elem_id="animate-portrait")
            result = gr.HTML("", elem_id="animate-result-box")
            download = gr.HTML("", elem_id="animate-download")
    job_id, shown = gr.State(""), gr.State("")

    def on_upload(path):
        if not path:
            return views.status_html(queue, None), None
        try:
            rgb = views.to_rgb8(views.frame_at(Path(path), 0))
        except BianError as exc:
            return views.error_html(exc.line()), None
        return f'<div class="bian-status bian-idle">{Path(path).name}: {rgb.shape[1]}×{rgb.shape[0]}.</div>', rgb

    def on_run(path, current, motions, seconds, amount, variation, restore_first, drive, keep_audio):
        if not path:
            return current, gr.update(), views.error_html("choose a portrait first")
        active = queue.get(current)
        if active is not None and active.active:
            return current, gr.update(), views.error_html("this tab's job is still running: wait or cancel it")
        options = {"motion": ",".join(motions) or None, "duration": None if drive else float(seconds),
                   "strength": float(amount), "seed": int(variation or 0), "restore": bool(restore_first),
                   "audio": bool(keep_audio and drive)}
        try:
            job = queue.submit("animate", Path(path), Path(path).name, options,
                               {"driving": [Path(drive)] if drive else []}, validate=validate_job("animate"))
        except BianError as exc:
            return current, gr.update(), views.error_html(f"not started: {exc.line()}")
        return job.id, "", views.status_html(queue, job)

    def on_tick(current, seen):
        job = queue.get(current)
        if job is None:
            return gr.update(), gr.update(), gr.update(), seen
        key = f"{job.id}:{job.state}"
        if key == seen:
            return views.status_html(queue, job), gr.update(), gr.update(), seen
        return (views.status_html(queue, job), views.result_html(queue, job, "animate-result"),
                views.download_html(queue, job, "animate-download-link"), key)

    upload.change(on_upload, upload, [status, portrait])
    run = run_button.click(on_run, [upload, job_id, motion, duration, strength, seed, restore, driving, audio],
                           [job_id, shown, status])
    cancel_button.click(lambda current: _cancel(queue, current), job_id, status)
    _watch(gr, queue, run, on_tick, [job_id, shown], [status, result, download, shown])


def _watch(gr, queue: JobQueue, run, on_tick, inputs: list, outputs: list) -> None:
    """Call ``on_tick(job_id, shown, *rest)`` every second while the tab's job is queued or running, and once
    more to show how it ended; then the timer stops, so an idle page costs the server nothing."""
    timer = gr.Timer(1.0, active=False)

    def tick(current, seen, *rest):
        job = queue.get(current)
        ended = job is None or (not job.active and f"{job.id}:{job.state}" == seen)  # and already shown
        return *on_tick(current, seen, *rest), gr.Timer(active=False) if ended else gr.update()

    def start(current, seen):  # a new job (``shown`` reset), however quickly it ends, or one still going
        job = queue.get(current)
        return gr.Timer(active=job is not None and (job.active or f"{job.id}:{job.state}" != seen))

    timer.tick(tick, inputs, [*outputs, timer], concurrency_limit=None, show_progress="hidden")
    run.then(start, inputs[:2], timer)


def _cancel(queue: JobQueue, current: str) -> str:
    job = queue.get(current)
    if job is None or not queue.cancel(job.id):
        return views.status_html(queue, job)
    return views.status_html(queue, job).replace("</div>", " — cancelling…</div>", 1)


def _editor_value(rgb: np.ndarray) -> dict:
    return {"background": rgb, "layers": [], "composite": None}


def _attachments(ctrls: list[Control], values: list, scratch: Path) -> dict[str, list[Path]]:
    """Files the page sent for file options: uploaded references, and the painted colour strokes saved in
    ``scratch`` as a transparent PNG (painted pixels opaque), the hint-image form the colour stage reads."""
    files = {}
    for control, value in zip(ctrls, values):
        if control.kind in ("file", "files") and value:
            files[control.option.name] = [Path(v) for v in ([value] if isinstance(value, str) else value)]
        elif control.kind == "hints" and value:
            strokes = _strokes(value)
            if strokes is not None:
                name = scratch / f"{control.option.name}.png"
                Image.fromarray(strokes, "RGBA").save(name)
                files[control.option.name] = [name]
    return files


def _attachment_options(ctrls: list[Control], values: list, scratch: Path) -> dict:
    """The same files as options for the API (a list for options that take several)."""
    files = _attachments(ctrls, values, scratch)
    many = {c.option.name: c.option.many for c in ctrls}
    return {name: [str(p) for p in paths] if many[name] else str(paths[0]) for name, paths in files.items()}


def _strokes(editor: dict) -> np.ndarray | None:
    """The painted layers of an ImageEditor value merged into one RGBA image, or None when nothing was
    painted."""
    layers = [np.asarray(layer) for layer in editor.get("layers") or [] if layer is not None]
    layers = [layer for layer in layers if layer.ndim == 3 and layer.shape[2] == 4 and layer[..., 3].any()]
    if not layers:
        return None
    merged = layers[0].copy()
    for layer in layers[1:]:
        painted = layer[..., 3] > 0
        merged[painted] = layer[painted]
    return merged


# --- the server ----------------------------------------------------------------------------------------------
def create_app(data_dir: Path, max_upload_mb: float = 1024, workers: int = 1):
    """The FastAPI app: the job file route, then the Gradio page at ``/``; starts the job workers."""
    data_dir = Path(data_dir).resolve()
    uploads = data_dir / "uploads"
    uploads.mkdir(parents=True, exist_ok=True)
    os.environ["GRADIO_TEMP_DIR"] = str(uploads)  # Gradio keeps uploads and shown pictures here
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    import gradio as gr
    from fastapi import FastAPI, HTTPException
    from fastapi.responses import FileResponse

    queue = JobQueue(data_dir, workers)
    app = FastAPI(title="bian")

    @app.get("/jobs/{job_id}/{area}/{name}")
    def job_file(job_id: str, area: str, name: str):
        job = queue.get(job_id)
        path = None
        if job is not None and area in ("input", "output") and not name.startswith("."):
            path = inside(queue.folder(job) / area, name)
        if path is None:
            raise HTTPException(status_code=404, detail="not a file of a job")
        return FileResponse(path, filename=path.name if area == "output" else None)

    blocks = build_blocks(queue)
    blocks.queue(default_concurrency_limit=2)
    theme = gr.themes.Default(font=["system-ui", "sans-serif"], font_mono=["ui-monospace", "monospace"])
    app = gr.mount_gradio_app(app, blocks, path="/", max_file_size=int(max_upload_mb * 1024 * 1024),
                              allowed_paths=[], css=CSS, theme=theme, ssr_mode=False, footer_links=[])
    app.state.bian_queue = queue
    queue.start()
    return app


def serve(host: str = "127.0.0.1", port: int = 7860, data_dir: Path | None = None, max_upload_mb: float = 1024,
          workers: int = 1) -> None:
    """Run the web UI until interrupted (``bian serve``)."""
    import uvicorn

    data_dir = Path(data_dir) if data_dir else default_data_dir()
    app = create_app(data_dir, max_upload_mb, workers)
    if not _loopback(host):
        print(f"bian: warning: serving on {host}: anyone who can reach this machine can use it", file=sys.stderr)
    print(f"bian: serving on http://{host}:{port} (jobs in {data_dir / 'jobs'})", file=sys.stderr, flush=True)
    uvicorn.run(app, host=host, port=port, log_level="warning")


def default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "bian" / "web"


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
