"""Stage 5: motion correction on request, before/after sinograms and the estimated shifts plotted."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from daisy_widgets.tomography.phantom import write_sample_scan


@pytest.fixture(scope="module")
def jitter_scan(tmp_path_factory):
    d = tmp_path_factory.mktemp("jitter")
    p = write_sample_scan(
        d / "tomo_jitter.h5",
        size=64,
        n_angles=60,
        height=8,
        center_offset=0.0,
        seed=3,
        noise=False,
        zingers=False,
        rings=False,
        jitter=1.5,
    )
    return p


def test_motion_estimate_reduces_the_error(data_dir, tmp_path, jitter_scan):
    from daisy_widgets.tomography.app import TomographyApp
    from daisy_widgets.tomography.phantom import ScanOptions, simulate_scan

    app = TomographyApp(
        data_dir=jitter_scan.parent, results_dir=tmp_path, engine_kw={"processes": False}, preview_delay=0.05
    )
    assert app.scan.path == str(jitter_scan)
    app.motion_form.set_values({"iterations": 8, "vertical": False})
    app.motion_rows.value = 4
    app.estimate_motion(wait=True)
    assert app.motion_job.status.value == "done", app.motion_job.log_area.value
    est = app.shifts
    assert est.shape == (60, 2)
    # ground truth: the same seeded jitter, with the unobservable parts (mean, a cos + b sin) removed
    truth = simulate_scan(
        ScanOptions(size=64, height=8, n_angles=60, seed=3, flux=0, zingers=0, ring_pixels=0, jitter=1.5)
    ).shifts[:, 1]
    th = app.scan.theta_rad
    basis = np.stack([np.ones_like(th), np.cos(th), np.sin(th)], axis=1)
    truth = truth - basis @ np.linalg.lstsq(basis, truth, rcond=None)[0]
    residual = est[:, 1] - truth
    assert np.sqrt(np.mean(residual**2)) < 0.5 * np.sqrt(np.mean(truth**2))
    # before/after sinograms and the plot
    assert app.motion_before.image.shape == app.motion_after.image.shape == (60, 64)
    np.testing.assert_allclose(np.asarray(app.shift_lines.y), est.T)
    np.testing.assert_allclose(np.asarray(app.shift_lines.x), app.scan.theta)
    # 'use the correction' applies it to the preview
    assert app.motion_use.value
    app.update_preview(wait=True)
    rows, aligned = app.aligned
    np.testing.assert_array_equal(app.after_view.image, aligned[app.preview_row.value - rows.start])
    app.preview_runner.cancel()
    with h5py.File(jitter_scan) as f:
        assert f["/exchange"].attrs["jitter_rms"] == 1.5
