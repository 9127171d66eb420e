"""Images keep their format, bit depth, alpha and greyness; EXIF orientation is applied; folders mirror
their names."""
import json

import cv2
import numpy as np
import pytest
from PIL import Image

import bian
from bian.media.images import read_image


def gradient(h=37, w=53):
    y, x = np.mgrid[0:h, 0:w]
    return np.stack([x / (w - 1), y / (h - 1), (x + y) / (w + h - 2)], axis=2)


@pytest.mark.parametrize("suffix", [".png", ".jpg", ".tif", ".webp", ".bmp"])
def test_eight_bit_rgb_round_trip(tmp_path, suffix):
    rgb = (gradient() * 255).round().astype(np.uint8)
    src = tmp_path / f"in{suffix}"
    Image.fromarray(rgb).save(src, quality=98) if suffix in (".jpg", ".webp") else Image.fromarray(rgb).save(src)
    out = tmp_path / f"out{suffix}"
    bian.restore(src, out)
    with Image.open(out) as img, Image.open(src) as ref:
        assert img.format == ref.format and img.mode == "RGB" and img.size == (53, 37)
        error = np.abs(np.asarray(img).astype(int) - np.asarray(ref).astype(int))
        if suffix in (".png", ".tif", ".bmp"):
            assert error.max() == 0
        else:  # re-encoded lossy formats: close, not equal
            assert error.mean() < 3


def test_sixteen_bit_colour_png_stays_sixteen_bit(tmp_path):
    rgb16 = (gradient() * 65535).round().astype(np.uint16)
    src = tmp_path / "in.png"
    cv2.imwrite(str(src), rgb16[..., ::-1])
    out = tmp_path / "out.png"
    bian.restore(src, out, scale=2)
    back = cv2.imread(str(out), cv2.IMREAD_UNCHANGED)[..., ::-1]
    assert back.dtype == np.uint16 and back.shape == (74, 106, 3)
    # a smooth 16-bit ramp keeps values between the 8-bit steps
    assert np.count_nonzero(back % 257) > 0.5 * back.size


def test_sixteen_bit_grey_tiff(tmp_path):
    grey = (gradient()[..., 0] * 65535).astype(np.uint16)
    src = tmp_path / "in.tif"
    cv2.imwrite(str(src), grey)
    out = tmp_path / "out.tif"
    bian.restore(src, out)
    back = cv2.imread(str(out), cv2.IMREAD_UNCHANGED)
    assert back.dtype == np.uint16 and back.ndim == 2
    np.testing.assert_array_equal(back, grey)


def test_grey_alpha_palette_and_cmyk(tmp_path):
    base = (gradient() * 255).astype(np.uint8)
    src = tmp_path / "in"
    src.mkdir()
    Image.fromarray(base[..., 0]).save(src / "grey.png")
    rgba = np.dstack([base, (base[..., 1] // 2 + 100)])
    Image.fromarray(rgba, "RGBA").save(src / "alpha.png")
    Image.fromarray(base).convert("P", palette=Image.ADAPTIVE, colors=16).save(src / "palette.png")
    Image.fromarray(base).convert("CMYK").save(src / "cmyk.jpg", quality=95)
    out = tmp_path / "out"
    summary = bian.restore(src, out)
    assert {item["output"].rsplit("/", 1)[1] for item in summary["items"]} == {
        "grey.png", "alpha.png", "palette.png", "cmyk.jpg"}
    assert Image.open(out / "grey.png").mode == "L"
    np.testing.assert_array_equal(np.asarray(Image.open(out / "grey.png")), base[..., 0])
    with Image.open(out / "alpha.png") as img:
        assert img.mode == "RGBA"
        np.testing.assert_array_equal(np.asarray(img), rgba)
    with Image.open(out / "palette.png") as img:
        np.testing.assert_array_equal(np.asarray(img.convert("RGB")),
                                      np.asarray(Image.open(src / "palette.png").convert("RGB")))
    with Image.open(out / "cmyk.jpg") as img:
        assert img.format == "JPEG" and img.mode == "RGB"


def test_exif_orientation_is_applied(tmp_path):
    rgb = (gradient(20, 40) * 255).astype(np.uint8)
    img = Image.fromarray(rgb)
    exif = img.getexif()
    exif[0x0112] = 6  # stored sideways: rotate 90° clockwise to view
    src = tmp_path / "sideways.jpg"
    img.save(src, exif=exif, quality=98)
    frame, info = read_image(src)
    assert frame.image.shape[:2] == (40, 20)
    out = tmp_path / "upright.jpg"
    bian.restore(src, out)
    with Image.open(out) as result:
        assert result.size == (20, 40)
        assert result.getexif().get(0x0112, 1) == 1
        expected = np.rot90(rgb, -1)
        assert np.abs(np.asarray(result).astype(int) - expected).mean() < 4


def test_folder_mirrors_names_and_skips_finished_items(tmp_path):
    src = tmp_path / "box"
    (src / "album" / "page2").mkdir(parents=True)
    for name in ("album/a.png", "album/page2/b.jpg", "c.bmp"):
        Image.fromarray((gradient() * 255).astype(np.uint8)).save(src / name)
    (src / "notes.txt").write_text("not a picture")
    out = tmp_path / "restored"
    first = bian.restore(src, out, width=20)
    assert len(first["items"]) == 3
    for name in ("album/a.png", "album/page2/b.jpg", "c.bmp"):
        assert Image.open(out / name).size[0] == 20
    second = bian.restore(src, out, width=20)
    assert all(item.get("skipped") for item in second["items"])
    third = bian.restore(src, out, width=24)  # new options: redone
    assert not any(item.get("skipped") for item in third["items"])
    assert json.loads((out / ".bian-batch.json").read_text())


def test_folder_reports_bad_items_and_continues(tmp_path, capsys):
    from bian.cli import main
    src = tmp_path / "box"
    src.mkdir()
    Image.fromarray((gradient() * 255).astype(np.uint8)).save(src / "good.png")
    (src / "bad.png").write_text("broken")
    code = main([str(src), "-o", str(tmp_path / "out"), "-q"])
    err = capsys.readouterr().err
    assert code != 0 and "bad.png" in err and "Traceback" not in err
    assert (tmp_path / "out" / "good.png").exists() and not (tmp_path / "out" / "bad.png").exists()
