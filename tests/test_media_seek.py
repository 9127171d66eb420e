"""Starting a decode at the keyframe before frame n (what a cluster worker does for its segment) gives
exactly the frames, timestamps and durations that decoding from the beginning gives."""
from fractions import Fraction
from pathlib import Path

import av

import numpy as np
import pytest

from bian.media.video import VideoReader, index_packets, probe_video
from media_factory import ffmpeg, pattern_video, vfr_video


def _same(path: Path, starts, span=7, expect_seek=True):
    info = probe_video(path)
    index = index_packets(info)
    every = list(VideoReader(info).frames())
    assert index.count == len(every)
    seeks = 0
    for start in starts:
        calls = []
        reader = VideoReader(info)
        decode = reader._decode
        reader._decode = lambda *args: calls.append(args[3]) or decode(*args)
        got = list(reader.frames(start, start + span, index))
        assert None not in calls[1:], "the keyframe seek fell back to decoding from the beginning"
        assert len(calls) <= 2
        seeks += calls[0] is not None
        want = every[start:start + span]
        assert [f.index for f in got] == [f.index for f in want]
        assert [(f.time, f.duration) for f in got] == [(f.time, f.duration) for f in want]
        for a, b in zip(got, want):
            np.testing.assert_array_equal(a.image, b.image)
    if expect_seek is not None:
        assert (seeks > 0) == expect_seek


@pytest.mark.parametrize("suffix,codec", [(".mp4", "libx264"), (".mkv", "libx264"), (".mov", "prores_ks"),
                                          (".ts", "mpeg2video")])
def test_seek_matches_decoding_from_the_start(tmp_path, suffix, codec):
    # short GOPs with B-frames, so starts land inside GOPs, on keyframes and on B-frames
    path = pattern_video(tmp_path / f"in{suffix}", size="160x96", seconds=3, audio=None,
                         extra=("-c:v", codec, "-g", "12", "-bf", "2") if codec != "prores_ks" else ("-c:v", codec))
    _same(path, [1, 11, 12, 13, 30, 47, 70])


def test_seek_on_variable_frame_rate(tmp_path):
    path, _ = vfr_video(tmp_path / "vfr.mkv")
    _same(path, [3, 20, 40], span=5, expect_seek=None)
    gop = tmp_path / "vfr_gop.mkv"  # the same irregular timing, keyframe every 6 frames, B-frames
    with av.open(str(gop), "w") as c:
        v = c.add_stream("libx264", rate=25, options={"g": "6", "bf": "2", "preset": "veryfast"})
        v.width, v.height, v.pix_fmt = 96, 64, "yuv420p"
        v.time_base = v.codec_context.time_base = Fraction(1, 1000)
        t = 0
        for i, step in enumerate([40, 80, 20, 40, 120, 20] * 8):
            image = np.full((64, 96, 3), (i * 5) % 256, np.uint8)
            image[:, (i * 7) % 96] = 255
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts, frame.time_base = t, Fraction(1, 1000)
            t += step
            c.mux(v.encode(frame))
        c.mux(v.encode(None))
    _same(gop, [3, 20, 40], span=5)


def test_streams_without_usable_timestamps_decode_from_the_start(tmp_path):
    raw = tmp_path / "raw.h264"  # an elementary stream: no container timestamps to number frames by
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=96x64:rate=25:duration=2", "-c:v", "libx264", "-g", "10", str(raw))
    info = probe_video(raw)
    index = index_packets(info)
    assert index.count == 50
    every = list(VideoReader(info).frames())
    got = list(VideoReader(info).frames(30, 35, index))
    assert [f.index for f in got] == list(range(30, 35))
    for a, b in zip(got, every[30:35]):
        np.testing.assert_array_equal(a.image, b.image)
