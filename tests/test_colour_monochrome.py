"""Monochrome or colour of its own (bian.colour.monochrome), and --colorize leaving a colour photo alone."""
import json

import cv2
import numpy as np
from PIL import Image

from bian import cli
from bian.colour.monochrome import has_own_colour


def _scene(seed=0, size=(96, 128)):
    rng = np.random.default_rng(seed)
    grey = cv2.GaussianBlur(rng.random(size).astype(np.float32), (0, 0), 6)
    return (grey - grey.min()) / (grey.max() - grey.min()) * 0.8 + 0.1


def test_grey_and_toned_pictures_are_monochrome():
    grey = _scene()
    assert not has_own_colour(np.repeat(grey[..., None], 3, axis=2))
    # sepia: each grey level has its one warm tint, stronger in the mid-tones
    tint = np.array([0.12, 0.02, -0.12], np.float32) * (grey * (1 - grey))[..., None] * 4
    assert not has_own_colour(np.clip(grey[..., None] + tint, 0, 1))
    # a blue cast from the scanner
    assert not has_own_colour(np.clip(grey[..., None] + np.array([-0.01, 0.0, 0.03], np.float32), 0, 1))


def test_a_picture_with_colours_of_its_own_is_told_apart():
    grey = _scene(1)
    hue = _scene(2) * 2 * np.pi  # hue wanders across the picture, independent of the lightness
    chroma = 0.15 * np.stack([np.cos(hue), np.cos(hue - 2.1), np.cos(hue + 2.1)], axis=2)
    assert has_own_colour(np.clip(grey[..., None] + chroma, 0, 1).astype(np.float32))


def test_colorize_leaves_a_colour_photo_as_it_is(tmp_path, capsys):
    grey = _scene(3)
    hue = _scene(4) * 2 * np.pi
    rgb = np.clip(grey[..., None] + 0.15 * np.stack([np.cos(hue), np.cos(hue - 2.1), np.cos(hue + 2.1)], axis=2), 0, 1)
    src, out = tmp_path / "autochrome.png", tmp_path / "out.png"
    Image.fromarray((rgb * 255 + 0.5).astype(np.uint8)).save(src)
    assert cli.main(["restore", str(src), "-o", str(out), "--colorize", "-q"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["stages"] == [] and any("colour of its own" in n for n in summary["notes"])
    assert np.array_equal(np.asarray(Image.open(out)), np.asarray(Image.open(src)))
    # the same picture made grey is coloured
    Image.fromarray((grey * 255 + 0.5).astype(np.uint8)).save(src)
    assert cli.main(["restore", str(src), "-o", str(out), "--colorize", "-q"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert [s["name"] for s in summary["stages"]] == ["colourise"]


def test_colorize_leaves_a_colour_film_as_it_is(tmp_path):
    import bian
    from media_factory import ffmpeg

    colour, grey = tmp_path / "colour.mp4", tmp_path / "grey.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=128x96:rate=25:duration=1", "-c:v", "libx264", "-crf", "12", str(colour))
    ffmpeg("-i", str(colour), "-vf", "format=gray,format=yuv420p", "-c:v", "libx264", "-crf", "12", str(grey))
    summary = bian.restore(colour, tmp_path / "out.mp4", colorize=True)
    assert summary["stages"] == [] and any("colour of its own" in n for n in summary["notes"])
    summary = bian.restore(grey, tmp_path / "out2.mp4", colorize=True)
    assert [s["name"] for s in summary["stages"]] == ["colourise"]
