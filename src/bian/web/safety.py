"""What the web server trusts: upload names made safe, and paths checked to stay inside a job's folder."""
from __future__ import annotations

import re
import unicodedata
from pathlib import Path

JOB_ID = re.compile(r"^[0-9]{8}-[0-9]{6}-[0-9a-f]{6}$")
"""A job folder name: creation date and time, then six random hex digits."""

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_name(name: str, fallback: str = "upload") -> str:
    """A file name made of letters, digits, ``.``, ``_`` and ``-`` only: no folders, no leading dot, at most
    100 characters, the extension kept (lower case). ``"../../a b/ö.JPG"`` → ``"o.jpg"``."""
    base = Path(str(name).replace("\\", "/")).name
    base = unicodedata.normalize("NFKD", base).encode("ascii", "ignore").decode()
    stem, dot, suffix = base.rpartition(".")
    if not dot:
        stem, suffix = base, ""
    stem = _UNSAFE.sub("_", stem).strip("._-")[:80] or fallback
    suffix = _UNSAFE.sub("", suffix).lower()[:10]
    return f"{stem}.{suffix}" if suffix else stem


def inside(root: Path, relative: str) -> Path | None:
    """``root/relative`` when it is an existing file within ``root`` after resolving ``..`` and links,
    else None."""
    root = root.resolve()
    try:
        target = (root / relative).resolve()
    except (OSError, ValueError):
        return None
    if root not in target.parents or not target.is_file():
        return None
    return target
