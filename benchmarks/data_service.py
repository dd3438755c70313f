"""Data service benchmark: remote scan reads against local h5py, and search latency over a large catalog.

Run by hand (not part of the tests)::

    .venv/bin/python benchmarks/data_service.py                 # 1 GB scan, 10,000 observations
    .venv/bin/python benchmarks/data_service.py --gb 0.25 --n-obs 2000   # quicker

It writes a Data Exchange scan of about ``--gb`` GB (float32, chunks (32, 8, columns)
as ``tomography.io.write_data_exchange`` writes them) and a catalog of ``--n-obs``
HXMT observations (random sky positions and times) into a temporary folder, starts
``daisy data serve`` on a free port over real HTTP with its API key, and measures:

- whole read: ``open_scan(...).projections.compute()`` (dask over the remote chunks) vs
  ``h5py`` ``dataset[()]`` on the same file;
- reads by slices: 16 single projections and 16 sinogram rows, each on its own;
- search latency: target, ObsID, cone, time range and a combination (median of repeats): the
  first page (``limit=100``, what the app shows first) and every match (all pages), with the
  HTTP floor (``GET /healthz`` on the same connection).

The target is remote whole-read throughput >= 25% of local. Results are also written
to ``benchmarks/results/data_service.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_scan(path: Path, gb: float) -> tuple[int, int, int]:
    import h5py

    cols, rows = 2048, 256
    angles = max(32, int(round(gb * 2**30 / (rows * cols * 4) / 32)) * 32)
    rng = np.random.default_rng(0)
    path.parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(path, "w") as f:
        ex = f.create_group("exchange")
        d = ex.create_dataset("data", shape=(angles, rows, cols), dtype=np.float32, chunks=(32, 8, cols))
        for a in range(0, angles, 32):
            d[a : a + 32] = rng.uniform(100, 1000, (min(32, angles - a), rows, cols)).astype(np.float32)
        ex.create_dataset("data_white", data=np.full((2, rows, cols), 1200, np.float32), chunks=(1, 8, cols))
        ex.create_dataset("data_dark", data=np.full((2, rows, cols), 10, np.float32), chunks=(1, 8, cols))
        ex.create_dataset("theta", data=np.linspace(0, 180, angles, endpoint=False)).attrs["units"] = (
            "degrees"
        )
        f.create_dataset("measurement/sample/name", data="benchmark block")
    return angles, rows, cols


def records(n: int, seed: int = 1) -> list[dict]:
    rng = np.random.default_rng(seed)
    names = [
        "Crab",
        "Vela X-1",
        "Cyg X-1",
        "Her X-1",
        "GRS 1915+105",
        "Sco X-1",
        "4U 1630-47",
        "Swift J1727.8-1613",
    ]
    t0 = 1.9e8
    out = []
    for i in range(n):
        ra, dec = float(rng.uniform(0, 360)), float(np.degrees(np.arcsin(rng.uniform(-1, 1))))
        start = t0 + float(rng.uniform(0, 2e8))
        dur = float(rng.uniform(1e3, 2e4))
        obs = f"P{1000000000 + i // 3:010d}"
        out.append(
            {
                "target": f"{names[i % len(names)]} field {i}",
                "ra": ra,
                "dec": dec,
                "obs_id": obs,
                "exp_id": f"{obs}{i % 3 + 1:02d}",
                "start": "",
                "stop": "",
                "tstart": start,
                "tstop": start + dur,
                "exposure": dur,
                "instruments": ["HE", "ME", "LE"],
                "data_version": "V1",
            }
        )
    return out


def timed(fn, repeat: int = 1) -> tuple[float, object]:
    best, out = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best.append(time.perf_counter() - t)
    return statistics.median(best), out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gb", type=float, default=1.0, help="scan size in GB (default 1)")
    ap.add_argument("--n-obs", type=int, default=10000, help="observations in the catalog (default 10,000)")
    ap.add_argument("--workers", type=int, default=4, help="dask threads for the remote read (default 4)")
    ap.add_argument("--repeat", type=int, default=5, help="repeats of each search (default 5)")
    args = ap.parse_args(argv)

    import dask
    import h5py

    from daisy_widgets.store import catalog as cat
    from daisy_widgets.store import connect, open_scan, search_observations

    tmp = Path(tempfile.mkdtemp(prefix="daisy-bench-"))
    data, state = tmp / "data", tmp / "state"
    scan_path = data / "tomography" / "big_scan.h5"
    t = time.perf_counter()
    shape = write_scan(scan_path, args.gb)
    nbytes = scan_path.stat().st_size
    print(
        f"scan {shape} float32, {nbytes / 2**30:.2f} GiB written in {time.perf_counter() - t:.1f} s",
        flush=True,
    )
    t = time.perf_counter()
    uri = cat.sqlite_uri(state / "tiled" / "catalog.db")
    cat.build_catalog(uri, data, state / "tiled" / "storage", records=records(args.n_obs))
    print(f"catalog of {args.n_obs} observations registered in {time.perf_counter() - t:.1f} s", flush=True)

    port = free_port()
    env = dict(os.environ, DAISY_STATE_DIR=str(state))
    proc = subprocess.Popen(
        [sys.executable, "-m", "daisy_widgets.cli", "data", "serve", str(data), "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    results: dict = {"scan_shape": shape, "scan_bytes": nbytes, "n_obs": args.n_obs, "workers": args.workers}
    try:
        import httpx

        for _ in range(600):
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.5)
        url, key = f"http://127.0.0.1:{port}/api", (state / "tiled_api_key").read_text().strip()
        client = connect(url, key, structure_clients="numpy")

        # ---- whole read
        def local_whole():
            with h5py.File(scan_path, "r") as f:
                return f["/exchange/data"][()]

        remote = open_scan("tomography/big_scan", client=client, validate=False)
        t_local, ref = timed(local_whole)
        with dask.config.set(scheduler="threads", num_workers=args.workers):
            t_remote, got = timed(remote.projections.compute)
        assert np.array_equal(ref, got), "remote read differs from h5py"
        del ref, got
        results["whole"] = {
            "local_s": t_local,
            "remote_s": t_remote,
            "local_MBps": nbytes / t_local / 1e6,
            "remote_MBps": nbytes / t_remote / 1e6,
        }

        # ---- slices
        rng = np.random.default_rng(2)
        angles = rng.choice(shape[0], 16, replace=False)
        rows = rng.choice(shape[1], 16, replace=False)

        def local_slices():
            with h5py.File(scan_path, "r") as f:
                d = f["/exchange/data"]
                return [d[int(a)] for a in angles] + [d[:, int(r), :] for r in rows]

        def remote_slices():
            with dask.config.set(scheduler="threads", num_workers=args.workers):
                return [remote.projections[int(a)].compute() for a in angles] + [
                    remote.projections[:, int(r), :].compute() for r in rows
                ]

        t_ls, a = timed(local_slices)
        t_rs, b = timed(remote_slices)
        assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=False))
        sl_bytes = sum(x.nbytes for x in a)
        results["slices"] = {"local_s": t_ls, "remote_s": t_rs, "bytes": sl_bytes}

        # ---- search
        queries = {
            "target": dict(target="crab"),
            "obs_id": dict(obs_id="P1000000042"),
            "cone 2 deg": dict(cone=(83.63, 22.01, 2.0)),
            "time 10 days": dict(start=2.5e8, stop=2.5e8 + 864000),
            "target+cone+time": dict(target="vela", cone=(135.5, -40.5, 30.0), start=2.0e8, stop=3.0e8),
        }
        results["search"] = {}
        for name, q in queries.items():
            s, df = timed(lambda q=q: search_observations(client=client, limit=100, **q), args.repeat)
            s_all, df_all = timed(
                lambda q=q: search_observations(client=client, **q), max(1, args.repeat // 2)
            )
            results["search"][name] = {
                "median_ms": s * 1e3,
                "on_page": len(df),
                "all_ms": s_all * 1e3,
                "matches": len(df_all),
            }
        floor = []
        for _ in range(args.repeat):
            t = time.perf_counter()
            client.context.http_client.get(f"http://127.0.0.1:{port}/healthz")
            floor.append(time.perf_counter() - t)
        results["healthz_ms"] = statistics.median(floor) * 1e3
    finally:
        proc.terminate()
        proc.wait(20)

    w = results["whole"]
    print()
    print(f"{'read':<26}{'local h5py':>14}{'remote (HTTP)':>16}{'remote/local':>14}")
    print(
        f"{'whole scan':<26}{w['local_MBps']:>10.0f} MB/s{w['remote_MBps']:>12.0f} MB/s{w['remote_MBps'] / w['local_MBps']:>13.0%}"
    )
    s = results["slices"]
    print(
        f"{'32 slices (' + format(s['bytes'] / 1e6, '.0f') + ' MB)':<26}{s['local_s']:>12.2f} s{s['remote_s']:>14.2f} s"
        f"{s['local_s'] / s['remote_s']:>13.0%}"
    )
    print()
    print(
        f"{'search over ' + str(args.n_obs) + ' observations':<34}{'first page':>12}{'on page':>9}"
        f"{'every match':>13}{'matches':>9}"
    )
    for name, r in results["search"].items():
        print(f"{name:<34}{r['median_ms']:>9.0f} ms{r['on_page']:>9}{r['all_ms']:>10.0f} ms{r['matches']:>9}")
    print(f"{'HTTP floor (GET /healthz)':<34}{results['healthz_ms']:>9.0f} ms")
    target_ok = w["remote_MBps"] >= 0.25 * w["local_MBps"]
    print(
        f"\nremote whole-read >= 25% of local: {'yes' if target_ok else 'NO'} "
        f"({w['remote_MBps'] / w['local_MBps']:.0%}); machine shared, figures noisy"
    )
    out = REPO / "benchmarks" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "data_service.json").write_text(json.dumps(results, indent=1, default=float) + "\n")
    import shutil

    shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
