"""Generic algorithms shipped with Daisy (entry point ``core``), useful in any workflow and in tests.

All of them are data-parallel along axis 0 (``split``), so the Dask engine maps
them over blocks of slices.
"""

from __future__ import annotations

import time

import numpy as np

from .algorithm import Algorithm
from .backend import get_array_module
from .params import Choice, Float, Int, Port, Split


class Scale(Algorithm):
    """Multiply an array by a factor and add an offset: ``data * factor + offset``."""

    name = "core.scale"
    category = "core/arithmetic"
    inputs = (Port("data", ndim=(1, 2, 3, 4), help="any array, split along axis 0"),)
    outputs = (Port("data", help="scaled array, same shape"),)
    params = (
        Float("factor", 1.0, help="multiplier"),
        Float("offset", 0.0, help="added after scaling (same unit as the data)"),
    )
    split = Split(inputs={"data": 0}, outputs={"data": 0})

    def compute(self, data):
        out = data * self.values["factor"]
        if self.values["offset"]:
            out += self.values["offset"]  # in place: one temporary less on big blocks
        return {"data": out}


class Add(Algorithm):
    """Element-wise sum of two arrays of the same shape: ``a + b``."""

    name = "core.add"
    category = "core/arithmetic"
    inputs = (
        Port("a", ndim=(1, 2, 3, 4), help="first array"),
        Port("b", ndim=(1, 2, 3, 4), help="second array, same shape"),
    )
    outputs = (Port("sum", help="a + b"),)
    split = Split(inputs={"a": 0, "b": 0}, outputs={"sum": 0})

    def compute(self, a, b):
        if a.shape != b.shape:
            raise ValueError(f"a and b differ in shape: {a.shape} vs {b.shape}")
        return {"sum": a + b}


class Cast(Algorithm):
    """Convert an array to another data type (e.g. uint16 counts to float32)."""

    name = "core.cast"
    category = "core/arithmetic"
    inputs = (Port("data", ndim=(1, 2, 3, 4), help="any array"),)
    outputs = (Port("data", help="same values, new dtype"),)
    params = (Choice("dtype", "float32", ("float32", "float64", "uint16", "int32"), help="target data type"),)
    split = Split(inputs={"data": 0}, outputs={"data": 0})

    def compute(self, data):
        return {"data": data.astype(self.values["dtype"])}


def _smooth_kernel():
    import numba

    @numba.njit(nogil=True, cache=True, fastmath=True)
    def smooth(x, iterations):  # x: (n, m) float64, smoothed in place along axis 1
        n, m = x.shape
        tmp = np.empty(m)
        for _ in range(iterations):
            for i in range(n):
                for j in range(m):
                    lo = x[i, j - 1] if j > 0 else x[i, j]
                    hi = x[i, j + 1] if j < m - 1 else x[i, j]
                    tmp[j] = 0.25 * lo + 0.5 * x[i, j] + 0.25 * hi
                for j in range(m):
                    x[i, j] = tmp[j]
        return x

    return smooth


_SMOOTH = None


class Smooth(Algorithm):
    """Smooth each row with a [1/4, 1/2, 1/4] kernel repeated N times (numba, CPU-bound, releases the GIL)."""

    name = "core.smooth"
    category = "core/filters"
    inputs = (Port("data", dtype="fiu", ndim=(2, 3), help="array (slices, ..., x), split along axis 0"),)
    outputs = (Port("data", help="smoothed array, float64, same shape"),)
    params = (Int("iterations", 10, min=1, max=100000, help="times the 3-point kernel is applied"),)
    split = Split(inputs={"data": 0}, outputs={"data": 0})

    def compute(self, data):
        global _SMOOTH
        if _SMOOTH is None:
            _SMOOTH = _smooth_kernel()
        xp = get_array_module(data)
        if xp is not np:  # GPU arrays: a plain xp implementation
            out = data.astype(xp.float64)
            for _ in range(self.values["iterations"]):
                pad = xp.pad(out, [(0, 0)] * (out.ndim - 1) + [(1, 1)], mode="edge")
                out = 0.25 * pad[..., :-2] + 0.5 * pad[..., 1:-1] + 0.25 * pad[..., 2:]
            return {"data": out}
        out = np.array(data, dtype=np.float64, copy=True)
        flat = out.reshape(-1, out.shape[-1])
        rows_per_check = max(1, flat.shape[0] // 10)
        for start in range(0, flat.shape[0], rows_per_check):
            self.context.check_cancelled()
            _SMOOTH(flat[start : start + rows_per_check], self.values["iterations"])
            self.context.progress(min(start + rows_per_check, flat.shape[0]), flat.shape[0])
        return {"data": out}


class SliceStats(Algorithm):
    """Per-slice statistics along axis 0 as a table (index, mean, min, max)."""

    name = "core.slice_stats"
    category = "core/statistics"
    inputs = (Port("data", ndim=(2, 3, 4), help="array (slices, ...)"),)
    outputs = (Port("stats", kind="table", help="one row per slice: index, mean, min, max"),)
    params = (Int("first_index", 0, min=0, help="index given to the first slice"),)
    split = Split(inputs={"data": 0}, outputs={"stats": 0})

    def compute(self, data):
        d = np.asarray(data, dtype=np.float64).reshape(data.shape[0], -1)
        out = np.empty(d.shape[0], dtype=[("index", "i8"), ("mean", "f8"), ("min", "f8"), ("max", "f8")])
        start = getattr(self.context, "chunk_start", 0)  # offset of this chunk, set by the engines
        out["index"] = np.arange(d.shape[0]) + start + self.values["first_index"]
        out["mean"], out["min"], out["max"] = d.mean(1), d.min(1), d.max(1)
        return {"stats": out}


class CheckFinite(Algorithm):
    """Pass the data through, failing with the index of the first NaN or infinite value."""

    name = "core.check_finite"
    category = "core/checks"
    inputs = (Port("data", dtype="fiuc", help="any array"),)
    outputs = (Port("data", help="the same array"),)
    split = Split(inputs={"data": 0}, outputs={"data": 0})

    def compute(self, data):
        xp = get_array_module(data)
        bad = ~xp.isfinite(data)
        if bool(bad.any()):
            idx = tuple(int(i) for i in np.argwhere(np.asarray(bad))[0])
            raise ValueError(f"non-finite value {data[idx]} at index {idx} (within this chunk)")
        return {"data": data}


class Delay(Algorithm):
    """Pass the data through after waiting; for trying out progress bars and cancellation."""

    name = "core.delay"
    category = "core/testing"
    inputs = (Port("data", help="any array"),)
    outputs = (Port("data", help="the same array"),)
    params = (Float("seconds", 0.1, min=0.0, max=3600.0, unit="s", help="time to wait per chunk"),)
    split = Split(inputs={"data": 0}, outputs={"data": 0}, block=1)

    def compute(self, data):
        end = time.monotonic() + self.values["seconds"]
        while True:
            self.context.check_cancelled()
            left = end - time.monotonic()
            if left <= 0:
                break
            time.sleep(min(left, 0.05))
        return {"data": data}


class Sum(Algorithm):
    """Sum of all elements (a scalar), e.g. to check a result or total counts."""

    name = "core.sum"
    category = "core/statistics"
    inputs = (Port("data", help="any array"),)
    outputs = (Port("total", kind="scalar", help="sum of all elements"),)

    def compute(self, data):
        return {"total": float(np.asarray(data, dtype=np.float64).sum())}


class ArrayInfo(Algorithm):
    """Length, size and number of dimensions of an array as scalars, for conditions (``scan.length < 180``)."""

    name = "core.info"
    category = "core/statistics"
    inputs = (Port("data", help="any array (e.g. the angles of a scan)"),)
    outputs = (
        Port("length", kind="scalar", help="length along axis 0 (e.g. number of angles)"),
        Port("size", kind="scalar", help="number of elements"),
        Port("ndim", kind="scalar", help="number of dimensions"),
    )

    def compute(self, data):
        shape = tuple(data.shape)
        return {"length": int(shape[0]) if shape else 1, "size": int(np.prod(shape)), "ndim": len(shape)}


ALGORITHMS = [Scale, Add, Cast, Smooth, SliceStats, CheckFinite, Delay, Sum, ArrayInfo]
