"""Gridrec on the GPU (CuPy): the twin of the CPU gridrec in :mod:`.fourier_cpu`
(:mod:`.fourier` dispatches between them).

The same gridding tables (:mod:`.gridding`) and radial weights as on the CPU; the
spreading is the RawKernel :func:`.primitives_gpu.grid_spread`, the transforms cuFFT.
The sinogram arrives on the device and the result stays there; only the small
per-call tables are uploaded, explicitly. CuPy is imported only when called.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .filters import ramp_spectrum, window
from .geometry import angle_weight
from .gridding import KERNEL_WIDTH, SIGMA, deapodization, grid_size, kaiser_bessel_table
from .primitives_gpu import angle_tables, grid_spread


def gridrec(sino: Any, theta: np.ndarray, center: float, filter: str = "ramp") -> Any:
    """Gridrec on the GPU: (slices, angles, detector) device array -> (slices, N, N) device array.

    ``theta`` in radians (angles,), ``center`` in detector pixels; output float32 in
    attenuation per pixel.
    """
    import cupy as cp

    ns, na, nd = sino.shape
    n = nd
    G = grid_size(n)
    L = G
    table, tscale, _ = kaiser_bessel_table(KERNEL_WIDTH, SIGMA)
    deap = deapodization(n, G, KERNEL_WIDTH, SIGMA)
    m = np.arange(L) - L // 2
    filt = np.fft.fftshift(ramp_spectrum(L) * window(filter, np.fft.fftfreq(L)))
    dx = (n // 2) - (n - 1) / 2.0
    th = np.asarray(theta, np.float64)
    shift = center + dx * np.cos(th) - dx * np.sin(th)
    weight = np.exp(2j * np.pi * np.outer(shift, m / L)) * (filt * angle_weight(th) / L)[None, :]
    # explicit uploads of the small per-call tables
    weight_d = cp.asarray(weight.astype(np.complex64))
    table_d = cp.asarray(table)
    norm_d = cp.asarray((1.0 / np.outer(deap, deap)).astype(np.float32))
    cs, sn = angle_tables(th)
    xs = cp.asarray((np.arange(n) - n // 2) % G)
    ys = cp.asarray((n // 2 - np.arange(n)) % G)
    out = cp.empty((ns, n, n), cp.float32)
    for s0 in range(0, ns, 2):
        c = cp.zeros((na, L), cp.complex64)
        c[:, :nd] = sino[s0]
        if s0 + 1 < ns:
            c[:, :nd] += 1j * sino[s0 + 1]
        r = (L - nd) // 2
        c[:, nd : nd + r] = c[:, nd - 1 : nd]
        c[:, nd + r :] = c[:, :1]
        P = cp.fft.fftshift(cp.fft.fft(c, axis=1), axes=1) * weight_d
        P = cp.ascontiguousarray(P.astype(cp.complex64))
        H = grid_spread(P, cs, sn, G, KERNEL_WIDTH, table_d, tscale)
        h = cp.fft.ifft(H, axis=1)[:, xs]
        h = cp.fft.ifft(h, axis=0)[ys, :] * (G * G)
        out[s0] = h.real * norm_d
        if s0 + 1 < ns:
            out[s0 + 1] = h.imag * norm_d
    return out
