"""The Fortran example plug-in ``deadtime.correct_rates`` (plugins/deadtime): against numpy and
stingray, on simulated dead-time-filtered events; the memory-order rule (C-ordered in, no copy); the
kernel's error codes as clear errors through the engine, in-process and on Dask; its form."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from daisy_widgets.core.datastore import DataStore
from daisy_widgets.core.engine import run_workflow
from daisy_widgets.core.errors import StepError
from daisy_widgets.core.workflow import Step, Workflow

deadtime = pytest.importorskip(
    "daisy_deadtime.algorithms",
    reason="the example plug-in plugins/deadtime is not installed: run make setup",
)


def reference(counts, dt, tau):
    m = counts / dt
    live = 1 - m * tau
    return m / live, live


def test_matches_numpy_and_stingray():
    from stingray.deadtime.model import r_in

    counts = np.random.default_rng(0).poisson(3000, (500, 18)).astype(np.float64)
    rates, live = deadtime.correct_rates(counts, 0.5, 20e-6)
    want_rates, want_live = reference(counts, 0.5, 20e-6)
    np.testing.assert_allclose(rates, want_rates, rtol=1e-14)
    np.testing.assert_allclose(live, want_live, rtol=1e-14)
    np.testing.assert_allclose(rates, r_in(20e-6, counts / 0.5), rtol=1e-12)
    one, _ = deadtime.correct_rates(counts[:, 3].astype(np.int64), 0.5, 20e-6)  # (bins,), integers
    np.testing.assert_allclose(one, want_rates[:, 3], rtol=1e-14)


def test_recovers_the_incident_rate_of_dead_time_filtered_events():
    from stingray.filters import filter_for_deadtime

    rng = np.random.default_rng(7)
    rate, tau, t_end, n_det = 4000.0, 100e-6, 50.0, 3
    counts = np.empty((int(t_end), n_det))
    for d in range(n_det):
        arrivals = np.sort(rng.uniform(0, t_end, rng.poisson(rate * t_end)))
        recorded = filter_for_deadtime(arrivals, tau, paralyzable=False)
        counts[:, d] = np.histogram(recorded, bins=np.arange(t_end + 1))[0]
    assert counts.mean() < 0.75 * rate  # 100 us at 4000/s loses a quarter of the events
    rates, live = deadtime.correct_rates(counts, 1.0, tau)
    assert abs(rates.mean() / rate - 1) < 0.01  # 600 000 events: 0.13 % statistical error
    assert np.allclose(live.mean(), 1 / (1 + rate * tau), rtol=0.01)


def test_c_ordered_counts_go_in_without_a_copy_fortran_ordered_ones_are_copied_once():
    c = np.random.default_rng(1).poisson(50, (400_000, 4)).astype(np.float64)  # 12.8 MB
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        out = deadtime.correct_rates(c, 1.0, 1e-5)
        c_peak = tracemalloc.get_traced_memory()[1] - base
        del out
        f = np.asfortranarray(c)
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        deadtime.correct_rates(f, 1.0, 1e-5)
        f_peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    assert 2 * c.nbytes <= c_peak < 2.2 * c.nbytes  # rates and live only
    assert f_peak >= 3 * c.nbytes  # plus the C-ordered copy of the input
    # the kernel writes into the caller's arrays and refuses, rather than copies, a wrong layout
    rates, live = np.empty_like(c), np.empty_like(c)
    ierr, *_ = deadtime._deadtime.correct_rates(c.T, 1.0, 1e-5, rates.T, live.T)
    assert ierr == 0 and np.allclose(rates, reference(c, 1.0, 1e-5)[0], rtol=1e-14)
    with pytest.raises(ValueError, match="intent\\(inout\\)"):
        deadtime._deadtime.correct_rates(c.T, 1.0, 1e-5, np.empty(c.shape[::-1]), live.T)


def test_error_codes_become_clear_errors():
    c = np.full((10, 3), 100.0)
    with pytest.raises(deadtime.DeadTimeError, match="bin width dt must be > 0 s; got 0.0"):
        deadtime.correct_rates(c, 0.0, 1e-5)
    with pytest.raises(deadtime.DeadTimeError, match="dead time tau must be >= 0 s"):
        deadtime.correct_rates(c, 1.0, -1e-5)
    c[4, 2] = -1
    with pytest.raises(
        deadtime.DeadTimeError, match="counts must be finite and >= 0; got -1.0 at bin 4, detector 2"
    ):
        deadtime.correct_rates(c, 1.0, 1e-5)
    c[4, 2] = np.nan
    with pytest.raises(deadtime.DeadTimeError, match="got nan at bin 4, detector 2"):
        deadtime.correct_rates(c, 1.0, 1e-5)
    c[4, 2] = 100
    c[7, 1] = 20000
    with pytest.raises(deadtime.DeadTimeError, match="saturated at bin 7, detector 1: recorded rate 20000"):
        deadtime.correct_rates(c, 1.0, 1e-4)


def _wf():
    step = Step(
        "deadtime", "deadtime.correct_rates", {"dt": 1.0, "tau": 100.0}, {"counts": "lc"}, {"rates": "r"}
    )
    return Workflow("hxmt-lc", [step])


def test_runs_in_a_workflow_and_an_error_code_names_workflow_step_and_chunk(dask_engine):
    counts = np.random.default_rng(2).poisson(500, (10_000, 3)).astype(np.float64)
    want = reference(counts, 1.0, 100e-6)[0]
    np.testing.assert_allclose(run_workflow(_wf(), DataStore({"lc": counts}))["r"], want, rtol=1e-14)
    got = dask_engine.client.compute(dask_engine.run(_wf(), DataStore({"lc": counts}))["r"]).result()
    np.testing.assert_allclose(got, want, rtol=1e-14)
    counts[9000, 2] = 20_000  # chunk 3 of 4096 bins, its bin 808
    for run in (lambda s: run_workflow(_wf(), s), lambda s: dask_engine.run(_wf(), s)):
        with pytest.raises(StepError) as err:
            run(DataStore({"lc": counts}))
        msg = str(err.value)
        assert "workflow 'hxmt-lc', step 'deadtime', chunk 3/3" in msg, msg
        assert "DeadTimeError: saturated at bin 808, detector 2" in msg


def test_declaration_gives_the_form_and_the_builder():
    from daisy_widgets.core import registry
    from daisy_widgets.widgets.form import ParamForm
    from daisy_widgets.widgets.workflow_builder import WorkflowBuilder

    registry.refresh()
    cls = registry.get_algorithm("deadtime.correct_rates")
    form = ParamForm(cls, values={"tau": 250.0})
    assert list(form.fields) == ["dt", "tau"] and form.fields["tau"].value == 250.0
    assert cls.validate_params({"dt": 0})["dt"]
    assert "deadtime.correct_rates" in [v for _, v in WorkflowBuilder().picker.options]
