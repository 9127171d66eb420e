"""Pull-down cadence: film of rate r carried at 5/4 r by showing one frame in every five twice (24 fps film
telecined to 29.97 and field-matched, 16 fps film printed for 20 fps), or at 5/2 r by showing each film
frame three times, then two (24 fps film at 59.94 fps: 3:2 or 2:3:3:2 at the field rate).

A copy differs from the frame before it by coding noise only, but a noisy copy in a slow shot can differ
as much as two real frames do, so a pair is not judged alone: each cycle of five pairs shows where its
pairs are clearly low, and a cycle is taken as pull-down when the cycles around it are low at the same
place. The copy's place may change at an edit made on video; the cycles
on each side of the edit are judged apart.
"""
from __future__ import annotations

import numpy as np

CYCLE = 5
"""Frames per cycle: four film frames and one copy."""
VOTE = 0.35
"""A pair of a cycle is firmly low when its difference is below this share of the median of the cycle's
pairs."""
LEAN = 0.7
"""…and leans low below this share (a slow or still shot, where a copy's coding noise is close to the change
between two real frames)."""
VOTES = 3
"""Cycles that must be firmly low at a place (among the judged ones: the current cycle and its neighbours
up to the first cycle firmly low elsewhere only)."""


def lows(diffs: np.ndarray, cuts: np.ndarray) -> tuple[set[int], set[int]]:
    """(places firmly low, places low or leaning low) of one cycle: where its copy may be. A film that holds
    a picture adds a second low place.

    diffs: float array of the cycle's 5 pair differences (any unit; pair k is frames k − 1 and k of the
    cycle; NaN where the pair is missing at the stream's start); cuts: bool array, the pair spans a scene
    cut (never a copy, and not a measure of motion either). Fewer than 4 usable pairs: no places.
    """
    usable = ~cuts & ~np.isnan(diffs)
    if usable.sum() < 4:
        return set(), set()
    median = max(float(np.median(diffs[usable])), 1e-12)
    places = np.flatnonzero(usable)
    return ({int(k) for k in places if diffs[k] < VOTE * median},
            {int(k) for k in places if diffs[k] < LEAN * median})


def copy_place(cycles: list[tuple[set[int], set[int]]], own: int) -> int | None:
    """Place of the copy in cycle ``own`` of ``cycles`` (:func:`lows` of each cycle in a row), or None.

    For a place, the cycles judged run from ``own`` outward on each side up to (not including) the first
    that is firmly low elsewhere only (an edit made on video moved the copy). The place holds when
    :data:`VOTES` of them (at least 2, all there are at the stream's ends) are firmly low there and fewer
    lean low only elsewhere, or when every cycle (at least 4) is low or leans low there. Next to a cycle
    firmly low elsewhere only, the own cycle must itself be low or lean low at the place (the edit, and a
    frame left over by it, may lie in this cycle). Two places that hold (pictures held on twos): None.
    Failing these, a cycle firmly low at one place only stands alone when :data:`VOTES` of the cycles are
    each firmly low at one place (one copy in every five, its place drifting).
    """
    found = []
    for place in range(CYCLE):
        if cycles[own][0] and place not in cycles[own][0]:
            continue
        firm = elsewhere = 0
        for side in (range(own, -1, -1), range(own + 1, len(cycles))):
            for m in side:
                strong, weak = cycles[m]
                if strong and place not in strong:
                    if abs(m - own) == 1 and place not in cycles[own][1]:
                        firm = -1  # next to a moved copy, and nothing low here: the edit may be in this cycle
                    break
                firm += place in strong
                elsewhere += bool(weak) and place not in weak
            if firm < 0:
                break
        steady = len(cycles) >= 4 and all(place in weak for _, weak in cycles)
        if (firm >= min(VOTES, len(cycles)) and firm >= 2 and elsewhere < firm) or steady:
            found.append(place)
    if len(found) == 1:
        return found[0]
    # the copy's place drifts by a frame now and then (a rate converted from rounded timestamps), but every
    # cycle around still holds exactly one copy: this cycle's own clear copy stands
    single = sum(len(strong) == 1 for strong, _ in cycles)
    if not found and len(cycles[own][0]) == 1 and single >= max(2, min(VOTES, len(cycles))):
        return next(iter(cycles[own][0]))
    return None


def starts(diffs: np.ndarray, cuts: np.ndarray) -> tuple[tuple[int, int], bool] | None:
    """(places of the two film frames' first showings, firm) in one cycle of film at 2/5 the video's rate (24 fps
    film at 59.94 fps, each film frame shown three times, then two: 3:2, or 2:3:3:2): the two pairs that
    change most, 2 or 3 apart; firm when the three copies all change less than :data:`VOTE` × the smaller of
    them. None when they are not 2 or 3 apart or a copy would span a cut.

    diffs, cuts: as for :func:`lows`; a pair across a cut, or the stream's first frame (NaN at place 0),
    starts a film frame.
    """
    new = cuts | np.isnan(diffs)
    if np.isnan(diffs[1:]).any():
        return None  # past the stream's end
    order = np.argsort(np.where(new, np.inf, diffs), kind="stable")
    low, high = order[:3], np.sort(order[3:])
    if new[low].any():
        return None
    first, second = (int(k) for k in high)
    if second - first not in (2, 3):
        return None
    real = [diffs[k] for k in high if not new[k]]
    return (first, second), bool(not real or diffs[low].max() < VOTE * min(real))


def start_places(found: list, own: int, diffs: np.ndarray, cuts: np.ndarray) -> tuple[int, int] | None:
    """The two first showings in cycle ``own`` of ``found`` (:func:`starts` of each cycle in a row), or None.

    Firm cycles: at least :data:`VOTES` of them (all there are at the stream's ends), and the own cycle's
    first showings follow the cycle before's last by 2 or 3 frames. A cycle that is not firm (a film frame held
    by the film itself, noisy copies) takes the places of the cycle two before (3:2 repeats every cycle,
    2:3:3:2 every two) when both cycles before are firm and the copies that places are low: no cut, all below
    :data:`VOTE` × the larger first showing (``diffs``, ``cuts``: the own cycle's, as for :func:`lows`). In a
    slow shot where no cycle is firm, the places hold when all the cycles (at least 4) repeat the pattern:
    each cycle's places those of the cycle two before, 2 or 3 frames after the cycle before's.
    """
    places = [None if f is None else f[0] for f in found]
    firm = [f is not None and f[1] for f in found]

    def follows(m: int, mine) -> bool:  # the film frame across the cycles' border is shown 2 or 3 times
        return m == 0 or places[m - 1] is None or mine[0] + CYCLE - places[m - 1][1] in (2, 3)

    mine = places[own] if firm[own] else None
    if mine is None and own >= 2 and firm[own - 1] and firm[own - 2]:
        copies = [k for k in range(CYCLE) if k not in places[own - 2]]
        if not (cuts[copies].any() or np.isnan(diffs).any()) and \
                diffs[copies].max() < VOTE * max(diffs[k] for k in places[own - 2]):
            mine = places[own - 2]
    if mine is not None and sum(firm) >= min(VOTES, len(found)):
        return mine if follows(own, mine) else None
    steady = len(found) >= 4 and all(p is not None for p in places) and all(
        follows(m, places[m]) and (m < 2 or places[m] == places[m - 2]) for m in range(len(found)))
    return places[own] if steady else None


def plausible_copy(diffs: np.ndarray, cuts: np.ndarray, place: int) -> bool:
    """The pair at ``place`` of a cycle (arrays as for :func:`lows`) may be a copy: it spans no cut and
    changes no more than the median of the cycle's other pairs (a frame left over at an edit changes like
    any real frame)."""
    if cuts[place] or np.isnan(diffs[place]):
        return False
    others = [d for k, (d, cut) in enumerate(zip(diffs, cuts)) if k != place and not cut and not np.isnan(d)]
    return not others or diffs[place] <= float(np.median(others))
