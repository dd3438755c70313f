"""Event screening: GTI, detectors, PI range and the instruments' event flags (``hescreen``...)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..core.errors import DaisyError
from .caldb import load_calibration
from .event_kernels import compress_rows
from .gti import gti_mask
from .mission import spec


class NoGoodTimeError(DaisyError, ValueError):
    """The GTI selection left no good time (or no events)."""


def check_pi_range(instrument: str, pi_min: int, pi_max: int) -> str | None:
    """The problem with a PI range for ``instrument`` in words, or None."""
    s = spec(instrument)
    if pi_min > pi_max:
        return f"PI range {pi_min}:{pi_max} is empty (min > max)"
    if pi_min < 0 or pi_max > s.n_pi - 1:
        return (
            f"PI range {pi_min}:{pi_max} is outside {s.name}'s channels 0:{s.n_pi - 1} "
            f"({s.energy(0):.1f}-{s.energy(s.n_pi):.1f} keV)"
        )
    return None


def select_detectors(instrument: str, detectors: Sequence[int] | None, blind: bool = False) -> np.ndarray:
    """Detector IDs to use: the given ones (checked) or all open (or all blind) detectors."""
    cal = load_calibration(instrument)
    if blind:
        return cal.blind_detectors
    if detectors is None or len(detectors) == 0:
        return cal.open_detectors
    det = np.asarray(sorted(set(int(d) for d in detectors)))
    bad = det[(det < 0) | (det >= cal.det_id.size)]
    if bad.size:
        raise ValueError(
            f"detector(s) {', '.join(map(str, bad))} do not exist on {instrument} (0..{cal.det_id.size - 1})"
        )
    off = det[~np.isin(det, cal.recording_detectors)]
    if off.size:
        raise ValueError(f"detector(s) {', '.join(map(str, off))} of {instrument} are not in use (no events)")
    blind_sel = det[np.isin(det, cal.blind_detectors)]
    if blind_sel.size:
        raise ValueError(
            f"detector(s) {', '.join(map(str, blind_sel))} of {instrument} are blind (background) detectors"
        )
    return det


def flag_mask(events: np.ndarray, instrument: str) -> np.ndarray:
    """True for good X-ray events: HE NaI pulse widths, no ACD veto, normal type, no flag;
    ME grade 0; LE grade 0 or 1 (single or reconstructed double)."""
    s = spec(instrument)
    ok = events["FLAG"] == 0  # combined in place: one temporary mask at a time
    ok &= events["EVENT_TYPE"] == 0
    if s.name == "HE":
        pw = events["PULSE_WIDTH"]
        ok &= pw >= s.pulse_width[0]
        ok &= pw <= s.pulse_width[1]
        ok &= events["ACD"] == 0
    elif s.name == "ME":
        ok &= events["GRADE"] == 0
    else:
        ok &= events["GRADE"] <= 1
    return ok


def _on_detectors(det_id: np.ndarray, det: np.ndarray) -> np.ndarray:
    """``np.isin(det_id, det)`` for small non-negative detector IDs, by a lookup table."""
    det_id = np.asarray(det_id)
    det = np.asarray(det, dtype=np.int64)
    if det_id.size == 0 or not np.issubdtype(det_id.dtype, np.integer):
        return np.isin(det_id, det)
    lo, hi = int(det_id.min()), int(det_id.max())
    if lo < 0 or hi > 65535:
        return np.isin(det_id, det)
    lut = np.zeros(max(hi, int(det.max()) if det.size else 0) + 1, bool)
    lut[det[det >= 0]] = True
    return lut[det_id]


def screen_sets(
    events: np.ndarray,
    gti: np.ndarray,
    instrument: str,
    pi_range: tuple[int, int] | None = None,
    detectors: Sequence[int] | None = None,
) -> dict[str, np.ndarray]:
    """What the ``hxmt.screen`` step gives, with the GTI mask and flags computed once.

    Returns
    -------
    dict
        ``events`` = :func:`screen` of ``detectors``, ``blind`` = :func:`screen` with ``blind=True``,
        ``raw`` and ``raw_blind`` = :func:`raw_in_gti` of the same detector sets.
    """
    s = spec(instrument)
    lo, hi = pi_range or s.band
    problem = check_pi_range(s.name, lo, hi)
    if problem:
        raise ValueError(problem)
    if np.asarray(gti).size == 0:
        raise NoGoodTimeError(f"{s.name}: the GTI is empty: no good time to screen")
    det, blind = select_detectors(s.name, detectors), select_detectors(s.name, None, True)
    in_gti = gti_mask(events["TIME"], gti)
    raw = _on_detectors(events["DET_ID"], det)
    raw &= in_gti
    raw_blind = _on_detectors(events["DET_ID"], blind)
    raw_blind &= in_gti
    del in_gti  # masks combined in place: a few event-sized boolean arrays alive at a time
    pi = events["PI"]
    good = pi >= lo
    good &= pi <= hi
    good &= flag_mask(events, s.name)
    out = {"raw": events["TIME"][raw], "raw_blind": events["TIME"][raw_blind]}
    raw &= good
    raw_blind &= good
    del good
    out["events"] = compress_rows(events, raw)
    out["blind"] = compress_rows(events, raw_blind)
    return {k: out[k] for k in ("events", "blind", "raw", "raw_blind")}


def screen(
    events: np.ndarray,
    gti: np.ndarray,
    instrument: str,
    pi_range: tuple[int, int] | None = None,
    detectors: Sequence[int] | None = None,
    blind: bool = False,
) -> np.ndarray:
    """Screened events: inside the GTI, on the selected detectors, in the PI range, with good flags.

    Parameters
    ----------
    events
        Calibrated events (with ``PI``; ME with ``GRADE``, LE after recon).
    gti
        Good time intervals (n, 2), s.
    pi_range
        Inclusive PI range (default: the instrument's band).
    detectors
        Detector IDs (default: all open detectors); ``blind=True`` selects the blind ones.
    """
    s = spec(instrument)
    lo, hi = pi_range or s.band
    problem = check_pi_range(s.name, lo, hi)
    if problem:
        raise ValueError(problem)
    if np.asarray(gti).size == 0:
        raise NoGoodTimeError(f"{s.name}: the GTI is empty: no good time to screen")
    det = select_detectors(s.name, detectors, blind)
    m = gti_mask(events["TIME"], gti)
    m &= _on_detectors(events["DET_ID"], det)
    pi = events["PI"]
    m &= (pi >= lo) & (pi <= hi)
    m &= flag_mask(events, s.name)
    return compress_rows(events, m)


def raw_in_gti(
    events: np.ndarray,
    gti: np.ndarray,
    instrument: str,
    detectors: Sequence[int] | None = None,
    blind: bool = False,
) -> np.ndarray:
    """Times of every recorded event (any flag or PI) on the selected detectors inside the GTI:
    what causes dead time."""
    det = select_detectors(instrument, detectors, blind)
    m = gti_mask(events["TIME"], gti) & _on_detectors(events["DET_ID"], det)
    return events["TIME"][m]
