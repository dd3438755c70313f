"""Tomography: formats, phantom, preprocessing, centre, alignment, reconstruction, app.

The two entry points most users need are exported here; importing this
package stays light (numba, scipy and h5py load on first use)::

    from daisy_widgets.tomography import find_center, reconstruct
    c = find_center(sinogram, theta)            # theta in radians
    slice_ = reconstruct(sinogram, theta, center=c, algorithm="fbp", filter="ramp")

Modules: :mod:`.io` (Data Exchange / NXtomo), :mod:`.phantom`, :mod:`.preprocess`,
:mod:`.center`, :mod:`.align`, :mod:`.recon` (the entry point over the kernel layers:
:mod:`.filters`, :mod:`.geometry`, :mod:`.gridding` -> :mod:`.primitives_cpu` beside
:mod:`.primitives_gpu` -> :mod:`.fbp`, :mod:`.fourier`, :mod:`.iterative` -> :mod:`.center`),
:mod:`.algorithms` (the workflow steps).
"""

from __future__ import annotations

from typing import Any

__all__ = ["find_center", "reconstruct"]


def find_center(sinogram: Any, theta: Any, method: str = "auto", **kw: Any) -> float:
    """Rotation axis in detector pixels; see :func:`daisy_widgets.tomography.center.find_center`."""
    from .center import find_center as _find_center

    return _find_center(sinogram, theta, method, **kw)


def reconstruct(
    sinogram: Any,
    theta: Any,
    center: Any = None,
    algorithm: str = "fbp",
    filter: str = "ramp",
    backend: str = "numpy",
    **kw: Any,
) -> Any:
    """Reconstruct slices; see :func:`daisy_widgets.tomography.recon.reconstruct`."""
    from .recon import reconstruct as _reconstruct

    return _reconstruct(sinogram, theta, center, algorithm, filter, backend, **kw)
