"""The web UI end to end: `bian serve` in a subprocess, driven by headless Chromium through Playwright.

Needs the `web` extra (gradio), the `playwright` Python package and Debian's `chromium` (scripts/setup.sh
--test installs all three; no browser is downloaded). Skips with the reason when one is missing.
Screenshots go to test-artifacts/web/.
"""
from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from media_factory import audio_packet_hash, audio_seconds, ffmpeg, frame_hashes, need_ffmpeg

pytest.importorskip("gradio", reason="the web UI needs the web extra: pip install -e '.[web]'")
sync_api = pytest.importorskip("playwright.sync_api", reason="browser tests need the playwright package")
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
if not os.path.exists(CHROMIUM):
    pytest.skip("browser tests need Debian's chromium (scripts/setup.sh --test installs it)", allow_module_level=True)

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts" / "web"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
JOB_TIMEOUT = 300_000  # ms: generous, for a loaded 2-core machine (not a speed check)


class Server:
    """`bian serve` in its own process group, so a test can kill it like a crash would."""

    def __init__(self, data: Path, max_upload_mb: float = 20):
        self.data, self.max_upload = data, max_upload_mb
        self.proc = None
        self.port = 0

    def start(self) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        log = open(self.data.parent / f"server-{self.port}.log", "w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bian.cli", "serve", "--port", str(self.port), "--data", str(self.data),
             "--max-upload", str(self.max_upload)], stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"bian serve exited: {Path(log.name).read_text()[-2000:]}")
            try:
                if self.get("/")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.5)
        raise RuntimeError("bian serve did not start in 300 s")

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()

    def stop_mid_job(self, jobs_before: int, segments: int) -> dict:
        """Let the server run in short slices (SIGCONT, 10 ms, SIGSTOP) until the newest job's resume
        manifest lists ``segments`` finished segments; return that job with the server left stopped. The
        kill that follows lands mid-job however loaded the machine is."""
        deadline = time.monotonic() + JOB_TIMEOUT / 1000
        while time.monotonic() < deadline:
            os.killpg(self.proc.pid, signal.SIGSTOP)
            jobs = self.jobs()
            if len(jobs) > jobs_before:
                job = jobs[-1]
                try:
                    if len(json.loads(manifest_path(self, job).read_text())["segments"]) >= segments:
                        return job
                except (OSError, ValueError, KeyError):
                    pass  # not written yet
            os.killpg(self.proc.pid, signal.SIGCONT)
            time.sleep(0.01)
        os.killpg(self.proc.pid, signal.SIGCONT)
        raise AssertionError(f"no job reached {segments} segments; jobs: {self.jobs()[jobs_before:]}")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def get(self, raw_path: str) -> tuple[int, bytes]:
        """GET with the path sent exactly as given (no client-side ``..`` clean-up)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            conn.request("GET", raw_path)
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            conn.close()

    def jobs(self) -> list[dict]:
        """Every job's record, oldest first."""
        jobs = [json.loads(p.read_text()) for p in (self.data / "jobs").glob("*/job.json")]
        return sorted(jobs, key=lambda j: j["created"])


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = Server(tmp_path_factory.mktemp("web") / "data")
    srv.start()
    yield srv
    srv.kill()


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def open_page(browser, server):
    """A fresh browser session on the page (its own context: another user)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(120_000)  # a loaded 2-core machine; not a speed check
    page.goto(server.url)
    page.wait_for_selector("#photo-upload")
    return page


@pytest.fixture
def page(browser, server):
    page = open_page(browser, server)
    yield page
    page.context.close()


def film_clip(shared, folder: Path, seconds: float) -> Path:
    """The first seconds of the real damaged film (432×320, 29 fps) with a 440 Hz AAC tone as its sound."""
    need_ffmpeg()
    path = folder / f"reel{seconds}.mp4"
    ffmpeg("-t", str(seconds), "-i", str(shared / "data/film/remaster_clip.mp4"), "-f", "lavfi", "-i",
           f"sine=frequency=440:sample_rate=48000:duration={seconds}", "-map", "0:v", "-map", "1:a",
           "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", str(path))
    return path


@pytest.fixture(scope="module")
def clip(shared, tmp_path_factory) -> Path:
    """0.5 s, 15 frames."""
    return film_clip(shared, tmp_path_factory.mktemp("clips"), 0.5)


@pytest.fixture(scope="module")
def reel(shared, tmp_path_factory) -> Path:
    """4 s, 116 frames: long enough to be caught mid-job."""
    return film_clip(shared, tmp_path_factory.mktemp("reels"), 4)


def manifest_path(server: Server, job: dict) -> Path:
    """Where the pipeline records a video job's finished segments (its resume manifest)."""
    return server.data / "jobs" / job["id"] / "output" / f".{job['output']}.bian-work" / "manifest.json"


def wait_for_new_job(server: Server, jobs_before: int) -> dict:
    deadline = time.monotonic() + JOB_TIMEOUT / 1000
    while len(jobs := server.jobs()) <= jobs_before:
        assert time.monotonic() < deadline, "the click made no job"
        time.sleep(0.05)
    return jobs[-1]


def wait_for(page, selector: str, name: str, timeout: float | None = None):
    """``page.wait_for_selector`` that saves a screenshot (``failed-NAME.png``) and says what the page
    showed when it times out."""
    try:
        return page.wait_for_selector(selector, timeout=timeout)
    except sync_api.TimeoutError:
        shot(page, f"failed-{name}")
        statuses = [el.inner_text() for el in page.locator(".bian-status").all() if el.is_visible()]
        raise AssertionError(f"{selector} never appeared; the page showed: {statuses}") from None


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def tab(page, name: str) -> None:
    page.click(f"#tab-{name}-button")


def upload(page, prefix: str, path: Path) -> None:
    page.locator(f"#{prefix}-upload input[type=file]").set_input_files(str(path))


def set_option(page, prefix: str, group: str, name: str, value) -> None:
    """Open the option's group and set it (checkbox, number or text box)."""
    field = page.locator(f"#{prefix}-opt-{name}")
    if not field.is_visible():
        page.click(f"#{prefix}-group-{group}")
    flag = isinstance(value, bool)
    box = field.locator("input[type=checkbox]") if flag else field.locator("input, textarea").first
    # A group's fields can still be mounting just after it opens, and mounting puts the default back over
    # a value set that fast (seen in 1 run of 3): set it until it stays.
    for _ in range(10):
        if flag:
            box.set_checked(value)
        else:
            box.fill(str(value))
        page.wait_for_timeout(500)
        if (box.is_checked() if flag else box.input_value()) == (value if flag else str(value)):
            return
    raise AssertionError(f"the page keeps resetting option {name}")


def controls_for(kind: str):
    from bian.web.controls import controls
    return controls(kind)


def has_option(name: str) -> bool:
    from bian.pipeline.plan import all_options
    return any(o.name == name for o in all_options())


def slider_images(page, prefix: str) -> list[str]:
    return [img.get_attribute("src") for img in page.locator(f"#{prefix}-slider img").all()]


def download(page, link: str, target: Path) -> Path:
    with page.expect_download() as info:
        page.click(link)
    info.value.save_as(str(target))
    return target


def restore_options() -> dict:
    """Dust repair when this build has the stage, and a half-size resize so the result's size proves the
    options reached the plan."""
    return {"dust": True, "scale": 0.5} if has_option("dust") else {"scale": 0.5}


def fill(page, prefix: str, options: dict) -> None:
    groups = {c.option.name: c.group for c in controls_for("video")}
    for name, value in options.items():
        set_option(page, prefix, groups[name], name, value)


# --- 1. photo: repair → preview → slider → restore → download --------------------------------------------------
def test_photo_restore_slider_download(page, server, shared, tmp_path):
    from bian import api

    photo = shared / "data/photos/scratched/a.png"
    width, height = Image.open(photo).size
    upload(page, "photo", photo)
    page.wait_for_selector("#photo-status:has-text('Preview or restore')")
    options = restore_options()
    fill(page, "photo", options)
    page.click("#photo-preview")
    page.wait_for_selector("#photo-status:has-text('drag the slider')", timeout=JOB_TIMEOUT)
    page.click("#photo-run")
    page.wait_for_selector("#photo-download-link", timeout=JOB_TIMEOUT)
    page.wait_for_selector("#photo-status [data-state=done]")
    images = slider_images(page, "photo")
    assert len(images) == 2 and images[0] != images[1]  # before and after, one over the other
    shot(page, "photo")

    result = download(page, "#photo-download-link", tmp_path / "result.png")
    with Image.open(result) as img:
        img.verify()
    with Image.open(result) as img:
        assert img.size == (round(width * 0.5), round(height * 0.5))
        served = np.asarray(img.convert("RGB"))
    direct = tmp_path / "direct.png"  # the page adds nothing: the same as the API with the same options
    api.restore(photo, direct, **options)
    assert np.array_equal(served, np.asarray(Image.open(direct).convert("RGB")))


# --- 1. a bad upload -----------------------------------------------------------------------------------------
def test_bad_upload_shows_clear_message(page, server, tmp_path):
    fake = tmp_path / "holiday.jpg"
    fake.write_text("this is a letter, not a photograph\n" * 20)
    before = len(server.jobs())
    upload(page, "photo", fake)
    error = page.wait_for_selector("#photo-status .bian-error")
    message = error.inner_text()
    assert "holiday.jpg" in message and "image" in message.lower()
    assert "/" not in message  # names the user's file, not where the server keeps it
    page.click("#photo-run")  # restoring it anyway is refused with the same message and makes no job
    refused = wait_for(page, "#photo-status .bian-error:has-text('not started')", "bad-upload-run")
    assert "holiday.jpg" in refused.inner_text() and "/" not in refused.inner_text()
    assert page.locator("#photo-status .bian-error").count() == 1
    assert len(server.jobs()) == before
    shot(page, "bad-upload")


# --- 1. film: preview a frame, restore, frame count and audio kept, side by side -----------------------------
def test_film_restore_keeps_frames_and_audio(page, server, clip, tmp_path):
    tab(page, "film")
    upload(page, "film", clip)
    page.wait_for_selector("#film-status:has-text('15 frames')")
    fill(page, "film", restore_options())
    page.locator("#film-frame input[type=number]").fill("7")
    page.locator("#film-frame input[type=number]").press("Enter")
    page.click("#film-preview")
    page.wait_for_selector("#film-status:has-text('Preview of frame 7')", timeout=JOB_TIMEOUT)
    assert len(slider_images(page, "film")) == 2
    page.click("#film-run")
    page.wait_for_selector("#film-download-link", timeout=JOB_TIMEOUT)
    assert page.locator("#film-videos video").count() == 2  # side-by-side playback
    page.click("#film-play")
    assert len(slider_images(page, "film")) == 2
    shot(page, "film")

    result = download(page, "#film-download-link", tmp_path / "reel_restored.mp4")
    assert len(frame_hashes(result)) == len(frame_hashes(clip)) == 15
    with av.open(str(result)) as c:
        assert (c.streams.video[0].width, c.streams.video[0].height) == (216, 160)
    assert audio_packet_hash(result) == audio_packet_hash(clip)  # the sound copied untouched
    assert abs(audio_seconds(result) - audio_seconds(clip)) < 1e-6


# --- progress with ETA, and cancel -----------------------------------------------------------------------------
def test_progress_eta_and_cancel(page, server, reel):
    tab(page, "film")
    upload(page, "film", reel)
    page.wait_for_selector("#film-status:has-text('116 frames')")
    set_option(page, "film", "faces", "faces", True)  # the slowest stage here: seconds per frame
    page.click("#film-run")
    running = page.wait_for_selector("#film-status [data-state=running]:has-text('ETA')", timeout=JOB_TIMEOUT)
    assert "/116 frames" in running.inner_text()
    assert page.locator("#film-status progress").get_attribute("max") == "116"
    shot(page, "progress")
    page.click("#film-cancel")
    page.wait_for_selector("#film-status [data-state=cancelled]", timeout=JOB_TIMEOUT)
    job = server.jobs()[-1]
    output = server.data / "jobs" / job["id"] / "output"
    assert job["state"] == "cancelled" and 0 < job["done"] < 116
    assert not any(output.iterdir())  # no result, no leftover work folder


# --- colour hints painted on the picture, and reference images -----------------------------------------------
@pytest.fixture
def grey_photo(shared, tmp_path) -> Path:
    path = tmp_path / "street.png"
    with Image.open(shared / "data/photos/historical/Helen Keller meeting Charlie Chaplin in 1919.jpg") as img:
        img.convert("L").resize((320, 240), Image.LANCZOS).save(path)
    return path


def chroma(path: Path) -> np.ndarray:
    rgb = np.asarray(Image.open(path).convert("RGB")).astype(np.float32) / 255
    return rgb.max(axis=2) - rgb.min(axis=2)


def test_colour_hints_painted_in_the_page(page, server, grey_photo, tmp_path):
    if not has_option("hints"):
        pytest.skip("this build has no colourisation stage (--hints)")
    upload(page, "photo", grey_photo)
    page.wait_for_selector("#photo-status:has-text('Preview or restore')")
    # the painter shows its tools and zoom once the picture is its background
    page.wait_for_selector("#photo-opt-hints .zoom-number")
    page.wait_for_selector("#photo-opt-hints .pixi-target canvas")
    box = page.locator("#photo-opt-hints canvas").first.bounding_box()
    x, y = box["x"] + box["width"] * 0.4, box["y"] + box["height"] * 0.45
    page.mouse.move(x, y)
    page.mouse.down()
    for step in range(12):
        page.mouse.move(x + 4 * step, y + 3 * step)
    page.mouse.up()
    page.click("#photo-run")
    page.wait_for_selector("#photo-download-link", timeout=JOB_TIMEOUT)
    shot(page, "hints")
    job = server.jobs()[-1]
    painted = np.asarray(Image.open(server.data / "jobs" / job["id"] / "input" / job["attachments"]["hints"][0]))
    strokes = painted[painted[..., 3] > 0]
    assert painted.shape == (240, 320, 4) and len(strokes) > 100  # a stroke, at the picture's size
    assert (strokes[:, :3] == [176, 58, 46]).all()  # the painter's first colour, #b03a2e
    result = download(page, "#photo-download-link", tmp_path / "coloured.png")
    rgb = np.asarray(Image.open(result).convert("RGB")).astype(np.int16)
    assert chroma(grey_photo).max() == 0 and chroma(result).mean() > 0.03
    assert (rgb[..., 0] - rgb[..., 1]).mean() > 5  # red, the hint's colour


def test_colour_reference_images(page, server, shared, grey_photo, tmp_path):
    if not has_option("reference"):
        pytest.skip("this build has no colourisation stage (--reference)")
    refs = sorted((shared / "data/film/remaster_refs").glob("*.png"))[:2]
    upload(page, "photo", grey_photo)
    page.wait_for_selector("#photo-status:has-text('Preview or restore')")
    group = next(c.group for c in controls_for("image") if c.option.name == "reference")
    page.click(f"#photo-group-{group}")
    page.locator("#photo-opt-reference input[type=file]").set_input_files([str(r) for r in refs])
    for ref in refs:  # both uploaded before restoring
        sync_api.expect(page.locator("#photo-opt-reference")).to_contain_text(ref.stem, timeout=120_000)
    page.click("#photo-run")
    page.wait_for_selector("#photo-download-link", timeout=JOB_TIMEOUT)
    job = server.jobs()[-1]
    assert len(job["attachments"]["reference"]) == 2
    result = download(page, "#photo-download-link", tmp_path / "coloured.png")
    assert chroma(result).mean() > 0.03


# --- 2. two jobs at once: the second waits in line, both finish ---------------------------------------------
def test_two_jobs_queue(browser, server, clip):
    first, second = (open_page(browser, server) for _ in range(2))  # two users
    for p in (first, second):
        tab(p, "film")
        upload(p, "film", clip)
        p.wait_for_selector("#film-status:has-text('Preview or restore')")
    fill(first, "film", restore_options())  # dust repair: seconds of work, so the second job has to wait
    fill(second, "film", {"scale": 0.5})
    before = len(server.jobs())
    first.click("#film-run")
    wait_for_new_job(server, before)
    second.click("#film-run")  # submitted together: the first is queued or running now
    queued = wait_for(second, "#film-status [data-state=queued]", "queued")
    assert "queued, position" in queued.inner_text() and "(1 job ahead)" in queued.inner_text()
    shot(second, "queued")
    for p in (first, second):
        wait_for(p, "#film-download-link", "queue-done", JOB_TIMEOUT)
    a, b = server.jobs()[-2:]
    assert a["state"] == b["state"] == "done"
    assert b["started"] >= a["finished"]  # one heavy job at a time, in submission order
    for p in (first, second):
        p.context.close()


# --- 1. animation from a portrait ----------------------------------------------------------------------------
def test_animate_portrait(page, server, shared, tmp_path):
    pytest.importorskip("bian.animate", reason="portrait animation is not in this build")
    portrait = shared / "data/animate/s0.jpg"
    tab(page, "animate")
    upload(page, "animate", portrait)
    page.wait_for_selector("#animate-status:has-text('600×704')")
    for box in page.locator("#animate-motion input[type=checkbox]").all():
        box.set_checked(box.evaluate("b => b.parentElement.textContent.trim() === 'blink'"))
    page.locator("#animate-duration input[type=number]").fill("1")
    page.locator("#animate-duration input[type=number]").press("Enter")
    page.click("#animate-run")
    page.wait_for_selector("#animate-download-link", timeout=JOB_TIMEOUT)
    assert page.locator("#animate-result").count() == 1
    shot(page, "animate")

    result = download(page, "#animate-download-link", tmp_path / "portrait.mp4")
    with av.open(str(result)) as c:
        stream = c.streams.video[0]
        frames = [f.to_ndarray(format="rgb24").astype(np.int16) for f in c.decode(stream)]
    assert len(frames) == 25 and frames[0].shape == (704, 600, 3)
    moved = max(np.abs(f - frames[0]).max() for f in frames)
    assert moved > 40  # the eyes close and open again


def test_animate_without_a_face_says_so(page, server, tmp_path):
    pytest.importorskip("bian.animate", reason="portrait animation is not in this build")
    sky = tmp_path / "sky.png"
    Image.fromarray(np.linspace(40, 220, 160 * 160 * 3).reshape(160, 160, 3).astype(np.uint8)).save(sky)
    tab(page, "animate")
    upload(page, "animate", sky)
    page.wait_for_selector("#animate-status:has-text('160×160')")
    page.click("#animate-run")
    error = page.wait_for_selector("#animate-status .bian-error", timeout=JOB_TIMEOUT)
    assert "no face found" in error.inner_text() and "sky.png" in error.inner_text()
    assert server.jobs()[-1]["state"] == "failed"


# --- 3. a server restart in the middle of a video job --------------------------------------------------------
def test_restart_mid_job_resumes_identically(browser, server, reel, tmp_path):
    from bian import api

    options = {"scale": 0.5, "segment_seconds": 0.25}  # 16 segments of 7 or 8 frames
    page = open_page(browser, server)
    tab(page, "film")
    upload(page, "film", reel)
    page.wait_for_selector("#film-status:has-text('Preview or restore')")
    fill(page, "film", options)
    before = len(server.jobs())
    page.click("#film-run")
    job = server.stop_mid_job(before, segments=2)
    server.kill()  # like a crash: no clean-up
    page.context.close()
    folder = server.data / "jobs" / job["id"]
    killed = json.loads((folder / "job.json").read_text())
    assert killed["state"] == "running" and not (folder / "output" / job["output"]).exists()
    done_before = len(json.loads(manifest_path(server, job).read_text())["segments"])
    assert 2 <= done_before < 16

    server.max_upload = 1  # MB: the next test checks the limit
    server.start()
    page = open_page(browser, server)
    tab(page, "jobs")
    wait_for(page, f"#download-{job['id']}", "resumed", JOB_TIMEOUT)
    shot(page, "jobs")
    result = download(page, f"#download-{job['id']}", tmp_path / "resumed.mp4")
    page.context.close()
    finished = json.loads((folder / "job.json").read_text())
    assert finished["state"] == "done" and finished["restarts"] == 1
    assert finished["summary"]["segments_resumed"] == done_before

    uninterrupted = tmp_path / "uninterrupted.mp4"
    summary = api.restore(reel, uninterrupted, **options)
    assert (finished["summary"]["size"], finished["summary"]["encoder"]) == (summary["size"], summary["encoder"])
    resumed, fresh = frame_hashes(result), frame_hashes(uninterrupted)
    assert len(resumed) == len(fresh) == 116
    differ = [i for i, (a, b) in enumerate(zip(resumed, fresh)) if a != b]
    # which frames differ tells a resume fault (from the first resumed segment) from an encoder one
    assert not differ, f"frames {differ} differ; {done_before} segments of 7-8 frames were done before the kill"
    assert result.read_bytes() == uninterrupted.read_bytes()


# --- 4. nothing outside the job folders is served ------------------------------------------------------------
def test_paths_outside_job_folders_refused(server):
    job = next(j for j in reversed(server.jobs()) if j["state"] == "done" and j["kind"] == "restore")
    secret = server.data / "secret.txt"
    secret.write_text("not for the web")
    good = f"/jobs/{job['id']}/output/{job['output']}"
    status, body = server.get(good)
    assert status == 200 and body == (server.data / "jobs" / job["id"] / "output" / job["output"]).read_bytes()
    refused = [
        f"/jobs/{job['id']}/output/../../../secret.txt",
        f"/jobs/{job['id']}/output/..%2F..%2F..%2Fsecret.txt",
        f"/jobs/{job['id']}/output/%2e%2e",
        f"/jobs/{job['id']}/job.json",
        f"/jobs/{job['id']}/input/..",
        f"/jobs/..%2F..%2Fsecret.txt/input/x",
        "/jobs/../secret.txt",
        "/gradio_api/file=/etc/passwd",
        f"/gradio_api/file={secret}",
        f"/gradio_api/file={server.data / 'jobs' / job['id'] / 'job.json'}",
        "/file=/etc/passwd",
    ]
    for path in refused:
        status, body = server.get(path)
        assert status in (403, 404), (path, status)
        assert b"not for the web" not in body and b"root:" not in body


# --- upload size limit (the restarted server allows 1 MB) ------------------------------------------------------
def test_upload_size_limit(page, server, tmp_path):
    big = tmp_path / "big.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (700, 700, 3), dtype=np.uint8)).save(big)
    assert big.stat().st_size > 1024 * 1024
    upload(page, "photo", big)
    toast = page.wait_for_selector("text=exceed the maximum allowed size")
    assert "big.png" in toast.inner_text()
    assert page.locator("#photo-download-link").count() == 0
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)  # and the server refuses it too
    boundary = "bianboundary"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"big.png\"\r\n"
            "Content-Type: image/png\r\n\r\n").encode() + big.read_bytes() + f"\r\n--{boundary}--\r\n".encode()
    conn.request("POST", "/gradio_api/upload", body, {"Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert conn.getresponse().status == 413
    conn.close()
