"""The tomography app's Open stage lists and opens the scans of the real data service."""

from __future__ import annotations

import pickle

import numpy as np
import pytest


@pytest.fixture
def app(env, tmp_path):
    pytest.importorskip("ipywidgets")
    from daisy_widgets.tomography.app import TomographyApp

    a = TomographyApp(
        data_dir=tmp_path, results_dir=tmp_path / "results", engine="inprocess", open_default=False
    )
    assert a.wait_idle(60)
    return a


def test_service_scans_are_listed_and_open_like_files(app, env):
    assert app.service_url == env.url
    assert sorted(app.list_service_scans()) == ["dx_scan", "nx_scan"]
    assert any("48 × 6 × 40" in label for label, _ in app.service_list.options)
    scan = app.open_from_service("dx_scan")
    assert scan is not None and app.scan is scan and scan.shape == (48, 6, 40)
    assert "limestone core" in app.metadata.value and "30" in app.metadata.value  # sample name, energy (keV)
    # read from the service, block by block: the values of the file
    np.testing.assert_array_equal(np.asarray(scan.projections[:, 2].compute()), env.arrays["dx"][:, 2])
    # the lazy arrays travel to Dask workers (pickled) and read there
    again = pickle.loads(pickle.dumps(scan.projections[5:9]))
    np.testing.assert_array_equal(again.compute(), env.arrays["dx"][5:9])
    assert not app.errors


def test_service_down_is_a_message_and_the_app_stays_usable(app, env, tmp_path):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}/api"
    app.service_url = dead
    assert app.list_service_scans() == []
    assert app.errors and "127.0.0.1" in app.message.value
    app.service_url = env.url  # the service is back: the same buttons work
    assert app.open_from_service("nx_scan") is not None and app.scan.shape == (30, 5, 24)
