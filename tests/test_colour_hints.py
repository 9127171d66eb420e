"""Hint files: JSON points and strokes, sparse colour images, clear one-line errors for bad files."""
import json

import numpy as np
import pytest
from PIL import Image

from bian.colour.hints import read_hints
from bian.errors import InputError


def _write(tmp_path, data, name="hints.json"):
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return path


def test_points_and_strokes_are_drawn_where_they_were_put(tmp_path):
    path = _write(tmp_path, [
        {"x": 10, "y": 5, "colour": "#ff0000"},
        {"points": [[0, 30], [39, 30]], "color": [0, 0, 255], "width": 3},
        {"x": 20, "y": 20, "colour": "#00ff00", "frame": 7},
    ])
    hints = read_hints(path)
    assert hints.frames() == [0, 7]
    rgb, mask = hints.rasterise(0, (40, 40), (40, 40))
    assert mask[5, 10] and tuple(rgb[5, 10]) == (1.0, 0.0, 0.0)
    assert mask[29:32, 0:40].all() and not mask[33].any()
    assert tuple(rgb[30, 20]) == (0.0, 0.0, 1.0)
    assert mask.sum() == 1 + 3 * 40
    rgb7, mask7 = hints.rasterise(7, (40, 40), (40, 40))
    assert mask7.sum() == 1 and mask7[20, 20] and rgb7[20, 20, 1] == 1.0


def test_coordinates_scale_to_the_working_size_and_to_a_declared_size(tmp_path):
    hints = read_hints(_write(tmp_path, [{"x": 400, "y": 100, "colour": "#808000"}]))
    _, mask = hints.rasterise(0, (50, 100), (200, 400 + 400))  # source 800×200 shown at 100×50
    assert np.argwhere(mask).tolist() == [[25, 50]]
    hints = read_hints(_write(tmp_path, {"size": [80, 20], "hints": [{"x": 40, "y": 10, "colour": "#808000"}]}))
    _, mask = hints.rasterise(0, (50, 100), (999, 999))
    assert np.argwhere(mask).tolist() == [[25, 50]]
    wide = read_hints(_write(tmp_path, [{"x": 50, "y": 25, "colour": "#808000", "width": 5}]))
    _, mask = wide.rasterise(0, (50, 100), (50, 100))
    assert mask.sum() == 21 and mask[25, 48] and not mask[25, 47]  # a disc of radius 2.5


def test_a_painted_picture_gives_its_coloured_pixels(tmp_path):
    grey = np.full((30, 40, 3), 120, np.uint8)
    grey[10, 5] = (200, 40, 40)     # painted
    grey[20, 30] = (121, 120, 119)  # JPEG-like wobble, not a hint
    Image.fromarray(grey).save(tmp_path / "paint.png")
    hints = read_hints(tmp_path / "paint.png")
    rgb, mask = hints.rasterise(0, (30, 40), (30, 40))
    assert np.argwhere(mask).tolist() == [[10, 5]]
    assert rgb[10, 5] == pytest.approx((200 / 255, 40 / 255, 40 / 255))


def test_transparency_marks_hints_including_neutral_ones(tmp_path):
    rgba = np.zeros((10, 10, 4), np.uint8)
    rgba[3, 4] = (128, 128, 128, 255)  # "keep this grey"
    Image.fromarray(rgba).save(tmp_path / "alpha.png")
    _, mask = read_hints(tmp_path / "alpha.png").rasterise(0, (10, 10), (10, 10))
    assert np.argwhere(mask).tolist() == [[3, 4]]


@pytest.mark.parametrize("content, words", [
    ("{not json", "not valid JSON"),
    (json.dumps({"hints": 3}), "list of hints"),
    (json.dumps([]), "non-empty list"),
    (json.dumps([{"x": 1, "y": 2}]), "needs a colour"),
    (json.dumps([{"x": 1, "y": 2, "colour": "red"}]), "#rrggbb"),
    (json.dumps([{"x": 1, "colour": "#ff0000"}]), "bad coordinates"),
    (json.dumps([{"x": 1, "y": 1, "colour": "#ff0000", "frame": -2}]), "negative frame"),
    (json.dumps([{"x": 1, "y": 1, "colour": [300, 0, 0]}]), "0..255"),
])
def test_bad_json_is_one_clear_line(tmp_path, content, words):
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(InputError) as err:
        read_hints(path)
    assert words in str(err.value) and str(path) in str(err.value) and "\n" not in str(err.value)


def test_missing_unreadable_and_empty_hint_pictures(tmp_path):
    with pytest.raises(InputError, match="not found"):
        read_hints(tmp_path / "nope.json")
    (tmp_path / "junk.png").write_bytes(b"not a picture")
    with pytest.raises(InputError, match="neither JSON nor a readable image"):
        read_hints(tmp_path / "junk.png")
    Image.fromarray(np.full((8, 8, 3), 90, np.uint8)).save(tmp_path / "grey.png")
    with pytest.raises(InputError, match="no painted"):
        read_hints(tmp_path / "grey.png")
