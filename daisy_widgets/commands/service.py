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
        help="catalog database: sqlite:///path/catalog.db or postgresql://USER@HOST:5432/DB, the password "
        "from $DAISY_CATALOG_PASSWORD or the file $DAISY_CATALOG_PASSWORD_FILE, never here "
        "(default: $DAISY_CATALOG_URI, else sqlite under .daisy/tiled/)",
    )
    p.add_argument("--rescan", action="store_true", help="re-register every file (users' areas are kept)")
    p.set_defaults(func=run_serve)

    m = data_subparsers.add_parser(
        "migrate",
        help="copy a catalog into another database (e.g. SQLite to PostgreSQL)",
        description="Copy every entry of a catalog with its metadata, keys, data sources and the "
        "observation index into an empty database (upgrading an older source schema first). Passwords "
        "as for `daisy data serve` ($DAISY_CATALOG_PASSWORD applies to --to).",
    )
    m.add_argument(
        "--from", dest="src", required=True, help="source catalog (sqlite:///path/catalog.db, ...)"
    )
    m.add_argument("--to", dest="dst", required=True, help="target catalog (postgresql://USER@HOST:5432/DB)")
    m.set_defaults(func=run_migrate)

    r = data_subparsers.add_parser(
        "register",
        help="register new observations and scans in a running service's catalog",
        description="Register what is new under DIR (a folder inside the data folder the service serves) "
        "in the catalog, while the service runs: searches see it at once, readers are not blocked, and "
        "a registration running at the same time waits (nothing is registered twice).",
    )
    r.add_argument("dir", type=Path, help="folder with new HXMT exposures or tomography scans")
    r.add_argument("--catalog", default=None, help="the service's catalog (as for `daisy data serve`)")
    r.add_argument(
        "--root",
        type=Path,
        default=None,
        help="the served data folder (default: $DAISY_DATA_DIR, else data/)",
    )
    r.set_defaults(func=run_register)

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
        catalog_from_command_line=args.catalog is not None,
    )
    return 0


def run_migrate(args: argparse.Namespace) -> int:
    from ..store.catalog_uri import resolve
    from ..store.migrate import migrate

    src = resolve(args.src, Path("catalog.db"), from_command_line=True)
    dst = resolve(args.dst, Path("catalog.db"), from_command_line=True)
    counts = migrate(src, dst, log=print)
    print(
        f"daisy: copied {counts.get('nodes', 0)} entries, {counts.get('daisy_observations', 0)} indexed observations"
    )
    return 0


def run_register(args: argparse.Namespace) -> int:
    from ..store import catalog as cat
    from ..store.settings import default_data_dir, state_dir

    root = (args.root or default_data_dir()).resolve()
    folder = args.dir.resolve()
    if not folder.is_dir():
        raise DaisyError(f"{args.dir}: no such folder")
    if not folder.is_relative_to(root):
        raise DaisyError(f"{args.dir}: not inside the served data folder {root} (give --root)")
    state = state_dir()
    uri = cat.catalog_env_uri(state, args.catalog, from_command_line=args.catalog is not None)
    counts = cat.build_catalog(uri, folder, state / "tiled" / "storage", log=print, data_root=root)
    print(
        f"daisy: {counts['hxmt']} new observation(s), {counts['tomography']} new scan(s), "
        f"{counts['skipped']} file(s) skipped"
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
