"""Stage 4: automatic centre (value and method), a sweep of trial reconstructions to click, a refine slider."""

from __future__ import annotations

import numpy as np


def test_auto_centre_finds_the_true_axis(app, true_center):
    app.set_preprocessing(stripes={"method": "sorting"})
    c = app.find_center_auto()
    assert abs(c - true_center) < 0.5
    assert app.center == c and app.center_slider.value == c
    assert "Vo" in app.center_value.value and f"{c:.2f}" in app.center_value.value
    app.center_methods.value = "com"
    c2 = app.find_center_auto()
    assert abs(c2 - true_center) < 0.5 and "centre of mass" in app.center_value.value


def test_sweep_thumbnails_click_and_refine(app, true_center):
    app.set_center(true_center - 1.0, "test")
    app.sweep_n.value, app.sweep_step.value = 7, 1.0
    trials = app.sweep_centres()
    assert [t["center"] for t in trials] == list(np.arange(-4, 3) + true_center)
    assert len(app.sweep_box.children) == 7
    best = int(np.argmax([t["sharpness"] for t in trials]))
    assert abs(trials[best]["center"] - true_center) <= 1.0  # the sharpest trial is at the true axis
    app.sweep_box.children[best].children[1].click()  # click its button
    app.wait_idle(60)
    assert app.center == trials[best]["center"] and app.center_method == "picked from the sweep"
    app.center_slider.value = trials[best]["center"] + 0.25  # refine
    assert app.center_method == "refined by hand"
    app.preview_runner.wait(60)
    assert f"centre {trials[best]['center'] + 0.25:.2f} px" in app.preview_status.value


def test_centre_outside_detector_is_refused(app, geometry):
    import pytest

    from daisy_widgets.core.errors import ValidationError

    with pytest.raises(ValidationError, match="inside the detector"):
        app.set_center(geometry[0] + 10)
