"""GPU primitives (CuPy RawKernels): back-projection, forward projection and gridding.

Host/device traffic is explicit and minimal: the sinogram arrives on the device
(the caller or :func:`reconstruct` made the one explicit copy), the angle
tables (a few kB) are uploaded once per call with ``cupy.asarray``, and results
stay on the device. Nothing here calls ``.get()``, ``numpy.asarray`` on a device
array, or converts a device scalar to a Python number inside a loop.

The geometry and the interpolation are the same as the CPU twin,
:mod:`.primitives_cpu` (numba kernels in :mod:`._kernels`), so both backends agree to
float32 rounding. CuPy is imported only when a function here is called.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

_BP_SRC = r"""
extern "C" __global__
void backproject(const float* __restrict__ q, const float* __restrict__ cs, const float* __restrict__ sn,
                 float* __restrict__ out, const int ns, const int na, const int nd, const int n,
                 const float center, const float scale)
{
    // one thread per output pixel and slice; sinogram rows read through the read-only cache
    const int j = blockIdx.x * blockDim.x + threadIdx.x;
    const int i = blockIdx.y * blockDim.y + threadIdx.y;
    const int sl = blockIdx.z;
    if (i >= n || j >= n) return;
    const float c0 = 0.5f * (float)(n - 1);
    const float x = (float)j - c0;
    const float y = c0 - (float)i;
    const float* qs = q + (size_t)sl * na * nd;
    float acc = 0.0f;
    for (int k = 0; k < na; ++k) {
        const float s = x * cs[k] + y * sn[k] + center;
        const float fl = floorf(s);
        const int i0 = (int)fl;
        const float w = s - fl;
        const float* row = qs + (size_t)k * nd;
        const float a = (i0 >= 0 && i0 < nd) ? __ldg(row + i0) : 0.0f;
        const float b = (i0 + 1 >= 0 && i0 + 1 < nd) ? __ldg(row + i0 + 1) : 0.0f;
        acc += a + w * (b - a);
    }
    out[((size_t)sl * n + i) * n + j] = acc * scale;
}
"""

_BPN_SRC = r"""
extern "C" __global__
void backproject_nearest(const float* __restrict__ q, const float* __restrict__ cs, const float* __restrict__ sn,
                         float* __restrict__ out, const int ns, const int na, const int ndu, const int n,
                         const float center, const float up, const float scale)
{
    // FBP on Fourier-upsampled filtered projections: one load per pixel and angle (same rule as numba)
    const int j = blockIdx.x * blockDim.x + threadIdx.x;
    const int i = blockIdx.y * blockDim.y + threadIdx.y;
    const int sl = blockIdx.z;
    if (i >= n || j >= n) return;
    const float c0 = 0.5f * (float)(n - 1);
    const float x = ((float)j - c0) * up;
    const float y = (c0 - (float)i) * up;
    const float sh = center * up + 0.5f;
    const float* qs = q + (size_t)sl * na * ndu;
    float acc = 0.0f;
    for (int k = 0; k < na; ++k) {
        const int m = (int)floorf(x * cs[k] + y * sn[k] + sh);
        if (m >= 0 && m < ndu) acc += __ldg(qs + (size_t)k * ndu + m);
    }
    out[((size_t)sl * n + i) * n + j] = acc * scale;
}
"""

_FP_SRC = r"""
extern "C" __global__
void forward_project(const float* __restrict__ img, const float* __restrict__ cs, const float* __restrict__ sn,
                     float* __restrict__ out, const int ns, const int na, const int nd, const int n,
                     const float center)
{
    // one thread per pixel, slice and angle: splat with linear weights (adjoint of backproject)
    const int j = blockIdx.x * blockDim.x + threadIdx.x;
    const int i = blockIdx.y * blockDim.y + threadIdx.y;
    const int z = blockIdx.z;
    const int sl = z / na, k = z % na;
    if (i >= n || j >= n || sl >= ns) return;
    const float c0 = 0.5f * (float)(n - 1);
    const float s = ((float)j - c0) * cs[k] + (c0 - (float)i) * sn[k] + center;
    const float fl = floorf(s);
    const int i0 = (int)fl;
    const float w = s - fl;
    const float v = img[((size_t)sl * n + i) * n + j];
    float* row = out + ((size_t)sl * na + k) * nd;
    if (i0 >= 0 && i0 < nd) atomicAdd(row + i0, v * (1.0f - w));
    if (i0 + 1 >= 0 && i0 + 1 < nd) atomicAdd(row + i0 + 1, v * w);
}
"""

_GRID_SRC = r"""
extern "C" __global__
void grid_spread(const float2* __restrict__ P, const float* __restrict__ cs, const float* __restrict__ sn,
                 float* __restrict__ H, const int na, const int L, const int G, const int W,
                 const float* __restrict__ table, const int ntab, const float tscale)
{
    // one thread per polar sample (angle k, radial index m); H is (G, G) complex64 seen as float pairs
    const int m = blockIdx.x * blockDim.x + threadIdx.x;
    const int k = blockIdx.y;
    if (m >= L || k >= na) return;
    const float2 val = P[(size_t)k * L + m];
    const int mm = m - L / 2;
    const float a0 = mm * cs[k], b0 = mm * sn[k];
    const float half = 0.5f * W;
    const int ia = (int)floorf(a0 - half) + 1;
    const int ib = (int)floorf(b0 - half) + 1;
    for (int db = 0; db < W; ++db) {
        const int tb = (int)(fabsf(ib + db - b0) * tscale);
        if (tb >= ntab) continue;
        const float wb = table[tb];
        const int row = ((ib + db) % G + G) % G;
        for (int da = 0; da < W; ++da) {
            const int ta = (int)(fabsf(ia + da - a0) * tscale);
            if (ta >= ntab) continue;
            const float wgt = wb * table[ta];
            const int col = ((ia + da) % G + G) % G;
            float* cell = H + 2 * ((size_t)row * G + col);
            atomicAdd(cell, val.x * wgt);
            atomicAdd(cell + 1, val.y * wgt);
        }
    }
}
"""


@functools.cache
def _kernel(src: str, name: str) -> Any:
    import cupy as cp

    return cp.RawKernel(src, name, options=("--use_fast_math",))


def angle_tables(theta: np.ndarray) -> tuple[Any, Any]:
    """cos and sin of ``theta`` (radians) as float32 device arrays (an explicit, tiny upload)."""
    import cupy as cp

    th = np.asarray(theta, np.float64)
    return cp.asarray(np.cos(th).astype(np.float32)), cp.asarray(
        np.sin(th).astype(np.float32)
    )  # explicit, tiny


def backproject(q: Any, theta: np.ndarray, center: float, n: int, scale: float, upsample: int = 1) -> Any:
    """(slices, angles, detector * upsample) device array -> (slices, n, n) device array.

    ``upsample == 1``: linear interpolation; otherwise nearest sample of the upsampled projections.
    """
    import cupy as cp

    q = cp.ascontiguousarray(q, dtype=cp.float32)
    ns, na, ndu = q.shape
    cs, sn = angle_tables(theta)
    out = cp.empty((ns, n, n), cp.float32)
    block = (32, 8, 1)
    grid = ((n + 31) // 32, (n + 7) // 8, ns)
    if upsample == 1:
        _kernel(_BP_SRC, "backproject")(
            grid,
            block,
            (
                q,
                cs,
                sn,
                out,
                np.int32(ns),
                np.int32(na),
                np.int32(ndu),
                np.int32(n),
                np.float32(center),
                np.float32(scale),
            ),
        )
    else:
        _kernel(_BPN_SRC, "backproject_nearest")(
            grid,
            block,
            (
                q,
                cs,
                sn,
                out,
                np.int32(ns),
                np.int32(na),
                np.int32(ndu),
                np.int32(n),
                np.float32(center),
                np.float32(upsample),
                np.float32(scale),
            ),
        )
    return out


def forward_project(img: Any, theta: np.ndarray, center: float, ndet: int) -> Any:
    """(slices, n, n) device array -> (slices, angles, ndet) device array."""
    import cupy as cp

    img = cp.ascontiguousarray(img, dtype=cp.float32)
    ns, n, _ = img.shape
    cs, sn = angle_tables(theta)
    na = cs.size
    out = cp.zeros((ns, na, ndet), cp.float32)
    block = (32, 8, 1)
    grid = ((n + 31) // 32, (n + 7) // 8, ns * na)
    _kernel(_FP_SRC, "forward_project")(
        grid,
        block,
        (img, cs, sn, out, np.int32(ns), np.int32(na), np.int32(ndet), np.int32(n), np.float32(center)),
    )
    return out


def grid_spread(P: Any, cos_t: Any, sin_t: Any, G: int, width: int, table: Any, tscale: float) -> Any:
    """Spread weighted radial spectra onto a (G, G) complex64 device grid (Kaiser-Bessel kernel).

    Parameters
    ----------
    P : complex64 device array (angles, L), the fftshifted, weighted projection spectra
    cos_t, sin_t : float32 device arrays (angles,)
    G : grid side; width : kernel width in cells
    table : float32 device array, the kernel table (``tscale`` entries per cell)
    """
    import cupy as cp

    na, L = P.shape
    H = cp.zeros((G, G), cp.complex64)
    _kernel(_GRID_SRC, "grid_spread")(
        ((L + 127) // 128, na),
        (128,),
        (
            P,
            cos_t,
            sin_t,
            H.view(cp.float32),
            np.int32(na),
            np.int32(L),
            np.int32(G),
            np.int32(width),
            table,
            np.int32(table.size),
            np.float32(tscale),
        ),
    )
    return H
