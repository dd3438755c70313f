"""Stage 8: save the volume as HDF5 with its parameters, or as a TIFF stack; the path is shown; nothing damaged."""

from __future__ import annotations

import h5py
import numpy as np
import pytest
import tifffile


@pytest.fixture()
def reconstructed(app, true_center):
    app.set_center(true_center)
    app.slices.value = (2, 3)
    app.engine_choice.value = "inprocess"
    app.reconstruct_volume(wait=True)
    assert app.recon_job.status.value == "done"
    return app


def test_save_hdf5_with_parameters(reconstructed, tmp_path, sample, true_center):
    app = reconstructed
    assert app.save_path.value.endswith("tomo_sample_recon.h5")
    app.save_path.value = str(tmp_path / "sub" / "vol.h5")
    app.save_button.click()
    out = tmp_path / "sub" / "vol.h5"
    assert str(out) in app.saved.value and app.saved_paths[-1] == str(out)
    with h5py.File(out) as f:
        np.testing.assert_array_equal(f["/exchange/data"][()], app.volume)
        a = f["/exchange"].attrs
        assert a["center"] == pytest.approx(true_center) and a["algorithm"] == "fbp" and a["slices"] == "2:4"
        assert a["input_path"] == str(sample) and f["/exchange/data"].attrs["first_slice"] == 2


def test_existing_file_is_not_overwritten_without_consent(reconstructed, tmp_path):
    app = reconstructed
    target = tmp_path / "keep.h5"
    target.write_bytes(b"precious")
    app.save_path.value = str(target)
    app.save_button.click()
    assert target.read_bytes() == b"precious"
    assert "daisy-tomo-error" in app.message._dom_classes and "overwrite" in app.message.value
    app.overwrite.value = True
    app.save_button.click()
    with h5py.File(target) as f:
        assert f["/exchange/data"].shape == app.volume.shape


def test_save_tiff_stack(reconstructed, tmp_path):
    app = reconstructed
    app.save_format.value = "tiff"
    assert app.save_path.value.endswith("_tiff")
    app.save_path.value = str(tmp_path / "tiffs")
    app.save_button.click()
    files = sorted((tmp_path / "tiffs").glob("*.tif"))
    assert [f.name for f in files] == ["slice_00002.tif", "slice_00003.tif"]
    np.testing.assert_array_equal(tifffile.imread(files[1]), app.volume[1])


def test_unwritable_target_is_reported(reconstructed, tmp_path):
    app = reconstructed
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    app.save_path.value = str(blocker / "x.h5")  # the 'folder' is a file: cannot be written
    app.save_button.click()
    assert "daisy-tomo-error" in app.message._dom_classes and "Nothing was damaged" in app.message.value
    assert blocker.read_text() == "not a folder"
    app.save_path.value = str(tmp_path / "ok.h5")  # and the app still saves afterwards
    app.save_button.click()
    assert (tmp_path / "ok.h5").exists() and "daisy-tomo-error" not in app.message._dom_classes


def test_save_before_reconstruction_is_refused(app):
    app.save_button.click()
    assert app.volume is None and "reconstruct a volume first" in app.message.value
