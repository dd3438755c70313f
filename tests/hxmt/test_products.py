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
