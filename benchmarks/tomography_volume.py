"""Whole volume, file to file: read a scan (HDF5 and a TIFF folder), normalise, reconstruct, write HDF5.

Measures, in one run on the same slices:

* *compute only*: the chain ``daisy tomo recon`` runs (normalise, minus-log, gridrec) on
  blocks of rows already in memory, one block after another: slices/s;
* *file to file*, from Data Exchange HDF5 and from a folder of single-page TIFFs:
  :func:`~daisy_widgets.tomography.pipeline.run_reconstruction` end to end (opening the scan,
  the provenance pass that checksums the input and refuses NaN/inf, run in a thread beside
  the streamed chain, the centre, the atomic write): slices/s and its ratio to the
  compute-only rate (target >= 85 %), MB/s read (counts, as stored) and written (float32
  slices), the peak of the blocks held in the queues and the peak resident memory above the
  start (memory is bounded by the block, not the volume);
* *checksum first*: the same, with the provenance pass run before the stream (the order
  before it ran beside it), from both files, so the gain is seen in the same run
  (``--no-first`` skips these);
* *not overlapped*: the same steps from the HDF5 file with reading, computing and writing
  one after another (a loop here over the same reader, chain and writer), so the gain of
  the overlap is seen in the same run;
* *whole array*: the path ``daisy tomo recon`` took before streaming (the workflow over all
  rows at once, then the write), with its memory.

The SHA-256 of the input is taken in frame order (as stored), the stream reads blocks of
rows: one read cannot serve both without holding the whole volume, so the checksum pass
reads the input a second time (from the page cache), beside the computation. Opening the
TIFF folder checks every file's header, but parses only the first of a series written alike
(the others are compared byte for byte outside their image data).

The scan is synthetic (spheres of known attenuation, analytic line integrals, Poisson-free
counts in uint16), 2048 wide by default. The machine is shared: each figure is the median
of ``--repeat`` runs, and ratios are taken within the run.

Usage::

    .venv/bin/python benchmarks/tomography_volume.py                       # 2048 wide, 1500 angles, 16 rows
    .venv/bin/python benchmarks/tomography_volume.py --width 1024 --angles 900 --rows 16 --repeat 3
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np


def synthetic_counts(width: int, n_angles: int, rows: int, seed: int = 0):
    """uint16 projections (angles, rows, width), flats, darks and angles (degrees) of random spheres."""
    rng = np.random.default_rng(seed)
    theta = np.linspace(0.0, 180.0, n_angles, endpoint=False)
    th = np.deg2rad(theta)[:, None]
    u = np.arange(width) - (width - 1) / 2.0
    line = np.zeros((n_angles, rows, width), np.float32)
    for _ in range(12):
        cx, cy, cz = rng.uniform(-0.3, 0.3, 3) * width
        cz = cz * rows / width + (rows - 1) / 2.0
        r = rng.uniform(0.05, 0.2) * width
        mu = rng.uniform(0.2, 1.0) / width
        p = cx * np.cos(th) + cy * np.sin(th)  # (angles, 1): the sphere's centre on the detector
        for k in range(rows):
            rk2 = r * r - (k - cz) ** 2
            if rk2 <= 0:
                continue
            d2 = rk2 - (u[None, :] - p) ** 2
            line[:, k, :] += mu * 2.0 * np.sqrt(np.clip(d2, 0, None))
    flat = 20000.0
    proj = np.round(100.0 + flat * np.exp(-line)).astype(np.uint16)
    flats = np.full((4, rows, width), 100 + flat, np.uint16)
    darks = np.full((2, rows, width), 100, np.uint16)
    return proj, flats, darks, theta


def write_inputs(folder: Path, proj, flats, darks, theta) -> tuple[Path, Path]:
    """The scan as Data Exchange HDF5 and as a TIFF folder (one file per frame, angles.txt)."""
    import tifffile

    from daisy_widgets.tomography.io import write_data_exchange

    h5 = write_data_exchange(folder / "scan.h5", proj, flats, darks, theta)
    tif = folder / "tiff"
    tif.mkdir()
    for i, frame in enumerate(proj):
        tifffile.imwrite(tif / f"proj_{i:05d}.tif", frame)
    for i, frame in enumerate(flats):
        tifffile.imwrite(tif / f"flat_{i}.tif", frame)
    for i, frame in enumerate(darks):
        tifffile.imwrite(tif / f"dark_{i}.tif", frame)
    (tif / "angles.txt").write_text("\n".join(repr(float(t)) for t in theta) + "\n")
    return h5, tif


class PeakRSS:
    """Peak resident memory of this process above its level at start, sampled every 20 ms."""

    def __enter__(self) -> PeakRSS:
        import psutil

        self._p = psutil.Process()
        self.base = self._p.memory_info().rss
        self.peak = self.base
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._p.memory_info().rss)
            time.sleep(0.02)

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._t.join()

    @property
    def above(self) -> int:
        return self.peak - self.base


def compute_only(scan, opts, center: float, block: int) -> float:
    """Seconds to run the chain on every block of rows, all read into memory beforehand."""
    from dataclasses import replace

    from daisy_widgets.tomography.pipeline import build_workflow
    from daisy_widgets.tomography.stream import run_block

    nr = scan.shape[1]
    blocks = [scan.block(slice(a, min(a + block, nr))) for a in range(0, nr, block)]
    wf = build_workflow(replace(opts, center=center))
    t = time.perf_counter()
    for b in blocks:
        run_block(wf, scan, b)
    return time.perf_counter() - t


def file_to_file(
    path, out: Path, opts, layout=None, serial: bool = False, whole: bool = False, first: bool = False
) -> dict:
    """One ``run_reconstruction`` (streamed), or with ``serial`` the same steps one after another,
    with ``whole`` the workflow over the whole array (the path before streaming), with ``first``
    the streamed run after the checksum pass (the order before the pass ran beside the stream)."""
    from daisy_widgets.tomography.pipeline import run_reconstruction

    with PeakRSS() as mem:
        t = time.perf_counter()
        if whole:
            st = _whole_array(path, out, opts, layout)
        elif serial:
            st = _serial(path, out, opts, layout)
        elif first:
            st = _checksum_first(path, out, opts, layout)
        else:
            st = run_reconstruction(path, out, opts, layout=layout)["stream"]
        wall = time.perf_counter() - t
    out.unlink()
    return {
        "wall": wall,
        "slices": st.slices,
        "read": st.bytes_read,
        "written": st.bytes_written,
        "queued": st.peak_queued_bytes,
        "rss": mem.above,
        "stages": (st.read_seconds, st.compute_seconds, st.write_seconds),
    }


def _whole_array(path, out: Path, opts, layout):
    """As ``daisy tomo recon`` ran before streaming: the workflow over all rows at once, then the write."""
    from daisy_widgets.core.datastore import DataStore
    from daisy_widgets.core.engine import run_workflow
    from daisy_widgets.tomography.io import read_scan, scan_provenance, write_recon
    from daisy_widgets.tomography.pipeline import build_workflow
    from daisy_widgets.tomography.stream import StreamStats, counts_bytes

    scan = read_scan(path, layout=layout)
    _, nr, width = scan.shape
    prov = scan_provenance(scan, slice(0, nr))
    store = DataStore(
        {
            "raw/projections": scan.projections[:, 0:nr, :],
            "raw/flats": scan.flats[:, 0:nr, :],
            "raw/darks": scan.darks[:, 0:nr, :],
            "raw/theta": np.asarray(scan.theta, np.float64),
        }
    )
    t = time.perf_counter()
    rec = run_workflow(build_workflow(opts), store)["out/recon"]
    t1 = time.perf_counter()
    write_recon(out, rec, provenance=prov)
    st = StreamStats(slices=nr, bytes_read=counts_bytes(scan, nr), bytes_written=rec.nbytes)
    st.compute_seconds, st.write_seconds = t1 - t, time.perf_counter() - t1
    return st


def _checksum_first(path, out: Path, opts, layout):
    """As ``daisy tomo recon`` streamed before: the checksum pass over the input, then the stream."""
    from dataclasses import replace

    from daisy_widgets.tomography.io import read_scan, scan_provenance
    from daisy_widgets.tomography.pipeline import build_workflow
    from daisy_widgets.tomography.stream import stream_reconstruction

    scan = read_scan(path, layout=layout)
    rows = slice(0, scan.shape[1])
    prov = scan_provenance(scan, rows)
    wf = build_workflow(replace(opts, center=float(opts.center)))
    return stream_reconstruction(scan, rows, wf, out, block=opts.block, provenance=prov, input_path=path)


def _serial(path, out: Path, opts, layout):
    """Provenance pass, then read a block, run the chain, write it; next block (no overlap)."""
    from dataclasses import replace

    from daisy_widgets.tomography.io import read_scan, recon_writer, scan_provenance
    from daisy_widgets.tomography.pipeline import build_workflow
    from daisy_widgets.tomography.stream import StreamStats, counts_bytes, run_block

    scan = read_scan(path, layout=layout)
    _, nr, width = scan.shape
    prov = scan_provenance(scan, slice(0, nr))
    wf = build_workflow(replace(opts, center=float(opts.center)))
    st = StreamStats(slices=nr, bytes_read=counts_bytes(scan, nr))
    with recon_writer(out, (nr, width, width)) as w:
        for a in range(0, nr, opts.block):
            t = time.perf_counter()
            b = scan.block(slice(a, min(a + opts.block, nr)))
            t1 = time.perf_counter()
            rec = np.asarray(run_block(wf, scan, b)["out/recon"], np.float32)
            t2 = time.perf_counter()
            w.write(a, rec)
            st.read_seconds += t1 - t
            st.compute_seconds += t2 - t1
            st.write_seconds += time.perf_counter() - t2
            st.peak_queued_bytes = max(st.peak_queued_bytes, sum(v.nbytes for v in b.values()) + rec.nbytes)
        w.provenance = prov
        st.bytes_written = w.bytes_written
    return st


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--width", type=int, default=2048)
    ap.add_argument("--angles", type=int, default=1500)
    ap.add_argument("--rows", type=int, default=16, help="detector rows = slices reconstructed")
    ap.add_argument("--block", type=int, default=4, help="rows per block")
    ap.add_argument("--algorithm", default="gridrec", choices=("gridrec", "fbp"))
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--no-serial", action="store_true", help="skip the not-overlapped comparison")
    ap.add_argument("--no-whole", action="store_true", help="skip the whole-array workflow (the path before)")
    ap.add_argument(
        "--no-first",
        action="store_true",
        help="skip the runs with the checksum pass first (the order before)",
    )
    args = ap.parse_args(argv)
    import numba

    from daisy_widgets.tomography.io import read_scan
    from daisy_widgets.tomography.pipeline import ReconOptions

    print(
        f"numba threads: {numba.get_num_threads()}, CPUs: {os.cpu_count()}, load average: "
        f"{', '.join(f'{x:.1f}' for x in os.getloadavg())} (shared machine: figures are noisy, "
        "compare the ratios)"
    )
    tmp = Path(tempfile.mkdtemp(prefix="daisy-bench-volume-"))
    t = time.perf_counter()
    proj, flats, darks, theta = synthetic_counts(args.width, args.angles, args.rows)
    h5, tif = write_inputs(tmp, proj, flats, darks, theta)
    del proj
    print(
        f"scan {args.width} wide x {args.angles} angles x {args.rows} rows (uint16) written as HDF5 and "
        f"{args.angles} TIFFs in {time.perf_counter() - t:.1f} s; blocks of {args.block} rows"
    )
    center = (args.width - 1) / 2.0
    opts = ReconOptions(center=center, algorithm=args.algorithm, filter="hann", block=args.block)
    tiff_layout = {"angles": "angles.txt", "flats": ["flat_*.tif"], "darks": ["dark_*.tif"]}
    scan = read_scan(h5)
    compute_only(read_scan(h5), opts, center, args.block)  # compile / warm the caches
    runs: dict[str, list] = {
        "compute": [],
        "hdf5": [],
        "tiff": [],
        "hdf5 checksum first": [],
        "tiff checksum first": [],
        "hdf5 serial": [],
        "hdf5 whole array": [],
    }
    for _ in range(args.repeat):  # interleaved, so a burst of load hits every variant alike
        runs["compute"].append(compute_only(scan, opts, center, args.block))
        runs["hdf5"].append(file_to_file(h5, tmp / "out.h5", opts))
        runs["tiff"].append(file_to_file(tif, tmp / "out_t.h5", opts, layout=tiff_layout))
        if not args.no_first:
            runs["hdf5 checksum first"].append(file_to_file(h5, tmp / "out_f.h5", opts, first=True))
            runs["tiff checksum first"].append(
                file_to_file(tif, tmp / "out_ft.h5", opts, layout=tiff_layout, first=True)
            )
        if not args.no_serial:
            runs["hdf5 serial"].append(file_to_file(h5, tmp / "out_s.h5", opts, serial=True))
        if not args.no_whole:
            runs["hdf5 whole array"].append(file_to_file(h5, tmp / "out_w.h5", opts, whole=True))
    n = args.rows
    t_c = statistics.median(runs["compute"])
    rate_c = n / t_c
    block_bytes = args.block * (args.angles + 6) * args.width * 4 + args.block * args.width**2 * 4
    print(
        f"\n{args.algorithm}, {n} slices {args.width}x{args.width}, {args.angles} angles; medians of {args.repeat}"
    )
    hdr = (
        f"{'run':36s} {'time s':>8s} {'slices/s':>9s} {'vs compute':>10s} {'read MB/s':>10s} "
        f"{'write MB/s':>10s} {'queued MiB':>10s} {'RSS+ MiB':>9s}  read/compute/write busy s"
    )
    print(hdr)
    print("-" * len(hdr))
    print(f"{'compute only (memory)':36s} {t_c:8.2f} {rate_c:9.2f} {'100 %':>10s}")
    for name in runs:
        if name == "compute":
            continue
        rs = runs[name]
        if not rs:
            continue
        w = statistics.median(r["wall"] for r in rs)
        r0 = rs[0]
        busy = "/".join(f"{statistics.median(r['stages'][i] for r in rs):.1f}" for i in range(3))
        print(
            f"{'file to file, ' + name:36s} {w:8.2f} {n / w:9.2f} {100 * (n / w) / rate_c:8.0f} % "
            f"{r0['read'] / 1e6 / w:10.1f} {r0['written'] / 1e6 / w:10.1f} "
            f"{max(r['queued'] for r in rs) / 2**20:10.0f} {max(r['rss'] for r in rs) / 2**20:9.0f}  {busy}"
        )
    print(
        f"\none block (counts as float32 + slices) = {block_bytes / 2**20:.0f} MiB; the whole volume's counts "
        f"+ slices = {n * (args.angles + 6) * args.width * 4 / 2**20 + n * args.width**2 * 4 / 2**20:.0f} MiB. "
        "File to file includes the provenance pass (SHA-256 of the input, read once more in frame order): "
        "beside the stream, or before it in the 'checksum first' rows."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
