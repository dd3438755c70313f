"""Array backends: numpy on the CPU, CuPy on a GPU when one is present.

Kernels take an ``xp`` module (``numpy`` or ``cupy``) and never copy between
host and device behind the caller's back; these helpers only *inspect*.
"""

from __future__ import annotations

import functools
import types
from typing import Any

import numpy as np


def get_array_module(*arrays: Any) -> types.ModuleType:
    """Return ``cupy`` if any of ``arrays`` is a CuPy array, else ``numpy``."""
    for a in arrays:
        if type(a).__module__.startswith("cupy"):
            import cupy

            return cupy
    return np


@functools.lru_cache(maxsize=1)
def gpu_available() -> bool:
    """True when CuPy imports and sees at least one CUDA device."""
    try:
        import cupy

        return cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:  # ImportError, CUDARuntimeError, missing driver...
        return False


def backend_module(name: str) -> types.ModuleType:
    """Return the array module for a backend name (``"numpy"`` or ``"cupy"``).

    Raises
    ------
    ValueError
        If the name is unknown, or ``"cupy"`` was asked for without a usable GPU.
    """
    if name == "numpy":
        return np
    if name == "cupy":
        if not gpu_available():
            raise ValueError(
                "backend 'cupy' needs CuPy and a CUDA device; none was found (use backend='numpy')"
            )
        import cupy

        return cupy
    raise ValueError(f"unknown backend {name!r}: expected 'numpy' or 'cupy'")


def to_numpy(a: Any) -> np.ndarray:
    """Explicit device-to-host copy (a no-op for numpy arrays)."""
    if type(a).__module__.startswith("cupy"):
        return a.get()
    return np.asarray(a)
