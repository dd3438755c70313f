"""``daisy tomo recon|center|inspect``: tomographic reconstruction from the command line.

Examples::

    daisy tomo recon scan.h5 -o recon.h5 --center auto --algorithm fbp --filter shepp-logan
    daisy tomo recon scan.h5 -o recon.h5 --slices 100:132 --stripe sorting --scheduler tcp://host:8786
    daisy tomo recon scan.nxs --data /entry/imaging/data --image-key /entry/instrument/imaging/image_key \
        --angles /entry/instrument/imaging/rotation --angles-unit deg -o recon.nxs --format nexus
    daisy tomo recon projections/ --angles angles.txt --flats 'flat*.tif' --darks 'dark*.tif' -o recon.h5
    daisy tomo center scan.h5 --method all
    daisy tomo inspect scan.nxs
"""

from __future__ import annotations

import argparse


def _center_arg(text: str) -> float | str | None:
    if text in ("auto", "none", "middle"):
        return "auto" if text == "auto" else None
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected 'auto', 'middle' or a number of pixels; got {text!r}"
        ) from None


def _add_layout_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group(
        "layout",
        "where the parts of the scan are, for files that are not Data Exchange or NXtomo "
        "(run 'daisy tomo inspect FILE' for candidates and a ready command)",
    )
    g.add_argument("--data", metavar="PATH", help="dataset of the frames (frames, rows, columns)")
    g.add_argument(
        "--image-key",
        metavar="PATH",
        help="image key per frame: 0 projection, 1 flat, 2 dark, 3 invalid (dropped)",
    )
    g.add_argument(
        "--angles",
        metavar="PATH_OR_TEXTFILE",
        help="rotation angles: a dataset path, a text file (one per line) or START:STOP:N (both ends included; "
        "write --angles=-90:90:181 for a negative start); one per frame (selected by the key) or per projection",
    )
    g.add_argument(
        "--angles-unit", choices=("deg", "rad"), default=None, help="default: the dataset's units, else deg"
    )
    for kind in ("flats", "darks"):
        g.add_argument(
            f"--{kind}",
            nargs="+",
            metavar="PATH_OR_FILE",
            help=f"{kind}: dataset path(s) in the file, or HDF5/TIFF file(s)/glob(s) (default: from the image key)",
        )
        g.add_argument(f"--{kind}-path", metavar="PATH", help=f"dataset inside separate {kind} HDF5 files")


def layout_from_args(args: argparse.Namespace) -> object | None:
    """The :class:`~daisy_widgets.tomography.io.Layout` of the layout options, or None if none was given."""
    from ..tomography.io import Layout

    names = ("data", "image_key", "angles", "angles_unit", "flats", "darks", "flats_path", "darks_path")
    given = {k: getattr(args, k, None) for k in names}
    if not any(given.values()):
        return None
    return Layout(kind="paths", **given)


def register(subparsers: argparse._SubParsersAction) -> None:
    from ..tomography.filters import FILTERS

    tomo = subparsers.add_parser("tomo", help="tomography: reconstruct a scan, find the rotation centre")
    sub = tomo.add_subparsers(dest="tomo_command", metavar="TOMO_COMMAND")
    tomo.set_defaults(func=lambda args: (tomo.print_help(), 2)[1])

    r = sub.add_parser(
        "recon",
        help="reconstruct slices from a Data Exchange or NXtomo file",
        description="Normalise, (zingers), minus-log or Paganin phase retrieval, (stripe removal), "
        "(motion correction), centre, reconstruct and save /exchange/data "
        "(float32, slices x N x N, attenuation per pixel).",
    )
    r.add_argument(
        "input",
        help="scan: Data Exchange or NXtomo file; any HDF5/NeXus with --data...; a TIFF folder, glob or multi-page file",
    )
    r.add_argument(
        "-o", "--output", required=True, help="output file (written atomically), or folder with --format tiff"
    )
    r.add_argument(
        "--format",
        default="hdf5",
        choices=("hdf5", "nexus", "tiff"),
        help="hdf5: Data Exchange /exchange/data (default); nexus: NeXus NXtomoproc; tiff: one float32 TIFF per slice",
    )
    r.add_argument(
        "--center",
        type=_center_arg,
        default="auto",
        help="rotation axis in detector pixels from the first pixel's centre, 'auto' (default) or 'middle'",
    )
    r.add_argument(
        "--center-method",
        default="auto",
        choices=("auto", "vo", "com", "entropy"),
        help="method for --center auto (default: vo)",
    )
    r.add_argument("--algorithm", default="fbp", choices=("fbp", "gridrec", "sirt", "cgls"))
    r.add_argument("--filter", default="ramp", choices=FILTERS)
    r.add_argument("--backend", default="numpy", choices=("numpy", "cupy"))
    r.add_argument("--iterations", type=int, default=50, help="SIRT/CGLS iterations (default 50)")
    r.add_argument(
        "--slices", default=None, metavar="A:B", help="detector rows to reconstruct (default: all)"
    )
    r.add_argument(
        "--scheduler",
        default=None,
        metavar="ADDRESS",
        help="run on a Dask scheduler (tcp://host:8786); default: in this process",
    )
    r.add_argument(
        "--engine",
        default=None,
        choices=("inprocess", "dask"),
        help="engine (default: dask when --scheduler is given, else inprocess)",
    )
    r.add_argument(
        "--stripe", default="none", choices=("none", "sorting", "fw"), help="ring-artefact removal"
    )
    r.add_argument("--zingers", action="store_true", help="remove zingers/outliers")
    r.add_argument("--phase", action="store_true", help="Paganin phase retrieval instead of minus-log")
    r.add_argument(
        "--energy", type=float, default=None, help="keV (phase retrieval; default: from the file, else 25)"
    )
    r.add_argument(
        "--distance",
        type=float,
        default=None,
        help="sample-detector distance in m (phase retrieval; default: from the file, else 0.1)",
    )
    r.add_argument("--pixel-size", type=float, default=None, help="µm (default: from the file, else 1)")
    r.add_argument("--delta-beta", type=float, default=1000.0, help="delta/beta (phase retrieval)")
    r.add_argument(
        "--align", action="store_true", help="correct per-projection motion (re-projection matching)"
    )
    r.add_argument("--circle", action="store_true", help="zero the pixels outside the reconstruction circle")
    r.add_argument("--block", type=int, default=8, help="slices per chunk (default 8)")
    r.add_argument("--tiff", default=None, metavar="DIR", help="also export the slices as a TIFF stack")
    r.add_argument("--save-workflow", default=None, metavar="JSON", help="save the workflow that was run")
    r.add_argument("--quiet", action="store_true", help="no progress bar")
    _add_layout_options(r)
    r.set_defaults(func=cmd_recon)

    c = sub.add_parser("center", help="find the rotation centre of a scan")
    c.add_argument("input", help="scan file, or TIFF folder/glob/multi-page file")
    c.add_argument("--method", default="all", choices=("all", "auto", "vo", "com", "entropy"))
    c.add_argument("--slice", type=int, default=None, help="detector row (default: the middle)")
    _add_layout_options(c)
    c.set_defaults(func=cmd_center)

    i = sub.add_parser(
        "inspect",
        help="what is in a scan file, and the 'daisy tomo recon' command that reads it",
        description="For Data Exchange/NXtomo, the summary; for any other HDF5/NeXus file, the candidate frame "
        "datasets (shape, dtype, chunks, external links), angle-like and key-like arrays; for TIFF input, the "
        "series of files; and the command line that reads it.",
    )
    i.add_argument("input", help="scan file, or TIFF folder/glob/multi-page file")
    i.add_argument(
        "--json", action="store_true", help="print the inspection as JSON (layout, candidates, command)"
    )
    i.set_defaults(func=cmd_inspect)

    from .tomo_live import register as register_live

    register_live(sub)  # acquire, watch


def cmd_recon(args: argparse.Namespace) -> int:
    from ..core.progress import TextProgressBar
    from ..tomography.pipeline import ReconOptions, run_reconstruction

    pixel, energy, distance = args.pixel_size, args.energy, args.distance
    if args.phase and None in (pixel, energy, distance):
        from ..tomography.io import read_scan

        meta = read_scan(args.input, validate=False, layout=layout_from_args(args)).metadata
        ps = meta.get("pixel_size")
        if pixel is None:  # files store metres (Data Exchange) or µm
            pixel = (
                float(ps) * 1e6 if isinstance(ps, (int, float)) and ps < 1e-2 else (float(ps) if ps else 1.0)
            )
        energy = energy if energy is not None else float(meta.get("energy", 25.0))
        distance = distance if distance is not None else float(meta.get("distance", 0.1))
    opts = ReconOptions(
        center=args.center,
        center_method=args.center_method,
        algorithm=args.algorithm,
        filter=args.filter,
        backend=args.backend,
        iterations=args.iterations,
        stripe=args.stripe,
        zingers=args.zingers,
        phase=args.phase,
        energy=energy or 25.0,
        distance=distance if distance is not None else 0.1,
        pixel_size=pixel or 1.0,
        delta_beta=args.delta_beta,
        align=args.align,
        circle=args.circle,
        block=args.block,
    )
    bar = None if args.quiet else TextProgressBar()
    try:
        info = run_reconstruction(
            args.input,
            args.output,
            opts,
            slices=args.slices,
            scheduler=args.scheduler,
            engine=args.engine,
            progress=bar,
            tiff=args.tiff,
            save_workflow=args.save_workflow,
            layout=layout_from_args(args),
            output_format=args.format,
        )
    finally:
        if bar is not None:
            bar.close()
    print(
        f"wrote {info['output']}: {info['shape'][0]} slice(s) of {info['shape'][1]}x{info['shape'][2]}, "
        f"centre {info['center']:.2f} px, {info['seconds']:.1f} s"
    )
    return 0


def cmd_center(args: argparse.Namespace) -> int:
    import numpy as np

    from ..tomography.center import find_center
    from ..tomography.io import read_scan
    from ..tomography.preprocess import minus_log, normalize, remove_zingers

    scan = read_scan(args.input, layout=layout_from_args(args))
    n_rows = scan.shape[1]
    k = n_rows // 2 if args.slice is None else args.slice
    if not 0 <= k < n_rows:
        from ..core.errors import ValidationError

        raise ValidationError(
            f"daisy tomo center {args.input}", {"--slice": [f"expected 0..{n_rows - 1}; got {k}"]}
        )
    b = scan.block(slice(k, k + 1))
    sino = minus_log(
        remove_zingers(normalize(b["projections"], b["flats"], b.get("darks"), b.get("flats_after")))
    )[:, 0, :]
    methods = ("vo", "com", "entropy") if args.method == "all" else (args.method,)
    found = {m: find_center(sino, np.deg2rad(scan.theta), m) for m in methods}
    for m, c in found.items():
        print(f"{m:8s} {c:10.2f} px")
    if len(found) > 1:
        v = np.array(list(found.values()))
        print(f"spread   {np.ptp(v):10.2f} px")
    return 0


def cmd_inspect(args: argparse.Namespace) -> int:
    import json

    from ..tomography.io import inspect_scan

    insp = inspect_scan(args.input)
    print(json.dumps(insp.to_dict(), indent=1, default=str) if args.json else insp.text())
    return 0
