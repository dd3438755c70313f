"""Each stage of the tomography app built alone over a model in memory (no app around it)."""

from __future__ import annotations

import h5py
import ipywidgets as W
import numpy as np
import pytest
from traitlets import Float, HasTraits

from daisy_widgets.tomography.app.controller import TomographyController
from daisy_widgets.tomography.app.model import (
    MotionResult,
    PreviewResult,
    TomographyModel,
    VolumeResult,
    default_step_values,
)
from daisy_widgets.tomography.io import read_scan
from daisy_widgets.widgets.stage import Stage


@pytest.fixture()
def model(sample):
    m = TomographyModel(auto_preview=False)  # no background previews: the stages alone
    m.scan_opened(read_scan(sample))
    return m


@pytest.fixture()
def controller(model, data_dir, tmp_path):
    c = TomographyController(model, data_dir=data_dir, results_dir=tmp_path / "results", preview_delay=0.01)
    yield c
    c.preview_runner.cancel()


# ------------------------------------------------------------------------- the generic base
class _Threshold(HasTraits):
    threshold = Float(0.5)


class _ThresholdStage(Stage):
    title = "Threshold"
    built = 0

    def _render(self):
        type(self).built += 1
        self.slider = W.FloatSlider(min=0, max=1, step=0.01)
        self.bind(self.slider, "threshold")
        return [self.slider]


def test_stage_renders_once_binds_both_ways_and_unobserves_on_close():
    m = _Threshold()
    stage = _ThresholdStage(m)
    assert not stage.rendered and stage.children == () and _ThresholdStage.built == 0  # lazy
    assert stage.render() is stage and stage.render() is stage and _ThresholdStage.built == 1
    assert stage.slider.value == 0.5  # starts from the model
    stage.slider.value = 0.25  # the user moves it
    assert m.threshold == 0.25
    m.threshold = 0.75  # a script or another stage changes the model
    assert stage.slider.value == 0.75
    stage.close()
    m.threshold = 0.1  # a closed stage follows nothing
    assert stage.slider.value == 0.75
    stage.slider.value = 0.9
    assert m.threshold == 0.1


# ------------------------------------------------------------------------- the model alone
def test_model_opens_a_scan_and_validates_without_widgets(model, geometry):
    size, angles, rows = geometry
    assert model.preview_row == rows // 2 and model.slices == (0, rows - 1)
    assert model.center is None and model.center_or_middle == (size - 1) / 2
    s = model.preprocess_settings()
    assert s.zingers is None and s.stripes is None and dict(s.normalize) == default_step_values()["normalize"]
    model.steps_on = {**model.steps_on, "stripes": True}
    assert model.preprocess_settings().stripes["method"] == "sorting"
    model.preprocess_problems = {"zingers.threshold": ["expected >= 0"]}
    with pytest.raises(Exception, match="zingers.threshold"):
        model.preprocess_settings()
    model.center, model.sweep, model.motion_use = 40.0, [{"center": 40.0}], True
    model.scan_opened(model.scan)  # a new scan: the later stages start again
    assert model.center is None and model.sweep == [] and not model.motion_use


def test_controller_alone_previews_into_the_model(model, controller):
    from daisy_widgets.tomography import reconstruct

    model.auto_preview = True
    controller.set_center(47.0, "test")  # a change of a preview input asks for a new slice
    assert controller.preview_runner.wait(60)
    result = model.preview
    assert result.snapshot["center"] == 47.0 and result.snapshot["row"] == model.preview_row
    ref = reconstruct(controller.sinogram(model.preview_row), model.scan.theta_rad, 47.0)
    np.testing.assert_allclose(result.image, ref, rtol=1e-5, atol=1e-6)
    model.preprocess_problems = {"zingers.threshold": ["expected >= 0"]}  # a form holds a bad value
    assert model.message_error and "zingers.threshold" in model.message and model.errors


# ------------------------------------------------------------------------- each stage
def test_open_stage_shows_the_scan_of_the_model(model, controller, sample):
    from daisy_widgets.tomography.app.stage_open import OpenStage

    stage = OpenStage(model, controller).render()
    assert "90 angles" in stage.metadata.value and "Shepp-Logan" in stage.metadata.value
    model.service_scans = [("dx  (4 × 5 × 6)", "dx"), ("nx", "nx")]
    assert stage.service_list.options == (("dx  (4 × 5 × 6)", "dx"), ("nx", "nx"))
    assert stage.service_list.value == "dx"
    stage.select_file(sample)
    assert stage.browser.selected_path == str(sample.resolve())


def test_raw_stage_reads_frames_of_the_model_scan(model, controller, sample):
    from daisy_widgets.tomography.app.stage_raw import RawDataStage

    stage = RawDataStage(model, controller).render()
    with h5py.File(sample) as f:
        data, darks = f["/exchange/data"][()], f["/exchange/data_dark"][()]
    assert stage.raw_view.n_frames == data.shape[0]
    stage.raw_row.value = 4
    np.testing.assert_array_equal(stage.sino_view.image, data[:, 4, :])
    stage.raw_kind.value = "darks"
    np.testing.assert_array_equal(stage.raw_view.image, darks[stage.raw_view.index])


def test_preprocess_stage_writes_steps_and_problems_to_the_model(model, controller):
    from daisy_widgets.tomography.app.stage_preprocess import PreprocessStage

    stage = PreprocessStage(model, controller).render()
    stage.enabled["stripes"].value = True
    assert model.steps_on["stripes"] and model.preprocess_settings().stripes is not None
    stage.forms["stripes"].fields["sigma"].value = 2.5
    assert model.step_values["stripes"]["sigma"] == 2.5
    stage.enabled["zingers"].value = True
    stage.forms["zingers"].fields["threshold"].value = -3.0  # below the declared minimum
    assert "zingers.threshold" in model.preprocess_problems
    assert model.step_values["zingers"]["threshold"] == 0.1  # the last valid value is kept
    stage.forms["zingers"].fields["threshold"].value = 0.3
    assert model.preprocess_problems == {} and model.step_values["zingers"]["threshold"] == 0.3
    controller.set_preprocessing(zingers=False, phase={"energy": 30.0})  # model -> widgets
    assert not stage.enabled["zingers"].value and stage.enabled["phase"].value
    assert stage.forms["phase"].coerced["energy"] == 30.0


def test_centre_stage_slider_and_model_follow_each_other(model, controller, geometry):
    from daisy_widgets.tomography.app.stage_centre import CentreStage

    stage = CentreStage(model, controller).render()
    size = geometry[0]
    assert stage.center_slider.max == size - 1 and stage.center_slider.value == (size - 1) / 2
    assert "not estimated" in stage.center_value.value
    controller.set_center(50.0, "test")
    assert stage.center_slider.value == 50.0 and "50.00 px</b> (test)" in stage.center_value.value
    stage.center_slider.value = 48.25
    assert model.center == 48.25 and model.center_method == "refined by hand"
    thumbs = [
        {"center": c, "image": np.full((8, 8), c, np.float32), "sharpness": -abs(c - 48)}
        for c in (47, 48, 49)
    ]
    model.sweep = thumbs
    assert len(stage.sweep_box.children) == 3
    assert stage.sweep_box.children[1].children[1].button_style == "success"  # the sharpest
    stage.sweep_box.children[2].children[1].click()
    assert model.center == 49 and model.center_method == "picked from the sweep"
    assert stage.sweep_box.children[2].children[1].button_style == "info"


def test_motion_stage_draws_the_model_result(model, controller, geometry):
    from daisy_widgets.tomography.app.stage_motion import MotionStage

    stage = MotionStage(model, controller).render()
    size, angles, rows = geometry
    before = np.random.default_rng(0).random((3, angles, size), dtype=np.float32)
    shifts = np.stack([np.zeros(angles), np.linspace(-1, 1, angles)], axis=1)
    model.motion = MotionResult(slice(1, 4), before, before[:, :, ::-1].copy(), shifts)
    k = model.preview_row - 1
    np.testing.assert_array_equal(stage.motion_before.image, before[k])
    np.testing.assert_array_equal(stage.motion_after.image, before[k, :, ::-1])
    np.testing.assert_allclose(np.asarray(stage.shift_lines.y), shifts.T)
    stage.motion_use.value = True
    assert model.motion_use
    stage.motion_form.fields["iterations"].value = 5
    assert model.align_params["iterations"] == 5
    model.align_params = {"iterations": 12, "vertical": False}  # model -> form
    assert stage.motion_form.coerced == {"iterations": 12, "vertical": False}


def test_preview_stage_and_panel_follow_the_model(model, controller):
    from daisy_widgets.tomography.app.preview_panel import PreviewPanel
    from daisy_widgets.tomography.app.stage_preview import PreviewStage

    stage = PreviewStage(model, controller).render()
    panel = PreviewPanel(model, controller).render()
    stage.filter.value = "hann"
    stage.preview_binning.value = 2
    assert model.filter == "hann" and model.binning == 2
    model.algorithm = "sirt"
    assert stage.algorithm.value == "sirt"
    assert panel.preview_row.max == model.scan.shape[1] - 1 and panel.preview_row.value == model.preview_row
    panel.preview_row.value = 1
    assert model.preview_row == 1
    img = np.arange(16, dtype=np.float32).reshape(4, 4)
    snap = {"row": 1, "center": 47.5, "algorithm": "fbp", "filter": "hann", "binning": 1}
    model.preview = PreviewResult(snap, np.zeros((2, 4), np.float32), img, 0.125)
    np.testing.assert_array_equal(panel.preview_view.image, img)
    assert panel.preview_status.value == "row 1 · centre 47.50 px · fbp/hann · computed in 0.12 s"
    model.preview_state = "failed"
    assert "preview failed" in panel.preview_status.value


def test_reconstruct_stage_sets_the_volume_choices(model, controller, geometry):
    from daisy_widgets.tomography.app.stage_reconstruct import ReconstructStage

    stage = ReconstructStage(model, controller).render()
    size, angles, rows = geometry
    assert stage.slices.max == rows - 1 and stage.slices.value == model.slices
    stage.slices.value = (1, 2)
    assert model.slices == (1, 2) and f"2 slices of {size}×{size} px" in stage.size_info.value
    model.algorithm, model.filter = "gridrec", "cosine"
    stage.same_as_preview.click()
    assert (stage.recon_algorithm.value, stage.recon_filter.value) == ("gridrec", "cosine")
    stage.engine_choice.value = "inprocess"
    assert model.engine == "inprocess"


def test_result_stage_shows_and_saves_the_model_volume(model, controller, tmp_path):
    from daisy_widgets.tomography.app.stage_result import ResultStage

    stage = ResultStage(model, controller).render()
    assert stage.save_button.disabled
    vol = np.random.default_rng(1).random((2, 16, 16), dtype=np.float32)
    model.volume = VolumeResult(vol, {"algorithm": "fbp"}, 3, model.scan.path)
    assert not stage.save_button.disabled and stage.save_path.value.endswith("tomo_sample_recon.h5")
    np.testing.assert_array_equal(stage.volume_view.axial.image, vol[stage.volume_view.axial.index])
    out = stage.save(tmp_path / "v.h5")
    with h5py.File(out) as f:
        np.testing.assert_array_equal(f["/exchange/data"][()], vol)
        assert f["/exchange"].attrs["algorithm"] == "fbp" and f["/exchange/data"].attrs["first_slice"] == 3
    assert model.saved_paths == [out] and "Saved to" in stage.saved.value


def test_model_logic_and_controller_import_no_page_widgets():
    import subprocess
    import sys

    code = (
        "import sys, daisy_widgets.tomography.app.model, daisy_widgets.tomography.app.logic, "
        "daisy_widgets.tomography.app.controller; "
        "print(sorted(m for m in ('ipywidgets', 'bqplot', 'ipyvolume') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


def test_closed_app_follows_nothing(app):
    app.preview_runner.wait(60)
    app.show_stage("4 Centre")
    slider, model = app.center_slider, app.model
    app.close()
    generation = app.preview_runner.generation  # (close cancels the preview: one more generation)
    model.center = 40.0  # a script changes the model of a closed app
    assert slider.value != 40.0 and app.preview_runner.generation == generation


def test_app_close_twice_is_harmless(app):
    """ipywidgets' ``__del__`` closes a closed app again: the second close does nothing."""
    app.close()
    app.close()
    assert app.comm is None
