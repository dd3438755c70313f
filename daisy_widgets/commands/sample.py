"""``daisy data sample [--out DIR]``: write the demo data (a tomography scan, HXMT observations).

Each kind of sample data comes from its technique package, through a small table
of makers imported lazily: a maker whose module is not installed (or not written
yet) is skipped with a message, never fatal. A maker's output is written to a
temporary folder and renamed into place when complete, and a marker file keyed on
the maker's parameters makes a second run skip it (``--force`` to redo).

Layout under DIR (default ``$DAISY_DATA_DIR``, else the repository's ``data/``)::

    tomography/tomo_sample_scan.h5           Data Exchange HDF5 (Shepp-Logan 3-D phantom)
    hxmt/<ObsID>/<ExpID>-<date>-01-01/       Insight-HXMT Level-1 exposures (Crab, HE/ME/LE)
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..core.errors import DaisyError


@dataclass(frozen=True)
class SampleMaker:
    """One kind of sample data.

    ``module``/``function`` name the technique's writer (imported lazily);
    ``write(func, folder, small)`` calls it to fill the empty ``folder``;
    ``params``/``small_params`` are recorded in the marker (a change re-makes the data).
    """

    name: str
    module: str
    function: str
    folder: str
    description: str
    write: Callable[[Callable, Path, bool], None]
    params: dict = field(default_factory=dict)
    small_params: dict = field(default_factory=dict)


def _write_tomography(func: Callable, folder: Path, small: bool) -> None:
    p = MAKERS["tomography"].small_params if small else MAKERS["tomography"].params
    func(folder / "tomo_sample_scan.h5", **p)


def _write_hxmt(func: Callable, folder: Path, small: bool) -> None:
    p = MAKERS["hxmt"].small_params if small else MAKERS["hxmt"].params
    func(folder, **p)  # writes <folder>/data/hxmt/<ObsID>/...: lift it to <folder>/<ObsID>/...
    inner = folder / "data" / "hxmt"
    if inner.is_dir():
        for child in inner.iterdir():
            child.rename(folder / child.name)
        shutil.rmtree(folder / "data")


#: the sample makers, in the order they run
MAKERS: dict[str, SampleMaker] = {
    "tomography": SampleMaker(
        "tomography",
        "daisy_widgets.tomography.phantom",
        "write_sample_scan",
        "tomography",
        "synthetic tomography scan (Shepp-Logan 3-D phantom, Data Exchange HDF5)",
        _write_tomography,
        params={"size": 256, "n_angles": 360, "height": 16, "seed": 0},
        small_params={"size": 64, "n_angles": 90, "height": 4, "seed": 0},
    ),
    "hxmt": SampleMaker(
        "hxmt",
        "daisy_widgets.hxmt.simulate",
        "write_sample_observations",
        "hxmt",
        "two simulated Insight-HXMT Level-1 observations of the Crab (HE, ME, LE)",
        _write_hxmt,
        params={"n": 2, "seed": 0, "exposure": 1500.0},
        small_params={"n": 1, "seed": 0, "exposure": 200.0, "instruments": ("HE",)},
    ),
}
MARKER = ".daisy-sample.json"


def default_out() -> Path:
    env = os.environ.get("DAISY_DATA_DIR")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2] / "data"


def _load(maker: SampleMaker) -> Callable | None:
    try:
        mod = importlib.import_module(maker.module)
    except ModuleNotFoundError as exc:
        if exc.name and maker.module.startswith(exc.name):
            return None
        raise
    return getattr(mod, maker.function, None)


def _marker_content(maker: SampleMaker, small: bool) -> dict:
    params = maker.small_params if small else maker.params
    return {
        "maker": f"{maker.module}:{maker.function}",
        "small": small,
        "params": {k: list(v) if isinstance(v, tuple) else v for k, v in params.items()},
    }


def make_sample(maker: SampleMaker, out: Path, small: bool = False, force: bool = False) -> str:
    """Write one maker's data under ``out/<maker.folder>``; returns "written", "present" or "skipped: ..."."""
    func = _load(maker)
    if func is None:
        return f"skipped: {maker.module}.{maker.function} is not available in this installation"
    target = out / maker.folder
    want = _marker_content(maker, small)
    marker = target / MARKER
    if not force and marker.exists():
        try:
            if json.loads(marker.read_text()) == want:
                return "present"
        except ValueError:
            pass
    out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{maker.folder}.", suffix=".part", dir=out))
    try:
        maker.write(func, tmp, small)
        (tmp / MARKER).write_text(json.dumps(want, indent=1) + "\n")
        if target.exists():
            old = out / f".{maker.folder}.old"
            shutil.rmtree(old, ignore_errors=True)
            target.rename(old)
            tmp.rename(target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            tmp.rename(target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return "written"


def register_data(data_subparsers: argparse._SubParsersAction) -> None:
    p = data_subparsers.add_parser(
        "sample",
        help="write the demo data (tomography scan, HXMT observations)",
        description="Write Daisy's sample data: "
        + "; ".join(f"{m.name}: {m.description}" for m in MAKERS.values())
        + ". Existing complete data is kept (use --force to rewrite).",
    )
    p.add_argument(
        "--out", type=Path, default=None, help="data folder (default: $DAISY_DATA_DIR, else data/)"
    )
    p.add_argument("--only", action="append", choices=sorted(MAKERS), help="only this kind (repeatable)")
    p.add_argument("--small", action="store_true", help="tiny data sets (for tests)")
    p.add_argument("--force", action="store_true", help="rewrite data that is already there")
    p.set_defaults(func=run_sample)


def run_sample(args: argparse.Namespace) -> int:
    out = (args.out or default_out()).resolve()
    if out.exists() and not out.is_dir():
        raise DaisyError(f"--out {out}: expected a folder, found a file")
    names = args.only or list(MAKERS)
    print(f"daisy: sample data under {out}", flush=True)
    for name in names:
        maker = MAKERS[name]
        t0 = time.monotonic()
        print(f"  {name}: {maker.description} ...", flush=True)
        status = make_sample(maker, out, small=args.small, force=args.force)
        extra = f" ({time.monotonic() - t0:.1f} s)" if status == "written" else ""
        print(
            f"  {name}: {status}{extra} -> {out / maker.folder}",
            file=sys.stdout if status != "skipped" else sys.stderr,
            flush=True,
        )
    return 0
