"""Products have the issue's names and OGIP conventions; stingray reads them; counts agree."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.io import fits

from daisy_widgets.hxmt.mission import spec

NAMES = ("{x}_screen.fits", "{x}_spec.pha", "{x}.rsp", "{x}_bkg.pha", "{x}_lc.fits", "{x}_bkg_lc.fits")


@pytest.mark.parametrize("x", ["HE", "ME", "LE"])
def test_product_names_and_ogip_keywords(products, x):
    out, _ = products[x]
    for n in NAMES:
        assert (out / n.format(x=x)).is_file()
    assert not list(out.glob("*.part"))
    with fits.open(out / f"{x}_screen.fits") as hl:
        assert {"TIME", "PI"} <= set(hl["EVENTS"].columns.names) and "GTI" in hl
        assert hl["EVENTS"].header["MJDREFI"] == 55927 and hl["EVENTS"].header["TIMESYS"] == "TT"
    with fits.open(out / f"{x}_spec.pha") as hl:
        h = hl["SPECTRUM"].header
        for k in (
            "TELESCOP",
            "INSTRUME",
            "FILTER",
            "EXPOSURE",
            "AREASCAL",
            "BACKSCAL",
            "CORRSCAL",
            "BACKFILE",
            "CORRFILE",
            "RESPFILE",
            "ANCRFILE",
            "HDUCLASS",
            "HDUCLAS1",
            "HDUVERS",
            "CHANTYPE",
            "DETCHANS",
            "POISSERR",
        ):
            assert k in h, k
        assert h["HDUCLAS1"] == "SPECTRUM" and h["BACKFILE"] == f"{x}_bkg.pha" and h["RESPFILE"] == f"{x}.rsp"
        # OGIP/92-007 columns; QUALITY (5 outside the screened PI range) asked for by issue 15
        assert h["DETCHANS"] == spec(x).n_pi and hl["SPECTRUM"].columns.names == [
            "CHANNEL",
            "COUNTS",
            "QUALITY",
        ]
        assert 0 < h["EXPOSURE"] < fits.getheader(out / f"{x}_screen.fits", "GTI")["TSTOP"]
    with fits.open(out / f"{x}.rsp") as hl:
        m = hl["MATRIX"]
        i = m.columns.names.index("F_CHAN") + 1
        assert m.header[f"TLMIN{i}"] == 0 and m.header["HDUCLAS2"] == "RSP_MATRIX"
        assert "EBOUNDS" in hl and len(hl["EBOUNDS"].data) == spec(x).n_pi
        # effective area folded in: the matrix sums to cm2, not to probabilities
        assert m.data["MATRIX"].sum(axis=1).max() > 50
        eb = hl["EBOUNDS"].data
        assert np.allclose(eb["E_MIN"], spec(x).energy(np.arange(spec(x).n_pi)), rtol=1e-6)
    with fits.open(out / f"{x}_lc.fits") as hl:
        h = hl["RATE"].header
        assert h["HDUCLAS1"] == "LIGHTCURVE" and h["TIMEDEL"] == 1.0 and "GTI" in hl


@pytest.mark.parametrize("x", ["HE", "ME", "LE"])
def test_spectrum_counts_equal_light_curve_counts(products, x):
    out, _ = products[x]
    sp = fits.getdata(out / f"{x}_spec.pha", "SPECTRUM")["COUNTS"].sum()
    lc = fits.getdata(out / f"{x}_lc.fits", "RATE")
    ev = fits.getdata(out / f"{x}_screen.fits", "EVENTS")
    assert sp == lc["COUNTS"].sum() == len(ev) > 10000
    # dead-time corrected rate: RATE * TIMEDEL * FRACEXP * LIVETIME == COUNTS
    assert np.allclose(lc["RATE"] * 1.0 * lc["FRACEXP"] * lc["LIVETIME"], lc["COUNTS"], rtol=1e-9)
    assert np.all(lc["LIVETIME"] < 1.0) and np.all(lc["LIVETIME"] > 0.9)


def test_stingray_reads_events_and_light_curves(products):
    from stingray import EventList, Lightcurve

    out, _ = products["HE"]
    ev = EventList.read(str(out / "HE_screen.fits"), fmt="ogip")
    raw = fits.getdata(out / "HE_screen.fits", "EVENTS")
    assert len(ev.time) == len(raw) and np.allclose(ev.time, raw["TIME"])
    assert ev.gti.shape[1] == 2 and abs(ev.mjdref - 55927.00076601852) < 1e-9
    lc = Lightcurve.read(str(out / "HE_lc.fits"), fmt="ogip")
    ours = fits.getdata(out / "HE_lc.fits", "RATE")
    whole = np.isclose(ours["FRACEXP"], 1.0)  # stingray zeroes bins that stick out of the GTI
    assert len(lc.time) == len(ours) and lc.dt == 1.0
    assert np.allclose(lc.countrate[whole], ours["RATE"][whole])
    # stingray's own light curve of the screened events agrees bin by bin (before dead-time correction)
    lc2 = ev.to_lc(dt=1.0, tstart=ev.gti[0, 0], tseg=ev.gti[-1, 1] - ev.gti[0, 0])
    full = np.isclose(ours["FRACEXP"], 1.0)
    t_full = ours["TIME"][full]
    idx = np.searchsorted(lc2.time, t_full)
    assert np.array_equal(lc2.counts[idx].astype(int), ours["COUNTS"][full])


def test_background_products(products):
    out, st = products["HE"]
    with fits.open(out / "HE_bkg.pha") as hl:
        h = hl["SPECTRUM"].header
        assert h["HDUCLAS2"] == "BKG" and h["BACKSCAL"] == 1.0  # one blind HE detector
    src = fits.getheader(out / "HE_spec.pha", "SPECTRUM")
    assert src["BACKSCAL"] == 17.0
    bkg_lc = fits.getdata(out / "HE_bkg_lc.fits", "RATE")
    src_lc = fits.getdata(out / "HE_lc.fits", "RATE")
    # particle background (scaled to 17 detectors) is a fraction of the Crab-dominated total
    assert 0.05 < bkg_lc["RATE"].mean() / src_lc["RATE"].mean() < 0.6


@pytest.mark.parametrize("with_bool", [False, True])
def test_events_table_written_big_endian_is_the_column_by_column_file(tmp_path, with_bool):
    """The EVENTS table built big-endian in one copy writes the very bytes (header, data, DATASUM)
    that astropy's column-by-column table writes; a boolean column takes the column path."""
    from daisy_widgets.hxmt.product_files import events_table_hdu, events_table_hdu_by_columns

    rng = np.random.default_rng(7)
    cols = [("TIME", "<f8"), ("DET_ID", "u1"), ("CHANNEL", "<i2"), ("ACD", "<i4"), ("PI", "<i2")]
    cols += [("GAIN", "<f4"), ("BIG", "<u4")] + ([("HIT", "?")] if with_bool else [])
    ev = np.zeros(5003, dtype=cols)
    for n in ev.dtype.names:
        ev[n] = rng.integers(0, 2 if n == "HIT" else 300, ev.size)
    ev["TIME"] += 2.0e8 + rng.random(ev.size)
    ev["GAIN"] = rng.random(ev.size)
    ev["BIG"][:3] = [0, 2**31 + 5, 2**32 - 1]  # beyond J: wrapped alike
    files = {}
    for name, build in (("fast", events_table_hdu), ("columns", events_table_hdu_by_columns)):
        hdu = build(ev)
        hdu.header["TSTART"] = 2.0e8
        hdu.add_datasum(when="fixed")
        files[name] = tmp_path / f"{name}.fits"
        fits.HDUList([fits.PrimaryHDU(), hdu]).writeto(files[name])
    assert files["fast"].read_bytes() == files["columns"].read_bytes()
    with fits.open(files["fast"]) as hl:
        d = hl["EVENTS"].data
        assert hl["EVENTS"].columns.names[:2] == ["TIME", "PI"] and hl["EVENTS"].columns["TIME"].unit == "s"
        np.testing.assert_array_equal(d["TIME"], ev["TIME"])
        np.testing.assert_array_equal(d["CHANNEL"], ev["CHANNEL"])
        np.testing.assert_array_equal(d["GAIN"], ev["GAIN"].astype(np.float64))
        assert d["PI"].dtype.kind == "i" and d["PI"].dtype.itemsize == 4


def test_product_files_are_those_of_astropys_from_columns(products, tmp_path, monkeypatch):
    """Every product HDU list (built without importing astropy.table) writes the bytes that
    ``BinTableHDU.from_columns`` tables write."""
    from daisy_widgets.hxmt import product_files as pf
    from daisy_widgets.hxmt.products import make_response

    _, st = products["HE"]
    ev = np.zeros(1000, dtype=[("TIME", "f8"), ("DET_ID", "u1"), ("PI", "i2")])
    ev["TIME"] = 2.0e8 + np.arange(ev.size)
    ev["PI"] = np.arange(ev.size) % 256
    gti = np.array([[2.0e8, 2.0e8 + 600.0], [2.0e8 + 700.0, 2.0e8 + 1000.0]])
    meta = {"OBJECT": "Crab", "RA_OBJ": 83.63, "DEC_OBJ": 22.01}

    def build():
        return {
            "events": pf.events_hdulist(ev, gti, "HE", meta),
            "lc": pf.lightcurve_hdulist(st["products/lc"], meta, (26, 120)),
            "spec": pf.spectrum_hdulist(
                st["products/spectrum"], meta, pi_range=(26, 120), group_min_counts=20
            ),
            "rsp": pf.response_hdulist(make_response("HE", 17), meta, pi_range=(26, 120)),
            "profile": pf.profile_hdulist(
                np.arange(8) / 8, np.arange(8.0), 29.6, 2.0e8, "HE", meta, 12.5, (1e-10,), "x.par"
            ),
        }

    def written(hls, tag):
        out = {}
        for k, hl in hls.items():
            p = tmp_path / f"{tag}_{k}.fits"
            hl.writeto(p)
            out[k] = p.read_bytes()
        return out

    ours = written(build(), "ours")
    monkeypatch.setattr(pf, "_table_hdu", lambda data, name: fits.BinTableHDU.from_columns(data, name=name))
    monkeypatch.setattr(pf, "events_table_hdu", pf.events_table_hdu_by_columns)
    theirs = written(build(), "theirs")
    for k in ours:
        assert ours[k] == theirs[k], k
