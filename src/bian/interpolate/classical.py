"""The offline interpolation engine: optical flow, no model.

For a pair of frames (and, when the caller has them, the frames either side, for acceleration):

1. dense flow both ways (DIS, coarse to fine) on a grey working copy at most ``motion_size`` pixels
   wide, and occlusion from forward–backward consistency;
2. for each time t, three candidate paths through every pixel: the constant-acceleration path of
   frame 0's pixels, the same seen from frame 1 (straight lines when there is no outer frame), and
   no motion at all;
3. each candidate is scored by how well the two frames agree along it (grain-smoothed luma, gain
   matched so flicker does not count, averaged over a neighbourhood); where a candidate says a pixel
   is hidden in one frame, only the other frame paints it and the score is a fixed penalty;
4. the candidates' pictures, each a blend of both frames weighted by distance in time, are mixed with
   soft-min weights of their scores.

Keeping several hypotheses instead of trusting one flow field is what makes it hold up on film:
where grain, dust or gate weave make the motion uncertain, the mix leans towards the paths both
frames agree on, or towards a plain blend, instead of tearing the picture.
"""
from __future__ import annotations

from collections import OrderedDict

import cv2
import numpy as np

from ..analysis.luma import luma_of
from . import motion

_SCORE_BLUR = 1.0
"""Grain suppression before scoring (Gaussian sigma, working pixels)."""
_SCORE_RADIUS = 4.0
"""Neighbourhood over which a candidate's agreement is averaged (Gaussian sigma, working pixels)."""
_TEMPERATURE = 0.016
"""Soft-min temperature, on mean absolute luma differences in [0, 1]."""
_HIDDEN_COST = 0.03
"""Score where a candidate says the pixel is visible in one frame only."""
_KERNEL = cv2.INTER_LINEAR
HEDGE = 0.35
"""Most weight given to the plain blend for doubt about the motion's timing (below)."""
_DOUBT = 2.0
"""Path bend (full-size pixels) at which the doubt is complete."""


class FlowInterpolator:
    """Optical-flow interpolation. Pictures are float32 RGB H×W×3 in [0, 1]; results likewise.

    Motion is estimated on a copy at half the picture's size, its longest side at most
    ``motion_size`` (larger is slower and finds finer motion). At full size DIS's small patches match
    grain and coding noise as much as the picture: on remaster_clip (432 px) half size scored as
    well as full size in a quarter of the time. On sample_bw (920 px; windows outside the benchmark)
    the gain over minterpolate grew with the working size, +1.64/+1.74/+1.79 dB at 320/400/460 px
    (460 = half size), for 1/1.2/1.8 times the CPU: 400 is the cap. Flows between frames given ``keys`` are remembered
    for the next few calls, so a sliding window computes each flow once; the results are the same
    with or without keys.
    """

    name = "flow"

    def __init__(self, motion_size: int = 400, remember: int = 8):
        self.motion_size = motion_size
        self._memo: OrderedDict = OrderedDict()
        self._remember = remember
        self._scratch = _Scratch()

    def describe(self) -> dict:
        return {"engine": self.name, "motion_size": self.motion_size}

    def interpolate(self, a: np.ndarray, b: np.ndarray, times, prev: np.ndarray | None = None,
                    nxt: np.ndarray | None = None, gaps: tuple[float, float] = (1.0, 1.0),
                    keys: tuple | None = None) -> list[np.ndarray]:
        """Pictures at each t in ``times`` (0 < t < 1, in units of the a → b interval).

        ``prev``/``nxt``: the frames before ``a`` and after ``b`` in the same shot, at −gaps[0] and
        1 + gaps[1]; they let the motion bend. ``keys``: hashable identities of (prev, a, b, nxt).
        """
        times = [float(t) for t in times]
        if not times:
            return []
        keys = keys or (None,) * 4
        grey = [None if img is None else self._remembered(("grey", k), self._working, img)
                for img, k in zip((prev, a, b, nxt), keys)]

        def flow(i, j):
            return self._remembered(("flow", keys[i], keys[j]), motion.dense_flow, grey[i], grey[j])

        f01, f10 = flow(1, 2), flow(2, 1)
        f0p = flow(1, 0) if prev is not None else None
        f1n = flow(2, 3) if nxt is not None else None
        g0, g1 = (cv2.GaussianBlur(g, (0, 0), _SCORE_BLUR).astype(np.float32) * np.float32(1 / 255)
                  for g in grey[1:3])
        g1 *= np.float32(g0.mean() / max(float(g1.mean()), 1e-3))  # flicker: compare at equal exposure
        # luma and "hidden in the other frame" sampled together
        probe0 = np.dstack([g0, motion.occlusion(f01, f10)])
        probe1 = np.dstack([g1, motion.occlusion(f10, f01)])
        # Doubt about where a point is at t: film's motion is often not smooth (uneven cranking, gate
        # weave), and the bend of the path through the frames either side, |a|/2 · t(1 − t), says how
        # far a straight path may be off. Under that doubt the average of the two frames is the better
        # guess, so the blend gets more weight; with no outer frames the doubt is taken as half.
        bend = None
        if f0p is not None and f1n is not None:
            bend = (np.sqrt(motion.squared_length(motion.acceleration(f01, f0p, gaps[0])))
                    + np.sqrt(motion.squared_length(motion.acceleration(f10, f1n, gaps[1]))))
            bend = cv2.GaussianBlur(bend, (0, 0), _SCORE_RADIUS) * np.float32(a.shape[1] / g0.shape[1] / 4)
        out = []
        for t in times:
            doubt = (np.float32(0.5) if bend is None
                     else np.minimum(bend * np.float32(t * (1 - t) / _DOUBT), np.float32(1)))
            paths = _paths(t, f01, f10, f0p, f1n, gaps)
            costs, shares = [], []
            for p0, p1 in paths:
                s0, s1 = motion.sample(probe0, p0), motion.sample(probe1, p1)
                hid0, hid1 = s0[..., 1], s1[..., 1]
                hidden = np.maximum(hid0, hid1)
                err = np.abs(s0[..., 0] - s1[..., 0]) * (1 - hidden) + _HIDDEN_COST * hidden
                costs.append(cv2.GaussianBlur(err, (0, 0), _SCORE_RADIUS))
                w0, w1 = (1 - t) * (1 - hid1) + 1e-4, t * (1 - hid0) + 1e-4
                shares.append(w1 / (w0 + w1))
            costs.append(cv2.GaussianBlur(np.abs(g0 - g1), (0, 0), _SCORE_RADIUS))  # no motion
            shares.append(np.full_like(g0, t))
            cost = np.stack(costs)
            weight = np.exp((cost.min(0) - cost) * np.float32(1 / _TEMPERATURE))
            weight /= weight.sum(0)
            weight[-1] += (1 - weight[-1]) * np.float32(HEDGE) * doubt
            out.append(_render(a, b, t, paths, shares, weight, self._scratch))
        return out

    def _working(self, rgb: np.ndarray) -> np.ndarray:
        h, w = rgb.shape[:2]
        scale = max(max(h, w) / self.motion_size, 2.0)
        grey = luma_of(rgb)  # luma first: one channel to shrink, not three
        if min(h, w) / scale >= 16:
            grey = cv2.resize(grey, (max(8, round(w / scale)), max(8, round(h / scale))), interpolation=cv2.INTER_AREA)
        return motion.luma_u8(grey)

    def _remembered(self, key, make, *args):
        if None in key:
            return make(*args)
        if key not in self._memo:
            self._memo[key] = make(*args)
            while len(self._memo) > self._remember:
                self._memo.popitem(last=False)
        return self._memo[key]


def _paths(t, f01, f10, f0p, f1n, gaps):
    """Per candidate path, the offsets (into frame 0, into frame 1) of the point that is at y at time t."""
    # frame 0's pixels moved to time t; then which of them arrives at y, and its match in frame 1
    p0 = -motion.trajectory(motion.quadratic_displacement(f01, f0p, gaps[0], t))
    p1 = -motion.trajectory(motion.quadratic_displacement(f10, f1n, gaps[1], 1 - t))
    return [(p0, p0 + motion.sample(f01, p0)), (p1 + motion.sample(f10, p1), p1)]


def _render(a, b, t, paths, shares, weight, scratch) -> np.ndarray:
    """The picture at full size: the motion candidates merged into one path per frame, P0 and P1 (their
    offsets averaged with the weight each candidate takes from that frame) and one share S, each frame
    warped once; then mixed as pictures with the no-motion candidate, a plain blend, by its weight w:
    (1 − w) · ((1 − S) · a(P0) + S · b(P1)) + w · ((1 − t) · a + t · b).
    Motion candidates that mix have close scores and nearly agree, so averaging their paths changes
    little and saves two warps per candidate. The blend stays a picture: where the motion is uncertain
    (weave, uneven cranking, grain) the average of two positions is a better guess than one between."""
    h, w = a.shape[:2]
    mh, mw = weight.shape[1:]
    full = (mh, mw) == (h, w)

    def up(x, name):
        return x if full else cv2.resize(x, (w, h), dst=scratch(name, (h, w)), interpolation=cv2.INTER_LINEAR)

    moving = weight[:-1]
    take_b = moving * np.stack(shares[:-1])
    take_a = moving - take_b
    warped = []
    for image, side, take in ((a, 0, take_a), (b, 1, take_b)):
        # x and y apart: numpy's loops over a last axis of two (broadcast weights) are ten times slower
        norm = np.float32(1) / np.maximum(take.sum(0), np.float32(1e-6))
        offset = np.empty_like(paths[0][side])
        for c, scale in enumerate((w / mw, h / mh)):  # to full-size pixels (resizing is linear)
            mean = sum(paths[k][side][..., c] * take[k] for k in range(len(paths)))
            offset[..., c] = mean * (norm * np.float32(scale))
        where = scratch(f"where{side}", (h, w, 2))
        if full:
            cv2.add(offset, motion.pixel_grid(h, w), dst=where)
        else:
            motion.upsampled_map(offset, h, w, out=where)
        warped.append(cv2.remap(image, where, None, _KERNEL, dst=scratch(f"warped{side}", image.shape),
                                borderMode=cv2.BORDER_REPLICATE))
    share = up(take_b.sum(0) / np.maximum(moving.sum(0), 1e-6), "share")
    still = up(weight[-1], "still")
    # blendLinear: per-pixel weights for all channels at once (weights that sum to 1 here)
    moved = cv2.blendLinear(warped[0], warped[1], np.subtract(1, share, out=scratch("1-share", (h, w))), share,
                            dst=scratch("moved", a.shape))
    plain = cv2.addWeighted(a, 1 - t, b, t, 0.0, dst=scratch("plain", a.shape))
    out = cv2.blendLinear(moved, plain, np.subtract(1, still, out=scratch("1-still", (h, w))), still)
    return np.clip(out, 0.0, 1.0, out=out)


class _Scratch(dict):
    """Work arrays kept from one picture to the next, each wholly overwritten at every use: fresh
    full-size arrays for every picture cost about as much CPU in page faults as the arithmetic."""

    def __call__(self, name: str, shape: tuple) -> np.ndarray:
        array = self.get(name)
        if array is None or array.shape != tuple(shape):
            array = self[name] = np.empty(shape, np.float32)
        return array
