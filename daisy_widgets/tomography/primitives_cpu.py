"""CPU primitives (numpy + numba): back-projection and forward projection on host arrays.

The compiled loops are in :mod:`._kernels` and, for FBP's back-projection, :mod:`._fbp_kernels`
(imported, and numba with them, on first use);
this module pads the detector so that every ray lands on it and converts the angles.
The GPU twin is :mod:`.primitives_gpu`, with the same geometry (:mod:`.geometry`) and
interpolation, so both backends agree to float32 rounding.
"""

from __future__ import annotations

import numpy as np

from .geometry import pad_geometry


def backproject(
    q: np.ndarray, theta: np.ndarray, center: float, n: int, scale: float, upsample: int = 1
) -> np.ndarray:
    """Back-project float32 (slices, angles, detector * upsample) onto float32 (slices, n, n).

    ``theta`` in radians (angles,), ``center`` in detector pixels, ``scale`` multiplies
    every contribution. ``upsample == 1``: linear interpolation (the exact adjoint of
    :func:`forward_project`); ``upsample > 1``: nearest sample of Fourier-upsampled
    projections (FBP). Rays outside the detector contribute zero.
    """
    from . import _fbp_kernels, _kernels

    ns, na, ndu = q.shape
    nd = ndu // upsample
    left, width = pad_geometry(nd, n, center)
    cos_t, sin_t = np.cos(theta).astype(np.float32), np.sin(theta).astype(np.float32)
    qp = np.empty((ns, na, width * upsample), np.float32)
    qp[..., : left * upsample] = 0  # only the margins are zeroed: the middle is written once
    qp[..., left * upsample : left * upsample + ndu] = q
    qp[..., left * upsample + ndu :] = 0
    if upsample == 1:
        return _kernels.backproject_linear(qp, cos_t, sin_t, float(center + left), int(n), float(scale))
    return _fbp_kernels.backproject_nearest(
        qp, cos_t, sin_t, float(center + left), int(n), int(upsample), float(scale)
    )


def forward_project(img: np.ndarray, theta: np.ndarray, center: float, ndet: int) -> np.ndarray:
    """Forward-project float32 (slices, n, n) images to float32 (slices, angles, ndet) line integrals."""
    from . import _kernels

    return _kernels.forward_project(
        np.ascontiguousarray(img, np.float32),
        np.cos(theta).astype(np.float32),
        np.sin(theta).astype(np.float32),
        float(center),
        int(ndet),
    )
