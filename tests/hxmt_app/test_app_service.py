"""HxmtApp against the real data service (``daisy data serve`` on a free port, real HTTP, API key):
search, fetch into the cache, run; a wrong key is said in plain words."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from daisy_widgets.hxmt.app.archive import ServiceArchive


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def service(data_root, tmp_path_factory):
    pytest.importorskip("tiled.server")
    state = tmp_path_factory.mktemp("service-state")
    port = _free_port()
    env = dict(os.environ, DAISY_STATE_DIR=str(state))
    log = open(state / "serve.log", "wb")  # noqa: SIM115 (the server writes to it until the fixture ends)
    proc = subprocess.Popen(
        [sys.executable, "-m", "daisy_widgets.cli", "data", "serve", str(data_root), "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}/api"
    import requests

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"daisy data serve exited: {(state / 'serve.log').read_text()[-3000:]}")
        try:
            requests.get(url, timeout=2)
            break
        except requests.RequestException:
            time.sleep(0.5)
    key = (state / "tiled_api_key").read_text().strip()
    yield url, key
    proc.terminate()
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


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
