"""Foundation acceptance 3: a run killed with SIGKILL at a random point resumes from its last complete
segment and produces frame-for-frame (and audio) identical output; plus the window logic that makes
resumed segments exact for temporal stages."""
import json
import os
import random
import signal
import subprocess
import sys
import time
from fractions import Fraction

import numpy as np

from bian.frame import Frame
from bian.pipeline.manifest import work_dir_for
from bian.pipeline.runner import chain
from bian.stages.base import Stage
from media_factory import audio_packet_hash, frame_hashes, pattern_video


def cli(*args):
    return [sys.executable, "-m", "bian.cli", *map(str, args)]


def test_sigkill_then_rerun_gives_identical_output(tmp_path):
    src = pattern_video(tmp_path / "in.mp4", size="480x270", rate="25", seconds=8)
    options = ["--segment-seconds", "0.4", "--preset", "slow", "-q"]
    reference = tmp_path / "reference.mp4"
    subprocess.run(cli(src, "-o", reference, *options), check=True, capture_output=True)

    out = tmp_path / "out.mp4"
    manifest = work_dir_for(out) / "manifest.json"
    proc = subprocess.Popen(cli(src, "-o", out, *options), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # wait until at least one segment is complete
        if manifest.exists() and json.loads(manifest.read_text())["segments"]:
            break
        time.sleep(0.02)
    time.sleep(random.Random(os.getpid()).uniform(0.0, 0.6))  # then a random moment mid-run
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not out.exists()
    done_before = len(json.loads(manifest.read_text())["segments"])
    assert 0 < done_before < 20, "the kill must land mid-run"

    rerun = subprocess.run(cli(src, "-o", out, *options), check=True, capture_output=True, text=True)
    summary = json.loads(rerun.stdout)
    assert summary["segments_resumed"] >= done_before
    assert summary["frames_encoded_this_run"] < 200
    assert frame_hashes(out) == frame_hashes(reference)
    assert len(frame_hashes(out)) == 200
    assert audio_packet_hash(out) == audio_packet_hash(reference)
    assert not work_dir_for(out).exists()


def test_fresh_starts_over(tmp_path):
    src = pattern_video(tmp_path / "in.mp4", size="128x96", seconds=2, audio=None)
    out = tmp_path / "out.mp4"
    work = work_dir_for(out)
    work.mkdir()
    (work / "manifest.json").write_text('{"fingerprint": "other job"}')
    result = subprocess.run(cli(src, "-o", out, "--fresh", "-q"), check=True, capture_output=True, text=True)
    assert json.loads(result.stdout)["segments_resumed"] == 0
    assert len(frame_hashes(out)) == 50


class Smear(Stage):
    """A temporal test stage: each output is the mean of its window (2 before, 1 after)."""
    name, before, after = "smear", 2, 1

    def process(self, window):
        mean = np.mean([f.rgb() for f in window.frames], axis=0)
        return [window.current.replace(image=mean)]


class Double(Stage):
    """A timing test stage: emits each frame plus a copy halfway to the next."""
    name, changes_timing = "double", True

    def process(self, window):
        f = window.current
        half = f.duration / 2
        return [f.replace(duration=half), f.replace(time=f.time + half, duration=half, image=f.rgb() * 0.5)]


def frames(n, start=0):
    rng = np.random.default_rng(0)
    data = rng.random((n, 4, 4, 3), dtype=np.float32)
    return [Frame(data[i], Fraction(i, 25), Fraction(1, 25), i) for i in range(start, n)]


def test_context_makes_a_late_start_exact():
    stages = [Smear(), Smear(), Double()]
    full = list(chain(stages, frames(30)))
    assert len(full) == 60
    before = sum(s.before for s in stages)
    for start in (5, 11, 17):
        partial = [f for f in chain(stages, frames(30, start - before)) if f.index >= start]
        expected = [f for f in full if f.index >= start]
        assert [f.time for f in partial] == [f.time for f in expected]
        for a, b in zip(partial, expected):
            np.testing.assert_array_equal(a.image, b.image)


def test_windows_are_bounded_and_centred():
    seen = []

    class Probe(Stage):
        name, before, after = "probe", 3, 2

        def process(self, window):
            seen.append((window.current.index, [f.index for f in window.frames]))
            return [window.current]

    out = list(chain([Probe()], frames(8)))
    assert [f.index for f in out] == list(range(8))
    assert seen[0] == (0, [0, 1, 2])
    assert seen[4] == (4, [1, 2, 3, 4, 5, 6])
    assert seen[7] == (7, [4, 5, 6, 7])
    assert max(len(w) for _, w in seen) == 6


def test_progress_counts_frames_out_of_the_chain(tmp_path, monkeypatch):
    """The progress line counts input frames whose output left the stages, not frames decoded: with
    deflicker's ±30-frame context decoding runs far ahead, and the bar must not reach its end early."""
    import bian
    from bian.media import encode

    src = pattern_video(tmp_path / "in.mp4", size="160x90", rate="25", seconds=2)
    written = []
    write = encode.SegmentWriter.write

    def counting_write(self, frame):
        written.append(frame.index)
        return write(self, frame)

    monkeypatch.setattr(encode.SegmentWriter, "write", counting_write)
    calls = []
    bian.restore(src, tmp_path / "out.mp4", deflicker=True,
                 on_progress=lambda p: calls.append((p.done, len(written), p.total)))
    assert calls and all(done == out + 1 for done, out, _ in calls)  # each frame counted as it is written
    assert calls[-1][0] == calls[-1][2] == 50
