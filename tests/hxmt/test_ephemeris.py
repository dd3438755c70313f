"""Issue 15, point 4: TEMPO/TEMPO2 ephemerides for folding, checked against stingray; the
simulator's Crab follows the published Jodrell Bank timing solution."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.io import fits

from daisy_widgets.hxmt.ephemeris import (
    L_B,
    EphemerisError,
    crab_braking_law,
    crab_ephemeris,
    format_par,
    parse_par,
    read_par,
)
from daisy_widgets.hxmt.mission import mjd_to_mission_time

TEMPO_PAR = """\
C a TEMPO-style file
PSRB           B0531+21
RAJ            05:34:31.97232
F0             29.6385629417D0  1  0.0000000001
F1             -3.68427D-10     1  1.0D-16
F2             1.1848D-20
PEPOCH         58178.000000234
"""

TEMPO2_TCB = """\
# TEMPO2, TCB units
PSRJ           J0534+2200
F0             29.6385629417 1 1e-10
F1             -3.68427e-10
PEPOCH         58178
UNITS          TCB
"""


def test_tempo_par_with_fortran_exponents():
    eph = parse_par(TEMPO_PAR, "crab.par")
    assert eph.name == "B0531+21"
    assert eph.frequencies == pytest.approx((29.6385629417, -3.68427e-10, 1.1848e-20), rel=1e-12)
    # PEPOCH digits kept: integer and fractional day converted apart
    assert eph.epoch == pytest.approx(float(mjd_to_mission_time(58178.0)) + 0.000000234 * 86400, abs=1e-6)


def test_tempo2_tcb_is_converted_to_tdb():
    eph = parse_par(TEMPO2_TCB, "t2.par")
    assert eph.f0 == pytest.approx(29.6385629417 * (1 + L_B), rel=1e-15)
    assert eph.derivatives[0] == pytest.approx(-3.68427e-10 * (1 + L_B) ** 2, rel=1e-15)
    # TDB runs behind TCB by L_B x (time since 1977) + offset: ~20 s at 2018
    dt = float(mjd_to_mission_time(58178.0)) - eph.epoch
    assert 15 < dt < 25


def test_period_form_and_refusals(tmp_path):
    eph = parse_par("P0 0.0337\nP1 4.2e-13\nPEPOCH 58000\n")
    assert eph.f0 == pytest.approx(1 / 0.0337) and eph.derivatives[0] == pytest.approx(-4.2e-13 / 0.0337**2)
    with pytest.raises(EphemerisError, match=r"x\.par: no F0"):
        parse_par("PEPOCH 58000\n", "x.par")
    with pytest.raises(EphemerisError, match=r"x\.par: no PEPOCH"):
        parse_par("F0 29.6\n", "x.par")
    with pytest.raises(EphemerisError, match=r"x\.par, line 2: F1 = 'abc' is not a number"):
        parse_par("F0 29.6\nF1 abc\nPEPOCH 58000\n", "x.par")
    with pytest.raises(EphemerisError, match="cannot read"):
        read_par(tmp_path / "missing.par")


def test_phase_and_folding_agree_with_stingray():
    """The same F0, F1, F2 over 30 days (where F1 and F2 matter) give stingray's phases and profile."""
    from stingray.pulse.pulsar import fold_events, pulse_phase

    eph = parse_par(TEMPO_PAR, "crab.par")
    rng = np.random.default_rng(1)
    t = np.sort(eph.epoch + rng.uniform(-15 * 86400, 15 * 86400, 200_000))
    ours = eph.phase(t)
    f0, f1, f2 = eph.frequencies
    theirs = pulse_phase(t - eph.epoch, f0, f1, f2, to_1=False)
    assert np.max(np.abs(ours - theirs)) < 1e-5  # cycles, out of ~4e7
    assert abs(f1) * (15 * 86400) ** 2 / 2 > 100  # F1 alone is worth > 100 cycles here
    from daisy_widgets.hxmt.timing import fold_with_ephemeris

    _, c = fold_with_ephemeris(t, eph, 32)
    _, prof, _ = fold_events(t, f0, f1, f2, nbin=32, ref_time=eph.epoch)
    assert np.abs(c - prof).sum() <= 4 and c.sum() == prof.sum()


def test_crab_braking_law_at_the_simulator_epoch():
    f0, f1, f2 = crab_braking_law(58178.0)
    assert 29.62 < f0 < 29.65 and -3.72e-10 < f1 < -3.64e-10 and 1.0e-20 < f2 < 1.3e-20
    eph = crab_ephemeris()
    assert "Lyne" in eph.source and eph.name == "J0534+2200"
    assert parse_par(format_par(eph)).frequencies == pytest.approx(eph.frequencies, rel=1e-14)


def test_pipeline_folds_the_simulated_crab_with_its_ephemeris(long_obs, tmp_path):
    """The default simulation's pulsar is the Crab of ``crab_ephemeris``; folded with it as a .par
    file through ``daisy hxmt pipeline --ephemeris``, the main peak sits at phase 0 and the
    interpulse 0.4 later; stingray's fold of the same barycentred events gives the same profile."""
    from stingray.pulse.pulsar import fold_events

    from daisy_widgets.cli import main
    from daisy_widgets.hxmt.pipeline import run_pipeline

    l1, _ = long_obs
    par = tmp_path / "crab.par"
    par.write_text(format_par(crab_ephemeris()))
    rc = main(
        [
            "hxmt",
            "pipeline",
            str(l1),
            "--instrument",
            "HE",
            "--out",
            str(tmp_path / "cli"),
            "--ephemeris",
            str(par),
            "--nbin",
            "50",
            "--no-progress",
        ]
    )
    assert rc == 0
    h = fits.getheader(tmp_path / "cli" / "HE_profile.fits", "PROFILE")
    eph = read_par(par)
    assert h["FREQ"] == pytest.approx(eph.f0) and h["FREQ1"] == pytest.approx(eph.derivatives[0])
    assert h["FREQ2"] == pytest.approx(eph.derivatives[1]) and h["EPHEMFIL"].endswith("crab.par")
    c = fits.getdata(tmp_path / "cli" / "HE_profile.fits", "PROFILE")["COUNTS"]
    main_bin = int(np.argmax(c))
    assert main_bin in (0, 49)  # phase 0 (bin centres 0.01 and 0.99)
    inter = c[18:23].max()  # phase 0.36-0.46
    off = np.median(c)
    assert inter > off + 10 * np.sqrt(off)
    st = run_pipeline(l1, "HE", tmp_path / "lib", ephemeris=str(par), nbin=50)
    tb = st["work/bary"]["TIME"]
    f0, f1, f2 = eph.frequencies
    _, prof, _ = fold_events(tb, f0, f1, f2, nbin=50, ref_time=eph.epoch)
    assert np.abs(prof - c).sum() <= 4
    # with a wrong F0 (1e-3 Hz off, the size of the glitches left out) the pulse smears out
    bad = tmp_path / "bad.par"
    bad.write_text(par.read_text().replace(repr(f0), repr(f0 + 1e-3)))
    assert (
        rc == 0
        and main(
            [
                "hxmt",
                "pipeline",
                str(l1),
                "--instrument",
                "HE",
                "--out",
                str(tmp_path / "bad"),
                "--ephemeris",
                str(bad),
                "--nbin",
                "50",
                "--no-progress",
            ]
        )
        == 0
    )
    cb = fits.getdata(tmp_path / "bad" / "HE_profile.fits", "PROFILE")["COUNTS"]
    assert cb.max() - np.median(cb) < 0.5 * (c.max() - np.median(c))


def test_pipeline_refuses_a_bad_ephemeris(long_obs, tmp_path, capsys):
    from daisy_widgets.cli import main

    l1, _ = long_obs
    bad = tmp_path / "x.par"
    bad.write_text("PSRJ J0534+2200\nPEPOCH 58000\n")
    rc = main(
        [
            "hxmt",
            "pipeline",
            str(l1),
            "--instrument",
            "HE",
            "--out",
            str(tmp_path / "o"),
            "--ephemeris",
            str(bad),
        ]
    )
    err = capsys.readouterr().err
    assert rc == 1 and "x.par: no F0" in err and "Traceback" not in err
    assert not (tmp_path / "o").exists()


def test_simulate_refuses_a_bad_ephemeris(tmp_path, capsys):
    from daisy_widgets.cli import main

    bad = tmp_path / "y.par"
    bad.write_text("F0 29.6\n")
    rc = main(
        ["hxmt", "simulate", "--instrument", "HE", "--out", str(tmp_path / "l1"), "--ephemeris", str(bad)]
    )
    err = capsys.readouterr().err
    assert rc == 1 and "y.par: no PEPOCH" in err and "Traceback" not in err
    assert not (tmp_path / "l1").exists()
