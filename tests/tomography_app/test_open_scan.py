"""Stage 1: browse the data folder, open a scan, see its metadata; bad files give a plain error."""

from __future__ import annotations

import pytest


def test_sample_is_opened_by_default_with_metadata(app, sample, geometry):
    size, angles, rows = geometry
    assert app.scan is not None and app.scan.path == str(sample)
    assert app.scan.shape == (angles, rows, size)
    meta = app.metadata.value
    for text in (f"{angles} angles", f"{rows} rows", f"{size} columns", "25.0 keV", "1 µm", "Shepp-Logan"):
        assert text in meta
    assert "tomo_sample.h5" in app.browser.entries and "bad/" in app.browser.entries
    assert "notes.txt" not in app.browser.entries  # only scan files are listed
    assert app.errors == []


def test_browser_navigation_stays_under_the_root(app, data_dir):
    app.browser.select("bad/")
    app.browser.open_selected()
    assert app.browser.cwd == (data_dir / "bad").resolve()
    assert "truncated.h5" in app.browser.entries
    app.browser.up()
    app.browser.up()  # already at the root: stays there
    assert app.browser.cwd == data_dir.resolve()


@pytest.mark.parametrize(
    "name, words",
    [
        ("empty.h5", "empty file"),
        ("not_hdf5.h5", "readable HDF5"),
        ("truncated.h5", "HDF5"),
        ("wrong_theta.h5", "/exchange/theta"),
    ],
)
def test_bad_file_shows_plain_error_and_app_keeps_working(app, data_dir, sample, name, words):
    before = app.scan
    app.browser.enter("bad")
    app.browser.select(name)
    app.browser.open_selected()  # what the Open button does
    assert app.scan is before  # the previous scan stays open
    assert "daisy-tomo-error" in app.message._dom_classes
    assert name in app.message.value and words in app.message.value
    assert "Traceback" not in app.message.value
    # the app still works: open the good scan again and preview
    assert app.open_scan(sample) is not None
    assert "daisy-tomo-error" not in app.message._dom_classes
    app.update_preview(wait=True)
    assert app.preview_image is not None
