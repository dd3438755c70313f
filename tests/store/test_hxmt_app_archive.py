"""The HXMT app's archive (``ServiceArchive``) over the real service: search rows and a fetched exposure the pipeline reads."""

from __future__ import annotations

import sys

import pytest

fx = sys.modules["daisy_store_fixtures"]


def test_service_archive_search_and_fetch(env):
    app_archive = pytest.importorskip("daisy_widgets.hxmt.app.archive")
    l1io = pytest.importorskip("daisy_widgets.hxmt.l1io")
    arch = app_archive.default_archive()
    assert isinstance(arch, app_archive.ServiceArchive)
    rows = arch.search(app_archive.Query(target="crab", ra=83.63308, dec=22.0145, radius=0.1))
    assert sorted(r["exp_id"] for r in rows) == [fx.PROGRAM + "0101", fx.PROGRAM + "0201"]
    row = next(r for r in rows if r["exp_id"] == fx.PROGRAM + "0101")
    assert row["instruments"] == ["HE", "ME", "LE"] and row["source"] == "service"
    folder = arch.fetch(row)
    obs = l1io.find_exposure(folder, "HE")
    assert obs.meta["OBJECT"] == "Crab" and obs.meta["EXP_ID"] == fx.PROGRAM + "0101"
