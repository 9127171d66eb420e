"""Audio time-stretch for speed changes: exact length, pitch kept, sound where the retimed picture is."""
from fractions import Fraction

import av
import numpy as np
import pytest

from bian.media.tempo import MAX_STEP, Tempo, tempo_steps

RATE = 48000
CENTRES = [0.5, 1.0, 1.5, 2.0, 2.5]
"""Seconds at which the test sound has a tone burst."""


@pytest.fixture(scope="module")
def bursts(tmp_path_factory):
    """3 s of stereo PCM: 700 Hz bursts (Gaussian, 15 ms) at CENTRES over a quiet 220 Hz hum."""
    path = tmp_path_factory.mktemp("tempo") / "bursts.mkv"
    t = np.arange(3 * RATE) / RATE
    envelope = sum(np.exp(-(((t - c) / 0.015) ** 2)) for c in CENTRES)
    mono = (0.5 * envelope * np.sin(2 * np.pi * 700 * t) + 0.01 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
    with av.open(str(path), "w") as c:
        stream = c.add_stream("pcm_f32le", rate=RATE, layout="stereo")
        for start in range(0, len(mono), 1000):
            chunk = np.repeat(mono[start:start + 1000], 2)[None]
            frame = av.AudioFrame.from_ndarray(chunk, format="flt", layout="stereo")
            frame.sample_rate, frame.pts, frame.time_base = RATE, start, Fraction(1, RATE)
            c.mux(stream.encode(frame))
        c.mux(stream.encode(None))
    return path


def stretched(path, speed: Fraction) -> tuple[np.ndarray, list[int]]:
    """Left channel of the retimed sound, and the pts of the frames given out."""
    out, pts = [], []
    with av.open(str(path)) as c:
        stream = c.streams.audio[0]
        tempo = Tempo(stream, speed)
        for frame in [*c.decode(stream), None]:
            for made in tempo(frame):
                pts.append(made.pts)
                out.append(made.to_ndarray()[0, ::2])
    return np.concatenate(out), pts


def test_steps_stay_in_range():
    for speed in (Fraction(1, 10), Fraction(1, 4), Fraction(3, 4), Fraction(1001, 1000), Fraction(5)):
        steps = tempo_steps(speed)
        assert all(1 / MAX_STEP <= s <= MAX_STEP for s in steps)
        assert np.prod(steps) == pytest.approx(float(speed), rel=1e-12)
    assert tempo_steps(Fraction(1, 4)) == [0.5, 0.5]


@pytest.mark.parametrize("speed, tolerance_ms", [(Fraction(3, 4), 6), (Fraction(1, 4), 25), (Fraction(4, 3), 6),
                                                 (Fraction(1001, 1000), 6)])
def test_length_timing_and_pitch(bursts, speed, tolerance_ms):
    sound, pts = stretched(bursts, speed)
    assert len(sound) == round(3 * RATE / speed)  # to the sample
    assert pts[0] == 0 and all(b > a for a, b in zip(pts, pts[1:]))
    for centre in CENTRES:  # each burst's energy centre lands at its time in the retimed picture
        where = centre / float(speed)
        lo, hi = int((where - 0.12) * RATE), int((where + 0.12) * RATE)
        energy = sound[lo:hi].astype(np.float64) ** 2
        found = (np.arange(lo, hi) * energy).sum() / energy.sum() / RATE
        assert abs(found - where) * 1000 < tolerance_ms, (centre, found, where)
        # pitch kept: the burst is still 700 Hz
        first = int((where - 0.03) * RATE)
        part = sound[first:first + 2880] * np.hanning(2880)
        spectrum = np.abs(np.fft.rfft(part, 8 * len(part)))
        assert abs(np.argmax(spectrum) * RATE / (8 * len(part)) - 700) < 15
