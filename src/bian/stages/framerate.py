"""Frame rate: any output rate, slow motion and silent-film speed, with motion-compensated frames.

For each input frame i the stage emits the output frames whose times fall in [t_i, t_{i+1}) (after
retiming by the speed), so a segmented or resumed run produces exactly the frames of a whole run.
The last frame's interval is [t_i, t_i + duration). Every timestamp is an exact Fraction computed from
the input timestamps, so variable-frame-rate input keeps its timing. Output frames carry the source
index of the input frame they follow.

Between two frames of one shot the interpolator makes the picture; across a scene cut each frame
repeats the nearer of the two frames in time (or the two are cross-faded, on request), so no frame
ever mixes two shots. Held
frames (a picture repeated by a transfer or a conversion) are replaced by pictures interpolated at
their own time between the frames around the hold; the frame count and durations stay the same.

Pull-down (film at rate r carried at 5/4 r with one frame in five shown twice: 24 fps film telecined to
29.97 and field-matched; or at 5/2 r, each film frame shown 3 times, then 2, at 59.94) is undone when the
output rate is the film's: where the cadence is steady (:mod:`bian.analysis.pulldown`) each output frame is
one of the film's own frames, untouched, in order, none left out or shown twice; a film frame moves by at most
1/30 s from its place. Where the cadence breaks (an edit made on video) the frames are converted as above.
"""
from __future__ import annotations

from collections import OrderedDict
from fractions import Fraction

import numpy as np

from ..analysis import duplicates, pulldown
from ..analysis.cuts import is_cut
from ..errors import OptionError
from ..frame import Frame, to_float
from ..interpolate.timing import Timing, nominal_rate
from ..pipeline.options import Option, choice, int_range, rational, text
from ..temporal.framecache import PerFrame
from .base import Stage, Window

MAX_HOLD = 2
"""Longest hold replaced: up to this many repeated copies after the original (a longer one is a
freeze meant to be seen)."""

OPTIONS = [
    Option("fps", rational("fps"), None, "output frame rate, any rational: 24, 25, 50, 59.94, 30000/1001 "
           "(frames in between are motion-interpolated)", metavar="RATE"),
    Option("multi", int_range("multi", 2, 64), None, "N output frames per input frame (2 doubles the rate; "
           "follows variable-frame-rate input exactly)", metavar="N"),
    Option("slowmo", rational("slowmo"), None, "slow motion: play the picture N times slower (2 = half speed) "
           "at the output rate", metavar="N"),
    Option("source_fps", rational("source_fps"), None, "the film's true frame rate (16–18 for hand-cranked "
           "silent film): play it at that speed, then interpolate to the output rate; numbered frames are read at "
           "it (default 24)", metavar="RATE"),
    Option("interpolator", choice("interpolator", ("flow", "rife")), "flow", "how in-between frames are made: "
           "flow (optical flow, no model) or rife (RIFE v4 network, needs its flownet.pkl)",
           choices=("flow", "rife")),
    Option("rife_model", text, None, "RIFE weights: a flownet.pkl file or the folder holding it "
           "(default: the catalogue's rife-v4.26, else rife-v4-union)", metavar="PATH"),
    Option("at_cuts", choice("at_cuts", ("repeat", "crossfade")), "repeat", "at a scene cut, repeat the frame "
           "nearer in time, the shot's last or the next one's first (default), or cross-fade between them",
           choices=("repeat", "crossfade")),
    Option("dedup", choice("dedup", ("auto", "on", "off")), "auto", "replace held (repeated) frames with "
           "interpolated ones: auto = when the frame rate or speed changes", choices=("auto", "on", "off")),
    Option("pulldown", choice("pulldown", ("auto", "remove", "keep")), "auto", "telecined film (one frame in "
           "five shown twice; at 59.94 each shown 3 times, then 2): auto = give the film's own frames back when "
           "--fps is the film's rate (29.97 → 23.976, 30 → 24, 59.94 → 23.976); remove = the same, and --fps "
           "defaults to the film's rate; keep = convert it like any video", choices=("auto", "remove", "keep")),
]

FIELD_RATES = (Fraction(60000, 1001), Fraction(60))
"""Source rates whose film comes at 2/5 of them (each film frame shown 3 times, then 2); other rates' at 4/5."""

PAST, FUTURE = 3, 1
"""Pull-down cycles judged before and after the current one (the runner holds the pictures of
the future ones, so fewer of those; five in all, see :func:`bian.analysis.pulldown.copy_place`)."""


def build(opts: dict, source) -> list:
    fps, multi, slowmo, source_fps = (opts.get(k) for k in ("fps", "multi", "slowmo", "source_fps"))
    remove = opts.get("pulldown", "auto") == "remove"
    retiming = remove or any(v is not None for v in (fps, multi, slowmo, source_fps))
    dedup = opts.get("dedup", "auto")
    if not retiming and dedup != "on":
        return []
    if source.kind != "video":
        raise OptionError("frame-rate options apply to videos only", hint="drop --fps/--multi/--slowmo/"
                          "--source-fps/--dedup/--pulldown for images")
    if fps is not None and multi is not None:
        raise OptionError("--fps and --multi cannot be combined", hint="give an output rate or a multiple")
    rate = nominal_rate(source.rate)
    share = Fraction(2, 5) if rate in FIELD_RATES else Fraction(4, 5)  # film frames per source frame
    film = rate * share if rate else None
    if remove:
        if any(v is not None for v in (multi, slowmo, source_fps)):
            raise OptionError("--pulldown remove gives the film's own frames at their own rate",
                              hint="drop --multi/--slowmo/--source-fps, or convert in a second run")
        if film is None:
            raise OptionError("--pulldown remove needs the input's frame rate, which this file does not state",
                              hint="convert it to a constant frame rate first")
        if fps is not None and fps != film:
            raise OptionError(f"--pulldown remove gives {_text(film)} fps ({share} of the source's {_text(rate)}), "
                              f"not {_text(fps)}", hint=f"drop --fps, or give --fps {_text(film)}")
        fps = film
    speed = Fraction(1)
    if slowmo is not None:
        speed /= slowmo
    if source_fps is not None:
        if not rate:
            raise OptionError("--source-fps needs the input's frame rate, which this file does not state",
                              hint="convert it to a constant frame rate first")
        speed *= source_fps / rate
    if fps is None and multi is None and speed != 1:
        fps = rate  # retimed: keep the input's rate, fill it with interpolated frames
        if fps is None:
            raise OptionError("slow motion needs an output rate for this file", hint="add --fps RATE")
    timing = Timing(speed=speed, rate=fps, multi=multi or 1)
    engine = make_engine(opts.get("interpolator", "flow"), opts)
    return [FrameRate(timing, engine, at_cuts=opts.get("at_cuts", "repeat"),
                      dedup=dedup == "on" or (dedup == "auto" and retiming),
                      film=share if opts.get("pulldown", "auto") != "keep" and speed == 1 and fps is not None
                      and fps == film else None)]


LOOK_AT, LOOK_FRAMES = (0.2, 0.6), 26
"""Where in the file (shares of its duration) the plan looks for pull-down, and how many frames each time (five
cycles)."""


def note(stages: list, info, opts: dict) -> str | None:
    """The plan's line on pull-down: a telecined source not brought back to its film rate (the option that
    does it), or ``--pulldown remove`` on a source where the plan's look found no cadence."""
    rate = nominal_rate(info.rate)
    asked = opts.get("pulldown", "auto")
    if not rate or asked == "keep" or not (28 <= rate <= 31 or rate == 20):
        return None  # NTSC video (and 16 fps film at 20): not worth a look elsewhere
    film = any(getattr(s, "film", False) for s in stages)
    if film and asked != "remove":
        return None
    seen = any(getattr(s, "telecine", False) for s in stages) or telecined(info)
    if film:
        return None if seen else ("--pulldown remove: the plan's look found no steady pull-down cadence; where "
                                  "none is seen, frames are interpolated to the new rate as for any video")
    if not seen:
        return None
    return (f"telecined film (one frame in five shown twice): --pulldown remove (--fps {_text(rate * Fraction(4, 5))}) "
            "gives its own frames back")


def telecined(info) -> bool:
    """A steady pull-down cadence in one of the plan's looks at the video (:data:`LOOK_AT`)."""
    from ..media.video import sample_runs

    for run in sample_runs(info, LOOK_AT, LOOK_FRAMES):
        thumbs = [duplicates.thumbnail(grey.astype(np.float32) / 255) for grey in run]
        pairs = list(zip(thumbs, thumbs[1:]))
        diffs = np.array([np.nan] + [duplicates.difference(a, b) for a, b in pairs])
        cuts = np.array([False] + [is_cut(a, b) for a, b in pairs])
        cycles = [pulldown.lows(diffs[k:k + pulldown.CYCLE], cuts[k:k + pulldown.CYCLE])
                  for k in range(1, len(run) - 3, pulldown.CYCLE)]
        if len(cycles) >= 4 and pulldown.copy_place(cycles, len(cycles) // 2) is not None:
            return True
    return False


def make_engine(name: str, opts: dict):
    if name == "rife":
        from ..interpolate.rife import RifeInterpolator
        return RifeInterpolator(opts.get("rife_model"), device=opts.get("device") or "auto",
                                precision=opts.get("precision") or "auto")
    from ..interpolate.classical import FlowInterpolator
    return FlowInterpolator()


class FrameRate(Stage):
    name = "framerate"
    changes_timing = True

    def __init__(self, timing: Timing, engine, at_cuts: str = "repeat", dedup: bool = True,
                 film: Fraction | None = None):
        if at_cuts not in ("repeat", "crossfade"):
            raise OptionError(f"--at-cuts must be repeat or crossfade, got {at_cuts!r}")
        self.timing, self.engine, self.at_cuts, self.dedup = timing, engine, at_cuts, dedup
        self.film = film
        """Film frames per source frame (4/5, or 2/5 at 59.94) where pull-down is undone where its cadence is
        seen (the output rate is that share of the source's); None: not looked for."""
        # held-frame runs and the outer frames for acceleration need this much context (see _outer)
        self.convert_before = MAX_HOLD + 1 + duplicates.NEIGHBOURS if dedup else 1
        self.convert_after = MAX_HOLD + 2 + duplicates.NEIGHBOURS if dedup else 2
        self.before, self.after = self.convert_before, self.convert_after
        if film:  # the cycles judged around the current one (see _film_frame); older ones by thumbnail only
            self.before = max(self.before, pulldown.CYCLE * (PAST + 1))
            self.after = max(self.after, pulldown.CYCLE * (FUTURE + 1))
            self.pixels_before = self.convert_before
        self._memo: OrderedDict = OrderedDict()
        self._float = PerFrame(to_float)  # each picture converted once for the windows that share it

    @property
    def speed(self) -> Fraction:
        """Playback speed of the source (output duration = input duration / speed); audio follows it."""
        return self.timing.speed

    @property
    def rate(self) -> Fraction | None:
        """Output frame rate on the grid, or None when output frames follow the input's intervals."""
        return self.timing.rate

    def describe(self) -> dict:
        return {"fps": _text(self.timing.rate), "multi": self.timing.multi if self.timing.rate is None else None,
                "speed": _text(self.timing.speed), "at_cuts": self.at_cuts, "dedup": self.dedup,
                "pulldown": _text(self.film), **self.engine.describe()}

    def output_timing(self, time_base, rate):
        return self.timing.time_base(time_base), self.timing.output_rate(rate)

    # -- per window --------------------------------------------------------------------------------

    def summarise(self, frame: Frame) -> tuple:
        """(index, time, duration, thumbnail): what the cut, hold and pull-down tests read of a frame."""
        return frame.index, frame.time, frame.duration, duplicates.thumbnail(self._rgb(frame))

    def process(self, window: Window) -> list[Frame]:
        frames, c, sums = window.frames, window.center, self.summaries(window)
        if self.film:
            kept = self._film_frame(frames, sums, c)
            if kept is not None:
                return kept
        # converted as any video, from the frames the conversion needs (the same output whatever the window)
        lo, hi = max(0, c - self.convert_before), min(len(frames), c + self.convert_after + 1)
        return self._convert(frames[lo:hi], sums[lo:hi], c - lo)

    def _film_frame(self, frames, sums, c) -> list[Frame] | None:
        """The output of frame ``c`` where the pull-down cadence is steady: for each output frame in c's
        interval, the film frame it stands for, untouched; None where the cadence is not clear (or the
        timestamps are not those of a constant rate).

        Places are counted in source frames from time zero (t × source rate, rounded: timestamps stored in
        milliseconds are off by a fraction of a frame). Output frame k sits at place k / share (1.25 k, or
        2.5 k at 2/5), so each cycle of five places from a multiple of 5 holds 5 × share output frames,
        which show the cycle's film frames in order."""
        n, share = len(frames), self.film
        rate = self.timing.rate / share
        cur = sums[c]
        own = self.timing.frames_in(cur[1], sums[c + 1][1] if c + 1 < n else cur[1] + cur[2])
        shift = round(cur[1] * rate) - c  # window frame i stands at place i + shift
        per = int(pulldown.CYCLE * share)
        out = []
        for when, duration in own:
            k = int(when * self.timing.rate)  # the output frame's number (times sit on the grid k / rate)
            found = self._film_source(frames, sums, pulldown.CYCLE * (k // per) - shift, k % per, rate, shift)
            if found is None:
                return None
            u, cut = found
            meta = dict(frames[u].meta)
            meta.pop("cut", None)
            if cut:
                meta["cut"] = True
            out.append(frames[u].replace(time=when, duration=duration, index=frames[c].index, meta=meta))
        return out

    def _film_source(self, frames, sums, b, j, rate, shift) -> tuple[int, bool] | None:
        """(window index of the ``j``-th film frame of the cycle starting at window frame ``b``, whether a scene
        cut comes just before it), or None where that cycle's cadence is not clear.

        At 4/5 the film frames after the copy come one source frame early (output times sit 0, ¼, ½, ¾ of a
        source frame after their frames' times: this moves film frames least, at most 1/30 s). The cycle is
        judged on window frames b − 16 … b + 9 whichever frame's window asks, so all its output frames agree."""
        n, size = len(frames), pulldown.CYCLE
        first, last = max(0, b - 1 - size * PAST), min(n - 1, b - 1 + size * (FUTURE + 1))
        if not 0 <= b < n or any(abs(sums[i][1] * rate - i - shift) >= Fraction(1, 4)
                                  for i in range(first, last + 1)):
            return None  # beyond the window, or timestamps off a constant rate
        thumbs = [s[3] for s in sums]
        diffs = np.full(n + size, np.nan)  # NaN: beyond the stream's ends
        cuts = np.zeros(n + size, bool)
        for i in range(max(1, first), last + 1):
            diffs[i] = duplicates.difference(thumbs[i - 1], thumbs[i])
            cuts[i] = self._remembered(("cut", sums[i - 1][:2], sums[i][:2]), is_cut, thumbs[i - 1], thumbs[i])
        spans = [slice(b + size * m, b + size * (m + 1)) for m in range(-PAST, FUTURE + 1)
                 if m == 0 or (b + size * m >= first and b + size * (m + 1) - 1 <= last)]
        own = next(i for i, span in enumerate(spans) if span.start == b)
        if self.film == Fraction(4, 5):
            place = pulldown.copy_place([pulldown.lows(diffs[span], cuts[span]) for span in spans], own)
            if place is None or (b + place < n and not pulldown.plausible_copy(diffs[spans[own]], cuts[spans[own]],
                                                                              place)):
                return None  # (a copy past the stream's end leaves the last frames as they are)
            u = b + j + 1 if j >= place else b + j
        else:
            places = pulldown.start_places([pulldown.starts(diffs[span], cuts[span]) for span in spans], own,
                                           diffs[spans[own]], cuts[spans[own]])
            if places is None:
                return None
            u = b + places[j]
        if u >= n or frames[u] is None:
            return None
        return u, bool(u > 0 and cuts[u])

    def _convert(self, frames, sums, c) -> list[Frame]:
        """The output of frame ``c`` by interpolation (``frames``: the window the conversion needs)."""
        at_start = c < self.convert_before  # short only at the ends of the stream
        at_end = len(frames) - 1 - c < self.convert_after
        cuts, held = self._analyse(sums, at_start, at_end)
        retime = self.timing.retime
        cur = frames[c]
        end = frames[c + 1].time if c + 1 < len(frames) else cur.time + cur.duration
        slots = self.timing.frames_in(retime(cur.time), retime(end))
        if not slots:
            return []
        s, e = _run(held, c, len(frames), at_start, at_end)
        a = frames[s]
        b = frames[e + 1] if e + 1 < len(frames) else None
        pictures: dict[int, np.ndarray] = {}
        wanted = []
        later = set()  # slots that show b's own picture: past the middle of a cut's interval
        if b is not None:
            t_a, span = retime(a.time), retime(b.time) - retime(a.time)
            for k, (when, _) in enumerate(slots):
                u = (when - t_a) / span
                if u == 0:
                    continue
                if cuts[e]:
                    if self.at_cuts == "crossfade":
                        pictures[k] = self._rgb(a) * np.float32(1 - u) + self._rgb(b) * np.float32(u)
                    elif c == e and _past_middle(when, retime(cur.time), retime(b.time)):
                        later.add(k)
                else:
                    wanted.append((k, u))
        if wanted:
            prev, nxt, gaps = self._outer(frames, cuts, held, s, e)
            made = self.engine.interpolate(self._rgb(a), self._rgb(b), [float(u) for _, u in wanted],
                                           prev=None if prev is None else self._rgb(prev),
                                           nxt=None if nxt is None else self._rgb(nxt), gaps=gaps,
                                           keys=tuple(None if f is None else _key(f) for f in (prev, a, b, nxt)))
            pictures.update((k, p) for (k, _), p in zip(wanted, made))
        # the cut is noted on the first frame of the new shot: the first of ``later``, or this interval's
        # first frame when the cut's own interval (the one before) ended before showing the new shot
        first_new = min(later, default=None)
        if c > 0 and cuts[c - 1]:
            start, end = retime(frames[c - 1].time), retime(cur.time)
            if self.at_cuts == "crossfade" or not any(_past_middle(when, start, end)
                                                      for when, _ in self.timing.frames_in(start, end)):
                first_new = 0
        out = []
        for k, (when, duration) in enumerate(slots):
            meta = dict(cur.meta)
            meta.pop("cut", None)
            if k == first_new:
                meta["cut"] = True
            if k in later:  # b's own picture, retimed, untouched
                out.append(b.replace(time=when, duration=duration, index=cur.index, meta=meta))
            elif k in pictures:
                meta["interpolated"] = True
                out.append(Frame(image=pictures[k], time=when, duration=duration, index=cur.index,
                                 alpha=a.alpha_float() if a.alpha is not None else None, meta=meta))
            else:  # a's own picture, retimed: left as decoded, so it is written untouched
                out.append(a.replace(time=when, duration=duration, index=cur.index, meta=meta))
        return out

    def _analyse(self, sums, at_start, at_end) -> tuple[list[bool], list[bool]]:
        """Scene cuts and holds of every consecutive pair of the window (``sums``: the frames' summaries)."""
        thumbs = [s[3] for s in sums]
        pairs = list(zip(sums, sums[1:]))
        cuts = [self._remembered(("cut", f[:2], g[:2]), is_cut, thumbs[j], thumbs[j + 1])
                for j, (f, g) in enumerate(pairs)]
        if not self.dedup:
            return cuts, [False] * len(pairs)
        diffs = [duplicates.difference(thumbs[j], thumbs[j + 1]) for j in range(len(pairs))]
        held = duplicates.held_pairs(diffs, cuts)
        reach = duplicates.NEIGHBOURS
        for j in range(len(pairs)):  # a pair seen without all its neighbours is not judged here
            if (j < reach and not at_start) or (j + reach > len(pairs) - 1 and not at_end):
                held[j] = False
        return cuts, held

    def _outer(self, frames, cuts, held, s, e):
        """The frames before the hold-free pair (s, e + 1) and after it, in the same shot, and their gaps
        in units of the pair's interval."""
        retime = self.timing.retime
        span = retime(frames[e + 1].time) - retime(frames[s].time)
        prev = nxt = None
        gaps = (1.0, 1.0)
        if s > 0 and not cuts[s - 1]:
            p = s - 1
            while p > 0 and held[p - 1]:
                p -= 1
            prev = frames[p]
            gaps = (float((retime(frames[s].time) - retime(prev.time)) / span), gaps[1])
        k = e + 1
        while k < len(frames) - 1 and held[k]:
            k += 1
        if k + 1 < len(frames) and not cuts[k]:
            nxt = frames[k + 1]
            gaps = (gaps[0], float((retime(nxt.time) - retime(frames[e + 1].time)) / span))
        return prev, nxt, gaps

    def _rgb(self, frame: Frame) -> np.ndarray:
        """``frame.rgb()``, converted once per picture (callers must not write to it)."""
        return self._float(frame.image)

    def _remembered(self, key, make, *args):
        if key not in self._memo:
            self._memo[key] = make(*args)
            while len(self._memo) > 64:
                self._memo.popitem(last=False)
        return self._memo[key]

    def close(self) -> None:
        self._memo.clear()
        close = getattr(self.engine, "close", None)
        if close is not None:
            close()


def _run(held: list[bool], c: int, n: int, at_start: bool, at_end: bool) -> tuple[int, int]:
    """First and last frame of the hold the current frame belongs to; (c, c) when it is in none or the
    hold is longer than ``MAX_HOLD`` copies (a freeze) or runs out of the window."""
    s = c
    while s > 0 and held[s - 1]:
        s -= 1
    e = c
    while e < n - 1 and held[e]:
        e += 1
    if e - s > MAX_HOLD or (s == 0 and not at_start and s != c) or (e == n - 1 and not at_end and e != c):
        return c, c
    return s, e


def _past_middle(when: Fraction, start: Fraction, end: Fraction) -> bool:
    """``when`` lies in the later half of [start, end): nearer the later frame. A cut's time inside its
    interval is unknown, so repeating the nearer frame halves the expected stretch of the wrong shot."""
    return 2 * when > start + end


def _key(frame: Frame) -> tuple:
    return frame.index, frame.time


def _text(value: Fraction | None) -> str | None:
    return None if value is None else str(value)
