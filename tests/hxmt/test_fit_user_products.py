"""Issue 15, point 2: ``daisy hxmt fit`` on products written the way HXMTDAS writes them.

Each HXMTDAS-style set (keywords ``NONE`` with the files given on the command line, a ``RATE``
background with ``STAT_ERR``, an RMF + ARF pair, a variable-length response with ``TLMIN`` 1) is
fitted by the CLI with the built-in fitter (the injected index within 3 sigma) and with the Sherpa
backend, and by Sherpa driven directly as a user would; all agree within 0.02 in the index.
"""

from __future__ import annotations

import json
import logging

import pytest

from daisy_widgets.cli import main

sherpa = pytest.importorskip("sherpa")

LONG_INDEX = 1.73  # the long_obs fixture's photon index
BANDS = {"HE": (28.0, 250.0), "ME": (10.0, 30.0), "LE": (1.0, 10.0)}


@pytest.fixture(scope="module")
def das_sets(long_obs, das, tmp_path_factory):
    """``{(instrument, kind): (spectrum, background, response, arf)}`` of HXMTDAS-style files."""
    _, outs = long_obs
    sets = {}
    for x in ("HE", "ME", "LE"):
        d, o = outs[x], tmp_path_factory.mktemp(f"das_{x}")
        spec = das.with_none_keywords(d / f"{x}_spec.pha", o / f"{x}_spec_none.pha")
        bkg, rsp = d / f"{x}_bkg.pha", d / f"{x}.rsp"
        sets[x, "none"] = (spec, bkg, rsp, None)
        sets[x, "rate"] = (spec, das.rate_background(bkg, o / f"{x}_bkg_rate.pha"), rsp, None)
        rmf, arf = das.rmf_and_arf(rsp, o / f"{x}.rmf", o / f"{x}.arf", first=1)
        sets[x, "rmf+arf"] = (spec, bkg, rmf, arf)
        sets[x, "vlen"] = (spec, bkg, das.variable_length_response(rsp, o / f"{x}_vlen.rsp", first=1), None)
    return sets


def _cli(capsys, spec, bkg, rsp, arf, band, backend, stat="wstat"):
    argv = [
        "hxmt",
        "fit",
        str(spec),
        "--background",
        str(bkg),
        "--response",
        str(rsp),
        "--band",
        *map(str, band),
    ]
    argv += ["--arf", str(arf)] if arf else []
    argv += ["--stat", stat, "--backend", backend, "--json"]
    capsys.readouterr()
    assert main(argv) == 0
    out = capsys.readouterr().out
    return json.loads(out)


def _sherpa_direct(spec, bkg, rsp, arf, band):
    """Sherpa as a user drives it on these files: explicit loads, ignore_bad, notice, W-stat."""
    from sherpa.astro import ui

    logging.getLogger("sherpa").setLevel(logging.ERROR)
    ui.clean()
    ui.load_pha(1, str(spec))
    ui.load_bkg(1, str(bkg))
    ui.load_rmf(1, str(rsp))
    if arf:
        ui.load_arf(1, str(arf))
    ui.ignore_bad()
    ui.notice(*band)
    ui.set_source(1, ui.powlaw1d.pl)
    pl = ui.get_model_component("pl")
    pl.gamma, pl.ampl = 2.0, 5.0
    ui.set_stat("wstat")
    ui.set_method("neldermead")
    ui.fit()
    return pl.gamma.val


@pytest.mark.parametrize("kind", ["none", "rate", "rmf+arf", "vlen"])
@pytest.mark.parametrize("x", ["HE", "ME", "LE"])
def test_cli_fits_hxmtdas_style_products(das_sets, capsys, x, kind):
    spec, bkg, rsp, arf = das_sets[x, kind]
    built = _cli(capsys, spec, bkg, rsp, arf, BANDS[x], "builtin")
    assert built["backend"] == "builtin" and built["model"] == "powerlaw" and built["band"] == list(BANDS[x])
    for k in ("photon_index", "photon_index_err", "norm", "norm_err", "statistic", "dof", "model", "band"):
        assert built[k] is not None, k
    g, e = built["photon_index"], built["photon_index_err"]
    assert abs(g - LONG_INDEX) < 3 * e, built
    assert abs(built["norm"] - 9.7) < 3 * built["norm_err"] + 0.05 * 9.7, built
    via_sherpa = _cli(capsys, spec, bkg, rsp, arf, BANDS[x], "sherpa")
    assert via_sherpa["backend"] == "sherpa"
    assert abs(via_sherpa["photon_index"] - g) < 0.02
    assert abs(_sherpa_direct(spec, bkg, rsp, arf, BANDS[x]) - g) < 0.02


@pytest.mark.parametrize("x", ["HE", "LE"])
def test_pgstat_with_a_rate_background(das_sets, capsys, x):
    """A Gaussian (RATE + STAT_ERR) background with the PG-statistic (built-in: Sherpa has none)."""
    spec, bkg, rsp, _ = das_sets[x, "rate"]
    res = _cli(capsys, spec, bkg, rsp, None, BANDS[x], "auto", stat="pgstat")
    assert res["backend"] == "builtin" and res["stat"] == "pgstat"
    assert abs(res["photon_index"] - LONG_INDEX) < 3 * res["photon_index_err"], res
    assert (
        main(
            [
                "hxmt",
                "fit",
                str(spec),
                "--background",
                str(bkg),
                "--response",
                str(rsp),
                "--stat",
                "pgstat",
                "--backend",
                "sherpa",
            ]
        )
        == 1
    )
    assert "no PG-statistic" in capsys.readouterr().err


@pytest.mark.parametrize("stat", ["chi2", "cstat"])
def test_other_statistics_agree_between_backends(das_sets, capsys, stat):
    spec, bkg, rsp, _ = das_sets["HE", "none"]
    a = _cli(capsys, spec, bkg, rsp, None, BANDS["HE"], "builtin", stat)
    b = _cli(capsys, spec, bkg, rsp, None, BANDS["HE"], "sherpa", stat)
    assert abs(a["photon_index"] - b["photon_index"]) < 0.02
    assert abs(a["photon_index"] - LONG_INDEX) < 3 * a["photon_index_err"], a
    assert a["statistic"] == pytest.approx(b["statistic"], rel=0.02, abs=2.0)


def test_pipeline_products_follow_their_keywords(long_obs, capsys):
    """The pipeline's own files: no option but the spectrum; the band from INSTRUME (nominal)."""
    _, outs = long_obs
    capsys.readouterr()
    assert main(["hxmt", "fit", str(outs["LE"] / "LE_spec.pha"), "--json", "--backend", "builtin"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["band"] == [1.0, 10.0] and res["files"][0]["background"].endswith("LE_bkg.pha")
    assert abs(res["photon_index"] - LONG_INDEX) < 3 * res["photon_index_err"]
