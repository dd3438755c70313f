"""Running the data service: a Tiled server over the catalog, on 127.0.0.1, API key required.

:func:`serve` registers what is new in the data folder, then serves the catalog
with uvicorn until interrupted. Anonymous requests are refused
(``allow_anonymous_access: false``); the only credential is the single-user API
key kept in ``<state>/tiled_api_key`` (mode 600). The address is written to
``<state>/tiled_url`` for the demo hub.
"""

from __future__ import annotations

import gc
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import catalog as cat
from .access import UserAreaGuard
from .catalog_uri import shown
from .settings import KEY_VAR, service_api_key, write_url


def checked_query_registry() -> Any:
    """Tiled's query registry, but a malformed or unknown query is an HTTP 400 naming the problem.

    Tiled answers HTTP 500 when a query's parameters do not decode (a comparison without a
    value, an unknown operator, broken JSON) or the query name is unknown; here each
    ``decode`` turns those into ``QueryValueError`` (which Tiled answers with 400).
    """
    from fastapi import HTTPException
    from tiled.queries import QueryValueError
    from tiled.query_registration import QueryRegistry, default_query_registry

    class Checked:
        def __init__(self, name: str, cls: type):
            self.name, self.cls = name, cls

        def decode(self, **params: Any) -> Any:
            try:
                return self.cls.decode(**params)
            except QueryValueError:
                raise
            except (TypeError, ValueError, KeyError) as exc:
                raise QueryValueError(f"malformed {self.name!r} query {params}: {exc}") from None

    class Names(dict):
        """Query classes by name (``items()`` as Tiled's); lookup gives the checked decoder."""

        def __getitem__(self, name: str) -> Any:
            if name not in self:
                raise HTTPException(
                    status_code=400, detail=f"unknown query type {name!r}; known: {', '.join(sorted(self))}"
                )
            return Checked(name, dict.__getitem__(self, name))

    class CheckedRegistry(QueryRegistry):
        @property
        def name_to_query_type(self) -> Any:
            return Names(default_query_registry.name_to_query_type.items())

        @property
        def query_type_to_name(self) -> Any:
            return default_query_registry.query_type_to_name

    return CheckedRegistry()


def build_app(catalog_uri: str, data_dir: Path, writable: Path, api_key: str) -> Any:
    """The Tiled ASGI application over the catalog (key required, raw assets downloadable)."""
    from tiled.config import Authentication
    from tiled.server.app import build_app as tiled_app

    tree = cat.open_catalog(catalog_uri, data_dir, writable)
    auth = Authentication(single_user_api_key=api_key, allow_anonymous_access=False)
    app = tiled_app(
        tree,
        authentication=auth,
        server_settings={"expose_raw_assets": True},
        query_registry=checked_query_registry(),
    )
    # repeated reads of served HDF5 arrays answered from the open file (after the per-user rules)
    from .fast_reads import FastArrayReads

    # per-user keys: shared data read-only, own area read-write
    return UserAreaGuard(FastArrayReads(app, api_key), api_key)


def serve(
    data_dir: Path,
    *,
    port: int = 8008,
    host: str = "127.0.0.1",
    state: Path,
    catalog_uri: str | None = None,
    rescan: bool = False,
    catalog_from_command_line: bool = False,
    log: Callable[[str], None] = print,
) -> None:
    """Register the data folder and serve it until Ctrl-C / SIGTERM."""
    import uvicorn

    data_dir = Path(data_dir).resolve()
    uri = cat.catalog_env_uri(state, catalog_uri, from_command_line=catalog_from_command_line)
    writable = Path(state) / "tiled" / "storage"
    key = service_api_key(state)
    log(f"daisy: data service catalog {shown(uri)}")  # never print a database password
    log(f"daisy: registering {data_dir} ...")
    counts = cat.build_catalog(uri, data_dir, writable, rescan=rescan, log=log)
    log(
        f"daisy: {counts['hxmt']} new observation(s), {counts['tomography']} new scan(s), "
        f"{counts['skipped']} file(s) skipped"
    )
    url = f"http://{host}:{port}/api"
    write_url(url, state)
    where = "from DAISY_TILED_API_KEY" if os.environ.get(KEY_VAR) else f"in {Path(state) / 'tiled_api_key'}"
    log(f"daisy: serving on {url}  (API key {where}; clients read DAISY_TILED_URL and DAISY_TILED_API_KEY)")
    sys.stdout.flush()
    app = build_app(uri, data_dir, writable, key)
    from .hdf5_cache import OPEN_FILES

    # the heap the imports and the set-up left (about 300,000 objects: Tiled, SQLAlchemy, pandas,
    # astropy) lives as long as the service: kept out of the cyclic collector's generations, so
    # that a full collection set off while a request is answered does not traverse it (0.1-0.9 s
    # each on this machine, what a search or a read would wait); what the requests allocate is
    # collected as before
    gc.collect()
    gc.freeze()
    try:
        uvicorn.run(app, host=host, port=port, log_level="warning")
    finally:
        OPEN_FILES.close_all()  # the HDF5 files kept open between requests
