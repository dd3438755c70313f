"""Barycentring, Z^2 search (ours and stingray's), folding and power spectra find the simulated pulsar."""

from __future__ import annotations

import numpy as np
from astropy.io import fits

PULSAR_F = 29.6


def _bary(products, sim_dir):
    from daisy_widgets.hxmt.algorithms import BaryCorr
    from daisy_widgets.hxmt.l1io import Keywords, read_table

    out, _ = products["HE"]
    ev = fits.getdata(out / "HE_screen.fits", "EVENTS")
    table = np.empty(len(ev), dtype=[("TIME", "f8"), ("PI", "i2")])
    table["TIME"], table["PI"] = ev["TIME"], ev["PI"]
    orbit = read_table(next((sim_dir / "ACS").glob("*Orbit*")), "Orbit")
    meta = Keywords(RA_OBJ=83.63308, DEC_OBJ=22.0145)
    return table["TIME"], BaryCorr()(events=table, orbit=orbit, meta=meta)["events"]["TIME"]


def test_pipeline_z2_search_finds_the_pulsar(products):
    _, st = products["HE"]
    z = st["products/z2"]
    span = 500.0
    assert abs(z["best_frequency"] - PULSAR_F) < 1.0 / span
    assert z["best_z2"] > 100
    prof = fits.getdata(products["HE"][0] / "HE_profile.fits", "PROFILE")
    c = prof["COUNTS"]
    # two peaks ~0.4 apart in phase
    main = int(np.argmax(c))
    second = (main + np.array([12, 13, 14])) % 32
    other = (main + np.array([6, 7, 20, 22])) % 32
    assert c[second].max() > 1.05 * c[other].max()


def test_barycentring_matters_and_matches_astropy(products, sim_dir):
    from astropy.coordinates import EarthLocation, SkyCoord
    from astropy.time import Time

    from daisy_widgets.hxmt.mission import mission_time_to_mjd
    from daisy_widgets.hxmt.timing import z2_search

    t, tb = _bary(products, sim_dir)
    delay = tb - t
    # astropy's geocentric light travel time + TDB-TT; ours adds the satellite (< 23 ms) on top
    tt = Time(
        mission_time_to_mjd(t[:1]),
        format="mjd",
        scale="tt",
        location=EarthLocation.from_geocentric(0, 0, 0, unit="m"),
    )
    ltt = tt.light_travel_time(SkyCoord(83.63308, 22.0145, unit="deg"), "barycentric").sec[0]
    tdb = ((tt.tdb.jd1 - tt.jd1) + (tt.tdb.jd2 - tt.jd2))[0] * 86400
    assert abs(delay[0] - (ltt + tdb)) < 0.024
    from daisy_widgets.hxmt.timing import z2_statistic

    f_bary = z2_search(tb, 29.55, 29.65)["best_frequency"]
    assert abs(f_bary - PULSAR_F) < 1 / 500
    # without the correction, Earth's motion smears the pulse at the true frequency
    z_raw, z_bary = z2_statistic(t, [PULSAR_F])[0], z2_statistic(tb, [PULSAR_F])[0]
    assert z_raw < 0.5 * z_bary


def test_stingray_z2_agrees(products, sim_dir):
    from stingray.pulse.search import z_n_search

    from daisy_widgets.hxmt.timing import z2_binned, z2_statistic

    _, tb = _bary(products, sim_dir)
    freqs = np.linspace(29.59, 29.61, 41)
    f, z_st = z_n_search(tb, freqs, nharm=2, nbin=64)
    ours = z2_statistic(tb, freqs, nharm=2)
    fast = z2_binned(tb, freqs, nharm=2)
    assert freqs[np.argmax(z_st)] == freqs[np.argmax(ours)] == freqs[np.argmax(fast)]
    assert abs(z_st.max() / ours.max() - 1) < 0.02 and abs(fast.max() / ours.max() - 1) < 0.02


def test_power_spectrum_shows_the_pulsar(products):
    from daisy_widgets.hxmt.algorithms import PowSpec

    out, _ = products["HE"]
    ev = fits.getdata(out / "HE_screen.fits", "EVENTS")
    gti = np.array(fits.getdata(out / "HE_screen.fits", "GTI").tolist())
    table = np.empty(len(ev), dtype=[("TIME", "f8")])
    table["TIME"] = ev["TIME"]
    pds = PowSpec(binsize=1 / 128, segment=16.0)(events=table, gti=gti)["pds"]
    f, p = pds["frequency"], pds["power"]
    noise = np.median(p[(f > 35) & (f < 60)])
    assert 1.7 < noise < 2.3  # Leahy: white noise at 2
    k = np.argmin(np.abs(f - PULSAR_F))
    assert p[k - 1 : k + 2].max() > 10 * noise


def test_earth_position_without_astropy_coordinates_is_astropys_bit_for_bit():
    """The barycentring's Earth position from ERFA directly (a batch process that has not imported
    astropy.coordinates) equals astropy's get_body_barycentric with the built-in ephemeris, and
    barycentric_delay takes astropy's own call once astropy.coordinates is loaded."""
    from astropy.coordinates import get_body_barycentric, solar_system_ephemeris
    from astropy.time import Time

    from daisy_widgets.hxmt.mission import MJDREFF, MJDREFI
    from daisy_widgets.hxmt.timing import earth_barycentric_km, earth_builtin_km

    grid = np.sort(np.random.default_rng(3).random(2000) * 3e8 + 1e8)
    tt = Time(MJDREFI, MJDREFF + grid / 86400.0, format="mjd", scale="tt")
    with solar_system_ephemeris.set("builtin"):
        want = get_body_barycentric("earth", tt).xyz.to_value("km").T
        got = earth_builtin_km(tt.tdb)
        assert np.array_equal(got, want) and got.flags.c_contiguous == want.flags.c_contiguous
        assert np.array_equal(earth_barycentric_km(tt, tt.tdb), want)
    assert np.linalg.norm(got, axis=1).min() > 1.4e8 and np.linalg.norm(got, axis=1).max() < 1.53e8


def _z2_reference(t, freqs, nharm):
    """Z^2_n as timing.z2_statistic computed it before its temporaries were trimmed (one chunk)."""
    out = []
    for f in freqs:
        ph = 2 * np.pi * np.mod((t - t[0]) * f, 1.0)
        c1, s1 = np.cos(ph), np.sin(ph)
        c, s, tot = c1.copy(), s1.copy(), 0.0
        cs, sn = np.zeros(nharm), np.zeros(nharm)
        for k in range(nharm):
            cs[k] += c.sum()
            sn[k] += s.sum()
            if k + 1 < nharm:
                c, s = c * c1 - s * s1, s * c1 + c * s1
        tot = np.sum(cs**2 + sn**2)
        out.append(2.0 / t.size * tot)
    return np.array(out)


def _z2_binned_reference(t, freqs, nharm, nbin=64):
    """timing.z2_binned as it was computed before its temporaries were trimmed."""
    f0 = 0.5 * (freqs.min() + freqs.max())
    dmax = max(float(np.max(np.abs(freqs - f0))), 1e-12)
    span = float(t.max() - t[0]) + 1e-9
    nseg = int(np.ceil(span / min(span, 1.0 / (8.0 * nharm * dmax))))
    seg = span / nseg
    dt = t - t[0]
    ph = dt * f0
    ph -= np.floor(ph)
    j = np.minimum((dt / seg).astype(np.int64), nseg - 1)
    b = np.minimum((ph * nbin).astype(np.int64), nbin - 1)
    H = np.bincount(j * nbin + b, minlength=nseg * nbin).reshape(nseg, nbin).astype(float)
    A = np.fft.ifft(H, axis=1)[:, 1 : nharm + 1] * nbin * np.exp(1j * np.pi * np.arange(1, nharm + 1) / nbin)
    tj = (np.arange(nseg) + 0.5) * seg
    out = np.empty(freqs.size)
    for i, f in enumerate(freqs):
        rot = np.exp(2j * np.pi * (f - f0) * tj)
        tot, r = 0.0, np.ones_like(rot)
        for k in range(nharm):
            r = r * rot
            tot += abs(np.sum(A[:, k] * r)) ** 2
        out[i] = 2.0 / t.size * tot
    return out


def test_z2_values_unchanged_bit_for_bit():
    """z2_statistic and z2_binned (in-place temporaries) give the values of the plain expressions."""
    from daisy_widgets.hxmt import timing

    rng = np.random.default_rng(12)
    t = np.sort(2.0e8 + rng.random(200_000) * 3000.0)
    t += 0.2 * np.sin(2 * np.pi * PULSAR_F * t) / (2 * np.pi * PULSAR_F)  # a pulsed signal
    freqs = PULSAR_F + np.linspace(-0.01, 0.01, 9)
    for nharm in (1, 2, 3):
        assert np.array_equal(timing.z2_statistic(t, freqs, nharm=nharm), _z2_reference(t, freqs, nharm))
        assert np.array_equal(timing.z2_binned(t, freqs, nharm=nharm), _z2_binned_reference(t, freqs, nharm))
    assert timing.z2_statistic(t, [PULSAR_F])[0] > 100
