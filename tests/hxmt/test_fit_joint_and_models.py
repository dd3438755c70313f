"""Joint LE + ME + HE fits (common shape, free cross-normalisations) and the other models, with
both backends on the same files."""

from __future__ import annotations

import json

import numpy as np
import pytest
from astropy.io import fits

from daisy_widgets.cli import main
from daisy_widgets.hxmt.fit import fit_spectra
from daisy_widgets.hxmt.fit_data import DataFiles
from daisy_widgets.hxmt.fit_models import absorption_cross_section, get_model

LONG_INDEX = 1.73


def test_joint_fit_cli_both_backends(long_obs, capsys):
    _, o = long_obs
    data = [
        f"{o['LE'] / 'LE_spec.pha'},,,1,10",
        f"{o['ME'] / 'ME_spec.pha'},{o['ME'] / 'ME_bkg.pha'},{o['ME'] / 'ME.rsp'},10,30",
        f"{o['HE'] / 'HE_spec.pha'},,,28,250",
    ]
    argv = ["hxmt", "fit", *[a for d in data for a in ("--data", d)], "--json"]
    res = {}
    for backend in ("builtin", "sherpa"):
        capsys.readouterr()
        assert main([*argv, "--backend", backend]) == 0
        res[backend] = json.loads(capsys.readouterr().out)
    b, s = res["builtin"], res["sherpa"]
    assert b["band"] == [[1.0, 10.0], [10.0, 30.0], [28.0, 250.0]]
    assert abs(b["photon_index"] - LONG_INDEX) < 3 * b["photon_index_err"], b
    assert abs(b["photon_index"] - s["photon_index"]) < 0.02
    assert [c["data"] for c in b["cross_normalisations"]] == ["ME_spec.pha", "HE_spec.pha"]
    for cb, cs in zip(b["cross_normalisations"], s["cross_normalisations"], strict=True):
        # the same source seen by all three: cross-normalisations of 1
        assert abs(cb["value"] - 1.0) < 3 * cb["error"] + 0.02, cb
        assert abs(cb["value"] - cs["value"]) < 0.01
    # joint errors are smaller than the best single instrument's
    capsys.readouterr()
    assert main(["hxmt", "fit", str(o["HE"] / "HE_spec.pha"), "--json", "--backend", "builtin"]) == 0
    single = json.loads(capsys.readouterr().out)
    assert b["photon_index_err"] < single["photon_index_err"]


def test_morrison_mccammon_cross_sections():
    # MM83 Table 2 evaluated at 1 keV: (120.6 + 169.3 - 47.7) 1e-24 cm2 = 2.422e-22 cm2 per H atom
    assert absorption_cross_section(1.0) == pytest.approx(2.422, rel=1e-3)
    e = np.geomspace(0.3, 10, 50)
    s = absorption_cross_section(e)
    assert np.all(s > 0) and s[-1] < s[0] / 100  # falls steeply with energy (~E^-2.5)


def _synthetic(path_dir, rsp, model, shape, norm, exposure, seed, instrument):
    """A spectrum drawn from ``model`` folded through the response (ground truth for the models)."""
    rng = np.random.default_rng(seed)
    with fits.open(rsp) as hl:
        m = hl["MATRIX"].data
        flux = get_model(model).flux(
            shape, norm, np.asarray(m["ENERG_LO"], float), np.asarray(m["ENERG_HI"], float)
        )
        mu = exposure * flux @ np.asarray(m["MATRIX"], float)
    counts = rng.poisson(mu)
    t = fits.BinTableHDU.from_columns(
        [fits.Column("CHANNEL", "J", array=np.arange(counts.size)), fits.Column("COUNTS", "J", array=counts)],
        name="SPECTRUM",
    )
    t.header.update(
        {
            "HDUCLASS": "OGIP",
            "HDUCLAS1": "SPECTRUM",
            "EXPOSURE": exposure,
            "INSTRUME": instrument,
            "BACKFILE": "NONE",
            "RESPFILE": rsp.name,
            "POISSERR": True,
            "TLMIN1": 0,
        }
    )
    out = path_dir / f"{instrument}_{model.replace('*', '_')}.pha"
    fits.HDUList([fits.PrimaryHDU(), t]).writeto(out)
    import shutil

    shutil.copy(rsp, path_dir / rsp.name)
    return out


@pytest.mark.parametrize(
    "x, model, shape, band",
    [
        ("LE", "tbabs*powerlaw", (2.0, 1.8), (1.0, 10.0)),
        ("HE", "cutoffpl", (1.5, 60.0), (28.0, 250.0)),
        ("ME", "powerlaw", (2.2,), (10.0, 30.0)),
    ],
)
def test_models_recover_their_parameters_with_both_backends(long_obs, tmp_path, x, model, shape, band):
    pytest.importorskip("sherpa")
    _, o = long_obs
    pha = _synthetic(tmp_path, o[x] / f"{x}.rsp", model, shape, 5.0, 2000.0, 7, x)
    res = {be: fit_spectra([DataFiles(pha, band=band)], model, "cstat", be) for be in ("builtin", "sherpa")}
    b, s = res["builtin"], res["sherpa"]
    names = get_model(model).shape_names
    for name, truth in zip(names, shape, strict=True):
        v, e = b.parameters[name]
        assert abs(v - truth) < 3 * e, (name, v, e, truth)
    assert abs(b.photon_index - s.photon_index) < 0.02
    assert b.statistic == pytest.approx(s.statistic, rel=1e-3, abs=0.5)
