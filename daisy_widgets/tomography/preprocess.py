"""Pre-processing of projections and sinograms (numpy, float32, in memory).

Shapes: projections (angles, rows, columns); sinograms (angles, columns) or
(slices, angles, columns). Every function returns a new array.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..core.errors import ValidationError


# ----------------------------------------------------------------------------- normalisation
def normalize(
    projections: np.ndarray,
    flats: np.ndarray | None,
    darks: np.ndarray | None = None,
    flats_after: np.ndarray | None = None,
    *,
    cutoff: float | None = None,
) -> np.ndarray:
    """Flat/dark correction ``(P - D) / (F - D)``.

    Parameters
    ----------
    projections : (angles, rows, cols) counts
    flats, darks : (frames, rows, cols) or (rows, cols); averaged over frames (darks default 0)
    flats_after : flats taken after the scan; when given, the flat of projection k is
        interpolated linearly between the mean flats before and after (beam decay, drift)
    cutoff : clip the transmission at this value (e.g. 1.5), or None

    Returns
    -------
    float32 (angles, rows, cols) transmission (1 = no attenuation).

    Raises
    ------
    ValidationError
        Flats/darks of a shape other than the projections' frames, or flats not above darks.
    """
    proj = np.asarray(projections, np.float32)
    if proj.ndim == 2:
        proj = proj[:, None, :]
    frame = proj.shape[1:]

    def mean(a, name):
        if a is None:
            return None
        a = np.asarray(a, np.float32)
        a = a[None] if a.ndim == 2 else a
        if a.ndim != 3 or a.shape[1:] != frame:
            raise ValidationError(
                "tomo.normalize",
                {name: [f"expected frames of shape {frame} like the projections; got {a.shape}"]},
            )
        return a.mean(axis=0)

    d = mean(darks, "darks")
    d = np.zeros(frame, np.float32) if d is None else d
    f0 = mean(flats, "flats")
    if f0 is None:
        raise ValidationError("tomo.normalize", {"flats": ["flat-field frames are required"]})
    f1 = mean(flats_after, "flats_after")
    den0 = f0 - d
    if np.any(den0 <= 0) or (f1 is not None and np.any(f1 - d <= 0)):
        bad = int((den0 <= 0).sum())
        raise ValidationError(
            "tomo.normalize",
            {"flats": [f"expected flats above darks in every pixel; {bad} pixel(s) have flat <= dark"]},
        )
    na = proj.shape[0]
    if f1 is None:
        out = (proj - d) / den0
    else:
        w = (np.arange(na, dtype=np.float32) / max(na - 1, 1))[:, None, None]
        out = (proj - d) / ((1 - w) * den0 + w * (f1 - d))
    if cutoff is not None:
        np.minimum(out, cutoff, out=out)
    return out.astype(np.float32, copy=False)


def minus_log(transmission: np.ndarray, floor: float = 1e-6) -> np.ndarray:
    """``-ln(T)`` with non-positive and tiny values clipped to ``floor`` first (no NaN/inf)."""
    t = np.asarray(transmission, np.float32)
    return -np.log(np.maximum(t, np.float32(floor)))


# ----------------------------------------------------------------------------- outliers
def remove_zingers(projections: np.ndarray, threshold: float = 0.1, size: int = 3) -> np.ndarray:
    """Replace outliers (zingers, hot pixels) by the local median.

    A pixel is an outlier when it differs from the median of its ``size x size``
    neighbourhood in its own frame by more than ``threshold`` times that median
    (``threshold`` is relative; e.g. 0.1 = 10 %).

    Parameters
    ----------
    projections : (angles, rows, cols) or (rows, cols)
    """
    from scipy.ndimage import median_filter

    a = np.asarray(projections, np.float32)
    sz = (1, size, size) if a.ndim == 3 else (size, size)
    if a.ndim == 3 and a.shape[1] < size:
        sz = (1, 1, size)
    med = median_filter(a, size=sz, mode="reflect")
    bad = np.abs(a - med) > threshold * np.abs(med)
    return np.where(bad, med, a).astype(np.float32)


# ----------------------------------------------------------------------------- stripes (rings)
def remove_stripes_sorting(sino: np.ndarray, size: int | None = None) -> np.ndarray:
    """Vo et al. (2018) algorithm 3: sorting along angles, then median filtering across the detector.

    Removes partial and full stripes (ring artefacts) from (angles, cols) or
    (slices, angles, cols) sinograms. ``size`` is the median window in pixels (odd;
    default ``width / 50`` clipped to 5..31: too wide a window also flattens the sample).
    """
    from . import _kernels

    s = np.asarray(sino, np.float32)
    if size is None:
        size = int(np.clip(s.shape[-1] // 50, 5, 31))
    size = int(size) | 1
    if s.ndim == 2:
        return _kernels.sort_filter_columns(np.ascontiguousarray(s), size)
    return np.stack([_kernels.sort_filter_columns(np.ascontiguousarray(x), size) for x in s])


def remove_stripes_fw(
    sino: np.ndarray, level: int | None = None, wavelet: str = "db5", sigma: float = 1.0
) -> np.ndarray:
    """Fourier-wavelet stripe removal (Münch et al. 2009) on (angles, cols) or (slices, angles, cols).

    Vertical detail coefficients of a ``level``-deep wavelet decomposition are
    damped along the angle axis with a Gaussian of width ``sigma`` in Fourier space.
    """
    import pywt

    s = np.asarray(sino, np.float32)
    if s.ndim == 3:
        return np.stack([remove_stripes_fw(x, level, wavelet, sigma) for x in s])
    na, nd = s.shape
    if level is None:
        level = max(1, min(int(math.log2(min(na, nd))) - 6, 6))
    coeffs = pywt.wavedec2(s, wavelet, level=level)
    out = [coeffs[0]]
    for ch, cv, cd in coeffs[1:]:
        f = np.fft.fft(cv, axis=0)
        k = np.fft.fftfreq(cv.shape[0]) * cv.shape[0]
        damp = 1 - np.exp(-(k**2) / (2 * sigma**2))
        out.append((ch, np.real(np.fft.ifft(f * damp[:, None], axis=0)), cd))
    rec = pywt.waverec2(out, wavelet)
    return rec[:na, :nd].astype(np.float32)


def remove_stripes(sino: np.ndarray, method: str = "sorting", **kw: Any) -> np.ndarray:
    """Stripe removal dispatcher: ``method`` in ``"sorting"``, ``"fw"``, ``"none"``."""
    if method == "none":
        return np.asarray(sino, np.float32)
    if method == "sorting":
        return remove_stripes_sorting(sino, **kw)
    if method == "fw":
        return remove_stripes_fw(sino, **kw)
    raise ValidationError(
        "tomo.remove_stripes", {"method": [f"expected sorting, fw or none; got {method!r}"]}
    )


# ----------------------------------------------------------------------------- phase
def paganin(
    transmission: np.ndarray, pixel_size: float, distance: float, energy: float, delta_beta: float = 1000.0
) -> np.ndarray:
    """Paganin (2002) single-distance phase retrieval on normalised projections.

    Parameters
    ----------
    transmission : (angles, rows, cols) or (rows, cols) flat-field-corrected intensity
    pixel_size : detector pixel size in metres
    distance : sample-detector distance in metres
    energy : X-ray energy in keV
    delta_beta : ratio delta / beta of the material

    Returns
    -------
    float32, same shape: ``-ln`` of the low-pass filtered intensity (projected
    attenuation mu * t, in the same units as minus-log absorption data).
    """
    a = np.asarray(transmission, np.float32)
    two_d = a.ndim == 2
    if two_d:
        a = a[None]
    wavelength = 12.398419843320026e-10 / energy  # m (energy in keV)
    _, ny, nx = a.shape
    py, px = ny + 2 * (ny // 2), nx + 2 * (nx // 2)
    ky = np.fft.fftfreq(py, d=pixel_size)
    kx = np.fft.rfftfreq(px, d=pixel_size)
    k2 = (2 * np.pi) ** 2 * (ky[:, None] ** 2 + kx[None, :] ** 2)
    filt = (1.0 / (1.0 + distance * wavelength * delta_beta * k2 / (4 * np.pi))).astype(np.float32)
    import scipy.fft as sfft

    padded = np.pad(a, ((0, 0), (ny // 2, ny // 2), (nx // 2, nx // 2)), mode="edge")
    f = sfft.rfft2(padded, axes=(1, 2), workers=-1)
    f *= filt
    out = sfft.irfft2(f, s=(py, px), axes=(1, 2), workers=-1)[
        :, ny // 2 : ny // 2 + ny, nx // 2 : nx // 2 + nx
    ]
    out = minus_log(out)
    return out[0] if two_d else out


# ----------------------------------------------------------------------------- display
def window_percentiles(
    image: np.ndarray, low: float = 0.5, high: float = 99.5, mask: np.ndarray | None = None
) -> tuple[float, float]:
    """Display window ("white balance"): the ``low`` and ``high`` percentiles of the finite values."""
    a = np.asarray(image)
    v = a[mask] if mask is not None else a
    v = v[np.isfinite(v)]
    if v.size == 0:
        return 0.0, 1.0
    lo, hi = np.percentile(v, [low, high])
    if hi <= lo:
        hi = lo + 1.0
    return float(lo), float(hi)


def apply_window(image: np.ndarray, lo: float, hi: float, to_uint8: bool = False) -> np.ndarray:
    """Scale ``image`` to 0..1 over [lo, hi] (clipped; NaN -> 0), or to uint8 0..255."""
    out = np.nan_to_num(np.clip((np.asarray(image, np.float32) - lo) / (hi - lo), 0, 1), nan=0.0)
    return (out * 255 + 0.5).astype(np.uint8) if to_uint8 else out


def histogram(
    image: np.ndarray, bins: int = 256, range: tuple[float, float] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Histogram of the finite values: (counts (bins,), edges (bins + 1,))."""
    v = np.asarray(image).ravel()
    v = v[np.isfinite(v)]
    return np.histogram(v, bins=bins, range=range)
