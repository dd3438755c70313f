"""Reading a TIFF folder for a full volume, block by block: speed against plain tifffile, and memory.

Usage::

    .venv/bin/python benchmarks/tomography_read.py                     # 2048 wide, 256 rows, 360 files
    .venv/bin/python benchmarks/tomography_read.py --rows 2048 --angles 1500 --block 32   # a real detector
    .venv/bin/python benchmarks/tomography_read.py --compress               # zlib TIFFs (decoded whole)

Writes a folder of single-page 16-bit TIFF projections ``--width`` x ``--rows``
(the phantom's counts; numbered with gaps, as a detector writes them) with a
flat and a dark, then reads the whole volume three ways in the same run:

* ``tifffile.imread`` file by file (whole frames; the peer, what a script would do);
* Daisy's TIFF reader frame block by frame block (``scan.projections[a:b]``);
* Daisy's TIFF reader row block by row block, as the reconstruction streams it
  (``scan.projections[:, a:a+block]``: every projection's rows ``a:a+block``, only those
  bytes read from an uncompressed file), and the same through ``scan.block(rows)``
  (also converted to float32 and checked finite, as the app's preview reads it).

For each: seconds, MB/s (MB of TIFF pixel data read per second) and the peak of
Python/numpy allocations (``tracemalloc``) while reading, against the size of the
whole scan as float32. The files are read from the page cache (just written), so
this measures the readers, not the disk. The default size runs in about a minute
on two cores and needs about 0.4 GB of free disk (in ``--dir``, default a temporary folder).
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
import tracemalloc

import numpy as np


def write_folder(folder: str, width: int, rows: int, n: int, compress: bool) -> list[str]:
    """``n`` 16-bit projections of the phantom-like counts, numbered with gaps; a flat and a dark."""
    import tifffile

    rng = np.random.default_rng(0)
    x = np.linspace(-1, 1, width)
    flat = (20000 * (1 + 0.05 * np.sin(3 * np.pi * (x + 1) / 2)))[None, :] * np.ones((rows, 1))
    kw = {"compression": "zlib"} if compress else {}
    files = []
    for k in range(n):
        shift = 0.3 * np.cos(np.pi * k / n)
        profile = np.exp(-1.5 * np.clip(1 - ((x - shift) / 0.6) ** 2, 0, None))
        frame = rng.poisson(flat * profile[None, :]).astype(np.uint16)
        files.append(os.path.join(folder, f"proj_{k + k // 100}.tif"))
        tifffile.imwrite(files[-1], frame, **kw)
    tifffile.imwrite(os.path.join(folder, "flat_0.tif"), flat.astype(np.uint16), **kw)
    tifffile.imwrite(os.path.join(folder, "dark_0.tif"), np.full((rows, width), 100, np.uint16), **kw)
    return files


def measure(fn) -> tuple[float, int]:
    """(seconds, peak traced bytes) of ``fn()``."""
    tracemalloc.start()
    t = time.perf_counter()
    fn()
    dt = time.perf_counter() - t
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return dt, peak


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--width", type=int, default=2048)
    ap.add_argument("--rows", type=int, default=256)
    ap.add_argument("--angles", type=int, default=360, help="number of projection files")
    ap.add_argument("--block", type=int, default=16, help="detector rows per block (row streaming)")
    ap.add_argument("--frames", type=int, default=16, help="frames per block (frame streaming)")
    ap.add_argument("--compress", action="store_true", help="zlib-compressed TIFFs")
    ap.add_argument("--dir", default=None, help="where to write the files (default: a temporary folder)")
    args = ap.parse_args(argv)

    import tifffile

    from daisy_widgets.tomography.io import Layout, read_scan

    folder = tempfile.mkdtemp(prefix="daisy-tiffread-", dir=args.dir)
    try:
        t = time.perf_counter()
        files = write_folder(folder, args.width, args.rows, args.angles, args.compress)
        write_s = time.perf_counter() - t
        data_mb = args.angles * args.rows * args.width * 2 / 1e6
        scan_f32_mb = data_mb * 2
        print(
            f"{args.angles} TIFFs of {args.rows} x {args.width} uint16"
            f"{' (zlib)' if args.compress else ''}: {data_mb:.0f} MB of pixels "
            f"({scan_f32_mb:.0f} MB as float32), written in {write_s:.1f} s to {folder}"
        )

        def plain() -> None:
            for f in files:
                tifffile.imread(f)

        layout = Layout(
            kind="tiff", angles=f"0:180:{args.angles}", flats=["flat_0.tif"], darks=["dark_0.tif"]
        )
        scan = read_scan(folder, layout=layout)  # opens and checks every page header

        def frames() -> None:
            for a in range(0, args.angles, args.frames):
                scan.projections[a : a + args.frames].compute()

        def rows() -> None:
            for a in range(0, args.rows, args.block):
                scan.projections[:, a : a + args.block].compute()

        def rows_f32() -> None:
            for a in range(0, args.rows, args.block):
                scan.block(slice(a, a + args.block))

        plain()  # warm-up: the same page cache for all three
        results = []
        for name, fn, block_mb in (
            ("tifffile.imread, file by file", plain, args.rows * args.width * 2 / 1e6),
            (
                f"daisy, {args.frames} frames per block",
                frames,
                args.frames * args.rows * args.width * 2 / 1e6,
            ),
            (f"daisy, {args.block} rows per block", rows, args.angles * args.block * args.width * 2 / 1e6),
            (
                f"daisy, {args.block} rows per block, scan.block",
                rows_f32,
                args.angles * args.block * args.width * 4 / 1e6,
            ),
        ):
            dt, peak = measure(fn)
            results.append((name, dt, data_mb / dt, peak / 1e6, block_mb))
        base = results[0][2]
        hdr = f"{'reader':42s} {'seconds':>8s} {'MB/s':>8s} {'vs tifffile':>11s} {'peak MB':>8s} {'block MB':>9s}"
        print(hdr)
        print("-" * len(hdr))
        for name, dt, mbs, peak, block_mb in results:
            print(f"{name:42s} {dt:8.2f} {mbs:8.0f} {mbs / base:10.2f}x {peak:8.1f} {block_mb:9.1f}")
        print(f"(whole scan as float32: {scan_f32_mb:.0f} MB; peak = tracemalloc peak while reading)")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
