"""Normalisation, minus-log, zingers, stripes, Paganin, display windowing."""

from __future__ import annotations

import numpy as np
import pytest

from daisy_widgets.tomography import preprocess as pp
from daisy_widgets.tomography.phantom import ScanOptions, simulate_scan
from daisy_widgets.tomography.recon import reconstruct

from .conftest import rmse_in_circle


def test_normalize_recovers_transmission():
    sc = simulate_scan(ScanOptions(size=32, height=3, n_angles=10, flux=0))
    t = pp.normalize(sc.projections, sc.flats, sc.darks)
    np.testing.assert_allclose(-np.log(t), sc.line_integrals.transpose(1, 0, 2), atol=1e-4)


def test_flats_before_and_after_are_interpolated():
    proj = np.full((5, 2, 3), 60.0, np.float32)
    before = np.full((2, 2, 3), 110.0)
    after = np.full((2, 2, 3), 70.0)
    dark = np.full((1, 2, 3), 10.0)
    t = pp.normalize(proj, before, dark, after)
    # flat - dark goes 100 -> 60 linearly over the 5 projections
    np.testing.assert_allclose(t[:, 0, 0], 50.0 / np.linspace(100, 60, 5), rtol=1e-6)
    np.testing.assert_allclose(pp.normalize(proj, before, dark)[:, 0, 0], 0.5)


def test_minus_log_clips_non_positive():
    out = pp.minus_log(np.array([1.0, 0.5, 0.0, -0.2]))
    assert np.all(np.isfinite(out)) and out[0] == 0 and out[1] == pytest.approx(np.log(2))
    assert out[2] == out[3] == pytest.approx(-np.log(1e-6))


def test_zingers_removed_and_clean_pixels_kept():
    rng = np.random.default_rng(0)
    clean = 1 + 0.01 * rng.standard_normal((4, 32, 32)).astype(np.float32)
    dirty = clean.copy()
    idx = (rng.integers(0, 4, 20), rng.integers(1, 31, 20), rng.integers(1, 31, 20))
    dirty[idx] = 5.0
    out = pp.remove_zingers(dirty, threshold=0.2)
    assert np.abs(out - clean).max() < 0.05
    np.testing.assert_array_equal(pp.remove_zingers(clean, threshold=0.2), clean)


@pytest.mark.parametrize("method", ["sorting", "fw"])
def test_stripe_removal_reduces_ring_artefacts(method):
    sc = simulate_scan(ScanOptions(size=128, height=2, n_angles=180, flux=0, ring_pixels=8, seed=1))
    theta = np.deg2rad(sc.theta_deg)
    sino = pp.minus_log(pp.normalize(sc.projections, sc.flats, sc.darks)).transpose(1, 0, 2)
    clean = reconstruct(sc.line_integrals, theta)
    before = rmse_in_circle(reconstruct(sino, theta), clean)
    after = rmse_in_circle(reconstruct(pp.remove_stripes(sino, method), theta), clean)
    assert after < 0.7 * before, (before, after)


def test_sorting_matches_algotom():
    algotom = pytest.importorskip("algotom.prep.removal", reason="algotom (peer) not installed")
    s = np.random.default_rng(3).random((60, 50)).astype(np.float32)
    np.testing.assert_allclose(
        pp.remove_stripes_sorting(s, 7), algotom.remove_stripe_based_sorting(s, 7), atol=1e-6
    )


def test_paganin_is_a_low_pass_that_keeps_flat_regions():
    t = np.full((64, 64), 0.5, np.float32)
    t[30:34, 30:34] = 0.45
    out = pp.paganin(t, pixel_size=5e-6, distance=0.1, energy=20.0, delta_beta=500)
    assert out[5, 5] == pytest.approx(np.log(2), rel=1e-3)  # uniform region: -ln(0.5)
    # the small feature is spread out: lower peak, same integrated intensity deficit
    raw = -np.log(t)
    assert out[31, 31] < raw[31, 31] - 0.01
    assert (0.5 - np.exp(-out)).sum() == pytest.approx((0.5 - t).sum(), rel=0.02)
    # stronger phase effect (larger delta/beta) smooths more
    more = pp.paganin(t, pixel_size=5e-6, distance=0.1, energy=20.0, delta_beta=5000)
    assert more[31, 31] < out[31, 31]


def test_display_window_and_histogram():
    img = np.concatenate([np.linspace(0, 1, 1000), [50.0, -50.0, np.nan]])
    lo, hi = pp.window_percentiles(img, 1, 99)
    assert 0 <= lo < 0.02 and 0.98 < hi <= 1.0
    w = pp.apply_window(img, lo, hi, to_uint8=True)
    assert w.dtype == np.uint8 and w.max() == 255 and w.min() == 0
    counts, edges = pp.histogram(img, bins=10, range=(0, 1))
    assert counts.sum() == 1000 and edges.size == 11
