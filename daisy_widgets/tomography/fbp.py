"""Filtered back-projection (FBP) of parallel-beam sinograms, on numpy/numba or CuPy.

The projections are filtered (:func:`.filters.filter_sinogram`), Fourier-upsampled, and
back-projected with the nearest upsampled sample (:func:`.projectors.backproject`).
Geometry and units as in :mod:`.recon`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .filters import filter_sinogram
from .geometry import angle_weight
from .projectors import backproject

#: FBP: filtered projections are Fourier-upsampled this many times, then sampled at the nearest point
UPSAMPLE = 4


#: bytes of filtered, upsampled projections held at once by :func:`fbp` (slices are grouped to fit)
FBP_WORKING_BYTES = 256 * 2**20


def fbp(
    sino: Any,
    theta: np.ndarray,
    center: float,
    filter: str = "ramp",
    xp: Any = np,
    pad_mode: str = "edge",
    upsample: int = UPSAMPLE,
) -> Any:
    """Filtered back-projection of (slices, angles, detector) -> (slices, N, N) float32.

    Slices are processed in groups so that the working memory (spectra and
    upsampled projections, about 16 bytes per angle, detector pixel and upsampling
    step) stays near :data:`FBP_WORKING_BYTES` whatever the number of slices.
    """
    ns, na, nd = sino.shape
    per_slice = 16 * na * nd * upsample
    group = max(1, min(ns, FBP_WORKING_BYTES // max(per_slice, 1)))
    w = angle_weight(theta)
    if group >= ns:
        q = filter_sinogram(sino, filter, xp, pad_mode, upsample)
        return backproject(q, theta, center, nd, w, xp, upsample)
    out = xp.empty((ns, nd, nd), xp.float32)
    for s0 in range(0, ns, group):
        q = filter_sinogram(sino[s0 : s0 + group], filter, xp, pad_mode, upsample)
        out[s0 : s0 + group] = backproject(q, theta, center, nd, w, xp, upsample)
        del q
    return out
