"""One evaluation of an archive search per first page: the count's query also gives the page's ids.

For every page of search results Tiled's server asks the catalog first for a bounded count
(``lbound_len(threshold)``: ``SELECT count(*) FROM (SELECT 1 ... LIMIT threshold + 1)``, the
response's ``meta.count``) and then for the page (``items_page(cursor, limit)``: ``... ORDER
BY id LIMIT limit + 1``). Both evaluate the search's condition; on SQLite, a condition
without an index (a target-name substring) or with many index candidates (a wide cone and a
time range) builds its whole list of matches each time (about 25-30 ms at 100,000
observations).

:func:`remember_first_ids` makes the search's catalog node (a new one per request) count by
fetching the ids themselves, in page order, up to ``threshold + 1``; the first page
(``cursor`` None, default order) then reads those entries by id, without evaluating the
condition again. The count, the page and its order are the same as Tiled's (the same
conditions, scope and order); any other request (later pages, other orders, larger
thresholds, deep searches) goes to Tiled's methods unchanged.
"""

from __future__ import annotations

from typing import Any

#: the largest count threshold whose ids are kept (Tiled's server uses 100)
MAX_REMEMBERED = 1000


def remember_first_ids(node: Any, base_conditions: list) -> Any:
    """``node`` (a Tiled catalog node with the search's conditions appended to ``base_conditions``)
    with ``lbound_len``, ``items_page`` and ``keys_page`` sharing one evaluation for the first page."""
    if node.deep:
        return node
    from sqlalchemy import select
    from tiled.catalog import orm

    tiled_lbound, tiled_items, tiled_keys = node.lbound_len, node.items_page, node.keys_page
    seen: dict[str, Any] = {}

    def in_default_order() -> bool:
        return node._is_default_sort and node.default_sorting_direction == 1

    async def lbound_len(threshold: int) -> int:
        if threshold > MAX_REMEMBERED or not in_default_order():
            return await tiled_lbound(threshold=threshold)
        stmt = node._scope_statement(select(orm.Node.id))
        stmt = node.apply_conditions(stmt).order_by(*node.order_by_clauses).limit(threshold + 1)
        async with node.context.session() as db:
            ids = list((await db.execute(stmt)).scalars())
        seen.update(ids=ids, complete=len(ids) <= threshold)
        return len(ids)

    def by_id(limit: int | None) -> Any | None:
        """The node restricted to the remembered ids when they hold the first page whole."""
        ids = seen.get("ids")
        if ids is None or not in_default_order() or limit is None:
            return None
        if not seen["complete"] and limit + 1 > len(ids):
            return None
        return node.new_variation(conditions=list(base_conditions) + [orm.Node.id.in_(ids[: limit + 1])])

    async def items_page(cursor: int | None = None, limit: int | None = None) -> Any:
        fast = by_id(limit) if cursor is None else None
        return await (fast.items_page(None, limit) if fast is not None else tiled_items(cursor, limit))

    async def keys_page(cursor: int | None = None, limit: int | None = None) -> Any:
        fast = by_id(limit) if cursor is None else None
        return await (fast.keys_page(None, limit) if fast is not None else tiled_keys(cursor, limit))

    node.lbound_len, node.items_page, node.keys_page = lbound_len, items_page, keys_page
    return node
