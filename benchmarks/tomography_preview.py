"""Tomography app preview after a parameter change, in this process (no browser, no hub).

The app (:class:`~daisy_widgets.tomography.app.TomographyApp`, widgets built, no page) opens
a synthetic scan ``--width`` wide with ``--angles`` projections; the rotation centre is
changed ``--changes`` times, one change at a time after a quiet moment as a user types a
value, and each latency is measured from the change to the preview panel showing the new
slice (debounce, preprocessed-sinogram cache, reconstruction, panel update included). The
compute time the app reports is given beside it, and, as a peer in the same run, ASTRA's
CPU FBP of the same (binned) sinogram. ``benchmarks/tomography_app.py`` measures the same
change through a real browser.

Usage::

    .venv/bin/python benchmarks/tomography_preview.py [--width 1024] [--angles 900] [--changes 9]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path


def _astra_fbp_seconds(sino, theta, repeat: int = 3) -> float | None:
    try:
        import astra
    except ImportError:
        return None
    import numpy as np

    na, nd = sino.shape
    vg = astra.create_vol_geom(nd, nd)
    pg = astra.create_proj_geom("parallel", 1.0, nd, theta)
    pid = astra.create_projector("linear", pg, vg)
    times = []
    for _ in range(repeat):
        sid = astra.data2d.create("-sino", pg, np.ascontiguousarray(sino, np.float32))
        rid = astra.data2d.create("-vol", vg)
        cfg = astra.astra_dict("FBP")
        cfg.update(ReconstructionDataId=rid, ProjectionDataId=sid, ProjectorId=pid, FilterType="ram-lak")
        aid = astra.algorithm.create(cfg)
        t = time.perf_counter()
        astra.algorithm.run(aid)
        times.append(time.perf_counter() - t)
        astra.algorithm.delete(aid)
        astra.data2d.delete([sid, rid])
    astra.projector.delete(pid)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--width", type=int, default=1024)
    ap.add_argument("--angles", type=int, default=900)
    ap.add_argument("--changes", type=int, default=9)
    ap.add_argument("--algorithm", default="fbp", choices=("fbp", "gridrec"))
    args = ap.parse_args(argv)
    from daisy_widgets.tomography.app import TomographyApp
    from daisy_widgets.tomography.app.logic import bin_detector
    from daisy_widgets.tomography.phantom import write_sample_scan

    print(
        f"CPUs: {os.cpu_count()}, load average: {', '.join(f'{x:.1f}' for x in os.getloadavg())} "
        "(shared machine: figures are noisy, compare the ratio to the peer)"
    )
    base = Path(tempfile.mkdtemp(prefix="daisy-bench-preview-"))
    path = write_sample_scan(base / "tomo_bench.h5", size=args.width, n_angles=args.angles, height=4, seed=0)
    app = TomographyApp(data_dir=base, results_dir=base / "results", open_default=False)
    app.open_scan(path)
    app.model.algorithm = args.algorithm
    status = app.preview_status  # builds the preview panel (rendered lazily in the page)
    mid = (args.width - 1) / 2.0
    app.set_center(mid)
    app.update_preview(wait=True)  # the first one reads and preprocesses the row, and compiles
    lat, comp = [], []
    for k in range(args.changes):
        time.sleep(0.5)  # a quiet moment, as between two typed values
        c = round(mid + (k % 5 - 2) * 0.75 + 0.25 * (k + 1), 2)
        t = time.perf_counter()
        app.set_center(c)
        want = f"centre {c:.2f} px"
        deadline = t + 120
        while time.perf_counter() < deadline and not (
            app.model.preview is not None
            and abs(app.model.preview.snapshot["center"] - c) < 1e-9
            and (status is None or (want in status.value and "computed in" in status.value))
        ):
            time.sleep(0.002)
        if time.perf_counter() >= deadline:
            print(f"the preview for centre {c} did not show within 120 s (status: {status and status.value})")
            return 1
        lat.append(time.perf_counter() - t)
        comp.append(app.model.preview.seconds)
    theta = app.model.scan.theta_rad
    snap = app.model.preview.snapshot
    s_b, _ = bin_detector(app.model.preview.sinogram, snap["center"], snap["binning"])
    astra_s = _astra_fbp_seconds(s_b, theta)
    app.preview_runner.cancel()
    print(
        f"\npreview of one slice, {args.width} wide (binned x{snap['binning']} to {s_b.shape[1]}), "
        f"{args.angles} angles, {args.algorithm}; {args.changes} centre changes"
    )
    rows = [
        ("latency change -> panel shows it, median (s)", f"{statistics.median(lat):.3f}", "target <= 0.25"),
        ("  compute reported by the app, median (s)", f"{statistics.median(comp):.3f}", ""),
        (
            "ASTRA CPU FBP of the same binned sinogram (peer) (s)",
            "n/a" if astra_s is None else f"{astra_s:.3f}",
            "" if astra_s is None else f"latency = {statistics.median(lat) / astra_s:.2f}x the peer's FBP",
        ),
    ]
    w = max(len(r[0]) for r in rows)
    for name, val, note in rows:
        print(f"{name:<{w}}  {val:>7}  {note}")
    print(f"latencies: {', '.join(f'{x:.3f}' for x in lat)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
