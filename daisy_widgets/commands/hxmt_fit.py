"""``daisy hxmt fit``: fit a power law (or an absorbed / cut-off one) to OGIP spectra, alone or jointly.

One data set::

    daisy hxmt fit HE_spec.pha [--background HE_bkg.pha] [--response HE.rsp] [--arf X.arf]
        [--band 28 250] [--model powerlaw|tbabs*powerlaw|cutoffpl] [--stat cstat|wstat|pgstat|chi2]
        [--backend auto|sherpa|builtin] [--group-min-counts N] [--json]

Several instruments jointly (common shape, free cross-normalisations), one ``--data`` each::

    daisy hxmt fit --data LE_spec.pha,,,1,10 --data ME_spec.pha,,,10,30 --data HE_spec.pha,HE_bkg.pha,HE.rsp,28,250

``--data SPEC,BKG,RSP,LO,HI[,ARF]``: empty fields come from the spectrum's keywords (files) or the
instrument's nominal band (keV: HE 28-250, ME 10-30, LE 1-10; else the response's channels).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from pathlib import Path

#: nominal bands (keV) of the instruments, used when no band is given
NOMINAL_BANDS = {"HE": (28.0, 250.0), "ME": (10.0, 30.0), "LE": (1.0, 10.0)}


def register_fit(sub: argparse._SubParsersAction) -> None:
    f = sub.add_parser(
        "fit",
        help="fit OGIP spectra (yours or the pipeline's): power law, absorbed or cut-off; joint fits",
        description="Fit a spectrum (PHA + background + RMF/RSP [+ ARF]) or several jointly with a "
        "common spectral shape and free cross-normalisations. Explicit files override the "
        "spectrum's BACKFILE/RESPFILE/ANCRFILE keywords (needed when they are NONE). Sherpa does the "
        "fit when it is installed, the built-in fitter otherwise (--backend chooses).",
        epilog="Joint fit: repeat --data SPEC,BKG,RSP,LO,HI[,ARF] (empty fields: from the keywords\n"
        "or the instrument's nominal band). The first data set's norm is 'norm'; each other one\n"
        "has a cross-normalisation C.\n\n"
        "Examples:\n"
        "  daisy hxmt fit HE_spec.pha --background HE_bkg.pha --response HE.rsp --band 28 250 --json\n"
        "  daisy hxmt fit --data LE_spec.pha,,,1,10 --data ME_spec.pha,,,10,30 --data HE_spec.pha,,,28,250",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    f.add_argument("spectrum", nargs="?", type=Path, metavar="SPEC", help="PHA spectrum (type I)")
    f.add_argument(
        "--background", type=Path, default=None, metavar="BKG", help="background PHA (COUNTS or RATE)"
    )
    f.add_argument("--response", type=Path, default=None, metavar="RSP", help="RMF or RSP (area folded in)")
    f.add_argument("--arf", type=Path, default=None, metavar="ARF", help="ancillary response (with an RMF)")
    f.add_argument(
        "--band",
        nargs=2,
        type=float,
        default=None,
        metavar=("LO", "HI"),
        help="energy band, keV (default: the instrument's nominal band, e.g. HE 28 250)",
    )
    f.add_argument(
        "--data",
        action="append",
        default=None,
        metavar="SPEC,BKG,RSP,LO,HI[,ARF]",
        help="one data set of a joint fit; repeat for each instrument",
    )
    f.add_argument(
        "--model",
        default="powerlaw",
        choices=("powerlaw", "tbabs*powerlaw", "cutoffpl"),
        help="spectral model (default powerlaw)",
    )
    f.add_argument(
        "--stat",
        default="wstat",
        choices=("cstat", "wstat", "pgstat", "chi2"),
        help="fit statistic (default wstat; cstat with a background is wstat, as in XSPEC)",
    )
    f.add_argument(
        "--backend", default="auto", choices=("auto", "sherpa", "builtin"), help="fitter (default auto)"
    )
    f.add_argument(
        "--group-min-counts",
        type=int,
        default=None,
        metavar="N",
        help="group noticed channels to at least N counts (chi2 default 20; else the file's GROUPING or none)",
    )
    f.add_argument("--json", action="store_true", help="print one JSON object")
    f.set_defaults(func=run_fit)


def _default_band(spec_path: Path) -> tuple[float, float] | None:
    from astropy.io import fits

    try:
        inst = str(fits.getval(spec_path, "INSTRUME", ext=1)).strip().upper()
    except (OSError, KeyError, IndexError):
        return None
    return NOMINAL_BANDS.get(inst)


def parse_data(text: str):
    """A ``SPEC,BKG,RSP,LO,HI[,ARF]`` value as :class:`~daisy_widgets.hxmt.fit_data.DataFiles`."""
    from ..core.errors import ValidationError
    from ..hxmt.fit_data import DataFiles

    parts = [p.strip() for p in text.split(",")]
    if not parts[0] or len(parts) > 6:
        raise ValidationError(
            "daisy hxmt fit",
            {"data": [f"expected SPEC,BKG,RSP,LO,HI[,ARF] (empty fields allowed); got {text!r}"]},
        )
    parts += [""] * (6 - len(parts))
    spec, bkg, rsp, lo, hi, arf = parts
    band = None
    if lo or hi:
        try:
            band = (float(lo), float(hi))
        except ValueError:
            raise ValidationError(
                "daisy hxmt fit",
                {"data": [f"LO and HI must both be energies in keV; got {lo!r}, {hi!r} in {text!r}"]},
            ) from None
    return DataFiles(
        Path(spec),
        Path(bkg) if bkg else None,
        Path(rsp) if rsp else None,
        Path(arf) if arf else None,
        band,
        Path(spec).name,
    )


def run_fit(args: argparse.Namespace) -> int:
    from ..core.errors import DaisyError, ValidationError
    from ..hxmt.fit import fit_spectra
    from ..hxmt.fit_data import DataFiles

    if args.data and args.spectrum is not None:
        raise ValidationError(
            "daisy hxmt fit", {"data": ["give either SPEC (with --background...) or --data, not both"]}
        )
    if args.data:
        if args.background or args.response or args.arf or args.band:
            raise ValidationError(
                "daisy hxmt fit", {"data": ["with --data, give the files and band inside each --data value"]}
            )
        datasets = [parse_data(t) for t in args.data]
    elif args.spectrum is not None:
        band = tuple(args.band) if args.band else None
        datasets = [
            DataFiles(args.spectrum, args.background, args.response, args.arf, band, args.spectrum.name)
        ]
    else:
        raise ValidationError(
            "daisy hxmt fit", {"spectrum": ["give a spectrum (SPEC) or one --data per data set"]}
        )
    if args.group_min_counts is not None and args.group_min_counts < 1:
        raise ValidationError(
            "daisy hxmt fit", {"group-min-counts": [f"must be >= 1; got {args.group_min_counts}"]}
        )
    for d in datasets:
        if d.band is None and d.spectrum.is_file():
            d.band = _default_band(d.spectrum)
    try:
        # Sherpa reports what it reads on its own streams: keep stdout for the result
        with contextlib.redirect_stdout(sys.stderr):
            res = fit_spectra(datasets, args.model, args.stat, args.backend, args.group_min_counts)
    except DaisyError:
        raise
    except ValueError as exc:
        raise DaisyError(f"daisy hxmt fit: {exc}") from None
    if args.json:
        print(json.dumps(res.to_json()))
        return 0
    print(f"model {res.model}, statistic {res.stat} = {res.statistic:.2f} for {res.dof} dof ({res.backend})")
    for name, (v, e) in res.parameters.items():
        print(f"  {name:14s} {v:.5g} +- {e:.2g}")
    for lab, v, e in res.cross_normalisations:
        print(f"  C[{lab}] {v:.4f} +- {e:.2g}")
    return 0
