"""The synthetic scan: exact projections, each effect on/off and seeded, Data Exchange output."""

from __future__ import annotations

import numpy as np
import pytest

from daisy_widgets.tomography import io
from daisy_widgets.tomography.phantom import (
    ScanOptions,
    phantom_slices,
    project_phantom,
    simulate_scan,
    write_sample_scan,
)


def test_analytic_projection_matches_numerical_projection():
    """Line integrals agree with ASTRA's projection of a finely sampled phantom image."""
    astra = pytest.importorskip("astra", reason="astra-toolbox (independent projector) not installed")
    n, up = 64, 8
    theta = np.linspace(0, np.pi, 16, endpoint=False)
    fine = phantom_slices(n * up, supersample=1)[0].astype(np.float64)
    vg = astra.create_vol_geom(n * up, n * up)
    pg = astra.create_proj_geom("parallel", 1.0, n * up, theta)
    pid = astra.create_projector("linear", pg, vg)
    sid, sino = astra.create_sino(fine, pid)
    astra.data2d.delete(sid)
    # bin the fine detector back to n pixels; lengths scale by 1/up
    ref = sino.reshape(16, n, up).mean(axis=2) / up
    ours = project_phantom(n, theta, supersample=8)[0]
    assert np.abs(ours - ref).max() < 0.02 * ref.max()


def test_line_integral_by_quadrature():
    """One ray, integrated numerically through the ellipses' definition, equals the analytic value (px units)."""
    from daisy_widgets.tomography.phantom import SHEPP_LOGAN_3D

    n, theta, u = 201, 0.3, 117.0  # centre 100: s = 17 px
    s = (u - 100.0) / (n / 2)
    t = np.linspace(-1.5, 1.5, 600001)
    x, y = s * np.cos(theta) - t * np.sin(theta), s * np.sin(theta) + t * np.cos(theta)
    val = np.zeros_like(t)
    for v, a, b, c, x0, y0, z0, phi in SHEPP_LOGAN_3D:
        if abs(z0) >= c:
            continue
        r = np.sqrt(1 - (z0 / c) ** 2)
        ph = np.deg2rad(phi)
        xr = (x - x0) * np.cos(ph) + (y - y0) * np.sin(ph)
        yr = -(x - x0) * np.sin(ph) + (y - y0) * np.cos(ph)
        val += v * ((xr / (a * r)) ** 2 + (yr / (b * r)) ** 2 <= 1)
    expected = val.sum() * (t[1] - t[0]) * n / 2
    ours = project_phantom(n, np.array([theta]), rows=[100], height=201, supersample=1)[0, 0, int(u)]
    assert ours == pytest.approx(expected, rel=1e-3)


def test_effects_are_switchable_and_seeded():
    base = dict(size=32, height=4, n_angles=12)
    clean = simulate_scan(ScanOptions(**base, flux=0))
    again = simulate_scan(ScanOptions(**base, flux=0))
    np.testing.assert_array_equal(clean.projections, again.projections)
    # Poisson noise: seeded, different for another seed
    a = simulate_scan(ScanOptions(**base, seed=1))
    b = simulate_scan(ScanOptions(**base, seed=1))
    c = simulate_scan(ScanOptions(**base, seed=2))
    np.testing.assert_array_equal(a.projections, b.projections)
    assert not np.array_equal(a.projections, c.projections)
    # zingers: bright outliers only when on
    z = simulate_scan(ScanOptions(**base, flux=0, zingers=0.01))
    assert (z.projections > 1.5 * clean.flats.max()).sum() > 0
    assert (clean.projections > 1.5 * clean.flats.max()).sum() == 0
    # rings: some columns with a gain different in projections and flats
    r = simulate_scan(ScanOptions(**base, flux=0, ring_pixels=3))
    ratio = (r.projections / clean.projections).mean(axis=(0, 1))
    assert np.sum(np.abs(ratio - 1) > 0.01) == 3
    # axis offset and jitter are in the ground truth
    o = simulate_scan(ScanOptions(**base, flux=0, center_offset=2.5, jitter=1.0, seed=4))
    assert o.center == pytest.approx(15.5 + 2.5)
    assert o.shifts.shape == (12, 2) and 0.3 < o.shifts.std() < 2.0
    assert not np.allclose(o.line_integrals, clean.line_integrals)


def test_write_sample_scan(tmp_path):
    p = write_sample_scan(tmp_path / "s.h5", size=48, n_angles=30, seed=3, height=4)
    scan = io.read_scan(p)
    assert scan.shape == (30, 4, 48)
    assert scan.metadata["true_center"] == pytest.approx(23.5 + 3.5)
    assert scan.metadata["mu_max"] == pytest.approx(2.0 / 48)
    assert not list(tmp_path.glob("*.part"))
