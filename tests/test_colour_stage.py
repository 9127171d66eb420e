"""The colourise stage: every path keeps the luminance, references per shot, hints, the offline
automatic fallback, temporal steadiness within the determinism rule, options and bad input."""
import json

import av
import numpy as np
import pytest
from film_factory import frames_of, run, scene, shifted
from PIL import Image

import bian
from bian.colour import auto, lab
from bian.errors import InputError, ModelError, OptionError
from bian.media.video import probe_video
from bian.pipeline.runner import apply_stage
from bian.stages import colourise as stage_module
from bian.stages.base import Window
from bian.stages.colourise import Colourise

H, W, M = 48, 64, 16


def _painted(picture):
    """The 'true colours' of a grey scene: warm where bright, cool where dark, a hue drift across."""
    L = lab.luminance(picture)
    ab = np.dstack([np.where(L > 50, 25.0, -15.0), np.linspace(-20, 20, L.shape[1])[None].repeat(L.shape[0], 0)])
    return lab.merge(L, ab.astype(np.float32))


def _save(tmp_path, name, rgb):
    path = tmp_path / name
    Image.fromarray((np.clip(rgb, 0, 1) * 255 + 0.5).astype(np.uint8)).save(path)
    return path


def _chroma_error(out, truth):
    return float(np.abs(lab.rgb_to_lab(out)[..., 1:] - lab.rgb_to_lab(truth)[..., 1:]).mean())


def _pan(seed, n, speed=1.0):
    big = scene(H, W, seed=seed, margin=M)
    colour = _painted(big)
    grey = np.stack([shifted(big, -speed * k, 0, (H, W), M) for k in range(n)])
    truth = np.stack([shifted(colour, -speed * k, 0, (H, W), M) for k in range(n)])
    return grey, truth


def test_reference_colours_a_panning_shot_and_keeps_its_luminance(tmp_path):
    grey, truth = _pan(0, 8)
    ref = _save(tmp_path, "ref.png", truth[0])
    out = run(Colourise(references=[ref], radius=3), grey)
    assert out.shape == grey.shape and out.dtype == np.float32
    for k in (0, 4, 7):
        assert np.abs(lab.luminance(out[k]) - lab.luminance(grey[k])).mean() < 0.5
        assert _chroma_error(out[k], truth[k]) < 4.0
    assert _chroma_error(grey[4], truth[4]) > 15  # grey is far from the truth: the colour came from the reference


def test_each_shot_takes_its_own_reference_and_nothing_crosses_the_cut(tmp_path):
    a, ta = _pan(1, 6)
    b, tb = _pan(2, 6)
    tb = np.stack([lab.merge(lab.luminance(t), -lab.rgb_to_lab(t)[..., 1:]) for t in tb])  # other colours
    refs = [_save(tmp_path, "a.png", ta[0]), _save(tmp_path, "b.png", tb[0])]
    stage = Colourise(references=refs, radius=4)
    out = run(stage, np.concatenate([a, b]))
    assert _chroma_error(out[5], ta[5]) < 4.0
    assert _chroma_error(out[6], tb[0]) < 4.0  # first frame after the cut: shot b's colours only
    assert _chroma_error(out[8], tb[2]) < 4.0


def test_pinned_references_apply_to_their_frames_only(tmp_path):
    grey, truth = _pan(3, 4)
    inverse = lab.merge(lab.luminance(truth[0]), -lab.rgb_to_lab(truth[0])[..., 1:])
    refs = [f"{_save(tmp_path, 'p.png', truth[0])}@0-1", f"{_save(tmp_path, 'q.png', inverse)}@2-"]
    out = run(Colourise(references=refs, radius=0), grey)
    assert _chroma_error(out[1], truth[1]) < 4.0
    inverse3 = lab.merge(lab.luminance(truth[3]), -lab.rgb_to_lab(truth[3])[..., 1:])
    assert _chroma_error(out[3], inverse3) < 4.0


def test_hints_colour_a_still_picture(tmp_path):
    picture = scene(H, W, seed=4)
    L = lab.luminance(picture)
    bright = np.argwhere(L > 60)[0]
    hint = tmp_path / "h.json"
    hint.write_text(json.dumps([{"x": int(bright[1]), "y": int(bright[0]), "colour": "#c83c28", "width": 3}]))
    stage = Colourise(hints=hint, radius=0)
    out = run(stage, picture[None])[0]
    assert stage.makes_colour and stage.describe()["path"] == f"hints ({hint})"
    got = lab.rgb_to_lab(out)[bright[0], bright[1], 1:]
    want = lab.rgb_to_lab(np.array([[[200, 60, 40]]], np.float32) / 255)[0, 0, 1:]
    assert np.abs(got - want).max() < 6
    assert np.abs(lab.luminance(out) - L).mean() < 0.5


def test_keyframe_hints_reach_neighbouring_frames_along_motion(tmp_path):
    grey, _ = _pan(5, 7, speed=2.0)
    L0 = lab.luminance(grey[0])
    y, x = np.argwhere(L0 > 60)[len(np.argwhere(L0 > 60)) // 2]
    hint = tmp_path / "k.json"
    hint.write_text(json.dumps([{"x": int(x), "y": int(y), "colour": "#2050d0", "width": 5, "frame": 0}]))
    out = run(Colourise(hints=hint, radius=3), grey)
    ab2 = lab.rgb_to_lab(out[2])[..., 1:]
    moved = ab2[y, min(W - 1, x - 4)]  # the content moved 2 px per frame to the left
    assert moved[1] < -15  # blue
    assert np.abs(lab.rgb_to_lab(out[6])[..., 1:]).max() < 1.0  # beyond the window and no keyframe picture: grey


def test_automatic_without_weights_takes_the_offline_fallback_and_says_so(tmp_path, monkeypatch):
    monkeypatch.setenv("BIAN_MODEL_DIR", str(tmp_path))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    stage = stage_module.build({"colorize": True}, type("S", (), {"kind": "image", "own_colour": False})())[0]
    info = stage.describe()
    assert info["path"] == "automatic: offline toning fallback (DDColor weights not found)"
    assert "ddcolor_modelscope.pth" in info["note"] and "\n" not in info["note"]
    picture = scene(H, W, seed=6)
    out = run(stage, picture[None])[0]
    assert np.abs(lab.rgb_to_lab(out)[..., 1:]).mean() > 2  # it did add colour
    assert np.abs(lab.luminance(out) - lab.luminance(picture)).mean() < 0.5
    # a model named outright is not silently replaced: the one-line message says what to get
    with pytest.raises(ModelError, match="ddcolor_paper_tiny.pth") as err:
        stage_module.build({"colorize": True, "colour_model": "ddcolor-paper-tiny"},
                           type("S", (), {"kind": "image", "own_colour": False})())
    assert "\n" not in err.value.line() and "BIAN_ALLOW_DOWNLOAD" in err.value.line()


def test_toning_table_is_the_examples_mean_chroma_per_band_muted():
    # a big picture, blue at L 25, and a small one, red at L 25 and yellow at L 75: each counts alike
    big = np.zeros((40, 40, 3), np.float32)
    big[..., 0], big[..., 2] = 25, -4
    small = np.zeros((4, 8, 3), np.float32)
    small[:, :4] = (25, 6, 0)
    small[:, 4:] = (75, 0, 40)
    table = auto.toning_table([big, small])
    assert np.allclose(table[2], (3, -2), atol=0.2)  # mean of (0, -4) and (6, 0), hardly limited
    assert np.allclose(table[7], (0, auto.TONE_CHROMA * np.tanh(40 / auto.TONE_CHROMA)), atol=1e-3)
    assert not table[[0, 1, 3, 4, 5, 6, 8, 9]].any()  # bands no example covers stay neutral
    ab = auto.tone(np.array([[25.0, 50.0, 75.0]]), table)
    assert np.allclose(ab[0, 0], table[2]) and np.allclose(ab[0, 2], table[7])
    assert np.allclose(ab[0, 1], (table[4] + table[5]) / 2)


def test_offline_fallback_paints_no_colour_islands(tmp_path, monkeypatch):
    """The fallback's colour follows luminance only: no region of a textured picture gets a colour of
    its own, neighbouring blocks never jump in colour, the luminance is kept, and a film's frames get
    the same colour where they hold the same picture."""
    monkeypatch.setenv("BIAN_MODEL_DIR", str(tmp_path))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    picture = scene(128, 160, seed=9)
    out = run(Colourise(model="auto", radius=0), picture[None])[0]
    L, ab = lab.luminance(picture), lab.rgb_to_lab(out)[..., 1:]
    assert np.abs(lab.luminance(out) - L).max() < 0.6
    chroma = np.hypot(ab[..., 0], ab[..., 1])
    assert 3 < chroma.mean() and chroma.max() < 1.2 * auto.TONE_CHROMA  # some colour, muted
    # pixels of equal luminance get equal colour wherever they are (no blotches)
    band = np.round(L).astype(int)
    for level in np.unique(band)[::5]:
        where = band == level
        if where.sum() > 20:
            assert ab[where].std(axis=0).max() < 1.5
    # 16-px block means: chroma changes between neighbours no faster than the luminance does
    blocks = lambda x: x.reshape(8, 16, 10, 16, -1).mean(axis=(1, 3))
    bl, bab = blocks(L[..., None])[..., 0], blocks(ab)
    for axis in (0, 1):
        jump = np.linalg.norm(np.diff(bab, axis=axis), axis=-1)
        assert np.all(jump <= 0.5 * np.abs(np.diff(bl, axis=axis)) + 1.0)
    # a film: frames holding the same picture get the same colour, whatever their neighbours
    film = np.stack([picture, picture, scene(128, 160, seed=10), picture])
    frames = run(Colourise(model="auto", radius=2), film)
    assert np.abs(lab.rgb_to_lab(frames[1])[..., 1:] - ab).max() < 1.0


def test_offline_fallback_gives_a_found_face_a_skin_tone(shared, tmp_path, monkeypatch):
    monkeypatch.setenv("BIAN_MODEL_DIR", str(tmp_path))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    with Image.open(shared / "data" / "faces" / "Blake_Lively.jpg") as img:
        grey = np.asarray(img.convert("L").resize((256, 256 * img.height // img.width)), np.float32) / 255
    L = lab.luminance(grey)
    stage = Colourise(model="auto", radius=0)
    ab = auto.fallback_chroma(L, stage._tones)
    toned = auto.tone(L, stage._tones)
    moved = np.linalg.norm(ab - toned, axis=2) > 1
    assert 0.02 < moved.mean() < 0.5  # a face-sized region, not the picture
    near = lambda x: np.linalg.norm(x[moved] - np.float32(auto.SKIN), axis=1).mean()
    assert near(ab) < 0.5 * near(toned)
    out = run(stage, np.repeat(grey[..., None], 3, axis=2)[None])[0]
    assert np.abs(lab.luminance(out) - L).max() < 0.6


def test_output_for_a_frame_depends_only_on_its_window(tmp_path):
    grey, truth = _pan(7, 10)
    ref = _save(tmp_path, "r.png", truth[0])
    whole = run(Colourise(references=[ref], radius=2), grey)
    # a resumed segment starting at frame 5 sees frames 3.. as context, in a fresh stage
    part = np.stack([f.image for f in apply_stage(Colourise(references=[ref], radius=2), frames_of(grey[3:]))])
    assert np.array_equal(whole[5:], part[2:])
    again = Colourise(references=[ref], radius=2).process(Window(frames_of(grey[2:7]), 2))[0].image
    assert np.array_equal(again, whole[4])


def test_saturation_scales_the_added_colour(tmp_path):
    grey, truth = _pan(8, 1)
    ref = _save(tmp_path, "s.png", truth[0])
    full = run(Colourise(references=[ref], radius=0), grey)[0]
    none = run(Colourise(references=[ref], radius=0, saturation=0), grey)[0]
    assert np.abs(lab.rgb_to_lab(none)[..., 1:]).max() < 1.0
    assert np.abs(lab.rgb_to_lab(full)[..., 1:]).mean() > 10


def test_options_and_bad_input(tmp_path):
    spec = stage_module._reference("shots/a@b.png@12-40")
    assert (str(spec.path), spec.first, spec.last) == ("shots/a@b.png", 12, 40)
    assert stage_module._reference("x.png@7-").covers(1000) and not stage_module._reference("x.png@7-").covers(6)
    with pytest.raises(OptionError, match="empty"):
        stage_module._reference("x.png@9-3")
    with pytest.raises(OptionError):
        stage_module._saturation(5)
    with pytest.raises(OptionError):
        stage_module._render_size(100)
    with pytest.raises(InputError, match="reference image not found"):
        Colourise(references=[tmp_path / "missing.png"])
    grey_ref = _save(tmp_path, "g.png", np.full((8, 8, 3), 0.5, np.float32))
    with pytest.raises(InputError, match="no colour"):
        Colourise(references=[grey_ref])
    assert stage_module.build({}, type("S", (), {"kind": "video"})()) == []


def _write_video(path, frames):
    import av

    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=25, options={"crf": "0"})
        stream.width, stream.height, stream.pix_fmt = frames.shape[2], frames.shape[1], "yuv444p"
        for image in frames:
            frame = av.VideoFrame.from_ndarray((image * 255 + 0.5).astype(np.uint8), format="rgb24")
            container.mux(stream.encode(frame))
        container.mux(stream.encode())


def test_keyframe_hints_colour_far_frames_through_the_keyframe_picture(tmp_path):
    grey, _ = _pan(9, 12, speed=1.5)
    video = tmp_path / "film.mp4"
    _write_video(video, grey)
    L0 = lab.luminance(grey[0])
    bright = np.argwhere(L0[:, 20:44] > 60)
    y, x = bright[len(bright) // 2] + (0, 20)
    hint = tmp_path / "k.json"
    hint.write_text(json.dumps([{"x": int(x), "y": int(y), "colour": "#2050d0", "width": 7, "frame": 0},
                                {"x": 2, "y": 2, "colour": "#d0a040", "width": 3, "frame": 0}]))
    stage = stage_module.build({"hints": str(hint), "colour_radius": 2},
                               type("S", (), {"kind": "video", "video": probe_video(video), "own_colour": False})())[0]
    out = run(stage, grey)
    far = lab.rgb_to_lab(out[10])[..., 1:]  # 10 frames on: beyond the ±2 window, the keyframe still reaches
    assert far[y, int(x - 15)][1] < -12      # the hinted content, moved 15 px left, is still blue
    assert np.abs(far).mean() > 3

    # the same film scanned as numbered frames: the keyframe is read through the plan's own probe
    for i, picture in enumerate(grey):
        _save(tmp_path, f"scan_{i + 101:04d}.png", picture)
    bian.restore(tmp_path / "scan_%04d.png", tmp_path / "scan.mkv", hints=str(hint), colour_radius=2,
                 source_fps=25, codec="ffv1")
    with av.open(str(tmp_path / "scan.mkv")) as container:
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    assert len(frames) == len(grey)
    assert lab.rgb_to_lab(frames[10].astype(np.float32) / 255)[y, int(x - 15), 2] < -12
