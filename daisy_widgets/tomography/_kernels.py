"""Numba CPU kernels of the tomography package (all cores, no Python in the hot loops).

Geometry shared by every kernel (see ``docs/tomography.md``):

* image pixel ``(i, j)`` of an ``n x n`` slice has coordinates
  ``x = j - (n - 1) / 2`` (to the right) and ``y = (n - 1) / 2 - i`` (up), in pixels;
* at angle ``theta`` it projects onto detector position
  ``u = x cos(theta) + y sin(theta) + center`` (detector pixels, 0 = centre of the first pixel);
* values are linearly interpolated between detector pixels.

The back-projector is the exact adjoint of :func:`forward_project` when the
detector is zero-padded, so SIRT/CGLS use a matched pair.
"""
from __future__ import annotations

import math

import numba
import numpy as np
from numba import njit, prange

#: rows of the output per parallel task, and angles per cache block
ROW_TILE = 8
ANGLE_BLOCK = 32


@njit(parallel=True, fastmath=True, cache=True, nogil=True)
def backproject(q, cos_t, sin_t, shift, n, scale):  # pragma: no cover - compiled
    """Pixel-driven back-projection of padded filtered sinograms.

    Parameters
    ----------
    q : float32 (slices, angles, width)
        Sinograms padded so that every ray of the ``n x n`` grid falls inside.
    cos_t, sin_t : float32 (angles,)
    shift : float
        Detector index (in ``q``) of the rotation axis.
    n : int
        Output width.
    scale : float
        Factor applied to the sum (angular weight).

    Returns
    -------
    float32 (slices, n, n)
    """
    ns, na, width = q.shape
    out = np.zeros((ns, n, n), np.float32)
    c0 = np.float32((n - 1) / 2.0)
    ntiles = (n + ROW_TILE - 1) // ROW_TILE
    for t in prange(ntiles):
        idx = np.empty(n, np.int32)
        wt = np.empty(n, np.float32)
        r0 = t * ROW_TILE
        r1 = min(r0 + ROW_TILE, n)
        for a0 in range(0, na, ANGLE_BLOCK):
            a1 = min(a0 + ANGLE_BLOCK, na)
            for i in range(r0, r1):
                y = c0 - np.float32(i)
                for k in range(a0, a1):
                    c = cos_t[k]
                    base = y * sin_t[k] - c0 * c + np.float32(shift)
                    for j in range(n):
                        s = base + np.float32(j) * c
                        i0 = int(s)
                        idx[j] = i0
                        wt[j] = s - np.float32(i0)
                    for sl in range(ns):
                        qk = q[sl, k]
                        row = out[sl, i]
                        for j in range(n):
                            a = qk[idx[j]]
                            row[j] += a + wt[j] * (qk[idx[j] + 1] - a)
        for sl in range(ns):
            for i in range(r0, r1):
                for j in range(n):
                    out[sl, i, j] *= np.float32(scale)
    return out


@njit(parallel=True, fastmath=True, cache=True, nogil=True)
def forward_project(img, cos_t, sin_t, center, ndet):  # pragma: no cover - compiled
    """Pixel-driven forward projection, the adjoint of :func:`backproject`.

    Parameters
    ----------
    img : float32 (slices, n, n)
    cos_t, sin_t : float32 (angles,)
    center : float
        Detector position of the rotation axis (pixels from the centre of the first pixel).
    ndet : int
        Detector width.

    Returns
    -------
    float32 (slices, angles, ndet): line integrals in (image value x pixel).
    """
    ns, n, _ = img.shape
    na = cos_t.shape[0]
    out = np.zeros((ns, na, ndet), np.float32)
    c0 = (n - 1) / 2.0
    for k in prange(na):
        c = cos_t[k]
        s_ = sin_t[k]
        for i in range(n):
            y = c0 - i
            base = y * s_ - c0 * c + center
            for j in range(n):
                s = base + j * c
                fl = math.floor(s)
                i0 = int(fl)
                w = s - fl
                if i0 >= -1 and i0 < ndet:
                    for sl in range(ns):
                        v = img[sl, i, j]
                        if i0 >= 0:
                            out[sl, k, i0] += v * (1.0 - w)
                        if i0 + 1 < ndet:
                            out[sl, k, i0 + 1] += v * w
    return out


@njit(parallel=True, fastmath=True, cache=True, nogil=True)
def grid_spread(P, cos_t, sin_t, G, W, table, tscale, nbands):  # pragma: no cover - compiled
    """Spread polar Fourier samples onto a Cartesian grid (gridding, as in gridrec).

    Parameters
    ----------
    P : complex64 (angles, L)
        Weighted radial spectra; column ``m`` holds frequency index ``m - L//2``.
    cos_t, sin_t : float64 (angles,)
    G : int
        Grid size (the radial frequency step equals the grid step).
    W : int
        Kernel width in grid cells.
    table : float32 (T,)
        Kernel sampled at ``|t| * tscale`` for ``|t| <= W/2``.
    nbands : int
        Number of row bands processed in parallel (each band owns its rows).

    Returns
    -------
    complex64 (G, G), indexed ``[v mod G, u mod G]``.
    """
    na, L = P.shape
    H = np.zeros((G, G), np.complex64)
    half = W / 2.0
    bh = (G + nbands - 1) // nbands
    mc = L // 2
    ntab = table.shape[0]
    for band in prange(nbands):
        r0 = band * bh - G // 2
        r1 = min(r0 + bh, G - G // 2)
        wa = np.empty(W, np.float32)
        for k in range(na):
            c = cos_t[k]
            s = sin_t[k]
            if abs(s) < 1e-9:
                if r0 - half > 0 or r1 + half < 0:
                    continue
                mlo = -mc
                mhi = L - mc
            else:
                m1 = (r0 - half) / s
                m2 = (r1 + half) / s
                if m1 > m2:
                    m1, m2 = m2, m1
                mlo = max(int(math.floor(m1)) - 1, -mc)
                mhi = min(int(math.ceil(m2)) + 2, L - mc)
            for m in range(mlo, mhi):
                val = P[k, m + mc]
                a0 = m * c
                b0 = m * s
                ia = int(math.floor(a0 - half)) + 1
                ib = int(math.floor(b0 - half)) + 1
                for d in range(W):
                    ti = int(abs(ia + d - a0) * tscale)
                    wa[d] = table[ti] if ti < ntab else 0.0
                for db in range(W):
                    bb = ib + db
                    if bb < r0 or bb >= r1:
                        continue
                    ti = int(abs(bb - b0) * tscale)
                    if ti >= ntab:
                        continue
                    vb = val * table[ti]
                    row = bb % G
                    for d in range(W):
                        H[row, (ia + d) % G] += vb * wa[d]
    return H


@njit(parallel=True, cache=True)
def sort_filter_columns(sino, size):  # pragma: no cover - compiled
    """Vo's sorting-based stripe removal on one sinogram (angles, detector).

    Each detector column is sorted along the angles, the sorted image is
    median-filtered across the detector (window ``size``), and the values are
    put back in their original order.
    """
    na, nd = sino.shape
    order = np.empty((na, nd), np.int64)
    srt = np.empty((na, nd), np.float32)
    for j in prange(nd):
        o = np.argsort(sino[:, j])
        order[:, j] = o
        for k in range(na):
            srt[k, j] = sino[o[k], j]
    out = np.empty_like(sino)
    h = size // 2
    for k in prange(na):
        buf = np.empty(size, np.float32)
        filt = np.empty(nd, np.float32)
        for j in range(nd):
            for t in range(size):  # window reflected at the edges (scipy's "reflect")
                jj = j + t - h
                if jj < 0:
                    jj = -jj - 1
                if jj >= nd:
                    jj = 2 * nd - jj - 1
                buf[t] = srt[k, min(max(jj, 0), nd - 1)]
            filt[j] = np.median(buf)
        for j in range(nd):
            out[order[k, j], j] = filt[j]
    return out


def set_threads(n: int | None) -> None:
    """Limit numba's threads (``None``: all cores)."""
    numba.set_num_threads(n or numba.config.NUMBA_NUM_THREADS)
