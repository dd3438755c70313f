"""The open stage's layout form, driven over a model in memory: a file no reader recognises opens a
form with its candidates pre-filled; the chosen layout opens it and is remembered per file-name pattern."""

from __future__ import annotations

import shutil

import h5py
import numpy as np
import pytest

from daisy_widgets.tomography.app.controller import TomographyController
from daisy_widgets.tomography.app.model import TomographyModel
from daisy_widgets.tomography.app.stage_open import OpenStage
from daisy_widgets.tomography.io import LayoutMemory

N, ROWS, COLS = 40, 3, 48


@pytest.fixture()
def beamline(tmp_path):
    """A NeXus scan through an external link (image key with flats before/after and key 3, angles per
    frame in degrees without units), a TIFF folder, and a memory of layouts in a temporary home."""
    import tifffile

    from daisy_widgets.tomography.phantom import ScanOptions, simulate_scan

    sc = simulate_scan(ScanOptions(size=COLS, height=ROWS, n_angles=N, seed=2, n_flats=2, n_darks=2))
    proj, flats, darks = (np.round(a).astype(np.uint16) for a in (sc.projections, sc.flats, sc.darks))
    frames = np.concatenate([darks, flats, proj[:1] * 0, proj, flats])
    key = np.concatenate([[2, 2, 1, 1, 3], np.zeros(N), [1, 1]]).astype(np.int8)
    angles = np.concatenate([np.zeros(5), sc.theta_deg, np.full(2, sc.theta_deg[-1])])
    d = tmp_path / "data"
    d.mkdir()
    with h5py.File(d / "det_0042.h5", "w") as f:
        f["data"] = frames
    with h5py.File(d / "scan_0042.nxs", "w") as f:
        f["/entry/imaging/data"] = h5py.ExternalLink("det_0042.h5", "/data")
        f["/entry/instrument/imaging/image_key"] = key
        f["/entry/sample/positioner/rot"] = angles
    shutil.copy(d / "det_0042.h5", d / "det_0043.h5")
    with h5py.File(d / "scan_0043.nxs", "w") as f:  # the next scan of the run: same layout
        f["/entry/imaging/data"] = h5py.ExternalLink("det_0043.h5", "/data")
        f["/entry/instrument/imaging/image_key"] = key
        f["/entry/sample/positioner/rot"] = angles
    t = d / "tiffs"
    t.mkdir()
    for k, frame in enumerate(proj):
        tifffile.imwrite(t / f"proj_{k}.tif", frame)
    tifffile.imwrite(t / "flat_0.tif", flats[0])
    tifffile.imwrite(t / "dark_0.tif", darks[0])
    (t / "angles.txt").write_text("\n".join(repr(float(a)) for a in sc.theta_deg))
    return d, proj


@pytest.fixture()
def stage(beamline, tmp_path, monkeypatch):
    monkeypatch.setenv("DAISY_USER_DIR", str(tmp_path / "home"))
    model = TomographyModel(auto_preview=False)
    controller = TomographyController(
        model, data_dir=beamline[0], results_dir=tmp_path / "r", preview_delay=0.01
    )
    s = OpenStage(model, controller).render()
    yield s
    controller.preview_runner.cancel()
    s.close()


def test_unknown_nexus_opens_the_form_pre_filled_then_opens_and_remembers(stage, beamline):
    data, proj = beamline
    model, form = stage.model, stage.layout_form
    assert form.layout.display == "none"  # nothing waiting
    assert stage.controller.open_scan(data / "scan_0042.nxs") is None
    assert model.scan is None and not model.message_error  # not an error: a question
    assert "Open with this layout" in model.message
    assert form.layout.display == ""
    assert (
        form.data.value == "/entry/imaging/data" and "external link -> det_0042.h5:/data" in form.data.label
    )
    assert form.image_key.value == "/entry/instrument/imaging/image_key"
    assert form.angles.value == "/entry/sample/positioner/rot" and form.angles_unit.value == "deg"
    assert form.flats.value == "" and form.remember.description == "remember for scan_*.nxs"
    assert "--image-key /entry/instrument/imaging/image_key" in form.command.value
    form.open_button.click()
    assert model.scan is not None and model.scan.shape == (N, ROWS, COLS)
    np.testing.assert_array_equal(np.asarray(model.scan.projections), proj)
    assert model.scan.flats_after is not None and model.layout_form == {}
    assert form.layout.display == "none" and "remembered its layout for scan_*.nxs" in model.message
    assert LayoutMemory().recall("scan_9999.nxs").image_key == "/entry/instrument/imaging/image_key"
    # the next scan of the run opens straight away, with the remembered layout
    scan = stage.controller.open_scan(data / "scan_0043.nxs")
    assert scan is not None and scan.path.endswith("scan_0043.nxs") and model.layout_form == {}
    assert "40 projections" in stage.metadata.value or "40 angles" in stage.metadata.value


def test_a_wrong_choice_is_a_plain_error_and_the_form_stays(stage, beamline):
    data, _ = beamline
    stage.controller.open_scan(data / "scan_0042.nxs")
    form = stage.layout_form
    form.angles.value = "0:180:7"  # not 40 angles
    form.open_button.click()
    model = stage.model
    assert model.scan is None and model.message_error
    assert (
        "40 angles (one per projection) or 47 (one per frame)" in model.message
        and "7 values" in model.message
    )
    assert "Traceback" not in model.message
    assert form.layout.display == "" and LayoutMemory().recall("scan_0042.nxs") is None  # nothing remembered
    form.angles.value = "/entry/sample/positioner/rot"
    form.open_button.click()
    assert model.scan is not None and not model.message_error


def test_a_tiff_of_a_series_opens_its_folder(stage, beamline):
    data, proj = beamline
    stage.controller.open_scan(data / "tiffs" / "proj_3.tif")
    form = stage.layout_form
    assert stage.model.layout_form["kind"] == "tiff" and stage.model.layout_form["path"] == str(
        data / "tiffs"
    )
    assert form.data.layout.display == "none"  # TIFF: no dataset paths
    assert form.flats.value == "flat_*.tif" and form.darks.value == "dark_*.tif"
    assert form.angles.value == "angles.txt"
    assert form.open_chosen() is not None
    np.testing.assert_array_equal(np.asarray(stage.model.scan.projections), proj)
    assert "angles.txt" in form.command.value or stage.model.layout_form == {}


def test_standard_files_never_show_the_form(stage, tmp_path):
    from daisy_widgets.tomography.phantom import write_sample_scan

    p = write_sample_scan(tmp_path / "tomo_0001.h5", size=32, n_angles=20, height=2)
    assert stage.controller.open_scan(p) is not None
    assert stage.model.layout_form == {} and stage.layout_form.layout.display == "none"


def test_save_nexus_with_provenance_from_a_layout_opened_file(stage, beamline, tmp_path):
    """A scan opened through the layout form, reconstructed, saved as NeXus: parameters, layout, checksums."""
    import hashlib
    import json

    from daisy_widgets.tomography.app.model import VolumeResult
    from daisy_widgets.tomography.io import read_provenance

    data, proj = beamline
    c = stage.controller
    c.open_scan(data / "scan_0042.nxs")
    stage.layout_form.open_button.click()
    scan = stage.model.scan
    vol = np.ones((2, COLS, COLS), np.float32)
    stage.model.volume = VolumeResult(vol, {"algorithm": "fbp", "center": 23.5}, 1, scan.path)
    assert c.default_save_path("nexus").endswith("scan_0042_recon.nxs")
    out = c.save(tmp_path / "v", "nexus")
    assert out.endswith("v.nxs")
    with h5py.File(out) as f:
        assert f["/entry/definition"][()] == b"NXtomoproc"
        np.testing.assert_array_equal(f["/entry/data/data"][()], vol)
        assert f["/entry/reconstruction/parameters/center"][()] == 23.5
    prov = read_provenance(out)
    assert prov["layout"]["image_key"] == "/entry/instrument/imaging/image_key"
    assert prov["layout"]["counts"]["invalid"] == 1
    rows = np.ascontiguousarray(proj[:, 1:3])
    assert prov["checksums"]["projections"]["sha256"] == hashlib.sha256(rows.tobytes()).hexdigest()
    assert json.loads(json.dumps(prov))["software"]["h5py"]
