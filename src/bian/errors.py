"""The one exception family of bian.

Every user-facing failure is a :class:`BianError`. The CLI prints ``str(error)`` as one line
(what went wrong, which file, what to do) and exits non-zero; tracebacks only with ``--debug``.
"""
from __future__ import annotations

import os


class BianError(Exception):
    """A failure the user can act on.

    what: what went wrong; path: the file concerned (optional); hint: what to do (optional).
    """

    exit_code = 1

    def __init__(self, what: str, path: str | os.PathLike | None = None, hint: str | None = None):
        self.what = what
        self.path = None if path is None else os.fspath(path)
        self.hint = hint
        super().__init__(self.line())

    def line(self) -> str:
        text = self.what
        if self.path is not None:
            text += f": {self.path}"
        if self.hint:
            text += f" ({self.hint})"
        return text


class InputError(BianError):
    """The input is missing, unreadable, corrupt or unsupported."""

    exit_code = 2


class OptionError(BianError):
    """The options are invalid or do not fit together."""

    exit_code = 3


class OutputError(BianError):
    """The output cannot be written where asked."""

    exit_code = 4


class ModelError(BianError):
    """A model's weights are missing, corrupt or do not match the architecture."""

    exit_code = 5
