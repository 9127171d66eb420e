"""Inputs as restorers have them (session-6 robustness sweep): each test is the regression test of a bug
found by restoring real-world kinds of files through the CLI. Inputs are generated small in tmp_path."""
import os
import shutil
import subprocess
import sys
from fractions import Fraction

import av
import cv2
import numpy as np
import pytest
import tifffile
from PIL import Image, ImageCms

import bian
from bian.media.video import VideoReader, probe_video
from media_factory import ffmpeg


def planes(path):
    """Y, U, V planes (float64) of every frame of an 8-bit 4:2:0 file."""
    with av.open(str(path)) as c:
        out = []
        for f in c.decode(video=0):
            a = f.to_ndarray().astype(np.float64)
            h = f.height
            out.append((a[:h], a[h:].reshape(2, h // 2, -1)))
        return out


def test_full_range_grey_film_stays_grey(tmp_path):
    """A grey full-range film (yuvj420p: MJPEG, phones) came back green-tinted: RGB → 4:2:0 full range in
    swscale's default mode rounds grey's chroma to 127."""
    src = tmp_path / "grey.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=160x96:rate=25:duration=0.4", "-vf", "format=gray",
           "-c:v", "libx264", "-crf", "10", "-pix_fmt", "yuvj420p", str(src))
    out = tmp_path / "out.mp4"
    bian.restore(src, out)  # yuvj420p in, yuv420p out: the pixels go through RGB
    assert [c for _, c in planes(src)][0].min() == 128
    chroma = np.stack([c for _, c in planes(out)])
    assert chroma.min() == chroma.max() == 128
    luma_in = np.stack([y for y, _ in planes(src)]).mean()
    assert abs(np.stack([y for y, _ in planes(out)]).mean() - luma_in) < 0.3


def test_full_range_colour_film_keeps_its_colour(tmp_path):
    """A colour full-range film (yuvj420p: MJPEG from old digital cameras, phones) came back with its chroma
    half a code low (U −0.48, V −0.38 on a smooth field; R −0.7, G +0.5, B −0.9 levels): swscale's RGB →
    full-range 8-bit YUV is biased even with accurate rounding."""
    h, w = 96, 160
    yy, xx = np.mgrid[0:h, 0:w] / np.array([h, w])[:, None, None]
    src = tmp_path / "camera.avi"
    with av.open(str(src), "w") as c:
        s = c.add_stream("mjpeg", rate=25)
        s.width, s.height, s.pix_fmt = w, h, "yuvj420p"
        s.codec_context.color_range = 2
        s.options = {"qmin": "1", "qmax": "2"}
        for i in range(3):
            rgb = np.stack([0.3 + 0.4 * xx, 0.5 + 0.2 * yy, 0.4 + 0.2 * np.sin(3 * xx + i / 5)], axis=2)
            picture = av.VideoFrame.from_ndarray(np.round(rgb * 255).astype(np.uint8), format="rgb24")
            picture = picture.reformat(format="yuvj420p")
            picture.pts = i
            c.mux(s.encode(picture))
        c.mux(s.encode(None))
    out = tmp_path / "out.mp4"
    bian.restore(src, out)
    chroma_in = np.mean([c.mean(axis=(1, 2)) for _, c in planes(src)], axis=0)
    chroma_out = np.mean([c.mean(axis=(1, 2)) for _, c in planes(out)], axis=0)
    assert np.abs(chroma_out - chroma_in).max() < 0.25
    assert abs(np.mean([y.mean() for y, _ in planes(out)]) - np.mean([y.mean() for y, _ in planes(src)])) < 0.1


def test_decoded_colour_is_not_darkened(tmp_path):
    """Frames decoded from 4:2:0 came out about 0.8 level darker (1.2 after encoding again) than the BT.601
    conversion of their planes: swscale's default rounding."""
    h, w = 96, 160
    yy, xx = np.mgrid[0:h, 0:w] / np.array([h, w])[:, None, None]
    y = 70 + 100 * xx + 20 * yy  # smooth and inside the legal range: no clipping, no edges
    u, v = 128 + 20 * np.cos(3 * yy[::2, ::2]), 128 + 20 * np.sin(2 * xx[::2, ::2])
    src = tmp_path / "col.mkv"
    with av.open(str(src), "w") as c:
        s = c.add_stream("ffv1", rate=25)
        s.width, s.height, s.pix_fmt = w, h, "yuv420p"
        s.codec_context.colorspace, s.codec_context.color_range = 5, 1  # BT.601, limited range
        for i in range(3):
            frame = av.VideoFrame.from_ndarray(np.concatenate([y, u.reshape(h // 4, w), v.reshape(h // 4, w)])
                                               .round().astype(np.uint8), format="yuv420p")
            frame.pts = i
            c.mux(s.encode(frame))
        c.mux(s.encode(None))
    (yq, uvq), = planes(src)[:1]
    uq, vq = (np.repeat(np.repeat(p, 2, axis=0), 2, axis=1) - 128 for p in uvq)
    yq, uq, vq = (yq - 16) * 255 / 219, uq * 255 / 224, vq * 255 / 224
    ref = np.stack([yq + 1.402 * vq, yq - 0.344136 * uq - 0.714136 * vq, yq + 1.772 * uq], axis=2)
    assert 0 < ref.min() and ref.max() < 255
    for frame in VideoReader(probe_video(src)).frames():
        assert np.abs(frame.rgb().mean(axis=(0, 1)) * 255 - ref.mean(axis=(0, 1))).max() < 0.2


def sample_aspect(path):
    with av.open(str(path)) as c:
        return c.streams.video[0].sample_aspect_ratio


def test_anamorphic_pixels_keep_their_shape(tmp_path):
    """A 16:9 PAL/DV source (720×576 with 64:45 pixels) came out with square pixels, shown squashed to 5:4."""
    src = tmp_path / "pal.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=128x96:rate=25:duration=0.4", "-vf", "setsar=64/45",
           "-c:v", "libx264", str(src))
    assert sample_aspect(src) == Fraction(64, 45)
    out = tmp_path / "out.mp4"
    bian.restore(src, out, scale=0.5)
    assert sample_aspect(out) == Fraction(64, 45)  # same grid shape: same pixel shape
    squeezed = tmp_path / "out.mov"  # a grid of another shape: pixels stretch to keep the picture 16:9
    bian.restore(src, squeezed, codec="prores", width=64, height=96)
    assert sample_aspect(squeezed) == Fraction(64, 45) * Fraction(128, 64)
    square = tmp_path / "square.mkv"
    bian.restore(src, square, width=182, height=96)  # 128 × 64/45 = 182.0: square pixels need no field
    assert sample_aspect(square) in (None, Fraction(1))


def test_short_clip_cut_in_half_is_refused(tmp_path):
    """A 2 s MP4 with its index at the front (faststart: phones, web downloads) cut in half was restored
    to 1 s without a word: the duration rule allows 1 s of slack, and half of a short clip is less."""
    full = tmp_path / "full.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=160x96:rate=25:duration=2", "-c:v", "libx264", "-movflags", "+faststart",
           str(full))
    src = tmp_path / "cut.mp4"
    src.write_bytes(full.read_bytes()[: full.stat().st_size * 6 // 10])
    before = src.read_bytes()
    result = subprocess.run([sys.executable, "-m", "bian.cli", str(src), "-o", str(tmp_path / "out.mp4")],
                            capture_output=True, text=True)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "truncated" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert src.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cut.mp4", "full.mp4"]


def test_clip_trimmed_by_an_edit_list_is_not_truncated(tmp_path):
    """A clip cut without re-encoding (`ffmpeg -ss … -c copy`, a phone's trim) keeps the frames before the cut
    in the file, hidden by an edit list: its stated frame count is twice what plays, and must not read as a
    truncation."""
    full = tmp_path / "full.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=160x96:rate=25:duration=2", "-c:v", "libx264", "-g", "50", str(full))
    trimmed = tmp_path / "trimmed.mp4"
    ffmpeg("-ss", "1", "-i", str(full), "-c", "copy", str(trimmed))
    with av.open(str(trimmed)) as c:
        assert c.streams.video[0].frames > 40  # the hidden lead-in is still counted
    summary = bian.restore(trimmed, tmp_path / "out.mp4")
    assert summary["frames_out"] == 25


def srgb_profile() -> bytes:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def test_float_tiff_scan_is_not_black(tmp_path):
    """A 32-bit float TIFF (scanner / HDR software output, 0…1) came out all black: Pillow's float → RGB
    conversion clips 0…1 to 0 or 1 of 255."""
    ramp = np.tile(np.linspace(0, 1, 64, dtype=np.float32), (16, 1))
    src = tmp_path / "scan.tif"
    tifffile.imwrite(src, ramp)
    out = tmp_path / "out.tif"
    summary = bian.restore(src, out)
    written = tifffile.imread(out)
    assert written.dtype == np.uint16 and written.shape == ramp.shape
    assert np.abs(written.astype(np.float64) - ramp * 65535).max() <= 1
    assert any("float" in note for note in summary["notes_output"])


def test_sixteen_bit_keeps_colour_profile_and_resolution(tmp_path):
    """A 48-bit archive scan with its colour profile (Adobe RGB, ProPhoto …) and 600 dpi lost both: OpenCV,
    which wrote every 16-bit file, writes neither, so colour-managed viewers showed other colours."""
    rng = np.random.default_rng(1)
    pixels = rng.integers(0, 65536, (24, 32, 3), dtype=np.uint16)
    icc = srgb_profile()
    src = tmp_path / "scan.tif"
    tifffile.imwrite(src, pixels, photometric="rgb", iccprofile=icc, resolution=(600, 600), resolutionunit="inch")
    for suffix in (".tif", ".png"):
        out = tmp_path / f"out{suffix}"
        bian.restore(src, out)
        with Image.open(out) as img:
            assert img.info.get("icc_profile") == icc
            assert np.allclose(img.info.get("dpi"), (600, 600), atol=0.1)
        assert np.array_equal(cv2.imread(str(out), cv2.IMREAD_UNCHANGED)[..., ::-1], pixels)


def test_cmyk_profile_is_not_put_on_rgb_pixels(tmp_path):
    """A CMYK JPEG's profile was written into the RGB output, so colour-managed viewers read RGB numbers
    as ink amounts."""
    cmyk_icc = srgb_profile()
    cmyk_icc = cmyk_icc[:16] + b"CMYK" + cmyk_icc[20:]  # the header's colour-space field is what matters here
    src = tmp_path / "print.jpg"
    Image.new("CMYK", (32, 24), (0, 80, 160, 10)).save(src, icc_profile=cmyk_icc)
    out = tmp_path / "out.jpg"
    summary = bian.restore(src, out)
    with Image.open(out) as img:
        assert img.mode == "RGB" and "icc_profile" not in img.info
    assert any("CMYK colour profile" in note for note in summary["notes_output"])


def test_multi_page_tiff_says_only_the_first_page_is_restored(tmp_path):
    src = tmp_path / "album.tif"
    pages = [Image.new("RGB", (16, 12), colour) for colour in ((200, 10, 10), (10, 200, 10), (10, 10, 200))]
    pages[0].save(src, save_all=True, append_images=pages[1:])
    out = tmp_path / "out.tif"
    summary = bian.restore(src, out)
    assert any("3 pages" in note for note in summary["notes_output"])
    with Image.open(out) as img:
        assert getattr(img, "n_frames", 1) == 1 and img.getpixel((5, 5)) == (200, 10, 10)


def test_unreadable_input_says_permissions(tmp_path):
    """An input without read permission was reported as 'corrupt or not a video' / 'not a valid picture'."""
    command = [sys.executable, "-m", "bian.cli"]
    if os.geteuid() == 0:  # root reads anything unless it gives up the capability to
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("running as root without setpriv: a file cannot be made unreadable")
        drop = "-dac_override,-dac_read_search"
        command = [setpriv, f"--inh-caps={drop}", f"--bounding-set={drop}", *command]
    for name in ("film.mkv", "photo.png"):
        src = tmp_path / name
        if name.endswith(".png"):
            Image.new("RGB", (8, 8)).save(src)
        else:
            ffmpeg("-f", "lavfi", "-i", "testsrc2=size=64x48:rate=25:duration=0.2", "-c:v", "ffv1", str(src))
        src.chmod(0)
        result = subprocess.run([*command, str(src), "-o", str(tmp_path / f"out_{name}")], capture_output=True,
                                text=True)
        src.chmod(0o644)
        assert result.returncode == 2 and "Traceback" not in result.stderr
        assert result.stderr.strip() == f"bian: error: input is not readable: {src} (check its permissions)"
        assert not (tmp_path / f"out_{name}").exists()


def test_interlaced_capture_is_named(tmp_path):
    """A DV/VHS/TV capture (two fields per frame) went through the stages as whole frames without a word; the
    plan now names it and deinterlaces it (tests/test_deinterlace.py, flagged or not); the same motion coded
    progressive is not named (the plan's look sees no combing in it)."""
    src, plain = tmp_path / "capture.mp4", tmp_path / "plain.mp4"
    motion = "testsrc2=size=160x96:rate=50:duration=0.2"
    ffmpeg("-f", "lavfi", "-i", motion, "-vf", "tinterlace=mode=interleave_top,setfield=tff", "-c:v", "libx264",
           "-flags", "+ildct+ilme", "-x264opts", "tff=1", str(src))
    ffmpeg("-f", "lavfi", "-i", motion, "-c:v", "libx264", str(plain))
    assert probe_video(src).interlaced and not probe_video(plain).interlaced
    notes = bian.restore(src, tmp_path / "out.mp4")["notes"]
    assert any("interlaced" in note for note in notes)
    assert not any("interlaced" in note for note in bian.restore(plain, tmp_path / "out2.mp4")["notes"])


def colour_tags(path):
    """Pixel format, matrix and range of the first picture, as a player sees them."""
    with av.open(str(path)) as c:
        frame = next(c.decode(video=0))
        return frame.format.name, int(frame.colorspace), int(frame.color_range)


def test_rgb_master_into_yuv_names_its_matrix(tmp_path):
    """An RGB archival master (FFV1 gbrp, from TIFF/DPX scans) became YUV without a matrix tag (and full range):
    players guess BT.709 for HD sizes while it was made with BT.601, shifting every colour."""
    src = tmp_path / "master.mkv"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=160x96:rate=25:duration=0.2", "-c:v", "ffv1", "-pix_fmt", "gbrp",
           str(src))
    out = tmp_path / "out.mp4"
    bian.restore(src, out)
    assert colour_tags(out) == ("yuv420p", 1, 1)  # BT.709, limited range, said in the stream
    with av.open(str(src)) as a, av.open(str(out)) as b:
        before = np.mean([f.to_ndarray(format="rgb24") for f in a.decode(video=0)], axis=(0, 1, 2))
        after = np.mean([f.to_ndarray(format="rgb24") for f in b.decode(video=0)], axis=(0, 1, 2))
    assert np.abs(after - before).max() < 1.0  # decoded by its tags, the colours are the master's


def test_rgb_output_is_not_tagged_limited_range(tmp_path):
    """Lossless FFV1 output (RGB) carried the YUV source's 'tv' range tag; players that honour it on RGB
    stretch the contrast."""
    src = tmp_path / "tv.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=160x96:rate=25:duration=0.2", "-c:v", "libx264", "-color_range", "tv",
           "-colorspace", "bt709", str(src))
    assert colour_tags(src)[2] == 1
    out = tmp_path / "out.mkv"
    bian.restore(src, out, codec="ffv1")
    pix_fmt, _, value_range = colour_tags(out)
    assert pix_fmt == "bgr0" and value_range == 2


def stream_starts(path):
    """Earliest packet time of the video and of the audio stream, in seconds."""
    starts = []
    for kind in ("video", "audio"):
        with av.open(str(path)) as c:
            starts.append(min(float(p.pts * p.time_base) for p in c.demux(**{kind: 0}) if p.size))
    return tuple(starts)


def test_transport_stream_clock_starts_at_zero(tmp_path):
    """A camcorder .mts / broadcast .ts starts its clock at 1.4 s or anywhere: copied as it was, the MP4 played
    1.4 s of nothing before the film (ffprobe: start 1.46, duration 3.5 s for a 2 s clip)."""
    src = tmp_path / "cam.mts"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=160x96:rate=25:duration=1", "-f", "lavfi", "-i",
           "sine=frequency=440:sample_rate=48000:duration=1", "-c:v", "libx264", "-c:a", "aac", "-f", "mpegts",
           str(src))
    video_in, audio_in = stream_starts(src)
    assert min(video_in, audio_in) > 1  # the muxer's clock offset
    for suffix in (".mp4", ".mkv"):
        out = tmp_path / f"out{suffix}"
        bian.restore(src, out)
        video_out, audio_out = stream_starts(out)
        assert abs(min(video_out, audio_out)) < 0.03  # AAC priming may put sound a frame before zero
        assert abs((video_out - audio_out) - (video_in - audio_in)) < 0.002  # in sync as in the source
        with av.open(str(out)) as c:
            assert c.duration / av.time_base < 1.1


def test_video_alpha_is_said_to_be_dropped(tmp_path):
    """ProRes 4444 with transparency lost it without a word."""
    src = tmp_path / "titles.mov"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=64x48:rate=25:duration=0.2", "-vf", "format=yuva444p10le",
           "-c:v", "prores_ks", "-profile:v", "4444", str(src))
    assert probe_video(src).alpha
    summary = bian.restore(src, tmp_path / "out.mov", codec="prores")
    assert any("transparency" in note for note in summary["notes"])


def test_camera_timecode_is_kept_unless_the_frame_rate_changes(tmp_path):
    """A camera/capture .mov with a start timecode (a tmcd track, and the tag on the video stream) failed at
    the very end ('cannot write the final video … Invalid argument'): MP4/MOV build a timecode track from the
    tag, timed by the copied stream's rate, which was 1/time base = 12800 fps. Then it was dropped from
    MP4/MOV; with the segments' real rate stated it is kept (a drop-frame one at 29.97 fps too), and left out
    with a note only when the frame rate changes."""
    src = tmp_path / "capture.mov"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=64x48:rate=30000/1001:duration=0.4", "-f", "lavfi", "-i",
           "sine=sample_rate=48000:duration=0.4", "-c:v", "libx264", "-c:a", "pcm_s16le", "-timecode", "01:00:00;02",
           str(src))
    for suffix in (".mp4", ".mov", ".mkv"):
        out = tmp_path / f"out{suffix}"
        summary = bian.restore(src, out)
        assert summary["frames_out"] == 12 and not any("timecode" in n for n in summary["notes_output"])
        with av.open(str(out)) as c:
            tags = [{k.lower(): v for k, v in s.metadata.items()} for s in c.streams]
            assert tags[0].get("timecode") == "01:00:00;02"
            assert [s.type for s in c.streams] == ["video", "audio"] + (["data"] * (suffix != ".mkv"))
    summary = bian.restore(src, tmp_path / "fast.mp4", fps=50)
    assert "the source's timecode (01:00:00;02) was not kept: the frame rate changed" in summary["notes_output"]
    with av.open(str(tmp_path / "fast.mp4")) as c:
        assert [s.type for s in c.streams] == ["video", "audio"] and "timecode" not in c.streams.video[0].metadata


def test_matroska_output_states_the_frame_rate(tmp_path):
    """Every .mkv bian wrote said 12800 fps (Matroska's frame duration came from the rate the H.264 stream
    states, 1/time base): players showed it, and restoring the file again planned 12800 frames per second."""
    src = tmp_path / "film.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=64x48:rate=25:duration=0.4", "-c:v", "libx264", str(src))
    out = tmp_path / "out.mkv"
    bian.restore(src, out)
    again = probe_video(out)
    assert again.rate == 25 and again.frames == 10


def test_cover_picture_stays_a_cover_in_matroska(tmp_path):
    """An MP4 with cover art (an attached picture) became an .mkv with a second, one-frame video track."""
    cover = tmp_path / "cover.jpg"
    ffmpeg("-f", "lavfi", "-i", "smptebars=size=32x32", "-frames:v", "1", str(cover))
    src = tmp_path / "with_cover.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=64x48:rate=25:duration=0.4", "-i", str(cover), "-map", "0",
           "-map", "1", "-c:v:0", "libx264", "-c:v:1", "copy", "-disposition:v:1", "attached_pic", str(src))
    for suffix in (".mkv", ".mp4"):
        out = tmp_path / f"out{suffix}"
        assert bian.restore(src, out)["notes_output"] == []
        with av.open(str(out)) as c:
            videos = [s for s in c.streams.video if not s.disposition & av.stream.Disposition.attached_pic]
            covers = [s for s in c.streams.video if s.disposition & av.stream.Disposition.attached_pic]
            assert len(videos) == 1 and len(covers) == 1
            assert bytes(next(p for p in c.demux(covers[0]) if p.size)) == cover.read_bytes()
    with av.open(str(tmp_path / "out.mkv")) as c:  # what mkvmerge and players take for the cover
        assert c.streams.video[1].metadata == {"filename": "cover.jpg", "mimetype": "image/jpeg"}


def test_fonts_attached_to_a_matroska_file_are_kept(tmp_path):
    """Attachments (the fonts of styled ASS subtitles) were left out of an .mkv output with the advice
    'use .mkv to keep it'."""
    font = tmp_path / "font.ttf"
    font.write_bytes(bytes(range(256)) * 8)
    src = tmp_path / "styled.mkv"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=64x48:rate=25:duration=0.4", "-c:v", "libx264", "-attach", str(font),
           "-metadata:s:t", "mimetype=application/x-truetype-font", str(src))
    out = tmp_path / "out.mkv"
    summary = bian.restore(src, out)
    assert summary["notes_output"] == []
    with av.open(str(out)) as c:
        attached = [s for s in c.streams if s.type == "attachment"]
        assert len(attached) == 1 and attached[0].name == "font.ttf" and bytes(attached[0].data) == font.read_bytes()


def test_old_camera_adpcm_into_mkv_is_not_told_to_use_mkv(tmp_path):
    """A 2000s digital-camera AVI (MJPEG + IMA ADPCM) into .mkv: the sound is re-encoded (Matroska takes no
    ADPCM) and the note advised 'use .mkv to keep it untouched'."""
    src = tmp_path / "camera.avi"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=64x48:rate=25:duration=0.4", "-f", "lavfi", "-i",
           "sine=sample_rate=22050:duration=0.4", "-c:v", "mjpeg", "-c:a", "adpcm_ima_wav", str(src))
    notes = bian.restore(src, tmp_path / "out.mkv")["notes_output"]
    assert len(notes) == 1 and "re-encoded to AAC" in notes[0] and ".mkv" not in notes[0]
    with av.open(str(tmp_path / "out.mkv")) as c:
        assert [s.codec_context.name for s in c.streams.audio] == ["aac"]


def test_jpeg2000_and_avif_photos_are_photos(tmp_path):
    """A JPEG 2000 archive scan or an AVIF phone photo was taken for a video ('a video input needs a video
    output'). Both now restore like any photo, in their own format; a 16-bit JPEG 2000 scan read exactly."""
    rng = np.random.default_rng(2)
    colour = Image.fromarray(rng.integers(0, 256, (24, 32, 3), dtype=np.uint8))
    for suffix in (".jp2", ".avif"):
        src = tmp_path / f"scan{suffix}"
        colour.save(src)
        out = tmp_path / f"out{suffix}"
        summary = bian.restore(src, out, scale=2)
        assert summary["kind"] == "image"
        with Image.open(out) as img:
            assert img.format == {".jp2": "JPEG2000", ".avif": "AVIF"}[suffix] and img.size == (64, 48)
    grey16 = rng.integers(0, 65536, (24, 32), dtype=np.uint16)
    src = tmp_path / "grey16.jp2"
    Image.fromarray(grey16).save(src)
    out = tmp_path / "grey16.png"
    bian.restore(src, out)
    assert np.array_equal(cv2.imread(str(out), cv2.IMREAD_UNCHANGED), grey16)


def test_sixteen_bit_grey_film_stays_grey_in_ten_bits(tmp_path):
    """A 16-bit grey scan (FFV1 gray16le, full range) into 10-bit H.264 came back green-tinted (R−G −0.6 of
    an 8-bit level): FFmpeg's RGB → full-range YUV at 10 bits rounds grey's chroma down."""
    src = tmp_path / "scan.mkv"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=160x96:rate=25:duration=0.2", "-vf", "format=gray16le",
           "-c:v", "ffv1", str(src))
    out = tmp_path / "out.mkv"
    bian.restore(src, out)
    with av.open(str(out)) as c:
        frames = [f.to_ndarray(format="rgb48le").astype(np.float64) / 257 for f in c.decode(video=0)]
        assert c.streams.video[0].codec_context.pix_fmt == "yuv420p10le"
    rgb = np.stack(frames)
    assert np.abs(rgb[..., 0] - rgb[..., 1]).mean() < 0.1 and np.abs(rgb[..., 2] - rgb[..., 1]).mean() < 0.1


def test_a_capture_that_changes_picture_size_is_refused_naming_the_frame(tmp_path):
    """Broadcast captures switch format mid-stream (two MPEG-TS programmes one after the other)."""
    parts = []
    for name, size in (("a.ts", "160x96"), ("b.ts", "128x96")):
        ffmpeg("-f", "lavfi", "-i", f"testsrc2=size={size}:rate=25:duration=0.4", "-c:v", "libx264",
               str(tmp_path / name))
        parts.append((tmp_path / name).read_bytes())
    src = tmp_path / "capture.ts"
    src.write_bytes(b"".join(parts))
    done = subprocess.run([sys.executable, "-m", "bian.cli", "restore", str(src), "-o", str(tmp_path / "out.mp4")],
                          capture_output=True, text=True)
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and len(lines) == 1 and "Traceback" not in done.stderr
    assert "the picture size changes at frame 10 (128×96, the first is 160×96)" in lines[0]
    assert not list(tmp_path.glob("out*"))


def test_one_bit_scan_lines_are_not_taken_for_cracks(tmp_path):
    """A 1-bit scan (line art, a printed halftone, a fax) was darkened by --scratches (mean 108 → 68 on a
    thresholded photo): the crack detector took its thin white lines for paper showing through a crack."""
    yy, xx = np.mgrid[0:160, 0:192]
    grey = (40 + 120 * xx / 191 + 40 * np.sin(yy / 9.0)).astype(np.uint8)
    grey[::6, 20:170] = 255  # an engraving's hatching: long thin white lines on dark
    grey[30:140, 100::5] = 255
    one_bit = Image.fromarray(grey).convert("1")  # Floyd–Steinberg, as a scanner's 1-bit mode
    for name, picture in (("scan.png", one_bit), ("fax.tif", one_bit), ("grey.png", one_bit.convert("L"))):
        src = tmp_path / name
        picture.save(src)
        out = tmp_path / f"out_{name}"
        summary = bian.restore(src, out, scratches=True)
        assert any("two-level" in note for note in summary["notes"])
        with Image.open(out) as img:
            assert np.array_equal(np.asarray(img.convert("L")), np.asarray(one_bit.convert("L")))


def test_still_gif_is_a_photo_and_an_animated_gif_a_film(tmp_path):
    """A one-frame GIF (an old scan posted on the web) was read as a video: '-o out.png' was refused ('a video
    input needs a video output') and '-o out.mkv' made a one-frame film. GIF output was not written at all."""
    yy, xx = np.mgrid[0:40, 0:56]
    grey = (yy * 5 + xx).astype(np.uint8)
    still = tmp_path / "old.gif"
    Image.fromarray(grey).save(still)
    summary = bian.restore(still, tmp_path / "out.png")
    assert summary["kind"] == "image"
    with Image.open(tmp_path / "out.png") as img:
        assert np.array_equal(np.asarray(img.convert("L")), grey)
    summary = bian.restore(still, tmp_path / "out.gif", scale=2)
    assert summary["kind"] == "image" and summary["notes_output"] == []  # grey: exact in 256 levels
    with Image.open(tmp_path / "out.gif") as img:
        assert img.format == "GIF" and img.size == (112, 80) and getattr(img, "n_frames", 1) == 1
    colour = np.stack([xx * 4, yy * 6, np.full_like(grey, 90)], axis=2).astype(np.uint8)
    Image.fromarray(colour).save(still)  # a colour GIF: the restored picture has more colours than GIF holds
    summary = bian.restore(still, tmp_path / "colour.gif", scale=2)
    assert any("256 colours" in note for note in summary["notes_output"])
    films = tmp_path / "films"
    films.mkdir()
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=64x48:rate=10:duration=0.5", str(films / "anim.gif"))
    shutil.copy(tmp_path / "out.gif", films / "still.gif")
    bian.restore(films, tmp_path / "restored")
    assert sorted(p.name for p in (tmp_path / "restored").iterdir() if not p.name.startswith(".")) == \
        ["anim.mkv", "still.gif"]
    with av.open(str(tmp_path / "restored" / "anim.mkv")) as c:
        assert sum(1 for _ in c.decode(video=0)) == 5
    from bian.web.jobs import output_name  # the web page names its result by the upload's content too

    assert output_name("anim.gif", "restore", films / "anim.gif") == "anim_restored.mkv"
    assert output_name("old.gif", "restore", films / "still.gif") == "old_restored.gif"


def test_heic_phone_photo_is_read_upright_with_its_profile(tmp_path):
    """HEIF/HEIC (what phones save when they photograph prints) could not be read at all."""
    pillow_heif = pytest.importorskip("pillow_heif")
    pillow_heif.register_heif_opener()
    yy, xx = np.mgrid[0:48, 0:64]
    rgb = np.stack([xx * 3, yy * 4, (xx + yy) * 2], axis=2).astype(np.uint8)
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    exif = Image.Exif()
    exif[0x0112] = 6  # held sideways: shown turned a quarter clockwise
    src = tmp_path / "IMG_0001.HEIC"
    Image.fromarray(rgb).save(src, format="HEIF", exif=exif.tobytes(), icc_profile=icc, quality=95)
    out = tmp_path / "print.png"
    assert bian.restore(src, out)["kind"] == "image"
    with Image.open(out) as img:
        assert img.size == (48, 64) and img.info.get("icc_profile") == icc
        upright = np.rot90(rgb, -1).astype(int)
        assert np.abs(np.asarray(img.convert("RGB")).astype(int) - upright).mean() < 3
    bian.restore(src, tmp_path / "again.heic", scale=0.5)
    with Image.open(tmp_path / "again.heic") as img:
        assert img.format == "HEIF" and img.size == (24, 32)


def _grey_ramp_10bit(path, h=64, w=96):
    """A 10-bit 4:2:0 film (FFV1, BT.709 limited) of a grey ramp: luma codes 64…940, chroma neutral."""
    from bian.media import yuv

    luma = (64 + np.round(np.linspace(0, 876, w)))[None, :].repeat(h, 0).astype(np.uint16)
    with av.open(str(path), "w") as c:
        s = c.add_stream("ffv1", rate=25)
        s.width, s.height, s.pix_fmt = w, h, "yuv420p10le"
        s.codec_context.colorspace, s.codec_context.color_range = 1, 1
        for i in range(2):
            picture = av.VideoFrame(w, h, "yuv420p10le")
            for plane, value in zip(picture.planes, (luma, 512, 512)):
                yuv._plane(plane)[:] = value
            picture.colorspace, picture.color_range, picture.pts = 1, 1, i
            c.mux(s.encode(picture))
        c.mux(s.encode(None))
    return luma


def test_ten_bit_frames_reach_the_stages_at_their_level(tmp_path):
    """Frames of 10-bit sources (ProRes, DNxHR, HEVC 10) reached the stages half an 8-bit level dark (mean
    −0.49, max −0.98 on a grey ramp): swscale truncates YUV → 16-bit RGB whatever the flags."""
    src = tmp_path / "ramp10.mkv"
    luma = _grey_ramp_10bit(src)
    expected = (luma - 64) / 876
    for frame in VideoReader(probe_video(src)).frames():
        error = (frame.rgb() - expected[..., None]) * 255
        assert abs(error.mean()) < 0.02 and np.abs(error).max() < 0.05


def test_rgb_master_into_ten_bits_is_not_brightened(tmp_path):
    """16-bit RGB → 10-bit YUV through swscale came out about 1.7 codes (0.4 of an 8-bit level) bright, which
    only cancelled the dark decode for frames no stage had touched."""
    from bian.media import yuv

    h, w = 64, 96
    grey = np.linspace(0, 1, w)[None, :].repeat(h, 0)
    src = tmp_path / "master.mkv"
    with av.open(str(src), "w") as c:
        s = c.add_stream("ffv1", rate=25)
        s.width, s.height, s.pix_fmt = w, h, "gbrp16le"
        for i in range(2):
            picture = av.VideoFrame.from_ndarray(np.dstack([np.round(grey * 65535).astype(np.uint16)] * 3),
                                                 format="rgb48le").reformat(format="gbrp16le")
            picture.pts = i
            c.mux(s.encode(picture))
        c.mux(s.encode(None))
    out = tmp_path / "out.mkv"
    bian.restore(src, out, crf=0)
    with av.open(str(out)) as c:
        picture = next(c.decode(video=0))
        assert picture.format.name == "yuv420p10le" and picture.color_range != 2
        luma = yuv._plane(picture.planes[0]).astype(np.float64)
        chroma = yuv._plane(picture.planes[1]).astype(np.float64)
    assert abs((luma - (64 + 876 * grey)).mean()) < 0.4 and np.abs(chroma - 512).max() <= 1


def test_sixteen_bit_cmyk_scan_is_read(tmp_path):
    """A 16-bit CMYK TIFF (prepress scans) was refused as 'corrupt or truncated … re-scan the picture':
    OpenCV cannot decode it. Read through tifffile, converted by Pillow's rule for 8-bit CMYK."""
    ink = np.random.default_rng(3).integers(0, 65536, (24, 32, 4), dtype=np.uint16)
    src = tmp_path / "press.tif"
    tifffile.imwrite(src, ink, photometric="separated")
    out = tmp_path / "out.png"
    bian.restore(src, out)
    rgb = cv2.imread(str(out), cv2.IMREAD_UNCHANGED)[..., ::-1].astype(np.float64)
    amount = ink.astype(np.float64) / 65535
    assert np.abs(rgb - (1 - amount[..., :3]) * (1 - amount[..., 3:]) * 65535).max() <= 1


def test_animated_webp_says_only_its_first_frame_is_restored(tmp_path):
    """An animated WebP (FFmpeg cannot decode it) is restored as its first picture; the note spoke of pages."""
    frames = [Image.fromarray(np.full((16, 24, 3), v, np.uint8)) for v in (40, 120, 200)]
    src = tmp_path / "anim.webp"
    frames[0].save(src, save_all=True, append_images=frames[1:], duration=100, lossless=True)
    summary = bian.restore(src, tmp_path / "first.png")
    assert summary["notes_output"] == ["the source has 3 frames (it is animated): only the first was restored"]
    with Image.open(tmp_path / "first.png") as img:
        assert np.asarray(img.convert("L")).mean() == pytest.approx(40, abs=1)


def test_pcm_sound_into_mp4_is_named(tmp_path):
    """24-bit PCM (capture cards, MXF archive masters) copied into .mp4 is stored as ISO 'ipcm', which
    FFmpeg 5.1 reads as 16-bit noise: the samples are kept exactly, and the run now says so (not for 16-bit
    PCM, which it reads right)."""
    src = tmp_path / "capture.mov"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=64x48:rate=25:duration=0.4", "-f", "lavfi", "-i",
           "sine=sample_rate=48000:duration=0.4", "-c:v", "libx264", "-c:a", "pcm_s24le", str(src))

    def samples(path):
        with av.open(str(path)) as c:
            return np.concatenate([f.to_ndarray().ravel() for f in c.decode(audio=0)])

    for suffix, noted in ((".mp4", True), (".mov", False), (".mkv", False)):
        out = tmp_path / f"out{suffix}"
        notes = bian.restore(src, out)["notes_output"]
        assert any("kept as PCM in .mp4" in n for n in notes) == noted
        assert np.array_equal(samples(out), samples(src))


def test_hdr10_metadata_is_kept_by_h265_and_named_otherwise(tmp_path):
    """An HDR10 video (phones, HDR camcorders: PQ, BT.2020, mastering display and light levels) lost its
    static metadata: HDR displays then tone-map by their defaults. h265 output now carries it; h264 says not."""
    master = "G(13250,34500)B(7500,3000)R(34000,16000)WP(15635,16450)L(10000000,1)"
    src = tmp_path / "hdr10.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=160x96:rate=25:duration=0.2", "-c:v", "libx265", "-pix_fmt",
           "yuv420p10le", "-color_primaries", "bt2020", "-color_trc", "smpte2084", "-colorspace", "bt2020nc",
           "-x265-params", f"log-level=error:hdr10=1:master-display={master}:max-cll=1000,400", str(src))
    assert probe_video(src).hdr10 == {"master-display": master, "max-cll": "1000,400"}
    kept = tmp_path / "kept.mkv"
    assert bian.restore(src, kept, codec="h265")["notes"] == []
    assert probe_video(kept).hdr10 == {"master-display": master, "max-cll": "1000,400"}
    summary = bian.restore(src, tmp_path / "plain.mp4")
    assert any("HDR10 metadata" in note and "--codec h265" in note for note in summary["notes"])
    with av.open(str(tmp_path / "plain.mp4")) as c:
        assert c.streams.video[0].codec_context.color_trc == 16  # PQ stays tagged either way
