"""In-process engine: results, progress with ETA, cancellation, errors naming step and chunk."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from daisy_widgets.core.datastore import DataStore
from daisy_widgets.core.engine import InProcessEngine, run_workflow
from daisy_widgets.core.errors import Cancelled, StepError
from daisy_widgets.core.progress import CancelToken
from daisy_widgets.core.workflow import Step, Workflow


def _chain(block=4) -> Workflow:
    return Workflow(
        "chain",
        [
            Step(
                "scale",
                "core.scale",
                {"factor": 2.0},
                {"data": "raw/data"},
                {"data": "work/scaled"},
                block=block,
            ),
            Step(
                "smooth",
                "core.smooth",
                {"iterations": 2},
                {"data": "work/scaled"},
                {"data": "work/smooth"},
                block=block,
            ),
            Step(
                "stats", "core.slice_stats", {}, {"data": "work/smooth"}, {"stats": "work/stats"}, block=block
            ),
        ],
        persist=["work/smooth", "work/stats"],
    )


def _reference(x: np.ndarray) -> np.ndarray:
    y = (2.0 * x).astype(np.float64)
    for _ in range(2):
        p = np.pad(y, [(0, 0)] * (y.ndim - 1) + [(1, 1)], mode="edge")
        y = 0.25 * p[..., :-2] + 0.5 * p[..., 1:-1] + 0.25 * p[..., 2:]
    return y


def test_results_match_numpy_reference_and_chunks_are_stitched():
    x = np.random.default_rng(0).random((18, 5, 7))
    out = run_workflow(_chain(), DataStore({"raw/data": x}))
    np.testing.assert_allclose(out["work/smooth"], _reference(x))
    st = out["work/stats"]
    np.testing.assert_array_equal(st["index"], np.arange(18))  # chunk offsets are right
    np.testing.assert_allclose(st["mean"], _reference(x).reshape(18, -1).mean(1))
    assert "work/scaled" not in out  # intermediate released


def test_progress_events_steps_chunks_and_eta():
    events = []
    run_workflow(_chain(block=3), DataStore({"raw/data": np.ones((12, 4, 4))}), progress=events.append)
    fr = [e.fraction for e in events]
    assert fr == sorted(fr) and fr[-1] == 1.0
    assert {e.chunks_total for e in events if e.step == "smooth"} == {4}
    assert [e.chunks_done for e in events if e.step == "scale" and e.message == ""][-1] == 4
    assert {e.step for e in events} >= {"scale", "smooth", "stats"}
    assert all(e.n_steps == 3 for e in events)
    mid = [e for e in events if 0 < e.fraction < 1]
    assert mid and all(e.eta is not None and e.eta >= 0 for e in mid)
    assert events[-1].eta == 0.0


def test_eta_tracks_the_real_time_left():
    wf = Workflow("slow", [Step("wait", "core.delay", {"seconds": 0.1}, {"data": "x"}, {"data": "y"})])
    events = []
    t0 = time.monotonic()
    run_workflow(wf, DataStore({"x": np.zeros(10)}), progress=events.append)
    total = time.monotonic() - t0
    half = next(e for e in events if e.chunks_done == 5)
    assert half.eta == pytest.approx(total - half.elapsed, abs=0.4)


def test_cancel_stops_within_a_second_and_restores_the_store():
    wf = Workflow(
        "long",
        [
            Step("scale", "core.scale", {"factor": 2.0}, {"data": "x"}, {"data": "y"}),
            Step("wait", "core.delay", {"seconds": 10.0}, {"data": "y"}, {"data": "z"}),
        ],
        persist=["z"],
    )
    store = DataStore({"x": np.zeros(100)})
    token = CancelToken()
    threading.Timer(0.3, token.cancel).start()
    t0 = time.monotonic()
    with pytest.raises(Cancelled):
        run_workflow(wf, store, cancel=token)
    assert time.monotonic() - t0 < 4.0  # the delay step alone would take 10 s
    assert store.keys() == ["x"] and not store.persisted()  # no partial output, no persist mark


def test_failing_chunk_names_workflow_step_chunk_and_cause():
    x = np.ones((20, 3))
    x[13, 1] = np.nan
    wf = Workflow("qa", [Step("finite", "core.check_finite", {}, {"data": "x"}, {"data": "y"}, block=5)])
    with pytest.raises(StepError) as ei:
        run_workflow(wf, DataStore({"x": x}))
    e = ei.value
    assert e.workflow == "qa" and e.step == "finite" and e.chunk.startswith("3/4 (axis 0, 10:15)")
    assert isinstance(e.cause, ValueError) and "(3, 1)" in str(e)
    assert "workflow 'qa', step 'finite', chunk 3/4" in str(e)


def test_a_key_written_twice_is_released_once():
    """Two steps writing one key, and a step updating its input in place: the run ends cleanly."""
    wf = Workflow(
        "twice",
        [
            Step("a", "core.scale", {"factor": 2.0}, {"data": "x"}, {"data": "tmp"}),
            Step("b", "core.scale", {"factor": 3.0}, {"data": "tmp"}, {"data": "tmp"}),
            Step("c", "core.scale", {"factor": 1.0}, {"data": "tmp"}, {"data": "out"}),
        ],
        persist=["out"],
    )
    out = run_workflow(wf, DataStore({"x": np.arange(4.0)}))
    np.testing.assert_allclose(out["out"], 6.0 * np.arange(4.0))
    assert "tmp" not in out and "x" in out


def test_map_workflow_many_stores():
    wf = Workflow("obs", [Step("sum", "core.sum", {}, {"data": "counts"}, {"total": "total"})])
    stores = [DataStore({"counts": np.full(5, i)}) for i in range(4)]
    out = InProcessEngine().map_workflow(wf, stores)
    assert [s["total"] for s in out] == [0.0, 5.0, 10.0, 15.0]


def test_consumed_objects_are_dropped_after_their_last_reader():
    """consumed=True (batch runs): an object the run produced leaves the store (and memory) once the
    last step reading it has run; inputs given, persisted objects, ``keep`` and final values stay."""
    import weakref

    wf = Workflow(
        "consume",
        [
            Step("a", "core.scale", {"factor": 2.0}, {"data": "x"}, {"data": "t1"}),
            Step("b", "core.scale", {"factor": 3.0}, {"data": "t1"}, {"data": "t2"}),
            Step("c", "core.scale", {"factor": 1.0}, {"data": "t2"}, {"data": "t2"}),  # updated in place
            Step("d", "core.add", {}, {"a": "t2", "b": "x"}, {"sum": "t3"}),
            Step("e", "core.scale", {"factor": 0.5}, {"data": "t3"}, {"data": "out"}),
            Step("f", "core.scale", {"factor": 1.0}, {"data": "t1b"}, {"data": "kept"}),
        ],
        persist=["out"],
    )
    store = DataStore({"x": np.arange(4.0), "t1b": np.ones(2)})
    seen, refs = {}, {}

    def prog(ev):
        if ev.step and ev.step not in seen:
            seen[ev.step] = set(store.keys())
            refs.update({k: weakref.ref(store[k]) for k in store if k not in refs})

    run_workflow(wf, store, progress=prog, release=False, consumed=True, keep=["t3"])
    assert "t1" in seen["b"] and "t1" not in seen["c"] and refs["t1"]() is None
    assert "t2" in seen["d"] and "t2" not in seen["e"]  # read last by d (c rewrote it before)
    assert set(store.keys()) == {"x", "t1b", "t3", "out", "kept"}  # t3 kept; given inputs stay
    np.testing.assert_allclose(store["out"], 0.5 * (6.0 * np.arange(4.0) + np.arange(4.0)))
    # without it, the same workflow keeps everything (release=False)
    plain = run_workflow(wf, DataStore({"x": np.arange(4.0), "t1b": np.ones(2)}), release=False)
    assert {"t1", "t2", "t3"} <= set(plain.keys())
    # with control flow (a condition) nothing is dropped early: what runs is known only while running
    cond = Workflow(
        "cond",
        [
            Step("a", "core.scale", {"factor": 2.0}, {"data": "x"}, {"data": "t1"}),
            Step("b", "core.scale", {"factor": 3.0}, {"data": "t1"}, {"data": "t2"}, when="1 > 0"),
        ],
    )
    out = run_workflow(cond, DataStore({"x": np.arange(4.0)}), release=False, consumed=True)
    assert {"t1", "t2"} <= set(out.keys())
