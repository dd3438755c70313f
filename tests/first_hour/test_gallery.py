"""The app index as a gallery: cards from the apps' own metadata, thumbnails, tools, notebooks,
resources (GPU, Dask, the data service) and the user's recent results, newest first."""

from __future__ import annotations

import base64
import io
import os
from pathlib import Path

import nbformat
from PIL import Image

from daisy_widgets.app_results import age_text, recent_results, results_folder
from daisy_widgets.app_thumbnails import THUMB_SIZE, data_uri, make_thumbnail
from daisy_widgets.apps_index import (
    Resources,
    index_app,
    index_html,
    list_apps,
    probe_resources,
    probe_service,
    read_app_info,
)

ROOT = Path(__file__).resolve().parents[2]


def _nb(path: Path, markdown: str, daisy: dict | None = None) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells.append(nbformat.v4.new_markdown_cell(markdown))
    nb.cells.append(nbformat.v4.new_code_cell("1 + 1"))
    if daisy is not None:
        nb.metadata["daisy"] = daisy
    nbformat.write(nb, path)
    return path


def test_every_app_names_a_thumbnail_taken_from_the_app():
    for app in list_apps(ROOT / "apps"):
        assert app.thumbnail is not None and app.thumbnail.is_file(), app.name
        img = Image.open(app.thumbnail)
        assert (
            img.size == THUMB_SIZE and len(img.convert("L").getcolors(256) or ()) > 20
        )  # a picture, not a blank
        assert app.results.get("param") and app.results.get("folders"), app.name


def test_a_new_app_gets_its_card_from_its_own_metadata(tmp_path):
    shot = tmp_path / "shot.png"
    Image.new("RGB", (1366, 768), (30, 90, 160)).save(shot)
    make_thumbnail(shot, tmp_path / "thumbnails" / "new.png")
    _nb(
        tmp_path / "new.ipynb",
        "# Heading\nfrom the cell",
        {"thumbnail": "thumbnails/new.png", "title": "New app"},
    )
    _nb(tmp_path / "plain.ipynb", "# Plain\nno metadata")
    info = read_app_info(tmp_path / "new.ipynb")
    assert (info.title, info.description) == ("New app", "from the cell")
    html = index_html(list_apps(tmp_path), Resources(False, "no GPU", True, "local"), lab="/user/u/lab")
    assert html.count('class="daisy-card daisy-app-entry"') == 2
    uri = data_uri(tmp_path / "thumbnails" / "new.png")
    assert uri in html
    png = Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1])))
    assert png.size == THUMB_SIZE and png.convert("RGB").getpixel((10, 10)) == (30, 90, 160)
    assert "daisy-thumb-none" in html  # the plain one: a placeholder
    # the workbench and JupyterLab are cards too; the notebooks are linked
    assert 'data-tool="workbench"' in html and 'data-tool="jupyterlab"' in html
    assert 'href="/user/u/lab/tree/notebooks/workflows.ipynb"' in html
    assert data_uri(tmp_path / "new.ipynb") is None  # not a PNG


def test_recent_results_newest_first_each_reopening_in_its_app(tmp_path, monkeypatch):
    tomo, hxmt = tmp_path / "results", tmp_path / "products"
    monkeypatch.setenv("DAISY_RESULTS_DIR", str(tomo))
    monkeypatch.setenv("DAISY_HXMT_PRODUCTS", str(hxmt))
    (tomo).mkdir()
    old, new = tomo / "old_recon.h5", tomo / "new_recon.h5"
    old.write_bytes(b"x")
    new.write_bytes(b"y")
    (tomo / "notes.txt").write_text("not a result")
    prod = hxmt / "P010129900101" / "HE"
    prod.mkdir(parents=True)
    (prod / "HE_spec.pha").write_bytes(b"z")
    os.utime(old, (1e9, 1e9))
    os.utime(new, (2e9 - 100, 2e9 - 100))
    for f in prod.iterdir():
        os.utime(f, (1.5e9, 1.5e9))
    apps = list_apps(ROOT / "apps")
    recent = recent_results(apps)
    assert [r.path for r in recent] == [new, prod, old]
    assert recent[0].app == "tomography" and recent[0].href.startswith("tomography.ipynb?result=")
    assert recent[1].app == "hxmt" and recent[1].href.startswith("hxmt.ipynb?products=")
    html = index_html(apps, Resources(False, "", True, ""), recent=recent, now=2e9)
    assert html.index("new_recon.h5") < html.index("P010129900101") < html.index("old_recon.h5")
    assert "1 min ago" in html and "daisy-recent-none" not in html
    assert "No results yet" in index_html(apps, Resources(False, "", True, ""), recent=[])
    monkeypatch.delenv("DAISY_RESULTS_DIR")
    assert results_folder(apps[-1].results) == Path("~/daisy-results").expanduser()
    assert age_text(0, now=30) == "just now" and age_text(0, now=3 * 86400) == "3 days ago"


def test_resources_say_whether_the_data_service_answers(monkeypatch):
    monkeypatch.delenv("DAISY_TILED_URL", raising=False)
    assert probe_service()[0] is None
    monkeypatch.setenv("DAISY_TILED_URL", "http://127.0.0.1:9/api")  # discard port: nothing listens
    ok, detail = probe_service()
    assert ok is False and "NOT reachable" in detail
    res = probe_resources()
    assert res.service is False and "GiB memory" in res.dask_detail
    html = index_html([], res)
    assert 'class="daisy-res-service" data-available="false"' in html


def test_the_index_widget_lists_the_notebooks_and_the_recent_results(tmp_path, monkeypatch):
    monkeypatch.setenv("JUPYTERHUB_SERVICE_PREFIX", "/user/ann/")
    monkeypatch.setenv("DAISY_RESULTS_DIR", str(tmp_path))
    (tmp_path / "scan_recon.h5").write_bytes(b"x")
    page = index_app(ROOT / "apps").value
    for nb in ("tomography_quickstart", "data_service", "hxmt_quickstart", "workflows"):
        assert f"/user/ann/lab/tree/notebooks/{nb}.ipynb" in page, nb
    assert f"tomography.ipynb?result={str(tmp_path / 'scan_recon.h5').replace('/', '%2F')}" in page
