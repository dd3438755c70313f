"""The app index served by the user's Jupyter server without a kernel (``daisy_widgets.index_page``).

Real ``jupyter server`` processes on free ports, with the extension enabled as the hub enables
it: the page lists the apps of the apps folder with links under the server's base URL, needs the
token, and its resources section is filled from a short-lived probe process; a probe that fails
gives a message, not a traceback. The probe's cache and timeout are checked on real processes.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

import pytest
import requests

from daisy_widgets.index_page import ResourceProbe, apps_location

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "daisy-index-test-token"
BASE = "/user/tester/"


def _nb(path: Path, markdown: str, daisy: dict | None = None) -> None:
    path.write_text(
        json.dumps(
            {
                "cells": [{"cell_type": "markdown", "metadata": {}, "source": markdown}],
                "metadata": {"daisy": daisy or {}},
                "nbformat": 4,
                "nbformat_minor": 5,
            }
        )
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _tree(base: Path) -> dict[str, str]:
    """A user's home: ``apps/`` (the index and two apps, one with a result), ``notebooks/``; the env."""
    root = base / "home"
    (root / "apps").mkdir(parents=True)
    (root / "notebooks").mkdir()
    _nb(root / "apps" / "index.ipynb", "# Our apps\nEverything this site analyses.")
    results = {"folders": ["$DAISY_TEST_RESULTS"], "patterns": ["*.h5"], "param": "result", "label": "volume"}
    _nb(root / "apps" / "alpha.ipynb", "# Alpha app\nReconstructs alpha <scans>.", {"results": results})
    _nb(root / "apps" / "beta.ipynb", "# Beta app\nFits beta spectra.")
    _nb(root / "notebooks" / "explore.ipynb", "# Explore\nA notebook.")
    (base / "results").mkdir()
    (base / "results" / "vol one.h5").write_bytes(b"\x89HDF\r\n")
    return {
        "DAISY_APPS_DIR": str(root / "apps"),
        "DAISY_TEST_RESULTS": str(base / "results"),
        "PYTHONPATH": str(ROOT),
    }


def _start_server(base: Path, env_extra: dict[str, str], config: dict | None = None, clean: bool = False):
    port = _free_port()
    cfg = base / f"config-{port}.json"
    cfg.write_text(json.dumps(config or {}))
    env = {**os.environ, **env_extra}
    env.pop("JUPYTERHUB_SERVICE_PREFIX", None)
    if clean:  # no other server extension (JupyterLab, Voila): a quicker start
        env["JUPYTER_NO_CONFIG"] = "1"
    with open(base / f"server-{port}.log", "w") as log:  # the server keeps its own copy of the file
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "jupyter_server",
                "--no-browser",
                "--allow-root",
                f"--port={port}",
                "--ip=127.0.0.1",
                f"--ServerApp.token={TOKEN}",
                f"--ServerApp.base_url={BASE}",
                f"--ServerApp.root_dir={base / 'home'}",
                '--ServerApp.jpserver_extensions={"daisy_widgets.index_page": True}',
                f"--config={cfg}",
            ],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}{BASE}"
    deadline = time.monotonic() + 180
    while True:
        assert proc.poll() is None, (base / f"server-{port}.log").read_text()[-3000:]
        assert time.monotonic() < deadline, "the server did not start"
        try:
            if requests.get(url + "api", timeout=2).status_code == 200:
                break
        except requests.ConnectionError:
            pass
        time.sleep(0.3)
    return proc, url


def _stop(proc) -> None:
    proc.terminate()
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A server with the venv's extensions (JupyterLab, Voila...) and the index page."""
    base = tmp_path_factory.mktemp("index-page")
    proc, url = _start_server(base, _tree(base))
    yield url, base
    _stop(proc)


def _get(url: str, **kw):
    return requests.get(url, headers={"Authorization": f"token {TOKEN}"}, timeout=60, **kw)


def test_the_page_lists_the_apps_with_links_under_the_base_url(server):
    url, base = server
    r = _get(url + "daisy/apps")
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/html")
    page = r.text
    assert "<title>Our apps</title>" in page and "<h1>Our apps</h1>" in page
    assert "Everything this site analyses." in page
    names = re.findall(r'class="daisy-card daisy-app-entry" data-app="([^"]+)"', page)
    assert names == ["alpha", "beta"]  # sorted, the index itself left out
    links = re.findall(r'class="daisy-app-link" href="([^"]+)"', page)
    assert links == [f"{BASE}voila/render/apps/alpha.ipynb", f"{BASE}voila/render/apps/beta.ipynb"]
    assert "Reconstructs alpha &lt;scans&gt;." in page  # escaped
    # the tools and notebooks in JupyterLab (loaded in this server), under the base URL
    assert 'data-tool="workbench"' in page and f'href="{BASE}lab"' in page
    assert f'class="daisy-app-lab daisy-muted" href="{BASE}lab/tree/apps/alpha.ipynb"' in page
    assert f'class="daisy-notebook-link" href="{BASE}lab/tree/notebooks/explore.ipynb"' in page
    # the recent result reopens in its app
    item = re.search(
        r'<li class="daisy-recent-item" data-app="alpha"><a class="daisy-recent-link" href="([^"]+)">', page
    )
    results = base / "results" / "vol one.h5"
    assert (
        item
        and item.group(1)
        == f"{BASE}voila/render/apps/alpha.ipynb?result={urlencode({'result': str(results)})[7:]}"
    )
    # the resources are not probed for the page: a placeholder the page's script fills
    assert (
        'id="daisy-resources" data-state="pending"' in page
        and f'data-url="{BASE}daisy/apps/resources"' in page
    )
    assert "daisy-res-gpu" not in page
    assert re.search(r'data-xsrf="[^"]+"', page)  # sent with the fetch (JupyterHub's servers want it)
    assert "cdn" not in page.lower() and "<link" not in page  # nothing fetched from elsewhere
    assert _get(url + "daisy/apps/").status_code == 200


def test_the_page_and_the_resources_need_the_token(server):
    url, _ = server
    for path in ("daisy/apps", "daisy/apps/resources"):
        r = requests.get(url + path, timeout=60, allow_redirects=False)
        assert r.status_code in (302, 403), (path, r.status_code)
        assert r.status_code == 403 or "/login" in r.headers["Location"]
        r = requests.get(
            url + path, headers={"Authorization": "token wrong"}, timeout=60, allow_redirects=False
        )
        assert r.status_code in (302, 403) and "daisy-app" not in r.text and "daisy-res" not in r.text


def test_the_resources_come_from_the_probe_process(server):
    url, _ = server
    r = _get(url + "daisy/apps/resources")
    assert r.status_code == 200
    frag = r.text
    assert frag.startswith('<ul class="daisy-env-status">')
    for cls in ("daisy-res-gpu", "daisy-res-dask", "daisy-res-service"):
        assert re.search(rf'<li class="{cls}" data-available="(true|false|none)">', frag), cls
    # the same answer as the probe run here (no GPU on the test machine: CPU; no data service)
    from daisy_widgets.apps_index import probe_resources

    here = probe_resources()
    assert f'data-available="{str(here.gpu).lower()}"' in frag.split("daisy-res-dask")[0]
    assert "no data service configured" in frag
    assert _get(url + "daisy/apps/resources").text == frag  # kept (cache)


def test_a_failing_probe_gives_a_message_and_the_page_still_works(tmp_path):
    env = _tree(tmp_path)
    broken = [sys.executable, "-c", "import sys; sys.exit('probe broke on purpose')"]
    proc, url = _start_server(
        tmp_path, env, {"ServerApp": {"tornado_settings": {"daisy_resources_command": broken}}}, clean=True
    )
    try:
        page = _get(url + "daisy/apps")
        assert page.status_code == 200 and 'data-app="alpha"' in page.text
        assert "daisy-tool-card" not in page.text  # no JupyterLab in this server: no Lab cards
        r = _get(url + "daisy/apps/resources")
        assert r.status_code == 200
        assert 'class="daisy-res-error"' in r.text
        assert "exit code 1: probe broke on purpose" in r.text
        assert "Traceback" not in r.text
    finally:
        _stop(proc)


def test_the_probe_is_shared_kept_and_timed_out():
    async def scenario():
        script = "import time; time.sleep(0.3); print('<ul class=\"daisy-env-status\"></ul>')"
        probe = ResourceProbe([sys.executable, "-c", script], timeout=60, ttl=60)
        first = await asyncio.gather(*(probe.fragment() for _ in range(3)))
        assert first == ['<ul class="daisy-env-status"></ul>'] * 3 and probe.runs == 1
        assert await probe.fragment() == first[0] and probe.runs == 1  # kept
        probe.ttl = 0
        probe._kept = None
        await probe.fragment()
        assert probe.runs == 2

        slow = ResourceProbe([sys.executable, "-c", "import time; time.sleep(30)"], timeout=0.5)
        t0 = time.monotonic()
        text = await slow.fragment()
        assert time.monotonic() - t0 < 10
        assert "no answer within 0.5 s" in text and 'class="daisy-res-error"' in text

        missing = ResourceProbe(["/nonexistent/daisy-probe"])
        assert "could not start" in await missing.fragment()
        silent = ResourceProbe([sys.executable, "-c", "pass"])
        assert "printed nothing" in await silent.fragment()

    asyncio.run(scenario())


def test_apps_location_finds_the_apps_folder_under_the_root(tmp_path, monkeypatch):
    apps = tmp_path / "site" / "apps"
    apps.mkdir(parents=True)
    monkeypatch.setenv("DAISY_APPS_DIR", str(apps))
    home = tmp_path / "home"
    home.mkdir()
    (home / "apps").symlink_to(apps)
    assert apps_location(home) == (home / "apps", "apps")
    image_home = tmp_path / "image-home"  # the image links the apps as daisy-apps
    image_home.mkdir()
    (image_home / "daisy-apps").symlink_to(apps)
    assert apps_location(image_home) == (image_home / "daisy-apps", "daisy-apps")
    assert apps_location(apps) == (apps, "")  # the Voila-only profile: the root is the apps folder
