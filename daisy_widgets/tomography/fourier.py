"""Gridrec: Fourier-domain reconstruction by gridding (Dowd et al. 1999, Marone et al. 2012).

Each projection's 1-D FFT is a radial line of the slice's 2-D spectrum
(Fourier slice theorem). The radial samples, weighted by the filter, are
spread onto an oversampled Cartesian grid with a Kaiser-Bessel kernel, the grid
is inverse-FFTed, and the kernel's transform is divided out. Two slices are
reconstructed at once as the real and imaginary parts of one complex sinogram.

This module dispatches on the array module to the CPU gridrec (:mod:`.fourier_cpu`) or its
GPU twin (:mod:`.fourier_gpu`, imported only for CuPy arrays); both take their tables from
:mod:`.gridding`.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def gridrec(
    sino: Any, theta: np.ndarray, center: float, filter: str = "ramp", xp: Any = np, pad_mode: str = "edge"
) -> Any:
    """Reconstruct (slices, angles, detector) -> (slices, N, N) float32 by gridding.

    ``filter`` windows the ramp as for FBP; ``pad_mode`` is accepted for
    symmetry with FBP (the detector is zero-padded to the grid size; edges are
    extended first when ``"edge"``). Same array module as ``sino`` (``xp``).
    """
    if xp is not np:
        from . import fourier_gpu

        return fourier_gpu.gridrec(sino, theta, center, filter)
    from . import fourier_cpu

    return fourier_cpu.gridrec(sino, theta, center, filter, pad_mode)
