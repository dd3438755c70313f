"""Workflow format 2 running, in-process and on a real Dask LocalCluster, with the same results:
a condition picks SIRT or FBP by the number of angles, retries, skips, GPU steps that fall back
to their CPU twin or run on the GPU-labelled worker (where each chunk ran is recorded), and an
alignment loop that runs until converged."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from daisy_widgets.core.algorithm import Algorithm
from daisy_widgets.core.control import RunReport
from daisy_widgets.core.datastore import DataStore
from daisy_widgets.core.engine import DaskEngine, InProcessEngine
from daisy_widgets.core.errors import StepError
from daisy_widgets.core.params import Int, Port, Split, Text
from daisy_widgets.core.policies import Case, ErrorPolicy, Repeat
from daisy_widgets.core.registry import get_algorithm
from daisy_widgets.core.workflow import Step, Workflow, WorkflowError
from daisy_widgets.tomography.phantom import ScanOptions, phantom_slices, simulate_scan
from daisy_widgets.tomography.recon import reconstruct


class Flaky(Algorithm):
    """Fail the first ``fail_times`` calls (counted in a file, so across worker processes too)."""

    name = "test.flaky"
    inputs = (Port("data"),)
    outputs = (Port("data"),)
    params = (Text("counter", "", help="counter file"), Int("fail_times", 2, min=0))

    def compute(self, data):
        p = Path(self.values["counter"])
        n = int(p.read_text()) if p.exists() else 0
        p.write_text(str(n + 1))
        if n < self.values["fail_times"]:
            raise OSError(f"flaky file system (call {n + 1})")
        return {"data": data + 1}


class Where(Algorithm):
    """Add 1 and record, per slice, the worker that computed it."""

    name = "test.where"
    inputs = (Port("data", ndim=(1, 2, 3)),)
    outputs = (Port("data"), Port("where", kind="table"))
    split = Split(inputs={"data": 0}, outputs={"data": 0, "where": 0}, block=2)

    def compute(self, data):
        try:
            from distributed import get_worker

            addr = get_worker().address
        except (ImportError, ValueError):
            addr = "inprocess"
        where = np.empty(data.shape[0], dtype=[("worker", "U64")])
        where["worker"] = addr
        return {"data": data + 1.0, "where": where}


_TEST = {a.name: a for a in (Flaky, Where)}


def lookup(name: str) -> type:
    return _TEST[name] if name in _TEST else get_algorithm(name)


@pytest.fixture(scope="module")
def gpu_labelled_engine():
    """Two thread workers, one started with the GPU resource label (a CPU standing in for a GPU).

    Its client is not made the default one: the module's other cluster (``dask_engine``) keeps
    that role, and closing the two in any order leaves no stale default scheduler behind.
    """
    from distributed import Client

    from daisy_widgets.core.local_cluster import start_local_cluster

    cluster = start_local_cluster(
        dict(n_workers=2, threads_per_worker=1, processes=False, memory_limit="1GB", dashboard_address=":0"),
        gpu_workers=1,
    )
    client = Client(cluster, set_as_default=False)
    yield DaskEngine(client)
    client.close()
    cluster.close()


@pytest.fixture(params=["inprocess", "dask"])
def engine(request, dask_engine):
    return InProcessEngine() if request.param == "inprocess" else dask_engine


def _run(engine, wf, store, **kw):
    report, events = RunReport(), []
    out = engine.run(wf, store, report=report, progress=events.append, lookup=lookup, **kw)
    return out, report, events


def _get(store, key):
    from daisy_widgets.core.datastore import materialize

    return np.asarray(materialize(store[key]))


# -- conditions ----------------------------------------------------------------------------
def _recon_wf() -> Workflow:
    io = {"sinograms": "raw/sino", "theta": "raw/theta"}
    return Workflow(
        "pick recon",
        [
            Step("scan", "core.info", {}, {"data": "raw/theta"}, {"length": "work/n_angles"}),
            Step(
                "recon",
                switch=[
                    Case(
                        Step(
                            "sirt",
                            "tomo.reconstruct",
                            {"algorithm": "sirt", "iterations": 40},
                            io,
                            {"recon": "work/recon"},
                        ),
                        "scan.length < max_angles_for_sirt",
                    ),
                    Case(Step("fbp", "tomo.reconstruct", {"algorithm": "fbp"}, io, {"recon": "work/recon"})),
                ],
            ),
        ],
        params={"max_angles_for_sirt": 180},
        persist=["work/recon"],
    )


_ROWS = [14, 15, 16, 17]


@pytest.mark.parametrize(("n_angles", "chosen", "method"), [(60, "sirt", "sirt"), (720, "fbp", "fbp")])
def test_condition_picks_sirt_for_few_angles_and_fbp_for_many(engine, n_angles, chosen, method):
    sc = simulate_scan(ScanOptions(size=32, n_angles=n_angles, flux=0, seed=1))
    sino = np.ascontiguousarray(sc.line_integrals[_ROWS])
    out, report, _ = _run(engine, _recon_wf(), DataStore({"raw/sino": sino, "raw/theta": sc.theta_deg}))
    other = {"sirt": "fbp", "fbp": "sirt"}[chosen]
    assert report["recon"].status == "ran" and f"recon.{chosen}" in report["recon"].reason
    assert report[f"recon.{chosen}"].status == "ran"
    assert report[f"recon.{other}"].status == "skipped"
    rec = _get(out, "work/recon")
    # the same as calling the chosen method directly ...
    ref = reconstruct(sino, np.deg2rad(sc.theta_deg), None, method, iterations=40)
    np.testing.assert_allclose(rec, ref, rtol=1e-4, atol=1e-5)
    # ... and close to the phantom
    truth = phantom_slices(32, rows=_ROWS, height=32, mu_max=sc.mu_max)
    yy, xx = np.mgrid[:32, :32] - 15.5
    inside = yy**2 + xx**2 < 13**2
    err = np.sqrt(np.mean((rec[:, inside] - truth[:, inside]) ** 2)) / np.abs(truth[:, inside]).max()
    assert err < 0.12, err


# -- error policies ------------------------------------------------------------------------
def _flaky_wf(counter: Path, retry: int, then: str = "fail") -> Workflow:
    return Workflow(
        "flaky",
        [
            Step(
                "read",
                "test.flaky",
                {"counter": str(counter), "fail_times": 2},
                {"data": "raw"},
                {"data": "work/read"},
                on_error=ErrorPolicy(retry=retry, backoff_s=0.01, then=then),
            ),
            Step("sum", "core.sum", {}, {"data": "work/read"}, {"total": "work/total"}),
        ],
        persist=["work/read", "work/total"],
    )


def test_step_that_fails_twice_succeeds_under_retry_3(engine, tmp_path):
    out, report, events = _run(engine, _flaky_wf(tmp_path / "n", 3), DataStore({"raw": np.arange(4.0)}))
    assert (tmp_path / "n").read_text() == "3"
    np.testing.assert_array_equal(_get(out, "work/read"), np.arange(4.0) + 1)
    assert out["work/total"] == 10.0
    r = report["read"]
    assert (r.status, r.attempts) == ("retried", 3) and "flaky file system (call 2)" in r.reason
    retries = [e for e in events if e.event == "retry"]
    assert [e.attempt for e in retries] == [2, 3] and all(e.step == "read" for e in retries)
    assert "retried" in str(report) and "read" in str(report)


def test_too_few_retries_fail_the_run_naming_the_step(engine, tmp_path):
    with pytest.raises(StepError, match="step 'read'.*flaky file system \\(call 2\\)"):
        _run(engine, _flaky_wf(tmp_path / "n", 1), DataStore({"raw": np.arange(4.0)}))


def test_skip_policy_skips_the_steps_that_need_the_output(engine, tmp_path):
    out, report, events = _run(
        engine, _flaky_wf(tmp_path / "n", 0, "skip"), DataStore({"raw": np.arange(4.0)})
    )
    assert report["read"].status == "skipped" and "failed after 1 attempt" in report["read"].reason
    assert report["sum"].status == "skipped" and "'work/read' is absent" in report["sum"].reason
    assert "work/total" not in out and "work/read" not in out
    assert {e.step for e in events if e.event == "skip"} == {"read", "sum"}


# -- resources -----------------------------------------------------------------------------
def _gpu_wf() -> Workflow:
    return Workflow(
        "gpu or cpu",
        [
            Step(
                "gpu",
                "test.where",
                {},
                {"data": "raw"},
                {"data": "work/out", "where": "work/where"},
                resources={"gpu": 1},
                on_error=ErrorPolicy(then="cpu"),
            ),
            Step("cpu", "test.where", {}, {"data": "raw"}, {"data": "work/out", "where": "work/where"}),
            Step("total", "core.sum", {}, {"data": "work/out"}, {"total": "work/total"}),
        ],
        persist=["work/out", "work/where", "work/total"],
    )


def test_gpu_step_falls_back_to_its_cpu_twin_without_a_gpu_worker(engine):
    from daisy_widgets.core.backend import gpu_available

    if isinstance(engine, InProcessEngine) and gpu_available():
        pytest.skip("this machine has a GPU: the in-process engine runs the GPU step itself")
    x = np.arange(24.0).reshape(8, 3)
    out, report, events = _run(engine, _gpu_wf(), DataStore({"raw": x}))
    assert report["gpu"].status == "fell back" and report["gpu"].fell_back_to == "cpu"
    assert "no worker offers gpu=1" in report["gpu"].reason
    assert report["cpu"].status == "ran" and report["cpu"].reason == "in place of 'gpu'"
    np.testing.assert_array_equal(_get(out, "work/out"), x + 1)
    where = set(_get(out, "work/where")["worker"])
    if isinstance(engine, DaskEngine):
        assert where <= set(engine.client.scheduler_info()["workers"]) and where
    else:
        assert where == {"inprocess"}
    assert [e.event for e in events if e.event] == ["fallback"]


def test_gpu_step_runs_only_on_the_gpu_labelled_worker(gpu_labelled_engine):
    workers = gpu_labelled_engine.client.scheduler_info()["workers"]
    gpu = [a for a, w in workers.items() if w.get("resources", {}).get("GPU")]
    assert len(workers) == 2 and len(gpu) == 1
    x = np.arange(48.0).reshape(16, 3)
    out, report, _ = _run(gpu_labelled_engine, _gpu_wf(), DataStore({"raw": x}))
    assert report["gpu"].status == "ran" and report["cpu"].status == "not run"
    where = _get(out, "work/where")["worker"]
    assert len(where) == 16 and set(where) == set(gpu)  # 8 chunks of 2 slices, every one on the GPU worker
    np.testing.assert_array_equal(_get(out, "work/out"), x + 1)
    # a CPU step's chunks go anywhere: both workers take some
    cpu = Workflow(
        "cpu",
        [Step("c", "test.where", {}, {"data": "raw"}, {"data": "o", "where": "w"}, block=1)],
        persist=["w"],
    )
    spread = _run(gpu_labelled_engine, cpu, DataStore({"raw": np.zeros((40, 2))}))[0]
    assert set(_get(spread, "w")["worker"]) == set(workers)


def test_run_refuses_before_start_when_no_worker_offers_a_resource(engine):
    wf = Workflow(
        "gpu only",
        [Step("g", "test.where", {}, {"data": "raw"}, {"data": "o", "where": "w"}, resources={"gpu": 1})],
    )
    from daisy_widgets.core.backend import gpu_available

    if isinstance(engine, InProcessEngine) and gpu_available():
        pytest.skip("this machine has a GPU")
    store = DataStore({"raw": np.zeros((4, 2))})
    with pytest.raises(WorkflowError, match="(?s)step 'g'.*no worker offers gpu=1") as ei:
        _run(engine, wf, store)
    assert ei.value.step == "g" and store.keys() == ["raw"]


# -- loops ---------------------------------------------------------------------------------
def _align_wf() -> Workflow:
    return Workflow(
        "align until converged",
        [
            Step(
                "align",
                "tomo.align",
                {"iterations": 2, "vertical": True},
                {"sinograms": "raw/sino", "theta": "raw/theta"},
                {"sinograms": "work/aligned", "shifts": "work/shifts"},
                repeat=Repeat("max(abs(align.shifts)) < tolerance_px", 15),
            )
        ],
        params={"tolerance_px": 0.1},
        persist=["work/aligned", "work/shifts"],
    )


@pytest.fixture(scope="module")
def jittered():
    sc = simulate_scan(ScanOptions(size=32, n_angles=45, jitter=2.0, flux=0, seed=3))
    ref = InProcessEngine().run(
        _align_wf(), DataStore({"raw/sino": sc.line_integrals, "raw/theta": sc.theta_deg})
    )
    return sc, ref


def test_alignment_loops_until_converged(engine, jittered):
    sc, ref = jittered
    out, report, events = _run(
        engine, _align_wf(), DataStore({"raw/sino": sc.line_integrals, "raw/theta": sc.theta_deg})
    )
    r = report["align"]
    assert 1 < r.iterations < 15 and "true" in r.reason
    assert np.abs(_get(out, "work/shifts")).max() < 0.1  # the last correction was below 0.1 px
    its = [e.iteration for e in events if e.event == "iteration"]
    assert its == list(range(1, r.iterations + 1))
    assert all(e.iteration for e in events if e.step == "align" and not e.event)  # chunk events carry it
    np.testing.assert_allclose(_get(out, "work/aligned"), ref["work/aligned"], atol=1e-5)
    # the motion is corrected: the aligned data is closer to the motion-free projections
    clean = simulate_scan(ScanOptions(size=32, n_angles=45, jitter=0.0, flux=0, seed=3)).line_integrals
    before = np.abs(sc.line_integrals - clean).mean()
    after = np.abs(_get(out, "work/aligned") - clean).mean()
    assert after < 0.5 * before, (before, after)


def test_lazy_dask_keeps_gpu_steps_on_the_gpu_labelled_worker(gpu_labelled_engine):
    from distributed import get_task_stream

    lazy = DaskEngine(gpu_labelled_engine.client, lazy=True)  # the same cluster, lazy graphs
    gpu = [a for a, w in lazy.client.scheduler_info()["workers"].items() if w.get("resources", {}).get("GPU")]
    wf = Workflow(
        "lazy gpu",
        [
            Step(
                "s",
                "core.scale",
                {"factor": 2.0},
                {"data": "raw"},
                {"data": "out"},
                resources={"gpu": 1},
                block=2,
            )
        ],
        persist=["out"],
    )
    x = np.arange(48.0).reshape(16, 3)
    with get_task_stream(lazy.client) as stream:
        out = lazy.run(wf, DataStore({"raw": x}))
        np.testing.assert_array_equal(out.compute("out"), 2 * x)
    ran = {t["worker"] for t in stream.data if str(t["key"]).strip("('\"").startswith("core.scale")}
    assert ran == set(gpu)  # every chunk of the GPU step, computed when the result was asked for


def test_sub_workflow_loop_feeds_its_outputs_back(engine):
    inner = Workflow(
        "halve and count",
        [
            Step("halve", "core.scale", {"factor": 0.5}, {"data": "x"}, {"data": "x"}),
            Step("total", "core.sum", {}, {"data": "x"}, {"total": "t"}),
        ],
    )
    wf = Workflow(
        "loop",
        [
            Step(
                "shrink",
                workflow=inner,
                inputs={"x": "raw"},
                outputs={"x": "work/y", "t": "work/t"},
                repeat=Repeat("shrink.t < 1", 20),
            )
        ],
        persist=["work/y", "work/t"],
    )
    x = np.full((4, 2), 4.0)  # total 32: 16, 8, 4, 2, 1, 0.5 -> 6 rounds
    out, report, events = _run(engine, wf, DataStore({"raw": x}))
    assert report["shrink"].iterations == 6 and report["shrink.halve"].status == "ran"
    np.testing.assert_allclose(_get(out, "work/y"), x / 2**6)
    assert out["work/t"] == pytest.approx(0.5)
    np.testing.assert_array_equal(out["raw"], x)  # the input itself is never overwritten
    assert [e.iteration for e in events if e.event == "iteration"] == [1, 2, 3, 4, 5, 6]
