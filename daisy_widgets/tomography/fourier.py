"""Gridrec: Fourier-domain reconstruction by gridding (Dowd et al. 1999, Marone et al. 2012).

Each projection's 1-D FFT is a radial line of the slice's 2-D spectrum
(Fourier slice theorem). The radial samples, weighted by the filter, are
spread onto an oversampled Cartesian grid with a Kaiser-Bessel kernel, the grid
is inverse-FFTed, and the kernel's transform is divided out. Two slices are
reconstructed at once as the real and imaginary parts of one complex sinogram.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np

from .filters import ramp_spectrum, window
from .recon import angle_weight

#: oversampling of the grid, kernel width (cells) and kernel table resolution
SIGMA = 2.0
KERNEL_WIDTH = 6
TABLE_PER_CELL = 1024


@functools.lru_cache(maxsize=8)
def _kernel(width: int, sigma: float) -> tuple[np.ndarray, float, float]:
    """Kaiser-Bessel table, its scale (entries per cell) and shape parameter beta."""
    beta = math.pi * math.sqrt((width / sigma) ** 2 * (sigma - 0.5) ** 2 - 0.8)
    t = np.arange(int(width / 2 * TABLE_PER_CELL) + 2) / TABLE_PER_CELL
    arg = np.clip(1 - (2 * t / width) ** 2, 0, None)
    table = np.where(t <= width / 2, np.i0(beta * np.sqrt(arg)), 0.0)
    return table.astype(np.float32), float(TABLE_PER_CELL), beta


@functools.lru_cache(maxsize=8)
def _deapodization(n: int, G: int, width: int, sigma: float) -> np.ndarray:
    """Kernel transform at image positions ``x' = -n//2 .. n - n//2 - 1`` (float64)."""
    table, tscale, beta = _kernel(width, sigma)
    t = np.arange(table.size) / tscale
    w = np.full(t.size, 1.0 / tscale)
    w[0] *= 0.5
    x = np.arange(n) - n // 2
    # symmetric kernel: transform = 2 * integral_0^W/2 phi(t) cos(2 pi t x / G) dt
    return 2.0 * (np.cos(2 * np.pi * np.outer(x, t) / G) * (table * w)).sum(axis=1)


def _grid_size(n: int) -> int:
    import scipy.fft as sfft

    g = sfft.next_fast_len(int(math.ceil(SIGMA * n)))
    return g + (g % 2)


def gridrec(
    sino: Any, theta: np.ndarray, center: float, filter: str = "ramp", xp: Any = np, pad_mode: str = "edge"
) -> Any:
    """Reconstruct (slices, angles, detector) -> (slices, N, N) float32 by gridding.

    ``filter`` windows the ramp as for FBP; ``pad_mode`` is accepted for
    symmetry with FBP (the detector is zero-padded to the grid size; edges are
    extended first when ``"edge"``).
    """
    if xp is not np:
        from . import _gpu

        return _gpu.gridrec(sino, theta, center, filter)
    import scipy.fft as sfft

    from . import _kernels

    ns, na, nd = sino.shape
    n = nd
    G = _grid_size(n)
    L = G
    table, tscale, _ = _kernel(KERNEL_WIDTH, SIGMA)
    deap = _deapodization(n, G, KERNEL_WIDTH, SIGMA)
    # radial weights: ramp x window x angular weight x frequency step, with the phase that
    # moves the rotation axis to the origin and pixel centres onto integer grid positions
    m = np.arange(L) - L // 2
    f = m / L
    filt = np.fft.fftshift(ramp_spectrum(L) * window(filter, np.fft.fftfreq(L)))
    dx = (n // 2) - (n - 1) / 2.0  # x = x' + dx with x' integer
    dy = -dx  # y = y' + dy
    cos_t, sin_t = np.cos(theta), np.sin(theta)
    shift = center + dx * cos_t + dy * sin_t
    phase = np.exp(2j * np.pi * np.outer(shift, f))  # (angles, L)
    weight = (phase * (filt * angle_weight(theta) / L)[None, :]).astype(np.complex64)
    out = np.empty((ns, n, n), np.float32)
    nbands = max(4, 2 * _threads())
    xs = (np.arange(n) - n // 2) % G
    ys = (n // 2 - np.arange(n)) % G  # y' = n//2 - i
    norm = (1.0 / np.outer(deap, deap)).astype(np.float32)  # symmetric: deap(-y') is deap[i]
    for s0 in range(0, ns, 2):
        c = np.zeros((na, L), np.complex64)
        c[:, :nd] = sino[s0]
        if s0 + 1 < ns:
            c[:, :nd] += 1j * sino[s0 + 1]
        if pad_mode == "edge" and nd < L:
            r = (L - nd) // 2
            c[:, nd : nd + r] = c[:, nd - 1 : nd]
            c[:, nd + r :] = c[:, :1]
        P = sfft.fftshift(sfft.fft(c, axis=1, workers=-1, overwrite_x=True), axes=1)
        P *= weight
        H = _kernels.grid_spread(P, cos_t, sin_t, G, KERNEL_WIDTH, table, tscale, nbands)
        # inverse 2-D transform of only the needed rows and columns
        h = sfft.ifft(H, axis=1, workers=-1, overwrite_x=True)[:, xs]
        h = sfft.ifft(h[:, :], axis=0, workers=-1, overwrite_x=True)[ys, :]
        h *= G * G
        out[s0] = h.real * norm
        if s0 + 1 < ns:
            out[s0 + 1] = h.imag * norm
    return out


def _threads() -> int:
    import numba

    return numba.get_num_threads()
