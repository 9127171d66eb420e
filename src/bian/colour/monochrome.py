"""Monochrome or not: a black-and-white picture, or one toned a single colour (sepia, selenium, gold,
cyanotype, a colour cast from the scanner), against a picture with colour of its own (an autochrome, a
colour print, a hand-tinted portrait), which colourising would throw away.

Two signs of colour of its own, both needed (measured on 38 real pictures, 2026-11-22: toned prints and
scans at most 13° and 3.5, colour photographs at least 18° and 4.7; a colour print faded to one hue
counts as toned): the hues of the clearly coloured pixels spread widely, and the chroma is not what the
lightness predicts (in a toned print each grey level has its one tint).
"""
from __future__ import annotations

import cv2
import numpy as np

from ..media.video import VideoInfo, sample_runs
from .lab import rgb_to_lab

HUE_SPREAD = 15.0
"""Circular standard deviation (degrees) of the hues above which a picture is not toned."""
UNEXPLAINED = 4.0
"""RMS chroma (Lab units) left over once each lightness level's typical tint is taken off."""
COLOURED = 4.0
"""Chroma (Lab units) of a clearly coloured pixel; paler ones are grey with a cast."""
LOOK_AT = (0.1, 0.3, 0.5, 0.7, 0.9)
"""Where in a video (shares of its duration) a frame is looked at; most must have colour of their own."""


def has_own_colour(rgb: np.ndarray) -> bool:
    """Whether float RGB H×W×3 in [0, 1] has colour of its own (see the module)."""
    scale = 256 / max(rgb.shape[:2])
    if scale < 1:
        rgb = cv2.resize(rgb, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    lab = rgb_to_lab(rgb).reshape(-1, 3)
    lab = lab[(lab[:, 0] > 8) & (lab[:, 0] < 95)]  # black and white have no reliable hue
    chroma = np.hypot(lab[:, 1], lab[:, 2])
    coloured = chroma > COLOURED
    if len(lab) == 0 or coloured.mean() < 0.05:  # grey, perhaps with a faint cast
        return False
    hue = np.arctan2(lab[coloured, 2], lab[coloured, 1])
    weight = chroma[coloured]
    resultant = np.hypot((weight * np.cos(hue)).sum(), (weight * np.sin(hue)).sum()) / weight.sum()
    spread = np.degrees(np.sqrt(-2 * np.log(max(resultant, 1e-9))))
    level = np.clip((lab[:, 0] / 5).astype(int), 0, 19)
    rest = lab[:, 1:].copy()
    for k in np.unique(level):
        here = level == k
        rest[here] -= np.median(lab[here, 1:], axis=0)
    unexplained = float(np.sqrt(np.mean(np.sum(rest ** 2, axis=1))))
    return spread > HUE_SPREAD and unexplained > UNEXPLAINED


def video_has_own_colour(video: VideoInfo) -> bool:
    """Whether most of a few frames spread over ``video`` have colour of their own."""
    frames = [run[0].astype(np.float32) / 255 for run in sample_runs(video, LOOK_AT, 1, "rgb24") if run]
    return sum(map(has_own_colour, frames)) > len(frames) / 2
