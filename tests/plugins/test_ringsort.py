"""The C++ example plug-in ``ringsort.remove_stripes`` (plugins/ringsort): against a numpy/scipy
reference, Daisy's numba kernel and algotom, on a sinogram with injected stripes; no copies, the GIL
released, errors through the engine, in-process and on Dask, its form and builder entry."""

from __future__ import annotations

import threading
import time
import tracemalloc

import numpy as np
import pytest
from scipy import ndimage

from daisy_widgets.core.datastore import DataStore
from daisy_widgets.core.engine import run_workflow
from daisy_widgets.core.errors import StepError
from daisy_widgets.core.workflow import Step, Workflow

ringsort = pytest.importorskip(
    "daisy_ringsort.algorithms",
    reason="the example plug-in plugins/ringsort is not installed: run make setup",
)


def reference(sinograms: np.ndarray, size: int) -> np.ndarray:
    """numpy/scipy: sort each column along the angles, median across the detector, sort back."""
    out = np.empty_like(sinograms)
    for s, sino in enumerate(sinograms):
        order = np.argsort(sino, axis=0, kind="stable")
        srt = np.take_along_axis(sino, order, axis=0)
        filt = ndimage.median_filter(srt, size=(1, size), mode="reflect")
        np.put_along_axis(out[s], order, filt, axis=0)
    return out


def unique_values(shape, seed=0) -> np.ndarray:
    """Distinct float32 values (no ties: every correct sort gives the same order)."""
    n = int(np.prod(shape))
    return (np.random.default_rng(seed).permutation(n).astype(np.float32) / n).reshape(shape)


def striped_sinograms(width=128, seed=0):
    """Exact sinograms of Daisy's phantom at three rows (ground truth), and the same with stripes:
    8 columns offset by 5-10 % of the maximum."""
    from daisy_widgets.tomography.phantom import project_phantom

    clean = project_phantom(width, np.linspace(0, np.pi, 181), rows=[40, 64, 90], height=width)
    rng = np.random.default_rng(seed)
    stripes = np.zeros(width, np.float32)
    cols = rng.choice(np.arange(10, width - 10), 8, replace=False)
    stripes[cols] = rng.choice([-1, 1], 8) * rng.uniform(0.05, 0.1, 8) * clean.max()
    return clean, clean + stripes, cols


def test_matches_the_numpy_reference():
    x = unique_values((3, 90, 64))
    for size in (3, 21, 63):
        np.testing.assert_array_equal(ringsort.remove_stripes(x, size), reference(x, size))
    one = ringsort.remove_stripes(x[1], 21)  # one (angles, detector) sinogram
    np.testing.assert_array_equal(one, reference(x[1:2], 21)[0])


def test_matches_daisys_numba_kernel_and_algotom():
    from algotom.prep.removal import remove_stripe_based_sorting

    from daisy_widgets.tomography._kernels import sort_filter_columns

    x = unique_values((2, 120, 100), seed=3)
    got = ringsort.remove_stripes(x, 21)
    for s in range(2):
        np.testing.assert_array_equal(got[s], sort_filter_columns(x[s], 21))
        np.testing.assert_array_equal(got[s], remove_stripe_based_sorting(x[s], size=21))


def test_removes_injected_stripes():
    clean, striped, cols = striped_sinograms()
    out = ringsort.remove_stripes(striped, 11)
    before = np.abs((striped - clean).mean(axis=1))[:, cols]  # each stripe's offset, per slice
    after = np.abs((out - clean).mean(axis=1))[:, cols]
    assert after.mean() < 0.2 * before.mean()  # stripes down by more than 5x on average
    assert (after < 0.6 * before).all()  # and every one of them reduced


def test_buffers_pass_without_a_copy():
    x = unique_values((16, 256, 256))  # 4 MB
    nbytes = x.nbytes
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        out = ringsort.remove_stripes(x, 5)
        c_peak = tracemalloc.get_traced_memory()[1] - base
        del out
        strided = np.lib.stride_tricks.as_strided(x, x.shape, x.strides)[:, :, ::-1]
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        ringsort.remove_stripes(strided, 5)
        s_peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    assert nbytes <= c_peak < 1.2 * nbytes  # only the output
    assert s_peak >= 2 * nbytes  # a reversed view is converted once, then filtered
    # the kernel itself never copies: it refuses what it cannot take as it is
    with pytest.raises(TypeError):
        ringsort._ringsort.remove_stripes(strided, np.empty_like(x), 5)
    with pytest.raises(TypeError):
        ringsort._ringsort.remove_stripes(x.astype(np.float64), np.empty_like(x), 5)


def test_the_gil_is_released_while_the_kernel_runs():
    x = unique_values((12, 720, 512))
    ticks: list[float] = []
    stop = threading.Event()

    def tick():
        while not stop.is_set():
            ticks.append(time.perf_counter())
            time.sleep(0.001)

    t = threading.Thread(target=tick)
    t.start()
    try:
        time.sleep(0.02)
        t0 = time.perf_counter()
        ringsort.remove_stripes(x, 21)
        t1 = time.perf_counter()
    finally:
        stop.set()
        t.join()
    assert t1 - t0 > 0.1, "the call was too short to tell"
    inside = [s for s in ticks if t0 + 0.03 < s < t1 - 0.03]
    assert len(inside) > 5  # another Python thread ran during the C++ call


def test_kernel_errors_are_python_errors():
    x = unique_values((1, 20, 30))
    with pytest.raises(ValueError, match="odd"):
        ringsort.remove_stripes(x, 4)
    with pytest.raises(ValueError, match="exceeds the detector width 30 px"):
        ringsort.remove_stripes(x, 31)
    x[0, 7, 9] = np.nan
    with pytest.raises(ValueError, match="NaN in the sinogram at slice 0, angle 7, pixel 9"):
        ringsort.remove_stripes(x, 5)
    with pytest.raises(ValueError, match="not be the input"):
        ringsort._ringsort.remove_stripes(x, x, 5)


def _wf():
    return Workflow(
        "rings",
        [Step("destripe", "ringsort.remove_stripes", {"size": 11}, {"sinograms": "s"}, {"sinograms": "o"})],
    )


def test_runs_in_a_workflow_and_a_cpp_exception_names_workflow_step_and_chunk(dask_engine):
    striped = unique_values((20, 60, 64), seed=5)
    want = ringsort.remove_stripes(striped, 11)
    np.testing.assert_array_equal(run_workflow(_wf(), DataStore({"s": striped}))["o"], want)
    np.testing.assert_array_equal(
        dask_engine.client.compute(dask_engine.run(_wf(), DataStore({"s": striped}))["o"]).result(), want
    )
    bad = striped.copy()
    bad[13, 5, 40] = np.nan  # in the second chunk of 8 slices, its slice 5
    for run in (lambda s: run_workflow(_wf(), s), lambda s: dask_engine.run(_wf(), s)):
        with pytest.raises(StepError) as err:
            run(DataStore({"s": bad}))
        msg = str(err.value)
        assert "workflow 'rings', step 'destripe', chunk 2/3" in msg, msg
        assert "ValueError: NaN in the sinogram at slice 5, angle 5, pixel 40" in msg


def test_declaration_gives_the_form_the_builder_and_the_cli_options(capsys):
    from daisy_widgets.cli import main
    from daisy_widgets.core import registry
    from daisy_widgets.widgets.form import ParamForm
    from daisy_widgets.widgets.workflow_builder import WorkflowBuilder

    registry.refresh()
    cls = registry.get_algorithm("ringsort.remove_stripes")
    assert cls is ringsort.RemoveStripesSorting
    form = ParamForm(cls)
    assert list(form.fields) == ["size"] and form.fields["size"].value == 21
    assert cls.validate_params({"size": 20}) == {"size": ["must be odd; got 20"]}
    assert "ringsort.remove_stripes" in [v for _, v in WorkflowBuilder().picker.options]
    assert main(["algorithms", "ringsort.remove_stripes"]) == 0
    assert "--size" in capsys.readouterr().out
