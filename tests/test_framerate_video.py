"""Frame rate end to end (`bian restore … --fps/--multi/--source-fps/--slowmo`): exact output timestamps
read back from the written file, audio as long as the video (retimed with its pitch kept when the
speed changes), variable-frame-rate input, and a killed run resumed to the same frames."""
from fractions import Fraction

import av
import numpy as np
import pytest

import bian
from bian.pipeline.manifest import work_dir_for
from media_factory import audio_seconds, ffmpeg, frame_hashes, streams, vfr_video, video_times

SIZE = "160x96"


def clip(path, rate: str, seconds: float, audio: str | None = "pcm_s16le"):
    """A moving test pattern at ``rate`` with a 440 Hz tone (``audio`` codec) of the same length."""
    args = ["-f", "lavfi", "-i", f"testsrc2=size={SIZE}:rate={rate}:duration={seconds}"]
    if audio:
        args += ["-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={seconds}", "-c:a", audio]
    ffmpeg(*args, "-c:v", "libx264", "-g", "8", "-pix_fmt", "yuv420p", str(path))
    return path


def restore(src, out, **options):
    return bian.restore(src, out, preset="ultrafast", **options)


def check_grid(path, rate: Fraction, count: int):
    times = video_times(path)
    assert len(times) == count
    assert times == [Fraction(k) / rate for k in range(count)]  # exact, read back from the file


def dominant_hz(path) -> float:
    with av.open(str(path)) as c:
        s = c.streams.audio[0]
        samples = np.concatenate([f.to_ndarray().reshape(-1, f.samples)[0].astype(np.float64) for f in c.decode(s)])
        rate = s.codec_context.sample_rate
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    return float(np.argmax(spectrum) * rate / len(samples))


@pytest.mark.parametrize("rate_in, options, rate_out, count", [
    ("16", {"fps": "24"}, Fraction(24), 48),                    # 2 s
    ("24000/1001", {"fps": "59.94"}, Fraction(60000, 1001), 60),  # 24 frames → 2.5 × 24
    ("25", {"multi": 2}, Fraction(50), 100),
], ids=["16-24", "23.976-59.94", "25-50-multi"])
def test_rate_conversion(tmp_path, rate_in, options, rate_out, count):
    seconds = 2.0 if rate_in != "24000/1001" else 24 * 1001 / 24000
    src = clip(tmp_path / "in.mkv", rate_in, seconds)
    out = tmp_path / "out.mov"
    summary = restore(src, out, **options)
    check_grid(out, rate_out, count)
    assert summary["notes_output"] == []  # same speed: the audio is copied untouched
    assert abs(audio_seconds(out) - count / rate_out) <= 1 / rate_out


def test_silent_film_speed_18_to_24(tmp_path):
    """A hand-cranked film scanned one picture per frame into a 24 fps file plays at its true 18 fps:
    4/3 as long, filled to 24 fps, its sound slowed to match with the pitch kept."""
    src = clip(tmp_path / "in.mkv", "24", 2.0)
    out = tmp_path / "out.mov"
    summary = restore(src, out, source_fps="18", segment_seconds=0.5)
    check_grid(out, Fraction(24), 64)  # 48 frames at 18 fps = 8/3 s
    assert streams(out) == [("video", "h264"), ("audio", "pcm_s16le")]  # PCM stays lossless
    assert abs(audio_seconds(out) - 64 / 24) <= 1 / 24
    assert "pitch kept" in summary["notes_output"][0]
    assert abs(dominant_hz(out) - 440) < 3


def test_slow_motion_aac_in_mp4(tmp_path):
    src = clip(tmp_path / "in.mp4", "25", 1.2, audio="aac")
    out = tmp_path / "out.mp4"
    restore(src, out, slowmo="2.5", fps="30")
    check_grid(out, Fraction(30), 90)  # 1.2 s × 2.5 = 3 s
    assert streams(out) == [("video", "h264"), ("audio", "aac")]
    with av.open(str(out)) as c:
        stated = float(c.streams.audio[0].duration * c.streams.audio[0].time_base)
    assert abs(stated - 3.0) <= 1 / 30
    # decoded, AAC adds the padding of its last 1024-sample frame (the source had its own: 1.216 s)
    assert 0 <= audio_seconds(out) - 3.0 <= 1024 / 48000 + 1 / 30
    assert abs(dominant_hz(out) - 440) < 3


def test_variable_frame_rate_input(tmp_path):
    src, times = vfr_video(tmp_path / "vfr.mkv")
    out = tmp_path / "out.mov"
    restore(src, out, fps="24")
    end = times[-1] + Fraction(40, 1000)  # the last frame lasts as long as the gap before it
    count = int(np.ceil(end * 24))
    check_grid(out, Fraction(24), count)
    assert abs(audio_seconds(out) - float(end)) <= 1 / 24
    # --multi follows each interval of the input: 3 frames per gap, whatever its length
    multi = tmp_path / "multi.mov"
    restore(src, multi, multi=3)
    got = video_times(multi)
    assert len(got) == 3 * len(times)
    assert got[::3] == times


def test_killed_run_resumes_to_the_same_frames(tmp_path):
    """Lossless output, many short segments: a run stopped part-way and run again gives exactly the
    frames of an uninterrupted single-segment run (the stage's output depends only on its window)."""
    src = clip(tmp_path / "in.mkv", "16", 2.0, audio=None)
    options = {"fps": "24", "codec": "ffv1"}
    whole = tmp_path / "whole.mkv"
    bian.restore(src, whole, segment_seconds=60, **options)

    out = tmp_path / "out.mkv"
    seen = []

    def stop(progress):
        seen.append(progress)
        if len(seen) == 13:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        bian.restore(src, out, segment_seconds=0.25, on_progress=stop, **options)
    assert not out.exists() and work_dir_for(out).exists()
    summary = bian.restore(src, out, segment_seconds=0.25, **options)
    assert summary["segments_resumed"] >= 1 and summary["frames_encoded_this_run"] < 48
    assert video_times(out) == video_times(whole)  # (Matroska keeps milliseconds)
    assert len(video_times(out)) == 48
    assert frame_hashes(out) == frame_hashes(whole)
