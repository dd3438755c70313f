"""Browsing the data service's catalog from the data toolbox (no widgets here).

:class:`CatalogBrowser` walks the service's tree (containers), lists the entries
of the current container with their structure family (container, array, table),
and loads an array or a table into the session's store under
``catalog/<path>/<key>`` (arrays lazily, as dask arrays over the service's chunks).
"""

from __future__ import annotations

from typing import Any

from .objects import SessionObjects

#: entries listed per container
MAX_ENTRIES = 200


class CatalogBrowser:
    """The current place in the data service's tree.

    Parameters
    ----------
    client
        A Tiled client of the service (:func:`daisy_widgets.store.client.connect`); made from
        ``$DAISY_TILED_URL`` on first use when None.
    """

    def __init__(self, client: Any = None):
        self._client = client
        self.path: list[str] = []

    @property
    def client(self) -> Any:
        if self._client is None:
            from ..store.client import connect

            self._client = connect()
        return self._client

    def node(self) -> Any:
        node = self.client
        for part in self.path:
            node = node[part]
        return node

    def entries(self) -> list[tuple[str, str]]:
        """``(key, structure family)`` of the current container's entries (the first :data:`MAX_ENTRIES`)."""
        node = self.node()
        out = []
        for key in list(node.keys())[:MAX_ENTRIES]:
            family = str(getattr(node[key], "structure_family", "") or "")
            out.append((str(key), family.rsplit(".", 1)[-1].lower()))
        return out

    def enter(self, key: str) -> None:
        """Go into the container ``key`` (``KeyError`` naming it when there is none)."""
        node = self.node()
        if key not in node:
            raise KeyError(f"the data service has no entry {'/'.join([*self.path, key])!r}")
        self.path.append(key)

    def up(self) -> None:
        if self.path:
            self.path.pop()

    def load(self, key: str, objects: SessionObjects) -> str:
        """Put the array or table ``key`` of the current container into the store; returns its store key."""
        import numpy as np

        node = self.node()[key]
        family = str(getattr(node, "structure_family", "")).rsplit(".", 1)[-1].lower()
        value = node.read()
        if family == "table":
            if hasattr(value, "compute"):
                value = value.compute()
            value = value.to_records(index=False)
            value = np.asarray(value).view(np.ndarray)
        elif family != "array":
            raise ValueError(
                f"{'/'.join([*self.path, key])}: a {family or 'container'}, not an array or a table"
            )
        store_key = "/".join(["catalog", *self.path, key])
        attrs = {
            k: v
            for k, v in dict(getattr(node, "metadata", {}) or {}).items()
            if isinstance(v, (str, int, float))
        }
        objects.put(store_key, value, {"source": "data service", **attrs})
        return store_key
