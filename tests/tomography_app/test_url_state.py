"""The tomography app's state in its address: a shared link reopens the same view (file, stage, parameters)."""

from __future__ import annotations

import numpy as np
import pytest

from daisy_widgets.tomography.app import TomographyApp
from daisy_widgets.tomography.app import url_state as U
from daisy_widgets.widgets.url_state import CopyLink, copy_link_html, encode_query, query_params


def _app(data_dir, tmp_path, state):
    return TomographyApp(
        data_dir=data_dir,
        results_dir=tmp_path / "results",
        engine="inprocess",
        preview_delay=0.01,
        url_state=state,
    )


def _close(app):
    app.preview_runner.cancel()
    app.wait_idle(60)


def test_query_round_trip_and_voila_environment(monkeypatch):
    q = encode_query({"file": "scans/a b.h5", "stage": "centre", "center": 296.3, "row": None, "x": ""})
    assert q == "?file=scans%2Fa+b.h5&stage=centre&center=296.3"
    assert query_params(q) == {"file": "scans/a b.h5", "stage": "centre", "center": "296.3"}
    monkeypatch.setenv("QUERY_STRING", "file=x.h5&stage=raw")  # what Voila gives the kernel
    assert query_params() == {"file": "x.h5", "stage": "raw"}
    monkeypatch.delenv("QUERY_STRING")
    assert query_params() == {} and encode_query({}) == ""
    link = CopyLink({"a": 1})
    assert link.state() == {"a": "1"} and 'data-query="?a=1"' in link.value
    assert "Copy link" in copy_link_html("?a=1") and "replaceState" in copy_link_html("?a=1")
    assert "<script" not in copy_link_html('?a="><script>')


def test_a_shared_link_opens_the_scan_at_the_centre_stage_with_its_parameters(data_dir, sample, tmp_path):
    state = {"file": "tomo_sample.h5", "stage": "centre", "center": "49.25", "row": "2", "filter": "hann"}
    app = _app(data_dir, tmp_path, state)
    try:
        assert app.scan is not None and app.scan.path.endswith("tomo_sample.h5")
        assert app.center == 49.25 and app.center_method == "from the shared link"
        assert app.tabs.selected_index == 3 and app.stages["centre"].rendered
        assert app.center_slider.value == 49.25  # the stage shows it
        assert app.model.preview_row == 2 and app.model.filter == "hann"
        assert not app.errors
        # the link follows the state, and reads back as the same view
        assert app.link.state() == {
            "file": "tomo_sample.h5",
            "stage": "centre",
            "center": "49.25",
            "row": "2",
            "algorithm": "fbp",
            "filter": "hann",
        }
        app.set_center(50.0)
        app.show_stage("6 Preview")
        assert app.link.state()["center"] == "50" and app.link.state()["stage"] == "preview"
    finally:
        _close(app)


def test_a_link_to_a_file_the_user_cannot_read_says_so_and_the_app_stays_usable(
    data_dir, sample, tmp_path, monkeypatch
):
    app = _app(data_dir, tmp_path, {"file": "elsewhere/missing.h5", "stage": "centre", "center": "40"})
    try:
        assert app.scan is None and app.model.message_error
        assert "missing.h5 does not exist" in app.model.message
        assert app.open_scan(sample) is not None  # usable afterwards
    finally:
        _close(app)
    # a file that exists but may not be read (the tests run as root: access is refused by a stub)
    monkeypatch.setattr(U.os, "access", lambda path, mode: False)
    assert "you do not have permission to read" in U.unreadable(sample)
    app = _app(data_dir, tmp_path, {"file": str(sample)})
    try:
        assert app.scan is None and "permission" in app.model.message and app.model.message_error
    finally:
        _close(app)


def test_bad_parameters_in_a_link_are_named_and_the_rest_is_used(data_dir, tmp_path):
    app = _app(
        data_dir, tmp_path, {"file": "tomo_sample.h5", "center": "9999", "filter": "nope", "stage": "x"}
    )
    try:
        msg = app.model.message
        assert app.scan is not None and app.center is None
        assert "center '9999'" in msg and "filter 'nope'" in msg and "stage 'x'" in msg
    finally:
        _close(app)


def test_a_saved_result_reopens_with_its_volume_scan_and_centre(data_dir, sample, tmp_path):
    from daisy_widgets.tomography.io import write_recon

    vol = np.random.default_rng(0).random((3, 96, 96)).astype(np.float32)
    out = tmp_path / "results" / "tomo_sample_recon.h5"
    out.parent.mkdir()
    write_recon(out, vol, params={"center": 51.5, "slices": "1:4", "filter": "ramp"}, input_path=sample)
    app = _app(data_dir, tmp_path, {"result": str(out)})
    try:
        np.testing.assert_array_equal(app.volume, vol)
        assert app.volume_first_slice == 1 and app.center == 51.5
        assert app.scan is not None and app.tabs.selected_index == 7
        assert app.link.state()["result"] == str(out) and app.link.state()["stage"] == "result"
        assert "Reopened the result" in app.model.message
    finally:
        _close(app)


@pytest.mark.parametrize("key", ["file", "result"])
def test_a_shared_file_replaces_the_default_sample(data_dir, tmp_path, key):
    app = _app(data_dir, tmp_path, {key: str(tmp_path / "nothing.h5")})
    try:
        assert app.scan is None  # the sample scan was not opened instead
    finally:
        _close(app)
