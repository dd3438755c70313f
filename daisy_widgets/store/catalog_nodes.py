"""The catalog's top-level containers, found with one plain SQL query; Tiled's adapters made only to write.

Looking a node up through Tiled (``lookup_adapter``) runs an ORM query, and the first ORM query
of a process configures every SQLAlchemy mapper of Tiled's schema: about 0.3-0.8 s, paid by
every ``daisy data register`` and every service start. A re-registration of a folder that has
nothing new writes nothing and needs no adapter: :class:`TopLevel` learns the ids of
``hxmt``, ``tomography`` and ``users`` and the keys under an entry with Core ``SELECT``
statements, and makes Tiled's adapter of a container (creating the container when it is
missing, as before) the first time something is written into it.
"""

from __future__ import annotations

from typing import Any


async def child(node: Any, key: str) -> Any | None:
    """Tiled's adapter of ``node``'s direct child ``key``, or None."""
    from tiled.server.core import NoEntry

    try:
        return await node.lookup_adapter([key])
    except NoEntry:
        return None


async def ensure_container(node: Any, key: str, metadata: dict) -> Any:
    """Tiled's adapter of the container ``key`` under ``node`` (created with ``metadata`` when missing)."""
    found = await child(node, key)
    if found is not None:
        return found
    await node.create_node(structure_family="container", metadata=metadata, key=key)
    return await child(node, key)


class TopLevel:
    """The top-level containers of ``catalog`` (``descriptions``: ``{key: description}``)."""

    def __init__(self, catalog: Any, descriptions: dict[str, str]):
        self.catalog = catalog
        self.descriptions = descriptions
        self.ids: dict[str, int] = {}
        self._adapters: dict[str, Any] = {}

    async def find(self) -> None:
        """Learn the containers' ids; create (through Tiled) any that is missing."""
        from sqlalchemy import select
        from tiled.catalog import orm

        n = orm.Node.__table__
        query = select(n.c.key, n.c.id).where(
            n.c.parent == self.catalog.node.id, n.c.key.in_(list(self.descriptions))
        )
        async with self.catalog.context.engine.connect() as conn:
            self.ids = {k: i for k, i in await conn.execute(query)}
        if set(self.ids) != set(self.descriptions):
            for key in self.descriptions:
                adapter = await self.adapter(key)
                self.ids[key] = adapter.node.id

    async def adapter(self, key: str) -> Any:
        """Tiled's adapter of the container ``key`` (made once; the container created when missing)."""
        if key not in self._adapters:
            self._adapters[key] = await ensure_container(
                self.catalog, key, {"description": self.descriptions[key]}
            )
        return self._adapters[key]

    async def keys_under(self, key: str) -> set[str]:
        """The keys of the entries directly under the container ``key``."""
        from sqlalchemy import select
        from tiled.catalog import orm

        n = orm.Node.__table__
        async with self.catalog.context.engine.connect() as conn:
            return set((await conn.execute(select(n.c.key).where(n.c.parent == self.ids[key]))).scalars())
