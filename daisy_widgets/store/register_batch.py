"""Writing many HXMT exposures into the catalog in one transaction, a few statements per table.

What Tiled's ``create_node`` writes for one entry with an external data source (the node,
its structure, the data source, the asset and the asset's association), written here for a
whole batch of exposures with one multi-row ``INSERT`` per table (``executemany``; ids back
through ``RETURNING`` in the order given), together with the exposures' observation-index
rows. Registering one exposure at a time took about 15 statements and two commits per
exposure; a batch of 200 takes 7 statements and one commit. The rows written are the same
(same tables, columns and values; only the ids are numbered per table instead of per
exposure, in the same order of exposures), on SQLite and on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from typing import Any

from . import obs_index

#: Tiled spec of an exposure's entry
EXPOSURE_SPEC = {"name": "HXMTExposure", "version": "1"}
#: assets looked up per statement
LOOKUP_CHUNK = 500


def file_entries(files: list[dict], sources: list[Any]) -> Iterator[tuple[str, dict, Any]]:
    """``(key, file record, data source)`` of each readable file of an exposure (the key is the
    file's kind, with ``_V<version>`` when the kind is there already)."""
    used: set[str] = set()
    for rec, src in zip(files, sources, strict=False):
        if src is None:
            continue
        key = rec["kind"] if rec["kind"] not in used else f"{rec['kind']}_V{rec['version']}"
        used.add(key)
        yield key, rec, src


async def _insert_returning(conn: Any, table: Any, rows: list[dict], *columns: str) -> dict[tuple, int]:
    """Insert ``rows`` (one multi-row statement per batch of rows); ``{(values of columns): id}``.

    The ids are matched to the rows by ``columns`` (unique), not by position: a multi-row
    ``INSERT ... RETURNING`` does not promise the rows' order (SQLAlchemy would send the rows
    one at a time to keep it).
    """
    from sqlalchemy import insert

    if not rows:
        return {}
    stmt = insert(table).returning(table.c.id, *(table.c[c] for c in columns))
    return {tuple(r[1:]): r[0] for r in await conn.execute(stmt, rows)}


async def _asset_ids(conn: Any, assets: list[Any]) -> dict[str, int]:
    """``{data_uri: asset id}``: existing assets found by URI (their size refreshed when it
    changed, as Tiled does), the others inserted."""
    from sqlalchemy import select, update
    from tiled.catalog import orm

    a = orm.Asset.__table__
    wanted = {x.data_uri: x for x in assets}
    uris = list(wanted)
    ids: dict[str, int] = {}
    for k in range(0, len(uris), LOOKUP_CHUNK):
        rows = await conn.execute(
            select(a.c.id, a.c.size, a.c.data_uri).where(a.c.data_uri.in_(uris[k : k + LOOKUP_CHUNK]))
        )
        for asset_id, size, uri in rows:
            ids[uri] = asset_id
            new_size = wanted[uri].size
            if new_size is not None and new_size != size:
                await conn.execute(update(a).where(a.c.id == asset_id).values(size=new_size))
    new = [wanted[u] for u in uris if u not in ids]
    got = await _insert_returning(
        conn,
        a,
        [{"data_uri": x.data_uri, "is_directory": x.is_directory, "size": x.size} for x in new],
        "data_uri",
    )
    ids.update((u, i) for (u,), i in got.items())
    return ids


async def write_exposures(
    hx: Any,
    entries: list[tuple[Any, list[dict], list[Any]]],
    index: Callable[[Any, list[dict]], Awaitable[None]],
) -> list[int]:
    """Write ``hxmt/<ExpID>`` with its file entries and index row for every ``(exposure, file
    records, data sources)`` of ``entries``, in one transaction; returns the exposures' node ids.

    ``index(conn, rows)`` writes the index rows inside the transaction.

    Raises
    ------
    sqlalchemy.exc.IntegrityError
        An entry of the batch exists already (registered meanwhile by a registration that does
        not take the lock); nothing of the batch is written.
    """
    from tiled.catalog import orm
    from tiled.catalog.adapter import _prepare_structure
    from tiled.catalog.utils import compute_structure_id

    n, ds, link = orm.Node.__table__, orm.DataSource.__table__, orm.DataSourceAssetAssociation.__table__
    parent = hx.node.id
    metas = [dict(exp.metadata, files=files) for exp, files, _ in entries]
    async with hx.context.engine.begin() as conn:
        rows = [
            {
                "key": exp.key,
                "parent": parent,
                "structure_family": "container",
                "metadata": meta,
                "specs": [dict(EXPOSURE_SPEC)],
            }
            for (exp, _, _), meta in zip(entries, metas, strict=True)
        ]
        by_key = await _insert_returning(conn, n, rows, "key")
        ids = [by_key[(exp.key,)] for exp, _, _ in entries]
        kids, sources = [], []
        for node_id, (_, files, srcs) in zip(ids, entries, strict=True):
            for key, rec, src in file_entries(files, srcs):
                kids.append(
                    {"key": key, "parent": node_id, "structure_family": "table", "metadata": rec, "specs": []}
                )
                sources.append(src)
        by_parent_key = await _insert_returning(conn, n, kids, "parent", "key")
        kid_ids = [by_parent_key[(k["parent"], k["key"])] for k in kids]
        structure_ids, structures = [], {}
        for src in sources:
            structure = _prepare_structure(src.structure_family, src.structure)
            sid = compute_structure_id(structure)
            structure_ids.append(sid)
            structures.setdefault(sid, structure)
        if structures:
            await conn.execute(
                hx.insert(orm.Structure).on_conflict_do_nothing(index_elements=["id"]),
                [{"id": k, "structure": v} for k, v in structures.items()],
            )
        ds_rows = [
            {
                "node_id": kid,
                "structure_family": src.structure_family,
                "mimetype": src.mimetype,
                "management": src.management,
                "parameters": src.parameters,
                "properties": src.properties,
                "structure_id": sid,
            }
            for kid, src, sid in zip(kid_ids, sources, structure_ids, strict=True)
        ]
        by_node = await _insert_returning(conn, ds, ds_rows, "node_id")  # one data source per file entry
        ds_ids = [by_node[(kid,)] for kid in kid_ids]
        asset_ids = await _asset_ids(conn, [x for src in sources for x in src.assets])
        links = [
            {
                "data_source_id": ds_id,
                "asset_id": asset_ids[x.data_uri],
                "parameter": x.parameter,
                "num": x.num,
            }
            for ds_id, src in zip(ds_ids, sources, strict=True)
            for x in src.assets
        ]
        if links:
            from sqlalchemy import insert

            await conn.execute(insert(link), links)
        await index(conn, [obs_index.row_of(i, parent, meta) for i, meta in zip(ids, metas, strict=True)])
    return ids
