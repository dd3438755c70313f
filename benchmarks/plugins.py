"""Native plug-in benchmarks: per-call overhead of a plug-in over its bare compiled function, and
the example plug-ins (plugins/ringsort in C++, plugins/deadtime in Fortran) against their numpy
and numba equivalents, measured in the same run.

* per-call overhead = (time of one call of the plug-in's ``Algorithm``, or of its Python wrapper)
  - (time of one call of the bare compiled function on the same tiny input, output allocated
  beforehand); best of ``--repeat`` runs of ``--calls`` calls each; target <= 5 us for the
  wrapper. The ``Algorithm`` call adds Daisy's input checks (ports) on top.
* speed: ``ringsort.remove_stripes`` (Vo's sorting filter, one thread, GIL released) against
  Daisy's numba kernel (``tomography._kernels.sort_filter_columns``, all numba threads, and one
  thread), the numpy/scipy formulation and algotom, slice by slice; ``deadtime.correct_rates``
  against the numpy expression and a numba loop. Each: best of ``--repeat``; results checked equal.

Needs the example plug-ins installed (``make setup``). Usage::

    python benchmarks/plugins.py [--calls 10000] [--repeat 7] [--slices 4] [--angles 360]
                                 [--width 512] [--bins 200000]
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def best_per_call(fns, calls: int, repeat: int) -> list[float]:
    """For each function: the best over ``repeat`` runs of the mean time of one call, in seconds.
    The functions' runs alternate, so a busy moment of the machine does not favour one of them."""
    best = [float("inf")] * len(fns)
    for _ in range(repeat):
        for i, fn in enumerate(fns):
            t0 = time.perf_counter()
            for _ in range(calls):
                fn()
            best[i] = min(best[i], (time.perf_counter() - t0) / calls)
    return best


def best_time(fn, repeat: int) -> tuple[float, object]:
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def overhead_rows(calls: int, repeat: int) -> list[tuple[str, float, float, float]]:
    from daisy_deadtime import _deadtime
    from daisy_deadtime.algorithms import CorrectRates, correct_rates
    from daisy_ringsort import _ringsort
    from daisy_ringsort.algorithms import RemoveStripesSorting, remove_stripes

    rows = []
    sino = np.random.default_rng(0).random((1, 4, 8), dtype=np.float32)
    out = np.empty_like(sino)
    algo = RemoveStripesSorting(size=3)
    bare, wrap, call = best_per_call(
        [
            lambda: _ringsort.remove_stripes(sino, out, 3),
            lambda: remove_stripes(sino, 3),
            lambda: algo(sinograms=sino),
        ],
        calls,
        repeat,
    )
    rows.append(("ringsort (C++, nanobind), 1x4x8", bare, wrap - bare, call - bare))

    counts = np.random.default_rng(0).poisson(10, (4, 2)).astype(np.float64)
    r, lv = np.empty_like(counts), np.empty_like(counts)
    algo = CorrectRates(dt=1.0, tau=10.0)
    bare, wrap, call = best_per_call(
        [
            lambda: _deadtime.correct_rates(counts.T, 1.0, 1e-5, r.T, lv.T),
            lambda: correct_rates(counts, 1.0, 1e-5),
            lambda: algo(counts=counts),
        ],
        calls,
        repeat,
    )
    rows.append(("deadtime (Fortran, F2PY), 4x2", bare, wrap - bare, call - bare))
    return rows


def ringsort_rows(slices: int, angles: int, width: int, repeat: int) -> list[tuple[str, float]]:
    import numba
    from daisy_ringsort.algorithms import remove_stripes
    from scipy import ndimage

    from daisy_widgets.tomography._kernels import sort_filter_columns

    n = slices * angles * width
    x = (np.random.default_rng(0).permutation(n).astype(np.float32) / n).reshape(slices, angles, width)
    size = 21

    def numpy_scipy():
        out = np.empty_like(x)
        for s, sino in enumerate(x):
            order = np.argsort(sino, axis=0)
            filt = ndimage.median_filter(np.take_along_axis(sino, order, axis=0), size=(1, size))
            np.put_along_axis(out[s], order, filt, axis=0)
        return out

    def numba_all():
        return np.stack([sort_filter_columns(s, size) for s in x])

    def algotom():
        from algotom.prep.removal import remove_stripe_based_sorting

        return np.stack([remove_stripe_based_sorting(s, size=size) for s in x])

    numba_all()  # compile outside the timing
    t_cpp, ref = best_time(lambda: remove_stripes(x, size), repeat)
    rows = [("ringsort C++ (1 thread)", t_cpp)]
    threads = numba.get_num_threads()
    t, out = best_time(numba_all, repeat)
    assert np.array_equal(out, ref)
    rows.append((f"numba kernel ({threads} threads)", t))
    numba.set_num_threads(1)
    try:
        t, out = best_time(numba_all, repeat)
    finally:
        numba.set_num_threads(threads)
    rows.append(("numba kernel (1 thread)", t))
    t, out = best_time(numpy_scipy, repeat)
    assert np.array_equal(out, ref)
    rows.append(("numpy + scipy.ndimage", t))
    t, out = best_time(algotom, repeat)
    assert np.array_equal(out, ref)
    rows.append(("algotom remove_stripe_based_sorting", t))
    return rows


def deadtime_rows(bins: int, repeat: int) -> list[tuple[str, float]]:
    from daisy_deadtime.algorithms import correct_rates
    from numba import njit

    counts = np.random.default_rng(0).poisson(2000, (bins, 18)).astype(np.float64)
    dt, tau = 1.0, 20e-6

    def numpy_expr():
        m = counts / dt
        live = 1 - m * tau
        return m / live, live

    @njit(cache=False)
    def loop(c, dt, tau):
        rates = np.empty_like(c)
        live = np.empty_like(c)
        for i in range(c.shape[0]):
            for j in range(c.shape[1]):
                m = c[i, j] / dt
                live[i, j] = 1 - m * tau
                rates[i, j] = m / live[i, j]
        return rates, live

    loop(counts[:2], dt, tau)
    t_f, (ref, _) = best_time(lambda: correct_rates(counts, dt, tau), repeat)
    rows = [("deadtime Fortran", t_f)]
    for name, fn in (
        ("numpy expression", numpy_expr),
        ("numba loop (1 thread)", lambda: loop(counts, dt, tau)),
    ):
        t, (rates, _) = best_time(fn, repeat)
        assert np.allclose(rates, ref, rtol=1e-14)
        rows.append((name, t))
    return rows


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--calls", type=int, default=10000)
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--slices", type=int, default=4)
    ap.add_argument("--angles", type=int, default=360)
    ap.add_argument("--width", type=int, default=512)
    ap.add_argument("--bins", type=int, default=200_000)
    args = ap.parse_args(argv)

    print("Per-call overhead over the bare compiled function (target <= 5 us for the wrapper)")
    print(f"{'plug-in':34} {'bare call':>10} {'+ wrapper':>10} {'+ Algorithm':>12}")
    for name, bare, wrap, algo in overhead_rows(args.calls, args.repeat):
        print(f"{name:34} {bare * 1e6:8.2f}us {wrap * 1e6:8.2f}us {algo * 1e6:10.2f}us")

    print(f"\nStripe removal, {args.slices} x {args.angles} x {args.width} float32, window 21")
    rows = ringsort_rows(args.slices, args.angles, args.width, args.repeat)
    for name, t in rows:
        print(f"{name:40} {t * 1e3:9.1f} ms  {t / rows[0][1]:6.2f}x the C++ time")

    print(f"\nDead-time correction, {args.bins} bins x 18 detectors float64")
    rows = deadtime_rows(args.bins, args.repeat)
    for name, t in rows:
        print(f"{name:40} {t * 1e3:9.2f} ms  {t / rows[0][1]:6.2f}x the Fortran time")


if __name__ == "__main__":
    main()
