"""Workflow JSON: exact round trip, version field, errors that name the step."""

from __future__ import annotations

import json

import numpy as np
import pytest

from daisy_widgets.core.datastore import DataStore
from daisy_widgets.core.engine import run_workflow
from daisy_widgets.core.errors import InputFileError
from daisy_widgets.core.workflow import FORMAT_VERSION, Step, Workflow, WorkflowError


def _wf() -> Workflow:
    inner = Workflow("inner", [Step("twice", "core.scale", {"factor": 2.0}, {"data": "x"}, {"data": "y"})])
    return Workflow(
        "demo",
        [
            Step(
                "scale",
                "core.scale",
                {"factor": 3, "offset": -1.5},
                {"data": "raw/data"},
                {"data": "work/a"},
                block=4,
            ),
            Step("sub", workflow=inner, inputs={"x": "work/a"}, outputs={"y": "work/b"}),
            Step("sum", "core.sum", {}, {"data": "work/b"}, {"total": "work/total"}),
        ],
        description="test workflow",
        persist=["work/b", "work/total"],
    )


def test_round_trip_is_exact(tmp_path):
    wf = _wf()
    p = wf.save(tmp_path / "wf.json")
    text = p.read_text()
    back = Workflow.load(p)
    assert back == wf
    back.save(tmp_path / "again.json")
    assert (tmp_path / "again.json").read_text() == text
    d = json.loads(text)
    assert d["version"] == 1  # no format-2 field: written as version 1, read by every Daisy
    assert d["steps"][1]["workflow"]["steps"][0]["algorithm"] == "core.scale"
    assert Workflow.from_dict(d).to_dict() == d


def test_missing_or_future_version_is_an_error_naming_the_file(tmp_path):
    d = _wf().to_dict()
    del d["version"]
    (tmp_path / "old.json").write_text(json.dumps(d))
    with pytest.raises(InputFileError, match="old.json.*version"):
        Workflow.load(tmp_path / "old.json")
    d["version"] = FORMAT_VERSION + 1
    (tmp_path / "new.json").write_text(json.dumps(d))
    with pytest.raises(InputFileError, match="not supported"):
        Workflow.load(tmp_path / "new.json")
    d["version"] = FORMAT_VERSION
    d["stpes"] = []
    (tmp_path / "typo.json").write_text(json.dumps(d))
    with pytest.raises(InputFileError, match="typo.json.*unknown field.*stpes"):
        Workflow.load(tmp_path / "typo.json")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(InputFileError, match="bad.json.*line 1"):
        Workflow.load(tmp_path / "bad.json")


def test_unknown_algorithm_names_the_step():
    wf = Workflow(
        "w",
        [
            Step("first", "core.scale", {}, {"data": "in"}, {"data": "mid"}),
            Step("second", "core.scael", {}, {"data": "mid"}, {"data": "out"}),
        ],
    )
    with pytest.raises(WorkflowError) as ei:
        wf.validate()
    assert ei.value.step == "second" and ei.value.workflow == "w"
    assert "core.scael" in str(ei.value) and "did you mean core.scale" in str(ei.value)


def test_bad_wiring_names_step_and_port():
    wf = Workflow("w", [Step("s1", "core.add", {}, {"a": "in", "bee": "in"}, {"total": "out"})])
    with pytest.raises(WorkflowError) as ei:
        wf.validate()
    probs = ei.value.problems
    assert ei.value.step == "s1"
    assert "inputs.bee" in probs and "inputs.b" in probs and "outputs.total" in probs


def test_key_nothing_provides_is_reported_before_running():
    wf = Workflow("w", [Step("s1", "core.scale", {}, {"data": "raw/dta"}, {"data": "out"})])
    store = DataStore({"raw/data": np.ones(3)})
    with pytest.raises(WorkflowError, match="(?s)step 's1'.*raw/dta"):
        run_workflow(wf, store)
    assert "out" not in store


def test_invalid_params_all_reported_at_once():
    wf = Workflow(
        "w", [Step("s", "core.smooth", {"iterations": 0, "bogus": 1}, {"data": "x"}, {"data": "y"})]
    )
    with pytest.raises(WorkflowError) as ei:
        wf.validate()
    assert set(ei.value.problems) == {"iterations", "bogus"}


def test_sub_workflow_runs_with_private_keys_released():
    store = DataStore({"raw/data": np.arange(12.0).reshape(6, 2)})
    out = run_workflow(_wf(), store)
    np.testing.assert_allclose(out["work/b"], (np.arange(12.0).reshape(6, 2) * 3 - 1.5) * 2)
    assert out["work/total"] == pytest.approx(float(out["work/b"].sum()))
    assert "work/a" not in out  # produced, not persisted: released
    assert "raw/data" in out  # inputs are never released
    assert not any(k.startswith("_") for k in out)


def test_sub_workflow_unmapped_input_names_the_step():
    inner = Workflow("inner", [Step("t", "core.scale", {}, {"data": "x"}, {"data": "y"})])
    wf = Workflow("w", [Step("sub", workflow=inner, inputs={}, outputs={"y": "o"})])
    with pytest.raises(WorkflowError, match="step 'sub'") as ei:
        wf.validate()
    assert "inputs.x" in ei.value.problems


def test_saved_json_follows_the_published_schema(tmp_path):
    import jsonschema

    from daisy_widgets.core.workflow import json_schema

    schema = json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.validate(json.loads(_wf().to_json()), schema)
    bad = _wf().to_dict()
    bad["steps"][0]["workflow"] = bad["steps"][1]["workflow"]  # both algorithm and workflow
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, schema)
