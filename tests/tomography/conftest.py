"""Shared fixtures of the tomography tests: phantom sinograms, a sample scan file, tooth.h5."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
TOOTH = REPO.parent / "shared" / "data" / "tooth.h5"


@pytest.fixture(scope="session")
def tooth_path() -> Path:
    if not TOOTH.exists():
        pytest.skip(f"real scan {TOOTH} absent (../shared/data/tooth.h5 relative to the repository root)")
    return TOOTH


@pytest.fixture(scope="session")
def phantom256():
    """Exact line integrals of the Shepp-Logan middle slice, 256 px, 360 angles, and the truth."""
    from daisy_widgets.tomography.phantom import phantom_slices, project_phantom

    n, k = 256, 360
    theta = np.linspace(0, np.pi, k, endpoint=False)
    sino = project_phantom(n, theta)[0]
    truth = phantom_slices(n)[0]
    return sino, theta, truth


@pytest.fixture(scope="session")
def sample_scan(tmp_path_factory) -> Path:
    """A small Data Exchange scan with noise, zingers, rings and a 3.5 px axis offset."""
    from daisy_widgets.tomography.phantom import write_sample_scan

    return write_sample_scan(
        tmp_path_factory.mktemp("scan") / "sample.h5", size=128, n_angles=180, height=8, seed=1
    )


def rmse_in_circle(img: np.ndarray, truth: np.ndarray, ratio: float = 0.95) -> float:
    from daisy_widgets.tomography.geometry import circle_mask

    m = circle_mask(truth.shape[-1], ratio)
    return float(np.sqrt(np.mean((img - truth)[..., m] ** 2)))
