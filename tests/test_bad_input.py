"""Foundation acceptance 4: bad input gets one clear line on stderr and a non-zero exit, no traceback,
no output (or partial file) left behind, and the input untouched."""
import os
import struct
import subprocess
import sys
import zlib

import pytest

from media_factory import file_hash, pattern_video


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "bian.cli", *map(str, args)], capture_output=True, text=True)


def assert_clean_failure(result, folder, must_mention, before=None):
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("bian: error: ")
    assert "Traceback" not in result.stderr
    assert must_mention.lower() in lines[0].lower()
    assert result.stdout == ""
    leftovers = [p.name for p in folder.iterdir() if p.name.startswith((".out", "out"))]
    assert leftovers == []
    if before:
        for path, digest in before.items():
            assert file_hash(path) == digest


def bomb_png(path, width=60000, height=60000):
    """A valid-looking PNG header claiming 3.6 gigapixels, with a tiny compressed payload."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    payload = zlib.compress(b"\x00" * (width + 1) * 8, 9)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", payload) + chunk(b"IEND", b""))
    return path


def test_missing_file(tmp_path):
    assert_clean_failure(run_cli(tmp_path / "nope.mp4", "-o", tmp_path / "out.mp4"), tmp_path, "not found")


def test_empty_file(tmp_path):
    src = tmp_path / "empty.mp4"
    src.write_bytes(b"")
    assert_clean_failure(run_cli(src, "-o", tmp_path / "out.mp4"), tmp_path, "empty", {src: file_hash(src)})


def test_truncated_video_missing_index(tmp_path):
    full = pattern_video(tmp_path / "full.mp4", seconds=2)
    src = tmp_path / "cut.mp4"
    src.write_bytes(full.read_bytes()[: full.stat().st_size // 2])  # moov atom is at the end: gone
    assert_clean_failure(run_cli(src, "-o", tmp_path / "out.mp4"), tmp_path, "cut.mp4", {src: file_hash(src)})


def test_truncated_video_cut_mid_stream(tmp_path):
    full = pattern_video(tmp_path / "full.mkv", seconds=6, size="160x120")
    src = tmp_path / "cut.mkv"
    src.write_bytes(full.read_bytes()[: full.stat().st_size // 2])  # header intact, half the frames gone
    result = run_cli(src, "-o", tmp_path / "out.mkv")
    assert_clean_failure(result, tmp_path, "truncated", {src: file_hash(src)})
    assert not any(p.name.endswith(".bian-work") for p in tmp_path.iterdir())


def test_text_file_renamed_mp4(tmp_path):
    src = tmp_path / "notes.mp4"
    src.write_text("this is not a video\n" * 50)
    assert_clean_failure(run_cli(src, "-o", tmp_path / "out.mp4"), tmp_path, "not a readable video",
                         {src: file_hash(src)})


def test_text_file_renamed_jpg(tmp_path):
    src = tmp_path / "photo.jpg"
    src.write_text("hello")
    assert_clean_failure(run_cli(src, "-o", tmp_path / "out.jpg"), tmp_path, "cannot read image")


def test_decompression_bomb(tmp_path):
    src = bomb_png(tmp_path / "bomb.png")
    result = run_cli(src, "-o", tmp_path / "out.png")
    assert_clean_failure(result, tmp_path, "megapixels", {src: file_hash(src)})


@pytest.mark.parametrize("options,mention", [
    (["--scale", "2", "--width", "640"], "--scale cannot be combined"),
    (["--codec", "ffv1"], "cannot be stored in .mp4"),
    (["--codec", "prores", "--crf", "10"], "--crf applies"),
    (["--crf", "99"], "between 0 and 51"),
    (["--scale", "-1"], "greater than 0"),
    (["--codec", "vp9"], "invalid choice"),
    (["--deflicker", "--deflicker-radius", "40"], "--deflicker-radius must be between 2 and 30"),  # the flag as typed
])
def test_unsupported_option_combinations(tmp_path, options, mention):
    src = pattern_video(tmp_path / "in.mp4", size="64x48", seconds=0.5, audio=None)
    suffix = ".mov" if "prores" in options else ".mp4"
    assert_clean_failure(run_cli(src, "-o", tmp_path / f"out{suffix}", *options), tmp_path, mention,
                         {src: file_hash(src)})


def test_video_to_image_output_refused(tmp_path):
    src = pattern_video(tmp_path / "in.mp4", size="64x48", seconds=0.5, audio=None)
    assert_clean_failure(run_cli(src, "-o", tmp_path / "out.png"), tmp_path, "needs a video output")


def test_output_equal_to_input(tmp_path):
    src = pattern_video(tmp_path / "in.mp4", size="64x48", seconds=0.5)
    digest = file_hash(src)
    result = run_cli(src, "-o", src)
    assert_clean_failure(result, tmp_path, "output is the input", {src: digest})


def test_unwritable_output_folder(tmp_path):
    src = pattern_video(tmp_path / "in.mp4", size="64x48", seconds=0.5, audio=None)
    if os.geteuid() == 0:
        target = "/proc/bian-test/out.mp4"  # root may write anywhere on disk, but not under /proc
        result = run_cli(src, "-o", target)
        assert result.returncode != 0 and len(result.stderr.strip().splitlines()) == 1
        assert "Traceback" not in result.stderr
        result = run_cli(src, "-o", "/proc/out.mp4")
    else:
        locked = tmp_path / "locked"
        locked.mkdir()
        locked.chmod(0o555)
        result = run_cli(src, "-o", locked / "out.mp4")
    assert_clean_failure(result, tmp_path, "not writable", {src: file_hash(src)})


def test_debug_shows_traceback(tmp_path):
    result = run_cli(tmp_path / "nope.mp4", "-o", tmp_path / "out.mp4", "--debug")
    assert result.returncode != 0 and "Traceback" in result.stderr
