"""HxmtApp on the Dask engine: observations in parallel, per-job progress, cache kept on the workers, Cancel."""

from __future__ import annotations

import time

import pytest


@pytest.fixture
def dask_app(make_app):
    app = make_app(engine="dask")
    app.search(target="Crab")
    app.table.select([0, 1])
    app.instruments = ["HE"]
    return app


def test_two_observations_in_parallel_then_cached_rerun(dask_app):
    app = dask_app
    updates = []
    orig = app._on_update

    def spy(states):  # record what the page shows while running
        updates.append([(s.key, s.status, s.step) for s in states])
        orig(states)

    app._on_update = spy
    app.run(wait=True)
    assert app.progress.status.value == "done", app.progress.log_area.value
    assert sorted(r["key"] for r in app.summary_rows) == ["P010129900101/HE", "P010129900201/HE"]
    # each job reported its steps from its worker while running
    assert {k for u in updates for k, st, step in u if st == "running" and step} == {
        "P010129900101/HE",
        "P010129900201/HE",
    }
    assert "daisy-hxmt-job-status" in app.jobs_view.value
    workers = {k: r["worker"] for k, r in app.results.items()}
    assert all(w.startswith(("tcp://", "inproc://")) for w in workers.values())
    # one job per worker (two single-threaded workers): they ran side by side
    assert len(set(workers.values())) == 2
    # re-run with a new bin size: on the worker that holds each job's cache, earlier steps reused
    app.forms["HE"].set("lcgen", binsize=4)
    app.run(wait=True)
    for k, r in app.results.items():
        assert r["steps_run"] == ["lcgen", "bkgmap", "write"], k
        assert r["lc"].dt == 4
        assert r["worker"] == workers[k]


def test_cancel_stops_the_run_and_the_app_runs_again(dask_app):
    app = dask_app
    from daisy_widgets.hxmt.app.runner import clear_cache

    clear_cache()
    app.forms["HE"].set("lcgen", binsize=0.5)  # new fingerprints: nothing cached on the workers
    app.run()
    t0 = time.monotonic()
    while "running" not in app.jobs_view.value and time.monotonic() - t0 < 60:
        time.sleep(0.05)
    app.cancel()
    assert app.progress.cancel_button.disabled
    app.wait(120)
    assert app.progress.status.value in ("cancelled", "done"), (  # a job may have just finished
        app.progress.running,
        app.jobs_view.value,
        app.progress.log_area.value,
    )
    if app.progress.status.value == "cancelled":
        assert "Cancelled" in app.run_message.value
    assert not app.run_button.disabled
    app.run(wait=True)
    assert app.progress.status.value == "done" and app.lc_plot.points > 0
