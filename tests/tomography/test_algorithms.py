"""The tomography steps as registered algorithms, run as a workflow on both engines."""

from __future__ import annotations

import numpy as np
import pytest

from daisy_widgets.core.errors import ValidationError
from daisy_widgets.core.registry import get_algorithm
from daisy_widgets.tomography.algorithms import ALGORITHMS

NAMES = [
    "tomo.normalize",
    "tomo.remove_zingers",
    "tomo.minus_log",
    "tomo.phase_retrieval",
    "tomo.remove_stripes",
    "tomo.find_center",
    "tomo.align",
    "tomo.reconstruct",
]


def test_registered_with_documented_params():
    assert sorted(a.name for a in ALGORITHMS) == sorted(NAMES)
    for name in NAMES:
        cls = get_algorithm(name)
        assert cls.summary()
        for p in cls.params:
            assert p.help, (name, p.name)
        cls()  # the defaults are valid
    rec = get_algorithm("tomo.reconstruct")
    assert rec.split is not None and rec.split.inputs == {"sinograms": 0}
    assert get_algorithm("tomo.phase_retrieval").param("energy").unit == "keV"


def test_bad_params_reported_together():
    rec = get_algorithm("tomo.reconstruct")
    with pytest.raises(ValidationError) as e:
        rec(algorithm="art", filter="box", iterations=0)
    assert {"algorithm", "filter", "iterations"} <= set(e.value.problems)


def _store(scan_path):
    from daisy_widgets.core.datastore import DataStore
    from daisy_widgets.tomography.io import read_scan

    scan = read_scan(scan_path)
    store = DataStore()
    store["raw/projections"] = scan.projections
    store["raw/flats"] = scan.flats
    store["raw/darks"] = scan.darks
    store["raw/theta"] = scan.theta
    return store, scan


@pytest.mark.parametrize("engine", ["inprocess", "dask"])
def test_chain_as_workflow(engine, sample_scan, tmp_path):
    from daisy_widgets.core.engine import run_workflow
    from daisy_widgets.core.workflow import Workflow
    from daisy_widgets.tomography.pipeline import ReconOptions, build_workflow

    wf = build_workflow(ReconOptions(stripe="sorting", zingers=True, block=3))
    wf.save(tmp_path / "wf.json")
    wf = Workflow.load(tmp_path / "wf.json")
    store, scan = _store(sample_scan)
    events = []
    if engine == "dask":
        from daisy_widgets.core.engine import DaskEngine

        with DaskEngine(n_workers=1, threads_per_worker=1) as eng:
            out = run_workflow(wf, store, engine=eng, progress=events.append)
            recon = np.asarray(out.compute("out/recon"))
            center = float(out.compute("out/center"))
    else:
        out = run_workflow(wf, store, engine=engine, progress=events.append)
        recon = np.asarray(out["out/recon"])
        center = float(out["out/center"])
    assert recon.shape == (8, 128, 128) and recon.dtype == np.float32
    assert abs(center - scan.metadata["true_center"]) < 0.5
    assert events and events[-1].fraction == pytest.approx(1.0)
    assert any(ev.chunks_total == 3 for ev in events)  # 8 rows in blocks of 3
    # the reconstruction is the phantom (attenuation per pixel)
    from daisy_widgets.tomography.phantom import phantom_slices

    from .conftest import rmse_in_circle

    truth = phantom_slices(128, rows=[4], height=8, mu_max=scan.metadata["mu_max"])[0]
    assert rmse_in_circle(recon[4], truth) < 0.12 * scan.metadata["mu_max"]
