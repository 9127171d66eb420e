import gc

import numpy as np

from bian.temporal.framecache import PerFrame, PerPair


def test_per_frame_computes_once_per_live_array():
    calls = []
    cache = PerFrame(lambda a: calls.append(1) or float(a.sum()))
    a = np.ones((4, 4))
    assert cache(a) == cache(a) == 16.0
    assert len(calls) == 1
    assert cache(np.ones((4, 4)) * 2) == 32.0  # equal shape, other array: computed again
    assert len(calls) == 2


def test_per_pair_computes_once_per_ordered_pair_and_forgets_dead_arrays():
    calls = []
    cache = PerPair(lambda a, b: calls.append(1) or float(a.sum() - b.sum()))
    a, b = np.ones(3), np.zeros(3)
    assert cache(a, b) == cache(a, b) == 3.0
    assert cache(b, a) == -3.0
    assert len(calls) == 2
    frames = [np.full(2, i, float) for i in range(200)]
    for x, y in zip(frames, frames[1:]):
        cache(x, y)
    del frames
    gc.collect()
    cache(a, np.full(2, 1.0))  # a full store drops the pairs whose arrays are gone
    assert len(cache._store) <= 4


def test_per_frame_value_goes_with_its_array():
    cache = PerFrame(lambda a: a * 2)  # a value as large as its frame
    frames = [np.full((8, 8), i, float) for i in range(5)]
    for f in frames:
        cache(f)
    assert len(cache._store) == 5
    del f, frames[:3]
    assert len(cache._store) == 2  # dropped at once, not when the store fills up
    assert [float(v[1][0, 0]) for v in cache._store.values()] == [6.0, 8.0]


def test_per_frame_does_not_keep_an_array_alive_through_its_own_value():
    cache = PerFrame(lambda a: a.astype(np.float32, copy=False))  # float32 in: the array itself
    for _ in range(300):
        picture = np.zeros((4, 4, 3), np.float32)
        assert cache(picture) is picture
        assert cache(picture[..., :1]).base is picture
    del picture
    assert len(cache._store) == 0
