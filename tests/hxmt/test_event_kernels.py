"""The compiled event loops give exactly the numpy expressions they replace (large inputs, edge cases)."""

from __future__ import annotations

import numpy as np
import pytest

from daisy_widgets.hxmt import event_kernels as ek
from daisy_widgets.hxmt import screen as scr
from daisy_widgets.hxmt.products import make_lightcurve, make_spectrum
from daisy_widgets.hxmt.timing import fold_events

N = 3 * ek.COMPILED_FROM


@pytest.fixture(scope="module")
def events():
    rng = np.random.default_rng(5)
    t0 = 2.0e8
    t = np.sort(t0 + rng.random(N) * 5000.0)
    gti = np.array([[t0 + a, t0 + a + 700.0] for a in range(0, 5000, 1000)])
    t[:10] = gti.ravel()  # times exactly on the starts and stops
    t.sort()
    return t, gti


def test_gti_mask_equals_searchsorted(events):
    t, gti = events
    want = (np.searchsorted(gti.ravel(), t, side="right") & 1).astype(bool)
    assert np.array_equal(ek.gti_mask_of(t, gti.ravel()), want)
    # unsorted times, a NaN, a strided column of a structured array, float32 times
    rng = np.random.default_rng(1)
    u = rng.permutation(t)
    u[7] = np.nan
    want_u = (np.searchsorted(gti.ravel(), u, side="right") & 1).astype(bool)
    assert np.array_equal(ek.gti_mask_of(u, gti.ravel()), want_u)
    rec = np.zeros(u.size, dtype=[("TIME", "f8"), ("PI", "i2")])
    rec["TIME"] = u
    assert np.array_equal(ek.gti_mask_of(rec["TIME"], gti.ravel()), want_u)
    f32 = (t - 2.0e8).astype(np.float32)
    e32 = gti.ravel() - 2.0e8
    assert np.array_equal(
        ek.gti_mask_of(f32, e32), (np.searchsorted(e32, f32, side="right") & 1).astype(bool)
    )


def test_bin_counts_equal_bincount(events):
    t, gti = events
    for x0, dx, nb in ((gti[0, 0], 1.0, 5000), (gti[0, 0] + 0.3, 0.0078125, 100_000), (t[-1] - 10, 3.0, 2)):
        idx = np.floor((t - x0) / dx).astype(np.int64)
        ok = (idx >= 0) & (idx < nb)
        want = np.bincount(idx[ok], minlength=nb)
        assert np.array_equal(ek.bin_counts(t, x0, dx, nb), want)


def test_fold_counts_equal_numpy(events):
    t, _ = events
    for f, fdot, nbin in ((29.6, 0.0, 32), (29.6, -3.7e-10, 64), (0.5, 1e-9, 7)):
        t0 = t[0]
        dt = t - t0
        phase = dt * f + 0.5 * fdot * dt * dt
        phase -= np.floor(phase)
        idx = np.minimum((phase * nbin).astype(np.int64), nbin - 1)
        assert np.array_equal(ek.fold_counts(t, t0, f, fdot, nbin), np.bincount(idx, minlength=nbin))
    _, prof = fold_events(t, 29.6, 32)
    assert prof.sum() == t.size


def test_channel_histogram_equal_bincount():
    rng = np.random.default_rng(2)
    pi = rng.integers(0, 300, N).astype(np.int16)
    assert np.array_equal(
        ek.channel_histogram(pi, 256), np.bincount(pi.astype(np.int64), minlength=256)[:256]
    )
    pi[5] = -1
    with pytest.raises(ValueError, match="non-negative"):
        ek.channel_histogram(pi, 256)


def _he_table(t: np.ndarray, seed: int = 3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    cols = [
        ("TIME", "f8"),
        ("DET_ID", "u1"),
        ("CHANNEL", "i2"),
        ("PULSE_WIDTH", "u1"),
        ("ACD", "u1"),
        ("EVENT_TYPE", "u1"),
        ("FLAG", "u1"),
        ("PI", "i2"),
    ]
    ev = np.zeros(t.size, dtype=cols)
    ev["TIME"] = t
    ev["DET_ID"] = rng.integers(0, 18, t.size)
    ev["PULSE_WIDTH"] = rng.integers(40, 90, t.size)
    ev["ACD"] = rng.random(t.size) < 0.05
    ev["EVENT_TYPE"] = rng.random(t.size) < 0.02
    ev["FLAG"] = rng.random(t.size) < 0.02
    ev["PI"] = rng.integers(0, 256, t.size)
    return ev


def test_screen_sets_equal_separate_screens(events):
    t, gti = events
    ev = _he_table(t)
    for dets, pr in ((None, None), ([0, 3, 5], (30, 200))):
        got = scr.screen_sets(ev, gti, "HE", pr, dets)
        assert np.array_equal(got["events"], scr.screen(ev, gti, "HE", pr, dets))
        assert np.array_equal(got["blind"], scr.screen(ev, gti, "HE", pr, blind=True))
        assert np.array_equal(got["raw"], scr.raw_in_gti(ev, gti, "HE", dets))
        assert np.array_equal(got["raw_blind"], scr.raw_in_gti(ev, gti, "HE", blind=True))
        # against the plain numpy definition of the selection
        det = scr.select_detectors("HE", dets)
        lo, hi = pr or scr.spec("HE").band
        m = (np.searchsorted(gti.ravel(), ev["TIME"], side="right") & 1).astype(bool)
        m &= np.isin(ev["DET_ID"], det) & (ev["PI"] >= lo) & (ev["PI"] <= hi) & scr.flag_mask(ev, "HE")
        assert np.array_equal(got["events"], ev[m])
        assert got["events"].size > 1000


def test_screen_times_equals_mask(events):
    """The branch-free compiled screen keeps exactly ``t[m], pi[m]`` (GTI edges, inclusive PI bounds,
    unsorted times, a NaN), and the numpy form gives the same."""
    t, gti = events
    rng = np.random.default_rng(8)
    pi = rng.integers(-3, 300, t.size).astype(np.int16)
    u = rng.permutation(t)
    u[11] = np.nan
    for times in (t, u):
        for lo, hi in ((26, 120), (0, 255), (40, 40), (300, 10)):
            m = (np.searchsorted(gti.ravel(), times, side="right") & 1).astype(bool)
            m &= (pi >= lo) & (pi <= hi)
            ts, ps = ek.screen_times(times, pi, gti.ravel(), lo, hi)
            assert ek.compiled_for(times.size)
            assert np.array_equal(ts, times[m]) and np.array_equal(ps, pi[m])
            assert ts.dtype == times.dtype and ps.dtype == pi.dtype
            with ek.numpy_loops():
                ts2, ps2 = ek.screen_times(times, pi, gti.ravel(), lo, hi)
            assert np.array_equal(ts2, ts) and np.array_equal(ps2, ps)
    assert ek.screen_times(t, pi, gti.ravel(), 26, 120)[0].size > 1000


def test_products_from_compiled_loops_match_numpy(events):
    t, gti = events
    pi = np.random.default_rng(4).integers(0, 256, t.size).astype(np.int16)
    lc = make_lightcurve(t, t, gti, 1.0, "HE", 17)
    nb = int(np.ceil(gti[-1, 1] - gti[0, 0]))  # 1 s bins from the first GTI start
    idx = np.floor((t - gti[0, 0]) / 1.0).astype(np.int64)
    ok = (idx >= 0) & (idx < nb)
    full = np.bincount(idx[ok], minlength=nb)
    keep = np.round(lc.time - 0.5 - gti[0, 0]).astype(np.int64)
    assert np.array_equal(lc.counts, full[keep])
    sp = make_spectrum(pi, t, gti, "HE", 17)
    assert np.array_equal(sp.counts, np.bincount(pi.astype(np.int64), minlength=256)[:256])


def test_pical_in_blocks_equals_whole_table(events):
    from daisy_widgets.hxmt import calibrate
    from daisy_widgets.hxmt.caldb import load_calibration

    t, _ = events
    n = calibrate.PICAL_BLOCK * 2 + 12345
    ev = _he_table(np.resize(t, n))
    ev = ev[[c for c in ev.dtype.names if c != "PI"]]
    ev["CHANNEL"] = np.random.default_rng(6).integers(0, 256, n)
    got = calibrate.pical(ev, "HE", seed=9)
    cal = load_calibration("HE")
    det = ev["DET_ID"].astype(np.int64)
    u = np.random.default_rng(9).random(n)
    want = np.clip(np.floor(cal.gain_c0[det] + cal.gain_c1[det] * (ev["CHANNEL"] + u)), 0, 255).astype(
        np.int16
    )
    assert np.array_equal(got["PI"], want)
    assert got.dtype.names == (*ev.dtype.names, "PI")
    for c in ev.dtype.names:
        assert np.array_equal(got[c], ev[c])
    again = calibrate.pical(got, "HE", seed=9)  # a table that has PI already: recomputed, same values
    assert np.array_equal(again, got)


def _write_events(path, cols):
    from astropy.io import fits

    hdu = fits.BinTableHDU.from_columns(cols, name="Events")
    fits.HDUList([fits.PrimaryHDU(), hdu]).writeto(path)


def test_read_table_straight_from_the_file_equals_astropy_columns(tmp_path):
    from pathlib import Path

    from astropy.io import fits

    from daisy_widgets.hxmt import l1io

    rng = np.random.default_rng(8)
    n = 5000
    base = [
        fits.Column("Time", "D", array=np.sort(rng.random(n)) * 1e3 + 2e8),
        fits.Column("Det_ID", "B", array=rng.integers(0, 18, n)),
        fits.Column("Channel", "I", array=rng.integers(0, 256, n)),
        fits.Column("Pulse_Width", "B", array=rng.integers(40, 90, n)),
        fits.Column("ACD", "J", array=rng.integers(0, 2, n)),
        fits.Column("Event_Type", "B", array=rng.integers(0, 2, n)),
        fits.Column("Flag", "B", array=rng.integers(0, 2, n)),
    ]
    plain = tmp_path / "plain.fits"
    _write_events(plain, base)
    # columns in another order and a scaled one: read column by column through astropy
    scaled = tmp_path / "scaled.fits"
    other = [base[0], base[2], base[1], *base[3:6]] + [
        fits.Column("Flag", "I", bzero=32768, array=np.asarray(base[6].array, np.uint16))
    ]
    _write_events(scaled, other)
    with fits.open(plain) as hl:
        hdu = hl["Events"]
        have = {c.upper(): c for c in hdu.columns.names}
        assert l1io._direct_dtype(hdu, "HE-Evt", have) is not None
        ref, _ = l1io._read_columns(Path(plain), hdu, "Events", "HE-Evt", have)
    got = l1io.read_table(plain, "HE-Evt")
    assert got.dtype == ref.dtype and np.array_equal(got, ref)
    assert got.dtype.isnative and got.flags.writeable
    with fits.open(scaled) as hl:
        hdu = hl["Events"]
        assert l1io._direct_dtype(hdu, "HE-Evt", {c.upper(): c for c in hdu.columns.names}) is None
    other_t = l1io.read_table(scaled, "HE-Evt")
    for c in ("TIME", "DET_ID", "CHANNEL", "ACD"):
        assert np.array_equal(other_t[c], got[c])
    assert np.array_equal(other_t["FLAG"], got["FLAG"])


def test_int_range_equals_min_max():
    rng = np.random.default_rng(11)
    for dt in ("u1", "i2", "i8"):
        x = rng.integers(-3 if dt != "u1" else 0, 100, N).astype(dt)
        assert ek.int_range(x) == (int(x.min()), int(x.max()))
    rec = np.zeros(N, dtype=[("T", "f8"), ("D", "u1")])
    rec["D"] = rng.integers(0, 18, N)
    assert ek.int_range(rec["D"]) == (int(rec["D"].min()), int(rec["D"].max()))
