"""The service's catalog: a Tiled SQL catalog (SQLite file, or PostgreSQL) of the data folder.

Layout of the tree the service serves::

    hxmt/<ExpID>                 container, one per Level-1 exposure; metadata: target, ra, dec,
                                 obs_id, exp_id, start/stop (UTC), tstart/tstop (mission s),
                                 exposure, instruments, data_version, files (name, size, sha256),
                                 listing_mtime_ns (its folders' modification times, ns: see
                                 store/registered.py)
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
import contextlib
import gc
import itertools
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from . import catalog_nodes, catalog_uri, obs_index, register_batch, schema
from .data_sources import TableStructures, hdf5_source, table_sources
from .fits_adapter import FITS_MIMETYPE, FITSTableAdapter
from .folder_walk import FolderWalk
from .registered import UnchangedCheck, keep_listing_mtimes, registered_exposures
from .scanning import SCAN_SUFFIXES, find_exposures, find_scans

TOP_LEVEL = {
    "hxmt": "Insight-HXMT Level-1 observations",
    "tomography": "tomography scans",
    "users": "users' areas (results written back)",
}


def sqlite_uri(path: Path) -> str:
    return f"sqlite+aiosqlite:///{Path(path).resolve()}"


def adapters_by_mimetype() -> dict[str, Any]:
    """Adapters by mimetype beyond Tiled's: FITS tables, and HDF5 files kept open between requests."""
    from .hdf5_cache import CachedHDF5Adapter

    return {FITS_MIMETYPE: FITSTableAdapter, "application/x-hdf5": CachedHDF5Adapter}


#: connections the service keeps open to the catalog database, and how many more it may open
POOL_SIZE, MAX_OVERFLOW = 5, 10


def open_catalog(uri: str, data_dir: Path, writable: Path) -> Any:
    """The Tiled catalog adapter over ``uri`` (prepared by :func:`.schema.prepare` first)."""
    from tiled.catalog import from_uri

    Path(writable).mkdir(parents=True, exist_ok=True)
    obs_index.register_translation()
    return from_uri(
        uri,
        writable_storage=[str(Path(writable).resolve())],
        readable_storage=[str(Path(data_dir).resolve())],
        init_if_not_exists=False,
        adapters_by_mimetype=adapters_by_mimetype(),
        catalog_pool_size=POOL_SIZE,
        catalog_max_overflow=MAX_OVERFLOW,
    )


_child, _ensure_container = catalog_nodes.child, catalog_nodes.ensure_container


async def _index(conn: Any, rows: list[dict]) -> None:
    """Write observation-index rows on ``conn`` (a connection or session, inside its transaction)."""
    from sqlalchemy import insert

    await conn.execute(insert(obs_index.observations), rows)


async def _create_exposure_entries(hx: Any, exp: Any, files: list[dict], sources: list[Any]) -> int | None:
    """``hxmt/<ExpID>``, one table entry per readable file and the index row, in one transaction
    (what Tiled's ``create_node`` writes for each: node, structure, data source, asset and its
    association); returns the exposure's node id, None when another registration created it
    meanwhile. The path of one exposure at a time (:func:`.register_batch.write_exposures` is
    the fast one)."""
    from sqlalchemy.exc import IntegrityError
    from tiled.catalog import orm
    from tiled.catalog.adapter import _prepare_structure
    from tiled.catalog.utils import compute_structure_id

    async with hx.context.session() as db:
        node = orm.Node(
            key=exp.key,
            parent=hx.node.id,
            metadata_=dict(exp.metadata, files=files),
            structure_family="container",
            specs=[dict(register_batch.EXPOSURE_SPEC)],
        )
        db.add(node)
        try:
            await db.flush()
        except IntegrityError:  # registered meanwhile by a registration that does not take the lock
            await db.rollback()
            return None
        for key, rec, src in register_batch.file_entries(files, sources):
            child = orm.Node(key=key, parent=node.id, metadata_=rec, structure_family="table", specs=[])
            db.add(child)
            await db.flush()
            structure = _prepare_structure(src.structure_family, src.structure)
            structure_id = compute_structure_id(structure)
            await db.execute(
                hx.insert(orm.Structure)
                .values(id=structure_id, structure=structure)
                .on_conflict_do_nothing(index_elements=["id"])
            )
            ds = orm.DataSource(
                node_id=child.id,
                structure_family=src.structure_family,
                mimetype=src.mimetype,
                management=src.management,
                parameters=src.parameters,
                properties=src.properties,
                structure_id=structure_id,
            )
            db.add(ds)
            await db.flush()
            for asset in src.assets:
                asset_id = await hx._put_asset(db, asset)
                db.add(
                    orm.DataSourceAssetAssociation(
                        asset_id=asset_id, data_source_id=ds.id, parameter=asset.parameter, num=asset.num
                    )
                )
        await db.flush()
        await _index(db, [obs_index.row_of(node.id, hx.node.id, dict(exp.metadata, files=files))])
        await db.commit()
        return node.id


#: exposures written per transaction
REGISTER_BATCH = 200


async def _register_exposures(
    top: catalog_nodes.TopLevel,
    found: Iterator[tuple[Any, list[dict]]],
    keys: dict[str, bool],
    log: Callable[[str], None],
    counts: dict[str, int],
) -> None:
    """Register the exposures of ``found`` that ``keys`` (``{key: indexed}``) does not hold yet, in
    batches of :data:`REGISTER_BATCH`.

    Each batch is one transaction writing every exposure's entries and index rows
    (:func:`.register_batch.write_exposures`), so an interrupted run leaves whole exposures
    only. The next batch is read (headers, checksums, table structures) in a thread while a
    batch is written. An exposure without its index row (left by an interrupted run of an
    older Daisy) is removed and registered again. When a batch collides with a registration
    that does not take the lock, its exposures are registered one at a time instead (those
    registered meanwhile are passed over). Tiled's adapter of ``hxmt`` is made (``top``) only
    when there is something to write.
    """
    from sqlalchemy.exc import IntegrityError

    structures = TableStructures()

    def read_batch() -> list[tuple[Any, list[dict], list[Any], bool]]:
        batch = []
        for exp, files in found:  # continues where the previous batch stopped
            indexed = keys.get(exp.key)
            if indexed:
                continue
            keys[exp.key] = True  # a second folder with the same ExpID is passed over, as before
            batch.append((exp, files, table_sources(exp, log, structures), indexed is False))
            if len(batch) >= REGISTER_BATCH:
                break
        return batch

    pending: Any = asyncio.ensure_future(asyncio.to_thread(read_batch))
    try:
        while batch := await pending:
            pending = asyncio.ensure_future(asyncio.to_thread(read_batch))
            hx = await top.adapter("hxmt")
            for exp, _, _, half in batch:
                if half:
                    log(f"  hxmt/{exp.key}: left half-registered by an interrupted run; registering it again")
                    old = await _child(hx, exp.key)
                    if old is not None:
                        await old.delete(recursive=True)
            entries = [(exp, files, srcs) for exp, files, srcs, _ in batch]
            try:
                await register_batch.write_exposures(hx, entries, _index)
                done = entries
            except IntegrityError:
                done = [e for e in entries if await _create_exposure_entries(hx, *e) is not None]
            for exp, files, srcs in done:
                counts["skipped"] += sum(s is None for s in srcs)
                counts["hxmt"] += 1
                log(
                    f"  hxmt/{exp.key}: {exp.metadata['target']} {exp.metadata['start']} ({len(files)} files)"
                )
        pending = None
    finally:
        if pending is not None:
            await asyncio.gather(pending, return_exceptions=True)


async def register_data(
    catalog: Any,
    data_dir: Path,
    *,
    rescan: bool = False,
    checksum: bool = True,
    log: Callable[[str], None] = lambda s: None,
    uri: str | None = None,
    data_root: Path | None = None,
) -> dict[str, int]:
    """Register the exposures and scans under ``data_dir`` that the catalog does not hold yet.

    ``rescan`` drops the ``hxmt/`` and ``tomography/`` entries first (``users/`` is kept).
    One registration runs at a time (``uri`` given: :func:`.schema.registration_lock`); an
    exposure left without its index row (by an interrupted run of an older Daisy) is removed
    and registered again. A file that cannot be read is logged with its path and counted in
    ``skipped`` (an exposure whose header cannot be read is left out; the rest are registered).
    Returns counts ``{"hxmt": n_new, "tomography": n_new, "skipped": n}``.
    """
    if uri is not None:
        async with schema.registration_lock(uri):
            return await register_data(
                catalog, data_dir, rescan=rescan, checksum=checksum, log=log, data_root=data_root
            )
    data_dir = Path(data_dir).resolve()
    if rescan:
        for key in ("hxmt", "tomography"):
            node = await _child(catalog, key)
            if node is not None:
                await node.delete(recursive=True)
    top = catalog_nodes.TopLevel(catalog, TOP_LEVEL)  # Tiled's adapters made only to write
    await top.find()
    counts = {"hxmt": 0, "tomography": 0, "skipped": 0}
    # exposures registered before with the same files are passed over without reading or hashing them
    served = Path(data_root) if data_root is not None else data_dir  # as find_exposures relates folders
    registered = await registered_exposures(catalog.context.engine, top.ids["hxmt"])
    keys = registered.keys
    check = UnchangedCheck(registered.folders, served)
    unreadable: list[Path] = []

    def bad(path: Path, exc: Exception) -> None:
        log(f"  skipped {path}: {type(exc).__name__}: {exc}")
        unreadable.append(path)

    # one walk: the scan files are noted on the way; registered exposures whose folders kept their
    # modification times are passed over unlisted; each folder's time is kept for new exposures
    walk = FolderWalk(SCAN_SUFFIXES, skip=check.skip, record_mtimes=True)
    found = find_exposures(data_dir, checksum, data_root, check.known, bad, walk)
    await _register_exposures(top, found, keys, log, counts)
    if check.refresh:  # unchanged exposures listed: their folders' times kept for the next time
        kept = await keep_listing_mtimes(catalog.context.engine, top.ids["hxmt"], check.refresh)
        log(f"  kept the folders' modification times of {kept} registered exposure(s)")
    counts["skipped"] += len(unreadable)
    scans = await asyncio.to_thread(lambda: list(find_scans(data_dir, data_root, walk)))
    have = await top.keys_under("tomography") if scans else set()
    for scan in scans:
        if scan.key in have:
            continue
        tomography = await top.adapter("tomography")
        if await _child(tomography, scan.key) is not None:  # registered meanwhile
            continue
        try:
            src = await asyncio.to_thread(hdf5_source, scan.path)
        except Exception as exc:
            log(f"  skipped {scan.path}: {type(exc).__name__}: {exc}")
            counts["skipped"] += 1
            continue
        try:
            await tomography.create_node(
                structure_family="container",
                metadata=scan.metadata,
                key=scan.key,
                data_sources=[src],
                specs=[{"name": "TomographyScan", "version": "1"}],
            )
        except Exception as exc:  # Collision: registered meanwhile
            if type(exc).__name__ != "Collision":
                raise
            continue
        counts["tomography"] += 1
        log(
            f"  tomography/{scan.key}: {scan.metadata.get('sample_name') or '-'} shape {scan.metadata['shape']}"
        )
    return counts


async def register_records(
    catalog: Any,
    records: Iterable[dict],
    *,
    batch: int = 5000,
    log: Callable[[str], None] = lambda s: None,
) -> int:
    """Register metadata-only observation entries ``hxmt/<exp_id>`` in bulk (benchmarks, tests).

    Each batch of ``batch`` records is one transaction writing Tiled's ``nodes`` rows and their
    index rows together, so an interrupted run leaves whole batches only. Keys already present
    are skipped. Returns the number of entries added.
    """
    from sqlalchemy import insert, select
    from tiled.catalog import orm

    hx = await _ensure_container(catalog, "hxmt", {"description": TOP_LEVEL["hxmt"]})
    parent, n_tab = hx.node.id, orm.Node.__table__
    added, it = 0, iter(records)
    while chunk := list(itertools.islice(it, batch)):
        metas = {
            str(r["exp_id"]): dict(r, target_lc=str(r["target"]).lower(), kind="hxmt-observation")
            for r in chunk
        }
        async with catalog.context.engine.begin() as conn:
            have = set(
                (
                    await conn.execute(
                        select(n_tab.c.key).where(n_tab.c.parent == parent, n_tab.c.key.in_(list(metas)))
                    )
                ).scalars()
            )
            new = [
                {
                    "key": k,
                    "parent": parent,
                    "structure_family": "container",
                    "metadata": m,
                    "specs": [{"name": "HXMTExposure", "version": "1"}],
                }
                for k, m in metas.items()
                if k not in have
            ]
            if not new:
                continue
            ids = (await conn.execute(insert(n_tab).returning(n_tab.c.id, n_tab.c.key), new)).all()
            rows = [obs_index.row_of(i, parent, metas[k]) for i, k in ids]
            await conn.execute(insert(obs_index.observations), rows)
        added += len(new)
        log(f"  {added} observation(s) registered")
    return added


@contextlib.contextmanager
def _heap_frozen() -> Iterator[None]:
    """Keep the cyclic garbage collector off the objects alive now (imports, Tiled, SQLAlchemy).

    A registration allocates enough (result rows, metadata dicts) to set off full (generation 2)
    collections, and each one traverses every object the imports left: about 300,000, 0.2-0.9 s
    per collection on a shared machine, paid by the first large read of the catalog. ``gc.freeze``
    moves them out of the collector's generations; ``gc.unfreeze`` puts them back (into the
    oldest) on the way out, so a service that goes on in the same process collects as before.
    Nothing is lost: frozen objects are only passed over by the cyclic collector while frozen.
    A caller that had frozen objects itself keeps them (and these) frozen: ``gc.unfreeze`` cannot
    undo one freeze alone.
    """
    frozen_before = gc.get_freeze_count()
    gc.freeze()
    try:
        yield
    finally:
        if not frozen_before:
            gc.unfreeze()


def build_catalog(
    uri: str,
    data_dir: Path,
    writable: Path,
    *,
    rescan: bool = False,
    checksum: bool = True,
    records: Iterable[dict] | None = None,
    log: Callable[[str], None] = lambda s: None,
    data_root: Path | None = None,
) -> dict:
    """Create/upgrade the catalog at ``uri`` and register ``data_dir`` (run before the server starts).

    Raises
    ------
    CatalogError
        The database cannot be used (see :func:`.schema.prepare`).
    """
    with _heap_frozen():
        return _build_catalog(uri, data_dir, writable, rescan, checksum, records, log, data_root)


def _build_catalog(
    uri: str,
    data_dir: Path,
    writable: Path,
    rescan: bool,
    checksum: bool,
    records: Iterable[dict] | None,
    log: Callable[[str], None],
    data_root: Path | None,
) -> dict:
    uri = catalog_uri.resolve(uri, Path(writable) / "catalog.db", from_command_line=False)
    schema.prepare(uri, log)
    catalog = open_catalog(uri, data_root or data_dir, writable)

    async def run() -> dict:
        await catalog.startup()
        gc.freeze()  # what opening the catalog imported and made, too
        try:
            counts = await register_data(
                catalog, data_dir, rescan=rescan, checksum=checksum, log=log, uri=uri, data_root=data_root
            )
            if records is not None:
                async with schema.registration_lock(uri):
                    counts["records"] = await register_records(catalog, records, log=log)
            return counts
        finally:
            await catalog.shutdown()

    return asyncio.run(run())


def catalog_env_uri(state: Path, uri: str | None, *, from_command_line: bool = False) -> str:
    """The catalog URI: the given one (PostgreSQL in production), else ``DAISY_CATALOG_URI``,
    else the SQLite file ``<state>/tiled/catalog.db``; password filled in from the environment
    (:func:`.catalog_uri.resolve`)."""
    return catalog_uri.resolve(uri, Path(state) / "tiled" / "catalog.db", from_command_line=from_command_line)
