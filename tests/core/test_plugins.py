"""Outside plug-ins: an installed package's algorithms appear; a broken one is reported and skipped."""

from __future__ import annotations

import sys
import textwrap
import warnings

import numpy as np
import pytest

from daisy_widgets.core import registry
from daisy_widgets.core.datastore import DataStore
from daisy_widgets.core.engine import run_workflow
from daisy_widgets.core.workflow import Step, Workflow


@pytest.fixture()
def outside_packages(tmp_path):
    good = tmp_path / "daisy_ext_demo"
    good.mkdir()
    (good / "__init__.py").write_text(
        textwrap.dedent('''
        from daisy_widgets.core import Algorithm, Float, Port

        class Negate(Algorithm):
            """Multiply by minus one (outside plug-in)."""
            name = "ext.negate"
            inputs = (Port("data"),)
            outputs = (Port("data"),)
            params = (Float("gain", 1.0, min=0, help="extra gain"),)

            def compute(self, data):
                return {"data": -data * self.values["gain"]}

        ALGORITHMS = [Negate]
    ''')
    )
    info = tmp_path / "daisy_ext_demo-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: daisy-ext-demo\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[daisy.algorithms]\ndemo = daisy_ext_demo\n")
    bad = tmp_path / "daisy_ext_broken-0.1.dist-info"
    bad.mkdir()
    (bad / "METADATA").write_text("Metadata-Version: 2.1\nName: daisy-ext-broken\nVersion: 0.1\n")
    (bad / "entry_points.txt").write_text("[daisy.algorithms]\nbroken = daisy_ext_missing_module\n")
    sys.path.insert(0, str(tmp_path))
    registry.refresh()
    yield tmp_path
    sys.path.remove(str(tmp_path))
    sys.modules.pop("daisy_ext_demo", None)
    registry.refresh()


def test_outside_plugin_appears_and_broken_one_is_reported(outside_packages):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        algos = registry.algorithms()
    assert (
        "ext.negate" in algos and algos["ext.negate"].summary() == "Multiply by minus one (outside plug-in)."
    )
    assert "core.scale" in algos  # the package's own algorithms, registered the same way
    broken = registry.broken_plugins()
    key = next(k for k in broken if k.startswith("daisy-ext-broken:broken"))
    assert "daisy_ext_missing_module" in broken[key]
    assert any("daisy-ext-broken" in str(w.message) for w in caught)
    # and it runs in a workflow like any other algorithm
    wf = Workflow("w", [Step("neg", "ext.negate", {"gain": 2}, {"data": "x"}, {"data": "y"})])
    assert list(run_workflow(wf, DataStore({"x": np.arange(3.0)}))["y"]) == [-0.0, -2.0, -4.0]


def test_plugin_gone_after_refresh(outside_packages):
    assert "ext.negate" in registry.algorithms()
    sys.path.remove(str(outside_packages))
    registry.refresh()
    assert "ext.negate" not in registry.algorithms()
    sys.path.insert(0, str(outside_packages))


def test_builder_offers_plugins_and_refreshes(outside_packages):
    from daisy_widgets.widgets.workflow_builder import WorkflowBuilder

    b = WorkflowBuilder()
    assert "ext.negate" in [v for _, v in b.picker.options]
    sys.path.remove(str(outside_packages))
    b.refresh_button.click()
    assert "ext.negate" not in [v for _, v in b.picker.options]
    sys.path.insert(0, str(outside_packages))
