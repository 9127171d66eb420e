"""bian.media.yuv: YUV ⇄ RGB for pictures of more than 8 bits, against the standard formulas."""
import av
import numpy as np
import pytest

from bian.media import yuv


def _sited_picture(fmt, colorspace, color_range, h=48, w=80):
    """A picture whose planes are linear in x and y with integer values at every pixel, chroma sampled
    where MPEG places it (left column of each pair, between the two rows of 4:2:0); and Y, U, V at every
    pixel, which linear interpolation between the sites gives exactly."""
    bits, sx, sy = yuv._layout(fmt)
    k = 1 << (bits - 8)
    fy = lambda x, y: (70 + x + y) * k  # noqa: E731
    fu = lambda x, y: (128 + (x - w / 2) / 2) * k  # noqa: E731  (x even at the sites: whole codes)
    fv = lambda x, y: (128 + (y - 0.5 - h / 2) / 2) * k if sy == 2 else (128 + (y - h / 2) / 2) * k  # noqa: E731
    y, x = np.mgrid[0:h, 0:w].astype(float)
    cy, cx = np.mgrid[0:h // sy, 0:w // sx].astype(float)
    site = (cx * sx, cy * sy + (0.5 if sy == 2 else 0.0))
    picture = av.VideoFrame(w, h, fmt)
    for plane, values in zip(picture.planes, (fy(x, y), fu(*site), fv(*site))):
        yuv._plane(plane)[:] = np.round(values).astype(np.uint16)
    picture.colorspace, picture.color_range = colorspace, color_range
    return picture, np.stack([fy(x, y), fu(x, y), fv(x, y)], axis=2), bits


@pytest.mark.parametrize("fmt,colorspace,color_range", [
    ("yuv420p10le", 1, 1), ("yuv420p10le", 5, 1), ("yuv420p10le", 1, 2), ("yuv422p10le", 9, 1),
    ("yuv444p12le", 1, 1), ("yuv420p16le", 2, 1)])
def test_decode_matches_the_standard_conversion(fmt, colorspace, color_range):
    picture, exact, bits = _sited_picture(fmt, colorspace, color_range)
    matrix = yuv.yuv_matrix(colorspace, color_range == 2, bits)
    expected = exact @ matrix[:, :3].T + matrix[:, 3]
    assert 0 < expected.min() and expected.max() < 65535
    error = (yuv.to_rgb48(picture).astype(np.float64) - expected)[2:-2, 2:-2] / 257  # in 8-bit levels
    assert np.abs(error).max() < 0.01


def test_standard_colours():
    """BT.709 black and white, BT.601 red (8-bit Y 81.5, Cb 90.3, Cr 240) and full-range grey."""
    picture = av.VideoFrame(4, 2, "yuv444p10le")
    for plane, value in zip(picture.planes, ([64, 64, 940, 940], 512, 512)):
        yuv._plane(plane)[:] = value
    picture.colorspace, picture.color_range = 1, 1
    assert yuv.to_rgb48(picture)[0].tolist() == [[0] * 3, [0] * 3, [65535] * 3, [65535] * 3]
    for plane, value in zip(picture.planes, (326, 361, 960)):
        yuv._plane(plane)[:] = value
    picture.colorspace = 5
    assert np.abs(yuv.to_rgb48(picture)[0, 0].astype(int) - [65535, 0, 0]).max() < 100
    full = yuv.from_rgb(np.full((2, 4, 3), 32768, np.uint16), "yuv420p10le", 1, 2)
    assert [yuv._plane(p).tolist() for p in full.planes] == [[[512] * 4] * 2, [[512] * 2], [[512] * 2]]


@pytest.mark.parametrize("fmt", ["yuv420p10le", "yuv422p10le", "yuv444p12le", "yuva444p10le"])
def test_round_trip_keeps_the_level(fmt):
    h, w = 48, 80
    y, x = np.mgrid[0:h, 0:w] / np.array([h, w])[:, None, None]
    rgb = np.round(np.stack([0.3 + 0.4 * x, 0.5 + 0.2 * y, 0.4 + 0.2 * np.sin(3 * x)], axis=2) * 65535).astype(np.uint16)
    picture = yuv.from_rgb(rgb, fmt, 1, 1)
    assert picture.format.name == fmt and (picture.colorspace, picture.color_range) == (1, 1)
    error = (yuv.to_rgb48(picture).astype(np.float64) - rgb)[2:-2, 2:-2] / 257
    assert np.abs(error.mean(axis=(0, 1))).max() < 0.05 and np.abs(error).max() < 1.0


def test_other_formats_are_left_to_the_caller():
    assert yuv.to_rgb48(av.VideoFrame(8, 8, "yuv420p")) is None
    assert yuv.to_rgb48(av.VideoFrame(8, 8, "gray16le")) is None
    assert yuv.from_rgb(np.zeros((8, 8, 3), np.uint16), "gbrp10le", 1, 1) is None


def test_decode_agrees_with_zimg(tmp_path):
    """An independent implementation: FFmpeg's zscale (zimg), told the standard chroma siting, on a picture
    full of sharp colour edges (where a misplaced chroma sample shows at once)."""
    from media_factory import ffmpeg

    src = tmp_path / "bars.mkv"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=160x96:rate=25:duration=0.04", "-frames:v", "1", "-c:v", "ffv1",
           "-pix_fmt", "yuv420p10le", "-color_range", "tv", "-colorspace", "bt709", str(src))
    raw = tmp_path / "zimg.rgb"
    try:
        ffmpeg("-i", str(src), "-vf", "zscale=matrixin=709:rangein=limited:transferin=709:primariesin=709:"
               "chromalin=left:matrix=gbr:transfer=709:primaries=709:filter=bilinear,format=gbrp16le",
               "-pix_fmt", "rgb48le", "-f", "rawvideo", str(raw))
    except Exception:  # noqa: BLE001  (an FFmpeg built without zimg)
        pytest.skip("the ffmpeg CLI has no zscale filter")
    zimg = np.fromfile(raw, np.uint16).reshape(96, 160, 3).astype(np.float64)
    with av.open(str(src)) as c:
        picture = next(c.decode(video=0))
    ours = yuv.to_rgb48(picture).astype(np.float64)
    assert np.abs(ours - zimg).mean() < 8 and np.abs(ours - zimg).max() < 300  # of 65535


def test_full_range_eight_bit_from_flat_colours():
    """RGB into full-range 8-bit YUV, read back by the formula: unbiased inside flat patches."""
    blocks = np.random.default_rng(1).integers(20, 236, (6, 10, 3)).astype(np.uint8)
    rgb = np.repeat(np.repeat(blocks, 16, 0), 16, 1)
    inner = np.zeros(rgb.shape[:2], bool)
    inner[np.add.outer(np.arange(6) * 16, np.arange(4, 12)).ravel()[:, None],
          np.add.outer(np.arange(10) * 16, np.arange(4, 12)).ravel()[None, :]] = True
    picture = yuv.from_rgb(rgb, "yuv420p", 5, 2)
    y, u, v = (yuv._plane(p, np.uint8).astype(np.float64) for p in picture.planes)
    u, v = (np.repeat(np.repeat(c, 2, 0), 2, 1) for c in (u, v))
    matrix = yuv.yuv_matrix(5, True, 8)
    error = ((np.stack([y, u, v], axis=2) @ matrix[:, :3].T + matrix[:, 3]) / 257 - rgb)[inner]
    assert np.abs(error.mean(axis=0)).max() < 0.05 and np.abs(error).max() < 1.5
    with pytest.raises(ValueError):
        yuv.from_rgb(rgb.astype(np.uint16), "yuv420p", 5, 2)
