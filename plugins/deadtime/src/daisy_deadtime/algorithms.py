"""The ``deadtime.correct_rates`` algorithm: its declaration and the wrapper of the Fortran kernel."""

from __future__ import annotations

import numpy as np

from daisy_widgets.core import Algorithm, Float, Port, Split

from . import _deadtime


class DeadTimeError(ValueError):
    """The Fortran kernel returned an error code; the message says which value is wrong."""


def correct_rates(
    counts: np.ndarray, dt: float, tau: float, out: tuple[np.ndarray, np.ndarray] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Dead-time corrected rates of per-detector light curves (non-paralysable dead time).

    Parameters
    ----------
    counts
        Recorded counts, (bins,) or (bins, detectors). C-ordered float64 goes to the
        Fortran kernel without a copy (as its Fortran-ordered transpose); anything else
        (integers, a Fortran-ordered or strided array) is converted once.
    dt
        Bin width, s (> 0).
    tau
        Dead time per recorded event, s (>= 0).
    out
        ``(rates, live)`` to write into: C-ordered float64 arrays of the shape of ``counts``.

    Returns
    -------
    rates, live
        Incident rate (count/s) and live fraction per bin and detector, float64, the
        shape of ``counts``: ``live = 1 - counts / dt * tau``, ``rates = counts / dt / live``.

    Raises
    ------
    DeadTimeError
        Bad ``dt`` or ``tau``, negative or non-finite counts, or a saturated bin (no
        live time left), naming the bin and detector.
    """
    c = np.ascontiguousarray(counts, dtype=np.float64)
    if c.ndim not in (1, 2):
        raise ValueError(f"counts: expected (bins,) or (bins, detectors); got shape {c.shape}")
    c2 = c[:, None] if c.ndim == 1 else c
    rates, live = out if out is not None else (np.empty_like(c), np.empty_like(c))
    r2 = rates[:, None] if rates.ndim == 1 else rates
    l2 = live[:, None] if live.ndim == 1 else live
    # transposes: Fortran-ordered views (detectors, bins) of the C-ordered arrays, no copy
    ierr, ibin, idet = _deadtime.correct_rates(c2.T, float(dt), float(tau), r2.T, l2.T)
    if ierr:
        raise DeadTimeError(_message(int(ierr), ibin - 1, idet - 1, c2, dt, tau))
    return rates, live


def _message(ierr: int, ibin: int, idet: int, counts: np.ndarray, dt: float, tau: float) -> str:
    if ierr == 1:
        return f"bin width dt must be > 0 s; got {dt}"
    if ierr == 2:
        return f"dead time tau must be >= 0 s; got {tau}"
    where = f"bin {ibin}, detector {idet}"
    if ierr == 3:
        return f"counts must be finite and >= 0; got {counts[ibin, idet]} at {where}"
    if ierr == 4:
        rate = counts[ibin, idet] / dt
        return (
            f"saturated at {where}: recorded rate {rate:.6g} count/s leaves no live time with a dead "
            f"time of {tau:g} s (at most {1 / tau:.6g} count/s)"
        )
    return f"Fortran kernel error code {ierr}"


class CorrectRates(Algorithm):
    """Dead-time correction of per-detector light curves (non-paralysable), Fortran kernel."""

    name = "deadtime.correct_rates"
    category = "hxmt/lightcurve"
    inputs = (Port("counts", dtype="fiu", ndim=(1, 2), help="recorded counts per bin (bins, detectors)"),)
    outputs = (
        Port("rates", dtype="f", ndim=(1, 2), help="incident rate, count/s (bins, detectors)"),
        Port("live", dtype="f", ndim=(1, 2), help="live fraction of each bin (bins, detectors)"),
    )
    params = (
        Float("dt", 1.0, min=1e-9, unit="s", help="bin width of the light curves"),
        Float("tau", 20.0, min=0.0, max=1e6, unit="us", help="dead time per recorded event (HXMT HE: 20 us)"),
    )
    split = Split(inputs={"counts": 0}, outputs={"rates": 0, "live": 0}, block=4096)

    def compute(self, counts):
        rates, live = correct_rates(counts, self.values["dt"], self.values["tau"] * 1e-6)
        return {"rates": rates, "live": live}


ALGORITHMS = [CorrectRates]
