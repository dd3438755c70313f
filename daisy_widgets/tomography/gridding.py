"""Gridding tables shared by the CPU and GPU gridrec: the Kaiser-Bessel kernel, its transform
(deapodization) and the oversampled grid size (Dowd et al. 1999, Beatty et al. 2005).
"""

from __future__ import annotations

import functools
import math

import numpy as np

#: oversampling of the grid, kernel width (cells) and kernel table resolution. With the grid
#: oversampled twice, a width of 5 cells gives the same RMSE against the phantom as 6 (to 1e-5
#: at 1024 px, 900 angles, ramp and Hann; the slices differ by < 2e-4 of the range) for 25
#: instead of 36 grid updates per sample.
SIGMA = 2.0
KERNEL_WIDTH = 5
TABLE_PER_CELL = 1024


@functools.lru_cache(maxsize=8)
def kaiser_bessel_table(width: int, sigma: float) -> tuple[np.ndarray, float, float]:
    """Kaiser-Bessel table, its scale (entries per cell) and shape parameter beta."""
    beta = math.pi * math.sqrt((width / sigma) ** 2 * (sigma - 0.5) ** 2 - 0.8)
    t = np.arange(int(width / 2 * TABLE_PER_CELL) + 2) / TABLE_PER_CELL
    arg = np.clip(1 - (2 * t / width) ** 2, 0, None)
    table = np.where(t <= width / 2, np.i0(beta * np.sqrt(arg)), 0.0)
    return table.astype(np.float32), float(TABLE_PER_CELL), beta


@functools.lru_cache(maxsize=8)
def deapodization(n: int, G: int, width: int, sigma: float) -> np.ndarray:
    """Kernel transform at image positions ``x' = -n//2 .. n - n//2 - 1`` (float64)."""
    table, tscale, beta = kaiser_bessel_table(width, sigma)
    t = np.arange(table.size) / tscale
    w = np.full(t.size, 1.0 / tscale)
    w[0] *= 0.5
    x = np.arange(n) - n // 2
    # symmetric kernel: transform = 2 * integral_0^W/2 phi(t) cos(2 pi t x / G) dt
    return 2.0 * (np.cos(2 * np.pi * np.outer(x, t) / G) * (table * w)).sum(axis=1)


def grid_size(n: int) -> int:
    """Side of the oversampled Fourier grid for an n-pixel slice: even, FFT-friendly, >= SIGMA * n."""
    import scipy.fft as sfft

    g = sfft.next_fast_len(int(math.ceil(SIGMA * n)))
    return g + (g % 2)
