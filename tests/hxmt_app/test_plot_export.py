"""widgets/plot_export.py: PNG export of bqplot figures and file download links."""

from __future__ import annotations

import base64
import io
import re

import bqplot as bq
import numpy as np

from daisy_widgets.widgets.plot_export import (
    FileLinks,
    PlotExport,
    figure_to_png,
    file_link,
    server_files_location,
)


def _figure():
    xs, ys = bq.LinearScale(), bq.LinearScale()
    line = bq.Lines(x=np.arange(10.0), y=np.arange(10.0) ** 2, scales={"x": xs, "y": ys}, colors=["red"])
    return bq.Figure(
        marks=[line], axes=[bq.Axis(scale=xs, label="t"), bq.Axis(scale=ys, side="left")], title="parabola"
    )


def test_figure_to_png_draws_the_marks(tmp_path):
    from PIL import Image

    data = figure_to_png(_figure(), tmp_path / "f.png", dpi=50, size=(4, 3))
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert (tmp_path / "f.png").read_bytes() == data
    im = np.asarray(Image.open(io.BytesIO(data)).convert("RGB")).astype(int)
    assert im.shape[:2] == (150, 200)
    red = (im[..., 0] > 200) & (im[..., 1] < 80) & (im[..., 2] < 80)
    assert red.sum() > 50  # the red curve is drawn


def test_zoomed_scale_exports_the_zoomed_view():
    fig = _figure()
    fig.marks[0].scales["x"].min, fig.marks[0].scales["x"].max = 0.0, 2.0
    from PIL import Image

    im = np.asarray(Image.open(io.BytesIO(figure_to_png(fig, dpi=50, size=(4, 3)))).convert("RGB")).astype(
        int
    )
    red = (im[..., 0] > 200) & (im[..., 1] < 80) & (im[..., 2] < 80)
    full = np.asarray(
        Image.open(io.BytesIO(figure_to_png(_figure(), dpi=50, size=(4, 3)))).convert("RGB")
    ).astype(int)
    red_full = (full[..., 0] > 200) & (full[..., 1] < 80) & (full[..., 2] < 80)
    # zoomed on x in [0, 2] the curve leaves the plot early: fewer red columns than the full view
    assert np.count_nonzero(red.any(axis=0)) < np.count_nonzero(red_full.any(axis=0))


def test_data_url_link_round_trips(tmp_path):
    f = tmp_path / "HE_spec.pha"
    payload = bytes(range(256)) * 10
    f.write_bytes(payload)
    a = file_link(f)
    m = re.search(r"href='data:[^;]+;base64,([^']+)' download='HE_spec.pha'", a)
    assert m and base64.b64decode(m.group(1)) == payload


def test_files_route_link_when_under_server_root(tmp_path):
    f = tmp_path / "out dir" / "HE_lc.fits"
    f.parent.mkdir()
    f.write_bytes(b"x")
    a = file_link(f, base_url="/user/alice/", root=tmp_path)
    assert "href='/user/alice/files/out%20dir/HE_lc.fits'" in a
    # outside the root: inline instead
    assert "data:" in file_link(f, base_url="/user/alice/", root=tmp_path / "elsewhere")


def test_large_file_gives_the_path_only(tmp_path):
    f = tmp_path / "big.fits"
    f.write_bytes(b"0" * 2048)
    a = file_link(f, max_inline_bytes=1024)
    assert "href" not in a and str(f) in a


def test_file_links_widget_and_png_button(tmp_path, monkeypatch):
    for var in ("DAISY_SERVER_ROOT", "DAISY_BASE_URL", "JUPYTERHUB_SERVICE_PREFIX"):
        monkeypatch.delenv(var, raising=False)
    (tmp_path / "a.pha").write_bytes(b"1")
    links = FileLinks([tmp_path / "a.pha"])
    assert "daisy-file-link" in links.value and "a.pha" in links.value
    links.set_files([])
    assert "no files" in links.value
    exp = PlotExport(_figure(), "plot.png", tmp_path)
    exp.button.click()
    assert exp.last_path == tmp_path / "plot.png" and exp.last_path.stat().st_size > 1000
    assert "plot.png" in exp.link.value


def test_files_route_under_a_hub(tmp_path, monkeypatch):
    monkeypatch.delenv("DAISY_SERVER_ROOT", raising=False)
    monkeypatch.delenv("DAISY_BASE_URL", raising=False)
    monkeypatch.delenv("JUPYTERHUB_SERVICE_PREFIX", raising=False)
    assert server_files_location() == (None, None)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("JUPYTERHUB_SERVICE_PREFIX", "/user/bob/")
    assert server_files_location() == ("/user/bob/", str(tmp_path))
    f = tmp_path / "daisy-hxmt-products" / "HE_spec.pha"
    f.parent.mkdir()
    f.write_bytes(b"x")
    links = FileLinks([f])
    assert "href='/user/bob/files/daisy-hxmt-products/HE_spec.pha'" in links.value
