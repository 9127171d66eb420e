"""The faces stage: windows, shots, determinism, options, and `bian restore --faces` end to end."""
from __future__ import annotations

from fractions import Fraction

import av
import cv2
import numpy as np
import pytest

from bian.cli import main
from bian.errors import OptionError
from bian.frame import Frame
from bian.pipeline.plan import normalise_options
from bian.stages import faces as faces_stage
from bian.stages.base import Window
from bian.stages.faces import FaceRestore


@pytest.fixture(scope="module")
def portrait() -> np.ndarray:
    from skimage.data import astronaut
    return cv2.resize(astronaut(), (320, 320), interpolation=cv2.INTER_AREA)


def _clip(portrait, n=5, seed=0):
    """Frames of the portrait drifting by a pixel a frame, with fresh grain in each."""
    rng = np.random.default_rng(seed)
    frames = []
    for t in range(n):
        m = np.array([[1, 0, t - n // 2], [0, 1, 0.5 * t]], np.float64)
        moved = cv2.warpAffine(portrait.astype(np.float32) / 255, m, (320, 320), borderMode=cv2.BORDER_REFLECT101)
        noisy = np.clip(moved + rng.normal(0, 0.04, moved.shape), 0, 1).astype(np.float32)
        frames.append(Frame(noisy, Fraction(t, 25), Fraction(1, 25), t))
    return frames


def test_stage_fuses_neighbours_and_is_deterministic(portrait):
    frames = _clip(portrait)
    window = Window(frames, 2)
    out_a = FaceRestore(model="offline", detector="dlib", radius=2).process(window)[0]
    out_b = FaceRestore(model="offline", detector="dlib", radius=2).process(Window(list(frames), 2))[0]
    assert out_a.image.dtype == np.float32 and out_a.image.shape == frames[2].image.shape
    assert np.array_equal(out_a.image, out_b.image)
    report = out_a.meta["faces"][0]
    assert report["neighbours"] == 4 and report["frames_fused"] > 2.5
    assert report["identity"]["final"] <= 0.35
    assert out_a.time == frames[2].time and out_a.index == 2


def test_stage_does_not_fuse_across_a_scene_cut(portrait):
    frames = _clip(portrait)
    other = np.ascontiguousarray(frames[0].image[::-1, ::-1] * 0.5)  # an unrelated shot
    frames[3] = frames[3].replace(image=other)
    frames[4] = frames[4].replace(image=other)
    out = FaceRestore(model="offline", detector="dlib", radius=2).process(Window(frames, 2))[0]
    assert out.meta["faces"][0]["neighbours"] == 2  # only the two frames before the cut


def test_build_and_options():
    class Source:
        kind = "image"
    assert faces_stage.build(normalise_options({}), Source) == []
    stages = faces_stage.build(normalise_options({"faces": True, "fidelity": 0.7}), Source)
    assert len(stages) == 1 and stages[0].radius == 0 and stages[0].before == 0
    Source.kind = "video"
    assert faces_stage.build(normalise_options({"faces": True}), Source)[0].before == 3
    with pytest.raises(OptionError):
        normalise_options({"faces": True, "fidelity": 1.5})
    with pytest.raises(OptionError):
        normalise_options({"faces": True, "face_model": "codeformer"})


def test_gfpgan_without_weights_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("BIAN_MODEL_DIR", str(tmp_path))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.delenv("BIAN_ALLOW_DOWNLOAD", raising=False)
    from bian.errors import ModelError
    with pytest.raises(ModelError, match="gfpgan-v1.4"):
        FaceRestore(model="gfpgan")
    assert FaceRestore(model="auto").describe()["model"] == "offline"


def test_cli_restores_a_photo_and_a_film_with_faces(tmp_path, portrait):
    photo = tmp_path / "photo.png"
    noisy = np.clip(portrait + np.random.default_rng(1).normal(0, 10, portrait.shape), 0, 255).astype(np.uint8)
    cv2.imwrite(str(photo), noisy[..., ::-1])
    assert main(["restore", str(photo), "-o", str(tmp_path / "out.png"), "--faces", "--face-detector", "dlib",
                 "-q"]) == 0
    out = cv2.imread(str(tmp_path / "out.png"))[..., ::-1]
    assert out.shape == noisy.shape
    # the face changed toward the clean portrait …
    assert np.abs(out.astype(int) - noisy).mean() > 0.1
    assert np.mean((out.astype(float) - portrait) ** 2) < np.mean((noisy.astype(float) - portrait) ** 2)
    assert np.array_equal(out[300:], noisy[300:])  # … the rest did not

    film = tmp_path / "film.mp4"
    with av.open(str(film), "w") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 320, 320, "yuv420p"
        for f in _clip(portrait, n=6):
            frame = av.VideoFrame.from_ndarray((f.image * 255 + 0.5).astype(np.uint8), format="rgb24")
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    assert main(["restore", str(film), "-o", str(tmp_path / "film_out.mp4"), "--faces", "--face-radius", "1",
                 "--face-detector", "dlib", "-q"]) == 0
    with av.open(str(tmp_path / "film_out.mp4")) as container:
        assert sum(1 for _ in container.decode(video=0)) == 6
