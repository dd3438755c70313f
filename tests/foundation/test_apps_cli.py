"""``daisy apps``, ``daisy app NAME`` and the index's reading of apps/ (titles, descriptions, resources)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
import requests

from daisy_widgets.apps_index import (
    Resources,
    find_app,
    index_html,
    list_apps,
    probe_resources,
    read_app_info,
)
from daisy_widgets.cli import main

ROOT = Path(__file__).resolve().parents[2]


def _nb(path: Path, markdown: str | None, code: str = "1 + 1") -> Path:
    nb = nbformat.v4.new_notebook()
    if markdown is not None:
        nb.cells.append(nbformat.v4.new_markdown_cell(markdown))
    nb.cells.append(nbformat.v4.new_code_cell(code))
    nbformat.write(nb, path)
    return path


def test_title_and_description_come_from_the_first_markdown_cell(tmp_path):
    info = read_app_info(
        _nb(tmp_path / "spectra.ipynb", "\n# Spectra <b>viewer</b>\n\nFit spectra.\nSecond line.")
    )
    assert (info.name, info.title, info.description) == ("spectra", "Spectra <b>viewer</b>", "Fit spectra.")
    plain = read_app_info(_nb(tmp_path / "light_curves.ipynb", None))
    assert (plain.title, plain.description) == ("Light Curves", "")


def test_every_notebook_in_apps_is_listed_with_a_title():
    apps = list_apps(ROOT / "apps", include_index=True)
    names = {a.name for a in apps}
    assert names == {p.stem for p in (ROOT / "apps").glob("*.ipynb")}
    assert "index" in names and "index" not in {a.name for a in list_apps(ROOT / "apps")}
    for app in apps:
        assert app.title and app.description, app


def test_index_html_links_each_app_escapes_text_and_shows_resources(tmp_path):
    _nb(tmp_path / "a.ipynb", "# A <script>alert(1)</script>\nfirst app")
    _nb(tmp_path / "b.ipynb", "# B\nsecond app")
    _nb(tmp_path / "index.ipynb", "# Index\nthe index")
    html = index_html(
        list_apps(tmp_path), Resources(False, "no GPU", True, "local cluster"), lab="/user/u/lab"
    )
    assert 'href="a.ipynb"' in html and 'href="b.ipynb"' in html and 'href="index.ipynb"' not in html
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert 'class="daisy-res-gpu" data-available="false"' in html
    assert 'class="daisy-res-dask" data-available="true"' in html
    assert 'href="/user/u/lab"' in html


def test_dask_scheduler_that_does_not_answer_is_shown_unavailable(monkeypatch):
    monkeypatch.setenv("DAISY_DASK_SCHEDULER", "tcp://127.0.0.1:9")  # discard port: nothing listens
    res = probe_resources()
    assert res.dask is False and "NOT reachable" in res.dask_detail
    monkeypatch.delenv("DAISY_DASK_SCHEDULER")
    monkeypatch.delenv("DASK_SCHEDULER_ADDRESS", raising=False)
    assert probe_resources().dask is True


def test_daisy_apps_lists_titles_and_descriptions(capsys):
    assert main(["apps"]) == 0
    out = capsys.readouterr().out
    for app in list_apps(ROOT / "apps", include_index=True):
        assert app.name in out and app.title in out


def test_daisy_app_unknown_name_is_an_error_listing_the_apps(capsys):
    assert main(["app", "no-such-app", "--no-browser"]) == 1
    err = capsys.readouterr().err
    assert "no app called 'no-such-app'" in err and "tomography" in err
    assert find_app("index.ipynb", ROOT / "apps").name == "index"


def test_daisy_app_serves_the_index_with_voila_alone(tmp_path):
    """``daisy app index`` starts Voila; the page is served and its HTML asks for no CDN."""
    pytest.importorskip("voila")
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "daisy_widgets.cli", "app", "index", "--port", str(port), "--no-browser"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        url = f"http://127.0.0.1:{port}/voila/render/index.ipynb"
        deadline, r = time.monotonic() + 120, None
        while time.monotonic() < deadline:
            try:
                r = requests.get(url, timeout=60)
                break
            except requests.ConnectionError:
                time.sleep(0.5)
        assert r is not None and r.status_code == 200
        assert "cdn.jsdelivr.net" not in r.text and "cdnjs.cloudflare.com" not in r.text
        assert "index_app()" not in r.text  # no source shown
    finally:
        os.killpg(proc.pid, 2)  # Ctrl-C, as a terminal sends it
        out = proc.communicate(timeout=90)[0]
    assert proc.returncode == 0, out
    assert f"http://127.0.0.1:{port}/voila/render/index.ipynb" in out
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", port)) != 0, "Voila still answers after Ctrl-C"
