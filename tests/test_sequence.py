"""Film scans as numbered image sequences (reel_%06d.dpx / .tif / .png) read as one film."""
import subprocess
import sys
from fractions import Fraction

import av
import cv2
import numpy as np
import pytest
from PIL import Image

import bian
from bian.errors import InputError, OptionError
from bian.media import sequence
from bian.media.video import VideoReader, probe_video
from bian.pipeline.plan import build_plan


def run_cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "bian.cli", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd)


def film(n=10, height=40, width=56, seed=0):
    """A moving grey bar over noise, with flicker: something for --dust/--deflicker to work on."""
    rng = np.random.default_rng(seed)
    frames = []
    for i in range(n):
        img = rng.uniform(0.3, 0.5, (height, width, 3)) * (1 + 0.1 * (-1) ** i)
        img[:, 4 + 3 * i:10 + 3 * i] = 0.8
        frames.append(img)
    return frames


def png_sequence(folder, first=1001, n=10):
    for i, img in enumerate(film(n)):
        Image.fromarray((img * 255).round().astype(np.uint8)).save(folder / f"reel_{first + i:06d}.png")
    return folder / "reel_%06d.png"


class Stop(Exception):
    pass


def stop_after_five(progress):
    """An on_progress that stops the run like a user's Ctrl-C, half way through a 10-frame film."""
    if progress.done >= 5:
        raise Stop


def output_times(path):
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        return [frame.pts * stream.time_base for frame in container.decode(stream)]


def test_png_sequence_from_1001_is_a_film_for_temporal_stages(tmp_path):
    pattern = png_sequence(tmp_path)
    info = build_plan(pattern, tmp_path / "out.mp4", {"source_fps": "18"}).info
    frames = list(VideoReader(info).frames())
    assert [f.index for f in frames] == list(range(10))
    assert [f.time for f in frames] == [Fraction(i, 18) for i in range(10)]
    assert all(f.duration == Fraction(1, 18) for f in frames)
    first = np.asarray(Image.open(tmp_path / "reel_001001.png"))
    assert np.array_equal(frames[0].image, first)

    summary = bian.restore(pattern, tmp_path / "out.mp4", source_fps="18", dust=True, deflicker=True)
    assert [s["name"] for s in summary["stages"]] == ["dust", "deflicker"]  # no frame-rate stage: read at 18
    assert summary["frames_in"] == summary["frames_out"] == 10
    assert not any("24 fps" in note for note in summary["notes"])
    assert output_times(tmp_path / "out.mp4") == [Fraction(i, 18) for i in range(10)]
    out = probe_video(tmp_path / "out.mp4")
    assert out.rate == 18 and (out.width, out.height) == (56, 40)


def test_rate_defaults_to_24_with_a_note(tmp_path):
    pattern = png_sequence(tmp_path, first=0, n=3)
    summary = bian.restore(pattern, tmp_path / "out.mkv", codec="ffv1")
    assert "image sequence read at 24 fps; give --source-fps" in summary["notes"]
    assert [round(float(t) * 1000) for t in output_times(tmp_path / "out.mkv")] == [0, 42, 83]


def test_16_bit_tiff_sequence_stays_16_bit_in_ffv1(tmp_path):
    rng = np.random.default_rng(3)
    scans = [rng.integers(0, 65536, (32, 48, 3), dtype=np.uint16) for _ in range(4)]
    for i, rgb in enumerate(scans):
        assert cv2.imwrite(str(tmp_path / f"scan{i + 1:d}.tif"), rgb[..., ::-1])
    summary = bian.restore(tmp_path / "scan%d.tif", tmp_path / "out.mkv", codec="ffv1", source_fps="16")
    assert summary["frames_out"] == 4 and summary["encoder"]["pix_fmt"] == "gbrp16le"
    out = probe_video(tmp_path / "out.mkv")
    assert out.bits == 16
    decoded = [f.image for f in VideoReader(out).frames()]
    assert len(decoded) == 4
    assert max(int(np.abs(d.astype(np.int32) - s).max()) for d, s in zip(decoded, scans)) <= 1


def test_10_bit_dpx_sequence_is_read_at_16_bits(tmp_path):
    try:
        encoder = av.CodecContext.create("dpx", "w")
    except (av.error.FFmpegError, ValueError):
        pytest.skip("this FFmpeg build has no DPX encoder to make the test frames")
    encoder.width, encoder.height, encoder.pix_fmt, encoder.time_base = 48, 32, "gbrp10le", Fraction(1, 24)
    encoder.open()
    rng = np.random.default_rng(5)
    codes = [rng.integers(0, 1024, (32, 48, 3), dtype=np.uint16) for _ in range(3)]
    for i, code in enumerate(codes):
        picture = av.VideoFrame.from_ndarray(code << 6, format="rgb48le").reformat(format="gbrp10le")
        picture.pts = i
        dpx = bytearray(b"".join(bytes(p) for p in encoder.encode(picture)))
        dpx[801] = 2  # image element 1's transfer: "linear", as FFmpeg's CLI and many scanners write it
        (tmp_path / f"r1_{i + 7:04d}.dpx").write_bytes(dpx)
    plan = build_plan(tmp_path / "r1_%04d.dpx", tmp_path / "out.mkv", {"codec": "ffv1"})
    assert plan.info.bits == 10 and plan.source.frames == 3
    frames = list(VideoReader(plan.info).frames())
    assert len(frames) == 3 and frames[0].image.dtype == np.uint16
    for frame, code in zip(frames, codes):  # 10-bit codes scaled to the full 16-bit range
        assert np.abs(frame.image / 65535 - code / 1023).max() < 1e-3
    bian.restore(tmp_path / "r1_%04d.dpx", tmp_path / "out.mkv", codec="ffv1")
    assert probe_video(tmp_path / "out.mkv").bits == 16
    # DPX "linear" is written for gamma-coded pictures too; a video tagged so is brightened by colour-managed players
    assert probe_video(tmp_path / "r1_%04d.dpx", plan.info.image2).color_trc == 8
    bian.restore(tmp_path / "r1_%04d.dpx", tmp_path / "out.mp4")
    assert probe_video(tmp_path / "out.mp4").color_trc == 2


def test_missing_frame_is_named_and_nothing_is_written(tmp_path):
    png_sequence(tmp_path)
    (tmp_path / "reel_001005.png").unlink()
    result = run_cli("restore", "reel_%06d.png", "-o", "out.mkv", "--dust", cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "frame 1005 is missing" in lines[0] and "reel_001005.png" in lines[0]
    assert not list(tmp_path.glob("out*")) and not list(tmp_path.glob(".out*"))


def test_pattern_matching_nothing_is_one_clear_line(tmp_path):
    png_sequence(tmp_path, n=2)
    for pattern in ("other_%06d.png", "reel_%04d.png"):  # wrong name; wrong digit count
        result = run_cli("restore", pattern, "-o", "out.mkv", cwd=tmp_path)
        assert result.returncode == 2
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and "no file matches the numbered-frame pattern" in lines[0] and pattern in lines[0]
    assert not list(tmp_path.glob("out*"))


def read_frames(pattern):
    """The pictures of the numbered files ``pattern`` names, in order, and the numbers found."""
    found = sequence.scan(pattern)
    numbers = list(range(found.first, found.first + found.count))
    return [cv2.imread(str(found.path(n)), cv2.IMREAD_UNCHANGED)[..., ::-1] for n in numbers], numbers


def test_png_pattern_to_tiff_pattern_keeps_count_numbers_and_pixels(tmp_path):
    pattern = png_sequence(tmp_path, n=7)
    (tmp_path / "out").mkdir()
    summary = bian.restore(pattern, tmp_path / "out" / "graded_%06d.tif", source_fps="10", segment_seconds="0.3")
    assert summary["frames_out"] == 7 and summary["segments"] == 3
    written, numbers = read_frames(tmp_path / "out" / "graded_%06d.tif")
    source, _ = read_frames(pattern)
    assert numbers == list(range(1001, 1008)) and all(w.dtype == np.uint8 for w in written)
    assert all(np.array_equal(w, s) for w, s in zip(written, source))  # no stage: the input itself
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [f"graded_{n:06d}.tif" for n in numbers]

    # with a stage: the frames a lossless video of the same restore holds
    bian.restore(pattern, tmp_path / "out" / "dust_%06d.tif", source_fps="10", dust=True, deflicker=True)
    bian.restore(pattern, tmp_path / "lossless.mkv", source_fps="10", dust=True, deflicker=True, codec="ffv1")
    video = [f.image for f in VideoReader(probe_video(tmp_path / "lossless.mkv")).frames()]
    written, _ = read_frames(tmp_path / "out" / "dust_%06d.tif")
    assert len(written) == len(video) == 7 and not all(np.array_equal(w, s) for w, s in zip(written, source))
    assert all(np.array_equal(w, v) for w, v in zip(written, video))


def test_16_bit_scans_stay_16_bit_as_tiff_png_and_dpx_frames(tmp_path):
    rng = np.random.default_rng(4)
    scans = [rng.integers(0, 65536, (32, 48, 3), dtype=np.uint16) for _ in range(3)]
    for i, rgb in enumerate(scans):
        assert cv2.imwrite(str(tmp_path / f"scan{i + 5:d}.tif"), rgb[..., ::-1])
    for name in ("tif_%03d.tif", "png_%03d.png"):
        summary = bian.restore(tmp_path / "scan%d.tif", tmp_path / name, source_fps="16")
        assert summary["encoder"]["pix_fmt"] == "rgb48le"
        written, numbers = read_frames(tmp_path / name)
        assert numbers == [5, 6, 7] and all(w.dtype == np.uint16 for w in written)
        assert all(np.array_equal(w, s) for w, s in zip(written, scans))
    if "dpx" not in av.codecs_available:
        pytest.skip("this FFmpeg build has no DPX encoder")
    bian.restore(tmp_path / "scan%d.tif", tmp_path / "dpx_%04d.dpx", source_fps="16")
    plan = build_plan(tmp_path / "dpx_%04d.dpx", tmp_path / "check.mkv", {})
    assert plan.info.bits == 16 and [p.name for p in sorted(tmp_path.glob("dpx_*"))] == [
        "dpx_0005.dpx", "dpx_0006.dpx", "dpx_0007.dpx"]
    decoded = [f.image for f in VideoReader(plan.info).frames()]
    assert all(np.array_equal(d, s) for d, s in zip(decoded, scans)) and len(decoded) == 3


def test_8_bit_film_as_dpx_frames_is_10_bit(tmp_path):
    if "dpx" not in av.codecs_available:
        pytest.skip("this FFmpeg build has no DPX encoder")
    pattern = png_sequence(tmp_path, n=3)
    bian.restore(pattern, tmp_path / "r_%06d.dpx", source_fps="24")
    plan = build_plan(tmp_path / "r_%06d.dpx", tmp_path / "check.mkv", {})
    assert plan.info.bits == 10 and sequence.scan(tmp_path / "r_%06d.dpx").first == 1001
    source, _ = read_frames(pattern)
    for frame, s in zip(VideoReader(plan.info).frames(), source):
        assert np.abs(frame.image / 65535 - s / 255).max() < 1e-3  # 8-bit values kept within a 10-bit step


def test_video_to_png_frames_numbered_from_zero(tmp_path):
    bian.restore(png_sequence(tmp_path, n=5), tmp_path / "film.mkv", source_fps="25", codec="ffv1")
    summary = bian.restore(tmp_path / "film.mkv", tmp_path / "f_%04d.png")
    assert summary["frames_out"] == 5
    written, numbers = read_frames(tmp_path / "f_%04d.png")
    assert numbers == [0, 1, 2, 3, 4]
    video = [f.image for f in VideoReader(probe_video(tmp_path / "film.mkv")).frames()]
    assert all(np.array_equal(w, v) for w, v in zip(written, video))


def test_a_stopped_run_to_frames_writes_no_final_name_and_resumes(tmp_path):
    pattern = png_sequence(tmp_path, n=10)
    options = {"source_fps": "10", "segment_seconds": "0.3", "deflicker": True}
    bian.restore(pattern, tmp_path / "ref_%06d.tif", **options)

    with pytest.raises(Stop):
        bian.restore(pattern, tmp_path / "out_%06d.tif", on_progress=stop_after_five, **options)
    assert sequence.numbers_on_disk(tmp_path / "out_%06d.tif") == set()
    assert (tmp_path / ".out_%06d.tif.bian-work").is_dir()
    summary = bian.restore(pattern, tmp_path / "out_%06d.tif", **options)
    assert summary["segments_resumed"] >= 1 and summary["frames_encoded_this_run"] < 10
    (ref, ref_numbers), (out, numbers) = read_frames(tmp_path / "ref_%06d.tif"), read_frames(tmp_path / "out_%06d.tif")
    assert numbers == ref_numbers == list(range(1001, 1011))
    assert all(np.array_equal(a, b) for a, b in zip(ref, out))
    assert not (tmp_path / ".out_%06d.tif.bian-work").exists()


def test_frames_already_in_the_output_folder_are_refused_before_anything_is_written(tmp_path):
    pattern = png_sequence(tmp_path, n=4)
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "reel_000007.tif").write_bytes(b"a frame graded last week")
    result = run_cli("restore", pattern, "-o", tmp_path / "out" / "reel_%06d.tif", "--dust")
    lines = result.stderr.strip().splitlines()
    assert result.returncode != 0 and len(lines) == 1 and "Traceback" not in result.stderr
    assert "the output folder already holds frames of this pattern" in lines[0]
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["reel_000007.tif"]
    assert (tmp_path / "out" / "reel_000007.tif").read_bytes() == b"a frame graded last week"


def test_double_rate_gives_twice_the_frames(tmp_path):
    pattern = png_sequence(tmp_path, n=6)
    summary = bian.restore(pattern, tmp_path / "x_%06d.png", source_fps="25", fps="50")
    assert summary["frames_in"] == 6 and summary["frames_out"] == 12
    assert sequence.scan(tmp_path / "x_%06d.png").count == 12 and sequence.scan(tmp_path / "x_%06d.png").first == 1001


def test_frames_output_refusals_are_clear(tmp_path):
    pattern = png_sequence(tmp_path, n=2)
    cases = [(([pattern, pattern], tmp_path / "o_%06d.tif"), {}, "from one film, not from several inputs"),
             ((tmp_path / "reel_001001.png", tmp_path / "o_%06d.tif"), {}, "not from one image"),
             ((pattern, tmp_path / "o_%06d.exr"), {}, "unsupported extension '.exr' for numbered frames"),
             ((pattern, tmp_path / "o_%06d.tif"), {"crf": "18"}, "--crf applies to h264 and h265 video")]
    for args, options, message in cases:
        with pytest.raises(OptionError, match=message):
            bian.restore(*args, **options)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["reel_001001.png", "reel_001002.png"]


def test_scan_takes_only_names_the_pattern_writes(tmp_path):
    for name in ("a_0001.png", "a_0002.png", "a_3.png", "a_00004.png", "a_0005.png.bak", "b_0006.png"):
        (tmp_path / name).write_bytes(b"")
    found = sequence.scan(tmp_path / "a_%04d.png")
    assert (found.first, found.count) == (1, 2)
    assert sequence.scan(tmp_path / "a_%d.png").first == 3
    assert sequence.is_pattern(tmp_path / "100%%_%03d.png") and not sequence.is_pattern(tmp_path / "100%%.png")
    with pytest.raises(InputError, match="exactly one number field"):
        sequence.scan(tmp_path / "a_%02d_%04d.png")


def test_a_changed_frame_changes_the_resume_stamp(tmp_path):
    pattern = png_sequence(tmp_path, n=3)
    before = sequence.scan(pattern).stamp()
    Image.new("RGB", (9, 9)).save(tmp_path / "reel_001002.png")
    assert sequence.scan(pattern).stamp() != before


def test_a_pattern_into_a_folder_becomes_a_film_named_without_its_number(tmp_path):
    (tmp_path / "scans").mkdir()
    (tmp_path / "out").mkdir()
    png_sequence(tmp_path / "scans", n=3)
    summary = bian.restore(tmp_path / "scans" / "reel_%06d.png", tmp_path / "out", source_fps="16")
    assert summary["output"] == str(tmp_path / "out" / "reel.mkv") and summary["frames_out"] == 3
    assert sequence.output_name(tmp_path / "scans" / "%04d.tif") == "scans.mkv"


def test_an_unreadable_frame_is_named(tmp_path):
    pattern = png_sequence(tmp_path, n=4)
    (tmp_path / "reel_001003.png").write_bytes(b"not a picture")
    result = run_cli("restore", pattern, "-o", tmp_path / "out.mkv")
    assert result.returncode == 2 and "frame 1003 of the numbered frames is unreadable" in result.stderr
    assert "reel_001003.png" in result.stderr and not (tmp_path / "out.mkv").exists()


def test_a_frame_of_another_size_is_named(tmp_path):
    pattern = png_sequence(tmp_path, n=6)
    Image.new("RGB", (60, 40)).save(tmp_path / "reel_001004.png")  # one frame re-scanned at another size
    result = run_cli("restore", pattern, "-o", tmp_path / "out.mkv", "--deflicker")
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and len(lines) == 1 and "Traceback" not in result.stderr
    assert "frame 1004 of the numbered frames is 60×40, the first is 56×40" in lines[0]
    assert "reel_001004.png" in lines[0] and not list(tmp_path.glob("out*"))


def test_a_stopped_sequence_run_resumes_to_the_same_film(tmp_path):
    pattern = png_sequence(tmp_path, n=10)
    options = {"source_fps": "10", "segment_seconds": "0.3", "deflicker": True, "codec": "ffv1"}
    bian.restore(pattern, tmp_path / "reference.mkv", **options)

    with pytest.raises(Stop):
        bian.restore(pattern, tmp_path / "out.mkv", on_progress=stop_after_five, **options)
    summary = bian.restore(pattern, tmp_path / "out.mkv", **options)
    assert summary["segments_resumed"] >= 1 and summary["frames_encoded_this_run"] < 10
    assert summary["frames_out"] == 10
    frames = [[f.image for f in VideoReader(probe_video(tmp_path / name)).frames()]
              for name in ("reference.mkv", "out.mkv")]
    assert all(np.array_equal(a, b) for a, b in zip(*frames)) and len(frames[1]) == 10
