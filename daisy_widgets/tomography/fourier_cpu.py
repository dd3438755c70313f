"""Gridrec on the CPU (scipy.fft, numba spreading in :mod:`._kernels`): the twin of
:mod:`.fourier_gpu`, with the same gridding tables (:mod:`.gridding`) and radial weights.

Work shared by all the slices of a call (and by later calls with the same geometry) is
made once and cached: the radial filter, the angle tables and the deapodization map
(:func:`gridrec_plan`). The radial weights (filter, angular weight, axis phase) are
applied inside the spreading kernel, so a pair of slices costs one forward FFT of the
projections, the spreading, and one inverse 2-D FFT of the grid.
"""

from __future__ import annotations

import functools

import numpy as np

from .filters import ramp_spectrum, window
from .geometry import angle_weight
from .gridding import KERNEL_WIDTH, SIGMA, deapodization, grid_size, kaiser_bessel_table


#: two geometries kept: about 32 MiB each at 2048 px (two float32 deapodization maps)
@functools.lru_cache(maxsize=2)
def _plan(n: int, theta_bytes: bytes, filter: str) -> dict:
    theta = np.frombuffer(theta_bytes, np.float64)
    G = grid_size(n)
    L = G
    deap = deapodization(n, G, KERNEL_WIDTH, SIGMA)
    # the grid is centred and multiplied by (-1)^(u+v) (see _kernels.grid_spread): its inverse
    # transform holds the slice at rows/columns G//2 + (-n//2 .. n - n//2 - 1), times (-1)^(x+y)
    lo = G // 2 - n // 2
    sign = 1.0 - 2.0 * ((lo + np.arange(n)) % 2)
    # output row i holds y' = n//2 - i, taken from grid row G//2 + y' (rows read backwards)
    sign_rows = 1.0 - 2.0 * ((G // 2 + n // 2 - np.arange(n)) % 2)
    norm = (G * G) * np.outer(sign_rows / deap, sign / deap)  # symmetric: deap(-y') is deap[i]
    # a lone real slice: half-plane grid, columns not centred (no (-1)^x factor)
    norm_real = (G * G) * np.outer(sign_rows / deap, 1.0 / deap)
    filt = (ramp_spectrum(L) * window(filter, np.fft.fftfreq(L)) / L).astype(np.float32)
    return {
        "G": G,
        "L": L,
        "filt": filt,
        "cos": np.cos(theta),
        "sin": np.sin(theta),
        "aw": float(angle_weight(theta)),
        "norm": norm.astype(np.float32),
        "norm_real": norm_real.astype(np.float32),
        "rows": slice(G // 2 + n // 2 - n + 1, G // 2 + n // 2 + 1),
        "cols": slice(lo, lo + n),
    }


def gridrec_plan(n: int, theta: np.ndarray, filter: str = "ramp") -> dict:
    """Tables shared by every slice of width ``n`` reconstructed at angles ``theta`` (radians).

    Cached on (``n``, ``theta``, ``filter``): a block of slices, or the next block, reuses them.
    Returns a dict with the grid size ``G``, the padded length ``L``, the radial ``filt``
    (float32 (L,), ``fft`` order, divided by ``L``), ``cos``/``sin`` (float64 (angles,)),
    the angular weight ``aw`` and the float32 (n, n) deapodization maps ``norm`` (pairs of
    slices) and ``norm_real`` (a lone slice).
    """
    return _plan(int(n), np.ascontiguousarray(theta, np.float64).tobytes(), str(filter))


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
    p = gridrec_plan(n, theta, filter)
    G, L = p["G"], p["L"]
    table, tscale, _ = kaiser_bessel_table(KERNEL_WIDTH, SIGMA)
    # phase that moves the rotation axis to the origin and pixel centres onto integer grid positions
    dx = (n // 2) - (n - 1) / 2.0  # x = x' + dx with x' integer; y = y' - dx
    shift = center + dx * p["cos"] - dx * p["sin"]
    out = np.empty((ns, n, n), np.float32)
    nbands = max(4, 2 * _threads())
    norm, rows, cols = p["norm"], p["rows"], p["cols"]
    for s0 in range(0, ns, 2):
        if s0 + 1 == ns:  # a lone slice: its spectrum is Hermitian, half the grid holds it
            out[s0] = _gridrec_real(sino[s0], p, shift, table, tscale, nbands, pad_mode)
            break
        c = np.zeros((na, L), np.complex64)
        c.real[:, :nd] = sino[s0]
        c.imag[:, :nd] = sino[s0 + 1]
        if pad_mode == "edge" and nd < L:
            r = (L - nd) // 2
            c[:, nd : nd + r] = c[:, nd - 1 : nd]
            c[:, nd + r :] = c[:, :1]
        F = sfft.fft(c, axis=1, workers=-1, overwrite_x=True)
        del c
        H = _kernels.grid_spread(
            F, p["filt"], shift, p["aw"], p["cos"], p["sin"], G, KERNEL_WIDTH, table, tscale, nbands
        )
        del F
        # inverse 2-D transform of only the needed rows, then columns
        h = sfft.ifft(H, axis=0, workers=-1, overwrite_x=True)
        del H
        h = sfft.ifft(h[rows], axis=1, workers=-1, overwrite_x=True)[::-1, cols]
        np.multiply(h.real, norm, out=out[s0])
        np.multiply(h.imag, norm, out=out[s0 + 1])
    return out


def _gridrec_real(
    sino: np.ndarray, p: dict, shift: np.ndarray, table: np.ndarray, tscale: float, nbands: int, pad_mode: str
) -> np.ndarray:
    """One slice (angles, detector) by a real FFT, half-plane gridding and an inverse real 2-D FFT."""
    import scipy.fft as sfft

    from . import _kernels

    na, nd = sino.shape
    G, L = p["G"], p["L"]
    c = np.zeros((na, L), np.float32)
    c[:, :nd] = sino
    if pad_mode == "edge" and nd < L:
        r = (L - nd) // 2
        c[:, nd : nd + r] = c[:, nd - 1 : nd]
        c[:, nd + r :] = c[:, :1]
    F = sfft.rfft(c, axis=1, workers=-1, overwrite_x=True)
    del c
    H = _kernels.grid_spread_real(
        F, p["filt"], shift, p["aw"], p["cos"], p["sin"], G, KERNEL_WIDTH, table, tscale, nbands
    )
    del F
    h = sfft.ifft(H, axis=0, workers=-1, overwrite_x=True)
    del H
    img = sfft.irfft(h[p["rows"]], n=G, axis=1, workers=-1, overwrite_x=True)[::-1, p["cols"]]
    return img * p["norm_real"]


def _threads() -> int:
    import numba

    return numba.get_num_threads()
