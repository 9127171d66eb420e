"""Numbered image sequences: a film scanned as one file per frame (``reel_%06d.dpx``, ``%d.tif``).

A path whose name holds an FFmpeg number pattern (``%d`` or ``%0Nd``; ``%%`` is a literal ``%``) names
such a film. The frames are read by FFmpeg's image2 demuxer (:mod:`bian.media.video`), which needs the
first number and stops silently at the first gap, so the folder is checked here first: a film with a
missing frame is refused, naming the number, rather than restored short.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from ..errors import InputError

_FIELD = re.compile(r"(%%|%\d*d)")


def is_pattern(path: Path) -> bool:
    """True when the file name holds a frame-number field (``%d``, ``%06d``)."""
    return any(field != "%%" for field in _FIELD.split(Path(path).name)[1::2])


@dataclass(frozen=True)
class Sequence:
    pattern: Path
    first: int
    """Number of the first frame (frame index 0)."""
    count: int

    def path(self, number: int) -> Path:
        """The file of frame ``number`` (a source number, not an index)."""
        return frame_path(self.pattern, number)

    def stamp(self) -> tuple[int, int]:
        """Size in bytes and latest modification time (ns) of all the frames: what a resumed run compares to
        know the film has not changed."""
        stats = [self.path(n).stat() for n in range(self.first, self.first + self.count)]
        return sum(s.st_size for s in stats), max(s.st_mtime_ns for s in stats)

    def demuxer_options(self, rate: Fraction) -> dict:
        """image2 options reading the frames at ``rate`` frames per second: frame i at exactly i / rate."""
        return {"pattern_type": "sequence", "start_number": str(self.first),
                "framerate": f"{rate.numerator}/{rate.denominator}"}


def frame_path(pattern: Path, number: int) -> Path:
    """The file ``pattern`` names for frame ``number``."""
    return pattern.with_name(_format(pattern.name, number))


def _format(name: str, number: int) -> str:
    parts = _FIELD.split(name)
    for i in range(1, len(parts), 2):
        parts[i] = "%" if parts[i] == "%%" else f"{number:0{parts[i][1:-1] or 0}d}"
    return "".join(parts)


def _regex(name: str) -> re.Pattern:
    parts = _FIELD.split(name)
    fields = [p for p in parts[1::2] if p != "%%"]
    if len(fields) != 1:
        raise InputError("a numbered-frame pattern needs exactly one number field", name,
                         "write it like reel_%06d.dpx")
    pieces = [re.escape(p) if i % 2 == 0 else ("%" if p == "%%" else r"(\d+)") for i, p in enumerate(parts)]
    return re.compile("".join(pieces))


def numbers_on_disk(pattern: Path) -> set[int]:
    """The frame numbers whose files ``pattern`` names in its folder (which must exist)."""
    pattern = Path(pattern)
    regex = _regex(pattern.name)
    folder = pattern.parent if str(pattern.parent) else Path(".")
    numbers = set()
    for entry in folder.iterdir():
        match = regex.fullmatch(entry.name)
        # %06d writes 7 as 000007, so 07 or 7 is not that frame's name
        if match and _format(pattern.name, int(match.group(1))) == entry.name and entry.is_file():
            numbers.add(int(match.group(1)))
    return numbers


def scan(pattern: Path) -> Sequence:
    """The frames on disk that ``pattern`` names: numbers first … last, every one present.
    Raises InputError when none matches or one is missing in between."""
    pattern = Path(pattern)
    folder = pattern.parent if str(pattern.parent) else Path(".")
    if not folder.is_dir():
        raise InputError("folder of the numbered frames not found", folder, "check the path")
    numbers = numbers_on_disk(pattern)
    if not numbers:
        raise InputError("no file matches the numbered-frame pattern", pattern,
                         "check the folder, the name and the digit count (%06d matches 000001)")
    first, last = min(numbers), max(numbers)
    if len(numbers) != last - first + 1:
        missing = next(n for n in range(first, last + 1) if n not in numbers)
        raise InputError(f"frame {missing} is missing from the numbered frames {first}–{last} "
                         f"({last - first + 1 - len(numbers)} missing in all)", frame_path(pattern, missing),
                         "restore the missing files; bian does not invent frames")
    return Sequence(pattern, first, len(numbers))


def output_name(path: Path) -> str:
    """The name ``path`` is written under in an output folder: its own, or for a pattern a Matroska film
    named without the number field (``reel_%06d.dpx`` → ``reel.mkv``)."""
    path = Path(path)
    if not is_pattern(path):
        return path.name
    base = path.name[:len(path.name) - len(path.suffix)]
    stem = "".join("%" if p == "%%" else p for p in _FIELD.split(base) if p == "%%" or not _FIELD.fullmatch(p))
    stem = stem.strip(" ._-")
    return (stem or path.parent.resolve().name or "film") + ".mkv"
