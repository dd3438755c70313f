"""The simulator writes the mission's Level-1 layout with a physical orbit and instrument model."""

from __future__ import annotations

import re

import numpy as np
from astropy.io import fits

from daisy_widgets.hxmt.caldb import load_calibration
from daisy_widgets.hxmt.mission import MJDREFF, MJDREFI, spec
from daisy_widgets.hxmt.orbit import ALTITUDE, PERIOD

NAME = re.compile(r"HXMT_P\d{12}_(HE-Evt|ME-Evt|LE-Evt|Orbit|Att|EHK)_FFFFFF_V\d+_L1P\.FITS")


def test_file_names_folders_and_columns(sim_dir):
    files = sorted(p.relative_to(sim_dir).as_posix() for p in sim_dir.rglob("*.FITS"))
    folders = {f.split("/")[0] for f in files}
    assert folders == {"HE", "ME", "LE", "ACS", "AUX"}
    assert all(NAME.fullmatch(f.split("/")[1]) for f in files), files
    assert re.fullmatch(r"P\d{12}-\d{8}-01-01", sim_dir.name)
    he = fits.getdata(next((sim_dir / "HE").glob("*HE-Evt*")), "Events")
    assert he.columns.names == ["Time", "Det_ID", "Channel", "Pulse_Width", "ACD", "Event_Type", "Flag"]
    ehk = fits.getdata(next((sim_dir / "AUX").glob("*EHK*")), "EHK")
    for c in (
        "TIME",
        "ELV",
        "DYE_ELV",
        "COR",
        "SAA_FLAG",
        "T_SAA",
        "TN_SAA",
        "ANG_DIST",
        "SUN_ANG",
        "MOON_ANG",
    ):
        assert c in ehk.columns.names
    orbit = fits.getdata(next((sim_dir / "ACS").glob("*Orbit*")), "Orbit")
    assert {"Time", "Lon", "Lat", "Alt"} <= set(orbit.columns.names)


def test_time_keywords_and_observation_metadata(sim_dir):
    for f in sim_dir.rglob("*.FITS"):
        with fits.open(f) as hl:
            h0, h1 = hl[0].header, hl[1].header
            assert h1["TIMESYS"] == "TT" and h1["MJDREFI"] == MJDREFI and abs(h1["MJDREFF"] - MJDREFF) < 1e-12
            for k in (
                "OBJECT",
                "RA_OBJ",
                "DEC_OBJ",
                "OBS_ID",
                "EXP_ID",
                "DATE-OBS",
                "DATE-END",
                "TSTART",
                "TSTOP",
                "EXPOSURE",
                "INSTLIST",
                "DATA_VER",
            ):
                assert k in h0, (f.name, k)
            assert h0["OBJECT"] == "Crab" and abs(h0["RA_OBJ"] - 83.633) < 1e-3
            assert h0["DATE-OBS"].startswith("2018-03-01")
            t = hl[1].data.field(0)
            assert h0["TSTART"] - 1 <= t.min() and t.max() <= h0["TSTOP"] + 1
    # mission time: TT seconds since 2012-01-01T00:00:00 UTC; DATE-OBS is UTC
    from astropy.time import Time

    since = (Time(h0["DATE-OBS"], scale="utc") - Time("2012-01-01T00:00:00", scale="utc")).sec
    assert abs(since - h0["TSTART"]) < 1.0


def test_orbit_550km_43deg_95min():
    from daisy_widgets.hxmt.orbit import geodetic, position

    assert abs(PERIOD / 60 - 95.6) < 0.3
    t = np.arange(0, 2 * PERIOD, 10.0) + 2e8
    lon, lat, alt = geodetic(t, position(t))
    assert np.allclose(alt, ALTITUDE) and abs(np.abs(lat).max() - 43.0) < 0.1


def test_pi_energy_relations_and_caldb():
    assert spec("HE").energy(256) == 15 + 370 and spec("ME").energy(1024) == 3 + 60
    assert abs(spec("LE").energy(1536) - 13.1) < 1e-9
    for inst in ("HE", "ME", "LE"):
        cal = load_calibration(inst)
        assert cal.blind.any() and (~cal.blind).any()
        assert cal.area.max() > 0 and cal.tau > 0
        assert "caldb/hxmt/" in cal.files["SPECRESP"]


def test_blind_detectors_see_no_source_and_dead_time_holds(sim_dir):
    ev = fits.getdata(next((sim_dir / "HE").glob("*HE-Evt*")), "Events")
    cal = load_calibration("HE")
    det = ev["Det_ID"]
    per_open = np.isin(det, cal.open_detectors).sum() / cal.open_detectors.size
    per_blind = np.isin(det, cal.blind_detectors).sum() / cal.blind_detectors.size
    assert per_blind < 0.6 * per_open  # only particle background in the blind detector
    for d in (0, 5, 16):
        t = np.sort(ev["Time"][det == d])
        assert np.diff(t).min() >= cal.tau * 0.999  # non-paralysable dead time per detector
