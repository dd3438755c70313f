"""The HXMT app's "My products" stage, driven with its model in memory: the user's own spectrum
fitted (folded model and residuals drawn), problems shown at their field with the stage still
usable, the user's light curve and event file with their power spectra."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.io import fits


@pytest.fixture(scope="module")
def user_home(tmp_path_factory):
    """A home folder holding products of a 400 s HE exposure (index 2.1), as a user would have them."""
    from daisy_widgets.hxmt.pipeline import run_pipeline
    from daisy_widgets.hxmt.simulate import DEFAULT_START, simulate_observation

    home = tmp_path_factory.mktemp("home")
    l1 = simulate_observation(
        home / "l1", instruments=("HE",), exposure=400.0, start=DEFAULT_START + 1000.0, seed=8
    )
    run_pipeline(l1, "HE", home / "myobs")
    return home


@pytest.fixture
def stage(user_home):
    from daisy_widgets.hxmt.app.products_model import MyProductsModel
    from daisy_widgets.hxmt.app.stage_products import MyProductsStage

    st = MyProductsStage(MyProductsModel(root=str(user_home), backend="builtin"))
    return st.render()


def test_files_are_offered_from_the_home_folder(stage, user_home):
    assert str(user_home / "myobs" / "HE_spec.pha") in stage.fields["spectrum"].options
    assert str(user_home / "myobs" / "HE.rsp") in stage.fields["response"].options
    assert str(user_home / "myobs" / "HE_lc.fits") in stage.lc_field.options


def test_fit_draws_the_folded_model_and_residuals(stage, user_home):
    m = stage.model
    stage.fields["spectrum"].value = str(user_home / "myobs" / "HE_spec.pha")  # the view writes the model
    assert m.spectrum.endswith("HE_spec.pha")
    stage.stat_choice.value = "chi2"
    stage.fit(wait=True)
    res = m.fit_result
    assert res is not None and res.stat == "chi2"
    assert res.bands == [(28.0, 250.0)]  # the nominal HE band from INSTRUME
    assert abs(res.photon_index - 2.1) < 3 * res.photon_index_err + 0.01, res.photon_index
    assert stage.spec_plot.points == res.data[0].n_groups > 10
    assert len(stage.spec_plot.res_figure.marks) == 2
    assert "photon index" in stage.message.value and not m.problems


def test_problems_show_at_their_field_and_the_stage_stays_usable(stage, user_home, tmp_path):
    m = stage.model
    spec_path = user_home / "myobs" / "HE_spec.pha"
    # a response with another channel count
    rmf = tmp_path / "small.rsp"
    eb = fits.BinTableHDU.from_columns(
        [
            fits.Column("CHANNEL", "J", array=np.arange(10)),
            fits.Column("E_MIN", "E", array=np.arange(10.0)),
            fits.Column("E_MAX", "E", array=np.arange(1.0, 11.0)),
        ],
        name="EBOUNDS",
    )
    mat = fits.BinTableHDU.from_columns(
        [
            fits.Column("ENERG_LO", "E", array=[1.0]),
            fits.Column("ENERG_HI", "E", array=[2.0]),
            fits.Column("N_GRP", "J", array=[1]),
            fits.Column("F_CHAN", "J", array=[0]),
            fits.Column("N_CHAN", "J", array=[10]),
            fits.Column("MATRIX", "10E", array=np.ones((1, 10))),
        ],
        name="MATRIX",
    )
    fits.HDUList([fits.PrimaryHDU(), mat, eb]).writeto(rmf)
    m.spectrum, m.response = str(spec_path), str(rmf)
    stage.fit(wait=True)
    assert "10 channels but the spectrum has 256" in m.problems["response"]
    assert (
        "10 channels" in stage.field_errors["response"].value and stage.field_errors["spectrum"].value == ""
    )
    assert m.fit_result is None and "marked in red" in stage.message.value
    # a file that is not a spectrum, at the spectrum field
    m.spectrum = str(user_home / "myobs" / "HE_lc.fits")
    stage.fit(wait=True)
    assert "no SPECTRUM extension" in stage.field_errors["spectrum"].value
    # an empty band
    m.spectrum, m.response = str(spec_path), ""
    m.band_lo, m.band_hi = 100.0, 50.0
    stage.fit(wait=True)
    assert "empty" in stage.field_errors["band"].value
    # fixed: the same stage fits
    m.band_lo, m.band_hi = 30.0, 200.0
    stage.fit(wait=True)
    assert m.fit_result is not None and m.fit_result.bands == [(30.0, 200.0)]
    assert all(box.value == "" for box in stage.field_errors.values())


def test_light_curve_and_events_with_power_spectra(stage, user_home):
    m = stage.model
    m.lightcurve = str(user_home / "myobs" / "HE_lc.fits")
    m.segment = 16.0
    stage.show_timing()
    assert stage.lc_plot.points > 100 and stage.pds_plot.points > 0
    # white noise: Leahy powers around 2
    assert 1.5 < np.median(m.pds["power"]) < 2.5
    m.lightcurve, m.events, m.binsize, m.segment = (
        "",
        str(user_home / "myobs" / "HE_screen.fits"),
        1 / 64,
        8.0,
    )
    stage.show_timing()
    assert m.pds["frequency"].max() == pytest.approx(32.0)
    # the simulated Crab (the simulator's default ephemeris, ~29.63 Hz in 2018) stands out
    from daisy_widgets.hxmt.ephemeris import crab_ephemeris

    f, p = m.pds["frequency"], m.pds["power"]
    k = int(np.argmin(np.abs(f - crab_ephemeris().f0)))
    assert p[k - 1 : k + 2].max() > 5 * np.median(p)  # averaged Leahy noise stays near 2
    m.events = str(user_home / "myobs" / "HE_spec.pha")
    stage.show_timing()
    assert "no EVENTS extension" in stage.field_errors["events"].value


def test_the_app_opens_the_stage_when_asked(make_app):
    app = make_app()
    st = app.products_stage
    assert not st.rendered  # drawn only when opened
    app.products_box.selected_index = 0
    assert st.rendered and st.fit_button.description == "Fit"
    assert len(st.help_text) > 150 and "hxmt.md#fitting-your-own-products" in st.help.text.value
