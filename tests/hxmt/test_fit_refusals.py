"""Issue 15, point 5: clear refusals from ``daisy hxmt fit``, naming the files, fields and counts;
exit code 1, no traceback, nothing written."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.io import fits

from daisy_widgets.cli import main


@pytest.fixture(scope="module")
def he(products):
    out, _ = products["HE"]
    return out


def _run(capsys, *argv):
    capsys.readouterr()
    rc = main(["hxmt", "fit", *map(str, argv), "--backend", "builtin"])
    err = capsys.readouterr().err
    assert rc == 1, err
    assert "Traceback" not in err and err.startswith("daisy: error:")
    return err


def _me_response(products):
    out, _ = products["ME"]
    return out / "ME.rsp"


def test_response_with_another_channel_count(he, products, capsys):
    err = _run(capsys, he / "HE_spec.pha", "--response", _me_response(products))
    assert "ME.rsp has 1024 channels" in err and "HE_spec.pha has 256" in err


def test_background_with_another_channel_count(he, products, capsys):
    me_bkg = products["ME"][0] / "ME_bkg.pha"
    err = _run(capsys, he / "HE_spec.pha", "--background", me_bkg)
    assert "ME_bkg.pha has 1024 channels" in err and "256" in err


def test_no_counts_in_the_band(he, tmp_path, capsys):
    with fits.open(he / "HE_spec.pha") as hl:
        hl["SPECTRUM"].data["COUNTS"][:] = 0
        hl.writeto(tmp_path / "empty.pha")
    err = _run(capsys, tmp_path / "empty.pha", "--background", he / "HE_bkg.pha", "--response", he / "HE.rsp")
    assert "no counts in 28-250 keV" in err and "empty.pha" in err


def test_band_outside_the_response(he, capsys):
    err = _run(capsys, he / "HE_spec.pha", "--band", "400", "600")
    assert "outside" in err and "HE.rsp" in err and "400-600 keV" in err


def test_empty_band(he, capsys):
    assert "lower bound must be below" in _run(capsys, he / "HE_spec.pha", "--band", "50", "30")


def test_not_ogip_names_the_missing_extension_or_column(he, tmp_path, capsys):
    # a light curve is not a spectrum: no SPECTRUM extension
    err = _run(capsys, he / "HE_lc.fits")
    assert "no SPECTRUM extension" in err and "RATE" in err
    # a spectrum without COUNTS or RATE
    with fits.open(he / "HE_spec.pha") as hl:
        h = hl["SPECTRUM"]
        t = fits.BinTableHDU.from_columns([h.columns["CHANNEL"]], header=h.header, name="SPECTRUM")
        fits.HDUList([hl[0].copy(), t]).writeto(tmp_path / "nocounts.pha")
    err = _run(capsys, tmp_path / "nocounts.pha", "--response", he / "HE.rsp")
    assert "neither a COUNTS nor a RATE column" in err and "nocounts.pha" in err
    # a response without EBOUNDS
    with fits.open(he / "HE.rsp") as hl:
        fits.HDUList([hl[0].copy(), hl["MATRIX"].copy()]).writeto(tmp_path / "noeb.rsp")
    err = _run(capsys, he / "HE_spec.pha", "--response", tmp_path / "noeb.rsp")
    assert "no EBOUNDS extension" in err and "noeb.rsp" in err
    # not FITS at all
    (tmp_path / "text.pha").write_text("CHANNEL COUNTS\n0 1\n")
    assert "not a FITS file" in _run(capsys, tmp_path / "text.pha")


def test_keywords_none_without_files(he, tmp_path, capsys):
    with fits.open(he / "HE_spec.pha") as hl:
        hl["SPECTRUM"].header["RESPFILE"] = "NONE"
        hl["SPECTRUM"].header["BACKFILE"] = "NONE"
        hl.writeto(tmp_path / "none.pha")
    err = _run(capsys, tmp_path / "none.pha")
    assert "RESPFILE = NONE" in err and "--response" in err
    with fits.open(he / "HE_spec.pha") as hl:
        hl["SPECTRUM"].header["BACKFILE"] = "missing_bkg.pha"
        hl.writeto(tmp_path / "missing.pha")
    err = _run(capsys, tmp_path / "missing.pha")
    assert "BACKFILE = 'missing_bkg.pha'" in err and "--background" in err


def test_arf_on_another_grid(he, tmp_path, capsys):
    arf = fits.BinTableHDU.from_columns(
        [
            fits.Column("ENERG_LO", "E", array=np.linspace(1, 10, 10)),
            fits.Column("ENERG_HI", "E", array=np.linspace(2, 11, 10)),
            fits.Column("SPECRESP", "E", array=np.ones(10)),
        ],
        name="SPECRESP",
    )
    fits.HDUList([fits.PrimaryHDU(), arf]).writeto(tmp_path / "x.arf")
    err = _run(capsys, he / "HE_spec.pha", "--arf", tmp_path / "x.arf")
    assert "x.arf has 10 energy bins" in err and "not the same grid" in err


def test_bad_command_lines(he, capsys):
    assert "SPEC,BKG,RSP,LO,HI" in _run(capsys, "--data", ",,")
    assert "LO and HI" in _run(capsys, "--data", f"{he / 'HE_spec.pha'},,,a,b")
    assert "either SPEC" in _run(capsys, he / "HE_spec.pha", "--data", f"{he / 'HE_spec.pha'}")
    assert "no such spectrum file" in _run(capsys, he / "nothere.pha")


def test_fit_writes_nothing(he, capsys):
    before = sorted(p.name for p in he.iterdir())
    _run(capsys, he / "HE_spec.pha", "--band", "400", "600")
    assert sorted(p.name for p in he.iterdir()) == before
