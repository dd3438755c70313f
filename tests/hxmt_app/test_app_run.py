"""HxmtApp, steps 2-4: generated forms with mission defaults, Run, plots, files, summary (in-process engine)."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.io import fits

from daisy_widgets.hxmt.app.plots import spectrum_points
from daisy_widgets.hxmt.mission import DEFAULT_GTI_EXPR, spec


def test_forms_are_generated_with_mission_defaults(make_app):
    app = make_app()
    for x in ("HE", "ME", "LE"):
        f = app.forms[x]
        assert f.gtigen.fields["expr"].value == DEFAULT_GTI_EXPR[x]
        assert (f.screen.fields["pi_min"].value, f.screen.fields["pi_max"].value) == tuple(
            map(str, spec(x).band)
        )
        assert set(f.screen.fields) >= {"pi_min", "pi_max", "detectors"}
        assert f.lcgen.fields["binsize"].value == 1.0 and f.fold.fields["frequency"].value == 29.6
        assert f.valid
    assert "DYE_ELV>30" in app.forms["LE"].gtigen.fields["expr"].value
    assert app.instruments == ["HE"]


def test_run_he_shows_products(he_app):
    app = he_app
    app.run(wait=True)
    assert app.progress.status.value == "done", app.progress.log_area.value
    assert "Done: 1 job" in app.run_message.value
    assert app.shown == "P010129900101/HE"
    for name, p in app.plots.items():
        assert p.points > 0, name
    # light curve: GTIs shaded (one fill mark per GTI set), background overlaid
    labels = [m.labels[0] for m in app.lc_plot.figure.marks]
    assert labels == ["GTI", "source + background", "background"]
    names = sorted(p.name for p in app.files)
    assert names == [
        "HE.rsp",
        "HE_bkg.pha",
        "HE_bkg_lc.fits",
        "HE_lc.fits",
        "HE_profile.fits",
        "HE_screen.fits",
        "HE_spec.pha",
    ]
    assert all(p.exists() for p in app.files)
    assert "HE_spec.pha" in app.file_links.value and "download=" in app.file_links.value
    (row,) = app.summary_rows
    assert 0 < row["exposure"] <= row["gti_seconds"] <= 700
    assert row["rate"] > row["bkg_rate"] > 0 and row["net_rate"] == pytest.approx(
        row["rate"] - row["bkg_rate"]
    )
    assert "live exposure" in app.summary.value


def test_products_agree_with_the_files(he_app):
    app = he_app
    app.run(wait=True)
    r = app.results["P010129900101/HE"]
    pha = next(p for p in app.files if p.name == "HE_spec.pha")
    with fits.open(pha) as hl:
        counts = hl["SPECTRUM"].data["COUNTS"].astype(float)
        expo = hl["SPECTRUM"].header["EXPOSURE"]
    # summary = the PHA file's numbers
    assert r["summary"]["exposure"] == pytest.approx(expo)
    assert r["summary"]["rate"] == pytest.approx(counts.sum() / expo)
    # counts in the light curve equal counts in the spectrum over the same GTI and PI range
    assert r["lc"].counts.sum() == pytest.approx(counts.sum())
    # the plotted spectrum is counts/s/keV of the file: integrate back over the band
    d = spectrum_points(r["spectrum"], None, spec("HE").band, min_counts=1)
    lo, hi = spec("HE").band
    assert np.sum(d["rate"] * d["width"]) * expo == pytest.approx(counts[lo : hi + 1].sum(), rel=1e-9)
    # the spectrum plot shows exactly those points (channels with counts)
    assert app.spec_plot.points == np.count_nonzero(
        spectrum_points(r["spectrum"], None, (lo, hi))["rate"] > 0
    )


def test_pulse_profile_and_power_spectrum_see_the_pulsar(he_app):
    app = he_app
    app.run(wait=True)
    r = app.results["P010129900101/HE"]
    c = np.asarray(r["profile"].counts, float)
    assert (c.max() - np.median(c)) > 10 * np.sqrt(np.median(c))  # a strong pulse, not noise
    f, p = np.asarray(r["pds"]["frequency"]), np.asarray(r["pds"]["power"])
    k = np.argmin(np.abs(f - 29.6))
    assert p[k - 1 : k + 2].max() > 10 * np.median(p[1:])
    # the segments hold the events (spacecraft times inside the GTIs): white noise at the Poisson level 2
    assert 1.6 < np.median(p[len(p) // 2 :]) < 2.4
    gti = r["gti"]
    assert r["pds"]["n_segments"] >= int((gti[:, 1] - gti[:, 0]).sum() // 16) - len(gti)


def test_png_export_of_each_plot(he_app):
    app = he_app
    app.run(wait=True)
    for name in app.plots:
        path = app.export_png(name)
        assert path.name == f"HE_{name}.png" and path.read_bytes()[:4] == b"\x89PNG"
        assert path.parent == app.files[0].parent


def test_several_instruments_and_observations(make_app):
    app = make_app()
    app.search(target="Crab")
    app.table.select([0, 1])
    app.instruments = ["HE", "LE"]
    for x in ("HE", "LE"):
        app.forms[x].timing.value = False  # keep the test short
    jobs = app.jobs()
    # the second observation has no LE: three jobs
    assert sorted(j.key for j in jobs) == ["P010129900101/HE", "P010129900101/LE", "P010129900201/HE"]
    app.run(wait=True)
    assert sorted(r["key"] for r in app.summary_rows) == sorted(j.key for j in jobs)
    app.result_choice.value = "P010129900101/LE"
    assert app.spec_plot.points > 0 and app.pds_plot.points == 0
    assert {p.name for p in app.files} >= {"LE_spec.pha", "LE.rsp"}
    le = app.results["P010129900101/LE"]["spectrum"]
    assert le.instrument == "LE"
