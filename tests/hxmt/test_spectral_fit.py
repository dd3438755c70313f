"""The photon index of the simulated power law is recovered within 3 sigma for each instrument."""

from __future__ import annotations

import importlib.util

import pytest

from daisy_widgets.hxmt.mission import spec

TRUE_INDEX = 2.1
TRUE_NORM = 9.7
HAVE_SHERPA = importlib.util.find_spec("sherpa") is not None


@pytest.mark.parametrize("x", ["HE", "ME", "LE"])
def test_forward_folding_fit_recovers_index(products, x):
    """Independent check (no Sherpa): files read back with astropy, power law folded through X.rsp,
    W-statistic with the blind-detector background."""
    from daisy_widgets.hxmt.specfit import fit_powerlaw

    out, _ = products[x]
    fit = fit_powerlaw(out / f"{x}_spec.pha", spec(x).energy_band)
    assert abs(fit.index - TRUE_INDEX) < 3 * fit.index_err, fit
    assert fit.index_err < 0.1
    # the normalisation checks the dead-time corrected exposure and the effective area
    assert abs(fit.norm - TRUE_NORM) < 3 * fit.norm_err, fit
    assert 0.5 < fit.chi2 / fit.dof < 1.6, fit  # W-stat per degree of freedom


@pytest.mark.parametrize("x", ["HE", "LE"])
def test_chi2_fit_agrees(products, x):
    from daisy_widgets.hxmt.specfit import fit_powerlaw

    out, _ = products[x]
    fit = fit_powerlaw(out / f"{x}_spec.pha", spec(x).energy_band, stat="chi2")
    assert abs(fit.index - TRUE_INDEX) < 3 * fit.index_err, fit


@pytest.mark.skipif(
    not HAVE_SHERPA,
    reason="Sherpa is not installed (its source build failed on this machine); "
    "test_forward_folding_fit_recovers_index checks the same files independently",
)
@pytest.mark.parametrize("x", ["HE", "ME", "LE"])
def test_sherpa_fit_recovers_index(products, x):
    from sherpa.astro import ui

    out, _ = products[x]
    ui.clean()
    ui.load_pha(1, str(out / f"{x}_spec.pha"))  # follows BACKFILE and RESPFILE
    assert ui.get_bkg(1) is not None and ui.get_rmf(1) is not None
    lo, hi = spec(x).energy_band  # edges of the screened PI range
    ui.notice(lo + 0.1 * spec(x).slope, hi - 0.1 * spec(x).slope)
    ui.set_source(1, ui.powlaw1d.pl)
    pl = ui.get_model_component("pl")
    pl.gamma = 2.0
    pl.ampl = 5.0
    ui.set_stat("wstat")  # Poisson source and (blind-detector) background
    ui.fit(1)
    ui.covar(1)
    res = ui.get_covar_results()
    err = res.parmaxes[res.parnames.index("pl.gamma")]
    assert abs(pl.gamma.val - TRUE_INDEX) < 3 * err
