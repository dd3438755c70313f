"""Reconstruction filters in the frequency domain (FBP and the Fourier method), and their application.

The ramp is the Fourier transform of the band-limited spatial ramp of Kak &
Slaney (eq. 61), which has no DC offset error on a finite detector; the
windows multiply it. Frequencies ``f`` are in cycles per pixel (-0.5..0.5).
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np

FILTERS = ("ramp", "shepp-logan", "cosine", "hamming", "hann", "parzen")


def window(name: str, f: np.ndarray) -> np.ndarray:
    """Apodisation window for the ramp at frequencies ``f`` (cycles/pixel)."""
    a = np.abs(f)
    if name == "ramp":
        return np.ones_like(a)
    if name == "shepp-logan":
        return np.sinc(a)
    if name == "cosine":
        return np.cos(np.pi * a)
    if name == "hamming":
        return 0.54 + 0.46 * np.cos(2 * np.pi * a)
    if name == "hann":
        return 0.5 + 0.5 * np.cos(2 * np.pi * a)
    if name == "parzen":
        q = np.minimum(a / 0.5, 1.0)
        return np.where(q <= 0.5, 1 - 6 * q**2 + 6 * q**3, 2 * (1 - q) ** 3)
    raise ValueError(f"unknown filter {name!r}: expected one of {', '.join(FILTERS)}")


def ramp_spectrum(length: int) -> np.ndarray:
    """Full-length (``fft`` ordering) spectrum of the spatial Kak-Slaney ramp, real, float64."""
    n = np.concatenate([np.arange(0, length // 2 + 1), np.arange(-(length - length // 2 - 1), 0)])
    h = np.zeros(length)
    h[0] = 0.25
    odd = n % 2 == 1
    h[odd] = -1.0 / (np.pi * n[odd]) ** 2
    return np.real(np.fft.fft(h))


def filter_spectrum(name: str, length: int, real: bool = True) -> np.ndarray:
    """Filter for an FFT of ``length`` points: ``rfft`` layout when ``real`` else ``fft`` layout.

    Returns float32 with ``length // 2 + 1`` (real) or ``length`` values.
    """
    full = ramp_spectrum(length) * window(name, np.fft.fftfreq(length))
    if real:
        full = full[: length // 2 + 1]
    return full.astype(np.float32)


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
    # the upsampling's gain is applied here, on the short spectrum (exact for powers of two)
    filt = xp.asarray(filter_spectrum(filter, length) * np.float32(max(upsample, 1)))
    if xp is np:
        import scipy.fft as sfft

        fft = functools.partial(sfft.rfft, workers=-1, overwrite_x=True)
        ifft = functools.partial(sfft.irfft, workers=-1, overwrite_x=True)
    else:
        fft, ifft = xp.fft.rfft, xp.fft.irfft
    padded = xp.empty((ns, na, length), xp.float32)  # every element is written below
    padded[..., :nd] = sino
    if pad_mode == "edge":
        r = (length - nd) // 2
        padded[..., nd : nd + r] = sino[..., -1:]
        padded[..., nd + r :] = sino[..., :1]
    else:
        padded[..., nd:] = 0
    spec = fft(padded, axis=-1)
    spec *= filt
    if upsample > 1:
        big = xp.empty((ns, na, length * upsample // 2 + 1), spec.dtype)
        big[..., : length // 2] = spec[..., : length // 2]
        big[..., length // 2] = spec[..., length // 2] * 0.5  # split the Nyquist term symmetrically
        big[..., length // 2 + 1 :] = 0
        out = ifft(big, n=length * upsample, axis=-1)[..., : nd * upsample]
    else:
        out = ifft(spec, n=length, axis=-1)[..., :nd]
    return out.astype(xp.float32, copy=False)
