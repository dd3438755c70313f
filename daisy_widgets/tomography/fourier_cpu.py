"""Gridrec on the CPU (scipy.fft, numba spreading in :mod:`._kernels`): the twin of
:mod:`.fourier_gpu`, with the same gridding tables (:mod:`.gridding`) and radial weights.
"""

from __future__ import annotations

import numpy as np

from .filters import ramp_spectrum, window
from .geometry import angle_weight
from .gridding import KERNEL_WIDTH, SIGMA, deapodization, grid_size, kaiser_bessel_table


def gridrec(
    sino: np.ndarray, theta: np.ndarray, center: float, filter: str = "ramp", pad_mode: str = "edge"
) -> np.ndarray:
    """Gridrec on the CPU: float32 (slices, angles, detector) -> float32 (slices, N, N).

    ``theta`` in radians (angles,), ``center`` in detector pixels; ``filter`` windows the
    ramp as for FBP; ``pad_mode`` ``"edge"`` extends the edges before the detector is
    zero-padded to the grid size. Output in attenuation per pixel.
    """
    import scipy.fft as sfft

    from . import _kernels

    ns, na, nd = sino.shape
    n = nd
    G = grid_size(n)
    L = G
    table, tscale, _ = kaiser_bessel_table(KERNEL_WIDTH, SIGMA)
    deap = deapodization(n, G, KERNEL_WIDTH, SIGMA)
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
