"""Dask engine on a real distributed.LocalCluster: chunk mapping, futures on workers, errors, cancel."""

from __future__ import annotations

import threading
import time

import dask.array as da
import h5py
import numpy as np
import pytest
from distributed import Future

from daisy_widgets.core.algorithm import Algorithm
from daisy_widgets.core.datastore import DataStore
from daisy_widgets.core.engine import InProcessEngine, run_workflow
from daisy_widgets.core.errors import Cancelled, StepError
from daisy_widgets.core.params import Port, Split
from daisy_widgets.core.progress import CancelToken
from daisy_widgets.core.registry import get_algorithm
from daisy_widgets.core.workflow import Step, Workflow


def _wf() -> Workflow:
    return Workflow(
        "chain",
        [
            Step(
                "scale",
                "core.scale",
                {"factor": 2.0, "offset": 1.0},
                {"data": "raw/data"},
                {"data": "work/scaled"},
            ),
            Step(
                "smooth", "core.smooth", {"iterations": 3}, {"data": "work/scaled"}, {"data": "work/smooth"}
            ),
            Step("stats", "core.slice_stats", {}, {"data": "work/smooth"}, {"stats": "work/stats"}),
            Step("sum", "core.sum", {}, {"data": "work/smooth"}, {"total": "work/total"}),
        ],
        persist=["work/smooth", "work/stats", "work/total"],
    )


def test_same_results_as_in_process_with_outputs_on_workers(dask_engine):
    x = np.random.default_rng(1).random((24, 6, 10))
    ref = run_workflow(_wf(), DataStore({"raw/data": x}))
    events = []
    out = dask_engine.run(_wf(), DataStore({"raw/data": x}), progress=events.append)
    sm = out["work/smooth"]
    assert isinstance(sm, da.Array) and sm.numblocks[0] == 4  # mapped over 2 x n_workers chunks
    # the blocks are futures held by the cluster, not data in the client's graph
    futures = [v for v in dict(sm.__dask_graph__()).values() if isinstance(v, Future)]
    assert len(futures) == 4 and all(f.status == "finished" for f in futures)
    held = dask_engine.client.who_has(futures)
    assert all(held[f.key] for f in futures)  # each block sits in a worker's memory
    np.testing.assert_allclose(sm.compute(), ref["work/smooth"])
    np.testing.assert_array_equal(out["work/stats"], ref["work/stats"])
    assert out["work/total"] == pytest.approx(ref["work/total"])
    assert {e.chunks_total for e in events if e.step == "smooth"} == {4}
    assert events[-1].fraction == 1.0
    assert "work/scaled" not in out


def test_store_compute_fetches_each_block_from_its_worker(dask_engine):
    from distributed import get_task_stream

    x = np.random.default_rng(2).random((24, 6, 10))
    ref = run_workflow(_wf(), DataStore({"raw/data": x}))
    out = dask_engine.run(_wf(), DataStore({"raw/data": x}))
    with get_task_stream(dask_engine.client) as stream:
        whole = out.compute("work/smooth")
    assert isinstance(whole, np.ndarray) and whole.dtype == ref["work/smooth"].dtype
    np.testing.assert_allclose(whole, ref["work/smooth"])
    # no task on the cluster joins the blocks (arr.compute() would, in one worker): every
    # task there holds one block, a quarter of the whole
    assert stream.data and not [t for t in stream.data if "finalize" in str(t["key"])]
    assert max(t["nbytes"] for t in stream.data) == whole.nbytes // 4
    # blocks along two axes are placed right too, and the store keeps its blocks
    two_d = da.from_array(x.reshape(24, 60), chunks=(7, 25)).persist()
    np.testing.assert_array_equal(DataStore({"a": two_d}).compute("a"), x.reshape(24, 60))
    np.testing.assert_allclose(out["work/smooth"].compute(), ref["work/smooth"])


class _SlowOnWorkerZero(Algorithm):
    """Marks each row with the worker that ran it; 0.4 s a chunk on worker 0, 0.02 s elsewhere."""

    name = "test.slow_on_worker_zero"
    inputs = (Port("data", help="array (rows, ...)"),)
    outputs = (Port("worker", help="name of the worker that ran each row"),)
    split = Split(inputs={"data": 0}, outputs={"worker": 0}, block=1)

    def compute(self, data):
        from distributed import get_worker

        name = get_worker().name
        time.sleep(0.4 if name == 0 else 0.02)
        return {"worker": np.full(len(data), name)}


def test_chunks_of_a_big_input_go_to_the_worker_that_is_free(dask_engine):
    """A work queue: the fast worker takes most chunks (sent all at once they would split 6/6)."""
    wf = Workflow("queue", [Step("mark", _SlowOnWorkerZero.name, {}, {"data": "x"}, {"worker": "w"})])
    x = np.zeros((12, 20_000))  # 1.9 MB: scattered to the workers block by block
    lookup = {_SlowOnWorkerZero.name: _SlowOnWorkerZero}
    out = dask_engine.run(
        wf, DataStore({"x": x}), lookup=lambda name: lookup.get(name) or get_algorithm(name)
    )
    ran_on = out.compute("w")
    assert ran_on.shape == (12,)
    slow, fast = int((ran_on == 0).sum()), int((ran_on == 1).sum())
    assert slow + fast == 12 and slow >= 1
    assert fast >= 2 * slow, f"worker 0 (slow) ran {slow} chunks, worker 1 (fast) {fast}"


@pytest.mark.parametrize("width", [4, 20_000], ids=["in-graph", "big-scattered"])
def test_error_on_dask_names_step_and_chunk(dask_engine, width):
    x = np.ones((16, width))  # the 2.6 MB one goes through the work queue
    x[9, 2] = np.inf
    wf = Workflow("qa", [Step("finite", "core.check_finite", {}, {"data": "x"}, {"data": "y"}, block=4)])
    with pytest.raises(StepError) as ei:
        dask_engine.run(wf, DataStore({"x": x}))
    assert ei.value.step == "finite" and ei.value.chunk.startswith("3/4 (axis 0, 8:12)")
    assert "index (1, 2)" in str(ei.value)


@pytest.mark.parametrize("x", [np.zeros(8), np.zeros((8, 40_000))], ids=["in-graph", "big-scattered"])
def test_cancel_on_dask_within_seconds(dask_engine, x):
    wf = Workflow(
        "long", [Step("wait", "core.delay", {"seconds": 10.0}, {"data": "x"}, {"data": "y"})], persist=["y"]
    )
    store = DataStore({"x": x})
    token = CancelToken()
    threading.Timer(0.5, token.cancel).start()
    t0 = time.monotonic()
    with pytest.raises(Cancelled):
        dask_engine.run(wf, store, cancel=token)
    assert time.monotonic() - t0 < 6.0
    assert store.keys() == ["x"]

    # the chunks already running on the workers notice the cancel too (distributed Event) and stop
    def executing():
        return sum(dask_engine.client.run(lambda dask_worker: dask_worker.state.executing_count).values())

    deadline = time.monotonic() + 5.0
    while executing() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert executing() == 0
    assert time.monotonic() - t0 < 8.0  # well before the 10 s each chunk would have taken


def test_lazy_mode_streams_an_hdf5_input_block_by_block(dask_engine, tmp_path):
    p = tmp_path / "in.h5"
    x = np.random.default_rng(2).random((40, 8, 16)).astype(np.float32)
    with h5py.File(p, "w") as f:
        f.create_dataset("exchange/data", data=x, chunks=(5, 8, 16))
    store = DataStore()
    store.add_dataset("raw/data", p, "exchange/data", chunks=(10, 8, 16))
    wf = _wf()
    dask_engine.lazy = True
    try:
        out = dask_engine.run(wf, store)
    finally:
        dask_engine.lazy = False
    assert isinstance(out["work/smooth"], da.Array) and out["work/smooth"].numblocks[0] == 4
    out.save(tmp_path / "out.h5")
    ref = run_workflow(_wf(), DataStore({"raw/data": x}))
    back = DataStore.load(tmp_path / "out.h5")
    np.testing.assert_allclose(back["work/smooth"], ref["work/smooth"], rtol=1e-6)
    np.testing.assert_array_equal(back["work/stats"]["index"], np.arange(40))


def test_map_workflow_runs_stores_on_workers(dask_engine):
    wf = Workflow("obs", [Step("sum", "core.sum", {}, {"data": "counts"}, {"total": "total"})])
    out = dask_engine.map_workflow(wf, [DataStore({"counts": np.full(5, i)}) for i in range(4)])
    assert [s["total"] for s in out] == [0.0, 5.0, 10.0, 15.0]


def test_run_workflow_with_scheduler_address(dask_engine):
    addr = dask_engine.client.scheduler.address
    x = np.arange(12.0).reshape(6, 2)
    from daisy_widgets.core import engine as engine_mod

    try:
        out = run_workflow(
            Workflow("w", [Step("s", "core.scale", {"factor": 3.0}, {"data": "x"}, {"data": "y"})]),
            DataStore({"x": x}),
            engine="dask",
            scheduler=addr,
        )
        np.testing.assert_allclose(out.compute("y"), 3 * x)
        # a Dask result feeds an in-process run (futures are fetched on use)
        wf2 = Workflow("w2", [Step("s", "core.sum", {}, {"data": "y"}, {"total": "t"})])
        assert InProcessEngine().run(wf2, out)["t"] == 3 * x.sum()
    finally:
        engine_mod.get_dask_engine(addr).close()
        engine_mod._engines.clear()


def test_lazy_error_at_save_time_still_names_step_and_chunk(dask_engine, tmp_path):
    x = np.ones((40, 4), np.float32)
    x[33, 1] = np.nan
    with h5py.File(tmp_path / "in.h5", "w") as f:
        f.create_dataset("d", data=x, chunks=(10, 4))
    store = DataStore()
    store.add_dataset("raw", tmp_path / "in.h5", "d", chunks=(10, 4))
    wf = Workflow(
        "qa", [Step("finite", "core.check_finite", {}, {"data": "raw"}, {"data": "ok"})], persist=["ok"]
    )
    dask_engine.lazy = True
    try:
        out = dask_engine.run(wf, store)  # chunk 1 is fine: nothing fails yet
    finally:
        dask_engine.lazy = False
    with pytest.raises(StepError) as ei:
        out.save(tmp_path / "out.h5")
    assert ei.value.step == "finite" and ei.value.chunk.startswith("4/4 (axis 0, 30:40)")
    assert "index (3, 1)" in str(ei.value)
    assert not (tmp_path / "out.h5").exists()


@pytest.mark.timeout(180)
def test_thread_workers_are_not_paused_by_the_whole_process_memory():
    """Thread workers' memory monitor measures the whole process: with a limit below its size
    they paused for good and a run hung. Thread workers now get no memory limit."""
    import psutil

    from daisy_widgets.core.engine import DaskEngine

    assert psutil.Process().memory_info().rss > 100e6  # numpy, dask, distributed imported
    eng = DaskEngine(n_workers=1, threads_per_worker=1, processes=False, memory_limit="50MB")
    try:
        limits = eng.client.run(lambda dask_worker: dask_worker.memory_manager.memory_limit)
        assert list(limits.values()) == [None]
        time.sleep(1.0)  # the memory monitor runs every 100 ms: a limited worker would be paused by now
        wf = Workflow("mem", [Step("scale", "core.scale", {"factor": 2.0}, {"data": "x"}, {"data": "y"})])
        x = np.arange(12.0).reshape(3, 4)
        out = eng.run(wf, DataStore({"x": x}))
        np.testing.assert_allclose(eng.client.compute(out["y"]).result(), 2 * x)
    finally:
        eng.close()
