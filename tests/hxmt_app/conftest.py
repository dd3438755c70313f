"""Simulated demo observations for the HXMT app tests (short exposures, simulated once per session)."""

from __future__ import annotations

import warnings

import pytest

from daisy_widgets.core.registry import PluginWarning


@pytest.fixture(autouse=True)
def _quiet_plugins():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PluginWarning)
        yield


@pytest.fixture(scope="session")
def data_root(tmp_path_factory):
    """A data folder as ``daisy data sample`` makes it: two Crab exposures (HE; the first also LE), 700 s each.

    Returns the folder holding ``data/hxmt/<ObsID>/<ExpID>-<date>-01-01/`` (pass it to ``LocalArchive``).
    """
    from daisy_widgets.hxmt.simulate import (
        DEFAULT_START,
        SimulationConfig,
        first_good_window,
        simulate_observation,
        write_sample_observations,
    )

    root = tmp_path_factory.mktemp("sample")
    write_sample_observations(root, n=1, exposure=700.0, instruments=("HE", "LE"))
    # the second demo observation, a day later, HE only (as write_sample_observations would make it)
    start = first_good_window(DEFAULT_START + 86400.0, min_good=600.0)
    simulate_observation(
        root / "data" / "hxmt",
        SimulationConfig(instruments=("HE",), exposure=700.0, start=start, obs_id="P0101299002", seed=1),
    )
    return root


@pytest.fixture
def archive(data_root):
    from daisy_widgets.hxmt.app.archive import LocalArchive

    return LocalArchive(data_root)


@pytest.fixture
def make_app(archive, tmp_path):
    """Build an app on the sample data with products in a temporary folder (in-process engine by default)."""
    from daisy_widgets.hxmt.app import HxmtApp

    def make(engine="inprocess", **kw):
        return HxmtApp(
            archive=kw.pop("archive", archive), products_dir=tmp_path / "products", engine=engine, **kw
        )

    return make


@pytest.fixture
def he_app(make_app):
    """An app with the first Crab observation selected and HE ticked (nothing run yet)."""
    app = make_app()
    app.search(obs_id="P0101299001")
    app.table.select([0])
    app.instruments = ["HE"]
    return app
