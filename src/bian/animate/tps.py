"""Thin-plate spline interpolation of displacements, as a linear operator.

The control points of a face never move in the source picture, only their displacements change from
frame to frame, so the spline's system is solved once per face: :func:`operator` returns the matrix
that turns the control points' displacements into displacements at fixed query points.
"""
from __future__ import annotations

import numpy as np


def _kernel(d2: np.ndarray) -> np.ndarray:
    """U(r) = r² log r written in r² (= ½ r² log r²), 0 at r = 0."""
    with np.errstate(divide="ignore", invalid="ignore"):
        out = 0.5 * d2 * np.log(d2)
    return np.nan_to_num(out, nan=0.0, posinf=0.0, neginf=0.0)


def operator(control: np.ndarray, query: np.ndarray, scale: float, smoothing: float = 1e-3) -> np.ndarray:
    """(M, N) float32 matrix ``L`` with ``L @ d`` = the spline through displacements ``d`` (N, k) at the
    control points, evaluated at the query points.

    control: (N, 2) and query: (M, 2) point coordinates (any unit); scale: a length that makes the
    coordinates O(1) (conditioning); smoothing: regularisation (0 = exact interpolation).
    """
    c = np.asarray(control, np.float64)[:, :2] / scale
    q = np.asarray(query, np.float64)[:, :2] / scale
    n = len(c)
    k = _kernel(np.sum((c[:, None] - c[None]) ** 2, -1)) + smoothing * np.eye(n)
    p = np.hstack([np.ones((n, 1)), c])
    a = np.zeros((n + 3, n + 3))
    a[:n, :n], a[:n, n:], a[n:, :n] = k, p, p.T
    inv = np.linalg.solve(a, np.vstack([np.eye(n), np.zeros((3, n))]))
    kq = _kernel(np.sum((q[:, None] - c[None]) ** 2, -1))
    return (np.hstack([kq, np.ones((len(q), 1)), q]) @ inv).astype(np.float32)
