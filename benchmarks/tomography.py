"""Tomography speed and accuracy against the peers, measured in one run.

Usage::

    .venv/bin/python benchmarks/tomography.py                    # all cases
    .venv/bin/python benchmarks/tomography.py --cases 512 2048   # selected cases
    .venv/bin/python benchmarks/tomography.py --cases block --block-peer-slices 2
    .venv/bin/python benchmarks/tomography.py --cases dask --dask-slices 1024 --dask-width 512

Cases:

* ``512``   one slice 512 x 512, 720 angles;
* ``2048``  one slice 2048 x 2048, 1500 angles;
* ``block`` 32 slices 2048 wide, 1500 angles (the peers are timed on ``--block-peer-slices``
  slices and scaled linearly: they reconstruct slice by slice);
* ``dask``  a volume larger than the Dask workers' memory limit, reconstructed with the
  lazy Dask engine and written to HDF5: reports the peak resident memory of the workers.

FBP's CPU back-projection (about 80 % of its time) runs ``tomography._fbp_kernels`` (the
AVX-512 permute kernel where the CPU has AVX-512, else the gather kernel); their speed
against the kernels they replaced, interleaved in one run, is ``benchmarks/fbp_backprojector.py``.

For each single-slice case the sinogram is the exact projection of the Shepp-Logan
phantom, so the table also gives each method's RMSE against the phantom (inside the
reconstruction circle): speed is compared at equal accuracy. Ratios are peer time / our
time (> 1: we are faster). Times are the best of ``--repeat`` runs after a warm-up.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time

import numpy as np


def _best(fn, repeat: int) -> tuple[float, object]:
    out = None
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def _astra_fbp(sino: np.ndarray, theta: np.ndarray) -> np.ndarray:
    import astra

    n = sino.shape[1]
    vg = astra.create_vol_geom(n, n)
    pg = astra.create_proj_geom("parallel", 1.0, n, theta)
    pid = astra.create_projector("linear", pg, vg)
    sid = astra.data2d.create("-sino", pg, sino)
    rid = astra.data2d.create("-vol", vg)
    cfg = astra.astra_dict("FBP")
    cfg.update(ReconstructionDataId=rid, ProjectionDataId=sid, ProjectorId=pid, FilterType="ram-lak")
    alg = astra.algorithm.create(cfg)
    astra.algorithm.run(alg)
    out = astra.data2d.get(rid)
    astra.algorithm.delete(alg)
    astra.data2d.delete([sid, rid])
    astra.projector.delete(pid)
    return out


def _algotom_dfi(sino: np.ndarray, theta: np.ndarray) -> np.ndarray:
    import algotom.rec.reconstruction as rec

    n = sino.shape[-1]
    return rec.dfi_reconstruction(
        sino, (n - 1) / 2.0, angles=theta, apply_log=False, filter_name="hann", ratio=None
    )


def _rmse(img: np.ndarray, truth: np.ndarray) -> float:
    from daisy_widgets.tomography.geometry import circle_mask

    m = circle_mask(truth.shape[-1], 0.95)
    return float(np.sqrt(np.mean((img - truth)[..., m] ** 2)))


def single_slice(n: int, k: int, repeat: int, rows: list) -> None:
    from daisy_widgets.tomography import reconstruct
    from daisy_widgets.tomography.phantom import phantom_slices, project_phantom

    theta = np.linspace(0, np.pi, k, endpoint=False)
    sino = project_phantom(n, theta, supersample=2)[0]
    truth = phantom_slices(n, supersample=2)[0]
    reconstruct(sino[:8, :64], theta[:8])  # numba compile / cache load
    reconstruct(sino[:8, :64], theta[:8], algorithm="gridrec")
    t_fbp, r_fbp = _best(lambda: reconstruct(sino, theta), repeat)
    t_grid, r_grid = _best(lambda: reconstruct(sino, theta, algorithm="gridrec", filter="hann"), repeat)
    t_gramp, r_gramp = _best(lambda: reconstruct(sino, theta, algorithm="gridrec", filter="ramp"), repeat)
    t_astra, r_astra = _best(lambda: _astra_fbp(sino, theta), max(1, repeat if n <= 1024 else 1))
    t_dfi, r_dfi = _best(lambda: _algotom_dfi(sino, theta), max(1, repeat if n <= 1024 else 1))
    case = f"{n}x{n}, {k} angles"
    rows.append(
        (
            case,
            "FBP ramp (ours, numba)",
            t_fbp,
            _rmse(r_fbp, truth),
            "ASTRA CPU FBP ram-lak",
            t_astra,
            _rmse(r_astra, truth),
        )
    )
    rows.append(
        (
            case,
            "gridrec hann (ours)",
            t_grid,
            _rmse(r_grid, truth),
            "algotom DFI hann",
            t_dfi,
            _rmse(r_dfi, truth),
        )
    )
    # the accuracy target of the Fourier method: RMSE within 1.5x of ASTRA's FBP, same (ramp) filter
    rows.append(
        (
            case,
            "gridrec ramp (ours)",
            t_gramp,
            _rmse(r_gramp, truth),
            "ASTRA CPU FBP ram-lak",
            t_astra,
            _rmse(r_astra, truth),
        )
    )


def block(n: int, k: int, slices: int, peer_slices: int, rows: list) -> None:
    from daisy_widgets.tomography import reconstruct

    theta = np.linspace(0, np.pi, k, endpoint=False)
    rng = np.random.default_rng(0)
    sino = rng.random((slices, k, n), dtype=np.float32)
    reconstruct(sino[:2, :8, :64], theta[:8])
    t_fbp, _ = _best(lambda: reconstruct(sino, theta), 1)
    t_grid, _ = _best(lambda: reconstruct(sino, theta, algorithm="gridrec", filter="hann"), 1)
    t_astra, _ = _best(lambda: [_astra_fbp(sino[i], theta) for i in range(peer_slices)], 1)
    t_dfi, _ = _best(
        lambda: _algotom_dfi(np.ascontiguousarray(sino[:peer_slices].transpose(1, 0, 2)), theta), 1
    )
    scale = slices / peer_slices
    case = f"{slices} slices {n} wide, {k} angles"
    rows.append(
        (
            case,
            "FBP ramp (ours)",
            t_fbp,
            None,
            f"ASTRA CPU FBP (x{scale:g} of {peer_slices})",
            t_astra * scale,
            None,
        )
    )
    rows.append(
        (
            case,
            "gridrec hann (ours)",
            t_grid,
            None,
            f"algotom DFI (x{scale:g} of {peer_slices})",
            t_dfi * scale,
            None,
        )
    )


def dask_volume(n: int, k: int, slices: int, memory_limit: str, block_slices: int) -> None:
    """Reconstruct a lazily generated volume bigger than the workers' memory; report peak worker RSS."""
    import dask.array as da
    import psutil

    from daisy_widgets.core.datastore import DataStore
    from daisy_widgets.core.engine import DaskEngine, run_workflow
    from daisy_widgets.core.workflow import Step, Workflow
    from daisy_widgets.tomography.io import write_recon
    from daisy_widgets.tomography.phantom import project_phantom

    theta_deg = np.linspace(0, 180, k, endpoint=False)
    theta = np.deg2rad(theta_deg)

    def make(block_info=None):
        loc = block_info[None]["array-location"][0]
        return project_phantom(n, theta, rows=np.arange(*loc), height=slices, supersample=1)

    sino = da.map_blocks(
        make, chunks=((block_slices,) * (slices // block_slices), (k,), (n,)), dtype=np.float32
    )
    in_bytes = slices * k * n * 4
    out_bytes = slices * n * n * 4
    store = DataStore({"raw/sinograms": sino, "raw/theta": theta_deg})
    wf = Workflow(
        name="dask-volume",
        steps=[
            Step(
                id="reconstruct",
                algorithm="tomo.reconstruct",
                inputs={"sinograms": "raw/sinograms", "theta": "raw/theta"},
                outputs={"recon": "out/recon"},
                block=block_slices,
            )
        ],
        persist=["out/recon"],
    )
    peak = {"rss": 0}
    stop = threading.Event()
    seen: set = set()
    with DaskEngine(n_workers=2, threads_per_worker=1, memory_limit=memory_limit, lazy=True) as eng:
        first = set(eng.client.run(os.getpid).values())

        def sample():
            # every worker process, including any restarted one (a restart = the limit was exceeded)
            me = psutil.Process()
            while not stop.is_set():
                for p in me.children(recursive=True):
                    try:
                        if "dask" in " ".join(p.cmdline()) or p.pid in first:
                            seen.add(p.pid)
                            peak["rss"] = max(peak["rss"], p.memory_info().rss)
                    except psutil.Error:
                        pass
                time.sleep(0.05)

        th = threading.Thread(target=sample, daemon=True)
        th.start()
        t = time.perf_counter()
        out = run_workflow(wf, store, engine=eng)
        with tempfile.TemporaryDirectory() as d:
            write_recon(os.path.join(d, "vol.h5"), out["out/recon"])
        elapsed = time.perf_counter() - t
        stop.set()
        th.join()
        restarted = len(set(eng.client.run(os.getpid).values()) - first)
    limit = psutil.virtual_memory().total if memory_limit == "auto" else _parse_bytes(memory_limit)
    print(
        f"\nDask volume: {slices} slices of {n}x{n}, {k} angles, blocks of {block_slices} slices, "
        f"2 workers x {memory_limit}"
    )
    total = in_bytes + out_bytes
    rel = ">" if total > 2 * limit else "<="
    print(
        f"  input {in_bytes / 2**20:.0f} MiB + output {out_bytes / 2**20:.0f} MiB = "
        f"{total / 2**20:.0f} MiB {rel} workers' total limit {2 * limit / 2**20:.0f} MiB"
    )
    print(
        f"  peak worker RSS {peak['rss'] / 2**20:.0f} MiB (limit {limit / 2**20:.0f} MiB per worker); "
        f"{elapsed:.1f} s end to end (generate, reconstruct, write HDF5); "
        f"workers restarted for memory: {restarted}"
    )


def _parse_bytes(text: str) -> int:
    from dask.utils import parse_bytes

    return int(parse_bytes(text))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--cases",
        nargs="+",
        default=["512", "2048", "block", "dask"],
        choices=["512", "2048", "block", "dask"],
    )
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--block-slices", type=int, default=32)
    ap.add_argument("--block-peer-slices", type=int, default=2)
    ap.add_argument("--dask-slices", type=int, default=1024)
    ap.add_argument("--dask-width", type=int, default=512)
    ap.add_argument("--dask-angles", type=int, default=360)
    ap.add_argument("--dask-memory", default="500MB", help="memory limit per worker")
    ap.add_argument("--dask-block", type=int, default=8, help="slices per chunk")
    args = ap.parse_args(argv)
    import numba

    print(
        f"numba threads: {numba.get_num_threads()}, CPUs: {os.cpu_count()}, load average: "
        f"{', '.join(f'{x:.1f}' for x in os.getloadavg())}"
    )
    rows: list = []
    if "512" in args.cases:
        single_slice(512, 720, args.repeat, rows)
    if "2048" in args.cases:
        single_slice(2048, 1500, max(1, args.repeat // 2), rows)
    if "block" in args.cases:
        block(2048, 1500, args.block_slices, args.block_peer_slices, rows)
    if rows:
        hdr = f"{'case':32s} {'ours':24s} {'time s':>8s} {'RMSE':>8s}   {'peer':34s} {'time s':>8s} {'RMSE':>8s} {'speed-up':>8s}"
        print(hdr)
        print("-" * len(hdr))
        for case, ours, t, e, peer, tp, ep in rows:
            fe = f"{e:8.4f}" if e is not None else f"{'-':>8s}"
            fp = f"{ep:8.4f}" if ep is not None else f"{'-':>8s}"
            print(f"{case:32s} {ours:24s} {t:8.3f} {fe}   {peer:34s} {tp:8.3f} {fp} {tp / t:7.1f}x")
    if "dask" in args.cases:
        dask_volume(args.dask_width, args.dask_angles, args.dask_slices, args.dask_memory, args.dask_block)
    return 0


if __name__ == "__main__":
    sys.exit(main())
