"""Bad input gives a clear error naming the file/column/token, and leaves complete products untouched."""

from __future__ import annotations

import hashlib
import shutil

import pytest
from astropy.io import fits

from daisy_widgets.core.errors import DaisyError
from daisy_widgets.hxmt.pipeline import run_pipeline


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """A 300 s HE-only exposure with good time, and a complete set of products from it."""
    from daisy_widgets.hxmt.simulate import DEFAULT_START, simulate_observation

    root = tmp_path_factory.mktemp("small")
    l1 = simulate_observation(
        root / "l1",
        instruments=("HE",),
        exposure=300.0,
        start=DEFAULT_START + 1000.0,
        seed=5,
        pulsar_frequency=None,
    )
    out = root / "out"
    run_pipeline(l1, "HE", out)
    return l1, out


def _snapshot(out):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(out.iterdir())}


@pytest.fixture
def broken(small, tmp_path):
    """A copy of the small exposure to damage, and the products folder with its snapshot."""
    l1, out = small
    dst = tmp_path / l1.name
    shutil.copytree(l1, dst)
    return dst, out, _snapshot(out)


def _evt(l1):
    return next((l1 / "HE").glob("*HE-Evt*"))


def _rewrite_columns(path, rename=None, drop=None):
    with fits.open(path) as hl:
        cols = [c for c in hl["Events"].columns if c.name != drop]
        new = fits.ColDefs(
            [
                fits.Column(
                    name=(rename or {}).get(c.name, c.name), format=c.format, array=hl["Events"].data[c.name]
                )
                for c in cols
            ]
        )
        tab = fits.BinTableHDU.from_columns(new, header=hl["Events"].header, name="Events")
        fits.HDUList([fits.PrimaryHDU(header=hl[0].header), tab]).writeto(path, overwrite=True)


def _fails(l1, out, snap, *needles, **kw):
    with pytest.raises(DaisyError) as ei:
        run_pipeline(l1, "HE", out, **kw)
    msg = str(ei.value)
    for n in needles:
        assert n in msg, msg
    assert _snapshot(out) == snap  # the complete products are untouched, nothing partial added
    return msg


def test_missing_column(broken):
    l1, out, snap = broken
    _rewrite_columns(_evt(l1), drop="Pulse_Width")
    _fails(l1, out, snap, _evt(l1).name, "Events.Pulse_Width", "column 'Pulse_Width'")


def test_misnamed_column(broken):
    l1, out, snap = broken
    _rewrite_columns(_evt(l1), rename={"Det_ID": "DetID"})
    msg = _fails(l1, out, snap, _evt(l1).name, "Events.Det_ID")
    assert "'DetID' meant to be 'Det_ID'" in msg


def test_truncated_fits(broken):
    l1, out, snap = broken
    p = _evt(l1)
    data = p.read_bytes()
    p.write_bytes(data[: len(data) // 2])
    _fails(l1, out, snap, p.name, "complete")


def test_missing_ehk_file(broken):
    l1, out, snap = broken
    next((l1 / "AUX").glob("*EHK*")).unlink()
    _fails(l1, out, snap, "AUX", "HXMT_<ExpID>_EHK_FFFFFF_V<n>_L1P.FITS")


def test_no_good_time(small):
    l1, out = small
    snap = _snapshot(out)
    _fails(l1, out, snap, "no good time", "ELV>1000", gti_expr="ELV>1000")


def test_gti_expression_syntax_error(small):
    l1, out = small
    snap = _snapshot(out)
    _fails(l1, out, snap, "'>'", "position 4", gti_expr="ELV>>>10")


def test_gti_expression_unknown_column(small):
    l1, out = small
    snap = _snapshot(out)
    _fails(l1, out, snap, "unknown column", "'ELEV'", gti_expr="ELEV>10&&COR>8")


def test_pi_range_outside_the_instrument(small):
    l1, out = small
    snap = _snapshot(out)
    _fails(l1, out, snap, "pi_min", "outside HE's channels 0:255", pi_range=(5, 400))


def test_unknown_detector(small):
    l1, out = small
    snap = _snapshot(out)
    _fails(l1, out, snap, "detector(s) 40 do not exist", detectors=[1, 40])
