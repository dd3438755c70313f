"""The Dask engine's LocalCluster as a careful Dask user sets it up, and its work queue's last chunks."""

from __future__ import annotations

import os
import time

import numpy as np
import pytest

from daisy_widgets.core.algorithm import Algorithm
from daisy_widgets.core.datastore import DataStore
from daisy_widgets.core.engine import DaskEngine, InProcessEngine
from daisy_widgets.core.local_cluster import LEAN_CONFIG, lean_worker_settings
from daisy_widgets.core.params import Port, Split
from daisy_widgets.core.registry import get_algorithm
from daisy_widgets.core.workflow import Step, Workflow


def _worker_state(dask_worker) -> dict:
    import dask
    import numba

    return {
        "profiling": "profile" in dask_worker.periodic_callbacks,
        "profile_config": dask.config.get("distributed.worker.profile.enabled"),
        "numba_env": os.environ.get("NUMBA_NUM_THREADS"),
        "numba_threads": numba.config.NUMBA_NUM_THREADS,
        "omp": os.environ.get("OMP_NUM_THREADS"),
        "pid": os.getpid(),
    }


def test_process_workers_are_lean_and_data_goes_straight_to_them(monkeypatch):
    """Two worker processes: profiler off, numba's threads = the cores shared by the worker threads,
    OpenMP at Dask's 1, data scattered and gathered directly; results identical to in-process."""
    from dask.system import CPU_COUNT

    monkeypatch.delenv("NUMBA_NUM_THREADS", raising=False)
    wf = Workflow(
        "lean", [Step("smooth", "core.smooth", {"iterations": 3}, {"data": "x"}, {"data": "y"}, block=2)]
    )
    x = np.random.default_rng(5).random((8, 16, 20_000 // 16))  # 1.3 MB: through the work queue
    with DaskEngine(n_workers=2, threads_per_worker=1, processes=True, memory_limit="1GB") as eng:
        states = list(eng.client.run(_worker_state).values())
        assert len({s["pid"] for s in states}) == 2 and os.getpid() not in {s["pid"] for s in states}
        expected = str(max(1, CPU_COUNT // 2))
        for s in states:
            assert s["profiling"] is False and s["profile_config"] is False
            assert s["numba_env"] == expected and s["numba_threads"] == int(expected)
            assert s["omp"] == "1"
        assert eng.client.direct_to_workers is True
        out = eng.run(wf, DataStore({"x": x})).compute("y")
    ref = InProcessEngine().run(wf, DataStore({"x": x}))["y"]
    np.testing.assert_array_equal(out, ref)


def test_worker_profile_can_be_kept(dask_engine):
    """``worker_profile=True`` keeps the dashboard's profiler; the shared engine (default) has it off."""
    assert not any(
        dask_engine.client.run(lambda dask_worker: "profile" in dask_worker.periodic_callbacks).values()
    )
    with DaskEngine(
        n_workers=1, threads_per_worker=1, processes=False, memory_limit="1GB", worker_profile=True
    ) as eng:
        on = eng.client.run(lambda dask_worker: "profile" in dask_worker.periodic_callbacks)
        assert list(on.values()) == [True]


def test_lean_settings_leave_what_the_user_set(monkeypatch):
    monkeypatch.setenv("NUMBA_NUM_THREADS", "3")
    config, env = lean_worker_settings({"n_workers": 2, "threads_per_worker": 1, "processes": True})
    assert env == {} and config == LEAN_CONFIG  # the user's NUMBA_NUM_THREADS reaches the workers as it is
    monkeypatch.delenv("NUMBA_NUM_THREADS")
    _, env = lean_worker_settings({"n_workers": 64, "threads_per_worker": 4, "processes": True})
    assert env == {"NUMBA_NUM_THREADS": "1"}  # never below one
    config, env = lean_worker_settings({"n_workers": 2, "processes": False}, profile=True)
    assert env == {}  # thread workers share this process's numba
    assert "distributed.worker.profile.enabled" not in config


class _SlowOnWorkerZero(Algorithm):
    """Names the worker that ran each row; 0.6 s a chunk on worker 0, 0.02 s elsewhere."""

    name = "test.slow_on_worker_zero_tail"
    inputs = (Port("data", help="array (rows, ...)"),)
    outputs = (Port("worker", help="name of the worker that ran each row"),)
    split = Split(inputs={"data": 0}, outputs={"worker": 0}, block=1)

    def compute(self, data):
        from distributed import get_worker

        name = get_worker().name
        time.sleep(0.6 if name == 0 else 0.02)
        return {"worker": np.full(len(data), name)}


@pytest.mark.parametrize("rows", [4, 3])
def test_last_chunks_are_not_queued_behind_a_busy_worker(dask_engine, rows):
    """With no more chunks waiting than the cluster has threads, each goes to a free thread: the
    slow worker runs only the chunk it started with (queued behind it, a second would wait 0.6 s
    while the fast worker stood idle)."""
    wf = Workflow("tail", [Step("mark", _SlowOnWorkerZero.name, {}, {"data": "x"}, {"worker": "w"})])
    x = np.zeros((rows, 200_000))  # 1.6 MB a row: every chunk goes through the work queue
    lookup = {_SlowOnWorkerZero.name: _SlowOnWorkerZero}
    out = dask_engine.run(
        wf, DataStore({"x": x}), lookup=lambda name: lookup.get(name) or get_algorithm(name)
    )
    ran_on = out.compute("w")
    assert sorted(set(ran_on.tolist())) == [0, 1]
    assert int((ran_on == 0).sum()) == 1, f"worker 0 (slow) ran rows {np.flatnonzero(ran_on == 0)}"
