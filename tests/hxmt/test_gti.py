"""GTI expressions are parsed safely, and the GTIs exclude Earth occultation and the SAA."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.io import fits

from daisy_widgets.hxmt.gti import GTIExpressionError, evaluate, gti_mask, mask_to_gti, parse_expression

COLS = {"ELV": np.array([5.0, 20, 30]), "COR": np.array([9.0, 9, 1]), "SAA_FLAG": np.array([0, 0, 1])}


def test_expression_evaluation():
    assert evaluate("ELV>10&&COR>8&&SAA_FLAG==0", COLS).tolist() == [False, True, False]
    assert evaluate("!(ELV<10) || SAA_FLAG != 0", COLS).tolist() == [False, True, True]
    assert evaluate("elv > 10 and not cor < 8", COLS).tolist() == [False, True, False]
    assert evaluate("ELV - 15 >= -1e1", COLS).tolist() == [True, True, True]


@pytest.mark.parametrize(
    "expr, token, pos",
    [
        ("ELV>10&&", "end of expression", 8),
        ("ELV>>10", ">", 4),
        ("ELV>10 && FOO<3", "FOO", 10),
        ("ELV > 10 ; rm -rf /", ";", 9),
        ("(ELV>1", "end of expression", 6),
        ("__import__('os').system('x')", "'", 11),
        ("ELV>10 && COR>8)", ")", 15),
    ],
)
def test_errors_name_the_bad_token(expr, token, pos):
    with pytest.raises(GTIExpressionError) as ei:
        evaluate(expr, COLS)
    assert ei.value.token == token and ei.value.pos == pos
    assert repr(token) in str(ei.value) or token in str(ei.value)


def test_parser_never_evaluates_python(monkeypatch):
    import builtins

    def boom(*a, **k):
        raise AssertionError("eval/exec called")

    monkeypatch.setattr(builtins, "eval", boom)
    monkeypatch.setattr(builtins, "exec", boom)
    assert evaluate("ELV>10", COLS).tolist() == [False, True, True]
    with pytest.raises(GTIExpressionError):
        parse_expression("ELV.__class__")


def test_mask_to_gti_and_back():
    t = np.arange(10.0)
    g = mask_to_gti(t, np.array([0, 1, 1, 0, 0, 1, 1, 1, 1, 1], bool))
    assert g.tolist() == [[0.5, 2.5], [4.5, 9.0]]
    assert gti_mask(np.array([0.4, 1.0, 3.0, 8.9, 9.0]), g).tolist() == [False, True, False, True, False]


def test_occultation_and_saa_excluded(tmp_path):
    """A 6 h EHK-only simulation crossing the SAA several times: the default GTIs never include occulted or SAA times (truth from the orbit)."""
    from daisy_widgets.hxmt.algorithms import GtiGen
    from daisy_widgets.hxmt.l1io import read_table
    from daisy_widgets.hxmt.orbit import elevation, geodetic, in_saa, position, unit_vector
    from daisy_widgets.hxmt.simulate import DEFAULT_START, simulate_observation

    t0 = DEFAULT_START + 20000.0
    root = simulate_observation(tmp_path, instruments=(), exposure=6 * 3600.0, start=t0, seed=1)
    ehk = read_table(next((root / "AUX").glob("*EHK*")), "EHK")
    gti = GtiGen(instrument="HE")(ehk=ehk)["gti"]
    t = np.arange(t0, t0 + 6 * 3600.0, 0.5)
    pos = position(t)
    occulted = elevation(pos, unit_vector(83.63308, 22.0145)) <= 0
    lon, lat, _ = geodetic(t, pos)
    saa = in_saa(lon, lat)
    assert occulted.mean() > 0.2 and saa.mean() > 0.02  # both happen in this span
    good = gti_mask(t, gti)
    assert good.mean() > 0.1
    assert not np.any(good & occulted)
    assert not np.any(good & saa)


def test_screened_events_avoid_occultation_and_saa(sim_dir, products):
    from daisy_widgets.hxmt.l1io import read_table

    ehk = read_table(next((sim_dir / "AUX").glob("*EHK*")), "EHK")
    for inst in ("HE", "ME", "LE"):
        t = fits.getdata(products[inst][0] / f"{inst}_screen.fits", "EVENTS")["TIME"]
        i = np.clip(np.searchsorted(ehk["TIME"], t) - 1, 0, len(ehk) - 1)
        assert np.all(ehk["ELV"][i] > 9.0) and np.all(ehk["SAA_FLAG"][i] == 0)
