"""``daisy workflow validate / show / run`` with format-2 workflows: conditions, policies, loops,
resources checked and printed, and the run report printed at the end of a run."""

from __future__ import annotations

import h5py
import numpy as np

from daisy_widgets.cli import main
from daisy_widgets.core.backend import gpu_available
from daisy_widgets.core.policies import ErrorPolicy, Repeat
from daisy_widgets.core.workflow import Step, Workflow


def _wf() -> Workflow:
    return Workflow(
        "v2 cli",
        [
            Step("info", "core.info", {}, {"data": "raw"}, {"length": "work/n"}),
            Step(
                "check",
                "core.check_finite",
                {},
                {"data": "bad"},
                {"data": "work/checked"},
                on_error=ErrorPolicy(retry=1, then="skip"),
            ),
            Step("checked_sum", "core.sum", {}, {"data": "work/checked"}, {"total": "work/checked_total"}),
            Step(
                "big",
                "core.scale",
                {"factor": 10.0},
                {"data": "raw"},
                {"data": "work/scaled"},
                when="info.length > 100",
            ),
            Step(
                "small",
                "core.scale",
                {"factor": 2.0},
                {"data": "raw"},
                {"data": "work/scaled"},
                when="info.length <= 100",
            ),
            Step(
                "gpu",
                "core.scale",
                {},
                {"data": "work/scaled"},
                {"data": "work/gpu"},
                resources={"gpu": 1},
                on_error=ErrorPolicy(then="cpu"),
            ),
            Step("cpu", "core.scale", {}, {"data": "work/scaled"}, {"data": "work/gpu"}),
            Step(
                "halve",
                "core.scale",
                {"factor": 0.5},
                {"data": "work/gpu"},
                {"data": "work/gpu"},
                repeat=Repeat("halve.data.size > 0 and max(abs(halve.data)) < limit", 30),
            ),
        ],
        params={"limit": 1},
        persist=["work/gpu", "work/n"],
    )


def test_validate_and_show_print_the_format_2_fields(tmp_path, capsys):
    p = _wf().save(tmp_path / "wf.json")
    assert main(["workflow", "validate", str(p), "-i", "raw", "-i", "bad", "--local"]) == 0
    out = capsys.readouterr().out
    assert "is valid (8 step(s))" in out
    assert "2 condition(s)" in out and "2 error policy(ies)" in out and "1 loop(s)" in out
    assert "resources checked against 1 worker(s)" in out
    assert main(["workflow", "show", str(p)]) == 0
    out = capsys.readouterr().out
    assert "params: limit=1" in out
    assert "when: info.length > 100" in out
    assert "on error: retry 1 (backoff 0 s), then skip" in out
    assert "on error: fall back to 'cpu'" in out and "resources: gpu=1" in out
    assert "cpu [core.scale]" in out and "(runs only as a fallback)" in out
    assert "repeat until: halve.data.size > 0 and max(abs(halve.data)) < limit (at most 30)" in out


def test_validate_refuses_a_resource_this_machine_lacks_naming_the_step(tmp_path, capsys):
    if gpu_available():
        return  # this machine offers a GPU: nothing to refuse
    wf = Workflow("gpu", [Step("g", "core.scale", {}, {"data": "raw"}, {"data": "o"}, resources={"gpu": 1})])
    p = wf.save(tmp_path / "gpu.json")
    assert main(["workflow", "validate", str(p)]) == 0  # without --local / --scheduler: no resource check
    capsys.readouterr()
    assert main(["workflow", "validate", str(p), "--local"]) == 1
    err = capsys.readouterr().err
    assert "step 'g'" in err and "no worker offers gpu=1" in err and "Traceback" not in err
    d = wf.to_dict()
    d["steps"][0]["when"] = "o.data >"
    (tmp_path / "bad.json").write_text(__import__("json").dumps(d))
    assert main(["workflow", "validate", str(tmp_path / "bad.json")]) == 1
    err = capsys.readouterr().err
    assert "step 'g'" in err and "when: syntax error" in err


def test_run_prints_the_report(tmp_path, capsys):
    x = np.arange(12.0)
    with h5py.File(tmp_path / "in.h5", "w") as f:
        f["data"] = x
        f["bad"] = np.where(x == 3, np.nan, x)
    p = _wf().save(tmp_path / "wf.json")
    h5 = tmp_path / "in.h5"
    rc = main(
        [
            "workflow",
            "run",
            str(p),
            "-q",
            "-i",
            f"raw={h5}:/data",
            "-i",
            f"bad={h5}:/bad",
            "-o",
            str(tmp_path / "out.h5"),
        ]
    )
    assert rc == 0
    out = capsys.readouterr().out
    lines = {ln.split()[0]: ln for ln in out.splitlines() if ln.startswith("  ") and ln.split()}
    assert "skipped" in lines["check"] and "failed after 2 attempt(s)" in lines["check"]
    assert "skipped" in lines["checked_sum"] and "'work/checked' is absent" in lines["checked_sum"]
    assert "skipped" in lines["big"] and "condition false: info.length > 100" in lines["big"]
    assert lines["small"].split()[1] == "ran"
    if not gpu_available():
        assert "fell back" in lines["gpu"] and "no worker offers gpu=1" in lines["gpu"]
        assert "in place of 'gpu'" in lines["cpu"]
    assert "until 'halve.data.size > 0 and max(abs(halve.data)) < limit' true" in lines["halve"]
    assert lines["halve"].split()[2] == "5"  # 22 -> 11 -> 5.5 -> 2.75 -> 1.375 -> 0.6875: 5 rounds
    with h5py.File(tmp_path / "out.h5") as f:
        np.testing.assert_allclose(f["work/gpu"][()], x * 2 * 0.5**5)
        assert f["work/n"][()] == 12


def test_run_on_dask_with_a_gpu_labelled_local_worker(tmp_path, capsys):
    x = np.arange(12.0)
    with h5py.File(tmp_path / "in.h5", "w") as f:
        f["data"] = x
        f["bad"] = x
    p = _wf().save(tmp_path / "wf.json")
    h5 = tmp_path / "in.h5"
    args = [
        "workflow",
        "run",
        str(p),
        "-q",
        "-i",
        f"raw={h5}:/data",
        "-i",
        f"bad={h5}:/bad",
        "--engine",
        "dask",
    ]
    assert main([*args, "--gpu-workers", "3"]) == 1
    assert "--gpu-workers: expected 'auto' or 0..2" in capsys.readouterr().err
    assert main([*args, "--gpu-workers", "1", "-o", str(tmp_path / "out.h5")]) == 0
    lines = {
        ln.split()[0]: ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("  ") and ln.split()
    }
    assert lines["gpu"].split()[1] == "ran" and lines["cpu"].split()[1:3] == ["not", "run"]
    assert lines["check"].split()[1] == "ran"  # no NaN this time
    with h5py.File(tmp_path / "out.h5") as f:
        np.testing.assert_allclose(f["work/gpu"][()], x * 2 * 0.5**5)
