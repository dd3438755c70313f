"""``daisy hxmt simulate|pipeline|fit``: Insight-HXMT Level-1 simulator, HE/ME/LE pipelines, spectral fits."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _pi_range(text: str) -> tuple[int, int]:
    try:
        a, b = text.split(":")
        return int(a), int(b)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected A:B with integer PI channels, e.g. 26:120; got {text!r}"
        ) from None


def _freq_range(text: str) -> tuple[float, float]:
    try:
        a, b = text.split(":")
        return float(a), float(b)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected FMIN:FMAX in Hz, e.g. 29.5:29.7; got {text!r}") from None


def _detectors(text: str) -> tuple[int, ...]:
    from ..core.params import parse_int_list

    try:
        return parse_int_list(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "hxmt",
        help="Insight-HXMT: simulate Level-1 data, run the HE/ME/LE pipelines, fit spectra",
        description="Insight-HXMT Level-1 simulator and HXMTDAS-like pipelines.",
    )
    sub = p.add_subparsers(dest="hxmt_command", metavar="HXMT_COMMAND")
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])

    s = sub.add_parser(
        "simulate",
        help="write a simulated Level-1 exposure (mission names and folders)",
        description="Simulate an Insight-HXMT exposure: orbit with SAA and Earth occultation, a power-law "
        "source (optionally a Crab-like pulsar), particle background, the instruments' "
        "response from the packaged CALDB. Writes <OUT>/<ObsID>/<ExpID>-<date>-01-01/.",
    )
    s.add_argument(
        "--instrument",
        action="append",
        choices=("HE", "ME", "LE"),
        type=str.upper,
        help="telescope(s) to simulate; repeat for several (default: all three)",
    )
    s.add_argument("--out", required=True, type=Path, help="root folder of the Level-1 data")
    s.add_argument("--exposure", type=float, default=2000.0, help="length of the exposure, s (default 2000)")
    s.add_argument(
        "--start",
        default=None,
        help="start: mission seconds or an ISO date (default 2018-03-01T00:14 TT + 800 s)",
    )
    s.add_argument("--photon-index", type=float, default=2.1, help="power-law photon index (default 2.1)")
    s.add_argument(
        "--nh", type=float, default=0.35, help="absorbing column, 1e22 H atoms/cm2 (default 0.35: the Crab)"
    )
    s.add_argument(
        "--norm",
        type=float,
        default=9.7,
        help="power-law norm at 1 keV, photons/cm2/s/keV (default 9.7, Crab)",
    )
    s.add_argument(
        "--pulsar-frequency",
        type=float,
        default=None,
        help="constant pulsar frequency, Hz (default: the rotation of --ephemeris)",
    )
    s.add_argument(
        "--ephemeris",
        default="crab",
        metavar="PAR|crab|none",
        help="pulsar rotation: a TEMPO/TEMPO2 .par file, 'crab' (default: the Crab at the start's epoch, "
        "Jodrell Bank timing solution) or 'none' (no pulsar)",
    )
    s.add_argument(
        "--pulsed-fraction",
        type=float,
        default=None,
        help="fraction of source photons pulsed (default: the Crab's, 10 %% at 2 keV to 25 %% above 150 keV)",
    )
    s.add_argument("--ra", type=float, default=None, help="source RA, deg (default: Crab)")
    s.add_argument("--dec", type=float, default=None, help="source Dec, deg (default: Crab)")
    s.add_argument("--target", default="Crab", help="OBJECT keyword")
    s.add_argument("--obs-id", default="P0101299001", help="observation ID, P + 10 digits")
    s.add_argument("--seed", type=int, default=0, help="random seed")
    s.set_defaults(func=run_simulate)

    q = sub.add_parser(
        "pipeline",
        help="Level-1 exposure(s) to screened events, spectra, responses, light curves",
        description="Run the HXMTDAS-like chain (pical, grade/recon, gtigen, screen, lcgen, specgen, "
        "rspgen, bkgmap, and with --frequency/--search barycentring, Z^2 and folding). "
        "Products: X_screen.fits, X_spec.pha, X.rsp, X_bkg.pha, X_lc.fits, X_bkg_lc.fits, "
        "X_profile.fits.",
    )
    q.add_argument(
        "l1_dir",
        nargs="+",
        type=Path,
        metavar="L1_DIR",
        help="Level-1 exposure, observation or data root folder(s): every exposure with the instrument's "
        "events found under them runs (several in parallel on the Dask engine)",
    )
    q.add_argument(
        "--instrument", required=True, type=str.upper, choices=("HE", "ME", "LE"), help="telescope"
    )
    q.add_argument(
        "--out", required=True, type=Path, help="products folder (one sub-folder per exposure when several)"
    )
    q.add_argument(
        "--gti-expr",
        default=None,
        help="GTI selection on EHK columns (default: the instrument's HXMTDAS one)",
    )
    q.add_argument(
        "--pi-range",
        type=_pi_range,
        default=None,
        metavar="A:B",
        help="PI channels, inclusive (default: the band)",
    )
    q.add_argument(
        "--detectors",
        type=_detectors,
        default=None,
        metavar="LIST",
        help="detector IDs, e.g. 0-15,17 (default: all open)",
    )
    q.add_argument("--binsize", type=float, default=1.0, help="light-curve bin, s (default 1)")
    q.add_argument(
        "--frequency", type=float, default=None, help="fold the barycentred events at this frequency, Hz"
    )
    q.add_argument(
        "--search",
        type=_freq_range,
        default=None,
        metavar="FMIN:FMAX",
        help="Z^2_2 search over this range, Hz; folds at the best frequency",
    )
    q.add_argument(
        "--ephemeris",
        type=Path,
        default=None,
        metavar="PAR",
        help="fold the barycentred events with this TEMPO/TEMPO2 .par file (F0, F1, F2..., PEPOCH)",
    )
    q.add_argument("--nbin", type=int, default=32, help="phase bins of the pulse profile (default 32)")
    q.add_argument(
        "--group-min-counts",
        type=int,
        default=None,
        metavar="N",
        help="write a GROUPING column: at least N counts per group (default: no grouping)",
    )
    q.add_argument(
        "--engine",
        choices=("inprocess", "dask"),
        default=None,
        help="engine (default: inprocess for one exposure, dask for several)",
    )
    q.add_argument("--scheduler", default=None, help="Dask scheduler address (default: a local cluster)")
    q.add_argument("--no-progress", action="store_true", help="no progress bar")
    q.set_defaults(func=run_pipeline_cmd)

    from .hxmt_fit import register_fit

    register_fit(sub)


def run_simulate(args: argparse.Namespace) -> int:
    from ..core.errors import ValidationError
    from ..core.progress import ProgressEvent, TextProgressBar
    from ..hxmt.mission import mjd_to_mission_time
    from ..hxmt.simulate import CRAB_DEC, CRAB_RA, DEFAULT_START, SimulationConfig, simulate_observation

    start = DEFAULT_START + 800.0
    if args.start is not None:
        try:
            start = float(args.start)
        except ValueError:
            from astropy.time import Time

            try:
                start = float(mjd_to_mission_time(Time(args.start, scale="utc").tt.mjd))
            except ValueError as exc:
                raise ValidationError(
                    "daisy hxmt simulate", {"start": [f"expected mission seconds or an ISO date; {exc}"]}
                ) from None
    problems = {}
    if str(args.ephemeris).lower() not in ("crab", "none"):
        from ..hxmt.ephemeris import EphemerisError, read_par

        try:
            read_par(args.ephemeris)
        except EphemerisError as exc:
            problems["ephemeris"] = [str(exc)]
    if args.exposure <= 0:
        problems["exposure"] = [f"must be > 0 s; got {args.exposure}"]
    if args.norm < 0:
        problems["norm"] = [f"must be >= 0; got {args.norm}"]
    if args.nh < 0:
        problems["nh"] = [f"must be >= 0 (1e22 cm-2); got {args.nh}"]
    if args.pulsed_fraction is not None and not 0 <= args.pulsed_fraction <= 1:
        problems["pulsed_fraction"] = [f"must be within 0..1; got {args.pulsed_fraction}"]
    if problems:
        raise ValidationError("daisy hxmt simulate", problems)
    cfg = SimulationConfig(
        instruments=tuple(args.instrument or ("HE", "ME", "LE")),
        exposure=args.exposure,
        start=start,
        ra=CRAB_RA if args.ra is None else args.ra,
        dec=CRAB_DEC if args.dec is None else args.dec,
        target=args.target,
        photon_index=args.photon_index,
        norm=args.norm,
        nh=args.nh,
        pulsar_frequency=args.pulsar_frequency,
        pulsar_ephemeris=None if str(args.ephemeris).lower() == "none" else args.ephemeris,
        pulsed_fraction=args.pulsed_fraction,
        obs_id=args.obs_id,
        seed=args.seed,
    )
    bar = TextProgressBar()
    import time

    t0 = time.monotonic()

    def prog(done, total, msg):
        el = time.monotonic() - t0
        bar(ProgressEvent("simulate", msg, int(done), int(total), 0, 1, done / total, el, None, msg))

    try:
        root = simulate_observation(args.out, cfg, progress=prog)
    finally:
        bar.close()
    print(root)
    return 0


def run_pipeline_cmd(args: argparse.Namespace) -> int:
    from ..core.errors import DaisyError, ValidationError
    from ..core.progress import CancelToken, TextProgressBar
    from ..hxmt.pipeline import run_many, run_pipeline
    from ..hxmt.screen import check_pi_range

    if args.pi_range is not None:
        msg = check_pi_range(args.instrument, *args.pi_range)
        if msg:
            raise ValidationError("daisy hxmt pipeline", {"pi-range": [msg]})
    if args.binsize <= 0:
        raise ValidationError("daisy hxmt pipeline", {"binsize": [f"must be > 0 s; got {args.binsize}"]})
    if args.group_min_counts is not None and args.group_min_counts < 1:
        raise ValidationError(
            "daisy hxmt pipeline", {"group-min-counts": [f"must be >= 1; got {args.group_min_counts}"]}
        )
    if args.ephemeris is not None:
        from ..hxmt.ephemeris import EphemerisError, read_par

        try:
            read_par(args.ephemeris)
        except EphemerisError as exc:
            raise ValidationError("daisy hxmt pipeline", {"ephemeris": [str(exc)]}) from None
    kw = dict(
        gti_expr=args.gti_expr,
        pi_range=args.pi_range,
        detectors=args.detectors,
        binsize=args.binsize,
        frequency=args.frequency,
        search=args.search,
        nbin=args.nbin,
        ephemeris=None if args.ephemeris is None else str(args.ephemeris.resolve()),
        group_min_counts=args.group_min_counts,
    )
    if args.gti_expr is not None:
        from ..hxmt.gti import GTIExpressionError, parse_expression

        try:
            parse_expression(args.gti_expr)
        except GTIExpressionError as exc:
            raise DaisyError(str(exc)) from None
    exposures = _exposures_of(args.l1_dir, args.instrument)
    if len(exposures) == 1:
        bar = None if args.no_progress else TextProgressBar()
        try:
            store = run_pipeline(
                exposures[0],
                args.instrument,
                args.out,
                engine=args.engine or "inprocess",
                progress=bar,
                cancel=CancelToken(),
                **kw,
            )
        finally:
            if bar is not None:
                bar.close()
        files = list(store["products/files"])
        if "products/z2" in store:
            z = store["products/z2"]
            print(
                f"Z^2_2 search: best frequency {z['best_frequency']:.7f} Hz, Z^2 = {z['best_z2']:.1f}",
                file=sys.stderr,
            )
        print("\n".join(files))
        return 0
    outs = [args.out / d.name for d in exposures]
    results = run_many(
        exposures, args.instrument, outs, engine=args.engine or "dask", scheduler=args.scheduler, **kw
    )
    for files in results:
        print("\n".join(files))
    return 0


def _exposures_of(paths: list[Path], instrument: str) -> list[Path]:
    """The exposure folders at or under each of ``paths`` (an exposure, an observation or a data root),
    said on stderr when they are not exactly the folders given."""
    from ..hxmt.exposures import find_exposures

    found: list[Path] = []
    for path in paths:
        found += [e for e in find_exposures(path, instrument) if e not in found]
    if [p.resolve() for p in found] != [Path(p).resolve() for p in paths]:
        print(f"{len(found)} {instrument} exposure(s) found:", file=sys.stderr)
        for e in found:
            print(f"  {e}", file=sys.stderr)
    return found
