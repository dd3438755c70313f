"""HxmtApp against the real data service (``daisy data serve`` on a free port, real HTTP, API key):
search, fetch into the cache, run; a wrong key is said in plain words."""

from __future__ import annotations

from pathlib import Path

import pytest

from daisy_widgets.hxmt.app.archive import ServiceArchive
from daisy_widgets.store.local_service import launch_data_service


@pytest.fixture(scope="module")
def service(data_root, tmp_path_factory):
    pytest.importorskip("tiled.server")
    state = tmp_path_factory.mktemp("service-state")
    service = launch_data_service(data_root, state, start_new_session=True)
    yield service.url, service.api_key
    service.stop(20)


def test_search_fetch_and_run_through_the_service(service, make_app, tmp_path, monkeypatch):
    url, key = service
    monkeypatch.setenv("DAISY_CACHE_DIR", str(tmp_path / "cache"))
    app = make_app(archive=ServiceArchive(url, key))
    assert f"data service {url}" in app.source.value
    rows = app.search(target="crab")
    assert sorted(r["obs_id"] for r in rows) == ["P0101299001", "P0101299002"]
    assert all(r["source"] == "service" and r["uri"].startswith("hxmt/") for r in rows)
    assert len(app.search(target="Crab", ra="83.63", dec="22.01", radius="0.1", start="2018-03-02")) == 1
    app.instruments = ["HE"]
    app.forms["HE"].timing.value = False
    app.run(wait=True)
    assert app.progress.status.value == "done", app.progress.log_area.value
    assert app.lc_plot.points > 0 and app.spec_plot.points > 0
    # the Level-1 files were copied into the user's cache
    assert list(Path(tmp_path / "cache").rglob("HXMT_*_HE-Evt_FFFFFF_V*_L1P.FITS"))


def test_wrong_key_is_said_plainly(service, make_app):
    url, _ = service
    app = make_app(archive=ServiceArchive(url, "not-the-key"))
    assert app.search(target="Crab") == []
    msg = app.search_message.value
    assert "not available" in msg and ("401" in msg or "refused" in msg or "key" in msg)
    assert app.local_button.layout.display != "none"
