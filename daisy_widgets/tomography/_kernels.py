"""Numba CPU kernels of the tomography package (all cores, no Python in the hot loops).

Geometry shared by every kernel (see ``docs/tomography.md``):

* image pixel ``(i, j)`` of an ``n x n`` slice has coordinates
  ``x = j - (n - 1) / 2`` (to the right) and ``y = (n - 1) / 2 - i`` (up), in pixels;
* at angle ``theta`` it projects onto detector position
  ``u = x cos(theta) + y sin(theta) + center`` (detector pixels, 0 = centre of the first pixel);
* values are linearly interpolated between detector pixels.

:func:`backproject_linear` is the exact adjoint of :func:`forward_project` when
the detector is zero-padded, so SIRT/CGLS use a matched pair; :func:`backproject_nearest` is
FBP's reference (FBP runs the faster :mod:`._fbp_kernels`, which picks the same samples).
"""

from __future__ import annotations

import math

import numba
import numpy as np
from numba import njit, prange

#: rows of the output per parallel task, and angles per cache block
ROW_TILE = 8
ANGLE_BLOCK = 32
#: FBP (nearest-sample) kernel: output rows per task and angles per cache block
NEAREST_ROWS = 32
NEAREST_ANGLES = 8


@njit(parallel=True, fastmath=True, cache=True, nogil=True)
def backproject_linear(q, cos_t, sin_t, shift, n, scale):  # pragma: no cover - compiled
    """Pixel-driven back-projection of padded filtered sinograms.

    Cache blocking: the image is processed in tiles of ``ROW_TILE`` rows (one
    parallel task each) and the angles in blocks of ``ANGLE_BLOCK``, so the
    sinogram rows of a block stay in L2 while a tile's rows are accumulated;
    four angles are interpolated per pass over an output row, so each output
    pixel is loaded and stored once per four angles.

    Parameters
    ----------
    q : float32 (slices, angles, width)
        Sinograms padded so that every ray of the ``n x n`` grid falls inside
        (no bounds checks in the inner loop).
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
    sh = np.float32(shift)
    ntiles = (n + ROW_TILE - 1) // ROW_TILE
    na4 = na - na % 4
    for task in prange(ntiles * ns):
        t = task // ns
        sl = task % ns
        r0 = t * ROW_TILE
        r1 = min(r0 + ROW_TILE, n)
        qs = q[sl]
        for a0 in range(0, na, ANGLE_BLOCK):
            a1 = min(a0 + ANGLE_BLOCK, na)
            a14 = min(a1, na4)
            for i in range(r0, r1):
                y = c0 - np.float32(i)
                row = out[sl, i]
                k = a0
                while k + 4 <= a14:
                    ca = cos_t[k]
                    cb = cos_t[k + 1]
                    cc = cos_t[k + 2]
                    cd = cos_t[k + 3]
                    ba = y * sin_t[k] - c0 * ca + sh
                    bb = y * sin_t[k + 1] - c0 * cb + sh
                    bc = y * sin_t[k + 2] - c0 * cc + sh
                    bd = y * sin_t[k + 3] - c0 * cd + sh
                    qa = qs[k]
                    qb = qs[k + 1]
                    qc = qs[k + 2]
                    qd = qs[k + 3]
                    for j in range(n):
                        fj = np.float32(j)
                        sa = ba + fj * ca
                        sb = bb + fj * cb
                        sc = bc + fj * cc
                        sd = bd + fj * cd
                        ia = int(sa)
                        ib = int(sb)
                        ic = int(sc)
                        id_ = int(sd)
                        wa = sa - np.float32(ia)
                        wb = sb - np.float32(ib)
                        wc = sc - np.float32(ic)
                        wd = sd - np.float32(id_)
                        va = qa[ia]
                        vb = qb[ib]
                        vc = qc[ic]
                        vd = qd[id_]
                        row[j] += (
                            (va + wa * (qa[ia + 1] - va))
                            + (vb + wb * (qb[ib + 1] - vb))
                            + (vc + wc * (qc[ic + 1] - vc))
                            + (vd + wd * (qd[id_ + 1] - vd))
                        )
                    k += 4
                while k < a1:
                    c = cos_t[k]
                    base = y * sin_t[k] - c0 * c + sh
                    qk = qs[k]
                    for j in range(n):
                        s = base + np.float32(j) * c
                        i0 = int(s)
                        w = s - np.float32(i0)
                        v = qk[i0]
                        row[j] += v + w * (qk[i0 + 1] - v)
                    k += 1
        for i in range(r0, r1):
            for j in range(n):
                out[sl, i, j] *= np.float32(scale)
    return out


@njit(parallel=True, fastmath=True, cache=True, nogil=True)
def backproject_nearest(q, cos_t, sin_t, shift, n, upsample, scale):  # pragma: no cover - compiled
    """Back-projection of filtered sinograms upsampled ``upsample`` times (nearest sample).

    The filtering step returns band-limited (Fourier-interpolated) projections on a
    grid ``upsample`` times finer than the detector, so one load per pixel and
    angle replaces linear interpolation's two loads and weights, at an
    interpolation error below ``1 / (2 * upsample)`` pixel.

    Parameters
    ----------
    q : float32 (slices, angles, width)
        Upsampled, zero-padded filtered sinograms: sample ``m`` is detector position ``m / upsample``
        in the padded detector, whose rotation axis is at ``shift``.
    cos_t, sin_t : float32 (angles,)
    shift : float
        Rotation axis in padded-detector pixels.
    n : int
        Output width.
    upsample : int
    scale : float
        Angular weight applied to the sum.

    Returns
    -------
    float32 (slices, n, n)
    """
    ns, na, width = q.shape
    out = np.zeros((ns, n, n), np.float32)
    c0 = np.float32((n - 1) / 2.0)
    U = np.float32(upsample)
    sh = np.float32(shift * upsample + 0.5)  # + 0.5: truncation rounds to the nearest sample
    # cache blocking: a tile of NEAREST_ROWS output rows is accumulated over a block of
    # NEAREST_ANGLES angles whose (upsampled) sinogram rows stay in L2 meanwhile
    ntiles = (n + NEAREST_ROWS - 1) // NEAREST_ROWS
    for task in prange(ns * ntiles):
        sl = task // ntiles
        r0 = (task % ntiles) * NEAREST_ROWS
        r1 = min(r0 + NEAREST_ROWS, n)
        qs = q[sl]
        for a0 in range(0, na, NEAREST_ANGLES):
            a1 = min(a0 + NEAREST_ANGLES, na)
            for i in range(r0, r1):
                y = c0 - np.float32(i)
                row = out[sl, i]
                k = a0
                while k + 4 <= a1:  # four angles per pass: each output pixel loaded/stored once per four
                    ca = cos_t[k] * U
                    cb = cos_t[k + 1] * U
                    cc = cos_t[k + 2] * U
                    cd = cos_t[k + 3] * U
                    ba = y * sin_t[k] * U - c0 * ca + sh
                    bb = y * sin_t[k + 1] * U - c0 * cb + sh
                    bc = y * sin_t[k + 2] * U - c0 * cc + sh
                    bd = y * sin_t[k + 3] * U - c0 * cd + sh
                    qa = qs[k]
                    qb = qs[k + 1]
                    qc = qs[k + 2]
                    qd = qs[k + 3]
                    for j in range(n):
                        fj = np.float32(j)
                        row[j] += (qa[np.int32(ba + fj * ca)] + qb[np.int32(bb + fj * cb)]) + (
                            qc[np.int32(bc + fj * cc)] + qd[np.int32(bd + fj * cd)]
                        )
                    k += 4
                while k < a1:
                    c = cos_t[k] * U
                    base = y * sin_t[k] * U - c0 * c + sh
                    qk = qs[k]
                    for j in range(n):
                        row[j] += qk[np.int32(base + np.float32(j) * c)]
                    k += 1
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
def grid_spread(F, filt, shift, aw, cos_t, sin_t, G, W, table, tscale, nbands):  # pragma: no cover - compiled
    """Weight radial spectra and spread them onto a centred Cartesian grid (gridding, as in gridrec).

    Each sample is multiplied here by its radial weight (filter, angular weight, axis
    phase): no weighted copy of the spectra is made. The grid is stored centred and
    multiplied by ``(-1)^(u+v)``, so that its inverse transform holds the slice as one
    contiguous block (times ``(-1)^(x+y)``; see :mod:`daisy_widgets.tomography.fourier_cpu`).

    Parameters
    ----------
    F : complex64 (angles, L)
        Spectra of the padded projections in ``fft`` order (column ``j``: frequency
        index ``j`` for ``j < L/2``, else ``j - L``).
    filt : float32 (L,)
        Real radial filter in the same order, divided by ``L``.
    shift : float64 (angles,)
        Detector position (pixels) moved to the origin: phase ``exp(2 pi i shift m / L)``.
    aw : float
        Angular weight (radians per projection).
    cos_t, sin_t : float64 (angles,)
    G, W : int
        Grid size (radial frequency step = grid step; ``L <= G``) and kernel width (cells).
    table : float32 (T,)
        Kernel sampled at ``|t| * tscale`` for ``|t| <= W/2``.
    nbands : int
        Row bands processed in parallel (each band owns its rows).

    Returns
    -------
    complex64 (G, G): rows ``(v + G//2) mod G``, columns ``(u + G//2) mod G`` (the grid is
    periodic, as the GPU twin's).
    """
    na, L = F.shape
    H = np.zeros((G, G), np.complex64)
    half = W / 2.0
    bh = (G + nbands - 1) // nbands
    mc = L // 2
    ntab = table.shape[0]
    g2 = G // 2
    for band in prange(nbands):
        r0 = band * bh - g2
        r1 = min(r0 + bh, G - g2)
        wa = np.empty(W, np.float32)
        # rows wrap modulo G: the edge bands also take the cells of samples beyond the other edge
        for t in range(-1, 2):
            sh = t * G
            w0 = r0 + sh
            w1 = r1 + sh
            if w1 + half < -mc - 1 or w0 - half > L - mc + 1:
                continue
            for k in range(na):
                c = cos_t[k]
                s = sin_t[k]
                if abs(s) < 1e-9:
                    if w0 - half > 0 or w1 + half < 0:
                        continue
                    mlo = -mc
                    mhi = L - mc
                else:
                    m1 = (w0 - half) / s
                    m2 = (w1 + half) / s
                    if m1 > m2:
                        m1, m2 = m2, m1
                    mlo = max(int(math.floor(m1)) - 1, -mc)
                    mhi = min(int(math.ceil(m2)) + 2, L - mc)
                if mlo >= mhi:
                    continue
                # phase exp(2 pi i shift m / L) by recurrence in double precision
                ang = 2.0 * math.pi * shift[k] / L
                step = complex(math.cos(ang), math.sin(ang))
                ph = complex(math.cos(ang * mlo), math.sin(ang * mlo)) * aw
                for m in range(mlo, mhi):
                    j = m if m >= 0 else m + L
                    v = F[k, j] * ph * filt[j]
                    ph *= step
                    val = np.complex64(v)
                    a0 = m * c
                    b0 = m * s
                    ia = int(math.floor(a0 - half)) + 1
                    ib = int(math.floor(b0 - half)) + 1
                    sg = np.float32(1.0 - 2.0 * (ia & 1))  # (-1)^u of the first column
                    for d in range(W):
                        ti = int(abs(ia + d - a0) * tscale)
                        wa[d] = sg * table[ti] if ti < ntab else np.float32(0.0)
                        sg = -sg
                    c0 = ia + g2
                    wrap = c0 < 0 or c0 + W > G
                    for db in range(W):
                        bb = ib + db
                        if bb < w0 or bb >= w1:
                            continue
                        ti = int(abs(bb - b0) * tscale)
                        if ti >= ntab:
                            continue
                        vb = val * (table[ti] if (bb & 1) == 0 else -table[ti])
                        row = bb - sh + g2
                        if wrap:
                            for d in range(W):
                                H[row, (c0 + d) % G] += vb * wa[d]
                        else:
                            for d in range(W):
                                H[row, c0 + d] += vb * wa[d]
    return H


@njit(parallel=True, fastmath=True, cache=True, nogil=True)
def grid_spread_real(
    F, filt, shift, aw, cos_t, sin_t, G, W, table, tscale, nbands
):  # pragma: no cover - compiled
    """:func:`grid_spread` for one real slice: only the half-plane ``u = 0 .. G//2`` is gridded.

    A real slice's spectrum is Hermitian: columns ``u = 0 .. G//2`` hold all of it, so
    samples whose kernel lies wholly in the other half are skipped (half the work). Every
    stored cell receives exactly the contributions it receives in :func:`grid_spread`.

    Parameters
    ----------
    F : complex64 (angles, L//2 + 1)
        ``rfft`` of the padded real projections (``m < 0`` is ``conj(F[:, -m])``).
    filt, shift, aw, cos_t, sin_t, G, W, table, tscale, nbands
        As for :func:`grid_spread`.

    Returns
    -------
    complex64 (G, G//2 + 1): rows as :func:`grid_spread`, columns ``u`` (not centred), times ``(-1)^(u+v)``.
    """
    na = F.shape[0]
    L = 2 * (F.shape[1] - 1)
    g2 = G // 2
    H = np.zeros((G, g2 + 1), np.complex64)
    half = W / 2.0
    bh = (G + nbands - 1) // nbands
    mc = L // 2
    ntab = table.shape[0]
    for band in prange(nbands):
        r0 = band * bh - g2
        r1 = min(r0 + bh, G - g2)
        wa = np.empty(W, np.float32)
        ca = np.empty(W, np.int64)
        for t in range(-1, 2):
            sh = t * G
            w0 = r0 + sh
            w1 = r1 + sh
            if w1 + half < -mc - 1 or w0 - half > L - mc + 1:
                continue
            for k in range(na):
                c = cos_t[k]
                s = sin_t[k]
                if abs(s) < 1e-9:
                    if w0 - half > 0 or w1 + half < 0:
                        continue
                    mlo = -mc
                    mhi = mc + 1
                else:
                    m1 = (w0 - half) / s
                    m2 = (w1 + half) / s
                    if m1 > m2:
                        m1, m2 = m2, m1
                    mlo = max(int(math.floor(m1)) - 1, -mc)
                    mhi = min(int(math.ceil(m2)) + 2, mc + 1)  # +L/2 too: see the Nyquist terms
                if mlo >= mhi:
                    continue
                ang = 2.0 * math.pi * shift[k] / L
                step = complex(math.cos(ang), math.sin(ang))
                ph = complex(math.cos(ang * mlo), math.sin(ang * mlo)) * aw
                for m in range(mlo, mhi):
                    cur = ph
                    ph *= step
                    a0 = m * c
                    ia = int(math.floor(a0 - half)) + 1
                    fast = ia >= 0 and ia + W <= g2
                    if not fast and ia + W <= 0 and ia > -g2:
                        continue  # wholly in the half-plane u < 0, no wrap: the Hermitian twin covers it
                    if -mc < m < mc:
                        f = F[k, m] if m >= 0 else F[k, -m].conjugate()
                    else:  # the Nyquist term, split between -L/2 and its twin +L/2 (a Hermitian grid)
                        f = F[k, mc] * 0.5 if m < 0 else F[k, mc].conjugate() * 0.5
                    val = np.complex64(f * cur * filt[m if m >= 0 else m + L])
                    b0 = m * s
                    ib = int(math.floor(b0 - half)) + 1
                    sg = np.float32(1.0 - 2.0 * (ia & 1))  # (-1)^u of the first column
                    for d in range(W):
                        ti = int(abs(ia + d - a0) * tscale)
                        wa[d] = sg * table[ti] if ti < ntab else np.float32(0.0)
                        sg = -sg
                        if fast:
                            ca[d] = ia + d
                        else:  # the stored column of this cell, or -1 if it is in the other half
                            uu = (ia + d + g2) % G - g2
                            ca[d] = uu if uu >= 0 else (g2 if uu == -g2 else -1)
                    for db in range(W):
                        bb = ib + db
                        if bb < w0 or bb >= w1:
                            continue
                        ti = int(abs(bb - b0) * tscale)
                        if ti >= ntab:
                            continue
                        vb = val * (table[ti] if (bb & 1) == 0 else -table[ti])
                        row = bb - sh + g2
                        if fast:
                            for d in range(W):
                                H[row, ia + d] += vb * wa[d]
                        else:
                            for d in range(W):
                                if ca[d] >= 0:
                                    H[row, ca[d]] += vb * wa[d]
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
