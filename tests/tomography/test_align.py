"""Motion correction: injected jitter (RMS 2 px) is recovered to < 0.3 px RMS and the error falls."""

from __future__ import annotations

import numpy as np

from daisy_widgets.tomography.align import align_projections
from daisy_widgets.tomography.phantom import ScanOptions, phantom_slices, simulate_scan
from daisy_widgets.tomography.recon import reconstruct

from .conftest import rmse_in_circle


def test_jitter_is_corrected():
    n = 64
    sc = simulate_scan(ScanOptions(size=n, n_angles=90, jitter=2.0, flux=0, seed=3))
    theta = np.deg2rad(sc.theta_deg)
    proj = sc.line_integrals.transpose(1, 0, 2)
    true = sc.shifts - sc.shifts.mean(axis=0)
    assert 1.7 < np.sqrt((true**2).mean()) < 2.3
    aligned, est = align_projections(proj, theta, iterations=20)
    res = est - true
    res[:, 0] -= res[:, 0].mean()
    # horizontal a cos + b sin is a translation of the object: not observable, removed
    basis = np.stack([np.ones(theta.size), np.cos(theta), np.sin(theta)], axis=1)
    res[:, 1] -= basis @ np.linalg.lstsq(basis, res[:, 1], rcond=None)[0]
    rms = float(np.sqrt((res**2).mean()))
    assert rms < 0.3, rms
    truth = phantom_slices(n, rows=np.arange(n), height=n, mu_max=sc.mu_max)
    before = rmse_in_circle(reconstruct(proj.transpose(1, 0, 2), theta), truth)
    after = rmse_in_circle(reconstruct(aligned.transpose(1, 0, 2), theta), truth)
    assert after < 0.65 * before, (before, after)
