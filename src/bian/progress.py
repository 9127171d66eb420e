"""A progress line on stderr: frames done, speed and time left. Redrawn in place on a terminal,
a plain line every few seconds otherwise (logs), nothing when quiet."""
from __future__ import annotations

import sys
import time


class Progress:
    def __init__(self, total: int, label: str = "", quiet: bool = False, stream=None, callback=None):
        self.total = max(0, total)
        self.callback = callback
        """Called with this object after every update (the web UI's progress bar); may raise to stop the run."""
        self.label = label
        self.quiet = quiet
        self.stream = stream or sys.stderr
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.done = 0
        self.start = time.monotonic()
        self._last_draw = 0.0 if self.tty else self.start  # logs: first line after a few seconds

    def update(self, frames: int = 1) -> None:
        self.done += frames
        if self.callback is not None:
            self.callback(self)
        now = time.monotonic()
        if not self.quiet and now - self._last_draw >= (0.2 if self.tty else 5.0):
            self._last_draw = now
            self._draw(now)

    def rate(self) -> float:
        elapsed = time.monotonic() - self.start
        return self.done / elapsed if elapsed > 0 else 0.0

    def _draw(self, now: float) -> None:
        fps = self.rate()
        if self.total:
            share = min(1.0, self.done / self.total)
            bar = "#" * int(share * 24)
            left = (self.total - self.done) / fps if fps > 0 else float("inf")
            eta = _clock(left) if left != float("inf") else "--:--"
            text = f"{self.label} [{bar:<24}] {self.done}/{self.total} frames  {fps:5.1f} fps  ETA {eta}"
        else:
            text = f"{self.label} {self.done} frames  {fps:5.1f} fps"
        print(("\r" + text + "\x1b[K") if self.tty else text, end="" if self.tty else "\n",
              file=self.stream, flush=True)

    def finish(self) -> None:
        if not self.quiet:
            self._draw(time.monotonic())
            if self.tty:
                print(file=self.stream)


def _clock(seconds: float) -> str:
    seconds = int(seconds)
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60:02d}:{rest % 60:02d}"
