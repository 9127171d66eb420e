"""The web UI's job queue and path checks, without a browser or gradio (fake runners, small files)."""
from __future__ import annotations

import json
import time

import pytest

from bian.errors import InputError
from bian.progress import Progress
from bian.web.jobs import JobQueue, output_name
from bian.web.safety import inside, safe_name


@pytest.mark.parametrize("name, expected", [
    ("photo.JPG", "photo.jpg"),
    ("../../etc/passwd", "passwd"),
    ("..\\..\\boot.ini", "boot.ini"),
    ("a b/ç'é\";rm -rf.png", "c_e_rm_-rf.png"),
    (".bashrc", "upload.bashrc"),  # never a hidden file
    ("....", "upload"),
    ("x" * 300 + ".tiff", "x" * 80 + ".tiff"),
    ("film.tar.gz", "film.tar.gz"),
])
def test_safe_name(name, expected):
    assert safe_name(name) == expected


def test_output_names():
    assert output_name("reel.avi", "restore") == "reel_restored.mkv"
    assert output_name("reel.MOV", "restore") == "reel_restored.mov"
    assert output_name("a.jpeg", "restore") == "a_restored.jpeg"
    assert output_name("nan.png", "animate") == "nan_animated.mp4"


def test_inside(tmp_path):
    root = tmp_path / "jobs" / "one"
    root.mkdir(parents=True)
    (root / "out.png").write_bytes(b"x")
    (tmp_path / "secret").write_text("s")
    (root / "link").symlink_to(tmp_path / "secret")
    assert inside(root, "out.png") == (root / "out.png").resolve()
    for bad in ("../../secret", "..", "link", "/etc/passwd", "missing.png", "", "."):
        assert inside(root, bad) is None, bad


class Slow:
    """A fake runner: reports ``frames`` frames, one every ``step`` seconds, then writes the output."""

    def __init__(self, frames=20, step=0.01):
        self.frames, self.step, self.calls = frames, step, []

    def __call__(self, job, input, output, options, on_progress):
        self.calls.append(job.id)
        progress = Progress(self.frames, quiet=True, callback=on_progress)
        for _ in range(self.frames):
            time.sleep(self.step)
            progress.update()
        output.write_bytes(input.read_bytes())
        return {"frames": self.frames}


def wait(queue, job, states=("done", "failed", "cancelled"), seconds=10):
    deadline = time.monotonic() + seconds
    while queue.get(job.id).state not in states:
        assert time.monotonic() < deadline, queue.get(job.id).state
        time.sleep(0.01)
    return queue.get(job.id)


@pytest.fixture
def upload(tmp_path):
    path = tmp_path / "in.png"
    path.write_bytes(b"not really a picture; the fake runner copies it")
    return path


def test_queue_runs_in_order_one_at_a_time(tmp_path, upload):
    runner = Slow(frames=10, step=0.02)
    queue = JobQueue(tmp_path / "data", runner=runner)
    jobs = [queue.submit("restore", upload, f"photo {k}.png") for k in range(3)]
    assert [queue.position(j) for j in jobs] == [1, 2, 3]
    queue.start()
    done = [wait(queue, j) for j in jobs]
    queue.stop()
    assert [j.state for j in done] == ["done"] * 3 and runner.calls == [j.id for j in jobs]
    for a, b in zip(done, done[1:]):
        assert b.started >= a.finished
    assert done[0].done == done[0].total == 10
    assert queue.output_path(done[0]).read_bytes() == upload.read_bytes()
    assert queue.input_path(done[0]).name == "photo_0.png"


def test_cancel_queued_and_running(tmp_path, upload):
    queue = JobQueue(tmp_path / "data", runner=Slow(frames=500, step=0.01))
    first, second = (queue.submit("restore", upload, "a.png") for _ in range(2))
    queue.start()
    wait(queue, first, ("running",))
    while queue.get(first.id).done < 3:
        time.sleep(0.01)
    assert queue.cancel(second.id) and queue.get(second.id).state == "cancelled"
    assert queue.cancel(first.id)
    stopped = wait(queue, first)
    queue.stop()
    assert stopped.state == "cancelled" and 3 <= stopped.done < 500
    assert not queue.cancel(first.id)  # no longer active


def test_bad_upload_never_becomes_a_job(tmp_path, upload):
    queue = JobQueue(tmp_path / "data")

    def refuse(input, output, options):
        raise InputError("cannot read image", input, "is it a valid picture file?")

    with pytest.raises(InputError):
        queue.submit("restore", upload, "x.jpg", validate=refuse)
    assert queue.listing() == [] and list((tmp_path / "data" / "jobs").iterdir()) == []
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    with pytest.raises(InputError):
        queue.submit("restore", empty, "empty.jpg")


def test_restart_requeues_unfinished_jobs(tmp_path, upload):
    data = tmp_path / "data"
    queue = JobQueue(data, runner=Slow())
    running, waiting, finished = (queue.submit("restore", upload, f"{k}.png") for k in "abc")
    for job, state in ((running, "running"), (finished, "done")):
        path = queue.folder(job) / "job.json"
        path.write_text(json.dumps({**json.loads(path.read_text()), "state": state}))
    again = JobQueue(data, runner=Slow())  # what a restarted server sees
    assert again.get(running.id).state == "queued" and again.get(running.id).restarts == 1
    assert again.get(waiting.id).state == "queued" and again.get(waiting.id).restarts == 0
    assert again.get(finished.id).state == "done"
    assert again.position(again.get(running.id)) == 1  # the interrupted job goes first
    again.start()
    assert wait(again, again.get(waiting.id)).state == "done"
    again.stop()
    assert again.get(running.id).state == "done"


def test_attachments_become_option_paths(tmp_path, upload):
    queue = JobQueue(tmp_path / "data")
    hints = tmp_path / "my hints.png"
    hints.write_bytes(b"strokes")
    job = queue.submit("restore", upload, "a.png", {"scale": 0.5}, {"colour_hints": [hints], "empty": []})
    options = queue.options_for(job)
    assert options["scale"] == 0.5 and "empty" not in options
    path = options["colour_hints"]
    assert path.startswith(str(queue.folder(job) / "input")) and open(path, "rb").read() == b"strokes"


def test_get_refuses_names_that_are_not_job_ids(tmp_path, upload):
    queue = JobQueue(tmp_path / "data")
    job = queue.submit("restore", upload, "a.png")
    assert queue.get(job.id) is job
    for bad in ("..", "../jobs", job.id + "/..", "", None):
        assert queue.get(bad) is None


def test_page_options_never_name_server_files():
    from bian.errors import OptionError
    from bian.web.controls import controls, options_from

    ctrls = controls("video")
    for control in ctrls:  # every option that names only a file is an upload or the painter, not a text box
        if control.option.metavar in ("FILE", "PATH", "PNG", "IMG"):
            assert control.kind in ("file", "files", "hints"), control.option.name
    named = [k for k, c in enumerate(ctrls) if c.option.metavar == "NAME|PATH"]
    if not named:
        pytest.skip("no NAME|PATH option in this build")
    assert all(ctrls[k].kind == "text" for k in named)
    for k in named:  # a model named by its catalogue name: a path, even a bare file name, is refused
        values = [None] * len(ctrls)
        for bad in ("../../etc/passwd", "/etc/passwd", "C:\\x.pth", "weights.pth", "~"):
            values[k] = bad
            with pytest.raises(OptionError, match="model name"):
                options_from(ctrls, values)
        values[k] = "realesr-animevideov3-x4"
        assert options_from(ctrls, values) == {ctrls[k].option.name: "realesr-animevideov3-x4"}
