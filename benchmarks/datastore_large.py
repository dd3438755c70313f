"""Large-data benchmark: an HDF5 dataset bigger than the workers' memory through a two-step workflow.

1. Generates ``input.h5`` with ``/exchange/data`` float32 ``(n, 1024, 1024)``
   of ``--size-gb`` GB, chunked ``(8, 1024, 1024)`` (32 MB chunks), written
   slab by slab through the atomic writer. Slice ``i`` holds ``(i % 100) + x/1024``.
2. Opens it lazily (dask array over the HDF5 chunks) and runs the workflow
   ``core.scale`` (``0.5 * data + 1``) -> ``core.slice_stats`` on a Dask
   ``LocalCluster`` whose workers are limited to ``--memory-limit`` each, with
   the engine in lazy (streaming) mode.
3. Writes the per-slice statistics and (unless ``--no-write``) the whole
   scaled array to ``output.h5`` block by block, atomically.
4. Checks the statistics against the known values and reports times,
   throughput, and the peak resident memory of each worker and of the client
   (sampled every 0.2 s with psutil).

Usage::

    python benchmarks/datastore_large.py --size-gb 8 --workers 2 --memory-limit 1GB --dir /tmp/daisy-large
"""

from __future__ import annotations

import argparse
import os
import shutil
import threading
import time
import warnings
from pathlib import Path

import numpy as np

SHAPE_YX = (1024, 1024)
CHUNK = (8, 1024, 1024)


def generate(path: Path, n: int) -> float:
    import h5py

    from daisy_widgets.core.atomic import atomic_path

    t0 = time.perf_counter()
    xs = (np.arange(SHAPE_YX[1], dtype=np.float32) / SHAPE_YX[1])[None, None, :]
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:
        d = f.create_dataset("exchange/data", shape=(n, *SHAPE_YX), dtype="f4", chunks=CHUNK)
        d.attrs["units"] = "counts"
        slab = 64
        for a in range(0, n, slab):
            b = min(a + slab, n)
            d[a:b] = (np.arange(a, b, dtype=np.float32) % 100)[:, None, None] + np.broadcast_to(
                xs, (b - a, 1, SHAPE_YX[1])
            )
    return time.perf_counter() - t0


class PeakMemory:
    """Sample the resident memory of some processes every ``dt`` seconds; keep the maxima."""

    def __init__(self, pids: dict[str, int], dt: float = 0.2):
        import psutil

        self.procs = {k: psutil.Process(p) for k, p in pids.items()}
        self.peak = {k: 0 for k in pids}
        self.peak["any worker (restarts included)"] = 0
        self.worker_pids: set[int] = set()
        self.dt = dt
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            for k, p in self.procs.items():
                try:
                    self.peak[k] = max(self.peak[k], p.memory_info().rss)
                except Exception:
                    pass
            import psutil

            for child in psutil.Process().children(recursive=True):  # worker processes, new ones too
                try:
                    if "python" in child.name() and "resource_tracker" not in " ".join(child.cmdline()):
                        self.worker_pids.add(child.pid)
                        rss = child.memory_info().rss
                        self.peak["any worker (restarts included)"] = max(
                            self.peak["any worker (restarts included)"], rss
                        )
                except Exception:
                    pass
            time.sleep(self.dt)

    def __enter__(self) -> PeakMemory:
        self._t.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._t.join()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size-gb", type=float, default=8.0, help="size of the input dataset in GB (1e9 bytes)")
    ap.add_argument("--workers", type=int, default=2, help="Dask worker processes (1 thread each)")
    ap.add_argument(
        "--memory-limit", default="1GB", help="memory limit per worker (default 1GB: 2 GB in all)"
    )
    ap.add_argument(
        "--dir", type=Path, default=Path("/tmp/daisy-large"), help="folder for input.h5 and output.h5"
    )
    ap.add_argument(
        "--no-write", action="store_true", help="only the statistics are written, not the scaled array"
    )
    ap.add_argument("--keep", action="store_true", help="keep the files afterwards")
    args = ap.parse_args()

    from daisy_widgets.core.registry import PluginWarning

    warnings.simplefilter("ignore", PluginWarning)
    from daisy_widgets.core.datastore import DataStore
    from daisy_widgets.core.engine import DaskEngine
    from daisy_widgets.core.workflow import Step, Workflow

    args.dir.mkdir(parents=True, exist_ok=True)
    n = int(np.ceil(args.size_gb * 1e9 / (4 * SHAPE_YX[0] * SHAPE_YX[1])))
    n += -n % CHUNK[0]  # at least --size-gb, a whole number of HDF5 chunks
    size = n * 4 * SHAPE_YX[0] * SHAPE_YX[1]
    inp, out = args.dir / "input.h5", args.dir / "output.h5"
    print(
        f"generating {inp}: float32 ({n}, {SHAPE_YX[0]}, {SHAPE_YX[1]}) = {size / 1e9:.2f} GB, chunks {CHUNK}"
    )
    t_gen = generate(inp, n)

    wf = Workflow(
        "large",
        [
            Step(
                "scale",
                "core.scale",
                {"factor": 0.5, "offset": 1.0},
                {"data": "raw/data"},
                {"data": "work/scaled"},
            ),
            Step("stats", "core.slice_stats", {}, {"data": "work/scaled"}, {"stats": "work/stats"}),
        ],
        persist=["work/stats"] + ([] if args.no_write else ["work/scaled"]),
    )

    store = DataStore()
    store.add_dataset("raw/data", inp, "exchange/data")
    raw = store["raw/data"]
    print(
        f"lazy input: {raw.numblocks[0]} blocks of {raw.chunksize} ({raw.nbytes / raw.npartitions / 1e6:.0f} MB each)"
    )
    with DaskEngine(
        n_workers=args.workers,
        threads_per_worker=1,
        processes=True,
        memory_limit=args.memory_limit,
        lazy=True,
    ) as eng:
        pids = {f"worker {i}": pid for i, pid in enumerate(eng.client.run(os.getpid).values())}
        pids["client"] = os.getpid()
        last = {"t": 0.0}

        def progress(ev):
            if time.monotonic() - last["t"] > 5:
                last["t"] = time.monotonic()
                print(
                    f"  {ev.fraction:5.1%} {ev.step} chunk {ev.chunks_done}/{ev.chunks_total} eta {ev.eta or 0:.0f}s",
                    flush=True,
                )

        with PeakMemory(pids) as mem:
            t0 = time.perf_counter()
            result = eng.run(wf, store, progress=progress)
            t_run = time.perf_counter() - t0
            t0 = time.perf_counter()
            written = {"n": 0}

            def save_progress(done, total):
                written["n"] = done
                if time.monotonic() - last["t"] > 5:
                    last["t"] = time.monotonic()
                    print(f"  writing block {done}/{total}", flush=True)

            result.save(out, progress=save_progress)
            t_save = time.perf_counter() - t0
    stats = result["work/stats"]
    i = np.arange(n)
    expect_mean = 0.5 * ((i % 100) + (SHAPE_YX[1] - 1) / (2 * SHAPE_YX[1])) + 1.0
    ok = (
        len(stats) == n
        and np.array_equal(stats["index"], i)
        and np.allclose(stats["mean"], expect_mean, atol=1e-4)
        and np.allclose(stats["min"], 0.5 * (i % 100) + 1.0)
    )
    if not args.no_write:
        import h5py

        with h5py.File(out) as f:
            probe = f["work/scaled"][n // 2, 10, :]
        ok = ok and np.allclose(
            probe, 0.5 * ((n // 2) % 100 + np.arange(SHAPE_YX[1]) / SHAPE_YX[1]) + 1.0, atol=1e-5
        )
    gb = size / 1e9
    rows = [
        ("input size", f"{gb:.2f} GB"),
        ("workers x memory limit", f"{args.workers} x {args.memory_limit}"),
        ("generate input (write)", f"{t_gen:.1f} s ({gb / t_gen:.2f} GB/s)"),
        ("workflow run (scale -> slice_stats)", f"{t_run:.1f} s ({gb / t_run:.2f} GB/s)"),
        ("save output" + ("" if args.no_write else " (stats + scaled array)"), f"{t_save:.1f} s"),
    ]
    rows += [(f"peak RSS {k}", f"{v / 1e9:.2f} GB") for k, v in mem.peak.items()]
    rows.append(("worker processes seen (2 = no restart)", str(len(mem.worker_pids))))
    rows.append(("results match the known values", "yes" if ok else "NO"))
    w = max(len(r[0]) for r in rows)
    print()
    for k, v in rows:
        print(f"{k:<{w}}  {v}")
    print(f"(machine: {os.cpu_count()} cores, shared; load average {os.getloadavg()[0]:.2f})")
    if not args.keep:
        shutil.rmtree(args.dir, ignore_errors=True)


if __name__ == "__main__":
    main()
