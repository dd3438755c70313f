"""The service's catalog: a Tiled SQL catalog (SQLite file, or PostgreSQL) of the data folder.

Layout of the tree the service serves::

    hxmt/<ExpID>                 container, one per Level-1 exposure; metadata: target, ra, dec,
                                 obs_id, exp_id, start/stop (UTC), tstart/tstop (mission s),
                                 exposure, instruments, data_version, files (name, size, sha256)
    hxmt/<ExpID>/<kind>          table (FITS main binary table), raw file downloadable as asset
    tomography/<name>            container over the HDF5 file (Data Exchange or NXtomo); metadata:
                                 sample_name, shape, n_angles, angle range (deg), energy (keV),
                                 pixel_size (m), format
    users/<user>/...             each user's writable area (results written back)

Files stay where they are (``external`` assets); only ``users/`` is written by the
service, into its writable storage.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Iterable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from .fits_adapter import FITS_MIMETYPE, FITSTableAdapter
from .scanning import find_exposures, find_scans

TOP_LEVEL = {
    "hxmt": "Insight-HXMT Level-1 observations",
    "tomography": "tomography scans",
    "users": "users' areas (results written back)",
}


def sqlite_uri(path: Path) -> str:
    return f"sqlite:///{Path(path).resolve()}"


def adapters_by_mimetype() -> dict[str, Any]:
    return {FITS_MIMETYPE: FITSTableAdapter}


def open_catalog(uri: str, data_dir: Path, writable: Path, init: bool = True) -> Any:
    """The Tiled catalog adapter over ``uri`` (``sqlite:///...`` or ``postgresql://...``)."""
    from tiled.catalog import from_uri

    Path(writable).mkdir(parents=True, exist_ok=True)
    return from_uri(
        uri,
        writable_storage=[str(Path(writable).resolve())],
        readable_storage=[str(Path(data_dir).resolve())],
        init_if_not_exists=init,
        adapters_by_mimetype=adapters_by_mimetype(),
    )


async def _child(node: Any, key: str) -> Any | None:
    from tiled.server.core import NoEntry

    try:
        return await node.lookup_adapter([key])
    except NoEntry:
        return None


async def _ensure_container(node: Any, key: str, metadata: dict) -> Any:
    found = await _child(node, key)
    if found is not None:
        return found
    await node.create_node(structure_family="container", metadata=metadata, key=key)
    return await _child(node, key)


def _table_source(path: Path) -> Any:
    from tiled.structures.data_source import Asset, DataSource, Management
    from tiled.utils import ensure_uri

    adapter = FITSTableAdapter.from_uris(ensure_uri(path))
    return DataSource(
        structure_family="table",
        structure=asdict(adapter.structure()),
        mimetype=FITS_MIMETYPE,
        parameters={},
        management=Management.external,
        assets=[
            Asset(
                data_uri=ensure_uri(path), is_directory=False, parameter="data_uri", size=path.stat().st_size
            )
        ],
    )


def _hdf5_source(path: Path) -> Any:
    from tiled.adapters.hdf5 import HDF5Adapter
    from tiled.structures.data_source import Asset, DataSource, Management
    from tiled.utils import ensure_uri

    adapter = HDF5Adapter.from_uris(ensure_uri(path))
    st = adapter.structure()
    return DataSource(
        structure_family="container",
        structure=asdict(st) if st is not None else None,
        mimetype="application/x-hdf5",
        parameters={},
        management=Management.external,
        assets=[
            Asset(
                data_uri=ensure_uri(path),
                is_directory=False,
                parameter="data_uris",
                num=0,
                size=path.stat().st_size,
            )
        ],
    )


async def register_data(
    catalog: Any,
    data_dir: Path,
    *,
    rescan: bool = False,
    checksum: bool = True,
    log: Callable[[str], None] = lambda s: None,
) -> dict[str, int]:
    """Register the exposures and scans under ``data_dir`` that the catalog does not hold yet.

    ``rescan`` drops the ``hxmt/`` and ``tomography/`` entries first (``users/`` is kept).
    Returns counts ``{"hxmt": n_new, "tomography": n_new, "skipped": n}``.
    """
    data_dir = Path(data_dir).resolve()
    if rescan:
        for key in ("hxmt", "tomography"):
            node = await _child(catalog, key)
            if node is not None:
                await node.delete(recursive=True)
    nodes = {k: await _ensure_container(catalog, k, {"description": v}) for k, v in TOP_LEVEL.items()}
    counts = {"hxmt": 0, "tomography": 0, "skipped": 0}
    for exp, files in await asyncio.to_thread(lambda: list(find_exposures(data_dir, checksum))):
        if await _child(nodes["hxmt"], exp.key) is not None:
            continue
        meta = dict(exp.metadata, files=files)
        await nodes["hxmt"].create_node(
            structure_family="container",
            metadata=meta,
            key=exp.key,
            specs=[{"name": "HXMTExposure", "version": "1"}],
        )
        node = await _child(nodes["hxmt"], exp.key)
        for rec, f in zip(files, exp.files, strict=False):
            try:
                src = await asyncio.to_thread(_table_source, f.path)
            except Exception as exc:
                log(f"  skipped {f.path}: {type(exc).__name__}: {exc}")
                counts["skipped"] += 1
                continue
            key = rec["kind"] if not await _child(node, rec["kind"]) else f"{rec['kind']}_V{rec['version']}"
            await node.create_node(structure_family="table", metadata=rec, key=key, data_sources=[src])
        counts["hxmt"] += 1
        log(f"  hxmt/{exp.key}: {exp.metadata['target']} {exp.metadata['start']} ({len(files)} files)")
    for scan in await asyncio.to_thread(lambda: list(find_scans(data_dir))):
        if await _child(nodes["tomography"], scan.key) is not None:
            continue
        try:
            src = await asyncio.to_thread(_hdf5_source, scan.path)
        except Exception as exc:
            log(f"  skipped {scan.path}: {type(exc).__name__}: {exc}")
            counts["skipped"] += 1
            continue
        await nodes["tomography"].create_node(
            structure_family="container",
            metadata=scan.metadata,
            key=scan.key,
            data_sources=[src],
            specs=[{"name": "TomographyScan", "version": "1"}],
        )
        counts["tomography"] += 1
        log(
            f"  tomography/{scan.key}: {scan.metadata.get('sample_name') or '-'} shape {scan.metadata['shape']}"
        )
    return counts


async def register_records(catalog: Any, records: Iterable[dict]) -> int:
    """Register metadata-only observation entries ``hxmt/<exp_id>`` (catalog benchmarks, tests)."""
    hx = await _ensure_container(catalog, "hxmt", {"description": TOP_LEVEL["hxmt"]})
    n = 0
    for rec in records:
        await hx.create_node(
            structure_family="container",
            metadata=dict(rec, target_lc=str(rec["target"]).lower(), kind="hxmt-observation"),
            key=rec["exp_id"],
            specs=[{"name": "HXMTExposure", "version": "1"}],
        )
        n += 1
    return n


def build_catalog(
    uri: str,
    data_dir: Path,
    writable: Path,
    *,
    rescan: bool = False,
    checksum: bool = True,
    records: Iterable[dict] | None = None,
    log: Callable[[str], None] = lambda s: None,
) -> dict:
    """Create/update the catalog at ``uri`` (synchronously; run before the server starts)."""
    catalog = open_catalog(uri, data_dir, writable)

    async def run() -> dict:
        await catalog.startup()
        try:
            counts = await register_data(catalog, data_dir, rescan=rescan, checksum=checksum, log=log)
            if records is not None:
                counts["records"] = await register_records(catalog, records)
            return counts
        finally:
            await catalog.shutdown()

    return asyncio.run(run())


def catalog_env_uri(state: Path, uri: str | None) -> str:
    """The catalog URI: the given one (PostgreSQL in production), else ``DAISY_CATALOG_URI``,
    else the SQLite file ``<state>/tiled/catalog.db``."""
    return uri or os.environ.get("DAISY_CATALOG_URI") or sqlite_uri(Path(state) / "tiled" / "catalog.db")
