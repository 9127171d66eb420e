"""`bian demo`: the README's first command, on a short film."""
import json
import subprocess
import sys

import av
import numpy as np

from media_factory import audio_seconds, video_times


def test_demo_ages_and_restores(tmp_path):
    out = tmp_path / "demo"
    result = subprocess.run([sys.executable, "-m", "bian.cli", "demo", "-o", str(out), "--seconds", "1", "-q"],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert [s["name"] for s in summary["stages"]][:2] == ["dust", "denoise"]
    old, restored = out / "old_film.mp4", out / "restored.mp4"
    assert video_times(restored) == video_times(old) and len(video_times(old)) == 24
    assert abs(audio_seconds(restored) - audio_seconds(old)) <= 1 / 24
    assert (out / "before_after.png").stat().st_size > 10_000

    def means(path):
        with av.open(str(path)) as c:
            return np.array([f.to_ndarray(format="gray").mean() for f in c.decode(video=0)])
    # the aged film flickers by ±12 % and the push-in changes the picture only slowly
    assert np.std(np.diff(means(restored))) < 0.5 * np.std(np.diff(means(old)))
