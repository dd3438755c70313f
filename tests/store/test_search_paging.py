"""Paged archive search: pages cover every match exactly once (over HTTP, SQLite and PostgreSQL); the
first page evaluates the search once and gives what Tiled's own count and page give (same matches,
same order, same next-page cursor)."""

from __future__ import annotations

import asyncio
import sys

import pytest

from daisy_widgets.store import catalog as cat
from daisy_widgets.store import first_page, search_observations
from daisy_widgets.store.catalog_uri import resolve
from daisy_widgets.store.query import ObservationQuery

fx = sys.modules["daisy_store_fixtures"]
P = fx.PROGRAM

QUERIES = [
    {},
    {"target": "crab"},
    {"target": "x-1"},
    {"target": "field 7"},
    {"obs_id": P},
    {"obs_id": "P9"},
    {"cone": (83.63308, 22.0145, 1.0)},
    {"cone": (0.0, 1.0, 40.0)},
    {"start": "2018-03-01", "stop": "2019-03-02"},
    {"target": "src", "cone": (180.0, 0.0, 90.0), "start": 1.0e8, "stop": 1.0e8 + 2e5},
]


@pytest.mark.parametrize("limit", [1, 2, 4])
def test_pages_cover_every_match_exactly_once(env, limit):
    for q in QUERIES[:9]:
        whole = search_observations(**q)
        pages, offset = [], 0
        while True:
            page = search_observations(limit=limit, offset=offset, **q)
            assert len(page) <= limit
            pages += list(page["exp_id"])
            offset += limit
            if len(page) < limit:
                break
        assert sorted(pages) == sorted(whole["exp_id"]) and len(set(pages)) == len(pages), q


def _records(n: int) -> list[dict]:
    return [
        {
            "target": f"Src field {i}",
            "ra": (37.0 * i) % 360.0,
            "dec": ((11.0 * i) % 170.0) - 85.0,
            "obs_id": f"P9{i:09d}",
            "exp_id": f"P9{i:09d}01",
            "tstart": 1.0e8 + 1000.0 * i,
            "tstop": 1.0e8 + 1000.0 * i + 1500.0,
            "exposure": 1500.0,
        }
        for i in range(n)
    ]


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_first_page_is_tileds_page_from_one_evaluation(backend, request, tmp_path):
    if backend == "sqlite":
        uri = resolve(f"sqlite:///{tmp_path / 'c.db'}", tmp_path, from_command_line=False)
    else:
        db = f"p{abs(hash(request.node.nodeid)) % 10**9}"
        uri = resolve(
            request.getfixturevalue("postgres").create_database(db), tmp_path, from_command_line=False
        )
    data = tmp_path / "data"
    fx.write_data_folder(data)
    cat.build_catalog(uri, data, tmp_path / "storage", records=_records(300))
    c = cat.open_catalog(uri, data, tmp_path / "storage")
    statements: list[str] = []

    async def run():
        from sqlalchemy import event

        await c.startup()
        event.listen(
            c.context.engine.sync_engine, "before_cursor_execute", lambda *a: statements.append(a[2])
        )
        try:
            hx = await c.lookup_adapter(["hxmt"])
            for q in QUERIES:
                tq = ObservationQuery(
                    q.get("target"), q.get("obs_id"), q.get("cone"), q.get("start"), q.get("stop")
                )
                for threshold, limit in ((100, 100), (100, 3), (5, 5), (5, 6), (2000, 100)):
                    mine, tileds = hx.search(tq.tiled_query()), hx.search(tq.tiled_query())
                    cls = type(tileds)
                    statements.clear()
                    n = await mine.lbound_len(threshold=threshold)
                    page, cursor = await mine.items_page(None, limit)
                    keys, key_cursor = await mine.keys_page(None, limit)
                    searched = sum("daisy_observations" in s for s in statements)
                    assert n == await cls.lbound_len(tileds, threshold), (q, threshold)
                    t_page, t_cursor = await cls.items_page(tileds, None, limit)
                    assert [k for k, _ in page] == [k for k, _ in t_page] == keys, (q, threshold, limit)
                    assert [v.metadata() for _, v in page] == [v.metadata() for _, v in t_page]
                    assert cursor == t_cursor == key_cursor, (q, threshold, limit)
                    reused = threshold <= first_page.MAX_REMEMBERED and (n <= threshold or limit <= threshold)
                    assert searched == (1 if reused else 3), (q, threshold, limit, searched)
                    if cursor is not None:  # the next page: Tiled's own path
                        nxt, _ = await mine.items_page(cursor, limit)
                        t_nxt, _ = await cls.items_page(tileds, cursor, limit)
                        assert [k for k, _ in nxt] == [k for k, _ in t_nxt]
            return True
        finally:
            await c.shutdown()

    assert asyncio.run(run())
