"""Each stage of the HXMT app built alone over a model in memory (no app around it)."""

from __future__ import annotations

import numpy as np
import pytest

from daisy_widgets.hxmt.app.forms import InstrumentForms
from daisy_widgets.hxmt.app.model import HxmtModel
from daisy_widgets.hxmt.app.runner import JobRunner


@pytest.fixture
def model(archive):
    return HxmtModel(archive=archive)


def test_search_stage_fills_the_model(model):
    from daisy_widgets.hxmt.app.stage_search import SearchStage

    stage = SearchStage(model).render()
    assert "Searching:" in stage.source.value
    rows = stage.search(target="crab")
    assert len(rows) == 2 and model.rows == rows and model.selected == []
    stage.table.select([1])
    assert [r["obs_id"] for r in model.selected] == [rows[1]["obs_id"]]
    assert stage.search(ra="east") == [] and model.rows == [] and model.selected == []
    assert "expected a number" in stage.search_errors["ra"].value


def test_params_stage_writes_params_and_problems(model):
    from daisy_widgets.hxmt.app.stage_params import ParamsStage

    stage = ParamsStage(model).render()
    assert model.params["HE"] == InstrumentForms("HE").params()  # the declared defaults
    stage.forms["HE"].set("lcgen", binsize=10.0)
    assert model.params["HE"].lcgen["binsize"] == 10.0
    stage.forms["HE"].set("lcgen", binsize=-1.0)
    assert "HE" not in model.params and "lcgen.binsize" in model.param_problems["HE"]
    assert any(p.startswith("HE parameters: binsize") for p in model.problems())
    stage.instrument_boxes["LE"].value = True
    assert model.instruments == ["HE", "LE"]
    model.instruments = ["ME"]
    assert [x for x, b in stage.instrument_boxes.items() if b.value] == ["ME"]


def test_run_and_results_stages_on_a_model(model, archive, tmp_path):
    from daisy_widgets.hxmt.app.stage_results import ResultsStage
    from daisy_widgets.hxmt.app.stage_run import RunStage

    run = RunStage(model, JobRunner("inprocess"), tmp_path / "products").render()
    results = ResultsStage(model, tmp_path / "products").render()
    assert run.run_button.disabled and "pick at least one observation" in run.run_message.value
    with model.hold_trait_notifications():
        model.selected = archive.search(archive_query(obs_id="P0101299001"))
        model.params = {"HE": InstrumentForms("HE").params()}
    assert not run.run_button.disabled and run.selection_note.value == "1 observation selected"
    run.run(wait=True)
    assert run.progress.status.value == "done", run.progress.log_area.value
    key = "P010129900101/HE"
    assert set(model.results) == {key} and model.results_version == 1 and not model.running
    assert model.shown == key and results.result_choice.value == key
    rate = np.asarray(model.results[key]["lc"].rate, float)
    source = [m for m in results.lc_plot.figure.marks if m.labels == ["source + background"]][0]
    y = np.asarray(source.y, float)
    np.testing.assert_allclose(y[np.isfinite(y)], rate[np.isfinite(rate)])  # the job's light curve drawn
    assert results.lc_plot.points == int(np.isfinite(rate).sum()) > 0
    assert "live exposure" in results.summary.value and results.file_links.files


def archive_query(**kw):
    from daisy_widgets.hxmt.app.archive import Query

    return Query(**kw)


def test_model_and_runner_import_no_widgets():
    import subprocess
    import sys

    code = (
        "import sys, daisy_widgets.hxmt.app.model, daisy_widgets.hxmt.app.runner, "
        "daisy_widgets.hxmt.app.archive; "
        "print(sorted(m for m in ('ipywidgets', 'bqplot') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr
