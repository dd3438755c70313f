"""The app's Live mode without a browser: the file browser lists the growing scan as "acquiring",
the live panel follows it, and "reconstruct when complete" opens it and reconstructs the volume."""

from __future__ import annotations

import time

import numpy as np

from daisy_widgets.store.acquisition import acquisition_state
from daisy_widgets.store.scanning import scan_metadata

from .conftest import daisy_process
from .test_faults import _wait_for_frames


def _wait(cond, timeout=120.0, what=""):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def test_live_mode_in_the_app(tmp_path, compiled):
    from daisy_widgets.tomography.app import TomographyApp

    data = tmp_path / "data"
    data.mkdir()
    scan = data / "growing.h5"
    app = TomographyApp(
        data_dir=data, results_dir=tmp_path / "results", engine="inprocess", open_default=False
    )
    writer = daisy_process(
        "tomo", "acquire", str(scan), "--quiet", "--width", "96", "--rows", "4", "--angles", "120", "--rate", "40",
        "--flats", "3", "--darks", "2",
    )  # fmt: skip
    try:
        _wait(lambda: acquisition_state(scan) == "acquiring", what="the writer to hold the file")
        _wait_for_frames(scan, 1)  # SWMR on (before, the file is locked: listed as acquiring, not readable)
        # the data service lists it, marked acquiring
        meta = scan_metadata(scan, data)
        assert meta is not None and meta["acquisition"] == "acquiring" and meta["format"] == "data-exchange"
        stage = app.stage("open")
        stage.browser.refresh()
        labels = [label for label, _name in stage.browser.listing.options]
        assert "growing.h5  · acquiring" in labels
        stage.browser.select("growing.h5")
        panel = stage.live_panel
        seen = []
        live = panel.follow()
        inner = live.on_update
        live.on_update = lambda st: (seen.append(st.frames), inner(st))
        _wait(lambda: app.model.volume is not None, 180, "the volume reconstructed when complete")
    finally:
        assert writer.wait(60) == 0
    assert acquisition_state(scan) is None  # finished: no longer acquiring
    broken = data / "truncated.h5"
    broken.write_bytes(scan.read_bytes()[:2000])
    assert acquisition_state(broken) is None  # a damaged file is not "acquiring"
    assert len(set(seen)) > 2 and seen[-1] == 120
    status = panel.status.value
    assert "complete" in status and "120 / 120 projections" in status and "estimated" in status
    assert panel.preview.value[:4] == b"\x89PNG" and panel.sinogram.value[:4] == b"\x89PNG"
    assert app.model.scan is not None and app.model.scan.shape == (120, 4, 96)
    assert app.model.center_method == "live", (app.model.message, panel.status.value)
    assert abs(app.model.center - (95 / 2 + 3.5)) < 0.5
    result = app.model.volume
    assert result.data.shape == (4, 96, 96) and np.isfinite(result.data).all()
    assert result.input_path and result.input_path.endswith("growing.h5")
    assert abs(float(result.params["center"]) - app.model.center) < 1e-6
    panel.stop()
    app.wait_idle(60)
