"""Declared options: each stage module lists the options it reads, and the CLI and the Python API are
generated from those lists, so a new stage needs no edit in either.

An option's ``parse`` turns a CLI string or an API value into the value the stage uses and raises
:class:`~bian.errors.OptionError` for a bad one.
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Callable

from ..errors import OptionError


@dataclass(frozen=True)
class Option:
    name: str
    """Python name (``keep_grain``); the CLI flag is ``--keep-grain``."""
    parse: Callable[[Any], Any]
    default: Any
    help: str
    is_flag: bool = False
    """A switch without a value (``--keep-grain``)."""
    metavar: str | None = None
    choices: tuple | None = None
    short: str | None = None
    """A short CLI flag such as ``-W``."""
    many: bool = False
    """Takes one or more values (a list)."""

    @property
    def flag(self) -> str:
        return flag_of(self.name)


def flag_of(name: str) -> str:
    """CLI flag of the option named ``name`` (``keep_grain`` → ``--keep-grain``)."""
    return "--" + name.replace("_", "-")


def positive_float(name: str):
    def parse(value):
        number = _number(name, value, float)
        if not number > 0:
            raise OptionError(f"{flag_of(name)} must be greater than 0, got {value}")
        return number
    return parse


def unit_float(name: str):
    """A strength in [0, 1]."""
    def parse(value):
        number = _number(name, value, float)
        if not 0 <= number <= 1:
            raise OptionError(f"{flag_of(name)} must be between 0 and 1, got {value}")
        return number
    return parse


def int_range(name: str, low: int, high: int):
    def parse(value):
        number = _number(name, value, int)
        if not low <= number <= high:
            raise OptionError(f"{flag_of(name)} must be between {low} and {high}, got {value}")
        return number
    return parse


def rational(name: str):
    """A positive rate such as 24, 59.94, 30000/1001 → exact Fraction (59.94 → 60000/1001)."""
    def parse(value):
        try:
            text = str(value).strip()
            number = Fraction(text)
            if "." in text and "/" not in text and number.denominator != 1:  # NTSC: 23.976, 29.97, 59.94
                ntsc = Fraction(round(number * Fraction(1001, 1000)) * 1000, 1001)
                if ntsc.denominator == 1001 and round(ntsc, len(text.split(".")[1])) == number:
                    number = ntsc
        except (ValueError, ZeroDivisionError):
            raise OptionError(f"{flag_of(name)} must be a number or a ratio like 30000/1001, got {value!r}") from None
        if number <= 0:
            raise OptionError(f"{flag_of(name)} must be greater than 0, got {value}")
        return number
    return parse


def choice(name: str, choices: tuple[str, ...]):
    def parse(value):
        if value not in choices:
            raise OptionError(f"{flag_of(name)} must be one of {', '.join(choices)}, got {value!r}")
        return value
    return parse


def boolean(value) -> bool:
    if isinstance(value, str):
        return value.lower() in ("1", "true", "yes", "on")
    return bool(value)


def text(value) -> str:
    return str(value)


def _number(name, value, kind):
    if isinstance(value, bool):
        raise OptionError(f"{flag_of(name)} needs a number, got {value!r}")
    try:
        return kind(value)
    except (TypeError, ValueError):
        raise OptionError(f"{flag_of(name)} needs a number, got {value!r}") from None
