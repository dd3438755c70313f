"""Stage 7: the volume runs as a workflow on the Dask engine, with progress, ETA and Cancel."""

from __future__ import annotations

import time

import numpy as np
import pytest

from daisy_widgets.core.backend import gpu_available
from daisy_widgets.tomography import preprocess as P
from daisy_widgets.tomography import reconstruct


def _library_volume(scan, rows, center, flt):
    b = scan.block(rows)
    sino = P.minus_log(P.normalize(b["projections"], b["flats"], b["darks"])).transpose(1, 0, 2)
    return reconstruct(np.ascontiguousarray(sino), scan.theta_rad, center, "fbp", flt)


def test_volume_on_dask_matches_the_library(app, true_center):
    app.set_center(true_center)
    app.slices.value = (1, 4)
    app.recon_filter.value = "shepp-logan"
    assert app.engine_choice.value == "dask"
    app.reconstruct_volume(wait=True)
    job = app.recon_job
    assert job.status.value == "done", job.log_area.value
    assert "ETA" in job.detail.value and job.bar.value == 1.0
    assert "chunk" in job.log_area.value or job.last_event.n_steps >= 3
    assert app.volume.shape == (4, 96, 96)
    ref = _library_volume(app.scan, slice(1, 5), true_center, "shepp-logan")
    np.testing.assert_allclose(app.volume, ref, rtol=1e-4, atol=1e-5)
    # the result stage shows it
    assert app.tabs.selected_index == 7
    np.testing.assert_array_equal(app.volume_view.axial.image, app.volume[app.volume_view.axial.index])
    assert app.volume_view.volume_mark is not None and app.volume_view.small.shape == (4, 96, 96)


def test_cancel_keeps_the_previous_result(app):
    app.slices.value = (0, 1)
    app.reconstruct_volume(wait=True)
    previous = app.volume.copy()
    app.slices.value = (0, 5)
    app.recon_algorithm.value = "sirt"
    app.iterations.value = 3000  # long enough to cancel
    t = app.reconstruct_volume()
    t0 = time.monotonic()
    while app.recon_job.last_event is None and time.monotonic() - t0 < 30:
        time.sleep(0.05)
    time.sleep(0.5)
    app.recon_job.cancel_button.click()
    t.join(60)
    assert not t.is_alive()
    assert app.recon_job.status.value == "cancelled"
    np.testing.assert_array_equal(app.volume, previous)
    # usable afterwards
    app.recon_algorithm.value = "fbp"
    app.reconstruct_volume(wait=True)
    assert app.recon_job.status.value == "done" and app.volume.shape[0] == 6


def test_step_failure_is_reported_in_words(app, monkeypatch):
    app.slices.value = (0, 1)
    app.recon_algorithm.value = "cgls"
    app.iterations.value = 5
    import daisy_widgets.tomography.iterative as it

    def boom(*a, **k):
        raise MemoryError()

    monkeypatch.setattr(it, "cgls", boom)
    app.engine_choice.value = "inprocess"
    app.reconstruct_volume(wait=True)
    assert app.recon_job.status.value == "failed"
    assert "Out of memory" in app.message.value and "reconstruct" in app.message.value


def test_gpu_offered_only_with_a_device(app):
    values = [v for _label, v in app.backend.options]
    assert ("cupy" in values) == gpu_available()
    assert values[0] == "numpy"


def test_volume_too_big_for_memory_is_refused_before_it_starts(app, monkeypatch):
    import psutil

    from daisy_widgets.tomography.app.logic import check_memory, volume_bytes

    assert volume_bytes(2, 90, 96) == 2 * (3 * 90 * 96 + 96 * 96) * 4
    with pytest.raises(MemoryError, match="choose at most 3 slices"):
        check_memory(10, 90, 96, "dask", available=int(4 * volume_bytes(1, 90, 96)))
    check_memory(3, 90, 96, "dask", available=int(4 * volume_bytes(1, 90, 96)))  # fits: no error

    class Tiny:
        available = volume_bytes(1, 90, 96)

    monkeypatch.setattr(psutil, "virtual_memory", lambda: Tiny)
    app.slices.value = (0, 5)
    app.recon_button.click()
    assert "Out of memory" in app.message.value and "choose at most" in app.message.value
    assert not app.recon_job.running and app.volume is None
