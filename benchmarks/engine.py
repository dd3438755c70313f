"""Engine benchmarks: per-step overhead in-process, per-chunk overhead on Dask, Dask speed-up.

Prints a table. Each figure is measured against a peer in the same run:

* in-process per-step overhead = (engine run of N trivial steps - the same N
  algorithm calls made directly) / N; target < 1 ms;
* Dask per-chunk overhead = (Dask run of a step mapped over M tiny chunks) / M,
  with the in-process engine on the same chunks as the peer;
* speed-up of a CPU-bound chunked step (``core.smooth``, numba, releases the GIL)
  on a Dask LocalCluster of W single-threaded worker processes over the
  in-process engine (one process, one thread); target >= 1.8x median with 2 workers
  (issue 21). The job is about 10 s of work in one process, split in 4 chunks per
  worker; the input is in this process's memory, as a user's array would be, and
  goes to the workers chunk by chunk (the engine's work queue). The cluster is started
  once and reused, as a user would (its start is not timed; neither is the in-process
  engine's import). The Dask time runs from ``engine.run`` until the result is back in
  this process (``DataStore.compute``). The in-process and Dask runs alternate, and the
  figure is the median speed-up of a pair (the spread of the pairs is printed beside it).
  A shorter job (about 2.5 s) is measured too: there Dask's fixed cost per run
  (scatter, scheduling, fetching the result) shows;
* the peer for the speed-up: a plain multiprocessing pool on the same work (array and
  kernel already in each process, so no data travels and nothing comes back), the whole
  job in one process against equal shares in W processes, in pairs too: what the shared
  machine gives at that moment. Its pair runs in the same round as each in-process/Dask
  pair (before 2026-12-02 it ran after all of them, so a change of load between the two
  parts skewed the comparison), and the row "Dask speed-up / peer's" is the median of
  the rounds' quotients. On this machine's 2 virtual cores one core runs about 10%
  slower while the other is busy too;
* the idle cluster's CPU (workers, and this process with the scheduler and nannies), in %
  of one core: on 2 cores it is taken from the chunks while the cluster works, and unlike
  the wall times it hardly depends on the machine's load. Before 2026-12-02 it was
  7-8 % (workers) and 4-5 % (this process); the engine's cluster now runs without the
  workers' statistical profiler and with a 100 ms event-loop tick: about 2 % and 3 %.

* workflow format 2: the cost per step of a condition check (``when`` reading a workflow
  parameter, and reading an earlier step's scalar output) and of the error-policy
  machinery (``on_error`` with retries that are never needed), in-process and on Dask:
  (run of N steps with the field - the same N steps without it) / N, the plain
  workflow being the peer.

Usage::

    python benchmarks/engine.py [--steps 500] [--chunks 200] [--size 32 128 512] [--iterations 8000]
                                [--short-iterations 2000] [--workers 2] [--repeat 3]
    python benchmarks/engine.py --speedup-only [--iterations 8000] [--short-iterations 0] [--repeat 3]
    python benchmarks/engine.py --control-only [--steps 500] [--dask-steps 40] [--repeat 3]

The machine may be shared: run it when idle and repeat (``--repeat``) to see the spread.
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import time
import warnings

import numpy as np


def _quiet() -> None:
    from daisy_widgets.core.registry import PluginWarning

    warnings.simplefilter("ignore", PluginWarning)


def step_overhead(n_steps: int, repeat: int) -> tuple[float, float]:
    from daisy_widgets.core.datastore import DataStore
    from daisy_widgets.core.engine import InProcessEngine
    from daisy_widgets.core.registry import get_algorithm
    from daisy_widgets.core.workflow import Step, Workflow

    steps = [
        Step(
            f"s{i}",
            "core.scale",
            {"factor": 1.0},
            {"data": "x" if i == 0 else f"k{i - 1}"},
            {"data": f"k{i}"},
        )
        for i in range(n_steps)
    ]
    wf = Workflow("overhead", steps)
    x = np.zeros(16)
    eng = InProcessEngine()
    eng.run(wf, DataStore({"x": x}))  # warm-up
    scale = get_algorithm("core.scale")
    engine_t, direct_t = [], []
    for _ in range(repeat):
        t0 = time.perf_counter()
        eng.run(wf, DataStore({"x": x}))
        engine_t.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        y = x
        for _ in range(n_steps):  # the peer: what the steps do, without the engine
            y = scale(factor=1.0)(data=y)["data"]
        direct_t.append(time.perf_counter() - t0)
    e, d = min(engine_t), min(direct_t)
    return e / n_steps, (e - d) / n_steps


def chunk_overhead(n_chunks: int, dask_engine, repeat: int) -> tuple[float, float]:
    from daisy_widgets.core.datastore import DataStore
    from daisy_widgets.core.engine import InProcessEngine
    from daisy_widgets.core.workflow import Step, Workflow

    wf = Workflow(
        "chunks", [Step("scale", "core.scale", {"factor": 2.0}, {"data": "x"}, {"data": "y"}, block=1)]
    )
    x = np.zeros((n_chunks, 4))
    res = {}
    for label, eng in (("inprocess", InProcessEngine()), ("dask", dask_engine)):
        eng.run(wf, DataStore({"x": x}))
        ts = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            eng.run(wf, DataStore({"x": x})).compute("y")
            ts.append(time.perf_counter() - t0)
        res[label] = min(ts) / n_chunks
    return res["inprocess"], res["dask"]


def speedup(
    shape: tuple[int, ...], iterations: int, dask_engine, repeat: int, peer: PoolPeer | None = None
) -> tuple[float, float, float, float, float]:
    """Time core.smooth on the in-process engine and on ``dask_engine``, in pairs run back to back.

    The Dask time runs from ``engine.run`` until the result is in this process
    (``DataStore.compute``). Returns the median in-process time (s), the median Dask time (s),
    and the median, lowest and highest speed-up of a pair: the two runs of a pair see the
    shared machine in the same state, which two separate medians do not. With ``peer``, the
    peer's pair runs in each round right after the engines' pair (see :meth:`PoolPeer.pair`).
    """
    from daisy_widgets.core.datastore import DataStore
    from daisy_widgets.core.engine import InProcessEngine
    from daisy_widgets.core.workflow import Step, Workflow

    x = np.random.default_rng(0).random(shape)
    n_workers = dask_engine.n_workers
    block = max(1, shape[0] // (4 * n_workers))
    wf = Workflow(
        "cpu",
        [
            Step(
                "smooth", "core.smooth", {"iterations": iterations}, {"data": "x"}, {"data": "y"}, block=block
            )
        ],
    )
    # warm-up: numba compiles (or loads its cache) in every process
    small = Workflow(
        "warm", [Step("smooth", "core.smooth", {"iterations": 1}, {"data": "x"}, {"data": "y"}, block=1)]
    )
    InProcessEngine().run(small, DataStore({"x": x[: 2 * n_workers].copy()}))
    dask_engine.run(small, DataStore({"x": x[: 4 * n_workers].copy()})).compute("y")
    t1, td = [], []
    ref = out = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        ref = InProcessEngine().run(wf, DataStore({"x": x}))["y"]
        t1.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        out = dask_engine.run(wf, DataStore({"x": x})).compute("y")
        td.append(time.perf_counter() - t0)
        if peer is not None:  # the engines' speed-up against the peer's, round by round
            peer.relative.append((t1[-1] / td[-1]) / peer.pair())
    assert np.allclose(out, ref)
    ratios = [a / b for a, b in zip(t1, td, strict=False)]
    return statistics.median(t1), statistics.median(td), statistics.median(ratios), min(ratios), max(ratios)


_POOL_DATA: dict = {}


def _pool_init(shape: tuple[int, ...], iterations: int) -> None:
    """Pool process set-up: the input array, and core.smooth compiled (or loaded from numba's cache)."""
    from daisy_widgets.core.builtin import Smooth

    _POOL_DATA["x"] = np.random.default_rng(0).random(shape)
    _POOL_DATA["algo"] = algo = Smooth(iterations=iterations)
    algo(data=_POOL_DATA["x"][:1].copy())


def _smooth_rows(bounds: tuple[int, int]) -> None:
    """Run core.smooth on rows ``lo:hi`` of the pool's array (nothing travels back)."""
    lo, hi = bounds
    _POOL_DATA["algo"](data=_POOL_DATA["x"][lo:hi])


def idle_cluster_cpu(dask_engine, seconds: float = 4.0) -> tuple[float, float]:
    """CPU that ``dask_engine``'s idle LocalCluster takes, in % of one core: (worker processes, this process).

    This process holds the scheduler, the nannies and the client. The figure does not depend
    on the machine's load the way wall times do; on 2 cores every percent of it is taken
    from the chunks while the cluster works.
    """
    import psutil

    me = psutil.Process()
    workers = [psutil.Process(pid) for pid in dask_engine.client.run(os.getpid).values()]

    def used(procs) -> float:
        return sum(sum(p.cpu_times()[:2]) for p in procs)

    time.sleep(0.5)
    w0, m0, t0 = used(workers), used([me]), time.perf_counter()
    time.sleep(seconds)
    dt = time.perf_counter() - t0
    return 100 * (used(workers) - w0) / dt, 100 * (used([me]) - m0) / dt


class PoolPeer:
    """The speed-up of plain multiprocessing (no Dask) on the same work: what the machine gives right now.

    A pool of ``workers`` processes, each holding the array and the compiled kernel (so no
    data travels, and nothing comes back). :meth:`pair` times the whole job in one pool
    process, then the job split in equal shares, one per process, and keeps the ratio. It is
    meant to run in the same rounds as the engines' pairs (``speedup(..., peer=...)``), so
    that a change in the shared machine's load hits both alike.
    """

    def __init__(self, shape: tuple[int, ...], iterations: int, workers: int):
        import multiprocessing as mp

        self.n = shape[0]
        edges = np.linspace(0, self.n, workers + 1).astype(int)
        self.shares = [(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:], strict=False)]
        self.ratios: list[float] = []
        self.relative: list[float] = []  # an engine's speed-up over the peer's, in the same round
        self._pool = mp.get_context("spawn").Pool(
            workers, initializer=_pool_init, initargs=(shape, iterations)
        )
        self._pool.map(_smooth_rows, [(0, 1)] * workers, chunksize=1)  # every process started and set up

    def pair(self) -> float:
        """One round: the whole job in one process, then in equal shares; returns the speed-up."""
        t0 = time.perf_counter()
        self._pool.apply(_smooth_rows, ((0, self.n),))
        one = time.perf_counter() - t0
        t0 = time.perf_counter()
        self._pool.map(_smooth_rows, self.shares, chunksize=1)
        self.ratios.append(one / (time.perf_counter() - t0))
        return self.ratios[-1]

    def stats(self) -> tuple[float, float, float]:
        """Median, lowest and highest speed-up of the pairs run so far."""
        return statistics.median(self.ratios), min(self.ratios), max(self.ratios)

    def __enter__(self) -> PoolPeer:
        return self

    def __exit__(self, *exc) -> None:
        self._pool.terminate()
        self._pool.join()


def _control_workflow(n_steps: int, variant: str):
    from daisy_widgets.core.policies import ErrorPolicy
    from daisy_widgets.core.workflow import Step, Workflow

    extra = {
        "plain": {},
        "when (param)": {"when": "flag > 0 and not flag > 10"},
        "when (step output)": {"when": "info.length > 0"},
        "on_error (retry 2, skip)": {"on_error": ErrorPolicy(retry=2, backoff_s=0.1, then="skip")},
    }[variant]
    steps = [Step("info", "core.info", {}, {"data": "x"}, {"length": "n"})]
    steps += [
        Step(
            f"s{i}",
            "core.scale",
            {"factor": 1.0},
            {"data": "x" if i == 0 else f"k{i - 1}"},
            {"data": f"k{i}"},
            **extra,
        )
        for i in range(n_steps)
    ]
    return Workflow("control", steps, params={"flag": 1})


CONTROL_VARIANTS = ("when (param)", "when (step output)", "on_error (retry 2, skip)")


def control_overhead(n_steps: int, engine, repeat: int) -> dict[str, tuple[float, float]]:
    """``{variant: (time per step, overhead per step against the plain workflow)}`` in seconds."""
    from daisy_widgets.core.datastore import DataStore

    x = np.zeros(1)
    wfs = {v: _control_workflow(n_steps, v) for v in ("plain", *CONTROL_VARIANTS)}
    for wf in wfs.values():
        engine.run(wf, DataStore({"x": x}))  # warm-up
    times: dict[str, list[float]] = {v: [] for v in wfs}
    for _ in range(repeat):
        for v, wf in wfs.items():  # interleaved, so that load changes hit every variant alike
            t0 = time.perf_counter()
            engine.run(wf, DataStore({"x": x}))
            times[v].append(time.perf_counter() - t0)
    base = min(times["plain"]) / (n_steps + 1)
    out = {"plain": (base, 0.0)}
    for v in CONTROL_VARIANTS:
        t = min(times[v]) / (n_steps + 1)
        out[v] = (t, t - base)
    return out


def condition_check_time(n: int = 20000) -> tuple[float, float]:
    """Seconds for one condition check by the controller itself (parsed once, evaluated n times):
    reading a workflow parameter, and reading an earlier step's scalar output from the store."""
    from daisy_widgets.core.control import Controller, RunReport
    from daisy_widgets.core.datastore import DataStore
    from daisy_widgets.core.engine_base import RunReporter
    from daisy_widgets.core.expressions import Expression
    from daisy_widgets.core.plan import Scope
    from daisy_widgets.core.progress import CancelToken

    wf = _control_workflow(1, "plain")
    ctl = Controller("w", [], DataStore({"n": 5}), RunReporter(wf, 1, None), CancelToken(), None, RunReport())
    resolve = ctl.resolver(Scope({"flag": 1}, {"info": {"length": "n"}}))
    out = []
    for text in ("flag > 0 and not flag > 10", "info.length > 0"):
        e = Expression.parse(text)
        t0 = time.perf_counter()
        for _ in range(n):
            e.truth(resolve)
        out.append((time.perf_counter() - t0) / n)
    return out[0], out[1]


def controller_time(n_steps: int, repeat: int) -> dict[str, float]:
    """Seconds per step spent by the controller alone (the part both engines share: it runs in
    this process on Dask too), each step handed to a leaf runner that only stores its input."""
    from daisy_widgets.core.control import Controller, RunReport
    from daisy_widgets.core.datastore import DataStore
    from daisy_widgets.core.engine_base import RunReporter
    from daisy_widgets.core.plan import prepare_plan
    from daisy_widgets.core.progress import CancelToken

    out = {}
    for v in ("plain", *CONTROL_VARIANTS):
        wf = _control_workflow(n_steps, v)
        best = float("inf")
        for _ in range(repeat):
            store, nodes, n = prepare_plan(wf, DataStore({"x": np.zeros(1)}), None)

            def leaf(node, inputs, _r, _s=store):
                for k in node.step.outputs.values():  # core.info's length is 1, core.scale passes its data
                    _s[k] = 1 if node.algo.name == "core.info" else inputs["data"]

            ctl = Controller("w", nodes, store, RunReporter(wf, n, None), CancelToken(), leaf, RunReport())
            gc.disable()  # the collector's pauses would land on whichever variant runs then
            try:
                t0 = time.perf_counter()
                ctl.run()
                best = min(best, time.perf_counter() - t0)
            finally:
                gc.enable()
        out[v] = best / (n_steps + 1)
    return out


def control_rows(n_steps: int, dask_steps: int, workers: int, repeat: int) -> list[tuple[str, str, str]]:
    from daisy_widgets.core.engine import DaskEngine, InProcessEngine

    param_t, output_t = condition_check_time()
    rows = [
        ("condition check alone: when reading a param", f"{param_t * 1e6:.1f} us", "-"),
        ("condition check alone: when reading a step output", f"{output_t * 1e6:.1f} us", "-"),
    ]
    ctl = controller_time(n_steps, max(repeat, 9))
    rows.append(("controller alone: per plain step", f"{ctl['plain'] * 1e6:.1f} us", "-"))
    for v in CONTROL_VARIANTS:
        rows.append((f"controller alone: + {v} per step", f"{(ctl[v] - ctl['plain']) * 1e6:+.1f} us", "-"))
    with DaskEngine(n_workers=workers, threads_per_worker=1, processes=True) as dask_engine:
        for label, eng, n in (
            ("in-process", InProcessEngine(), n_steps),
            (f"Dask ({workers} procs)", dask_engine, dask_steps),
        ):
            res = control_overhead(n, eng, repeat)
            rows.append((f"{label}: time per plain step ({n} steps)", f"{res['plain'][0] * 1e3:.3f} ms", "-"))
            for v in CONTROL_VARIANTS:
                t, extra = res[v]
                rows.append((f"{label}: + {v} per step", f"{extra * 1e3:+.3f} ms", f"step {t * 1e3:.3f} ms"))
    return rows


def _print_rows(rows: list[tuple[str, str, str]]) -> None:
    w = max(len(r[0]) for r in rows)
    print(f"\n{'measure':<{w}}  {'value':>12}  target")
    print("-" * (w + 24))
    for name, val, target in rows:
        print(f"{name:<{w}}  {val:>12}  {target}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=500, help="trivial steps for the per-step overhead")
    ap.add_argument("--chunks", type=int, default=200, help="tiny chunks for the per-chunk overhead on Dask")
    ap.add_argument(
        "--size", type=int, nargs=3, default=(32, 128, 512), help="array shape of the CPU-bound step"
    )
    ap.add_argument(
        "--iterations",
        type=int,
        default=8000,
        help="smoothing iterations (CPU work per element): about 10 s in one process here",
    )
    ap.add_argument(
        "--short-iterations",
        type=int,
        default=2000,
        help="iterations of a second, shorter job (about 2.5 s) where Dask's fixed cost per run shows; 0 skips it",
    )
    ap.add_argument("--workers", type=int, default=2, help="Dask worker processes (1 thread each)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--dask-steps", type=int, default=40, help="steps of the format-2 overhead runs on Dask")
    ap.add_argument(
        "--control-only", action="store_true", help="only the format-2 (condition, policy) overhead rows"
    )
    ap.add_argument(
        "--speedup-only",
        action="store_true",
        help="only the speed-up on Dask processes with its peer in the same rounds (and the short job)",
    )
    args = ap.parse_args()
    _quiet()
    from daisy_widgets.core.engine import DaskEngine

    print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    if args.control_only:
        _print_rows(control_rows(args.steps, args.dask_steps, args.workers, args.repeat))
        return

    rows = []
    if not args.speedup_only:
        per_step, overhead = step_overhead(args.steps, args.repeat)
        rows.append(("in-process: time per trivial step", f"{per_step * 1e3:.3f} ms", "-"))
        rows.append(("in-process: engine overhead per step", f"{overhead * 1e3:.3f} ms", "< 1 ms"))
    shape = tuple(args.size)
    with DaskEngine(n_workers=args.workers, threads_per_worker=1, processes=True) as dask_engine:
        if not args.speedup_only:
            ip_chunk, dk_chunk = chunk_overhead(args.chunks, dask_engine, args.repeat)
            rows.append(("in-process: time per tiny chunk", f"{ip_chunk * 1e3:.3f} ms", "-"))
            rows.append(
                (f"Dask ({args.workers} procs): time per tiny chunk", f"{dk_chunk * 1e3:.3f} ms", "-")
            )
        with PoolPeer(shape, args.iterations, args.workers) as peer:
            t1, td, s, lo, hi = speedup(shape, args.iterations, dask_engine, args.repeat, peer)
        ceiling, clo, chi = peer.stats()
        relative = statistics.median(peer.relative)
        rows.append((f"core.smooth {shape} x{args.iterations}: in-process (1 proc)", f"{t1:.2f} s", "-"))
        rows.append((f"core.smooth on Dask ({args.workers} procs x 1 thread)", f"{td:.2f} s", "-"))
        rows.append(
            (f"Dask speed-up over one process (pairs: {lo:.2f}-{hi:.2f}x)", f"{s:.2f}x", ">= 1.8x (median)")
        )
        rows.append(
            (
                f"peer: plain multiprocessing, {args.workers} procs (pairs: {clo:.2f}-{chi:.2f}x)",
                f"{ceiling:.2f}x",
                "what the machine gave, same rounds",
            )
        )
        rows.append(("Dask (procs) speed-up / peer's, median of the rounds", f"{relative:.0%}", "-"))
        idle_w, idle_m = idle_cluster_cpu(dask_engine)
        rows.append(
            (
                "Dask (procs) idle cluster CPU: workers / this process",
                f"{idle_w:.1f}/{idle_m:.1f} %",
                "% of one core",
            )
        )
        if args.short_iterations:
            t1s, tds, ss, los, his = speedup(shape, args.short_iterations, dask_engine, args.repeat)
            rows.append(
                (f"short job x{args.short_iterations}: in-process / Dask", f"{t1s:.2f}/{tds:.2f} s", "-")
            )
            rows.append(
                (
                    f"short job: Dask speed-up (pairs: {los:.2f}-{his:.2f}x)",
                    f"{ss:.2f}x",
                    "fixed cost per run shows",
                )
            )
    if not args.speedup_only:
        with DaskEngine(n_workers=1, threads_per_worker=args.workers, processes=True) as threaded:
            _, tt, st, lo, hi = speedup(shape, args.iterations, threaded, args.repeat)
        rows.append(
            (f"core.smooth on Dask (1 proc x {args.workers} threads, numba nogil)", f"{tt:.2f} s", "-")
        )
        rows.append(
            (f"Dask threads speed-up over one process (pairs: {lo:.2f}-{hi:.2f}x)", f"{st:.2f}x", "-")
        )
    if not args.speedup_only:
        rows += control_rows(args.steps, args.dask_steps, args.workers, args.repeat)
    _print_rows(rows)
    load = os.getloadavg()
    print(
        f"\n(cpu count {os.cpu_count()}, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; shared machine figures are noisy)"
    )


if __name__ == "__main__":
    main()
