"""Numba CPU kernel of FBP's back-projection (nearest sample of upsampled projections).

Same geometry and result as :func:`._kernels.backproject_nearest` (kept there as the
reference the tests and ``benchmarks/tomography.py`` compare with), about 2-2.5 times
faster on the same cores (see ``docs/performance.md``). Two changes, neither of which
touches the arithmetic that picks a sample:

* the sample indices are unsigned, so the compiled loop has no negative-index
  wrap-around test per lookup (the padded detector makes every index positive);
* for each output row and group of four angles, the four rows of sample indices are
  first computed into small buffers (a loop the compiler vectorises: one fused
  multiply-add and one conversion per 16 pixels), then the gathers run as a separate
  loop of plain loads and adds, instead of moving each index out of a vector register.

Cache blocking as in the reference: tiles of :data:`ROWS` output rows (one parallel
task each) accumulated over blocks of :data:`ANGLES` angles whose upsampled sinogram
rows stay in L2 meanwhile. The index of each sample is computed with the same float32
expression as the reference, so both pick the same samples; only the order of the
float32 additions may differ (the tests compare the two on phantoms).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

#: output rows per parallel task, and angles per cache block
ROWS = 32
ANGLES = 8


@njit(parallel=True, fastmath=True, cache=True, nogil=True)
def backproject_nearest(q, cos_t, sin_t, shift, n, upsample, scale):  # pragma: no cover - compiled
    """Back-projection of filtered sinograms upsampled ``upsample`` times (nearest sample).

    Parameters
    ----------
    q : float32 (slices, angles, width)
        Upsampled, zero-padded filtered sinograms: sample ``m`` is detector position
        ``m / upsample`` in the padded detector, whose rotation axis is at ``shift``;
        padded so that every ray of the ``n x n`` grid falls inside (no bounds checks).
    cos_t, sin_t : float32 (angles,)
    shift : float
        Rotation axis in padded-detector pixels.
    n : int
        Output width (pixels).
    upsample : int
    scale : float
        Angular weight applied to the sum (radians per projection).

    Returns
    -------
    float32 (slices, n, n)
    """
    ns, na, width = q.shape
    out = np.zeros((ns, n, n), np.float32)
    c0 = np.float32((n - 1) / 2.0)
    U = np.float32(upsample)
    sh = np.float32(shift * upsample + 0.5)  # + 0.5: truncation rounds to the nearest sample
    ntiles = (n + ROWS - 1) // ROWS
    for task in prange(ns * ntiles):
        sl = task // ntiles
        r0 = (task % ntiles) * ROWS
        r1 = min(r0 + ROWS, n)
        qs = q[sl]
        ia = np.empty(n, np.uint32)
        ib = np.empty(n, np.uint32)
        ic = np.empty(n, np.uint32)
        id_ = np.empty(n, np.uint32)
        for a0 in range(0, na, ANGLES):
            a1 = min(a0 + ANGLES, na)
            for i in range(r0, r1):
                y = c0 - np.float32(i)
                row = out[sl, i]
                k = a0
                while k + 4 <= a1:
                    # the same expressions as the reference kernel: the same samples are picked
                    ca = cos_t[k] * U
                    cb = cos_t[k + 1] * U
                    cc = cos_t[k + 2] * U
                    cd = cos_t[k + 3] * U
                    ba = y * sin_t[k] * U - c0 * ca + sh
                    bb = y * sin_t[k + 1] * U - c0 * cb + sh
                    bc = y * sin_t[k + 2] * U - c0 * cc + sh
                    bd = y * sin_t[k + 3] * U - c0 * cd + sh
                    for j in range(n):
                        fj = np.float32(j)
                        ia[j] = np.uint32(ba + fj * ca)
                        ib[j] = np.uint32(bb + fj * cb)
                        ic[j] = np.uint32(bc + fj * cc)
                        id_[j] = np.uint32(bd + fj * cd)
                    qa = qs[k]
                    qb = qs[k + 1]
                    qc = qs[k + 2]
                    qd = qs[k + 3]
                    for j in range(n):
                        row[j] += (qa[ia[j]] + qb[ib[j]]) + (qc[ic[j]] + qd[id_[j]])
                    k += 4
                while k < a1:
                    c = cos_t[k] * U
                    base = y * sin_t[k] * U - c0 * c + sh
                    qk = qs[k]
                    for j in range(n):
                        row[j] += qk[np.uint32(base + np.float32(j) * c)]
                    k += 1
        for i in range(r0, r1):
            for j in range(n):
                out[sl, i, j] *= np.float32(scale)
    return out
