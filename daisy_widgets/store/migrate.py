"""Copying a catalog from one database to another (``daisy data migrate --from ... --to ...``).

Every table of Tiled's catalog and of Daisy's (entries with their metadata, keys, data
sources, assets, revisions, access tags, the observation index) is copied row by row
with its ids, in dependency order, in batches. The target must be empty or a fresh
catalog: it is prepared first (:func:`.schema.prepare`), then the rows it already holds
(the root entry, the ``public`` tag) are kept and the rest copied. Tables that triggers
fill (``nodes_closure``, SQLite's full-text index) are rebuilt by those triggers on the
target. PostgreSQL sequences are moved past the copied ids.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from sqlalchemy import func, select, text

from . import obs_index, schema
from .catalog_uri import CatalogError, is_postgresql, shown

#: tables filled on the target by triggers, or that are not data
SKIP = {"nodes_closure", "metadata_fts5", "alembic_version", "daisy_schema"}
BATCH = 2000


def _tables() -> list[Any]:
    from tiled.catalog import orm  # noqa: F401  (defines the tables)
    from tiled.catalog.base import Base
    from tiled.graph import orm as graph_orm  # noqa: F401

    ordered = [t for t in Base.metadata.sorted_tables if t.name not in SKIP]
    return ordered + [t for t in obs_index.metadata.sorted_tables if t.name not in SKIP]


def _upsert(table: Any, postgres: bool) -> Any:
    if postgres:
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(table).on_conflict_do_nothing()


async def _copy(src_uri: str, dst_uri: str, log: Callable[[str], None]) -> dict[str, int]:
    src, dst = schema.engine_for(src_uri), schema.engine_for(dst_uri)
    pg = is_postgresql(dst_uri)
    counts: dict[str, int] = {}
    try:
        async with dst.connect() as d:
            n_dst = (await d.execute(text("SELECT count(*) FROM nodes WHERE id <> 0"))).scalar()
        if n_dst:
            raise CatalogError(
                f"catalog {shown(dst_uri)}: already holds {n_dst} entries; migrate into an empty one"
            )
        async with src.connect() as s, dst.begin() as d:
            for table in _tables():
                order = list(table.primary_key.columns) or list(table.columns)[:1]
                total, done = (await s.execute(select(func.count()).select_from(table))).scalar(), 0
                result = await s.stream(select(table).order_by(*order))
                async for part in result.partitions(BATCH):
                    await d.execute(_upsert(table, pg), [dict(r._mapping) for r in part])
                    done += len(part)
                    log(f"  {table.name}: {done}/{total}")
                counts[table.name] = done
            if pg:
                for table in _tables():
                    if "id" in table.c and table.c.id.autoincrement is True:
                        await d.execute(
                            text(
                                f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                                f"(SELECT coalesce(max(id), 0) + 1 FROM {table.name}), false)"
                            )
                        )
    finally:
        await src.dispose()
        await dst.dispose()
    return counts


def migrate(src_uri: str, dst_uri: str, log: Callable[[str], None] = print) -> dict[str, int]:
    """Copy the catalog at ``src_uri`` into the empty database at ``dst_uri``; rows per table.

    Raises
    ------
    CatalogError
        Either database unusable, the source not a catalog, the target not empty.
    """
    schema.prepare(src_uri, log, create=False)  # brings an older source up to date first
    schema.prepare(dst_uri, log)
    log(f"daisy: copying {shown(src_uri)} -> {shown(dst_uri)}")
    return asyncio.run(_copy(src_uri, dst_uri, log))
