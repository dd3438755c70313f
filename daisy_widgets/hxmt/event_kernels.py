"""Compiled one-pass loops over event lists (numba): GTI masks, fixed-width binning, folding, PI histograms.

Each function gives exactly what the numpy expression named in its docstring gives (same
floating-point operations in the same order, no fast-math), in one pass over the events
instead of several temporary arrays. Numba is imported, and the loops compiled or loaded
from numba's cache, on first use; inputs under :data:`COMPILED_FROM` events take the numpy
expression itself (no numba import for a small list), and so does every call made inside
:func:`numpy_loops` (a one-shot batch run: numba's start in a fresh process, about 1 s and
180 MB, costs more than its loops save on one observation).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

_KERNELS: dict[str, Any] = {}
#: event count from which the compiled loops are used (below it, the numpy expressions)
COMPILED_FROM = 100_000
_THREAD = threading.local()


def compiled_for(n: int) -> bool:
    """Whether a call over ``n`` events runs a compiled loop: from :data:`COMPILED_FROM` events,
    unless this thread is inside :func:`numpy_loops`."""
    return n >= COMPILED_FROM and not getattr(_THREAD, "numpy_only", False)


def loaded() -> bool:
    """Whether the compiled loops are loaded in this process (numba started)."""
    return bool(_KERNELS)


@contextmanager
def numpy_loops(active: bool = True) -> Iterator[None]:
    """Within it, calls from this thread run the numpy expressions (the same results), whatever
    their size; ``active=False`` changes nothing. Other threads are not affected."""
    before = getattr(_THREAD, "numpy_only", False)
    _THREAD.numpy_only = before or active
    try:
        yield
    finally:
        _THREAD.numpy_only = before


def _kernels() -> dict[str, Any]:
    if _KERNELS:
        return _KERNELS
    from numba import njit

    @njit(cache=True, nogil=True, inline="always")
    def edges_up_to(edges, x, j):  # pragma: no cover - compiled
        """Number of ``edges`` <= ``x`` (searchsorted side="right"), walking from the previous
        answer ``j``: O(1) per event for sorted times, correct in any order; NaN: 0."""
        if x != x:
            return 0
        m = edges.size
        while j < m and edges[j] <= x:
            j += 1
        while j > 0 and edges[j - 1] > x:
            j -= 1
        return j

    @njit(cache=True, nogil=True)
    def gti_mask_loop(t, edges, out):  # pragma: no cover - compiled
        j = 0
        for i in range(t.size):
            j = edges_up_to(edges, t[i], j)
            out[i] = (j & 1) == 1

    @njit(cache=True, nogil=True)
    def bin_counts_loop(x, x0, dx, counts):  # pragma: no cover - compiled
        nb = counts.size
        for i in range(x.size):
            f = np.floor((x[i] - x0) / dx)
            if f >= 0.0 and f < nb:
                counts[int(f)] += 1

    @njit(cache=True, nogil=True)
    def fold_loop(t, t0, f, fdot, counts):  # pragma: no cover - compiled
        nbin = counts.size
        half_fdot = 0.5 * fdot
        for i in range(t.size):
            dt = t[i] - t0
            phase = dt * f + half_fdot * dt * dt
            phase -= np.floor(phase)
            k = np.int64(phase * nbin)
            if k > nbin - 1:
                k = nbin - 1
            counts[k] += 1

    @njit(cache=True, nogil=True)
    def histogram_loop(v, counts):  # pragma: no cover - compiled
        n = counts.size
        negative = 0
        for i in range(v.size):
            k = np.int64(v[i])
            if k < 0:
                negative += 1
            elif k < n:
                counts[k] += 1
        return negative

    @njit(cache=True, nogil=True)
    def screen_loop(t, pi, edges, lo, hi, t_out, pi_out):  # pragma: no cover - compiled
        # branch-free: every event is written at the next free slot and the slot is taken only
        # when the event is kept (a PI test on random PI mispredicts half the branches)
        j, k = 0, 0
        for i in range(t.size):
            p = pi[i]
            x = t[i]
            j = edges_up_to(edges, x, j)
            t_out[k] = x
            pi_out[k] = p
            k += ((j & 1) == 1) & (p >= lo) & (p <= hi)
        return k

    @njit(cache=True, nogil=True)
    def compress_loop(rows, mask, out):  # pragma: no cover - compiled
        k, width = 0, rows.shape[1]
        for i in range(mask.size):
            if mask[i]:
                for j in range(width):
                    out[k, j] = rows[i, j]
                k += 1
        return k

    @njit(cache=True, nogil=True)
    def copy_rows_loop(src, dst):  # pragma: no cover - compiled
        width = src.shape[1]
        for i in range(src.shape[0]):
            for j in range(width):
                dst[i, j] = src[i, j]

    @njit(cache=True, nogil=True)
    def gain_pi_loop(det, channel, u, c0, c1, pi_max, out):  # pragma: no cover - compiled
        for i in range(det.size):
            d = det[i]
            v = np.floor(c0[d] + c1[d] * (channel[i] + u[i]))
            if v < 0.0:
                v = 0.0
            elif v > pi_max:
                v = pi_max
            out[i] = np.int16(v)

    @njit(cache=True, nogil=True)
    def min_max_loop(x):  # pragma: no cover - compiled
        lo = hi = x[0]
        for i in range(1, x.size):
            v = x[i]
            if v < lo:
                lo = v
            elif v > hi:
                hi = v
        return lo, hi

    @njit(cache=True, nogil=True)
    def split_block_loop(
        t, det, pi, good, edges, sel, blind, lo, hi, rows, out, counts
    ):  # pragma: no cover - compiled
        """Rows of one block into the four outputs of screening (see :func:`split_block`)."""
        width = rows.shape[1]
        ev_rows, ev_pi, bl_rows, bl_pi, raw, raw_blind = out
        k_ev, k_bl, k_raw, k_rb = counts[0], counts[1], counts[2], counts[3]
        j = 0
        for i in range(t.size):
            x = t[i]
            j = edges_up_to(edges, x, j)
            if (j & 1) == 0:
                continue
            d = det[i]
            p = pi[i]
            keep = good[i] and p >= lo and p <= hi
            if sel[d]:
                raw[k_raw] = x
                k_raw += 1
                if keep:
                    for c in range(width):
                        ev_rows[k_ev, c] = rows[i, c]
                    ev_pi[k_ev] = p
                    k_ev += 1
            if blind[d]:
                raw_blind[k_rb] = x
                k_rb += 1
                if keep:
                    for c in range(width):
                        bl_rows[k_bl, c] = rows[i, c]
                    bl_pi[k_bl] = p
                    k_bl += 1
        counts[0], counts[1], counts[2], counts[3] = k_ev, k_bl, k_raw, k_rb

    _KERNELS.update(
        split_block=split_block_loop,
        min_max=min_max_loop,
        copy_rows=copy_rows_loop,
        gain_pi=gain_pi_loop,
        gti_mask=gti_mask_loop,
        bin_counts=bin_counts_loop,
        fold=fold_loop,
        histogram=histogram_loop,
        screen=screen_loop,
        compress=compress_loop,
    )
    return _KERNELS


def _float_array(x: np.ndarray) -> np.ndarray:
    a = np.asarray(x)
    return a if a.dtype == np.float64 else a.astype(np.float64)


def gti_mask_of(t: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """``searchsorted(edges, t, side="right") & 1`` as booleans: times inside ``[start, stop)``.

    Parameters
    ----------
    t
        Times (s), any shape; strided views (a column of a structured array) are read in place.
    edges
        GTI starts and stops interleaved, sorted (2 m,), s.
    """
    t = np.asarray(t)
    if not compiled_for(t.size):
        return (np.searchsorted(edges, t, side="right") & 1).astype(bool)
    out = np.empty(t.shape, bool)
    if t.size:
        flat = t.reshape(-1) if t.ndim != 1 else t
        _kernels()["gti_mask"](_float_array(flat), np.ascontiguousarray(edges, np.float64), out.reshape(-1))
    return out


def bin_counts(x: np.ndarray, x0: float, dx: float, nbins: int) -> np.ndarray:
    """Counts of ``x`` in ``nbins`` bins of width ``dx`` from ``x0`` (values outside are dropped), int64 (nbins,).

    Equal to ``bincount(floor((x - x0) / dx).astype(int64)[in range], minlength=nbins)``.
    """
    x = np.asarray(x)
    if not compiled_for(x.size) or x.dtype != np.float64:
        idx = np.floor((x - x0) / dx).astype(np.int64)
        ok = (idx >= 0) & (idx < nbins)
        return np.bincount(idx[ok], minlength=nbins).astype(np.int64)
    counts = np.zeros(int(nbins), np.int64)
    if nbins > 0:
        _kernels()["bin_counts"](_float_array(x.reshape(-1)), float(x0), float(dx), counts)
    return counts


def fold_counts(t: np.ndarray, t0: float, frequency: float, fdot: float, nbin: int) -> np.ndarray:
    """Counts per phase bin (nbin,), int64, of times ``t`` (s) folded at ``frequency`` (Hz), ``fdot`` (Hz/s).

    Phase ``dt f + 0.5 fdot dt^2`` with ``dt = t - t0``, its fractional part times ``nbin``,
    truncated and capped at ``nbin - 1``: as :func:`.timing.fold_events` computes it.
    """
    t = _float_array(t)
    if not compiled_for(t.size):
        dt = t - t0
        phase = dt * frequency + 0.5 * fdot * dt * dt
        phase -= np.floor(phase)
        idx = (phase * nbin).astype(np.int64)
        np.minimum(idx, nbin - 1, out=idx)
        return np.bincount(idx, minlength=nbin).astype(np.int64)
    counts = np.zeros(int(nbin), np.int64)
    if t.size:
        _kernels()["fold"](_float_array(t.reshape(-1)), float(t0), float(frequency), float(fdot), counts)
    return counts


def channel_histogram(values: np.ndarray, n: int) -> np.ndarray:
    """Counts of integer channel ``values`` in ``0..n-1`` (larger ones dropped), int64 (n,).

    Equal to ``bincount(values.astype(int64), minlength=n)[:n]``.

    Raises
    ------
    ValueError
        A negative value (as ``numpy.bincount``).
    """
    v = np.asarray(values)
    if not compiled_for(v.size):
        return np.bincount(v.astype(np.int64), minlength=n)[:n].astype(np.int64)
    counts = np.zeros(int(n), np.int64)
    if v.size:
        if not np.issubdtype(v.dtype, np.integer):
            v = v.astype(np.int64)
        if _kernels()["histogram"](v.reshape(-1), counts):
            raise ValueError("channel values must be non-negative (found a negative one)")
    return counts


def screen_times(
    t: np.ndarray, pi: np.ndarray, edges: np.ndarray, pi_min: int, pi_max: int
) -> tuple[np.ndarray, np.ndarray]:
    """Times (s) and PI of the events inside the GTI with ``pi_min <= PI <= pi_max``, in one pass.

    Equal to ``m = gti_mask(t, gti) & (pi >= pi_min) & (pi <= pi_max); t[m], pi[m]`` (``edges`` =
    ``gti.ravel()``). Large inputs: the results are views of buffers of the input's length whose
    unused tail is never written (no memory is committed for it).

    Parameters
    ----------
    t
        Event times (s), shape (n,).
    pi
        PI channels, integer, shape (n,).
    """
    t, pi = np.asarray(t), np.asarray(pi)
    if not compiled_for(t.size) or t.dtype != np.float64 or not np.issubdtype(pi.dtype, np.integer):
        m = gti_mask_of(t, edges) & (pi >= pi_min) & (pi <= pi_max)
        return t[m], pi[m]
    t_out, pi_out = np.empty_like(t), np.empty_like(pi)
    k = _kernels()["screen"](
        t, pi, np.ascontiguousarray(edges, np.float64), int(pi_min), int(pi_max), t_out, pi_out
    )
    return t_out[:k], pi_out[:k]


def compress_rows(table: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """``table[mask]`` for a 1-D (structured) array, copying the selected rows' bytes in one pass."""
    table, mask = np.asarray(table), np.asarray(mask, bool)
    if (
        not compiled_for(table.size)
        or table.ndim != 1
        or not table.flags.c_contiguous
        or table.dtype.hasobject
    ):
        return table[mask]
    n_out = int(np.count_nonzero(mask))
    out = np.empty(n_out, table.dtype)
    width = table.dtype.itemsize
    _kernels()["compress"](
        table.view(np.uint8).reshape(-1, width), mask, out.view(np.uint8).reshape(-1, width)
    )
    return out


def with_new_column(table: np.ndarray, name: str, dtype: Any) -> np.ndarray:
    """A copy of a structured array with column ``name`` appended (its values left to be filled).

    Parameters
    ----------
    table
        1-D structured array; ``name`` must not be one of its columns.
    """
    out = np.empty(table.shape, np.dtype([(n, table.dtype[n]) for n in table.dtype.names] + [(name, dtype)]))
    packed = table.dtype.itemsize == sum(table.dtype[n].itemsize for n in table.dtype.names)
    same = packed and all(out.dtype.fields[n][1] == table.dtype.fields[n][1] for n in table.dtype.names)
    if compiled_for(table.size) and same and table.ndim == 1 and table.flags.c_contiguous:
        _kernels()["copy_rows"](
            table.view(np.uint8).reshape(table.size, -1), out.view(np.uint8).reshape(table.size, -1)
        )
    else:
        for n in table.dtype.names:
            out[n] = table[n]
    return out


def gain_pi(
    det: np.ndarray,
    channel: np.ndarray,
    u: np.ndarray,
    c0: np.ndarray,
    c1: np.ndarray,
    n_pi: int,
    out: np.ndarray,
) -> None:
    """``out[:] = clip(floor(c0[det] + c1[det] * (channel + u)), 0, n_pi - 1)`` as int16, in one pass.

    Parameters
    ----------
    det, channel, u
        Detector IDs (valid indices of ``c0``/``c1``), raw channels and uniform deviates in [0, 1), shape (n,).
    c0, c1
        Per-detector gain offset and slope (PI channels), float64.
    out
        PI column to write, int16, shape (n,) (a column of a structured array is written in place).
    """
    c0, c1 = np.ascontiguousarray(c0, np.float64), np.ascontiguousarray(c1, np.float64)
    if not compiled_for(det.size) or c0.dtype != np.float64:
        # c0[d] + c1[d] * (channel + u), floor, clip: in place, the same operations in the same order
        d = np.asarray(det).astype(np.intp)
        v = np.asarray(channel + u)
        if v.dtype != np.float64:
            out[:] = np.clip(np.floor(c0[d] + c1[d] * v), 0, n_pi - 1).astype(np.int16)
            return
        v *= c1[d]
        v += c0[d]
        np.floor(v, out=v)
        np.clip(v, 0, n_pi - 1, out=v)
        out[:] = v
        return
    _kernels()["gain_pi"](det, channel, np.asarray(u, np.float64), c0, c1, float(n_pi - 1), out)


def int_range(x: np.ndarray) -> tuple[int, int]:
    """``(x.min(), x.max())`` of a non-empty integer array in one pass (strided columns read in place)."""
    x = np.asarray(x)
    if not compiled_for(x.size) or not np.issubdtype(x.dtype, np.integer):
        return int(x.min()), int(x.max())
    lo, hi = _kernels()["min_max"](x.reshape(-1) if x.ndim != 1 else x)
    return int(lo), int(hi)


def split_block(
    block: np.ndarray,
    pi: np.ndarray,
    good: np.ndarray,
    edges: np.ndarray,
    selected: np.ndarray,
    blind: np.ndarray,
    pi_range: tuple[int, int],
    out: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    counts: np.ndarray,
) -> None:
    """Append one block of calibrated events to the four outputs of screening, in one pass.

    For the events inside the GTI (``edges`` = ``gti.ravel()``, sorted): the times of those on a
    ``selected`` detector to ``out[2]`` and on a ``blind`` one to ``out[3]``; of these, the rows
    with ``good`` flags and ``pi_range[0] <= pi <= pi_range[1]`` to ``out[0]`` (selected) and
    ``out[1]`` (blind), each the block's row followed by its PI. Rows keep their order: the
    outputs equal :func:`.screen.screen_sets` of the calibrated table, block after block.

    Parameters
    ----------
    block
        Level-1 events (structured, packed, C-contiguous), shape (n,).
    pi, good
        PI (int16) and the flag mask (bool) of the block's events, shape (n,).
    selected, blind
        Lookup tables by detector ID (bool); every ``DET_ID`` of the block indexes them.
    out
        ``(events, blind events, raw times, raw blind times)``: the events with the block's
        columns then ``PI`` (int16, packed), times float64, each with room for the rows to come.
    counts
        Rows already in each output (int64, 4), advanced in place.
    """
    events, blind_events, raw, raw_blind = out
    width = block.dtype.itemsize
    k = _kernels()
    k["split_block"](
        block["TIME"],
        block["DET_ID"],
        pi,
        good,
        np.ascontiguousarray(edges, np.float64),
        selected,
        blind,
        int(pi_range[0]),
        int(pi_range[1]),
        block.view(np.uint8).reshape(block.size, width),
        (
            events.view(np.uint8).reshape(events.size, -1),
            events["PI"],
            blind_events.view(np.uint8).reshape(blind_events.size, -1),
            blind_events["PI"],
            raw,
            raw_blind,
        ),
        counts,
    )
