"""What the HXMT simulator and the tomography phantom write is indexed with the right metadata."""

from __future__ import annotations

import pytest

from daisy_widgets.store.scanning import find_exposures, find_scans


def test_simulated_hxmt_observation_is_indexed(tmp_path):
    sim = pytest.importorskip("daisy_widgets.hxmt.simulate")
    from astropy.io import fits

    sim.write_sample_observations(tmp_path, n=1, seed=0, exposure=200.0, instruments=("HE",))
    found = list(find_exposures(tmp_path))
    assert len(found) == 1
    exp, files = found[0]
    evt = next(f for f in exp.files if f.kind == "HE-Evt").path
    h = fits.getheader(evt, 0)
    m = exp.metadata
    assert m["target"] == h["OBJECT"] and m["obs_id"] == h["OBS_ID"] and m["exp_id"] == h["EXP_ID"]
    assert m["ra"] == pytest.approx(h["RA_OBJ"]) and m["dec"] == pytest.approx(h["DEC_OBJ"])
    assert m["tstart"] == pytest.approx(h["TSTART"]) and m["tstop"] == pytest.approx(h["TSTOP"])
    assert m["start"] == h["DATE-OBS"] and m["stop"] == h["DATE-END"]
    assert m["instruments"] == ["HE"] and m["data_version"]
    assert {f["kind"] for f in files} >= {"HE-Evt", "EHK", "Att", "Orbit"}
    assert all(len(f["sha256"]) == 64 and f["size"] > 0 for f in files)


def test_phantom_scan_is_indexed(tmp_path):
    phantom = pytest.importorskip("daisy_widgets.tomography.phantom")
    phantom.write_sample_scan(tmp_path / "tomo.h5", size=32, n_angles=40, height=4, seed=0)
    (scan,) = list(find_scans(tmp_path))
    m = scan.metadata
    assert m["format"] == "data-exchange" and m["shape"] == [40, 4, 32] and m["n_angles"] == 40
    assert m["energy"] == 25.0 and m["pixel_size"] == 1e-06 and m["sample_name"]
    assert 0 <= m["angle_min"] < m["angle_max"] < 360
