"""Slice reconstruction: the entry point that checks the inputs, resolves ``center="auto"`` and
dispatches to FBP (:mod:`.fbp`), gridrec (:mod:`.fourier`), SIRT or CGLS (:mod:`.iterative`),
on numpy/numba or CuPy.

The kernels are in layers, each importing only those below it:

1. filters and geometry: :mod:`.filters`, :mod:`.geometry`, :mod:`.gridding`;
2. primitives (back-projection, forward projection, gridding): :mod:`.primitives_cpu`
   (+ :mod:`._kernels`, numba) beside its GPU twin :mod:`.primitives_gpu`, dispatched
   by :mod:`.projectors`;
3. methods: :mod:`.fbp`; :mod:`.fourier` over :mod:`.fourier_cpu` beside
   :mod:`.fourier_gpu`; :mod:`.iterative` (SIRT, CGLS);
4. centre finding: :mod:`.center`;
5. this module on top.

Conventions (also in ``docs/tomography.md``):

* ``sinogram``: (angles, detector) or (slices, angles, detector), line integrals
  (minus-log of the normalised transmission), in units of attenuation x pixel;
* ``theta``: radians, one per angle;
* ``center``: rotation axis on the detector, in pixels from the centre of the
  first pixel (``None``: the detector's middle ``(width - 1) / 2``; ``"auto"``:
  :func:`daisy_widgets.tomography.center.find_center`);
* output: float32 (N, N) or (slices, N, N), N = detector width, in attenuation per
  pixel, so a phantom's line integrals reconstruct to the phantom's values.
  Pixel ``(i, j)`` is at ``x = j - (N-1)/2`` (right), ``y = (N-1)/2 - i`` (up);
  the ray at angle theta through ``(x, y)`` hits the detector at
  ``x cos(theta) + y sin(theta) + center``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from ..core.backend import backend_module, get_array_module
from ..core.errors import ValidationError
from .filters import FILTERS
from .geometry import circle_mask

ALGORITHMS = ("fbp", "gridrec", "sirt", "cgls")
BACKENDS = ("numpy", "cupy")
Progress = Callable[[float, float, str], None]


# ----------------------------------------------------------------------------- checks
def check_inputs(sinogram: Any, theta: Any, center: Any, owner: str = "reconstruct") -> None:
    """Raise :class:`ValidationError` listing every problem of the inputs at once."""
    problems: dict[str, list[str]] = {}
    shape = getattr(sinogram, "shape", None)
    if shape is None or len(shape) not in (2, 3):
        problems["sinogram"] = [
            f"expected a 2-D (angles, detector) or 3-D (slices, angles, detector) array; got "
            f"{'shape ' + str(tuple(shape)) if shape is not None else type(sinogram).__name__}"
        ]
    th = np.asarray(theta, dtype=float).ravel() if theta is not None else None
    if th is None or th.size == 0:
        problems["theta"] = ["expected one angle (radians) per projection; got none"]
    elif shape is not None and len(shape) in (2, 3) and th.size != shape[-2]:
        problems["theta"] = [
            f"expected {shape[-2]} angles (one per projection, axis -2 of the sinogram); got {th.size}"
        ]
    elif not np.all(np.isfinite(th)):
        problems["theta"] = ["expected finite angles in radians; found NaN or inf"]
    elif th.size > 1 and np.ptp(th) > 7.0:
        problems["theta"] = [
            f"expected radians; the angles span {np.ptp(th):.1f}, which looks like degrees "
            "(convert with numpy.deg2rad)"
        ]
    if shape is not None and len(shape) in (2, 3):
        if center is not None and not isinstance(center, str):
            c = float(center)
            if not math.isfinite(c) or c < 0 or c > shape[-1] - 1:
                problems["center"] = [
                    f"expected a rotation axis inside the detector, 0..{shape[-1] - 1} px; got {center}"
                ]
        xp = get_array_module(sinogram)
        if hasattr(sinogram, "dask") is False and not bool(xp.isfinite(sinogram).all()):
            problems.setdefault("sinogram", []).append(
                "expected finite values; found NaN or inf (check the flats/darks, or clip before minus-log)"
            )
    if problems:
        raise ValidationError(owner, problems)


# ----------------------------------------------------------------------------- public API
def reconstruct(
    sinogram: Any,
    theta: Any,
    center: float | str | None = None,
    algorithm: str = "fbp",
    filter: str = "ramp",
    backend: str = "numpy",
    *,
    iterations: int = 50,
    nonnegative: bool = True,
    pad_mode: str = "edge",
    circle: bool = False,
    progress: Progress | None = None,
) -> Any:
    """Reconstruct slices from parallel-beam sinograms.

    Parameters
    ----------
    sinogram
        (angles, detector) or (slices, angles, detector) line integrals (float), numpy or
        cupy. A numpy input with ``backend="cupy"`` is copied to the GPU once, explicitly.
    theta
        Projection angles in radians, shape (angles,).
    center
        Rotation axis in detector pixels from the centre of the first pixel; ``None``:
        ``(width - 1) / 2``; ``"auto"``: found with :func:`find_center` on the middle slice.
    algorithm
        ``"fbp"``, ``"gridrec"`` (Fourier gridding), ``"sirt"`` or ``"cgls"``.
    filter
        One of ``ramp, shepp-logan, cosine, hamming, hann, parzen`` (FBP and gridrec).
    backend
        ``"numpy"`` (numba on all cores) or ``"cupy"`` (GPU).
    iterations
        Number of iterations for SIRT and CGLS.
    nonnegative
        Clip negative values after each SIRT/CGLS iteration.
    pad_mode
        Detector padding before filtering: ``"edge"`` or ``"zero"``.
    circle
        Set pixels outside the reconstruction circle to zero.
    progress
        ``callback(done, total, message)`` for the iterative methods.

    Returns
    -------
    float32 array (N, N) or (slices, N, N) in attenuation per pixel (numpy for
    ``backend="numpy"``, cupy for ``backend="cupy"``).

    Raises
    ------
    ValidationError
        Listing every bad argument (shape, angle count, centre outside the detector,
        NaN/inf, unknown algorithm/filter/backend).
    """
    problems: dict[str, list[str]] = {}
    if algorithm not in ALGORITHMS:
        problems["algorithm"] = [f"expected one of {', '.join(ALGORITHMS)}; got {algorithm!r}"]
    if filter not in FILTERS:
        problems["filter"] = [f"expected one of {', '.join(FILTERS)}; got {filter!r}"]
    if backend not in BACKENDS:
        problems["backend"] = [f"expected one of {', '.join(BACKENDS)}; got {backend!r}"]
    if isinstance(center, str) and center != "auto":
        problems["center"] = [f"expected a number of pixels, None or 'auto'; got {center!r}"]
    if problems:
        raise ValidationError("reconstruct", problems)
    check_inputs(sinogram, theta, center)
    try:
        xp = backend_module(backend)
    except ValueError as exc:
        raise ValidationError("reconstruct", {"backend": [str(exc)]}) from None
    theta = np.asarray(theta, dtype=np.float64).ravel()
    single = sinogram.ndim == 2
    sino = sinogram[None] if single else sinogram
    sino = xp.asarray(sino, dtype=xp.float32)  # explicit: the only host->device copy for cupy
    nd = sino.shape[-1]
    if center is None:
        center = (nd - 1) / 2.0
    elif isinstance(center, str):
        from .center import find_center

        mid = sino[sino.shape[0] // 2]
        center = find_center(mid.get() if xp is not np else mid, theta)
    center = float(center)
    if algorithm == "fbp":
        from .fbp import fbp

        out = fbp(sino, theta, center, filter, xp, pad_mode)
    elif algorithm == "gridrec":
        from .fourier import gridrec

        out = gridrec(sino, theta, center, filter, xp=xp, pad_mode=pad_mode)
    else:
        from .iterative import cgls, sirt

        fn = sirt if algorithm == "sirt" else cgls
        out = fn(sino, theta, center, iterations, nonnegative, xp=xp, progress=progress)
    if circle:
        out *= xp.asarray(circle_mask(nd))
    return out[0] if single else out
