"""`bian.api.preview`: one frame restored in memory equals that frame of a full run (temporal context
included), for the web UI's "preview frame" button."""
from __future__ import annotations

import numpy as np
import pytest

from bian import api
from bian.media.video import VideoReader
from bian.pipeline.plan import all_options, build_plan
from bian.pipeline.runner import chain
from media_factory import pattern_video


def test_preview_equals_the_full_run_frame(tmp_path):
    names = {o.name for o in all_options()}
    options = {k: v for k, v in {"denoise": 1.0, "denoise_radius": 2, "deflicker": True, "deflicker_radius": 3,
                                 "scale": 0.5}.items() if k in names}
    if "deflicker" not in options and "denoise" not in options:
        pytest.skip("no temporal stage in this build's plan")
    video = pattern_video(tmp_path / "in.mp4", size="96x64", rate="25", seconds=1.2, audio=None)
    plan = build_plan(video, tmp_path / "out.mkv", options)
    assert sum(plan.context) >= 4  # the stages really look at neighbours
    source = list(VideoReader(plan.info).frames())
    full = list(chain(plan.stages, source))
    assert len(full) == len(source) == 30
    for index in (0, 3, 14, 29):
        before, after = api.preview(video, index, **options)
        assert before.index == after.index == index
        assert np.array_equal(before.image, source[index].image)
        assert after.image.shape == (32, 48, 3)
        assert np.array_equal(after.image, full[index].image), index


def test_preview_of_a_picture(tmp_path):
    from PIL import Image

    path = tmp_path / "p.png"
    Image.fromarray(np.random.default_rng(1).integers(0, 256, (40, 60, 3), dtype=np.uint8)).save(path)
    before, after = api.preview(path, scale=0.5)
    assert before.image.shape == (40, 60, 3) and after.image.shape == (20, 30, 3)
    api.restore(path, tmp_path / "r.png", scale=0.5)
    written = np.asarray(Image.open(tmp_path / "r.png"))
    assert np.abs(np.rint(after.rgb() * 255) - written).max() <= 1
