"""The HE batch pipeline (issue 21): block-wise pical + screen, intermediate tables released as
soon as consumed, numpy or compiled loops; its products equal the app's cached interactive run's."""

from __future__ import annotations

import weakref

import numpy as np
import pytest
from astropy.io import fits

from .conftest import PULSAR_F

HEADER_SKIP = ("DATE", "CHECKSUM", "DATASUM")


def _evt(l1):
    from daisy_widgets.hxmt.l1io import find_exposure

    return find_exposure(l1, "HE").files["HE-Evt"]


def _gti(l1):
    from daisy_widgets.hxmt import gti as gtimod
    from daisy_widgets.hxmt import l1io
    from daisy_widgets.hxmt.mission import DEFAULT_GTI_EXPR

    obs = l1io.find_exposure(l1, "HE")
    ehk = l1io.read_table(obs.files["EHK"], "EHK")
    mask = gtimod.evaluate(DEFAULT_GTI_EXPR["HE"], l1io.ehk_columns(ehk))
    return gtimod.mask_to_gti(ehk["TIME"], mask, min_length=1.0)


def _same_products(a, b):
    """The FITS files of two product folders: same names, same data bytes, same headers (but the date)."""
    names = sorted(p.name for p in a.iterdir())
    assert names == sorted(p.name for p in b.iterdir())
    assert {"HE_screen.fits", "HE_spec.pha", "HE_bkg.pha", "HE.rsp", "HE_lc.fits", "HE_profile.fits"} <= set(
        names
    )
    for name in names:
        with fits.open(a / name) as ha, fits.open(b / name) as hb:
            assert [h.name for h in ha] == [h.name for h in hb], name
            for x, y in zip(ha, hb, strict=True):
                hx = {k: v for k, v in x.header.items() if k not in HEADER_SKIP}
                hy = {k: v for k, v in y.header.items() if k not in HEADER_SKIP}
                assert hx == hy, (name, x.name)
                if x.data is not None or y.data is not None:
                    assert x.data.dtype == y.data.dtype, (name, x.name)
                    assert x.data.tobytes() == y.data.tobytes(), (name, x.name)
    return names


@pytest.mark.parametrize("rows", [37_000, 1 << 20])
@pytest.mark.parametrize("compiled", [False, True])
def test_pical_screen_file_equals_pical_then_screen(sim_dir, rows, compiled):
    """Block by block (block edges anywhere, a GTI cutting through blocks), compiled or numpy
    loops: exactly the arrays of read_table -> pical -> screen_sets, dtypes included."""
    from daisy_widgets.hxmt.calibrate import pical
    from daisy_widgets.hxmt.event_kernels import numpy_loops
    from daisy_widgets.hxmt.l1io import read_table
    from daisy_widgets.hxmt.screen import screen_sets
    from daisy_widgets.hxmt.screen_stream import pical_screen_file

    evt, gti = _evt(sim_dir), _gti(sim_dir)
    table = read_table(evt, "HE-Evt")
    assert table.size > 3 * 37_000 and table.size >= 100_000  # several blocks; compiled loops apply
    gti = np.vstack([gti, [[table["TIME"][50_000], table["TIME"][50_001]]]])  # a 1-event GTI too
    gti = gti[np.argsort(gti[:, 0])]
    ref = screen_sets(pical(table, "HE", seed=3), gti, "HE", (20, 150), [0, 3, 5, 7, 11])
    seen = []
    with numpy_loops(not compiled):
        got = pical_screen_file(
            evt,
            gti,
            "HE",
            seed=3,
            pi_range=(20, 150),
            detectors=[0, 3, 5, 7, 11],
            rows=rows,
            progress=lambda done, total, msg: seen.append((done, total)),
        )
    for k in ("events", "blind", "raw", "raw_blind"):
        assert got[k].dtype == ref[k].dtype, k
        assert got[k].size == ref[k].size > 0, k
        assert got[k].tobytes() == ref[k].tobytes(), k
        assert got[k].flags.owndata and got[k].flags.c_contiguous
    assert seen[-1] == (table.size, table.size) and len(seen) == -(-table.size // rows)


def test_pical_screen_file_cancel_and_bad_detector(sim_dir, tmp_path):
    from daisy_widgets.core.errors import Cancelled
    from daisy_widgets.hxmt.screen_stream import pical_screen_file

    calls = []

    def stop():
        calls.append(1)
        if len(calls) == 2:
            raise Cancelled("cancelled by the user")

    with pytest.raises(Cancelled):
        pical_screen_file(_evt(sim_dir), _gti(sim_dir), "HE", rows=50_000, check_cancelled=stop)
    assert len(calls) == 2  # stopped before the second block
    with pytest.raises(ValueError, match="detector"):
        pical_screen_file(_evt(sim_dir), _gti(sim_dir), "HE", detectors=[16])  # the blind one
    from daisy_widgets.hxmt.steps_reduction import PiCalScreen

    assert "HE only" in PiCalScreen.validate_params({"instrument": "ME"})["instrument"][0]
    assert PiCalScreen.validate_params({"instrument": "HE"}) == {}


def test_batch_products_equal_the_cached_interactive_run(sim_dir, tmp_path):
    """run_pipeline (streamed, numpy loops; and compiled loops) writes the very products of the
    app's job, run and then re-run from its cache; the z^2/profile/spectrum objects agree too."""
    from daisy_widgets.hxmt.app.runner import clear_cache, run_job
    from daisy_widgets.hxmt.app.workflow import JobParams, job_workflow
    from daisy_widgets.hxmt.pipeline import run_pipeline

    params = JobParams(fold={"frequency": PULSAR_F, "nbin": 32})
    key = "batch-vs-app/HE"
    clear_cache(key)
    try:
        app_out = tmp_path / "app"
        first = run_job(key, job_workflow("HE", str(sim_dir), str(app_out), params))
        again = run_job(key, job_workflow("HE", str(sim_dir), str(tmp_path / "app2"), params))
        assert "pical" in first["steps_run"] and {"load", "pical", "screen"} <= set(again["steps_cached"])
    finally:
        clear_cache(key)
    for compiled in (False, True):
        out = tmp_path / f"batch_{compiled}"
        st = run_pipeline(sim_dir, "HE", out, frequency=PULSAR_F, nbin=32, compiled=compiled)
        _same_products(app_out, out)
        _same_products(tmp_path / "app2", out)
        np.testing.assert_array_equal(st["products/spectrum"].counts, first["spectrum"].counts)
        assert st["products/spectrum"].exposure == first["spectrum"].exposure
        np.testing.assert_array_equal(st["products/lc"].counts, first["lc"].counts)
        assert len(st["work/screened"]) == first["n_events"]
    # the separate steps (stream=False) give them too
    run_pipeline(sim_dir, "HE", tmp_path / "steps", frequency=PULSAR_F, nbin=32, stream=False)
    _same_products(app_out, tmp_path / "steps")


def _watch(wf, store, **kw):
    """Run ``wf``; return {step: store keys when it started} and weak references to objects."""
    from daisy_widgets.core.engine import run_workflow

    at_start: dict[str, set[str]] = {}
    refs: dict[str, weakref.ref] = {}

    def prog(ev):
        if ev.step and ev.step not in at_start:
            at_start[ev.step] = set(store.keys())
            for k in at_start[ev.step]:
                if k not in refs and isinstance(store[k], np.ndarray):
                    refs[k] = weakref.ref(store[k])
            if ev.step == "write":  # by then the big tables are gone from memory, not only the store
                at_start["_alive"] = {k for k, r in refs.items() if r() is not None}

    run_workflow(wf, store, progress=prog, release=False, **kw)
    return at_start


def test_batch_run_releases_intermediate_tables(sim_dir, tmp_path):
    """Each table leaves the store, and memory (weak references dead), once its last reader ran;
    the streamed HE chain never holds the Level-1 or calibrated table at all."""
    from daisy_widgets.core.datastore import DataStore
    from daisy_widgets.hxmt.pipeline import BATCH_KEEP, pipeline_workflow

    wf = pipeline_workflow("HE", str(sim_dir), str(tmp_path / "a"), frequency=PULSAR_F, stream=False)
    store = DataStore()
    seen = _watch(wf, store, consumed=True, keep=BATCH_KEEP)
    assert "l1/events" in seen["pical"] and "l1/events" not in seen["gtigen"]  # pical consumed it
    assert "cal/events" in seen["screen"] and "cal/events" not in seen["lcgen"]
    assert "work/raw" in seen["specgen"] and "work/raw" not in seen["rspgen"]
    assert "work/blind" in seen["bkgmap"] and "work/blind" not in seen["barycorr"]
    assert {"l1/events", "cal/events", "work/raw", "work/blind", "work/raw_blind"}.isdisjoint(seen["_alive"])
    assert set(store.keys()) >= {"products/files", "work/screened", "work/bary"}
    assert "cal/events" not in store and "l1/ehk" not in store  # read by gtigen only: dropped

    wf = pipeline_workflow("HE", str(sim_dir), str(tmp_path / "b"), frequency=PULSAR_F)
    assert [s.id for s in wf.steps][:3] == ["load", "gtigen", "pical_screen"]
    store = DataStore()
    seen = _watch(wf, store, consumed=True, keep=BATCH_KEEP)
    assert not any("l1/events" in keys or "cal/events" in keys for keys in seen.values())
    assert "work/raw" in seen["lcgen"] and "work/raw" not in seen["rspgen"]

    # without consumed=True (the app's cached runs): everything stays
    store = DataStore()
    seen = _watch(pipeline_workflow("HE", str(sim_dir), str(tmp_path / "c"), stream=False), store)
    assert {"l1/events", "cal/events", "work/raw"} <= set(store.keys())


def test_gti_parts_are_the_rows_of_gti_mask():
    """Row slices of sorted times (touching and empty GTIs, edges on event times) and the mask's
    rows otherwise: the very rows :func:`gti_mask` selects."""
    from daisy_widgets.hxmt.gti import gti_mask
    from daisy_widgets.hxmt.screen_stream import _gti_parts

    rng = np.random.default_rng(7)
    t = np.sort(rng.integers(0, 400, 5000).astype(float))  # many equal times
    gti = np.array([[10.0, 50.0], [50.0, 50.0], [50.0, 80.0], [120.5, 121.0], [200.0, 399.0]])
    block = np.zeros(t.size, [("TIME", float), ("DET_ID", np.uint8)])
    block["TIME"] = t
    for tab, sorted_ in ((block, True), (block[rng.permutation(t.size)], False)):
        parts = _gti_parts(tab, gti, packed=True)
        rows = np.concatenate([np.arange(tab.size)[p] for p in parts])
        np.testing.assert_array_equal(rows, np.flatnonzero(gti_mask(tab["TIME"], gti)))
        assert all(isinstance(p, slice) for p in parts) == sorted_
