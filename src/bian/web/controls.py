"""Page controls generated from the options each stage declares (the same lists the CLI is built from),
so a new stage appears in the page without an edit here.

Kinds: a switch (``is_flag``) → checkbox; a fixed set → dropdown; an option unset by default → text box
(empty = unset); a strength in [0, 1] → slider; another number → number box (whole numbers for counts);
files (colour hints, references, masks, model files) → the stroke painter or uploads; a NAME|PATH option
takes catalogue names only (even a bare name could be a file in the server's folder); anything else → text
box.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..errors import OptionError
from ..pipeline import plan as plan_module
from ..pipeline.options import Option

VIDEO_ONLY_GROUPS = {"output"}
"""Groups of options that mean nothing for a single picture (encoder settings)."""

PRESETS = {
    "Repair (dust, scratches, tears)": {"dust": True},
    "Old film (repair, grain, flicker, weave)": {"dust": True, "denoise": 1.0, "keep_grain": True,
                                                  "deflicker": True, "stabilise": True},
    "Faces": {"dust": True, "faces": True},
    "Colourise": {"colorize": True},
    "Sharper ×2": {"upscale": 2.0},
}
"""Named starting points; a preset only sets options that exist in this build (see :func:`presets`)."""


@dataclass(frozen=True)
class Control:
    option: Option
    group: str
    kind: str
    """checkbox | dropdown | slider | number | integer | text | file | files | hints"""


def _accepts(option: Option, value) -> bool:
    try:
        option.parse(value)
        return True
    except (OptionError, TypeError, ValueError):
        return False


FILE_METAVARS = {"FILE", "PATH", "PNG", "IMG"}
"""Options that name a file: the page takes an upload for them, never a path on the server."""


def kind_of(option: Option) -> str:
    if "hint" in option.name:
        return "hints"
    if "reference" in option.name or option.metavar in FILE_METAVARS:
        return "files" if option.many else "file"
    if option.is_flag:
        return "checkbox"
    if option.choices:
        return "dropdown"
    if _accepts(option, "30000/1001"):
        return "text"  # a rate: typed as 24, 29.97 or 30000/1001
    if option.default is None:
        return "text"  # empty means "not set": a number box cannot be empty
    if _accepts(option, "0.5") and _accepts(option, "1"):
        unit = _accepts(option, "0") and not _accepts(option, "1.5")
        return "slider" if unit else "number"
    if _accepts(option, "2") and not _accepts(option, "x"):
        return "integer"
    return "text"


def controls(kind: str) -> list[Control]:
    """Every option the restore plan knows, grouped as in ``bian restore --help``; ``kind`` is ``image`` or
    ``video`` (encoder settings only for videos)."""
    groups = [("output", plan_module.GENERAL_OPTIONS)] + [
        (module.__name__.rsplit(".", 1)[-1], module.OPTIONS) for module in plan_module.STAGE_MODULES]
    return [Control(option, group, kind_of(option)) for group, options in groups
            if not (kind == "image" and group in VIDEO_ONLY_GROUPS) for option in options
            if option.name != "max_pixels"]


def presets() -> dict[str, dict]:
    """The presets, each reduced to the options this build has; presets left empty are dropped."""
    known = {o.name for o in plan_module.all_options()}
    reduced = {name: {k: v for k, v in values.items() if k in known} for name, values in PRESETS.items()}
    return {name: values for name, values in reduced.items() if values}


def _model_names() -> set[str]:
    from ..models import catalogue
    return {"auto", *catalogue.ENTRIES}


def options_from(controls_: list[Control], values: list) -> dict:
    """The API options for the values the page sent, in ``controls_`` order: unset, unticked and
    default values are left out so the plan fills them."""
    options = {}
    for control, value in zip(controls_, values):
        if control.kind in ("file", "files", "hints"):
            continue  # attached as files to the job
        if value is None or value == "" or value is False or value == control.option.default:
            continue
        if "PATH" in (control.option.metavar or "") and value not in _model_names():
            raise OptionError(f"{control.option.flag} takes a model name here", str(value),
                              f"files on the server cannot be named from the web page; one of: "
                              f"{', '.join(sorted(_model_names()))}")
        if control.option.many and isinstance(value, str):
            value = value.split()
        options[control.option.name] = value
    return options
