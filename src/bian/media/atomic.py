"""Files appear whole or not at all: written under a hidden temporary name, renamed when complete."""
from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator


def partial_path(path: Path) -> Path:
    """The temporary name a file is written under before it is renamed into place."""
    return path.with_name(f".{path.stem}.partial{path.suffix}")


@contextmanager
def written(path: Path) -> Iterator[Path]:
    """Yields the temporary path to write; renames it to ``path`` when the block ends normally and
    removes it when the block raises (a stopped run leaves no half-written file behind)."""
    partial = partial_path(path)
    try:
        yield partial
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
