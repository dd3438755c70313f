"""Numba CPU kernels of FBP's back-projection (nearest sample of upsampled projections).

Same geometry and samples as :func:`._kernels.backproject_nearest` (kept there as the
reference the tests and ``benchmarks/fbp_backprojector.py`` compare with). FBP calls
:func:`backproject_nearest`, which runs

* :func:`backproject_nearest_permute` on CPUs with AVX-512 (``avx512f``): for 16
  neighbouring pixels of an output row and one angle, the 16 sample indices span at most
  ``15 * upsample * |cos| + 2 <= 64`` consecutive samples (``upsample <= 4``), so the 64
  samples from the smallest index on are loaded as four vectors and the 16 lookups are
  two two-table permutes (``vpermi2ps``) and a blend instead of 16 scalar loads (one
  permute of 32 samples where ``upsample * |cos| <= 2``, a third of the angles); four
  angles are summed per pass; each parallel task is a tile of :data:`ROWS` rows, run
  through in blocks of :data:`COLUMNS` columns per group of angles, so that the samples
  reached and the block's output stay in L1;
* :func:`backproject_nearest_gather` elsewhere (and for ``upsample > 4``): per output row
  and group of four angles the sample indices are first computed into small buffers (a
  vectorised loop), then the lookups run as a loop of plain loads and adds; the indices
  are unsigned, so there is no wrap-around test per lookup. Tiles of :data:`ROWS` output
  rows (one parallel task each) are accumulated over blocks of :data:`ANGLES` angles whose
  upsampled sinogram rows stay in L2 meanwhile.

The sample of pixel ``(i, j)`` at an angle is ``uint32(fma(j - c0, cos * U, fma(y_i,
sin * U, shift * U + 0.5)))`` in float32 (``c0 = (n - 1) / 2``, ``y_i = c0 - i``): the
expression the compiler makes of the reference's ``y * sin * U - c0 * cos * U + shift * U
+ 0.5 + j * cos * U`` on a CPU with FMA. The permute kernel writes it out with explicit
fused multiply-adds, so it picks the reference's samples by construction rather than by
the compiler's choice (except for the last ``angles % 4`` angles, where it keeps the
reference's source line, which the compiler forms differently); only the order of the float32
additions differs (the tests compare the kernels on phantoms, and on integer samples where
every sum is exact).
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import njit, prange, types
from numba.core import cgutils
from numba.extending import intrinsic

#: output rows per parallel task (both kernels), and angles per cache block (gather kernel)
ROWS = 32
ANGLES = 8
#: output pixels per permute (one AVX-512 vector of float32), and samples it can reach
LANES = 16
WINDOW = 64
#: the permute kernel's column blocks (pixels)
COLUMNS = 128

_F32 = ir.FloatType()
_I32 = ir.IntType(32)
_I64 = ir.IntType(64)
_VF = ir.VectorType(_F32, LANES)
_VI = ir.VectorType(_I32, LANES)


def cpu_has_avx512() -> bool:
    """Whether numba compiles for a CPU with AVX-512F (the permute kernel needs it)."""
    import llvmlite.binding as llvm
    from numba.core import config

    if config.CPU_NAME:  # an explicit target (NUMBA_CPU_NAME), e.g. for portable caches
        return "+avx512f" in (config.CPU_FEATURES or "")
    return bool(llvm.get_host_cpu_features().get("avx512f", False))


# ----------------------------------------------------------------------------- intrinsics
def _splat(builder, x):
    v = builder.insert_element(
        ir.Constant(ir.VectorType(x.type, LANES), ir.Undefined), x, ir.Constant(_I32, 0)
    )
    return builder.shuffle_vector(v, v, ir.Constant(_VI, [0] * LANES))


def _vector_at(builder, ptr, offset):
    return builder.bitcast(builder.gep(ptr, [offset]), _VF.as_pointer())


@intrinsic
def fma32(typingctx, a, b, c):
    """``a * b + c`` in float32 with one rounding (``llvm.fma.f32``)."""
    sig = types.float32(types.float32, types.float32, types.float32)

    def codegen(context, builder, signature, args):
        fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(_F32, [_F32] * 3), "llvm.fma.f32")
        return builder.call(fn, args)

    return sig, codegen


def _make_accumulate16(window: int):
    """The intrinsic ``row[j0 : j0 + 16] += sum_a q[offsets[a] + uint32(fma(x0 + lane, cs[a], ys[a]))]``.

    ``q`` is flat; ``offsets`` (int64), ``cs``, ``ys`` and ``low_lanes`` (float32: the lane
    whose index is the smallest, 0 or 15) are tuples with one entry per angle. Each angle
    reads ``q[offsets[a] + m : offsets[a] + m + window]``, ``m`` its smallest index, and the
    16 indices must lie within that window (``window`` 32: one permute; 64: two and a blend).
    """

    @intrinsic
    def accumulate16(typingctx, row, j0, x0, q, offsets, cs, ys, low_lanes):
        f32 = types.float32
        arrays = all(isinstance(t, types.Array) and t.dtype == f32 and t.ndim == 1 for t in (row, q))
        tuples = all(isinstance(t, types.UniTuple) for t in (offsets, cs, ys, low_lanes))
        if not (arrays and tuples and x0 == f32 and isinstance(j0, types.Integer)):
            return None  # a typing error at the call: the code below assumes these types
        if not (offsets.dtype == types.int64 and cs.dtype == ys.dtype == low_lanes.dtype == f32):
            return None
        if not len(offsets) == len(cs) == len(ys) == len(low_lanes):
            return None
        sig = types.void(row, j0, x0, q, offsets, cs, ys, low_lanes)

        def codegen(context, builder, signature, args):
            row_v, j0_v, x0_v, q_v, offs_t, cs_t, ys_t, low_t = args
            rowp = context.make_array(signature.args[0])(context, builder, row_v).data
            qp = context.make_array(signature.args[3])(context, builder, q_v).data
            mod = builder.module
            permute = cgutils.get_or_insert_function(
                mod, ir.FunctionType(_VF, [_VF, _VI, _VF]), "llvm.x86.avx512.vpermi2var.ps.512"
            )
            fma_v = cgutils.get_or_insert_function(mod, ir.FunctionType(_VF, [_VF] * 3), "llvm.fma.v16f32")
            fma_s = cgutils.get_or_insert_function(mod, ir.FunctionType(_F32, [_F32] * 3), "llvm.fma.f32")
            lanes = ir.Constant(_VF, [float(m) for m in range(LANES)])
            xv = builder.fadd(_splat(builder, x0_v), lanes)  # exact: small half-integers
            bit5 = _splat(builder, ir.Constant(_I32, 32))
            zero = ir.Constant(_VI, [0] * LANES)
            picked = []
            for a in range(len(signature.args[5])):
                c = builder.extract_value(cs_t, a)
                y = builder.extract_value(ys_t, a)
                idx = builder.fptoui(builder.call(fma_v, [xv, _splat(builder, c), _splat(builder, y)]), _VI)
                x_low = builder.fadd(x0_v, builder.extract_value(low_t, a))
                low = builder.fptoui(builder.call(fma_s, [x_low, c, y]), _I32)  # = the smallest lane of idx
                rel = builder.sub(idx, _splat(builder, low))  # 0 .. window - 1
                start = builder.add(builder.extract_value(offs_t, a), builder.zext(low, _I64))
                t = [
                    builder.load(
                        _vector_at(builder, qp, builder.add(start, ir.Constant(_I64, 16 * m))), align=4
                    )
                    for m in range(window // LANES)
                ]
                value = builder.call(permute, [t[0], rel, t[1]])  # samples 0..31 (index bits 0-4)
                if window == 64:
                    second = builder.call(permute, [t[2], rel, t[3]])  # samples 32..63
                    upper = builder.icmp_unsigned("!=", builder.and_(rel, bit5), zero)
                    value = builder.select(upper, second, value)
                picked.append(value)
            while len(picked) > 1:  # pairwise, as the reference: (a + b) + (c + d)
                picked = [builder.fadd(picked[m], picked[m + 1]) for m in range(0, len(picked), 2)]
            rp = _vector_at(builder, rowp, j0_v)
            builder.store(builder.fadd(builder.load(rp, align=4), picked[0]), rp, align=4)
            return context.get_dummy_value()

        return sig, codegen

    return accumulate16


_accumulate16 = _make_accumulate16(WINDOW)
_accumulate16_narrow = _make_accumulate16(WINDOW // 2)


# ----------------------------------------------------------------------------- kernels
@njit(parallel=True, fastmath=True, cache=True, nogil=True)
def backproject_nearest_permute(q, cos_t, sin_t, shift, n, upsample, scale):  # pragma: no cover - compiled
    """Back-projection of filtered sinograms upsampled ``upsample`` (<= 4) times, AVX-512 only.

    Arguments and result as :func:`backproject_nearest`; ``q`` must be C-contiguous.
    Each parallel task is a tile of :data:`ROWS` output rows; for each group of four
    angles it runs over the tile in blocks of :data:`COLUMNS` columns, so that the samples
    those rows reach and the block's output stay in L1.
    """
    ns, na, width = q.shape
    out = np.zeros((ns, n, n), np.float32)
    flat = q.reshape(-1)
    total = flat.size
    c0 = np.float32((n - 1) / 2.0)
    U = np.float32(upsample)
    sh = np.float32(shift * upsample + 0.5)  # + 0.5: truncation rounds to the nearest sample
    ntiles = (n + ROWS - 1) // ROWS
    nv = n - n % LANES
    na4 = na - na % 4
    narrow_c = np.float32((WINDOW // 2 - 2) / (LANES - 1))  # |cos| * U up to this: 16 lanes span <= 32
    for task in prange(ns * ntiles):
        sl = task // ntiles
        r0 = (task % ntiles) * ROWS
        r1 = min(r0 + ROWS, n)
        qs = q[sl]
        for k in range(0, na4, 4):
            cs = (cos_t[k] * U, cos_t[k + 1] * U, cos_t[k + 2] * U, cos_t[k + 3] * U)
            sa = sin_t[k] * U
            sb = sin_t[k + 1] * U
            sc = sin_t[k + 2] * U
            sd = sin_t[k + 3] * U
            o = (sl * na + k) * width
            offsets = (o, o + width, o + 2 * width, o + 3 * width)
            low = (
                np.float32(0.0 if cs[0] >= 0 else LANES - 1),
                np.float32(0.0 if cs[1] >= 0 else LANES - 1),
                np.float32(0.0 if cs[2] >= 0 else LANES - 1),
                np.float32(0.0 if cs[3] >= 0 else LANES - 1),
            )
            narrow = max(abs(cs[0]), abs(cs[1]), abs(cs[2]), abs(cs[3])) <= narrow_c
            j1 = 0
            if o + 4 * width + WINDOW <= total:  # every window stays inside q (not so for q's last rows)
                j1 = nv
                for jb in range(0, nv, COLUMNS):
                    je = min(jb + COLUMNS, nv)
                    for i in range(r0, r1):
                        y = c0 - np.float32(i)
                        ys = (fma32(y, sa, sh), fma32(y, sb, sh), fma32(y, sc, sh), fma32(y, sd, sh))
                        row = out[sl, i]
                        if narrow:
                            for j0 in range(jb, je, LANES):
                                _accumulate16_narrow(row, j0, np.float32(j0) - c0, flat, offsets, cs, ys, low)
                        else:
                            for j0 in range(jb, je, LANES):
                                _accumulate16(row, j0, np.float32(j0) - c0, flat, offsets, cs, ys, low)
            if j1 < n:  # columns after the last 16, or all of them: the same samples, one at a time
                qa = qs[k]
                qb = qs[k + 1]
                qc = qs[k + 2]
                qd = qs[k + 3]
                for i in range(r0, r1):
                    y = c0 - np.float32(i)
                    ya = fma32(y, sa, sh)
                    yb = fma32(y, sb, sh)
                    yc = fma32(y, sc, sh)
                    yd = fma32(y, sd, sh)
                    row = out[sl, i]
                    for j in range(j1, n):
                        x = np.float32(j) - c0
                        row[j] += (
                            qa[np.uint32(fma32(x, cs[0], ya))] + qb[np.uint32(fma32(x, cs[1], yb))]
                        ) + (qc[np.uint32(fma32(x, cs[2], yc))] + qd[np.uint32(fma32(x, cs[3], yd))])
        for k in range(na4, na):  # the last angles: the reference's own expression (compiled alike)
            c = cos_t[k] * U
            qk = qs[k]
            for i in range(r0, r1):
                y = c0 - np.float32(i)
                base = y * sin_t[k] * U - c0 * c + sh
                row = out[sl, i]
                for j in range(n):
                    row[j] += qk[np.uint32(base + np.float32(j) * c)]
        for i in range(r0, r1):
            for j in range(n):
                out[sl, i, j] *= np.float32(scale)
    return out


@njit(parallel=True, fastmath=True, cache=True, nogil=True)
def backproject_nearest_gather(q, cos_t, sin_t, shift, n, upsample, scale):  # pragma: no cover - compiled
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


#: whether :func:`backproject_nearest` may run the permute kernel (decided once, at import)
PERMUTE = cpu_has_avx512()


def backproject_nearest(
    q: np.ndarray,
    cos_t: np.ndarray,
    sin_t: np.ndarray,
    shift: float,
    n: int,
    upsample: int,
    scale: float,
) -> np.ndarray:
    """Back-projection of filtered sinograms upsampled ``upsample`` times (nearest sample):
    the AVX-512 permute kernel where the CPU has it and ``upsample <= 4``, else
    :func:`backproject_nearest_gather`, whose docstring gives the parameters' units and shapes
    (``q``: float32 (slices, angles, width); returns float32 (slices, n, n)); both pick the same
    samples."""
    if PERMUTE and upsample <= 4:
        return backproject_nearest_permute(np.ascontiguousarray(q), cos_t, sin_t, shift, n, upsample, scale)
    return backproject_nearest_gather(q, cos_t, sin_t, shift, n, upsample, scale)
