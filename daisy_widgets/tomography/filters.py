"""Reconstruction filters in the frequency domain (FBP and the Fourier method).

The ramp is the Fourier transform of the band-limited spatial ramp of Kak &
Slaney (eq. 61), which has no DC offset error on a finite detector; the
windows multiply it. Frequencies ``f`` are in cycles per pixel (-0.5..0.5).
"""

from __future__ import annotations

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
