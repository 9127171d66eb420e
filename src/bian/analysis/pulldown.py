"""Pull-down cadence: film of rate r carried at 5/4 r by showing one frame in every five twice (24 fps film
telecined to 29.97 and field-matched, 16 fps film printed for 20 fps).

A copy differs from the frame before it by coding noise only, but a noisy copy in a slow shot can differ
as much as two real frames do, so a pair is not judged alone: each cycle of five pairs votes for the place
of its copy when one pair is clearly the smallest, and a cycle is taken as pull-down when the cycles
around it vote for the same place. The copy's place may change at an edit made on video; the cycles
on each side of the edit are judged apart.
"""
from __future__ import annotations

import numpy as np

CYCLE = 5
"""Frames per cycle: four film frames and one copy."""
VOTE = 0.35
"""A cycle votes firmly for its smallest pair when that pair's difference is below this share of the median
of the cycle's other pairs."""
LEAN = 0.7
"""…and leans to it below this share (a slow or still shot, where a copy's coding noise is close to the
change between two real frames)."""
VOTES = 3
"""Firm votes needed for a place among the cycles judged (the current one and its neighbours up to the first
cycle that votes firmly for another place)."""


def vote(diffs: np.ndarray, cuts: np.ndarray) -> tuple[int, bool] | None:
    """(place 0…4 of the copy in one cycle, firm), or None when no pair stands out.

    diffs: float array of the cycle's 5 pair differences (any unit; pair k is frames k − 1 and k of the
    cycle; NaN where the pair is missing at the stream's start); cuts: bool array, the pair spans a scene
    cut (never a copy, and not a measure of motion either).
    """
    usable = ~cuts & ~np.isnan(diffs)
    if usable.sum() < 4:
        return None
    places = np.flatnonzero(usable)
    best = places[np.argmin(diffs[places])]
    ratio = diffs[best] / max(float(np.median(diffs[places[places != best]])), 1e-12)
    return (int(best), bool(ratio < VOTE)) if ratio < LEAN else None


def copy_place(votes: list[tuple[int, bool] | None], own: int) -> int | None:
    """Place of the copy in cycle ``own`` of ``votes`` (:func:`vote` of each cycle in a row), or None.

    The place is the firm vote nearest ``own`` (the own cycle's first), else the nearest lean; the cycles
    counted run from ``own`` outward on each side up to (not including) the first that votes firmly for
    another place. Either :data:`VOTES` of them (at least 2, all there are at the stream's ends) vote firmly
    for the place and fewer lean elsewhere, or all the cycles (at least 4) vote or lean for it.
    """
    place = _nearest(votes, own, firm=True)
    if place is None:
        place = _nearest(votes, own, firm=False)
    if place is None:
        return None
    firm = elsewhere = 0
    for side in (range(own, -1, -1), range(own + 1, len(votes))):
        for m in side:
            if votes[m] is None:
                continue
            if votes[m][0] != place:
                if votes[m][1]:
                    break
                elsewhere += 1
            else:
                firm += votes[m][1]
    if firm >= min(VOTES, len(votes)) and firm >= 2 and elsewhere < firm:
        return place
    return place if len(votes) >= 4 and all(v is not None and v[0] == place for v in votes) else None


def _nearest(votes, own: int, firm: bool) -> int | None:
    """The place voted by the cycle nearest ``own`` (firmly, if ``firm``); None if none, or if the two
    nearest, one on each side, disagree."""
    near = sorted((abs(m - own), m) for m, v in enumerate(votes) if v is not None and (v[1] or not firm))
    if not near or (len(near) > 1 and near[0][0] == near[1][0] and votes[near[0][1]][0] != votes[near[1][1]][0]):
        return None
    return votes[near[0][1]][0]


def plausible_copy(diffs: np.ndarray, cuts: np.ndarray, place: int) -> bool:
    """The pair at ``place`` of a cycle (arrays as for :func:`vote`) may be a copy: it spans no cut and
    changes no more than the median of the cycle's other pairs (a frame left over at an edit changes like
    any real frame)."""
    if cuts[place] or np.isnan(diffs[place]):
        return False
    others = [d for k, (d, cut) in enumerate(zip(diffs, cuts)) if k != place and not cut and not np.isnan(d)]
    return not others or diffs[place] <= float(np.median(others))
