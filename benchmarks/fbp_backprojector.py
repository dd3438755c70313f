"""FBP's CPU back-projectors: the fast kernels against the reference kernel, interleaved in one run.

For each case (one slice N x N from K angles of the Shepp-Logan phantom's exact projections),
the filtered, 4x upsampled, padded projections are back-projected by

* ``reference``: ``tomography._kernels.backproject_nearest`` (the kernel FBP ran first);
* ``gather``: ``tomography._fbp_kernels.backproject_nearest_gather`` (the one FBP ran until
  the permute kernel came, and still runs on CPUs without AVX-512);
* ``permute``: ``tomography._fbp_kernels.backproject_nearest_permute`` (AVX-512 CPUs: 16
  lookups as register permutes of a 64-sample window; left out where the CPU lacks AVX-512),

alternately, ``--repeat`` times each; the table gives the median wall time and CPU time of
each, the ratio reference / kernel and gather / kernel, the lookups per second (N^2 K), the
largest difference between the kernel's image and the reference's relative to the image's
range (the target: <= 1e-5, float32 rounding), and the whole ``fbp`` time (filtering
included) and its RMSE against the phantom with each kernel. The machine is shared: compare
the ratios, taken within the run, and note the load.

Usage::

    .venv/bin/python benchmarks/fbp_backprojector.py                  # 1024 x 900 and 2048 x 1500
    .venv/bin/python benchmarks/fbp_backprojector.py --cases 1024 --repeat 5
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import numpy as np

QUICK_ARGS = ["--cases", "1024", "--repeat", "3"]
CASES = {"1024": (1024, 900), "2048": (2048, 1500)}


def _timed(fn) -> tuple[float, float, object]:
    t, c = time.perf_counter(), time.process_time()
    out = fn()
    return time.perf_counter() - t, time.process_time() - c, out


def run_case(n: int, k: int, repeat: int) -> dict:
    from daisy_widgets.tomography import _fbp_kernels, _kernels
    from daisy_widgets.tomography.fbp import UPSAMPLE, fbp
    from daisy_widgets.tomography.filters import filter_sinogram
    from daisy_widgets.tomography.geometry import angle_weight, circle_mask, pad_geometry
    from daisy_widgets.tomography.phantom import phantom_slices, project_phantom

    theta = np.linspace(0, np.pi, k, endpoint=False)
    sino = project_phantom(n, theta)
    truth = phantom_slices(n)[0]
    center = (n - 1) / 2.0
    q = filter_sinogram(sino, "ramp", np, "edge", UPSAMPLE)
    left, width = pad_geometry(n, n, center)
    qp = np.zeros((1, k, width * UPSAMPLE), np.float32)
    qp[..., left * UPSAMPLE : left * UPSAMPLE + q.shape[-1]] = q
    cos_t, sin_t = np.cos(theta).astype(np.float32), np.sin(theta).astype(np.float32)
    args = (qp, cos_t, sin_t, float(center + left), n, UPSAMPLE, angle_weight(theta))
    kernels = {"reference": _kernels.backproject_nearest, "gather": _fbp_kernels.backproject_nearest_gather}
    if _fbp_kernels.PERMUTE:
        kernels["permute"] = _fbp_kernels.backproject_nearest_permute
    images = {name: f(*args) for name, f in kernels.items()}  # compiled, caches warm
    wall: dict[str, list[float]] = {name: [] for name in kernels}
    cpu: dict[str, list[float]] = {name: [] for name in kernels}
    for _ in range(repeat):  # interleaved: a burst of load hits both alike
        for name, f in kernels.items():
            w, c, _ = _timed(lambda f=f: f(*args))
            wall[name].append(w)
            cpu[name].append(c)
    ref = images["reference"][0]
    span = float(ref.max() - ref.min())
    diff = {name: float(np.abs(img[0] - ref).max()) / span for name, img in images.items()}
    mask = circle_mask(n, 0.95)
    whole = {}
    for name, f in kernels.items():  # the whole fbp (filter + back-projection) with each kernel
        real = _fbp_kernels.backproject_nearest
        _fbp_kernels.backproject_nearest = f
        try:
            w, _, img = _timed(lambda: fbp(sino, theta, center))
        finally:
            _fbp_kernels.backproject_nearest = real
        whole[name] = (w, float(np.sqrt(np.mean((img[0] - truth)[mask] ** 2))))
    return {
        "wall": {name: statistics.median(v) for name, v in wall.items()},
        "cpu": {name: statistics.median(v) for name, v in cpu.items()},
        "diff": diff,
        "lookups": float(n) * n * k,
        "whole": whole,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", nargs="+", default=list(CASES), choices=list(CASES))
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    import numba

    from daisy_widgets.tomography import _fbp_kernels

    print(
        f"numba threads: {numba.get_num_threads()}, CPUs: {os.cpu_count()}, AVX-512 permute kernel: "
        f"{'yes' if _fbp_kernels.PERMUTE else 'no (CPU without AVX-512)'}, load average before: "
        f"{', '.join(f'{x:.1f}' for x in os.getloadavg())} (shared machine: compare the ratios)"
    )
    hdr = (
        f"{'case':12s} {'kernel':10s} {'wall s':>8s} {'CPU s':>7s} {'Glookup/s':>10s} {'ref/this':>9s} "
        f"{'gather/this':>12s} {'max|diff|/range':>16s} {'fbp s':>7s} {'RMSE':>8s}"
    )
    print(hdr)
    print("-" * len(hdr))
    for case in args.cases:
        n, k = CASES[case]
        r = run_case(n, k, args.repeat)
        for name in r["wall"]:
            ratio = r["wall"]["reference"] / r["wall"][name]
            vs_gather = r["wall"]["gather"] / r["wall"][name]
            diff = "" if name == "reference" else f"{r['diff'][name]:.2e}"
            fbp_s, rmse = r["whole"][name]
            print(
                f"{f'{n}x{n}x{k}':12s} {name:10s} {r['wall'][name]:8.3f} {r['cpu'][name]:7.2f} "
                f"{r['lookups'] / r['wall'][name] / 1e9:10.2f} {ratio:8.2f}x {vs_gather:11.2f}x {diff:>16s} "
                f"{fbp_s:7.2f} {rmse:8.5f}"
            )
    print(
        f"load average after: {', '.join(f'{x:.1f}' for x in os.getloadavg())}; medians of {args.repeat} "
        "interleaved runs; fbp s: one whole fbp (filter + back-projection), RMSE against the phantom "
        "inside 95 % of the reconstruction circle."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
