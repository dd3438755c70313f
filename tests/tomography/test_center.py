"""Rotation centre: >= 2 independent methods, sub-pixel, on the phantom and on tooth.h5."""

from __future__ import annotations

import numpy as np
import pytest

from daisy_widgets.core.errors import ValidationError
from daisy_widgets.tomography import find_center
from daisy_widgets.tomography import preprocess as pp
from daisy_widgets.tomography.phantom import ScanOptions, simulate_scan


@pytest.fixture(scope="module")
def offset_scan():
    sc = simulate_scan(ScanOptions(size=192, height=2, n_angles=360, center_offset=-5.3, seed=2))
    sino = pp.minus_log(pp.normalize(sc.projections, sc.flats, sc.darks))[:, 1, :]
    return sino, np.deg2rad(sc.theta_deg), sc.center


@pytest.mark.parametrize("method", ["auto", "vo", "com", "entropy"])
def test_phantom_center_within_quarter_pixel(method, offset_scan):
    sino, theta, true = offset_scan
    c = find_center(sino, theta, method)
    assert isinstance(c, float)
    assert abs(c - true) < 0.25, (method, c, true)


def test_tooth_methods_agree_within_one_pixel(tooth_path):
    from daisy_widgets.tomography import io

    scan = io.read_scan(tooth_path)
    b = scan.block(slice(0, 1))
    sino = pp.minus_log(pp.normalize(b["projections"], b["flats"], b["darks"]))[:, 0, :]
    found = {m: find_center(sino, scan.theta_rad, m) for m in ("vo", "com", "entropy")}
    assert np.ptp(list(found.values())) < 1.0, found
    assert 280 < found["vo"] < 310


def test_bad_arguments():
    with pytest.raises(ValidationError) as e:
        find_center(np.zeros((10, 20)), np.zeros(5), method="nope")
    assert "theta" in e.value.problems or "method" in e.value.problems
