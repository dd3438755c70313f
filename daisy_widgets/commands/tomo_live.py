"""``daisy tomo acquire|watch``: a scan that grows (a phantom detector), and live reconstruction of it.

Examples::

    daisy tomo acquire scan.h5 --width 1024 --rows 16 --angles 900 --rate 20
    daisy tomo watch scan.h5 -o recon.h5 --rows 6:10
    daisy tomo watch tcp://detector:9999 -o recon.h5      # a ZeroMQ detector stream
"""

from __future__ import annotations

import argparse
import sys
import time


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``acquire`` and ``watch`` to the ``daisy tomo`` sub-commands."""
    from ..tomography.filters import FILTERS

    a = sub.add_parser(
        "acquire",
        help="write a phantom scan frame by frame (SWMR HDF5, Data Exchange): a detector for live mode",
        description="Darks, flats, then projections of the 3-D Shepp-Logan phantom, one frame at a time at "
        "--rate frames/s, into a Data Exchange file that SWMR readers (daisy tomo watch, the app's Live mode) "
        "follow while it grows. /exchange/scan_complete turns 1 at the end (2 if stopped with Ctrl-C).",
    )
    a.add_argument("output", help="new HDF5 file")
    a.add_argument("--width", type=int, default=1024, help="detector columns (default 1024)")
    a.add_argument("--rows", type=int, default=16, help="detector rows (default 16)")
    a.add_argument("--angles", type=int, default=900, help="projections (default 900)")
    a.add_argument("--range", type=float, default=180.0, dest="angle_range", help="degrees (180 or 360)")
    a.add_argument("--rate", type=float, default=20.0, help="frames per second (0: as fast as possible)")
    a.add_argument("--flats", type=int, default=10, help="flat frames before the projections")
    a.add_argument("--darks", type=int, default=5, help="dark frames first")
    a.add_argument(
        "--center-offset", type=float, default=3.5, help="rotation axis offset from the middle (px)"
    )
    a.add_argument("--seed", type=int, default=0)
    a.add_argument("--overwrite", action="store_true", help="replace an existing file")
    a.add_argument("--quiet", action="store_true", help="no progress line")
    a.set_defaults(func=cmd_acquire)

    w = sub.add_parser(
        "watch",
        help="follow a scan being written (SWMR file or ZeroMQ stream), live preview, final reconstruction",
        description="Follows the scan while it grows: a progress line (frames, rate, lag of the preview, "
        "angular range, centre); when the scan is complete, reconstructs the rows and writes OUT "
        "(for a file: the 'daisy tomo recon' chain on the finished file). A stalled scan (no frame for "
        "--stall-timeout s) writes the slices of the frames received, marked scan_state=stalled.",
    )
    w.add_argument("input", help="Data Exchange file being written, or tcp://host:port of a ZeroMQ stream")
    w.add_argument("-o", "--output", required=True, help="reconstruction (HDF5, written atomically)")
    w.add_argument("--rows", default=None, metavar="A:B", help="detector rows to follow (default: all)")
    w.add_argument("--center", default="auto", help="rotation axis in px, or 'auto' (default)")
    w.add_argument("--algorithm", default="fbp", choices=("fbp", "gridrec", "sirt", "cgls"))
    w.add_argument("--filter", default="ramp", choices=FILTERS)
    w.add_argument("--stall-timeout", type=float, default=10.0, help="seconds without a frame = stalled")
    w.add_argument("--preview", default=None, metavar="PNG", help="save the last preview slice as PNG")
    w.add_argument("--quiet", action="store_true", help="no progress line")
    w.set_defaults(func=cmd_watch)


def _rows(text: str | None) -> slice | None:
    from ..core.errors import ValidationError

    if not text:
        return None
    try:
        a, b = text.split(":", 1)
        return slice(int(a) if a else None, int(b) if b else None)
    except ValueError:
        raise ValidationError(
            "daisy tomo watch", {"--rows": [f"expected A:B (detector rows); got {text!r}"]}
        ) from None


def cmd_acquire(args: argparse.Namespace) -> int:
    from ..tomography.io.swmr_writer import PhantomDetector, acquire_phantom_scan

    det = PhantomDetector(
        args.width, args.rows, args.angles, args.angle_range, center_offset=args.center_offset, seed=args.seed
    )
    total = args.darks + args.flats + args.angles
    t0 = time.monotonic()
    count = [0]

    def progress(kind: str, done: int, of: int) -> None:
        count[0] += 1
        if not args.quiet and (count[0] % 5 == 0 or count[0] == total):
            rate = count[0] / max(time.monotonic() - t0, 1e-9)
            print(
                f"\r{kind:10s} {done}/{of}  frames {count[0]}/{total}  {rate:5.1f}/s", end="", file=sys.stderr
            )

    try:
        info = acquire_phantom_scan(
            args.output, det, args.flats, args.darks, args.rate, progress=progress, overwrite=args.overwrite
        )
    except KeyboardInterrupt:
        print(
            f"\nstopped after {count[0]} frame(s); {args.output} is marked scan_complete=2", file=sys.stderr
        )
        return 130
    if not args.quiet:
        print(file=sys.stderr)
    print(f"wrote {info['path']}: {info['frames']} frames ({info['state']}), {info['seconds']:.1f} s")
    return 0


def _source(args: argparse.Namespace, rows: slice | None):
    from ..tomography.live import SwmrFileSource, ZmqFrameSource

    if args.input.startswith(("tcp://", "ipc://")):
        return ZmqFrameSource(args.input, rows, args.stall_timeout)
    return SwmrFileSource(args.input, rows, args.stall_timeout, wait=args.stall_timeout)


def cmd_watch(args: argparse.Namespace) -> int:
    from ..tomography.live import LiveReconstruction

    rows = _rows(args.rows)
    center: float | str = args.center if args.center == "auto" else float(args.center)
    LiveReconstruction.warm_up(args.filter)  # compiled kernels loaded before the scan is followed
    source = _source(args, rows)
    last = [0.0]

    def show(st) -> None:
        now = time.monotonic()
        if not args.quiet and (now - last[0] > 0.25 or st.state != "acquiring"):
            last[0] = now
            print("\r" + st.line().ljust(100), end="", file=sys.stderr, flush=True)

    live = LiveReconstruction(source, center=center, filter=args.filter, on_update=show)
    try:
        st = live.run()
    except KeyboardInterrupt:
        n = live.sinos.n if live.sinos is not None else 0
        print(f"\ncancelled after {n} projection(s); nothing written", file=sys.stderr)
        return 130
    if not args.quiet:
        print(file=sys.stderr)
    if args.preview and st.preview is not None:
        _save_png(args.preview, st.preview)
    print(st.message)
    if st.state == "complete" and not args.input.startswith(("tcp://", "ipc://")):
        return _final_from_file(args, rows, center)
    return _final_from_memory(args, live, rows, center, st)


def _final_from_file(args: argparse.Namespace, rows: slice | None, center: float | str) -> int:
    from ..core.progress import TextProgressBar
    from ..tomography.pipeline import ReconOptions, run_reconstruction

    slices = None if rows is None else f"{rows.start or 0}:{'' if rows.stop is None else rows.stop}"
    bar = None if args.quiet else TextProgressBar()
    try:
        info = run_reconstruction(
            args.input,
            args.output,
            ReconOptions(center=center, algorithm=args.algorithm, filter=args.filter),
            slices=slices,
            progress=bar,
        )
    finally:
        if bar is not None:
            bar.close()
    print(
        f"wrote {info['output']}: {info['shape'][0]} slice(s) of {info['shape'][1]}x{info['shape'][2]}, "
        f"centre {info['center']:.2f} px"
    )
    return 0


def _final_from_memory(args, live, rows: slice | None, center: float | str, st) -> int:
    from ..tomography.io import write_recon

    if live.sinos is None or live.sinos.n < 2:
        print(f"daisy: error: {args.input}: {st.message}; no projection to reconstruct", file=sys.stderr)
        return 3
    vol, c = live.final_slices(center=None if center == "auto" else center, algorithm=args.algorithm)
    params = {
        "center": c,
        "algorithm": args.algorithm,
        "filter": args.filter,
        "scan_state": st.state,
        "projections": live.sinos.n,
        "software": "daisy_widgets.tomography.live",
    }
    first = rows.start or 0 if rows is not None else 0
    write_recon(args.output, vol, params=params, input_path=args.input, first_slice=first)
    print(f"wrote {args.output}: {vol.shape[0]} slice(s) from {live.sinos.n} projection(s), scan {st.state}")
    return 0 if st.state == "complete" else 3


def _save_png(path: str, img) -> None:
    import numpy as np
    from matplotlib.image import imsave

    lo, hi = np.percentile(img, [1, 99.5])
    imsave(path, np.asarray(img), cmap="gray", vmin=lo, vmax=hi)
