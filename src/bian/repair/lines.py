"""Vertical line scratches on film: thin, straight, long, and often at the same place for many frames.

Because such a scratch sits at (nearly) the same place in the neighbouring frames too, comparing
frames cannot find it; its shape can (Kokaram 1996, Joyeux et al. 1999). A scratch is a narrow ridge
or valley across the image row that keeps its sign and strength down a long run of rows, which
picture content rarely does. Detection: a horizontal top-hat (what a 1×7 opening or closing
removes) isolates ridges narrower than 7 px; its mean down a tall window, compared with the columns
beside it, marks columns carrying a scratch; pixels of those columns whose own response is clear form
the mask.

Luma in: float32 H×W in [0, 1].
"""
from __future__ import annotations

import cv2
import numpy as np

_WIDTH = 7
"""Scratches up to about 4 px wide pass through a 1×7 opening; wider structures are picture content."""


def detect_line_scratches(luma: np.ndarray, sensitivity: float = 0.5, min_length: float = 0.6) -> np.ndarray:
    """Bool H×W mask of vertical line scratches in one frame.

    ``min_length``: the shortest scratch, as a fraction of the frame height (shorter ridges are
    content: poles, edges of doors). ``sensitivity`` in [0, 1]: higher finds fainter scratches.
    """
    h, w = luma.shape
    kernel = np.ones((1, _WIDTH), np.uint8)
    found = np.zeros((h, w), bool)
    run = max(8, int(min_length * h))
    scale = 1.5 - sensitivity  # 0.5 → 1.0
    # Mean step across each column (8 px apart), down the run: the halo beside a long edge (a frame
    # border, a door post) is a ridge too, but it lies next to a step much larger than itself.
    # (The frame's edge repeated outwards, so that the columns near the sides have a step too; the mean
    # down the run over the rows that exist, like the ridge's own mean below.)
    padded = cv2.copyMakeBorder(luma, 0, 0, 4, 4, cv2.BORDER_REPLICATE)
    step = np.abs(padded[:, 8:] - padded[:, :-8])
    step = cv2.dilate(cv2.blur(step, (1, run), borderType=cv2.BORDER_REFLECT), np.ones((1, 9), np.uint8))
    opened = cv2.morphologyEx(luma, cv2.MORPH_OPEN, kernel)
    closed = cv2.morphologyEx(luma, cv2.MORPH_CLOSE, kernel)
    # A bright scratch cannot show on white nor a dark one on black: such rows are no evidence against.
    for response, shows in ((luma - opened, (opened < 0.85).astype(np.float32)),
                            (closed - luma, (closed > 0.15).astype(np.float32))):
        noise = 1.4826 * float(np.median(np.abs(response - np.median(response))))
        pixel = scale * max(3.0 * noise, 0.03)
        support = cv2.blur(shows, (1, run), borderType=cv2.BORDER_CONSTANT)
        seen = np.maximum(support, 1e-3)
        # Mean response down a window of ``run`` rows, minus the same for the columns beside it
        # (texture lifts all columns alike; a scratch lifts one).
        column = cv2.blur(response * shows, (1, run), borderType=cv2.BORDER_CONSTANT) / seen
        beside = cv2.blur(column, (15, 1), borderType=cv2.BORDER_REFLECT)
        strong = (column - beside) > 0.6 * pixel
        # Most rows of the window that could show it must carry the ridge, not a few very strong ones.
        hits = cv2.blur(((response > pixel) * shows).astype(np.float32), (1, run), borderType=cv2.BORDER_CONSTANT)
        steady = (hits / seen > 0.85) & (support > 0.8)
        line = strong & steady & (column > 0.5 * step)
        # Within half a kernel of the picture's side a ridge has one side only: the gate's border.
        line[:, :_WIDTH // 2 + 1] = line[:, -(_WIDTH // 2 + 1):] = False
        # A window centred on a detected run covers ``run`` rows: spread the decision over all of them.
        line = cv2.dilate(line.astype(np.uint8), np.ones((run, 1), np.uint8)).astype(bool)
        found |= line & (response > 0.5 * pixel)
    # Scratches are soft-edged: include the 1 px shoulders, where the damage is faint but real.
    return cv2.dilate(found.astype(np.uint8), np.ones((1, 3), np.uint8)).astype(bool)
