"""The catalog's schema: Tiled's tables, Daisy's tables, Daisy's schema version and its upgrades.

A catalog is Tiled's SQL catalog (its own tables and Alembic revision) plus Daisy's
tables in the same database:

- ``daisy_schema``: one row, the Daisy schema version (:data:`SCHEMA_VERSION`);
- ``daisy_observations``: the observation index (:mod:`.obs_index`).

Versions: **1** is a Tiled catalog written by Daisy before the index existed (no
``daisy_schema`` table); **2** adds the index. :func:`prepare` brings an older catalog
up to date keeping every entry (the index is filled from the entries' metadata), and
refuses a catalog of a newer version than this Daisy knows, naming the URI (password
hidden) before anything starts.
"""

from __future__ import annotations

import asyncio
import fcntl
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Column, Integer, Table, event, insert, select, text

from . import obs_index
from .catalog_uri import CatalogError, is_postgresql, probe, shown

#: the Daisy schema version this code writes and reads
SCHEMA_VERSION = 2
#: key of the PostgreSQL advisory lock held by a registration
REGISTRATION_LOCK = 0x0DA15_7
BATCH = 2000

schema_table = Table("daisy_schema", obs_index.metadata, Column("version", Integer, nullable=False))


def engine_for(uri: str) -> Any:
    """An async SQLAlchemy engine on ``uri`` (SQLite: foreign keys enforced, as Tiled does)."""
    from sqlalchemy.ext.asyncio import create_async_engine

    eng = create_async_engine(uri)
    if not is_postgresql(uri):

        @event.listens_for(eng.sync_engine, "connect")
        def _fk(dbapi_conn: Any, record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

    return eng


async def _tiled_state(uri: str) -> str:
    """``"current"``, ``"empty"`` or ``"old"`` (an older Tiled wrote it)."""
    from tiled.alembic_utils import DatabaseUpgradeNeeded, UninitializedDatabase, check_database
    from tiled.catalog.core import ALL_REVISIONS, REQUIRED_REVISION

    eng = engine_for(uri)
    try:
        await check_database(eng, REQUIRED_REVISION, ALL_REVISIONS)
        return "current"
    except UninitializedDatabase:
        return "empty"
    except DatabaseUpgradeNeeded:
        return "old"
    finally:
        await eng.dispose()


async def _initialize_tiled(uri: str) -> None:
    from tiled.catalog.core import initialize_database

    eng = engine_for(uri)
    try:
        await initialize_database(eng)
    finally:
        await eng.dispose()


async def _use_write_ahead_log(uri: str) -> None:
    """SQLite: write-ahead-log journal (what Tiled's initialisation asks for, but from inside a
    transaction, where SQLite ignores it): one sync per commit instead of several, and readers
    never wait for a registration. Persistent in the file; the sync level stays FULL (durable)."""
    eng = engine_for(uri)
    try:
        async with eng.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text("PRAGMA journal_mode=WAL"))
    finally:
        await eng.dispose()


async def schema_version(conn: Any) -> int:
    """The Daisy schema version of the catalog on ``conn`` (1 when it has no ``daisy_schema`` table)."""

    def has_table(sync_conn: Any) -> bool:
        from sqlalchemy import inspect

        return inspect(sync_conn).has_table("daisy_schema")

    if not await conn.run_sync(has_table):
        return 1
    v = (await conn.execute(select(schema_table.c.version))).scalar()
    return int(v) if v is not None else 1


async def _hxmt_id(conn: Any) -> int | None:
    from tiled.catalog import orm

    n = orm.Node.__table__
    return (await conn.execute(select(n.c.id).where(n.c.parent == 0, n.c.key == "hxmt"))).scalar()


async def index_existing(conn: Any, log: Callable[[str], None] = lambda s: None) -> int:
    """Fill the observation index from the metadata of the ``hxmt/`` entries that lack a row."""
    from tiled.catalog import orm

    hx = await _hxmt_id(conn)
    if hx is None:
        return 0
    n, o = orm.Node.__table__, obs_index.observations
    missing = (
        select(n.c.id, n.c.metadata)
        .where(n.c.parent == hx)
        .where(~select(o.c.node_id).where(o.c.node_id == n.c.id).exists())
        .order_by(n.c.id)
    )
    rows = [
        obs_index.row_of(i, hx, m)
        for i, m in (await conn.execute(missing)).all()
        if (m or {}).get("kind") == "hxmt-observation"
    ]
    for k in range(0, len(rows), BATCH):
        await conn.execute(insert(o), rows[k : k + BATCH])
    if rows:
        log(f"  indexed {len(rows)} existing observation(s)")
    return len(rows)


async def _create_daisy_tables(conn: Any, postgres: bool, log: Callable[[str], None]) -> None:
    await conn.run_sync(obs_index.metadata.create_all)
    if postgres:  # trigram index for case-insensitive substring search of target names
        try:
            async with conn.begin_nested():
                await conn.execute(text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
            await conn.execute(
                text(
                    "CREATE INDEX IF NOT EXISTS ix_daisy_obs_target_trgm ON daisy_observations "
                    "USING gin (target_lc gin_trgm_ops)"
                )
            )
        except Exception as exc:  # no pg_trgm: target search scans the index table
            log(f"  note: no trigram index on target names (pg_trgm unavailable: {type(exc).__name__})")


async def _upgrade_daisy(uri: str, log: Callable[[str], None]) -> int:
    eng = engine_for(uri)
    try:
        async with eng.begin() as conn:
            v = await schema_version(conn)
            if v > SCHEMA_VERSION:
                raise CatalogError(
                    f"catalog {shown(uri)}: Daisy schema version {v} is newer than this Daisy knows "
                    f"({SCHEMA_VERSION}); upgrade Daisy (pip install -U daisy-widgets) to use it"
                )
            if v < 2:
                log(f"daisy: upgrading catalog schema {v} -> {SCHEMA_VERSION} (entries kept)")
                await _create_daisy_tables(conn, is_postgresql(uri), log)
                await index_existing(conn, log)
                await conn.execute(schema_table.delete())
                await conn.execute(insert(schema_table).values(version=SCHEMA_VERSION))
            return max(v, SCHEMA_VERSION)
    finally:
        await eng.dispose()


def prepare(uri: str, log: Callable[[str], None] = lambda s: None, create: bool = True) -> int:
    """Check the catalog at ``uri`` and bring it to :data:`SCHEMA_VERSION`; returns the version.

    Creates Tiled's tables in an empty database when ``create``; upgrades an older Daisy
    schema keeping its entries.

    Raises
    ------
    CatalogError
        Unreachable database, wrong credentials, a catalog of a newer Daisy schema or an older
        Tiled revision, or an empty database when ``create`` is false; the message names the URI
        with its password hidden.
    """
    probe(uri)
    state = asyncio.run(_tiled_state(uri))
    if state == "old":
        raise CatalogError(
            f"catalog {shown(uri)}: written by an older Tiled; back it up (pg_dump, or copy the file) "
            f"and run `tiled catalog upgrade-database` on it"
        )
    if state == "empty":
        if not create:
            raise CatalogError(f"catalog {shown(uri)}: the database holds no catalog")
        from tiled.alembic_utils import stamp_head
        from tiled.catalog.alembic_constants import ALEMBIC_DIR, ALEMBIC_INI_TEMPLATE_PATH

        log(f"daisy: creating the catalog in {shown(uri)}")
        asyncio.run(_initialize_tiled(uri))
        stamp_head(ALEMBIC_INI_TEMPLATE_PATH, ALEMBIC_DIR, uri)
    if not is_postgresql(uri):
        asyncio.run(_use_write_ahead_log(uri))
    return asyncio.run(_upgrade_daisy(uri, log))


@asynccontextmanager
async def registration_lock(uri: str) -> AsyncIterator[None]:
    """Held by one registration at a time (readers are never blocked).

    PostgreSQL: a session advisory lock; SQLite: ``flock`` on ``<catalog>.register.lock``.
    """
    if is_postgresql(uri):
        eng = engine_for(uri)
        try:
            async with eng.connect() as conn:
                await conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": REGISTRATION_LOCK})
                try:
                    yield
                finally:
                    await conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": REGISTRATION_LOCK})
        finally:
            await eng.dispose()
        return
    from sqlalchemy.engine import make_url

    path = Path(make_url(uri).database).with_suffix(".register.lock")
    with open(path, "a") as fh:
        await asyncio.to_thread(fcntl.flock, fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
