"""Portrait animation (bian.animate) on small generated inputs and on scikit-image's astronaut portrait:
the eye and mouth layer models, the fields, presets, rendering guarantees, writers, API errors."""
from __future__ import annotations

from fractions import Fraction

import av
import numpy as np
import pytest
from PIL import Image

from bian.animate import eyelids, field, mouth, tps
from bian.animate.motions import DEFAULT, Motion, parse_motions, preset_motion
from bian.animate.output import GifWriter, write_video
from bian.animate.render import Renderer
from bian.animate.rig import build_rig
from bian.errors import OptionError

UP, BALL, LOW = (eyelids.TERMS.index(n) for n in ("upper lid", "eyeball", "lower lid"))
SKIN = (np.array([-1.0, 1.0]), np.full((2, 3), 0.5))
"""A lid skin colour table for :func:`eyelids.samples` (x, colours): grey everywhere."""


# ------------------------------------------------------------------------------------------ fixtures
@pytest.fixture(scope="module")
def astronaut() -> np.ndarray:
    from skimage.data import astronaut as load
    return load().astype(np.float32) / 255


@pytest.fixture(scope="module")
def astro_rig(astronaut):
    from bian.faces import detect_faces
    face = max(detect_faces(astronaut, backend="dlib"), key=lambda f: f.size)
    return build_rig(face.landmarks, astronaut)


@pytest.fixture(scope="module")
def renderer(astronaut, astro_rig) -> Renderer:
    return Renderer(astronaut, [astro_rig])


def pose(**changes) -> dict:
    p = Motion.still(1).at(0)
    p.update({k: np.asarray(v, float) if isinstance(v, (list, tuple)) else v for k, v in changes.items()})
    return p


def synthetic_eye():
    """An eye 40 px wide (corners at x = 30 and 70, y = 50) with lids 8 px above and below the middle, and
    a brow 18 px above: 68 landmarks with only the left eye and brow filled in."""
    lm = np.zeros((68, 2))
    lm[36], lm[39] = (30, 50), (70, 50)
    lm[37], lm[38] = (43, 42.9), (57, 42.9)  # (1 - x²)·a with x = ±0.35 → a ≈ -8
    lm[41], lm[40] = (43, 57.1), (57, 57.1)
    lm[17:22] = np.stack([np.linspace(28, 72, 5), np.full(5, 32.0)], 1)
    return eyelids.build_eye(lm, np.arange(36, 42), np.arange(17, 22))


def column(eye, x_local: float, y0: float, y1: float, n: int = 400) -> np.ndarray:
    ys = np.linspace(y0, y1, n)
    return eye.to_picture(np.full(n, x_local), ys)


# ------------------------------------------------------------------------------------------ eye model
def test_blink_covers_the_eye_from_the_top_not_a_squash():
    eye = synthetic_eye()
    pts = column(eye, 0.0, -20, 20)
    _, y = eye.to_local(pts)
    terms = eyelids.samples(eye, pts, 0.5, 0.0, np.zeros(2), SKIN)
    w_up, w_ball = terms[UP][2], terms[BALL][2]
    ball_y = terms[BALL][1][:, 1]
    up, low = eyelids.Eye.curve(eye.upper, np.zeros(1))[0], eyelids.Eye.curve(eye.lower, np.zeros(1))[0]
    m_up, m_low = eyelids.lid_edges(eye, np.zeros(1), 0.5)
    assert up < m_up[0] < m_low[0] <= low
    # below the moved lid edge, the eyeball shows exactly what it showed before (it is covered, not squashed)
    visible = (y > m_up[0] + 1) & (y < m_low[0] - 1)
    assert visible.sum() > 10
    assert np.ptp(w_ball[visible]) < 1e-9 and w_ball[visible][0] > 0.5   # (shaded by the closing lashes)
    assert np.allclose(ball_y[visible], pts[visible, 1], atol=1e-6)
    # above the edge the lid is drawn; the lash strip (just above the edge) is the source's lash line
    lid = y < m_up[0] - 1
    assert np.all(w_up[lid] > 0.99)
    lash = (y < m_up[0] - 1) & (y > m_up[0] - 0.12 * eye.half + 0.5)
    src_y = terms[UP][1][lash, 1] - eye.origin[1]
    assert np.allclose(src_y - (y[lash] - (m_up[0] - up)), 0, atol=1e-6)


def test_closed_eye_has_no_eyeball_and_opens_back_exactly():
    eye = synthetic_eye()
    pts = np.stack(np.meshgrid(np.linspace(30, 70, 41), np.linspace(30, 70, 41)), -1).reshape(-1, 2)
    closed = eyelids.samples(eye, pts, 1.0, 0.0, np.zeros(2), SKIN)
    assert np.abs(closed[BALL][2]).max() < 0.6  # at most an anti-aliased half pixel of eyeball, shaded
    x, y = eye.to_local(pts)
    m_up, _ = eyelids.lid_edges(eye, x, 1.0)
    assert np.all(closed[BALL][2][np.abs(y - m_up) > 1] == 0)
    opened = eyelids.samples(eye, pts, 0.0, 0.0, np.zeros(2), SKIN)
    total = sum(w[:, None] * p for pic, p, w in opened if pic == "image")
    assert np.allclose(total, pts, atol=1e-9)


def test_eye_map_never_folds():
    """Along any column, the source row read by each layer grows with the output row: no row of the photo is
    shown twice (no doubling) and the lid edge is the only jump (no tearing elsewhere)."""
    eye = synthetic_eye()
    for x_local in (-0.8, -0.3, 0.0, 0.5, 0.9):
        for blink in (0.2, 0.6, 0.95, 1.0):
            pts = column(eye, x_local, -25, 25)
            terms = eyelids.samples(eye, pts, blink, 0.3, np.array([0.5, 0.2]), SKIN)
            for _, pos, w in (terms[UP], terms[BALL], terms[LOW]):
                _, src = eye.to_local(pos)
                used = w > 0.5
                assert np.all(np.diff(src[used]) > -1e-6)
            # the layer drawn on top goes upper lid → eyeball → lower lid down the column, once each
            cover = np.stack([terms[UP][2], terms[BALL][2] > 0, terms[LOW][2]])
            order = cover.argmax(0)
            assert np.all(np.diff(order) >= 0)


def test_gaze_moves_the_iris_and_keeps_the_corners():
    eye = synthetic_eye()
    pts = np.stack([np.linspace(30, 70, 81), np.full(81, 50.0)], 1)
    terms = eyelids.samples(eye, pts, 0.0, 0.0, np.array([1.0, 0.0]), SKIN)
    src_x = terms[BALL][1][:, 0]
    middle = np.abs(pts[:, 0] - 50) < 3
    assert np.allclose(pts[middle, 0] - src_x[middle], eyelids.IRIS_SHIFT * eye.half, atol=1e-6)
    corners = np.abs(pts[:, 0] - 50) > 19.5
    assert np.allclose(src_x[corners], pts[corners, 0], atol=0.2)
    assert np.all(np.diff(src_x) > 0)


def test_closed_lid_takes_the_lids_own_colour_not_a_low_brows():
    """A brow's fringe reaching into the top fifth of the lid band (dark) must not tint the closed lid: its
    colour is the median down the open lid's skin, which is light here."""
    from bian.animate.render import _lid_skin
    eye = synthetic_eye()
    picture = np.full((100, 100, 3), 0.8, np.float32)
    x, rows = eyelids.lid_rows(eye)
    _, top = eye.to_local(rows[:, 0])
    _, y = eye.to_local(np.stack(np.meshgrid(np.arange(100.0), np.arange(100.0)), -1).reshape(-1, 2))
    up = eyelids.Eye.curve(eye.upper, np.zeros(1))[0]
    fringe = (y < top.min() + 0.2 * (up - top.min())).reshape(100, 100)
    picture[fringe] = 0.2
    xs, colours = _lid_skin(picture, eye)
    middle = np.abs(xs) < 0.7
    assert np.allclose(colours[middle], 0.8, atol=0.02)
    # and that colour is what the closed lid's skin is painted with
    pts = column(eye, 0.0, -15, 0)
    terms = eyelids.samples(eye, pts, 1.0, 0.0, np.zeros(2), (xs, colours))
    painted = [(pos, w) for pic, pos, w in terms if pic == "colour"]
    assert len(painted) == 1 and painted[0][1].max() > 0.5
    assert np.allclose(painted[0][0], 0.8, atol=0.02)


# ------------------------------------------------------------------------------------------ fields
def test_tps_operator_interpolates_and_is_affine_exact():
    rng = np.random.default_rng(0)
    ctrl = rng.uniform(0, 100, (30, 2))
    op = tps.operator(ctrl, ctrl, 50.0, smoothing=0.0)
    d = rng.normal(size=(30, 2))
    assert np.allclose(op @ d, d, atol=1e-4)
    query = rng.uniform(0, 100, (50, 2))
    affine = ctrl @ np.array([[0.1, 0.02], [-0.03, 0.05]]) + [1, 2]
    out = tps.operator(ctrl, query, 50.0, smoothing=0.0) @ affine
    assert np.allclose(out, query @ np.array([[0.1, 0.02], [-0.03, 0.05]]) + [1, 2], atol=1e-4)


def test_invert_undoes_a_smooth_displacement():
    gy, gx = np.mgrid[0:40, 0:50].astype(np.float32)
    disp = np.stack([2.0 * np.sin(gy / 9), 1.5 * np.cos(gx / 7)], -1).astype(np.float32)
    inv = field.invert(disp)
    # q + d(q) must land back on the grid point
    d_at_q = np.stack([2.0 * np.sin(inv[..., 1] / 9), 1.5 * np.cos(inv[..., 0] / 7)], -1)
    err = np.abs(inv + d_at_q - np.stack([gx, gy], -1))[3:-3, 3:-3]
    assert err.max() < 0.05


def test_yaw_moves_the_nose_more_than_the_outline(astro_rig):
    rig = astro_rig
    lm = rig.landmarks
    moved = field.head(rig, lm, rig.depth(lm), pose(yaw=10.0))
    along = moved @ rig.ex
    assert along[30] > 0.1 * rig.iod          # nose tip moves toward the picture's right
    assert abs(along[0]) < 0.5 * along[30]   # the jaw outline much less (it turns, it does not slide)
    assert abs(along[16]) < 0.5 * along[30]


# ------------------------------------------------------------------------------------------ rendering
def test_still_pose_is_bit_identical(astronaut, renderer):
    out = renderer.render([pose()])
    assert np.array_equal(out, astronaut)


def test_background_outside_the_head_is_untouched(astronaut, renderer):
    out = renderer.render([pose(yaw=8.0, pitch=4.0, roll=2.0, smile=1.0, blink=[1, 1], shift=[0.05, -0.02],
                                scale=0.004, gaze=[1, 0.2], mouth=0.2)])
    x0, y0, x1, y1 = renderer.roi
    outside = np.ones(astronaut.shape[:2], bool)
    outside[y0:y1, x0:x1] = False
    assert np.array_equal(out[outside], astronaut[outside])
    r = renderer.rigs[0].ellipse_radius(np.stack(np.meshgrid(np.arange(512), np.arange(512)), -1).reshape(-1, 2))
    far = r.reshape(512, 512) >= field.HEAD_FADE[1]
    assert np.array_equal(out[far], astronaut[far])
    assert not np.array_equal(out, astronaut)


def test_planned_landmarks_follow_the_motion(renderer):
    rig = renderer.rigs[0]
    lm = rig.landmarks
    smile = renderer.landmark_positions([pose(smile=1.0)])[0]
    assert np.linalg.norm(smile[54] - smile[48]) > 1.08 * np.linalg.norm(lm[54] - lm[48])
    up = ((smile[[48, 54]] - lm[[48, 54]]) @ rig.ey)
    assert np.all(up < -0.02 * rig.iod)
    blink = renderer.landmark_positions([pose(blink=[1, 1])])[0]
    from bian.animate.driving import eye_aspect
    assert eye_aspect(blink).mean() < 0.1 * eye_aspect(lm).mean()


def test_mouth_opens_onto_a_dark_inside(astronaut, renderer):
    rig = renderer.rigs[0]
    out = renderer.render([pose(mouth=0.25)])
    m = rig.mouth
    o = min(0.25 * rig.iod, m.largest_opening())
    up, low = np.interp(0, *m.upper), np.interp(0, *m.lower)
    middle = ((up - mouth.UPPER_SHARE * o + (low - up)) + (low + (1 - mouth.UPPER_SHARE) * o)) / 2
    centre = np.round(m.to_picture(np.zeros(1), np.array([middle]))[0]).astype(int)
    before = astronaut[centre[1] - 1:centre[1] + 2, centre[0] - 2:centre[0] + 3].mean()
    after = out[centre[1] - 1:centre[1] + 2, centre[0] - 2:centre[0] + 3].mean()
    assert o > 0.1 * rig.iod and after < 0.6 * before
    moved = mouth.landmark_motion(rig.mouth, rig.landmarks, 0.25 * rig.iod)
    assert moved[57] @ rig.mouth.normal > 0 > moved[51] @ rig.mouth.normal


# ------------------------------------------------------------------------------------------ presets
def test_presets_are_seeded_eased_and_loop():
    a = preset_motion(DEFAULT, 150, 25.0, seed=3)
    b = preset_motion(DEFAULT, 150, 25.0, seed=3)
    c = preset_motion(DEFAULT, 150, 25.0, seed=4)
    assert np.array_equal(a.blink, b.blink) and np.array_equal(a.yaw, b.yaw)
    assert not np.array_equal(a.yaw, c.yaw)
    assert a.blink.max() == pytest.approx(1.0, abs=0.03) and a.smile.max() > 0.8
    for name in ("blink", "smile", "gaze", "yaw", "pitch", "roll", "shift", "scale"):
        v = getattr(a, name).reshape(150, -1)
        step = np.abs(np.diff(v, axis=0)).max()
        assert np.abs(v[-1] - v[0]).max() <= step + 1e-9, name   # the wrap-around is no bigger than a step
        assert np.abs(v[0]).max() < 1e-9, name                    # and the clip opens on the photo as it is


def test_parse_motions():
    assert parse_motions("blink, smile") == ("blink", "smile")
    assert parse_motions("all") == ("blink", "smile", "look", "nod", "turn", "breathe")
    with pytest.raises(OptionError):
        parse_motions("blink,wink")


# ------------------------------------------------------------------------------------------ writers
def test_gif_loops_with_one_palette_and_still_pixels(tmp_path, astronaut):
    pic = astronaut[:96, :128]
    frames = [pic.copy() for _ in range(4)]
    for k, f in enumerate(frames):
        f[40:50, 40:50] = k / 4          # only this square changes
    gif = GifWriter(tmp_path / "a.gif", 25.0, [pic])
    for f in frames:
        gif.add(f)
    gif.close()
    with Image.open(tmp_path / "a.gif") as im:
        assert im.n_frames == 4 and im.info["loop"] == 0
        decoded = []
        for k in range(4):
            im.seek(k)
            decoded.append(np.asarray(im.convert("RGB")))
    still = np.ones(pic.shape[:2], bool)
    still[40:50, 40:50] = False
    assert all(np.array_equal(d[still], decoded[0][still]) for d in decoded)
    assert len({d[45, 45].tobytes() for d in decoded}) == 4
    assert np.abs(decoded[0].astype(float) - pic * 255).mean() < 6


def test_video_keeps_size_timing_and_cut_audio(tmp_path):
    from media_factory import pattern_video
    driving = pattern_video(tmp_path / "d.mp4", size="64x48", seconds=2.0, audio="aac")
    rate = Fraction(10)
    times = [Fraction(i, 10) for i in range(10)]
    frames = (np.full((37, 50, 3), i / 10, np.float32) for i in range(10))
    out = tmp_path / "o.mp4"
    write_video(frames, times, out, 50, 37, Fraction(1, 10), rate, audio_from=driving)
    with av.open(str(out)) as c:
        v = c.streams.video[0]
        pts = [f.pts * v.time_base for f in c.decode(v)]
        assert (v.width, v.height) == (50, 37)
        assert pts == times
    with av.open(str(out)) as c:
        a = c.streams.audio[0]
        last = max(p.pts * a.time_base for p in c.demux(a) if p.pts is not None)
        assert 0.85 <= last < 1.0


def test_video_quality_default_and_override(tmp_path):
    rng = np.random.default_rng(3)
    still = rng.random((48, 64, 3)).astype(np.float32)          # grain: every level of quality shows
    times = [Fraction(i, 10) for i in range(5)]
    errors = {}
    for crf in (None, 10):
        out = tmp_path / f"q{crf}.mp4"
        write_video((still for _ in times), times, out, 64, 48, Fraction(1, 10), Fraction(10), crf=crf)
        with av.open(str(out)) as c:
            header = bytes(next(p for p in c.demux(video=0) if p.size))
        with av.open(str(out)) as c:
            decoded = next(c.decode(video=0)).to_ndarray(format="rgb24")
        assert f"crf={18 if crf is None else crf}.0".encode() in header   # x264's own record of its settings
        errors[crf] = np.abs(decoded.astype(float) - still * 255).mean()
    assert errors[10] < errors[None]


# ------------------------------------------------------------------------------------------ API
def test_api_errors(tmp_path, astronaut):
    import bian
    from bian.errors import InputError
    blank = tmp_path / "blank.png"
    Image.fromarray(np.full((64, 64, 3), 128, np.uint8)).save(blank)
    with pytest.raises(InputError, match="no face"):
        bian.animate(blank, tmp_path / "o.mp4")
    with pytest.raises(OptionError):
        bian.animate(blank, tmp_path / "o.avi")
    with pytest.raises(OptionError, match="audio"):
        bian.animate(blank, tmp_path / "o.mp4", audio=True)
    with pytest.raises(OptionError, match="driving"):
        bian.animate(blank, tmp_path / "o.mp4", engine="neural")
    with pytest.raises(OptionError):
        bian.animate(blank, tmp_path / "o.mp4", motion="frown")
    face = tmp_path / "astro.png"
    Image.fromarray((astronaut * 255).astype(np.uint8)).save(face)
    with pytest.raises(OptionError, match="--face 3"):
        bian.animate(face, tmp_path / "o.mp4", face=3, detector="dlib")


def test_face_selection_keeps_a_lone_unsure_face_only():
    from bian.animate.api import select_faces
    from bian.faces.face import Face

    def face(score, iod):
        lm = np.zeros((68, 2), np.float32)
        lm[42:48, 0] = iod
        return Face(box=np.zeros(4, np.float32), score=score, points5=np.zeros((5, 2), np.float32), landmarks=lm)
    notes = []
    sure, unsure, tiny = face(0.9, 30), face(0.55, 30), face(0.95, 5)
    assert select_faces([sure, unsure, tiny], notes) == [sure] and not notes
    assert select_faces([tiny, unsure, face(0.5, 20)], notes) == [unsure] and "0.55" in notes[0]
    assert select_faces([face(0.4, 30)], []) == [] and select_faces([tiny], []) == []


def test_animate_astronaut_end_to_end(tmp_path, astronaut):
    import bian
    small = tmp_path / "astro.jpg"
    Image.fromarray((astronaut[::2, ::2] * 255).astype(np.uint8)).save(small, quality=92)
    summary = bian.animate(small, tmp_path / "astro.mp4", duration=1.0, fps=10, gif=True, seed=5,
                           motion="blink,smile,look", detector="dlib")
    assert summary["frames"] == 10 and summary["engine"] == "offline" and len(summary["faces"]) == 1
    with av.open(str(tmp_path / "astro.mp4")) as c:
        frames = [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]
    assert len(frames) == 10 and frames[0].shape == (256, 256, 3)
    assert max(np.abs(f.astype(int) - frames[0]).max() for f in frames) > 30  # something moves
    with Image.open(tmp_path / "astro.gif") as im:
        total = 0
        for k in range(im.n_frames):   # identical neighbours are stored once with their delays added
            im.seek(k)
            total += im.info["duration"]
        assert total == 1000 and im.size == (256, 256)


def test_grey_photo_stays_grey_and_small_faces_animate(astronaut):
    from bian.faces import detect_faces
    grey = np.repeat(astronaut.mean(2, keepdims=True), 3, axis=2)[::3, ::3].copy()   # 171 px, face ~30 px
    face = max(detect_faces(grey, backend="dlib"), key=lambda f: f.size)
    rig = build_rig(face.landmarks, grey)
    out = Renderer(grey, [rig]).render([pose(blink=[1, 1], smile=1.0, yaw=6.0, mouth=0.2)])
    assert np.array_equal(out[..., 0], out[..., 1]) and np.array_equal(out[..., 1], out[..., 2])
    assert np.abs(out - grey).max() > 0.1


def test_neighbouring_faces_do_not_drag_each_other(astronaut):
    from bian.faces import detect_faces
    face = max(detect_faces(astronaut, backend="dlib"), key=lambda f: f.size)
    a = build_rig(face.landmarks, astronaut)
    b = build_rig(face.landmarks + a.head_axes[0] * 2.0 * a.ex, astronaut)   # a second head beside it
    turned = pose(yaw=10.0, shift=[0.2, 0.0])
    still = pose()
    moved = Renderer(astronaut, [a, b]).landmark_positions([turned, still])
    assert np.abs(moved[0] - a.landmarks).max() > 0.2 * a.iod
    assert np.abs(moved[1] - b.landmarks).max() < 0.02 * a.iod


def test_layer_sampling_handles_large_regions(astronaut):
    from bian.animate.render import _sample
    rng = np.random.default_rng(0)
    pos = rng.uniform(5, 500, (40000, 2))          # more than an OpenCV map can hold in one row
    got = _sample(astronaut, pos)
    ix, iy = np.round(pos[:5]).astype(int).T
    exact = _sample(astronaut, np.stack([ix, iy], 1).astype(float))
    assert got.shape == (40000, 3)
    assert np.allclose(exact, astronaut[iy, ix], atol=1e-5)


def test_progress_callback_counts_and_can_stop(tmp_path, astronaut):
    import bian
    small = tmp_path / "astro.png"
    Image.fromarray((astronaut[::2, ::2] * 255).astype(np.uint8)).save(small)
    seen = []
    bian.animate(small, tmp_path / "a.gif", duration=0.5, fps=10, detector="dlib",
                 on_progress=lambda p: seen.append((p.done, p.total)))
    assert seen == [(k, 5) for k in range(1, 6)]

    class Stop(Exception):
        pass

    def stop(p):
        if p.done == 3:
            raise Stop
    with pytest.raises(Stop):
        bian.animate(small, tmp_path / "b.mp4", duration=0.5, fps=10, detector="dlib", on_progress=stop)
    assert not list(tmp_path.glob("b*.mp4")) and not list(tmp_path.glob(".b*"))
