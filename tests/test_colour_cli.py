"""`bian restore clip.mp4 --colorize --reference a.png b.png` end to end: a coloured video with the
input's frame count and timestamps, its luminance kept."""
import json
from fractions import Fraction

import av
import numpy as np
from media_factory import ffmpeg, video_times
from PIL import Image

from bian import cli
from bian.colour import lab


def _frames(path):
    with av.open(str(path)) as c:
        return np.stack([f.to_ndarray(format="rgb24") for f in c.decode(video=0)]).astype(np.float32) / 255


def test_colorize_with_two_references_keeps_frames_and_timing(tmp_path, capsys):
    colour = tmp_path / "colour.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=128x96:rate=24000/1001:duration=0.6", "-c:v", "libx264",
           "-crf", "12", "-pix_fmt", "yuv444p", str(colour))
    grey = tmp_path / "grey.mp4"
    ffmpeg("-i", str(colour), "-vf", "format=gray,format=yuv420p", "-c:v", "libx264", "-crf", "12", str(grey))
    truth = _frames(colour)
    refs = []
    for k in (0, len(truth) - 1):  # the first and last frames in colour, as a colourist would give them
        refs.append(tmp_path / f"ref{k}.png")
        Image.fromarray((truth[k] * 255 + 0.5).astype(np.uint8)).save(refs[-1])
    out = tmp_path / "out.mp4"
    code = cli.main(["restore", str(grey), "--colorize", "--reference", str(refs[0]), str(refs[1]),
                     "-o", str(out), "-q", "--crf", "12"])
    assert code == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert "reference (2 images)" in json.dumps(summary)

    before, after = video_times(grey), video_times(out)
    assert len(before) == len(truth) == 15 and after == before
    assert before[1] - before[0] == Fraction(1001, 24000)
    result, source = _frames(out), _frames(grey)
    chroma = np.abs(lab.rgb_to_lab(result[len(result) // 2])[..., 1:]).mean()
    assert chroma > 10  # coloured, not grey (the input has |ab| < 1)
    assert np.abs(lab.rgb_to_lab(source[len(source) // 2])[..., 1:]).mean() < 1.5
    for k in (0, len(result) // 2, len(result) - 1):
        assert np.abs(lab.luminance(result[k]) - lab.luminance(source[k])).mean() < 2.0
        # the colours are those of the truth, not just any colour
        err = np.abs(lab.rgb_to_lab(result[k])[..., 1:] - lab.rgb_to_lab(truth[k])[..., 1:]).mean()
        assert err < 0.5 * np.abs(lab.rgb_to_lab(truth[k])[..., 1:]).mean()
