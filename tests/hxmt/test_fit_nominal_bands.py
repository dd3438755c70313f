"""Issue 15, point 1: the pipeline's products fit right in Sherpa with the usual settings.

A new user's session, as in the issue: ``load_pha``, the mission's nominal band with ``notice``,
a power law, W-statistic (or the background subtracted with chi-square on grouped data): the
injected index comes back within 3 sigma on a 3000 s exposure with several GTIs, HE, ME and LE.
"""

from __future__ import annotations

import logging

import numpy as np
import pytest
from astropy.io import fits

pytest.importorskip("sherpa")

LONG_INDEX = 1.73  # the long_obs fixture's photon index
NOMINAL_BANDS = {"HE": (28.0, 250.0), "ME": (10.0, 30.0), "LE": (1.0, 10.0)}


def _sherpa_fit(pha, band, stat, group=None):
    from sherpa.astro import ui

    logging.getLogger("sherpa").setLevel(logging.ERROR)
    ui.clean()
    ui.load_pha(1, str(pha))  # follows BACKFILE and RESPFILE
    if stat == "chi2":
        ui.subtract()
        if group:
            ui.group_counts(group)
        ui.set_stat("chi2datavar")
    else:
        ui.set_stat("wstat")
    ui.notice(*band)  # the nominal band, no ignore_bad()
    ui.set_source(1, ui.powlaw1d.pl)
    pl = ui.get_model_component("pl")
    pl.gamma, pl.ampl = 2.0, 5.0
    ui.set_method("neldermead" if stat == "wstat" else "levmar")
    ui.fit()
    ui.covar()
    res = ui.get_covar_results()
    return pl.gamma.val, res.parmaxes[res.parnames.index("pl.gamma")]


def test_several_good_time_intervals(long_obs):
    _, outs = long_obs
    gti = fits.getdata(outs["HE"] / "HE_spec.pha", "GTI")
    assert len(gti) >= 2
    assert fits.getheader(outs["HE"] / "HE_spec.pha", "SPECTRUM")["EXPOSURE"] > 800


@pytest.mark.parametrize("x", ["HE", "ME", "LE"])
def test_sherpa_wstat_in_the_nominal_band(long_obs, x):
    _, outs = long_obs
    g, err = _sherpa_fit(outs[x] / f"{x}_spec.pha", NOMINAL_BANDS[x], "wstat")
    assert abs(g - LONG_INDEX) < 3 * err, (g, err)
    assert err < 0.02


@pytest.mark.parametrize("x", ["HE", "LE"])
def test_sherpa_subtracted_chi2_in_the_nominal_band(long_obs, x):
    _, outs = long_obs
    g, err = _sherpa_fit(outs[x] / f"{x}_spec.pha", NOMINAL_BANDS[x], "chi2", group=20)
    assert abs(g - LONG_INDEX) < 3 * err, (g, err)


@pytest.mark.parametrize("x", ["HE", "ME", "LE"])
def test_channels_outside_the_screened_range_are_marked(long_obs, x):
    """QUALITY = 5 outside the screened PI range; the response predicts nothing there."""
    from daisy_widgets.hxmt.mission import spec

    _, outs = long_obs
    s = spec(x)
    q = fits.getdata(outs[x] / f"{x}_spec.pha", "SPECTRUM")["QUALITY"]
    inside = np.zeros(s.n_pi, bool)
    inside[s.band[0] : s.band[1] + 1] = True
    assert np.all(q[inside] == 0) and np.all(q[~inside] == 5)
    m = fits.getdata(outs[x] / f"{x}.rsp", "MATRIX")["MATRIX"]
    assert m[:, ~inside].max() == 0 and m[:, inside].sum() > 0
    h = fits.getheader(outs[x] / f"{x}_spec.pha", "SPECTRUM")
    assert (h["PI_MIN"], h["PI_MAX"]) == s.band


def test_grouping_column_is_used_by_sherpa(long_obs, tmp_path):
    """``--group-min-counts``: a GROUPING column Sherpa applies on load; chi2 on it recovers the index."""
    from sherpa.astro import ui

    from daisy_widgets.cli import main

    l1, _ = long_obs
    rc = main(
        [
            "hxmt",
            "pipeline",
            str(l1),
            "--instrument",
            "HE",
            "--out",
            str(tmp_path),
            "--group-min-counts",
            "50",
            "--no-progress",
        ]
    )
    assert rc == 0
    d = fits.getdata(tmp_path / "HE_spec.pha", "SPECTRUM")
    grp, q, c = d["GROUPING"], d["QUALITY"], d["COUNTS"]
    starts = np.flatnonzero((grp == 1) & (q == 0))
    sums = np.add.reduceat(c[q == 0], np.searchsorted(np.flatnonzero(q == 0), starts))
    assert sums.min() >= 50
    g, err = _sherpa_fit(tmp_path / "HE_spec.pha", NOMINAL_BANDS["HE"], "chi2")
    assert ui.get_data().grouped
    assert abs(g - LONG_INDEX) < 3 * err, (g, err)
