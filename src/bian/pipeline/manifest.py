"""The resume manifest: which segments of a video are encoded, kept in a work folder beside the output.

Written atomically (temporary file, fsync, rename), so a run killed at any instant leaves either the
previous manifest or the new one. A segment counts as done only once its file is complete and renamed.
"""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path


def work_dir_for(output: Path) -> Path:
    return output.with_name(f".{output.name}.bian-work")


class Manifest:
    def __init__(self, folder: Path, fingerprint: str, segment_frames: int):
        self.folder = folder
        self.path = folder / "manifest.json"
        self.fingerprint = fingerprint
        self.segment_frames = segment_frames
        self.segments: dict[int, dict] = {}
        """segment number → {"file": name or None (no frames), "frames": n}"""
        self.total_frames: int | None = None
        """Input frame count, known once a run has reached the end of the input."""
        self.resumed = False

    @classmethod
    def open(cls, folder: Path, fingerprint: str, segment_frames: int, fresh: bool) -> "Manifest":
        """The folder's manifest when it belongs to the same job, else a new empty one (old state removed)."""
        manifest = cls(folder, fingerprint, segment_frames)
        if folder.exists() and not fresh:
            try:
                data = json.loads(manifest.path.read_text())
            except (OSError, ValueError):
                data = {}
            if data.get("fingerprint") == fingerprint and data.get("segment_frames") == segment_frames:
                manifest.segments = {int(k): v for k, v in data.get("segments", {}).items()
                                     if v.get("file") is None or (folder / v["file"]).exists()}
                manifest.total_frames = data.get("total_frames")
                manifest.resumed = bool(manifest.segments)
                return manifest
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        manifest.save()
        return manifest

    def segment_file(self, number: int, suffix: str) -> Path:
        return self.folder / f"segment{number:06d}{suffix}"

    def segment_count(self) -> int | None:
        if self.total_frames is None:
            return None
        return max(1, -(-self.total_frames // self.segment_frames))

    def missing(self) -> list[int] | None:
        """Segments still to encode, or None while the input's length is unknown."""
        count = self.segment_count()
        return None if count is None else [k for k in range(count) if k not in self.segments]

    def first_missing(self) -> int:
        k = 0
        while k in self.segments:
            k += 1
        return k

    def mark_done(self, number: int, path: Path | None, frames: int) -> None:
        self.segments[number] = {"file": None if path is None else path.name, "frames": frames}
        self.save()

    def files(self) -> list[Path]:
        return [self.folder / self.segments[k]["file"] for k in sorted(self.segments)
                if self.segments[k]["file"] is not None]

    def save(self) -> None:
        data = {"fingerprint": self.fingerprint, "segment_frames": self.segment_frames,
                "total_frames": self.total_frames,
                "segments": {str(k): v for k, v in sorted(self.segments.items())}}
        tmp = self.path.with_suffix(".tmp")
        with open(tmp, "w") as fh:
            json.dump(data, fh, indent=1)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.path)

    def remove(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)
