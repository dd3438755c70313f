"""What a registration finds registered already, and how it passes over unchanged exposures.

A re-registration of a data folder must notice every new or changed exposure and should cost
little for the rest. :func:`registered_exposures` reads, in one query, what the catalog holds
under ``hxmt/``: each exposure's folder, its Level-1 files (folder, name, size) and, for
exposures registered by this version, the modification times its folders had when they were
listed (``listing_mtime_ns``, see :func:`.scanning.listing_mtimes`). :class:`UnchangedCheck`
turns that into the two questions the folder walk asks:

- :meth:`UnchangedCheck.skip`, before the walk goes into a folder: a registered exposure whose
  folder and Level-1 folders have the recorded modification times holds the same entries (an
  entry added, removed or renamed sets its folder's time), and whose files have the recorded
  sizes is unchanged: the walk passes over it with one ``stat`` per folder and file and no
  listing (``os.scandir``: opening, reading and closing a folder, then sorting its entries);
- :meth:`UnchangedCheck.known`, for an exposure the walk has listed: the same Level-1 files
  with the same sizes (what every registration compared before the times were kept).

Either way an exposure whose files were rewritten in place with the same size is not noticed
(as before); one with a file of another size, or a file added or removed, is.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import obs_index

#: an exposure's registered Level-1 files: ``[(L1 folder, file name, size in bytes), ...]``
FileList = list[tuple[str, str, int]]


@dataclass
class Registered:
    """An exposure as registered: its entry's ``key``, its Level-1 ``files`` and its folders'
    ``mtimes`` (``{"": exposure folder, "HE": ..., ...}`` in ns; None when none were kept)."""

    key: str
    files: FileList
    mtimes: dict[str, int] | None = None


@dataclass
class RegisteredFolders:
    """``folders``: ``{folder relative to the served data folder: Registered}`` of the exposures
    registered completely (their index row written); ``keys``: ``{key: indexed}`` of every entry
    under ``hxmt/``."""

    folders: dict[str, Registered] = field(default_factory=dict)
    keys: dict[str, bool] = field(default_factory=dict)


def _file_list(files: Any) -> FileList:
    return [
        (str(f.get("folder")), str(f.get("name")), int(f["size"]) if f.get("size") is not None else -1)
        for f in files or []
    ]


def _mtimes(value: Any) -> dict[str, int] | None:
    if isinstance(value, str):
        value = json.loads(value)
    if not isinstance(value, dict) or "" not in value:
        return None
    return value if all(type(v) is int for v in value.values()) else None


async def registered_exposures(engine: Any, hx_id: int) -> RegisteredFolders:
    """What is registered under the ``hxmt`` container (node id ``hx_id``), in one query.

    Only the parts of each exposure's metadata that the checks use are read (``folder``,
    ``files``, ``listing_mtime_ns``: the database extracts them, as text), not the whole
    metadata: decoding every exposure's whole metadata was most of the query's time.
    """
    from sqlalchemy import select
    from tiled.catalog import orm

    n, o = orm.Node.__table__, obs_index.observations
    meta = n.c.metadata
    query = (
        select(
            n.c.key,
            meta["folder"].as_string(),
            meta["files"].as_string(),  # JSON text (SQLite's json_extract, PostgreSQL's ->>)
            meta["listing_mtime_ns"].as_string(),
            o.c.node_id,
        )
        .select_from(n.outerjoin(o, o.c.node_id == n.c.id))
        .where(n.c.parent == hx_id)
    )
    got = RegisteredFolders()
    async with engine.connect() as conn:
        for key, folder, files, mtimes, indexed in await conn.execute(query):
            got.keys[key] = indexed is not None
            if indexed is None or folder is None:
                continue
            files = json.loads(files) if isinstance(files, str) else files
            got.folders[str(folder)] = Registered(key, _file_list(files), _mtimes(mtimes))
    return got


class UnchangedCheck:
    """The walk's questions about registered exposures (see the module docstring).

    Parameters
    ----------
    registered
        ``{folder relative to served: Registered}`` (:attr:`RegisteredFolders.folders`).
    served
        The served data folder the registered folders are relative to.
    """

    def __init__(self, registered: dict[str, Registered], served: Path):
        self.registered = registered
        self.served = served
        self._top = str(served).rstrip(os.sep) + os.sep
        #: exposures passed over by :meth:`skip` and by :meth:`known` (for tests and logs)
        self.skipped = 0
        self.known_count = 0
        #: ``{key: mtimes}`` of unchanged exposures found by listing whose folders' times are to be
        #: kept (none kept before: an older registration, or times changed with the same entries)
        self.refresh: dict[str, dict[str, int]] = {}

    def _relative(self, folder: str) -> str:
        if folder.startswith(self._top):  # as Path.relative_to, without building paths
            return folder[len(self._top) :]
        try:
            return str(Path(folder).relative_to(self.served))
        except ValueError:
            return folder

    def skip(self, entry: os.DirEntry) -> bool:
        """True when ``entry`` (a folder the walk is about to list) is a registered exposure whose
        folders have their recorded modification times and whose files their recorded sizes."""
        had = self.registered.get(self._relative(entry.path))
        if had is None or had.mtimes is None:
            return False
        path = entry.path
        try:
            if entry.stat().st_mtime_ns != had.mtimes[""]:
                return False
            for folder, mtime in had.mtimes.items():
                if folder and os.stat(os.path.join(path, folder)).st_mtime_ns != mtime:
                    return False
            for folder, name, size in had.files:
                if os.stat(os.path.join(path, folder, name)).st_size != size:
                    return False
        except OSError:
            return False
        self.skipped += 1
        return True

    def known(self, root_of: Path, files: list, mtimes: dict[str, int] | None = None) -> bool:
        """``known(folder, files, mtimes)`` for :func:`.scanning.find_exposures`: the folder is
        registered with the same Level-1 files (names and sizes, from the folders' listings).
        An unchanged exposure whose folders' times (``mtimes``, from before their listing) differ
        from those kept is noted in :attr:`refresh`."""
        had = self.registered.get(self._relative(str(root_of)))
        if had is None or len(had.files) != len(files):
            return False
        try:  # the sizes from the folders' listings: one stat per file, no file opened
            now = [(f.folder, f.path.name, f.size()) for f in files]
        except OSError:
            return False
        if now != had.files:
            return False
        self.known_count += 1
        if mtimes is not None and mtimes != had.mtimes:
            self.refresh[had.key] = mtimes
        return True


#: entries whose metadata is updated per statement
REFRESH_CHUNK = 500


async def keep_listing_mtimes(engine: Any, hx_id: int, refresh: dict[str, dict[str, int]]) -> int:
    """Keep ``refresh`` (``{key: folders' times}``, :attr:`UnchangedCheck.refresh`) in the metadata
    (``listing_mtime_ns``) of those entries under ``hxmt`` (node id ``hx_id``), one transaction
    per :data:`REFRESH_CHUNK`; the next re-registration passes over them unlisted. Returns the
    number of entries updated."""
    from sqlalchemy import bindparam, select, update
    from tiled.catalog import orm

    n = orm.Node.__table__
    keys, done = list(refresh), 0
    for i in range(0, len(keys), REFRESH_CHUNK):
        chunk = keys[i : i + REFRESH_CHUNK]
        async with engine.begin() as conn:
            rows = await conn.execute(
                select(n.c.id, n.c.key, n.c.metadata).where(n.c.parent == hx_id, n.c.key.in_(chunk))
            )
            params = []
            for node_id, key, meta in rows:
                meta = json.loads(meta) if isinstance(meta, str) else dict(meta or {})
                meta["listing_mtime_ns"] = refresh[key]
                params.append({"node_id": node_id, "new_metadata": meta})
            if params:
                stmt = (
                    update(n).where(n.c.id == bindparam("node_id")).values(metadata=bindparam("new_metadata"))
                )
                await conn.execute(stmt, params)
            done += len(params)
    return done
