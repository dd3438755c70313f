"""Workflow format 2 on file and at validation: exact round trip, the schema, version 1 unchanged,
and bad conditions, policies, loops and resources refused before anything runs, naming the step."""

from __future__ import annotations

import json

import jsonschema
import numpy as np
import pytest

from daisy_widgets.core.datastore import DataStore
from daisy_widgets.core.engine import run_workflow
from daisy_widgets.core.errors import InputFileError
from daisy_widgets.core.policies import Case, ErrorPolicy, Repeat
from daisy_widgets.core.resources import WorkerOffer
from daisy_widgets.core.workflow import FORMAT_VERSION, Step, Workflow, WorkflowError, json_schema


def _v2() -> Workflow:
    inner = Workflow("inner", [Step("twice", "core.scale", {"factor": 2.0}, {"data": "x"}, {"data": "y"})])
    return Workflow(
        "v2",
        [
            Step("info", "core.info", {}, {"data": "raw/data"}, {"length": "work/n", "size": "work/size"}),
            Step(
                "scale",
                "core.scale",
                {"factor": 3.0},
                {"data": "raw/data"},
                {"data": "work/a"},
                when="info.length < limit and not info.size > 1000",
                on_error=ErrorPolicy(retry=2, backoff_s=0.5, then="scale_cpu"),
                resources={"gpu": 1, "memory": "1GB"},
            ),
            Step("scale_cpu", "core.scale", {"factor": 3.0}, {"data": "raw/data"}, {"data": "work/a"}),
            Step(
                "pick",
                switch=[
                    Case(
                        Step("small", "core.scale", {"factor": 1.0}, {"data": "work/a"}, {"data": "work/b"}),
                        "info.length < 5",
                    ),
                    Case(Step("big", "core.cast", {}, {"data": "work/a"}, {"data": "work/b"})),
                ],
            ),
            Step(
                "loop",
                workflow=inner,
                inputs={"x": "work/b"},
                outputs={"y": "work/b"},
                repeat=Repeat("loop.y.size > 0 and max(loop.y) > 100", 4),
                on_error=ErrorPolicy(then="skip"),
            ),
        ],
        params={"limit": 50},
        persist=["work/b"],
    )


def test_v2_round_trip_is_exact_and_follows_the_schema(tmp_path):
    wf = _v2()
    wf.validate(available=["raw/data"])
    p = wf.save(tmp_path / "v2.json")
    text = p.read_text()
    back = Workflow.load(p)
    assert back == wf
    back.save(tmp_path / "again.json")
    assert (tmp_path / "again.json").read_text() == text
    d = json.loads(text)
    assert d["version"] == FORMAT_VERSION == 2
    assert d["steps"][1]["on_error"] == {"retry": 2, "backoff_s": 0.5, "then": "scale_cpu"}
    assert d["steps"][3]["switch"][0]["when"] == "info.length < 5" and "inputs" not in d["steps"][3]
    assert d["steps"][4]["repeat"] == {"until": "loop.y.size > 0 and max(loop.y) > 100", "max": 4}
    schema = json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.validate(d, schema)
    bad = json.loads(text)
    del bad["steps"][4]["repeat"]["max"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, schema)
    bad = json.loads(text)
    bad["version"] = 1  # format-2 fields in a version-1 file
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, schema)


def test_version_1_file_loads_and_runs_unchanged(tmp_path):
    v1 = {
        "version": 1,
        "name": "old",
        "description": "",
        "persist": ["work/s"],
        "steps": [
            {
                "id": "s",
                "algorithm": "core.scale",
                "params": {"factor": 2.0},
                "inputs": {"data": "raw"},
                "outputs": {"data": "work/s"},
            }
        ],
    }
    (tmp_path / "v1.json").write_text(json.dumps(v1))
    jsonschema.validate(v1, json_schema())
    wf = Workflow.load(tmp_path / "v1.json")
    out = run_workflow(wf, DataStore({"raw": np.arange(4.0)}))
    np.testing.assert_array_equal(out["work/s"], np.arange(4.0) * 2)
    v1["steps"][0]["when"] = "1 < 2"
    (tmp_path / "mixed.json").write_text(json.dumps(v1))
    with pytest.raises(InputFileError, match="mixed.json.*version 1.*'when'.*version\": 2"):
        Workflow.load(tmp_path / "mixed.json")


def _one(step: Step, *more: Step, params=None) -> Workflow:
    first = Step("info", "core.info", {}, {"data": "raw"}, {"length": "work/n"})
    return Workflow("w", [first, step, *more], params=params or {})


def _refused(wf: Workflow, step: str, field: str, match: str, **kw) -> None:
    with pytest.raises(WorkflowError) as ei:
        wf.validate(**kw)
    assert ei.value.step == step, ei.value
    assert field in ei.value.problems, ei.value.problems
    assert match in " ".join(ei.value.problems[field]), ei.value.problems[field]
    assert f"step '{step}'" in str(ei.value)


def test_unknown_name_in_a_condition_names_the_step_and_the_name():
    s = Step("s", "core.scale", {}, {"data": "raw"}, {"data": "out"}, when="scan.length < 180")
    _refused(_one(s), "s", "when", "unknown name 'scan.length'")
    s = Step("s", "core.scale", {}, {"data": "raw"}, {"data": "out"}, when="info.lenght < 180")
    _refused(_one(s), "s", "when", "step 'info' has no output 'lenght'; it gives: length")
    s = Step("s", "core.scale", {}, {"data": "raw"}, {"data": "out"}, when="later.data < 1")
    later = Step("later", "core.scale", {}, {"data": "raw"}, {"data": "x"})
    _refused(_one(s, later), "s", "when", "unknown name 'later.data'")  # not an earlier step


def test_syntax_error_in_a_condition_names_the_step():
    s = Step("s", "core.scale", {}, {"data": "raw"}, {"data": "out"}, when="info.length <")
    _refused(_one(s), "s", "when", "syntax error")
    s = Step("s", "core.scale", {}, {"data": "raw"}, {"data": "out"}, when="__import__('os')")
    _refused(_one(s), "s", "when", "only these functions")


def test_fallback_to_a_missing_step_names_the_step():
    s = Step("s", "core.scale", {}, {"data": "raw"}, {"data": "out"}, on_error=ErrorPolicy(then="s_cpu"))
    _refused(_one(s), "s", "on_error.then", "fallback step 's_cpu' does not exist")
    s = Step("s", "core.scale", {}, {"data": "raw"}, {"data": "out"}, on_error=ErrorPolicy(then="t"))
    t = Step("t", "core.scale", {}, {"data": "raw"}, {"data": "other"})
    _refused(_one(s, t), "s", "on_error.then", "does not write out")
    s = Step("s", "core.scale", {}, {"data": "raw"}, {"data": "out"}, on_error=ErrorPolicy(retry=-1))
    _refused(_one(s), "s", "on_error", "retry must be an integer")


def test_loop_without_max_names_the_step(tmp_path):
    s = Step("s", "core.scale", {}, {"data": "raw"}, {"data": "raw"}, repeat=Repeat("s.data.size > 3"))
    _refused(_one(s), "s", "repeat", "needs 'max'")
    d = _one(s).to_dict()
    (tmp_path / "loop.json").write_text(json.dumps(d))
    _refused(Workflow.load(tmp_path / "loop.json"), "s", "repeat", "needs 'max'")  # from a file too
    s = Step("s", "core.scale", {}, {"data": "raw"}, {"data": "raw"}, repeat=Repeat("s.nothing > 3", 3))
    _refused(_one(s), "s", "repeat.until", "step 's' has no output 'nothing'")


def test_resource_no_worker_offers_names_the_step_and_the_resource():
    cpu_only = [WorkerOffer("tcp://a:1", {}, 2e9, 2), WorkerOffer("tcp://b:1", {}, 2e9, 2)]
    s = Step("s", "core.scale", {}, {"data": "raw"}, {"data": "out"}, resources={"gpu": 1})
    _refused(_one(s), "s", "resources", "no worker offers gpu=1", offers=cpu_only)
    s = Step("s", "core.scale", {}, {"data": "raw"}, {"data": "out"}, resources={"memory": "8GB"})
    _refused(_one(s), "s", "resources", "no worker offers memory=", offers=cpu_only)
    s = Step("s", "core.scale", {}, {"data": "raw"}, {"data": "out"}, resources={"gpu": "one"})
    _refused(_one(s), "s", "resources", "gpu: expected a number")
    # with a CPU fallback the workflow is valid; with a GPU-labelled worker too
    s = Step(
        "s",
        "core.scale",
        {},
        {"data": "raw"},
        {"data": "out"},
        resources={"gpu": 1},
        on_error=ErrorPolicy(then="c"),
    )
    c = Step("c", "core.scale", {}, {"data": "raw"}, {"data": "out"})
    _one(s, c).validate(offers=cpu_only)
    s = Step("s", "core.scale", {}, {"data": "raw"}, {"data": "out"}, resources={"gpu": 1})
    _one(s).validate(offers=[*cpu_only, WorkerOffer("tcp://g:1", {"GPU": 1.0}, 2e9, 1)])


def test_switch_cases_are_checked():
    a = Step("a", "core.scale", {}, {"data": "raw"}, {"data": "out"})
    b = Step("b", "core.cast", {}, {"data": "raw"}, {"data": "elsewhere"})
    _refused(
        _one(Step("sw", switch=[Case(a, "info.length > 2"), Case(b)])),
        "sw",
        "switch[1].step.outputs",
        "same keys",
    )
    b = Step("b", "core.cast", {}, {"data": "raw"}, {"data": "out"})
    _refused(_one(Step("sw", switch=[Case(a), Case(b)])), "sw", "switch[0].when", "only the last case")
    _refused(
        _one(Step("sw", switch=[Case(a, "nope > 1"), Case(b)])), "sw", "switch[0].when", "unknown name 'nope'"
    )
    bad = Step("b", "core.cast", {"dtype": "float16"}, {"data": "raw"}, {"data": "out"})
    with pytest.raises(WorkflowError) as ei:
        _one(Step("sw", switch=[Case(a, "info.length > 2"), Case(bad)])).validate()
    assert ei.value.step == "sw.b" and "dtype" in ei.value.problems


def test_refused_before_the_run_starts_and_nothing_written():
    s = Step("s", "core.scale", {}, {"data": "raw"}, {"data": "out"}, when="info.lenght > 1")
    store = DataStore({"raw": np.ones(3)})
    with pytest.raises(WorkflowError, match="step 's'"):
        run_workflow(_one(s), store)
    assert store.keys() == ["raw"]


def test_kubernetes_gpu_workers_carry_the_resource_gpu_steps_ask_for():
    from pathlib import Path

    import yaml

    from daisy_widgets.core.resources import DASK_NAMES

    specs = Path(__file__).resolve().parents[2] / "hub_config" / "kubernetes" / "dask"

    def offered(name: str) -> dict[str, float]:
        args = yaml.safe_load((specs / name).read_text())["spec"]["worker"]["spec"]["containers"][0]["args"]
        if "--resources" not in args:
            return {}
        pairs = args[args.index("--resources") + 1].replace(",", " ").split()
        return {k: float(v) for k, v in (p.split("=") for p in pairs)}

    assert offered("daskcluster-gpu.yaml").get(DASK_NAMES["gpu"]) == 1.0
    assert DASK_NAMES["gpu"] not in offered("daskcluster-cpu.yaml")
