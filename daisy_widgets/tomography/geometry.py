"""Parallel-beam geometry shared by every projector and method.

Pixel ``(i, j)`` of an (N, N) slice is at ``x = j - (N-1)/2`` (right), ``y = (N-1)/2 - i``
(up); the ray at angle theta through ``(x, y)`` hits the detector at
``x cos(theta) + y sin(theta) + center`` (pixels from the centre of the first pixel).
"""

from __future__ import annotations

import math

import numpy as np


def angle_weight(theta: np.ndarray) -> float:
    """Angular integration weight (radians per projection) for FBP.

    ``pi / K`` for scans covering 180 or 360 degrees; the median step for a
    limited-angle scan.
    """
    k = theta.size
    if k < 2:
        return math.pi
    step = float(np.median(np.abs(np.diff(np.sort(theta)))))
    return min(step, math.pi / k) if step > 0 else math.pi / k


def pad_geometry(ndet: int, n: int, center: float) -> tuple[int, int]:
    """Left padding and total width so that every ray of the n x n grid hits the padded detector."""
    rmax = (n - 1) / 2.0 * math.sqrt(2.0)
    left = max(0, int(math.ceil(rmax - center))) + 2
    right = max(ndet, int(math.ceil(center + rmax)) + 3)
    return left, left + right + 1


def circle_mask(n: int, ratio: float = 1.0) -> np.ndarray:
    """Boolean (n, n) mask of the reconstruction circle (radius ``ratio * n / 2``)."""
    c = (n - 1) / 2.0
    y, x = np.ogrid[:n, :n]
    return ((x - c) ** 2 + (y - c) ** 2) <= (ratio * n / 2.0) ** 2
