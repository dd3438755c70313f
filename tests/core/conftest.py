"""Fixtures for the framework tests: a small real Dask LocalCluster shared by the Dask tests."""

from __future__ import annotations

import warnings

import pytest

from daisy_widgets.core.registry import PluginWarning


@pytest.fixture(autouse=True)
def _quiet_plugins():
    # technique plug-ins may be half-written while the framework is tested
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PluginWarning)
        yield


@pytest.fixture(scope="module")
def dask_engine():
    """A DaskEngine on a real ``distributed.LocalCluster`` (2 thread workers, quick to start)."""
    from daisy_widgets.core.engine import DaskEngine

    eng = DaskEngine(n_workers=2, threads_per_worker=1, processes=False, memory_limit="2GB")
    _ = eng.client  # start the cluster now, not inside the first test
    yield eng
    eng.close()
