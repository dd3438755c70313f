"""The workflow builder with format-2 workflows: conditions, switches, policies, loops, resources and
params round-trip exactly, are edited in the step boxes, checked, and reported after a run."""

from __future__ import annotations

import numpy as np

from daisy_widgets.core.datastore import DataStore
from daisy_widgets.core.engine import InProcessEngine
from daisy_widgets.core.policies import Case, ErrorPolicy, Repeat
from daisy_widgets.core.progress import ProgressEvent
from daisy_widgets.core.workflow import Step, Workflow
from daisy_widgets.widgets.progress import JobProgress
from daisy_widgets.widgets.workflow_builder import SwitchEditor, WorkflowBuilder


def _wf() -> Workflow:
    # parameters written out whole: the builder's forms write every parameter, defaults included
    inner = Workflow("inner", [Step("twice", "core.scale", {"factor": 2.0}, {"data": "x"}, {"data": "y"})])
    return Workflow(
        "v2 builder",
        [
            Step("info", "core.info", {}, {"data": "raw/data"}, {"length": "work/n"}),
            Step(
                "gpu",
                "core.scale",
                {"factor": 3.0, "offset": 0.0},
                {"data": "raw/data"},
                {"data": "work/a"},
                when="info.length < limit",
                on_error=ErrorPolicy(retry=2, backoff_s=1, then="cpu"),
                resources={"gpu": 1, "memory": "1GB"},
            ),
            Step(
                "cpu",
                "core.scale",
                {"factor": 3.0, "offset": 0.0},
                {"data": "raw/data"},
                {"data": "work/a"},
                on_error=ErrorPolicy(),
            ),
            Step(
                "pick",
                switch=[
                    Case(
                        Step(
                            "small",
                            "core.scale",
                            {"factor": 1.0, "offset": 0.0},
                            {"data": "work/a"},
                            {"data": "work/b"},
                        ),
                        "info.length < 5",
                    ),
                    Case(
                        Step("big", "core.cast", {"dtype": "float32"}, {"data": "work/a"}, {"data": "work/b"})
                    ),
                ],
            ),
            Step(
                "loop",
                workflow=inner,
                inputs={"x": "work/b"},
                outputs={"y": "work/c"},
                repeat=Repeat("max(loop.y) > 100", 4),
                resources={},
            ),
        ],
        description="every format-2 field",
        params={"limit": 50, "mode": "fast", "strict": True},
        persist=["work/c"],
    )


def test_builder_round_trips_format_2_exactly(tmp_path):
    wf = _wf()
    b = WorkflowBuilder(DataStore({"raw/data": np.ones((4, 3))}), wf, path=str(tmp_path / "b.json"))
    assert isinstance(b.editors[3], SwitchEditor)
    assert b.workflow == wf
    assert b.workflow.to_json() == wf.to_json()  # same values, same types (backoff 1 stays 1)
    b.save()
    b2 = WorkflowBuilder(DataStore({"raw/data": np.ones((4, 3))}))
    b2.load(str(tmp_path / "b.json"))
    assert b2.workflow.to_json() == wf.to_json()
    assert b.validate() is None


def test_controls_are_edited_in_the_step_boxes():
    b = WorkflowBuilder(DataStore({"raw/data": np.ones((4, 3))}), _wf())
    c = b.editors[2].controls
    c.when.value = "info.length > 1"
    c.retry.value = 3
    c.then.value = "skip"
    c.resources.value = "threads=2, fpga"
    st = b.workflow.step("cpu")
    assert st.when == "info.length > 1"
    assert st.on_error == ErrorPolicy(3, 0.0, "skip") and st.resources == {"threads": 2, "fpga": 1}
    sw = b.editors[3]
    sw.cases[0][0].value = "info.length < 2"
    assert b.workflow.step("pick").switch[0].when == "info.length < 2"
    loop = b.editors[4].controls
    loop.max.value = ""  # a loop without max is refused by Check, naming the step
    problems = b.validate()
    assert problems is not None and "repeat" in problems and "step 'loop'" in b.message.value
    loop.max.value = "4"
    loop.until.value = ""
    assert "repeat.until" not in (b.validate() or {}) and "until must be" in b.message.value
    assert b.workflow.step("info").repeat is None and b.workflow.step("info").on_error is None


def test_builder_run_shows_the_report_and_job_log_shows_control_events():
    wf = Workflow(
        "cond",
        [
            Step("info", "core.info", {}, {"data": "raw/data"}, {"length": "work/n"}),
            Step(
                "s",
                "core.scale",
                {"factor": 2.0},
                {"data": "raw/data"},
                {"data": "work/s"},
                when="info.length > 10",
            ),
        ],
    )
    b = WorkflowBuilder(DataStore({"raw/data": np.ones((4, 3))}), wf, dask_engine=InProcessEngine())
    t = b.run()
    t.join()
    assert b.report["s"].status == "skipped" and "condition false" in b.result_view.value
    assert "s: skipped: condition false: info.length &gt; 10" in b.progress.log_area.value.replace(
        ">", "&gt;"
    )
    job = JobProgress("x")
    job(
        ProgressEvent(
            "w",
            "read",
            0,
            2,
            0,
            1,
            0.1,
            1.0,
            None,
            "attempt 1 failed (OSError); retry 1/3 in 1 s",
            "retry",
            0,
            2,
        )
    )
    assert "read: attempt 1 failed (OSError); retry 1/3 in 1 s" in job.log_area.value
