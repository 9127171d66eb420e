"""The value a slowly changing quantity should have at one frame, from its measurements around it.

Used for brightness (deflicker) and camera position (stabilise): both are a steady level or a steady
trend (a fade, a pan) plus frame-to-frame noise (flicker, weave) that should go. Over a window the
estimate is the mean, or a straight-line fit where the window shows a significant trend (for the camera
also a curve, where it speeds up or slows down significantly): on a centred window mean and line agree,
but at the end of a shot only the line follows a fade or a pan, while on a steady shot the mean is four
times less noisy than extrapolating a line.
"""
from __future__ import annotations

import numpy as np

TREND_T = 3.0
"""A slope counts when it stands this many standard errors from zero."""


def level_at(values: np.ndarray, positions: np.ndarray, at: float, degree: int = 1) -> np.ndarray:
    """Estimated value at position ``at`` of each column of ``values`` (N or N×K floats measured at
    ``positions``, N floats). Returns a K array (a 0-d array for 1-d ``values``).

    ``degree`` 2 also lets a curved trend through (a pan that starts or stops: a camera accelerates),
    where the fit's curvature stands :data:`TREND_T` standard errors from zero; each power is judged on
    its own fit, and the highest that counts gives the value.
    """
    values = np.asarray(values, np.float64)
    column = values.ndim == 1
    values = values[:, None] if column else values
    x = np.asarray(positions, np.float64) - at
    n = len(x)
    out = values.mean(axis=0)
    for power in range(1, degree + 1):
        if n < 3 + 2 * power or np.ptp(x) == 0:
            break
        design = np.stack([x ** p for p in range(power + 1)], axis=1)
        coef = np.linalg.lstsq(design, values, rcond=None)[0]
        resid = values - design @ coef
        spread = np.sqrt((resid ** 2).sum(axis=0) / (n - power - 1)) + 1e-12
        error = np.sqrt(np.linalg.pinv(design.T @ design)[power, power]) * spread
        out = np.where(np.abs(coef[power]) > TREND_T * error, coef[0], out)
    return out[0] if column else out
