"""Live mode: lag from a frame written to the preview slice updated, at detector widths and frame rates.

Usage::

    .venv/bin/python benchmarks/tomography_live.py                          # 1024 and 2048 wide, 10 and 20 frames/s
    .venv/bin/python benchmarks/tomography_live.py --widths 1024 --rates 20 --angles 900   # the issue's scan

For each width and rate, ``daisy tomo acquire`` writes a phantom scan (``--rows`` rows,
``--angles`` projections over 180 degrees) in another process, frame by frame, in SWMR
mode; this process follows it with :class:`~daisy_widgets.tomography.live.LiveReconstruction`
(the preview slice of one row, centre found once 180 degrees are in). The lag of a
projection is the time from the writer flushing it (``/exchange/frame_time``) to the first
preview that includes it; the table gives its median, 95th percentile and maximum, the
rate the writer achieved (``written/s``, from the frame times: on a loaded machine the
phantom detector itself may fall short of ``--rate``) and the number of preview updates.

The peer, measured in the same run on the same slice: recomputing the whole FBP of the
angles received (what a preview without the incremental sectors would do at each update),
timed at the scan's last update (all angles). A ratio ``peer / median lag`` above 1 is what
the incremental preview saves. The machine is shared: the figures say what was measured here.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def run_one(width: int, rate: float, angles: int, rows: int, folder: str) -> dict:
    from daisy_widgets.tomography.live import LiveReconstruction, SwmrFileSource
    from daisy_widgets.tomography.recon import reconstruct

    path = Path(folder) / f"live_{width}_{rate:g}.h5"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    cmd = [sys.executable, "-m", "daisy_widgets.cli", "tomo", "acquire", str(path), "--quiet", "--overwrite"]
    cmd += ["--width", str(width), "--rows", str(rows), "--angles", str(angles), "--rate", str(rate)]
    cmd += ["--flats", "5", "--darks", "3"]
    LiveReconstruction.warm_up()
    writer = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    updates = []
    try:
        live = LiveReconstruction(
            SwmrFileSource(path, stall_timeout=30, wait=60), on_update=lambda st: updates.append(time.time())
        )
        t0 = time.time()
        st = live.run()
        seconds = time.time() - t0
    finally:
        if writer.wait(120) != 0:
            print(writer.stderr.read(), file=sys.stderr)
    lags = np.asarray(live.lags)
    sino = live.sinos.sinograms()[live.preview_row]
    t = time.perf_counter()
    reconstruct(sino, np.deg2rad(live.sinos.theta_deg), st.center)
    peer = time.perf_counter() - t
    import h5py

    with h5py.File(path, "r") as f:
        ft = f["/exchange/frame_time"][()]
    written = (ft.size - 1) / (ft[-1] - ft[0]) if ft.size > 1 and ft[-1] > ft[0] else 0.0
    path.unlink(missing_ok=True)
    return {
        "width": width,
        "rate": rate,
        "frames": st.frames,
        "state": st.state,
        "written": written,
        "seconds": seconds,
        "updates": len(updates),
        "median": float(np.median(lags)),
        "p95": float(np.percentile(lags, 95)),
        "max": float(lags.max()),
        "peer": peer,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--widths", type=int, nargs="+", default=[1024, 2048])
    ap.add_argument("--rates", type=float, nargs="+", default=[10.0, 20.0])
    ap.add_argument("--angles", type=int, default=300, help="projections per scan (over 180 degrees)")
    ap.add_argument("--rows", type=int, default=4, help="detector rows written (one is previewed)")
    ap.add_argument("--dir", default=None, help="folder of the scans (default: a temporary folder)")
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT))
    with tempfile.TemporaryDirectory(dir=args.dir) as folder:
        print(
            f"{args.angles} projections x {args.rows} rows, 180 degrees, preview of one row; {os.cpu_count()} CPUs"
        )
        head = (
            f"{'width':>6} {'rate/s':>7} {'written/s':>10} {'updates':>8} {'lag median':>11} {'lag p95':>8} "
            f"{'lag max':>8} {'full FBP (peer)':>16} {'peer/median':>12}"
        )
        print(head)
        print("-" * len(head))
        for width in args.widths:
            for rate in args.rates:
                r = run_one(width, rate, args.angles, args.rows, folder)
                print(
                    f"{r['width']:>6} {r['rate']:>7g} {r['written']:>10.1f} {r['updates']:>8} {r['median']:>10.2f}s "
                    f"{r['p95']:>7.2f}s {r['max']:>7.2f}s {r['peer']:>15.2f}s {r['peer'] / r['median']:>12.1f}"
                    + ("" if r["state"] == "complete" else f"  [{r['state']}]"),
                    flush=True,
                )


if __name__ == "__main__":
    main()
