"""HXMT benchmarks (run by hand): ``python benchmarks/hxmt.py [--events N] [--exposure S]``.

1. ``N`` (default 10^7) events: screening (GTI + PI range) + light curve + spectrum + folding,
   Daisy's functions against stingray's equivalent calls on the same events; ratio printed.
   The screening pass (``event_kernels.screen_times``) was 0.05 s of daisy's 0.069 s: its
   loop tested the random PI first and mispredicted about half of those branches. It now
   writes every event at the next free slot and advances the slot only for a kept one (no
   branch on PI): 0.017 s, the same selection (tested). What is left (10^7 events, 3.6 M
   kept): the screening pass 0.017 s (reading 100 MB, writing 36 MB), the light curve 0.010 s
   (two 1 s binnings: counts and the dead-time events, a division per event), folding 0.005 s,
   the spectrum 0.001 s. Fusing the light curve, spectrum and fold into the screening pass
   would save about 0.01 s more; not done, the target is met without it.
2. A full HE pipeline (``run_pipeline``, what ``daisy hxmt pipeline`` runs) on a simulated
   ``S``-second (default 10 ks: 16.7 M Level-1 events, 2.6 M screened) observation, in a fresh
   process, imports included: wall time, CPU time and peak memory (VmHWM). Targets (issue 21):
   2 s, 500 MB. ``--l1 DIR`` uses an existing HE exposure instead of simulating one (40 s).
   ``--compare-with TREE`` (e.g. a checkout of main's commit) runs TREE's pipeline and this
   tree's alternately in fresh processes, ``--rounds`` times each after one untimed run of
   each, prints the load average, the medians and ratios, and whether all runs wrote the same
   products (FITS data and headers but the date). Example::

       git archive main daisy_widgets | tar -x -C /tmp/main-tree
       python benchmarks/hxmt.py --only pipeline --compare-with /tmp/main-tree --rounds 3

   Since issue 21 (HE batch runs): the events are read, calibrated and screened block by block
   (``hxmt.pical_screen``: no Level-1 or calibrated table held, 600 MB before), each
   intermediate table is dropped once its last reader has run, and a process without numba
   started runs the numpy forms of the event loops (numba's start costs about 1 s and 180 MB,
   more than its loops save on one observation). Measured 2026-12-02 against main's commit,
   alternating, load 9-11 on 2 cores: peak 1165 MB -> 367 MB, CPU 6.82 s -> 3.30 s (2.07x),
   wall 27.4 s -> 13.0 s (2.11x), same products (docs/performance.md). What is left of the
   time: imports (astropy.io.fits, astropy.coordinates, scipy.special: about 1 s), the pass
   over the 300 MB event file (0.65 s), Z^2 search (0.25-0.5 s), writing the FITS products
   (0.5-0.75 s: astropy fills and converts the 94 MB event table).

   Second pass (issue 21, 2 s row): the Earth's position for barycentring comes from ERFA as
   astropy computes it (no ``astropy.coordinates``), table HDUs are built without importing
   ``astropy.table``, the event table is laid out big-endian once (astropy writes and checksums
   it in one piece, not 64 kB pieces twice) and its columns are detached after writing
   (astropy copied every column of a freed table), Z^2 and the numpy screening copy less. The
   files stay identical (tests against astropy's own paths; the comparison's digest). Measured
   2026-12-02 03:42 UTC against the tree before (6b174e6), 5 alternating rounds, load 6.6-9.0:
   CPU 3.74 s -> 2.87 s (1.30x), peak 367 MB -> 270 MB; wall times 2-4x the CPU at that load.
   Left: imports (numpy, astropy.io.fits and astropy.units 0.3-0.4 s, scipy.special 0.1-0.2 s
   for the response's ``ndtr``, astropy.time), the pass over the event file, Z^2 (a sine and a
   cosine per event at the best trial), fsync of the 94 MB event file.
3. ``daisy hxmt fit`` (``--fit-exposure``, default 3000 s, HE/ME/LE products): one instrument (HE)
   and a joint LE+ME+HE fit, with the Sherpa and the built-in backends: the command's wall time
   (a fresh process, imports included) and the fit alone in-process; ratio built-in / Sherpa.
   ``--only fit`` runs this part alone.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np


def _best(fn, repeat=2):
    best, out = np.inf, None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def events_benchmark(n: int, seed: int = 0, repeat: int = 5) -> list[tuple[str, float, float]]:
    """Rows (implementation, median time s, median of the per-round ratios to daisy)."""
    from stingray import EventList, Lightcurve
    from stingray.gti import create_gti_mask
    from stingray.pulse.pulsar import fold_events as st_fold

    from daisy_widgets.hxmt.event_kernels import screen_times
    from daisy_widgets.hxmt.mission import spec
    from daisy_widgets.hxmt.products import make_lightcurve, make_spectrum
    from daisy_widgets.hxmt.timing import fold_events

    rng = np.random.default_rng(seed)
    t0, span = 2.0e8, 10000.0
    t = np.sort(t0 + rng.random(n) * span)
    pi = rng.integers(0, 256, n).astype(np.int16)
    gti = np.array([[t0 + a, t0 + a + 1500.0] for a in range(0, 10000, 2500)])
    lo, hi = spec("HE").band
    f = 29.6
    ev_st = EventList(time=t, pi=pi, gti=gti)

    def ours():
        ts, ps = screen_times(t, pi, gti.ravel(), lo, hi)  # = t[m], pi[m] of the mask below, one pass
        lc = make_lightcurve(ts, ts, gti, 1.0, "HE", 17)
        sp = make_spectrum(ps, ts, gti, "HE", 17)
        prof = fold_events(ts, f, 32, t0)
        return len(ts), lc.counts.sum(), sp.counts.sum(), prof[1].sum()

    def theirs():
        m = create_gti_mask(t, gti) & (pi >= lo) & (pi <= hi)
        ts, ps = t[m], pi[m]
        lc = Lightcurve.make_lightcurve(ts, 1.0, tstart=gti[0, 0], tseg=gti[-1, 1] - gti[0, 0], gti=gti)
        sp = np.histogram(ps, bins=np.arange(257))[0]
        _, prof, _ = st_fold(ts, f, nbin=32, ref_time=t0)
        return len(ts), lc.counts.sum(), sp.sum(), prof.sum()

    def theirs_eventlist():
        ev = ev_st.filter_energy_range([lo, hi + 1], use_pi=True)  # stingray: upper edge exclusive
        ev = ev.apply_mask(create_gti_mask(ev.time, gti))
        lc = ev.to_lc(1.0, tstart=gti[0, 0], tseg=gti[-1, 1] - gti[0, 0])
        sp = np.histogram(ev.pi, bins=np.arange(257))[0]
        _, prof, _ = st_fold(ev.time, f, nbin=32, ref_time=t0)
        return len(ev.time), lc.counts.sum(), sp.sum(), prof.sum()

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _best(ours, repeat=1)  # compiled loops loaded (numba cache) before timing
        rounds = []  # the three alternate, round by round, so a busy moment hits all of them
        for _ in range(repeat):
            t_ours, r_ours = _best(ours, repeat=1)
            t_st, r_st = _best(theirs, repeat=1)
            t_st2, r_st2 = _best(theirs_eventlist, repeat=1)
            rounds.append((t_ours, t_st, t_st2))
    med = np.median(np.array(rounds), axis=0)
    ratio = np.median([(b / a, c / a) for a, b, c in rounds], axis=0)
    # the same events selected and counted, up to a few events on GTI edges (stingray's
    # create_gti_mask trims edges slightly differently from [START, STOP))
    for r in (r_st, r_st2):
        assert all(abs(float(a) - float(b)) <= 20 for a, b in zip(r_ours, r, strict=False)), (r_ours, r)
    return [
        ("screen+lc+spec+fold: stingray functions", med[1], ratio[0]),
        ("screen+lc+spec+fold: stingray EventList methods", med[2], ratio[1]),
        ("screen+lc+spec+fold: daisy", med[0], 1.0),
    ]


CHILD = r"""
import json, os, sys, time, warnings
warnings.simplefilter("ignore")
t0 = time.perf_counter()
from daisy_widgets.hxmt.pipeline import run_pipeline
st = run_pipeline(sys.argv[1], "HE", sys.argv[2], search=(29.59, 29.61))
wall = time.perf_counter() - t0
cpu = sum(os.times()[:2])
# VmHWM: peak resident memory of this process image (ru_maxrss would include the parent's at fork)
hwm = [int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM")][0] / 1024
print(json.dumps({"wall": wall, "cpu": cpu, "rss_mb": hwm, "best_f": st["products/z2"]["best_frequency"]}))
"""


def _products_digest(out: str) -> str:
    """SHA-256 over every product's FITS data and headers (DATE and the checksums over it left out)."""
    import hashlib

    from astropy.io import fits

    h = hashlib.sha256()
    for name in sorted(os.listdir(out)):
        with fits.open(os.path.join(out, name)) as hl:
            for hdu in hl:
                h.update(name.encode())
                skip = ("DATE", "CHECKSUM", "DATASUM")
                h.update(repr([(k, v) for k, v in hdu.header.items() if k not in skip]).encode())
                if hdu.data is not None:
                    h.update(hdu.data.tobytes())
    return h.hexdigest()


def _run_child(l1: str, out: str, tree: str | None = None) -> dict:
    env = dict(os.environ)
    if tree is not None:  # the code of a checkout (e.g. main's), same interpreter and packages
        env["PYTHONPATH"] = tree
    r = subprocess.run(
        [sys.executable, "-c", CHILD, os.path.abspath(l1), os.path.abspath(out)],
        capture_output=True,
        text=True,
        check=True,
        env=env,
        cwd=tree,  # python -c puts the working folder first on sys.path
    )
    res = json.loads(r.stdout.strip().splitlines()[-1])
    res["digest"] = _products_digest(out)
    return res


def _simulate(tmp: str, exposure: float) -> tuple[str, float, int]:
    from astropy.io import fits

    from daisy_widgets.hxmt.simulate import DEFAULT_START, SimulationConfig, simulate_observation

    t0 = time.perf_counter()
    l1 = simulate_observation(
        tmp,
        SimulationConfig(
            instruments=("HE",), exposure=exposure, start=DEFAULT_START, pulsar_frequency=29.6, seed=1
        ),
    )
    n = len(fits.getdata(next((l1 / "HE").glob("*Evt*")), "Events"))
    return str(l1), time.perf_counter() - t0, n


def pipeline_benchmark(exposure: float, l1: str | None = None) -> dict:
    from astropy.io import fits

    with tempfile.TemporaryDirectory() as tmp:
        if l1 is None:
            l1, t_sim, n_l1 = _simulate(tmp, exposure)
        else:
            t_sim, n_l1 = 0.0, -1
        res = _run_child(l1, os.path.join(tmp, "out"))
        n_scr = len(fits.getdata(os.path.join(tmp, "out", "HE_screen.fits"), "EVENTS"))
        res.update(simulate_s=t_sim, l1_events=n_l1, screened_events=n_scr)
        return res


def pipeline_comparison(exposure: float, other: str, rounds: int, l1: str | None = None) -> dict:
    """This tree's pipeline and ``other``'s (a checkout, e.g. main's), alternating in fresh
    processes on the same Level-1 files, after one untimed run of each (numba caches filled)."""
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    trees = {"this tree": here, "other": os.path.abspath(other)}
    with tempfile.TemporaryDirectory() as tmp:
        t_sim, n_l1 = 0.0, -1
        if l1 is None:
            l1, t_sim, n_l1 = _simulate(tmp, exposure)
        for tree in trees.values():
            _run_child(l1, os.path.join(tmp, "warm"), tree)
        rows: dict[str, list[dict]] = {name: [] for name in trees}
        loads = [os.getloadavg()[0]]
        for i in range(rounds):
            order = list(trees) if i % 2 == 0 else list(trees)[::-1]
            for name in order:
                rows[name].append(_run_child(l1, os.path.join(tmp, f"{name}-{i}"), trees[name]))
            loads.append(os.getloadavg()[0])
    return {"rows": rows, "loads": loads, "simulate_s": t_sim, "l1_events": n_l1, "other": trees["other"]}


def fit_benchmark(exposure: float, seed: int = 4) -> list[tuple[str, str, float, float, float]]:
    """Rows (case, backend, command wall s, in-process fit s, photon index) for the fit timings."""
    from pathlib import Path

    from daisy_widgets.hxmt.fit import fit_spectra
    from daisy_widgets.hxmt.fit_data import DataFiles
    from daisy_widgets.hxmt.pipeline import run_pipeline
    from daisy_widgets.hxmt.simulate import DEFAULT_START, SimulationConfig, simulate_observation

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        cfg = SimulationConfig(
            exposure=exposure, start=DEFAULT_START + 950.0, photon_index=1.73, nh=0.0, seed=seed
        )
        l1 = simulate_observation(tmp, cfg)
        out = {x: Path(tmp) / x for x in ("HE", "ME", "LE")}
        for x, d in out.items():
            run_pipeline(l1, x, d)
        bands = {"HE": (28.0, 250.0), "ME": (10.0, 30.0), "LE": (1.0, 10.0)}
        cases = {
            "HE alone": [DataFiles(out["HE"] / "HE_spec.pha", band=bands["HE"])],
            "joint LE+ME+HE": [
                DataFiles(out[x] / f"{x}_spec.pha", band=bands[x]) for x in ("LE", "ME", "HE")
            ],
        }
        for case, ds in cases.items():
            for backend in ("sherpa", "builtin"):
                t_fit, res = _best(
                    lambda ds=ds, backend=backend: fit_spectra(ds, "powerlaw", "wstat", backend)
                )
                argv = [
                    sys.executable,
                    "-m",
                    "daisy_widgets.cli",
                    "hxmt",
                    "fit",
                    "--json",
                    "--backend",
                    backend,
                ]
                for d in ds:
                    argv += ["--data", f"{d.spectrum},,,{d.band[0]},{d.band[1]}"]
                t0 = time.perf_counter()
                subprocess.run(argv, capture_output=True, check=True)
                rows.append((case, backend, time.perf_counter() - t0, t_fit, res.photon_index))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=float, default=1e7)
    ap.add_argument("--exposure", type=float, default=10000.0)
    ap.add_argument("--fit-exposure", type=float, default=3000.0)
    ap.add_argument("--repeat", type=int, default=5, help="rounds of the event-chain comparison (default 5)")
    ap.add_argument("--only", choices=("all", "events", "pipeline", "fit"), default="all")
    ap.add_argument(
        "--compare-with",
        metavar="TREE",
        default=None,
        help="pipeline: also run the pipeline of this checkout (e.g. /work/main), alternating with this tree's",
    )
    ap.add_argument("--rounds", type=int, default=3, help="pipeline comparison: rounds of each (default 3)")
    ap.add_argument(
        "--l1",
        default=None,
        metavar="DIR",
        help="pipeline: an HE Level-1 exposure to use instead of simulating",
    )
    args = ap.parse_args()
    if args.only == "fit":
        print_fit(args.fit_exposure)
        return
    if args.only in ("all", "events"):
        print_events(int(args.events), args.repeat)
    if args.only in ("all", "pipeline"):
        if args.compare_with:
            print_pipeline_comparison(args.exposure, args.compare_with, args.rounds, args.l1)
        else:
            print_pipeline(args.exposure, args.l1)
    if args.only == "all":
        print_fit(args.fit_exposure)


def print_events(n: int, repeat: int = 5) -> None:
    print(f"# {n:.2e} events: screening (GTI + PI) + 1 s light curve + PI spectrum + 32-bin folding")
    print(
        f"# median of {repeat} rounds (daisy and stingray alternating); ratio: median of the rounds' ratios"
    )
    print(f"{'implementation':<52} {'time (s)':>9} {'ratio vs daisy':>15}")
    for name, t, ratio in events_benchmark(n, repeat=repeat):
        print(f"{name:<52} {t:9.3f} {ratio:15.2f}")


def print_pipeline(exposure: float, l1: str | None = None) -> None:
    print(
        f"\n# full HE pipeline (load, gtigen, pical+screen, lcgen, specgen, rspgen, bkgmap, barycorr, Z^2, fold, write)"
        f" on a simulated {exposure:.0f} s observation, in a fresh process (imports included)"
    )
    r = pipeline_benchmark(exposure, l1)
    print(
        f"Level-1 events {r['l1_events']:,}, screened {r['screened_events']:,} (simulation took {r['simulate_s']:.1f} s)"
    )
    print(
        f"wall time {r['wall']:.2f} s, CPU {r['cpu']:.2f} s (target 2 s), peak memory {r['rss_mb']:.0f} MB "
        f"(target 500 MB); Z^2 best frequency {r['best_f']:.6f} Hz (simulated 29.6)"
    )


def print_pipeline_comparison(exposure: float, other: str, rounds: int, l1: str | None = None) -> None:
    print(
        f"\n# full HE pipeline, this tree vs {other}, alternating in fresh processes ({rounds} rounds after "
        f"one untimed run of each), {'the given' if l1 else f'a simulated {exposure:.0f} s'} observation"
    )
    r = pipeline_comparison(exposure, other, rounds, l1)
    print(f"load average (1 min) during the rounds: {', '.join(f'{x:.1f}' for x in r['loads'])}")
    print(f"{'code':<12} {'wall (s)':>9} {'CPU (s)':>8} {'peak (MB)':>10}   (median; each round)")
    med = {}
    for name, rows in r["rows"].items():
        med[name] = {k: float(np.median([x[k] for x in rows])) for k in ("wall", "cpu", "rss_mb")}
        each = "  ".join(f"{x['wall']:.2f}/{x['cpu']:.2f}/{x['rss_mb']:.0f}" for x in rows)
        m = med[name]
        print(f"{name:<12} {m['wall']:9.2f} {m['cpu']:8.2f} {m['rss_mb']:10.0f}   {each}")
    a, b = med["this tree"], med["other"]
    print(
        f"other / this tree: wall {b['wall'] / a['wall']:.2f}x, CPU {b['cpu'] / a['cpu']:.2f}x, "
        f"peak memory {b['rss_mb'] / a['rss_mb']:.2f}x"
    )
    digests = {x["digest"] for rows in r["rows"].values() for x in rows}
    print(f"products (FITS data and headers but DATE) identical in every run: {len(digests) == 1}")


def print_fit(exposure: float) -> None:
    print(
        f"\n# daisy hxmt fit, power law, wstat, on the products of a simulated {exposure:.0f} s exposure (index 1.73)"
    )
    print(f"{'case':<16} {'backend':<8} {'command (s)':>11} {'fit (s)':>8} {'index':>8}")
    rows = fit_benchmark(exposure)
    for case, backend, t_cmd, t_fit, g in rows:
        print(f"{case:<16} {backend:<8} {t_cmd:11.2f} {t_fit:8.2f} {g:8.4f}")
    for case in dict.fromkeys(r[0] for r in rows):
        sh = next(r for r in rows if r[0] == case and r[1] == "sherpa")
        bi = next(r for r in rows if r[0] == case and r[1] == "builtin")
        print(
            f"{case}: built-in / Sherpa fit time {bi[3] / sh[3]:.2f}, index difference {bi[4] - sh[4]:+.4f}"
        )


if __name__ == "__main__":
    main()
