"""Slice reconstruction: FBP, gridrec (Fourier), SIRT and CGLS on numpy/numba or CuPy.

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

import functools
import math
from collections.abc import Callable
from typing import Any

import numpy as np

from ..core.backend import backend_module, get_array_module
from ..core.errors import ValidationError
from .filters import FILTERS, filter_spectrum

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


def angle_weight(theta: np.ndarray) -> float:
    """Angular integration weight (radians per projection) for FBP.

    ``pi / K`` for scans covering 180 or 360 degrees; the median step for a
    limited-angle scan.
    """
    k = theta.size
    if k < 2:
        return math.pi
    step = float(np.median(np.abs(np.diff(np.sort(theta)))))
    return min(step, math.pi / k) if step > 0 else math.pi / k


def _pad_geometry(ndet: int, n: int, center: float) -> tuple[int, int]:
    """Left padding and total width so that every ray of the n x n grid hits the padded detector."""
    rmax = (n - 1) / 2.0 * math.sqrt(2.0)
    left = max(0, int(math.ceil(rmax - center))) + 2
    right = max(ndet, int(math.ceil(center + rmax)) + 3)
    return left, left + right + 1


# ----------------------------------------------------------------------------- FBP
#: FBP: filtered projections are Fourier-upsampled this many times, then sampled at the nearest point
UPSAMPLE = 4


def filter_sinogram(
    sino: Any, filter: str = "ramp", xp: Any = np, pad_mode: str = "edge", upsample: int = 1
) -> Any:
    """Apply the FBP filter along the detector axis, optionally upsampling the result.

    Parameters
    ----------
    sino : float32 (slices, angles, detector), numpy or cupy
    filter : one of :data:`FILTERS`
    pad_mode : ``"edge"`` (repeat edge values, fewer truncation artefacts) or ``"zero"``
    upsample : return ``upsample`` samples per detector pixel (band-limited interpolation
        by zero-padding the spectrum); sample ``m`` is at detector position ``m / upsample``

    Returns
    -------
    float32 (slices, angles, detector * upsample), same array module as the input.
    """
    ns, na, nd = sino.shape
    length = 1 << int(math.ceil(math.log2(2 * nd)))
    filt = xp.asarray(filter_spectrum(filter, length))
    if xp is np:
        import scipy.fft as sfft

        fft = functools.partial(sfft.rfft, workers=-1, overwrite_x=True)
        ifft = functools.partial(sfft.irfft, workers=-1, overwrite_x=True)
    else:
        fft, ifft = xp.fft.rfft, xp.fft.irfft
    padded = xp.zeros((ns, na, length), xp.float32)
    padded[..., :nd] = sino
    if pad_mode == "edge":
        r = (length - nd) // 2
        padded[..., nd : nd + r] = sino[..., -1:]
        padded[..., nd + r :] = sino[..., :1]
    spec = fft(padded, axis=-1)
    spec *= filt
    if upsample > 1:
        big = xp.zeros((ns, na, length * upsample // 2 + 1), spec.dtype)
        big[..., : length // 2] = spec[..., : length // 2]
        big[..., length // 2] = spec[..., length // 2] * 0.5  # split the Nyquist term symmetrically
        out = ifft(big, n=length * upsample, axis=-1)[..., : nd * upsample]
        out *= upsample
    else:
        out = ifft(spec, n=length, axis=-1)[..., :nd]
    return out.astype(xp.float32, copy=False)


def backproject(
    q: Any, theta: np.ndarray, center: float, n: int, scale: float, xp: Any = np, upsample: int = 1
) -> Any:
    """Back-project (slices, angles, detector * upsample) onto (slices, n, n).

    ``upsample == 1``: linear interpolation (the exact adjoint of the forward
    projector); ``upsample > 1``: nearest sample of Fourier-upsampled projections (FBP).
    Rays outside the detector contribute zero.
    """
    ns, na, ndu = q.shape
    nd = ndu // upsample
    left, width = _pad_geometry(nd, n, center)
    if xp is np:
        from . import _kernels

        cos_t, sin_t = np.cos(theta).astype(np.float32), np.sin(theta).astype(np.float32)
        qp = np.zeros((ns, na, width * upsample), np.float32)
        qp[..., left * upsample : left * upsample + ndu] = q
        if upsample == 1:
            return _kernels.backproject_linear(qp, cos_t, sin_t, float(center + left), int(n), float(scale))
        return _kernels.backproject_nearest(
            qp, cos_t, sin_t, float(center + left), int(n), int(upsample), float(scale)
        )
    from . import _gpu

    return _gpu.backproject(q, theta, center, n, scale, upsample)


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


def circle_mask(n: int, ratio: float = 1.0) -> np.ndarray:
    """Boolean (n, n) mask of the reconstruction circle (radius ``ratio * n / 2``)."""
    c = (n - 1) / 2.0
    y, x = np.ogrid[:n, :n]
    return ((x - c) ** 2 + (y - c) ** 2) <= (ratio * n / 2.0) ** 2
