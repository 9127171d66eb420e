"""Keep the memory of long runs flat.

Frames are large (a 720p RGB frame is 2.7 MB) and are allocated by the decode thread and freed by the
main one. glibc raises its mmap threshold each time such a block is freed, after which frames come from
the heap, where they fragment: measured here, peak memory grew by ~15 % from the first segment of a
film to the later ones. A fixed threshold keeps every frame in its own mapping, returned at once.
It is set when ``bian`` is imported: set after torch was loaded it was measured to have no effect.

Everything smaller (per-frame work arrays, cells, thumbnails) comes from the heap, which glibc by
default grows and gives back 128 kB at a time: on film at 920×672 with dust, denoise, deflicker and
stabilise that was 5.3 million page faults for 20 frames, a third of the CPU time in the kernel. The
heap is therefore grown with 64 MB to spare and given back only when 256 MB lie free at its top
(measured on 200 such frames: page faults −42 %, kernel time −30 %, the same peak memory).
"""
from __future__ import annotations

import ctypes
import ctypes.util
import sys

_M_TRIM_THRESHOLD = -1
_M_TOP_PAD = -2
_M_MMAP_THRESHOLD = -3
_done = False


def tune_allocator(threshold: int = 1 << 20) -> None:
    """Fix glibc's mmap threshold and let its heap keep room (Linux only; a no-op elsewhere or when
    called twice)."""
    global _done
    if _done or not sys.platform.startswith("linux"):
        return
    _done = True
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.mallopt(_M_MMAP_THRESHOLD, threshold)
        libc.mallopt(_M_TOP_PAD, 64 << 20)
        libc.mallopt(_M_TRIM_THRESHOLD, 256 << 20)
    except (OSError, AttributeError):  # not glibc (musl): nothing to tune
        pass
