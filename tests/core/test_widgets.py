"""Widgets: generated parameter form, job progress with cancel, workflow builder (driven from Python)."""

from __future__ import annotations

import time

import numpy as np

from daisy_widgets.core.algorithm import Algorithm
from daisy_widgets.core.datastore import DataStore
from daisy_widgets.core.params import Choice, Float, Int, IntList
from daisy_widgets.core.progress import ProgressEvent
from daisy_widgets.core.workflow import Step, Workflow
from daisy_widgets.widgets.form import ParamForm
from daisy_widgets.widgets.progress import JobProgress
from daisy_widgets.widgets.workflow_builder import WorkflowBuilder


class _Demo(Algorithm):
    """Demo."""

    name = "test.form"
    params = (
        Float("center", None, optional=True, min=0, unit="px", help="rotation axis position"),
        Int("n", 3, min=1, max=9, help="number of things"),
        Choice("filter", "ramp", ("ramp", "hann"), help="filter"),
        IntList("ids", (0, 1), help="detector IDs"),
    )

    @classmethod
    def check_params(cls, v):
        return (
            {"n": "n must be odd with the hann filter"} if v["filter"] == "hann" and v["n"] % 2 == 0 else {}
        )


def test_form_fields_help_bounds_and_errors_next_to_field():
    form = ParamForm(_Demo)
    assert form.fields["center"].tooltip == "rotation axis position"
    assert form.fields["center"].description == "center (px)"
    assert form.values == {"center": None, "n": 3, "filter": "ramp", "ids": "0,1"}
    assert form.valid and form.coerced["ids"] == (0, 1)
    form.fields["n"].value = 12  # above max
    form.fields["center"].value = "-3"
    assert "must be &lt;= 9" in form.errors["n"].value and "must be &gt;= 0" in form.errors["center"].value
    assert "daisy-invalid" in form.fields["n"]._dom_classes and not form.valid
    form.fields["n"].value = 4
    form.fields["center"].value = ""
    form.fields["filter"].value = "hann"  # cross-field problem, keyed by parameter
    assert "odd" in form.errors["n"].value and form.errors["center"].value == ""
    form.set_values({"n": 5, "ids": [2, 3]})
    assert form.valid and form.json_values() == {"center": None, "n": 5, "filter": "hann", "ids": [2, 3]}


def test_job_progress_renders_events_and_cancels_a_thread():
    job = JobProgress("test")
    job(ProgressEvent("wf", "smooth", 1, 3, 2, 4, 0.5, 10.0, 10.0, ""))
    assert job.bar.value == 0.5 and "step 2/3 smooth" in job.detail.value and "chunk 2/4" in job.detail.value
    assert "ETA 00:10" in job.detail.value

    def work(progress, cancel):
        for _ in range(200):
            cancel.raise_if_cancelled()
            time.sleep(0.01)
        return "finished"

    t = job.run_in_thread(work)
    assert not job.cancel_button.disabled
    job.cancel_button.click()
    t.join(5)
    assert job.status.value == "cancelled" and job.result is None
    assert "cancel requested" in job.log_area.value
    t = job.run_in_thread(lambda p, c: 42)
    t.join(5)
    assert job.status.value == "done" and job.result == 42 and job.bar.value == 1.0


def test_cancel_after_the_job_finished_leaves_it_done():
    """A Cancel click racing the job's end must not leave the status at 'cancelling' for ever."""
    job = JobProgress("test")
    t = job.run_in_thread(lambda p, c: 7)
    t.join(5)
    job.cancel()
    assert job.status.value == "done" and job.bar.bar_style == "success"
    assert "cancel requested" not in job.log_area.value
    assert not job.token.cancelled  # the next run gets its own token anyway


def test_builder_add_order_remove_save_load_run(tmp_path):
    store = DataStore({"raw/data": np.arange(24.0).reshape(6, 4)})
    b = WorkflowBuilder(store)
    assert "core.scale" in [v for _, v in b.picker.options]
    b.picker.value = "core.scale"
    b.add_button.click()
    b.picker.value = "core.smooth"
    b.add_button.click()
    b.picker.value = "core.sum"
    b.add_button.click()
    assert [e.step_id.value for e in b.editors] == ["scale", "smooth", "sum"]
    # new steps are wired to what the previous one wrote
    assert (
        b.editors[1].inputs["data"].value == "work/scale" and b.editors[0].inputs["data"].value == "raw/data"
    )
    b.editors[0].form.fields["factor"].value = 2.0
    b.editors[1].form.fields["iterations"].value = 0  # invalid: marked, run refused
    assert "must be &gt;= 1" in b.editors[1].form.errors["iterations"].value
    assert b.run() is None and "step 'smooth'" in b.message.value
    b.editors[1].form.fields["iterations"].value = 1
    b.editors[2].remove.click()
    b.editors[1].up.click()  # smooth before scale: now smooth reads a key nothing wrote yet
    assert [e.algorithm.name for e in b.editors] == ["core.smooth", "core.scale"]
    assert b.validate() is not None and "work/scale" in b.message.value
    b.editors[0].down.click()
    b.save(str(tmp_path / "wf.json"))
    wf = Workflow.load(tmp_path / "wf.json")
    assert [s.id for s in wf.steps] == ["scale", "smooth"] and wf.steps[0].params["factor"] == 2.0
    b2 = WorkflowBuilder(store, path=str(tmp_path / "wf.json"))
    b2.load_button.click()
    assert b2.workflow == b.workflow
    t = b2.run()
    t.join(30)
    for _ in range(50):
        if not b2.run_button.disabled:
            break
        time.sleep(0.05)
    assert b2.progress.status.value == "done"
    x = np.arange(24.0).reshape(6, 4) * 2
    p = np.pad(x, [(0, 0), (1, 1)], mode="edge")
    np.testing.assert_allclose(
        b2.result["work/smooth"], 0.25 * p[:, :-2] + 0.5 * p[:, 1:-1] + 0.25 * p[:, 2:]
    )
    assert "work/smooth" in b2.result_view.value
    assert "raw/data" in store and "work/smooth" not in store  # the builder runs on a copy
    assert "daisy-workflow-builder" in b2._dom_classes


def test_builder_cancel_keeps_nothing():
    b = WorkflowBuilder(DataStore({"x": np.zeros(50)}))
    b.add_step("core.delay", {"seconds": 0.2}, {"data": "x"}, {"data": "y"})
    t = b.run()
    time.sleep(0.3)
    b.progress.cancel_button.click()
    t.join(5)
    assert b.progress.status.value == "cancelled" and b.result is None


def test_builder_check_button_and_kept_keys(tmp_path):
    wf = Workflow(
        "w",
        [
            Step("scale", "core.scale", {"factor": 2.0}, {"data": "x"}, {"data": "y"}),
            Step("sum", "core.sum", {}, {"data": "y"}, {"total": "t"}),
        ],
        persist=["t"],
    )
    b = WorkflowBuilder(DataStore({"x": np.ones(4)}), wf)
    assert b.persist_field.value == "t"
    b.check_button.click()
    assert "workflow is valid" in b.message.value
    b.editors[1].inputs["data"].value = "nowhere"
    b.check_button.click()
    assert "step 'sum'" in b.message.value and "nowhere" in b.message.value
    b.editors[1].inputs["data"].value = "y"
    b.persist_field.value = "t, y"
    assert b.workflow.persist == ["t", "y"]
    b.save(str(tmp_path / "w.json"))
    assert Workflow.load(tmp_path / "w.json").persist == ["t", "y"]


def test_builder_keeps_a_sub_workflow_as_one_step_and_inserts_a_saved_one(tmp_path):
    inner = Workflow(
        "prep",
        [
            Step("scale", "core.scale", {"factor": 3.0}, {"data": "in"}, {"data": "mid"}),
            Step("smooth", "core.smooth", {"iterations": 1}, {"data": "mid"}, {"data": "out"}),
        ],
        persist=["out"],
    )
    outer = Workflow(
        "outer",
        [
            Step("prep", workflow=inner, inputs={"in": "x"}, outputs={"out": "y"}),
            Step("sum", "core.sum", {}, {"data": "y"}, {"total": "t"}),
        ],
        persist=["t"],
    )
    x = np.arange(12.0).reshape(3, 4)
    b = WorkflowBuilder(DataStore({"x": x}), outer)
    assert len(b.editors) == 2 and "daisy-wb-sub" in b.editors[0]._dom_classes
    assert (
        "1. sub-workflow prep" in b.editors[0].title.value
        and "core.smooth" in b.editors[0].children[1].children[0].value
    )
    assert set(b.editors[0].inputs) == {"in"} and set(b.editors[0].outputs) == {"mid", "out"}
    assert b.workflow.to_dict() == outer.to_dict()  # saved back nested, not flattened
    b.save(str(tmp_path / "outer.json"))
    assert Workflow.load(tmp_path / "outer.json") == outer
    t = b.run()
    t.join(30)
    assert b.progress.status.value == "done", b.message.value
    from daisy_widgets.core.engine import run_workflow

    ref = run_workflow(outer, DataStore({"x": x}))
    assert b.result["t"] == ref["t"]
    # Insert as step: a saved workflow becomes one step wired to what the previous step wrote
    inner.save(tmp_path / "prep.json")
    b2 = WorkflowBuilder(DataStore({"x": x}), path=str(tmp_path / "prep.json"))
    b2.add_step("core.scale", {"factor": 2.0}, {"data": "x"}, {"data": "x2"})
    b2.insert_button.click()
    sub = b2.editors[1]
    assert sub.inputs["in"].value == "x2" and sub.outputs["out"].value == "work/prep/out"
    assert sub.outputs["mid"].value == ""  # not exposed: stays private to the sub-workflow
    assert "inserted" in b2.message.value
    t = b2.run()
    t.join(30)
    assert b2.progress.status.value == "done", b2.message.value
    ref = run_workflow(inner, DataStore({"in": 2 * x}))
    np.testing.assert_allclose(b2.result["work/prep/out"], ref["out"])
    # a file that uses an unknown algorithm is named in the message, nothing is added
    bad = Workflow("bad", [Step("s", "core.scale", {}, {"data": "a"}, {"data": "b"})]).to_dict()
    bad["steps"][0]["algorithm"] = "no.such"
    (tmp_path / "bad.json").write_text(__import__("json").dumps(bad))
    b2.path.value = str(tmp_path / "bad.json")
    b2.insert_button.click()
    assert "no.such" in b2.message.value and len(b2.editors) == 2
