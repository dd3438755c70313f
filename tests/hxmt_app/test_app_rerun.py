"""HxmtApp, step 5: re-running with changed parameters repeats only the steps that changed (cached products)."""

from __future__ import annotations

import numpy as np
import pytest

from daisy_widgets.hxmt.app.runner import Job, JobParams, JobRunner, clear_cache, fingerprints, job_workflow

KEY = "P010129900101/HE"


def _last(app):
    return app.results[KEY]


def test_binsize_change_reruns_only_the_light_curves(he_app):
    app = he_app
    clear_cache(KEY)
    app.run(wait=True)
    first = _last(app)
    assert first["steps_cached"] == [] and "load" in first["steps_run"]
    app.forms["HE"].set("lcgen", binsize=16)
    app.run(wait=True)
    r = _last(app)
    assert r["steps_run"] == ["lcgen", "bkgmap", "write"]
    assert {"load", "pical", "gtigen", "screen", "specgen", "barycorr", "fold", "powspec"} <= set(
        r["steps_cached"]
    )
    assert r["lc"].dt == 16 and first["lc"].dt == 1
    assert r["lc"].counts.sum() == first["lc"].counts.sum()  # same events, coarser bins
    assert "reused cached load" in app.progress.log_area.value


def test_gti_change_reruns_from_gtigen(he_app):
    app = he_app
    clear_cache(KEY)
    app.run(wait=True)
    before = _last(app)["summary"]["gti_seconds"]
    app.forms["HE"].set(
        "gtigen", expr="ELV>10&&COR>8&&SAA_FLAG==0&&T_SAA>300&&TN_SAA>300&&ANG_DIST<=0.04&&ELV>40"
    )
    app.run(wait=True)
    r = _last(app)
    assert r["steps_run"][0] == "gtigen" and {"load", "pical", "rspgen"} <= set(r["steps_cached"])
    assert r["summary"]["gti_seconds"] < before


def test_failed_step_is_redone_not_trusted(he_app):
    """A run that fails half-way must not leave a changed product marked as the old one's."""
    app = he_app
    clear_cache(KEY)
    app.run(wait=True)
    ref = _last(app)["spectrum"].counts.copy()
    app.forms["HE"].set("gtigen", expr="ELV>1000")  # no good time: gtigen fails
    app.run(wait=True)
    assert KEY not in app.results and "no good time" in app.run_message.value
    app.forms["HE"].set(
        "gtigen",
        expr=app.forms["HE"].gtigen.algorithm.defaults()["expr"]
        or "ELV>10&&COR>8&&SAA_FLAG==0&&T_SAA>300&&TN_SAA>300&&ANG_DIST<=0.04",
    )
    app.run(wait=True)
    np.testing.assert_array_equal(_last(app)["spectrum"].counts, ref)


def test_fingerprints_follow_the_data_flow(data_root):
    p = JobParams()
    a = fingerprints(job_workflow("HE", "x", "out", p))
    b = fingerprints(job_workflow("HE", "x", "out", JobParams(screen={"pi_min": 30, "pi_max": 200})))
    changed = {k for k in a if a[k] != b[k]}
    # screening changed: everything reading screened events changes, nothing upstream does
    assert "screen" in changed and "lcgen" in changed and "fold" in changed and "write" in changed
    assert not changed & {"load", "pical", "gtigen"}
    # rspgen reads nothing and its parameters did not change
    assert "rspgen" not in changed


def test_runner_cancel_restores_the_cache(data_root, tmp_path):
    """Cancel in the middle of a run: Cancelled is raised, and the next run redoes the cancelled steps."""
    from daisy_widgets.core.errors import Cancelled
    from daisy_widgets.core.progress import CancelToken

    l1 = next((data_root / "data" / "hxmt" / "P0101299002").iterdir())
    job = Job("cancel-test/HE", "HE", str(l1), str(tmp_path), JobParams(timing=False))
    clear_cache(job.key)
    runner = JobRunner("inprocess")
    token = CancelToken()

    def on_update(states):
        if states[0].step == "screen":
            token.cancel()

    with pytest.raises(Cancelled):
        runner.run([job], on_update=on_update, cancel=token)
    r = runner.run([job])[job.key]
    assert "screen" in r["steps_run"] and r["spectrum"].counts.sum() > 0


def test_cache_keeps_the_most_recent_jobs(data_root, tmp_path, monkeypatch):
    from daisy_widgets.hxmt.app.runner import cached_jobs

    monkeypatch.setenv("DAISY_HXMT_CACHE_JOBS", "1")
    l1 = next((data_root / "data" / "hxmt" / "P0101299002").iterdir())
    runner = JobRunner("inprocess")
    p = JobParams(timing=False)
    a, b = (
        Job("lru-a/HE", "HE", str(l1), str(tmp_path / "a"), p),
        Job("lru-b/HE", "HE", str(l1), str(tmp_path / "b"), p),
    )
    runner.run([a])
    runner.run([b])
    assert cached_jobs() == ["lru-b/HE"]
    assert "load" in runner.run([a])[a.key]["steps_run"]  # dropped: everything again
