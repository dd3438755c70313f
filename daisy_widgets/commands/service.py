"""``daisy data serve`` (the data service) and ``daisy data search`` (HXMT archive query)."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..core.errors import DaisyError


def register_data(data_subparsers: argparse._SubParsersAction) -> None:
    p = data_subparsers.add_parser(
        "serve",
        help="serve the data folder over HTTP (Tiled data service, API key required)",
        description="Start the Daisy data service: a Tiled server on 127.0.0.1 over DIR (tomography scans, "
        "HXMT Level-1 observations) with a searchable catalog (SQLite under the state folder, "
        "or --catalog postgresql+asyncpg://...). The API key is $DAISY_TILED_API_KEY when set (a cluster's "
        "Secret), else generated once into .daisy/tiled_api_key (mode 600); clients read "
        "DAISY_TILED_URL and DAISY_TILED_API_KEY.",
    )
    p.add_argument(
        "dir", nargs="?", type=Path, default=None, help="data folder (default: $DAISY_DATA_DIR, else data/)"
    )
    p.add_argument("--port", type=int, default=8008, help="port (default 8008)")
    p.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1; 0.0.0.0 in a cluster pod behind its Service)",
    )
    p.add_argument(
        "--catalog",
        default=None,
        help="catalog database URL (default: $DAISY_CATALOG_URI, else sqlite under .daisy/tiled/)",
    )
    p.add_argument("--rescan", action="store_true", help="re-register every file (users' areas are kept)")
    p.set_defaults(func=run_serve)

    s = data_subparsers.add_parser(
        "search",
        help="search the HXMT observations of the data service",
        description="Print the HXMT observations matching every given rule (target name case-insensitive, "
        "ObsID/ExpID prefix, cone, time range overlap). Reads DAISY_TILED_URL and DAISY_TILED_API_KEY.",
    )
    s.add_argument("--target", default=None, help="target name, case-insensitive substring (e.g. Crab)")
    s.add_argument("--obsid", default=None, help="ObsID (e.g. P0101299001) or ExpID prefix")
    s.add_argument(
        "--cone",
        nargs=3,
        type=float,
        metavar=("RA", "DEC", "R"),
        default=None,
        help="cone centre RA, Dec and radius (deg, J2000; exact angular distance)",
    )
    s.add_argument("--start", default=None, help="range start: ISO UTC date/time or mission seconds")
    s.add_argument("--stop", default=None, help="range stop: ISO UTC date/time or mission seconds")
    s.add_argument("--url", default=None, help="service URL (default $DAISY_TILED_URL)")
    s.add_argument("--csv", action="store_true", help="print CSV instead of a table")
    s.set_defaults(func=run_search)


def run_serve(args: argparse.Namespace) -> int:
    from ..store.server import serve
    from ..store.settings import default_data_dir, state_dir

    data_dir = args.dir or default_data_dir()
    if not data_dir.is_dir():
        raise DaisyError(
            f"data folder {data_dir}: no such folder (write the sample data with `daisy data sample`)"
        )
    if not 0 < args.port < 65536:
        raise DaisyError(f"--port {args.port}: expected 1..65535")
    serve(
        data_dir,
        port=args.port,
        host=args.host,
        state=state_dir(),
        catalog_uri=args.catalog,
        rescan=args.rescan,
    )
    return 0


def run_search(args: argparse.Namespace) -> int:
    from ..store import search_observations

    table = search_observations(
        target=args.target, obs_id=args.obsid, cone=args.cone, start=args.start, stop=args.stop, url=args.url
    )
    if args.csv:
        print(table.to_csv(index=False), end="")
        return 0
    if len(table) == 0:
        print("no matching observations")
        return 0
    cols = [
        c
        for c in (
            "target",
            "obs_id",
            "exp_id",
            "ra",
            "dec",
            "start",
            "stop",
            "exposure",
            "instruments",
            "separation",
        )
        if c in table.columns
    ]
    import pandas as pd

    with pd.option_context("display.width", 200, "display.max_columns", 20, "display.max_rows", 500):
        print(table[cols].to_string(index=False))
    print(f"{len(table)} observation(s)")
    return 0
