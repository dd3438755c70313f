"""The projector pair for either backend: back-projection and forward projection.

Dispatches on the array module ``xp`` to the CPU primitives (:mod:`.primitives_cpu`) or
their GPU twins (:mod:`.primitives_gpu`, imported only when a CuPy array comes); the
methods (:mod:`.fbp`, :mod:`.iterative`) and the alignment call these.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def backproject(
    q: Any, theta: np.ndarray, center: float, n: int, scale: float, xp: Any = np, upsample: int = 1
) -> Any:
    """Back-project (slices, angles, detector * upsample) onto (slices, n, n), float32.

    ``upsample == 1``: linear interpolation (the exact adjoint of :func:`project`);
    ``upsample > 1``: nearest sample of Fourier-upsampled projections (FBP).
    Rays outside the detector contribute zero. Same array module as ``q``.
    """
    if xp is np:
        from . import primitives_cpu

        return primitives_cpu.backproject(q, theta, center, n, scale, upsample)
    from . import primitives_gpu

    return primitives_gpu.backproject(q, theta, center, n, scale, upsample)


def project(img: Any, theta: np.ndarray, center: float, ndet: int, xp: Any = np) -> Any:
    """Forward-project (slices, n, n) images to (slices, angles, ndet) line integrals, float32."""
    if xp is np:
        from . import primitives_cpu

        return primitives_cpu.forward_project(img, theta, center, ndet)
    from . import primitives_gpu

    return primitives_gpu.forward_project(img, theta, center, ndet)
