"""Per-frame measurements kept while their frame is in a stage's window.

A temporal stage with a window of ±N frames sees every frame 2N + 1 times. Measurements that depend
on one frame alone (a thumbnail, an analysis-size luma), or on two (is there a scene cut between
them), are computed once and reused; because they are pure functions of those frames' pixels, the
output is exactly what recomputing would give, so the window rule of :mod:`bian.stages.base` still
holds. Entries are keyed by the pixel array itself and vanish with it. (A stage's own per-frame
measurements are better made by :meth:`bian.stages.base.Stage.summarise`, which lets the runner drop
the pictures of older neighbours.)
"""
from __future__ import annotations

import weakref
from typing import Callable

import numpy as np


class PerFrame:
    """``cache(image)`` → ``function(image)``, computed once per live image array; the value is dropped
    as soon as the array is (a value may be as large as a frame: the store must not outlive the window)."""

    def __init__(self, function: Callable[[np.ndarray], object]):
        self.function = function
        self._store: dict[int, tuple[weakref.ref, object]] = {}

    def __call__(self, image: np.ndarray):
        hit = self._store.get(id(image))
        if hit is not None and hit[0]() is image:
            return hit[1]
        value = self.function(image)
        if value is image or getattr(value, "base", None) is image:
            return value  # nothing to save (to_float of float32 pixels), and stored it would keep the array alive
        key, store = id(image), self._store
        # The callback runs when the array is freed, before its id can be reused.
        store[key] = (weakref.ref(image, lambda _, key=key, store=store: store.pop(key, None)), value)
        return value

    def __getstate__(self):
        # Sent to another process (a Ray worker) without the cached values, which it recomputes.
        return {"function": self.function, "_store": {}}


class PerPair:
    """``cache(a, b)`` → ``function(a, b)``, computed once per pair of live arrays (e.g. the cut test
    between two consecutive thumbnails, which every window overlapping both repeats)."""

    def __init__(self, function: Callable[[np.ndarray, np.ndarray], object]):
        self.function = function
        self._store: dict[tuple[int, int], tuple[weakref.ref, weakref.ref, object]] = {}

    def __call__(self, a: np.ndarray, b: np.ndarray):
        hit = self._store.get((id(a), id(b)))
        if hit is not None and hit[0]() is a and hit[1]() is b:
            return hit[2]
        value = self.function(a, b)
        if len(self._store) >= 128:
            self._store = {k: v for k, v in self._store.items() if v[0]() is not None and v[1]() is not None}
        self._store[(id(a), id(b))] = (weakref.ref(a), weakref.ref(b), value)
        return value

    def __getstate__(self):
        return {"function": self.function, "_store": {}}
