"""Motion-adaptive deinterlacing of woven frames (two fields per frame: DV, VHS, TV transfers).

A woven frame holds the first field's lines (its moment) and the second field's (half a frame period
later). The output keeps the first field's lines and rebuilds the other lines at the first field's
moment. Where the picture is still, the opposite-parity fields just before and just after that moment
(previous frame's second field, this frame's second field) agree, and their mean is the line: full
vertical detail, as a weave. Where it moves, the line is interpolated within the current field, the
neighbouring fields adding only vertical detail, and the result is held within the range the temporal
neighbours allow, so a still edge next to motion is not blurred. This is the scheme of Weston's
three-field deinterlacer with yadif's temporal checks (as FFmpeg's bwdif combines them); the taps below
are the published ones.

Film carried in fields is told apart by :func:`field_pattern` (field order, whole pictures in fields,
3:2 pull-down) and put back together by :func:`matching_field` (which frame holds a picture's other field).

Arrays: float32 H×W×C (or H×W) in [0, 1]; row 0 is the top line.
"""
from __future__ import annotations

import numpy as np

_SPATIAL = (np.float32(5077 / 8192), np.float32(981 / 8192))
"""Cubic through the current field's lines y±1, y±3 (only the current field is trusted)."""
_LOW = (np.float32(4309 / 8192), np.float32(213 / 8192))
"""Low vertical band from the current field (y±1, y±3) when the neighbouring fields add detail."""
_HIGH = (np.float32(5570 / 8192), np.float32(3801 / 8192), np.float32(1016 / 8192))
"""High vertical band from the mean of the neighbouring fields (lines y, y±2, y±4)."""
_PAD = 4
_MOTION = np.float32(6 / 255)
"""A difference between fields that counts as motion when judging field order (above grain and coding noise)."""


def weave(first: np.ndarray, second: np.ndarray, top_first: bool = True) -> np.ndarray:
    """The frame an interlaced camera writes: the first field's lines from ``first``, the others from
    ``second`` (top field = even rows). Same shape and dtype as the inputs."""
    out = first.copy()
    out[int(top_first)::2] = second[int(top_first)::2]
    return out


def line_double(frame: np.ndarray, top_first: bool = True) -> np.ndarray:
    """Each line of the first field shown twice (the plainest deinterlace): same shape and dtype."""
    keep = 0 if top_first else 1
    out = frame.copy()
    if frame.shape[0] < 2:  # a single line is one field: nothing to rebuild
        return out
    kept = frame[keep::2]
    count = len(out[1 - keep::2])
    out[1 - keep::2] = kept[np.minimum(np.arange(count), len(kept) - 1)]
    return out


def combing(image: np.ndarray) -> float:
    """How combed a picture is, in 8-bit levels: the root mean of the product of a line's differences to
    the lines above and below where both have the same sign (a line that sticks out of its neighbours),
    on the channel mean. A woven moving edge scores high; smooth or progressive pictures low."""
    grey = image.mean(axis=2) if image.ndim == 3 else image
    grey = grey.astype(np.float32)
    up = grey[1:-1] - grey[:-2]
    down = grey[1:-1] - grey[2:]
    return float(np.sqrt(np.maximum(up * down, 0).mean()) * 255)


def deinterlace(cur: np.ndarray, prev: np.ndarray | None = None, nxt: np.ndarray | None = None,
                top_first: bool = True) -> np.ndarray:
    """``cur`` with its second field's lines rebuilt at the first field's moment, using the woven frames
    before (``prev``) and after (``nxt``). A missing neighbour (the ends of a shot) is stood in for by
    the other one; with neither, the lines come from the current field alone.

    Inputs float32 in [0, 1], same shape (H×W or H×W×C); returns float32 in [0, 1]. The first field's
    lines are returned exactly.
    """
    cur = np.asarray(cur, np.float32)
    keep = 0 if top_first else 1
    height = cur.shape[0]
    missing = len(range(1 - keep, height, 2))
    out = cur.copy()
    if height < 2:  # a single line is one field: nothing to rebuild
        return out
    c = _pad(cur)

    def rows(frame: np.ndarray, offset: int) -> np.ndarray:
        return _rows(frame, keep, missing, offset)

    above, below = rows(c, -1), rows(c, 1)
    spatial = _SPATIAL[0] * (above + below) - _SPATIAL[1] * (rows(c, -3) + rows(c, 3))
    if prev is None and nxt is None:
        out[1 - keep::2] = np.clip(spatial, 0, 1)
        return out
    p = _pad(np.asarray(prev if prev is not None else nxt, np.float32))
    n = _pad(np.asarray(nxt if nxt is not None else prev, np.float32))
    # The opposite field just before the first field's moment (previous frame's second field) and just
    # after it (this frame's second field).
    before_field, after_field = p, c
    line = (rows(before_field, 0) + rows(after_field, 0)) * np.float32(0.5)
    change = np.abs(rows(before_field, 0) - rows(after_field, 0))
    moved_prev = (np.abs(rows(p, -1) - above) + np.abs(rows(p, 1) - below)) * np.float32(0.5)
    moved_next = (np.abs(rows(n, -1) - above) + np.abs(rows(n, 1) - below)) * np.float32(0.5)
    motion = np.maximum(np.maximum(change * np.float32(0.5), moved_prev), moved_next)
    # yadif's spatial check: allow more when the line is not between its neighbours' trends (motion the
    # temporal differences miss); never where nothing changed at all (a still picture is woven)
    up2 = (rows(before_field, -2) + rows(after_field, -2)) * np.float32(0.5) - above
    down2 = (rows(before_field, 2) + rows(after_field, 2)) * np.float32(0.5) - below
    to_above, to_below = line - above, line - below
    high = np.maximum(np.maximum(to_below, to_above), np.minimum(up2, down2))
    low = np.minimum(np.minimum(to_below, to_above), np.maximum(up2, down2))
    bound = np.where(motion > 0, np.maximum(motion, np.maximum(low, -high)), motion)
    detail = (_HIGH[0] * line * 2 - _HIGH[1] * (rows(before_field, -2) + rows(after_field, -2)
                                                + rows(before_field, 2) + rows(after_field, 2))
              + _HIGH[2] * (rows(before_field, -4) + rows(after_field, -4) + rows(before_field, 4)
                            + rows(after_field, 4))) * np.float32(0.25)
    both = detail + _LOW[0] * (above + below) - _LOW[1] * (rows(c, -3) + rows(c, 3))
    guess = np.where(np.abs(above - below) > change, both, spatial)
    rebuilt = np.clip(guess, line - bound, line + bound)
    out[1 - keep::2] = np.clip(rebuilt, 0, 1)
    return out


def _rows(padded: np.ndarray, keep: int, missing: int, offset: int) -> np.ndarray:
    """Of a :func:`_pad`-ed frame, the lines ``offset`` away from each of the ``missing`` lines of the field
    of parity 1 − ``keep`` (the one rebuilt)."""
    start = _PAD + 1 - keep + offset
    return padded[start:start + 2 * missing - 1:2]


def _pad(frame: np.ndarray) -> np.ndarray:
    """``frame`` with ``_PAD`` rows mirrored at top and bottom. Reflection keeps line parity (row −k is
    row k), so a padded line always stands for a line of its own field."""
    return np.pad(frame, ((_PAD, _PAD),) + ((0, 0),) * (frame.ndim - 1), mode="reflect")


def field_pattern(frames: list[np.ndarray]) -> dict:
    """How the fields of consecutive woven frames relate in time, from their pictures alone.

    ``frames``: consecutive woven frames, grey float32 H×W in [0, 1]. Each frame's bottom field is
    compared with the top field (moved half a line down by averaging its lines) of the same frame, the
    previous and the next one. Top field first, a bottom field lies between its own frame's top field and
    the next frame's, so the previous frame's differs most; bottom field first, the next frame's. A frame
    whose two fields match each other much better than either neighbour's shows one moment (a progressive
    picture carried as two fields: film transferred 2:2); one whose fields match a neighbour's much better
    than each other is combed across moments by a pull-down. Frames without clear motion say nothing.

    Returns how many frames said each: ``{"tff", "bff", "progressive", "combed"}``, and ``"telecine"``:
    True when the combed frames come two in every five (3:2 pull-down: 24 film frames over 60 fields).
    Also the same comparisons judged on vertical edges only (:func:`_edge_vote`), which fine horizontal
    detail cannot fool: ``{"edge_tff", "edge_bff", "edge_progressive"}``, and ``"frames"``: how many frames
    were judged (all but the first and last).
    """
    votes = {"tff": 0, "bff": 0, "progressive": 0, "combed": 0, "edge_tff": 0, "edge_bff": 0,
             "edge_progressive": 0, "frames": max(0, len(frames) - 2)}
    combed: list[bool | None] = []
    tops = [(f[0::2][:-1] + f[0::2][1:]) * np.float32(0.5) for f in frames]
    bottoms = [f[1::2][: len(t)] for f, t in zip(frames, tops)]
    for k in range(1, len(frames) - 1):
        diffs = np.stack([np.abs(bottoms[k] - tops[j]) for j in (k, k - 1, k + 1)])
        edge = _edge_vote(diffs, tops[k - 1:k + 2], bottoms[k])
        if edge:
            votes[f"edge_{edge}"] += 1
        # judged where the three disagree (moving parts): still detail and grain weigh on all three alike
        moving = diffs.max(axis=0) - diffs.min(axis=0) > _MOTION
        if moving.mean() < 0.002:
            combed.append(None)  # no clear motion
            continue
        same, before, after = (float(d[moving].mean()) for d in diffs)
        low, high = min(same, before, after), max(same, before, after)
        if high < 1.5 * low:
            combed.append(None)  # no clear motion
            continue
        combed.append(same > 2 * min(before, after))
        if same < 0.6 * min(before, after):
            votes["progressive"] += 1
        elif combed[-1]:
            votes["combed"] += 1
        elif max(before, after) > 1.25 * min(before, after):  # else too close to call
            votes["tff" if before > after else "bff"] += 1
    votes["telecine"] = _pull_down(combed)
    return votes


_EDGE = np.float32(16 / 255)
"""Least change across a field's columns that counts as a vertical edge."""
_REACH = 2
"""Lines of its field above and below over which a vertical edge must be flat, in every field compared
(with one, text rolling up two lines a frame came out combed)."""


def _edge_vote(diffs: np.ndarray, tops: list[np.ndarray], bottom: np.ndarray) -> str | None:
    """What a frame's vertical edges say about its fields: "tff", "bff", "progressive" or None.

    ``diffs``: the bottom field's differences to the (half-line shifted) top fields of the same, previous
    and next frame; ``tops``: those top fields (previous, same, next); ``bottom``: the bottom field.
    Judged only on vertical edges (the picture changes along a line, flat over :data:`_REACH` lines above
    and below in every field compared) and only where the differences exceed what a vertical shift could
    make there: fine horizontal detail, which one field cannot predict from the other, says nothing, and
    neither does vertical motion, which a spatial offset between the fields mimics (a line-doubled or
    upscaled picture panning). What is left is sideways motion, which only a time offset between the
    fields explains. There, a woven frame's own fields differ about as much as one field and the nearer
    field of a neighbour (half a frame period each), and much less than the farther one (one and a half);
    a progressive frame's own fields agree. The neighbours' top fields must differ from this one on both
    sides (a held frame matches its copy for want of motion, not by its moment)."""
    top, r = tops[1], _REACH
    across = np.abs(top[r:-r, 2:] - top[r:-r, :-2]) if len(top) > 2 * r else np.zeros((0, 0), np.float32)
    ys, xs = np.nonzero(across > _EDGE)  # the few candidates, looked at closely (a plan looks at 42 frames)
    if len(ys) < 50:
        return None
    across, ys, xs = across[ys, xs], ys + r, xs + 1
    # how much each candidate differs from its field's lines up to _REACH above and below, in any field
    # compared: what a vertical shift (motion, or a spatial offset between the fields) can change there
    down = np.zeros(len(ys), np.float32)
    for field in (*tops, bottom):
        centre = field[ys, xs]
        for j in (*range(-r, 0), *range(1, r + 1)):
            down = np.maximum(down, np.abs(field[ys + j, xs] - centre))
    near = diffs[:, ys, xs]
    moving = (across > 2 * down) & (near.max(axis=0) - near.min(axis=0) > _MOTION + down)
    if moving.sum() < max(50, top.size // 2000):
        return None  # too little sideways motion to judge
    ys, xs = ys[moving], xs[moving]
    same, before, after = (float(d) for d in near[:, moving].mean(axis=1))
    close, far = min(before, after), max(before, after)
    if same < 0.35 * close:
        return "progressive"
    neighbours = min(float(np.abs(top[ys, xs] - t[ys, xs]).mean()) for t in (tops[0], tops[2]))
    if far > 1.6 * close and same > 0.6 * close and neighbours > 0.4 * far:
        return "tff" if before > after else "bff"
    return None


def _pull_down(combed: list[bool | None]) -> bool:
    """True when, at some phase, two frames of every five are combed and the other three not (3:2)."""
    if sum(c is not None for c in combed) < 10:
        return False
    for phase in range(5):
        fit = [c == ((i - phase) % 5 >= 3) for i, c in enumerate(combed) if c is not None]
        if sum(fit) >= 0.9 * len(fit):
            return True
    return False


def matching_field(cur: np.ndarray, prev: np.ndarray | None, nxt: np.ndarray | None,
                   top_first: bool = True) -> int | None:
    """Which frame holds the other field of the picture ``cur``'s first field belongs to: −1 (``prev``),
    0 (``cur`` itself) or 1 (``nxt``); None when none stands out. Film carried in fields (a 3:2 pull-down,
    or 2:2 with the fields shifted by one) puts a film frame's two fields in neighbouring video frames;
    weaving them back (:func:`weave`) gives the film frame itself, with no interpolation.

    Each candidate second field is judged woven with the first field, where the candidates differ
    (motion): the one that combs least wins when it combs under half as much as the best other (a field
    repeated in two frames counts once). Interlaced video proper has no such winner often enough to
    trust: look for pull-down first (:func:`field_pattern`). None too without both neighbours (at the ends
    of a shot the right field may be the one missing, and the best of the rest is then wrong).
    ``cur``, ``prev``, ``nxt``: float32 H×W or H×W×C.
    """
    keep = 0 if top_first else 1
    if cur.shape[0] < 2 or prev is None or nxt is None:  # the right field may be the missing one
        return None
    candidates = [(0, cur), (-1, prev), (1, nxt)]
    grey = [f.mean(axis=2) if f.ndim == 3 else np.asarray(f, np.float32) for _, f in candidates]
    missing = len(range(1 - keep, cur.shape[0], 2))
    padded = _pad(grey[0])
    above, below = _rows(padded, keep, missing, -1), _rows(padded, keep, missing, 1)
    lines = [g[1 - keep::2] for g in grey]
    differ = np.max(lines, axis=0) - np.min(lines, axis=0) > _MOTION
    if differ.mean() < 0.001:
        return None
    scores = [float(np.maximum((line - above) * (line - below), 0)[differ].mean()) for line in lines]
    best = int(np.argmin(scores))
    others = [score for line, score in zip(lines, scores) if not np.array_equal(line, lines[best])]
    if not others or not scores[best] < 0.5 * min(others):
        return None
    return candidates[best][0]
