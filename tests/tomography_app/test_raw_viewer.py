"""Stage 2: projections / flats / darks with a slider, sinogram of a chosen row, zoom, contrast."""

from __future__ import annotations

import h5py
import numpy as np


def test_projection_slider_shows_the_file_frames(app, sample):
    with h5py.File(sample) as f:
        data = f["/exchange/data"][()]
        flats = f["/exchange/data_white"][()]
        darks = f["/exchange/data_dark"][()]
    app.show_stage("2 Raw data")
    v = app.raw_view
    assert v.n_frames == data.shape[0]
    v.slider.value = 17
    np.testing.assert_array_equal(v.image, data[17])
    assert v.frame_label.value == f"{app.scan.theta[17]:.2f}°"
    app.raw_kind.value = "flats"
    assert v.n_frames == flats.shape[0]
    np.testing.assert_array_equal(v.image, flats[v.index])
    app.raw_kind.value = "darks"
    np.testing.assert_array_equal(v.image, darks[v.index])


def test_sinogram_of_chosen_row(app, sample):
    with h5py.File(sample) as f:
        data = f["/exchange/data"][()]
    app.raw_row.value = 2
    np.testing.assert_array_equal(app.sino_view.image, data[:, 2, :])
    assert app.sino_view.frame_label.value == "row 2"


def test_contrast_window_is_the_percentiles_and_follows_frames(app):
    v, c = app.raw_view, app.raw_contrast
    c.set_percentiles(5, 95)
    lo, hi = np.percentile(v.image, [5, 95])
    assert np.allclose(v.window, (lo, hi), rtol=1e-5)
    v.slider.value = 40  # a new frame: same percentiles, new values
    lo2, hi2 = np.percentile(v.image, [5, 95])
    assert np.allclose(v.window, (lo2, hi2), rtol=1e-5)
    c.auto_button.click()
    assert c.percentiles == (0.5, 99.5)


def test_zoom_reset_restores_full_extent(app):
    v = app.raw_view
    h, w = v.image.shape
    v.xs.min, v.xs.max = 10.0, 20.0  # what a wheel zoom does to the scales
    v.reset_button.click()
    assert (v.xs.min, v.xs.max) == (-0.5, w - 0.5) and (v.ys.min, v.ys.max) == (-0.5, h - 0.5)
