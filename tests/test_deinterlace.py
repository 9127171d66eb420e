"""Deinterlacing: a generated woven clip with a known answer (still area + moving bars), field order
both ways, options and the plan, a CLI run on an interlaced-flagged file, and combing seen in files not
flagged (woven clips seen; progressive stripes, grain, text, doubled lines, held and still frames not)."""
import json
import subprocess
import sys
from fractions import Fraction

import av
import cv2
import numpy as np
import pytest

from bian.errors import OptionError
from bian.frame import Frame
from bian.media.video import VideoReader, probe_video
from bian.pipeline.plan import build_plan, normalise_options
from bian.pipeline.runner import apply_stage
from bian.stages.deinterlace import Deinterlace, combing_seen, progressive, pulled_down
from bian.temporal.deinterlace import combing, deinterlace, field_pattern, matching_field, weave
from media_factory import ffmpeg, need_ffmpeg

H, W, STILL = 96, 160, 80
"""Columns [0, STILL) hold a still texture, the rest vertical bars moving right."""


def field_moments(count: int) -> np.ndarray:
    """``count`` progressive pictures at field rate: fine still texture on the left (horizontal lines and
    noise: full vertical detail a deinterlacer must keep), bars of random shades moving 2 px per field on
    the right (not periodic, so which field comes first is plain to see)."""
    rng = np.random.default_rng(7)
    still = rng.random((H, STILL, 3)).astype(np.float32) * 0.5
    still[::2] += 0.4  # a one-line stripe pattern: exactly what line interpolation would destroy
    shades = rng.choice(np.float32([0.1, 0.5, 0.9]), size=(W + 2 * count) // 8 + 1)
    x = np.arange(W - STILL)
    frames = []
    for t in range(count):
        bars = shades[(x + 2 * (count - t)) // 8]
        moving = np.broadcast_to(bars[None, :, None], (H, W - STILL, 3))
        frames.append(np.concatenate([still, moving], axis=1))
    return np.stack(frames)


def woven_clip(top_first: bool, pairs: int = 5):
    truth = field_moments(2 * pairs)
    woven = [weave(a, b, top_first) for a, b in zip(truth[0::2], truth[1::2])]
    frames = [Frame(image=f, time=Fraction(k, 25), duration=Fraction(1, 25), index=k) for k, f in enumerate(woven)]
    return frames, truth[0::2]


def run(stage, frames):
    return [f for f in apply_stage(stage, frames)]


@pytest.mark.parametrize("top_first", [True, False])
def test_still_area_woven_moving_area_rebuilt(top_first):
    frames, truth = woven_clip(top_first)
    out = run(Deinterlace(top_first), frames)
    assert [f.index for f in out] == [f.index for f in frames] and [f.time for f in out] == [f.time for f in frames]
    for f, woven, answer in zip(out, frames, truth):
        image = f.image
        assert image.dtype == np.float32 and image.shape == (H, W, 3)
        # still: both fields kept exactly (weave), which is the answer there
        assert np.array_equal(image[:, :STILL], answer[:, :STILL])
        # the first field's lines are never touched
        keep = 0 if top_first else 1
        assert np.array_equal(image[keep::2], woven.image[keep::2])
        # moving: no combing left, and close to the first field's moment
        moving, woven_part, right = image[:, STILL:], woven.image[:, STILL:], answer[:, STILL:]
        assert combing(woven_part) > 50 and combing(moving) < 0.1 * combing(woven_part)
        assert np.abs(moving - right).mean() < 0.2 * np.abs(woven_part - right).mean()


def test_field_order_matters():
    """A bottom-first clip deinterlaced as bottom-first is much closer to its answer than read as top-first
    (the wrong order keeps the later field's lines and rebuilds the earlier ones)."""
    frames, truth = woven_clip(top_first=False)
    right = np.mean([np.abs(f.image - t).mean() for f, t in zip(run(Deinterlace(False), frames), truth)])
    wrong = np.mean([np.abs(f.image - t).mean() for f, t in zip(run(Deinterlace(True), frames), truth)])
    assert right < 0.25 * wrong


def test_ends_and_a_lone_frame():
    """Without one neighbour (clip ends) the other stands in; a single frame is rebuilt from its own field."""
    frames, truth = woven_clip(True, pairs=1)
    alone = deinterlace(frames[0].image)
    assert np.array_equal(alone[0::2], frames[0].image[0::2])
    assert combing(alone[:, STILL:]) < 0.1 * combing(frames[0].image[:, STILL:])
    with_next = deinterlace(frames[0].image, None, frames[0].image)
    assert np.array_equal(with_next, frames[0].image)  # an unchanging neighbour says: still, weave


@pytest.mark.parametrize("height", [1, 2, 3, 5, 7, 9])
def test_any_height_keeps_the_first_field(height):
    rng = np.random.default_rng(height)
    prev, cur, nxt = (rng.random((height, 6)).astype(np.float32) for _ in range(3))  # grey planes too
    for top_first in (True, False):
        keep = 0 if top_first else 1
        for out in (deinterlace(cur, prev, nxt, top_first), deinterlace(cur, top_first=top_first)):
            assert out.shape == cur.shape and out.dtype == np.float32 and 0 <= out.min() and out.max() <= 1
            assert np.array_equal(out[keep::2], cur[keep::2])


def test_scene_cut_neighbour_is_not_used():
    frames, _ = woven_clip(True, pairs=3)
    other = np.random.default_rng(1).random((H, W, 3)).astype(np.float32)
    frames[2] = frames[2].replace(image=other)  # a new shot starts at frame 2
    stage = Deinterlace(True)
    out = run(stage, frames)
    assert np.array_equal(out[1].image, deinterlace(frames[1].image, frames[0].image, None))


def telecine(film: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """3:2 pull-down of ``film`` (top field first): frames A/A B/B B/C C/D D/D per four film frames, and
    the film frame each video frame's first field shows."""
    frames, shown = [], []
    for a, b, c, d in zip(film[0::4], film[1::4], film[2::4], film[3::4]):
        frames += [a, b, weave(b, c), weave(c, d), d]
        shown += [a, b, b, c, d]
    return frames, shown


def test_field_pattern_tells_order_progressive_and_pull_down():
    moments = [m.mean(axis=2) for m in field_moments(40)]
    tff = field_pattern([weave(a, b, True) for a, b in zip(moments[0::2], moments[1::2])])
    bff = field_pattern([weave(a, b, False) for a, b in zip(moments[0::2], moments[1::2])])
    assert tff["tff"] >= 15 and tff["bff"] == 0 and bff["bff"] >= 15 and bff["tff"] == 0
    assert not progressive(tff) and not tff["telecine"]
    film = moments[0::2]  # film frames each carried whole in two fields (2:2)
    assert progressive(field_pattern(film)) and not field_pattern(film)["telecine"]
    pattern = field_pattern(telecine(film)[0])
    assert pattern["telecine"] and not progressive(pattern)


def test_film_fields_matched_across_frames():
    """Pull-down (3:2) and 2:2 shifted by a field: where a neighbour holds the current picture's other
    field the stage weaves the film frame back exactly; true interlaced video is left to the deinterlacer
    (its analysis says so, the stage is built without matching)."""
    film = field_moments(24)
    pulled, shown = telecine(film)
    assert [matching_field(f, p, n) for p, f, n in zip(pulled[0:], pulled[1:], pulled[2:])][:4] == [0, -1, -1, 0]
    shifted = [weave(a, b) for a, b in zip(film[:-1], film[1:])]  # each frame's bottom field from the next film frame
    for clip, answer in ((pulled, shown), (shifted, list(film[:-1]))):
        pattern = field_pattern([f.mean(axis=2) for f in clip])
        assert pulled_down(pattern) and not progressive(pattern)
        frames = [Frame(image=f, time=Fraction(k, 30), duration=Fraction(1, 30), index=k) for k, f in enumerate(clip)]
        out = run(Deinterlace(True, match=True), frames)
        exact = [np.array_equal(f.image, a) for f, a in zip(out, answer)]
        assert sum(exact) >= 0.8 * len(exact), exact
    video = [weave(a, b) for a, b in zip(field_moments(40)[0::2], field_moments(40)[1::2])]
    assert not pulled_down(field_pattern([f.mean(axis=2) for f in video]))


def test_pictures_overrule_the_flags(tmp_path):
    """A capture whose stream says top first but whose fields run bottom first is read bottom first (and the
    note says so); a stream flagged interlaced whose frames are whole pictures (film transferred 2:2) is not
    deinterlaced. Both open on 2.4 s of still leader, which says nothing: later parts of the file do."""
    moving = field_moments(280)
    moments = np.concatenate([np.repeat(moving[:1], 120, axis=0), moving])
    wrong = capture(tmp_path / "wrong.mp4", moments, False, "tff")
    whole = capture(tmp_path / "whole.mp4", np.repeat(moments[0::2], 2, axis=0), True, "tff")
    plan = build_plan(wrong, tmp_path / "o.mp4", {})
    assert plan.info.field_order == "tff" and not plan.stages[0].top_first
    assert any("bottom field first as the pictures show (the stream says top first)" in n for n in plan.notes)
    plan = build_plan(whole, tmp_path / "o.mp4", {})
    assert plan.info.interlaced and plan.stages == []
    assert any("both fields of each frame show one moment" in n for n in plan.notes)
    assert [s.name for s in build_plan(whole, tmp_path / "o.mp4", {"deinterlace": "on"}).stages] == ["deinterlace"]


def test_telecined_capture_is_matched(tmp_path):
    """A 3:2 pull-down capture: the plan finds it, says so, and the restored frames are the film frames
    (to the coding loss), far closer than the same stage deinterlacing every frame."""
    rng = np.random.default_rng(5)  # a grey texture with detail both ways, panning 2 px per film frame
    texture = cv2.GaussianBlur(rng.random((H, W + 200)).astype(np.float32), (0, 0), 1.0)
    texture = (texture - texture.min()) / (texture.max() - texture.min())
    film = [np.repeat(texture[:, 2 * k:2 * k + W, None], 3, axis=2) for k in range(80)]  # → 100 video frames
    pulled, shown = telecine(film)
    src = encode_woven(tmp_path / "telecined.mp4", pulled, "tff")
    plan = build_plan(src, tmp_path / "o.mkv", {})
    assert plan.stages[0].match and plan.stages[0].telecine
    assert any("3:2 pull-down" in n and "woven back together" in n for n in plan.notes)
    frames = list(VideoReader(probe_video(src)).frames())
    matched = [f.rgb() for f in apply_stage(plan.stages[0], frames)]
    plain = [f.rgb() for f in apply_stage(Deinterlace(True), frames)]
    error = [np.mean([np.abs(x - a).mean() for x, a in zip(out, shown)]) for out in (matched, plain)]
    assert error[0] < 0.5 * error[1], error


@pytest.mark.parametrize("top_first", [True, False])
def test_colour_capture_deinterlaced_on_its_planes(tmp_path, top_first):
    """4:2:0 chroma of an interlaced picture alternates fields by chroma row: the stage rebuilds the decoded
    planes (each with its own rows), where the same engine on the RGB conversion finds chroma already mixed
    across fields. FFmpeg's moving colour pattern, made at 50 fps and captured as a camera does (4:2:0 per
    moment, then fields woven, coded interlaced)."""
    order, pattern = ("tff" if top_first else "bff"), "testsrc2=size=160x96:rate=50:duration=0.4"
    src = tmp_path / "colour.mp4"
    ffmpeg("-f", "lavfi", "-i", pattern, "-vf", f"format=yuv420p,tinterlace=mode=interleave_"
           f"{'top' if top_first else 'bottom'},setfield={order}", "-c:v", "libx264", "-crf", "10", "-flags",
           "+ildct+ilme", "-x264opts", f"{order}=1", str(src))
    raw = subprocess.run([need_ffmpeg(), "-v", "error", "-f", "lavfi", "-i", pattern, "-f", "rawvideo", "-pix_fmt",
                          "rgb24", "-"], capture_output=True, check=True).stdout
    answer = np.frombuffer(raw, np.uint8).reshape(-1, 96, 160, 3)[0::2].astype(np.float32) / 255
    frames = list(VideoReader(probe_video(src)).frames())
    planes = [f.rgb() for f in apply_stage(Deinterlace(top_first), frames)]
    rgb = [f.rgb() for f in apply_stage(Deinterlace(top_first), [f.replace(image=f.image) for f in frames])]
    error = [np.mean([((x - a) ** 2).mean() for x, a in zip(out, answer)]) for out in (planes, rgb)]
    assert error[0] < 0.8 * error[1]


def test_options_and_plan(tmp_path):
    for bad in ({"deinterlace": "maybe"}, {"field_order": "top"}):
        with pytest.raises(OptionError) as err:
            normalise_options(bad)
        assert "\n" not in str(err.value) and "must be one of" in str(err.value)
    plain, photo = tmp_path / "plain.mp4", tmp_path / "photo.png"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=64x48:rate=25:duration=0.2", "-c:v", "libx264", str(plain))
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=64x48:rate=1:duration=1", "-frames:v", "1", str(photo))
    plan = build_plan(plain, tmp_path / "o.mp4", {})
    assert plan.stages == [] and not any("interlac" in n for n in plan.notes)  # progressive: untouched
    plan = build_plan(plain, tmp_path / "o.mp4", {"deinterlace": "on", "field_order": "bff"})
    assert [s.name for s in plan.stages] == ["deinterlace"] and not plan.stages[0].top_first
    assert any("--deinterlace on" in n for n in plan.notes)
    assert build_plan(photo, tmp_path / "o.png", {}).stages == []
    for options, path, output in (({"deinterlace": "on"}, photo, "o.png"), ({"field_order": "tff"}, plain, "o.mp4")):
        with pytest.raises(OptionError):
            build_plan(path, tmp_path / output, options)


def capture(path, moments: np.ndarray, top_first: bool, flag: str):
    """An interlaced capture of ``moments`` (field-rate pictures) woven in the given order and coded as
    interlaced H.264 whose stream states field order ``flag`` (tff or bff)."""
    return encode_woven(path, [weave(a, b, top_first) for a, b in zip(moments[0::2], moments[1::2])], flag)


def encode_woven(path, woven: list[np.ndarray], flag: str):
    """Woven frames coded as interlaced H.264 (x264 +ildct+ilme, crf 10) stating field order ``flag``."""
    raw = (np.stack(woven) * 255 + 0.5).astype(np.uint8).tobytes()
    subprocess.run([need_ffmpeg(), "-v", "error", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{W}x{H}", "-r", "25",
                    "-i", "-", "-vf", f"setfield={flag}", "-c:v", "libx264", "-crf", "10", "-flags", "+ildct+ilme",
                    "-x264opts", f"{flag}=1", "-pix_fmt", "yuv420p", str(path)], input=raw, check=True)
    return path


def decode(path) -> np.ndarray:
    with av.open(str(path)) as c:
        return np.stack([f.to_ndarray(format="rgb24") for f in c.decode(video=0)]).astype(np.float32) / 255


@pytest.mark.parametrize("top_first", [True, False])
def test_cli_deinterlaces_a_flagged_capture(tmp_path, top_first):
    moments = field_moments(32)
    order = "tff" if top_first else "bff"
    src, out = capture(tmp_path / "capture.mp4", moments, top_first, order), tmp_path / "out.mkv"
    result = subprocess.run([sys.executable, "-m", "bian.cli", "restore", str(src), "-o", str(out), "--codec", "ffv1",
                             "-q"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert [s["name"] for s in summary["stages"]] == ["deinterlace"]
    assert summary["stages"][0]["field_order"] == order
    assert any(n.startswith(f"the source is interlaced: deinterlaced, {'top' if top_first else 'bottom'} field first "
                            "as the pictures show,") for n in summary["notes"])
    woven, restored, answer = decode(src), decode(out), moments[0::2]  # answer: the first field's moment
    assert len(restored) == len(woven) == 16
    moving = np.s_[:, :, STILL:]
    comb = [np.mean([combing(f) for f in x[moving]]) for x in (woven, restored, answer)]
    assert comb[1] < comb[2] + 0.1 * (comb[0] - comb[2])  # the combing is gone
    error = [float(np.abs(x - answer)[moving].mean()) for x in (woven, restored)]
    assert error[1] < 0.3 * error[0]


def scene(kind: str, count: int) -> np.ndarray:
    """``count`` grey pictures (float32 H×W in [0, 1]) at field rate of progressive material that fools a
    plain comparison of fields: "stripes" (one-line stripes tilting by a quarter line, a shirt with
    one-line stripes and bars of shades moving sideways), "grain" (bars of shades moving sideways under
    fresh grain each moment), "text" (credits rolling up above a ticker running left), "doubled" (a
    half-height picture panning down, each line shown twice, as a line-doubled or upscaled transfer)."""
    rng = np.random.default_rng(11)
    tall = count + H + 8
    if kind == "stripes":
        rows = np.float32(0.3) + np.float32(0.5) * (np.arange(tall) % 3 == 0)[:, None] * np.ones((1, W), np.float32)
        shades = rng.choice(np.float32([0.3, 0.6, 0.9]), size=(W + 2 * count) // 8 + 1)
        lines = np.float32(0.5) + np.float32(0.5) * (np.arange(H // 2) % 2)[:, None]  # a shirt's one-line stripes
        out = []
        for t in range(count):
            picture = cv2.warpAffine(rows, np.float32([[1, 0, 0], [0, 1, 0.25 * t]]), (W, H))
            picture[H // 4:H // 4 + H // 2, W // 2:] = lines * shades[(np.arange(W // 2) + 2 * (count - t)) // 8]
            out.append(picture)
        return np.stack(out)
    if kind == "grain":
        shades = rng.choice(np.float32([0.2, 0.5, 0.8]), size=(W + 2 * count) // 8 + 1)
        return np.stack([np.clip(shades[(np.arange(W) + 2 * (count - t)) // 8] + rng.normal(0, 0.03, (H, W)), 0, 1)
                         for t in range(count)]).astype(np.float32)
    if kind == "text":
        roll, ticker = np.zeros((tall, W), np.uint8), np.zeros((30, W + 2 * count), np.uint8)
        for line in range(tall // 16):
            cv2.putText(roll, f"Camera {line * 37 % 91} LIGHT", (4, 14 + 16 * line), cv2.FONT_HERSHEY_SIMPLEX, 0.4,
                        255, 1, cv2.LINE_AA)
        for x in range(0, ticker.shape[1] - 90, 90):
            cv2.putText(ticker, f"NEWS {x}", (x, 24), cv2.FONT_HERSHEY_SIMPLEX, 0.8, 255, 2, cv2.LINE_AA)
        out = []
        for t in range(count):
            picture = roll[t:t + H].copy()
            picture[-30:] = ticker[:, 2 * t:2 * t + W]
            out.append(picture)
        return np.stack(out).astype(np.float32) / 255
    assert kind == "doubled"
    half = cv2.GaussianBlur(rng.random((tall, W)).astype(np.float32), (0, 0), 1.0) * 3 - 1
    return np.clip(np.stack([np.repeat(half[t // 2:t // 2 + H // 2], 2, axis=0) for t in range(count)]), 0, 1)


def woven(moments: np.ndarray, top_first: bool = True) -> list[np.ndarray]:
    return [weave(a, b, top_first) for a, b in zip(moments[0::2], moments[1::2])]


@pytest.mark.parametrize("kind", ["stripes", "grain", "text", "doubled"])
def test_combing_not_seen_in_progressive_detail(kind):
    """Fine horizontal detail, grain, moving text and line-doubled pictures are progressive: their vertical
    edges show no combing, however their fields compare (the plain field votes of held or doubled lines
    lean one way or both). Woven from the same moments, the grainy bars are seen interlaced, in their order
    (the detector is not blind there; woven stripes and thin moving letters are missed: the fields differ
    there whatever the motion, so they say nothing and the clip is left as it is)."""
    moments = scene(kind, 96)
    assert combing_seen(field_pattern(list(moments[0::2]))) is None
    held = np.repeat(moments[0::4], 2, axis=0)  # each picture shown twice (film on twos, 25 from 12.5)
    assert combing_seen(field_pattern(list(held))) is None
    if kind == "grain":
        for top_first in (True, False):
            assert combing_seen(field_pattern(woven(moments, top_first))) == ("tff" if top_first else "bff")


def test_still_footage_is_left_progressive():
    """No motion, no evidence: a still picture with one-line stripes under fresh grain each frame."""
    rng = np.random.default_rng(3)
    still = field_moments(1)[0].mean(axis=2)
    frames = [np.clip(still + rng.normal(0, 0.04, still.shape), 0, 1).astype(np.float32) for _ in range(48)]
    pattern = field_pattern(frames)
    assert combing_seen(pattern) is None and pattern["edge_tff"] + pattern["edge_bff"] == 0


def unflagged(path, frames: list[np.ndarray]):
    """Frames (float32 H×W×3) coded as progressive H.264 (no interlace flag), or as numbered PNG frames when
    ``path`` is a pattern."""
    raw = (np.stack(frames) * 255 + 0.5).astype(np.uint8)
    if "%" in path.name:
        for k, f in enumerate(raw):
            cv2.imwrite(str(path).replace("%04d", f"{k:04d}"), cv2.cvtColor(f, cv2.COLOR_RGB2BGR))
        return path
    size = f"{raw.shape[2]}x{raw.shape[1]}"
    subprocess.run([need_ffmpeg(), "-v", "error", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", size, "-r", "25", "-i",
                    "-", "-c:v", "libx264", "-crf", "16", "-pix_fmt", "yuv420p", str(path)], input=raw.tobytes(), check=True)
    return path


@pytest.mark.parametrize("top_first", [True, False])
def test_unflagged_capture_is_seen_and_deinterlaced(tmp_path, top_first):
    """A capture that lost its interlace flag (re-encoded progressive; numbered frames): the plan sees the
    combing, deinterlaces in the order the pictures show, says why; the restored frames lose the combing.
    The same moments as progressive frames are left alone."""
    moments = field_moments(96)
    order = "tff" if top_first else "bff"
    src = unflagged(tmp_path / ("capture.mp4" if top_first else "capture_%04d.png"), woven(moments, top_first))
    plan = build_plan(src, tmp_path / "o.mkv", {})
    assert not plan.info.interlaced and [s.name for s in plan.stages] == ["deinterlace"]
    assert plan.stages[0].top_first == top_first and plan.stages[0].describe()["field_order"] == order
    seen = plan.stages[0].seen
    assert seen[1] == 46 and 10 <= seen[0] <= 46
    assert any(n.startswith(f"interlaced (combing seen in {seen[0]} of 46 frames, not flagged): deinterlaced, "
                            f"{'top' if top_first else 'bottom'} field first as the pictures show") for n in plan.notes)
    frames = list(VideoReader(plan.info).frames())
    restored = [f.rgb()[:, STILL:] for f in apply_stage(plan.stages[0], frames)]
    answer = moments[0::2][:, :, STILL:]
    error = [np.mean([np.abs(x - a).mean() for x, a in zip(out, answer)]) for out in
             ([f.rgb()[:, STILL:] for f in frames], restored)]
    assert error[1] < 0.3 * error[0], error
    progressive_src = unflagged(tmp_path / "progressive.mp4", list(moments[0::2]))
    plan = build_plan(progressive_src, tmp_path / "p.mkv", {})
    assert plan.stages == [] and not any("interlac" in n for n in plan.notes)
    with pytest.raises(OptionError):  # nothing to deinterlace: --field-order still needs --deinterlace on
        build_plan(progressive_src, tmp_path / "p.mkv", {"field_order": "bff"})
    assert build_plan(src, tmp_path / "o.mkv", {"deinterlace": "off"}).stages == []
    if top_first:  # taller than any interlaced format (1080i): not looked at (a 2K/4K film scan), on still works
        tall = unflagged(tmp_path / "tall.mp4", [np.tile(f, (12, 1, 1)) for f in woven(moments, top_first)])
        assert build_plan(tall, tmp_path / "t.mkv", {}).stages == []
        assert build_plan(tall, tmp_path / "t.mkv", {"deinterlace": "on"}).stages[0].name == "deinterlace"


def test_unflagged_film_shifted_by_a_field_is_matched(tmp_path):
    """Film carried 2:2 with each frame's bottom field from the next film frame combs every frame; unflagged,
    the plan sees it and weaves the film frames back (as for a flagged stream): most restored frames are the
    film frames to the coding loss, far closer than the woven ones."""
    film = field_moments(97)[0::2]
    shifted = [weave(a, b) for a, b in zip(film[:-1], film[1:])]
    plan = build_plan(unflagged(tmp_path / "shifted.mp4", shifted), tmp_path / "o.mkv", {})
    stage = plan.stages[0]
    assert stage.top_first and stage.match and stage.seen and not plan.info.interlaced
    assert any(n.startswith("interlaced (combing seen in") and "2:2 shifted by a field" in n for n in plan.notes)
    frames = list(VideoReader(plan.info).frames())
    out = [f.rgb() for f in apply_stage(stage, frames)]
    error = [[np.abs(x - a)[:, STILL:].mean() for x, a in zip(clip, film)]  # (the still noise is coding loss)
             for clip in (out, [f.rgb() for f in frames])]
    assert np.median(error[0]) < 0.2 * np.median(error[1]), error
