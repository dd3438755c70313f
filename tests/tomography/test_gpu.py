"""CuPy backend: same results as numpy within float32 rounding (skipped without a GPU)."""

from __future__ import annotations

import numpy as np
import pytest

from daisy_widgets.core.backend import gpu_available

pytestmark = pytest.mark.skipif(
    not gpu_available(),
    reason="no CUDA GPU with CuPy on this machine: the cupy backend is written but not run here",
)


@pytest.mark.parametrize("algorithm", ["fbp", "gridrec", "sirt", "cgls"])
def test_cupy_matches_numpy(algorithm, phantom256):
    import cupy as cp

    from daisy_widgets.tomography import reconstruct

    sino, theta, _ = phantom256
    kw = {"iterations": 10} if algorithm in ("sirt", "cgls") else {}
    ref = reconstruct(sino, theta, algorithm=algorithm, **kw)
    gpu = reconstruct(cp.asarray(sino), theta, algorithm=algorithm, backend="cupy", **kw)
    assert isinstance(gpu, cp.ndarray)  # results stay on the device
    diff = np.abs(cp.asnumpy(gpu) - ref).max() / np.abs(ref).max()
    assert diff < 1e-4 if algorithm != "fbp" else diff < 2e-3, diff  # fbp: nearest-sample ties may flip
