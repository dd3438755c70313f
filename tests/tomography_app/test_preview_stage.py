"""Stage 6: the one-slice preview is debounced, computed in the background, and stale requests are dropped."""

from __future__ import annotations

import time

import numpy as np
import pytest

from daisy_widgets.tomography import reconstruct


def test_preview_equals_library_reconstruction(app):
    app.set_center(50.0)
    app.filter.value = "hann"
    app.update_preview(wait=True)
    sino = app.sinogram(app.preview_row.value)
    ref = reconstruct(sino, app.scan.theta_rad, 50.0, "fbp", "hann")
    np.testing.assert_allclose(app.preview_image, ref, rtol=1e-5, atol=1e-6)
    assert "hann" in app.preview_status.value


def test_rapid_changes_deliver_only_the_latest_and_do_not_block(app):
    app.preview_runner.wait(60)
    done_before = app.preview_runner.completed
    t0 = time.monotonic()
    for c in np.arange(45.0, 52.0, 0.5):  # a slider dragged through 14 values
        app.center_slider.value = float(c)
    assert time.monotonic() - t0 < 3.0  # the calls return at once: nothing computed inline
    assert app.preview_runner.wait(60)
    assert app.preview_runner.completed == done_before + 1  # one answer, for the last value
    assert "centre 51.50 px" in app.preview_status.value
    ref = reconstruct(app.sinogram(app.preview_row.value), app.scan.theta_rad, 51.5)
    np.testing.assert_allclose(app.preview_image, ref, rtol=1e-5, atol=1e-6)


def test_running_preview_is_cancelled_by_a_newer_one(app):
    app.algorithm.value = "sirt"  # a slow preview
    app.iterations.value = 400
    app.preview_runner.wait(60)
    app.preview_runner.delay = 0.0
    stale0 = app.preview_runner.stale
    app.update_preview()
    time.sleep(0.3)  # it is running now
    app.algorithm.value = "fbp"  # newer request
    t0 = time.monotonic()
    assert app.preview_runner.wait(120)
    while app.preview_runner.stale == stale0 and time.monotonic() - t0 < 10:
        time.sleep(0.05)
    assert app.preview_runner.stale > stale0  # the SIRT run stopped at its next iteration
    assert "fbp" in app.preview_status.value


def test_other_slice_row(app):
    app.preview_row.value = 1
    app.preview_runner.wait(60)
    assert app.preview_status.value.startswith("row 1")


def test_binned_preview_for_wide_detectors(app, true_center):
    from daisy_widgets.tomography.app.logic import bin_detector, preview_binning

    assert preview_binning(1024) == 2 and preview_binning(2048) == 4 and preview_binning(96) == 1
    assert preview_binning(96, 2) == 2
    app.set_center(true_center)
    app.preview_binning.value = 2
    app.preview_runner.wait(60)
    assert "binned 2×" in app.preview_status.value
    sino = app.sinogram(app.preview_row.value)
    sb, cb = bin_detector(sino, true_center, 2)
    assert sb.shape == (sino.shape[0], sino.shape[1] // 2) and cb == pytest.approx((true_center - 0.5) / 2)
    ref = reconstruct(sb, app.scan.theta_rad, cb) / 2
    np.testing.assert_allclose(app.preview_image, ref, rtol=1e-5, atol=1e-6)
    full = reconstruct(sino, app.scan.theta_rad, true_center)
    # same attenuation scale as the full-resolution slice (means over the object agree within 10 %)
    assert abs(app.preview_image.mean() - full.mean()) < 0.1 * abs(full.mean())
