"""Insight-HXMT mission constants: time system, instruments, bands, file naming.

Mission time (the ``Time``/``TIME`` columns of every file) is in seconds since
2012-01-01T00:00:00 UTC expressed in TT, as in the real Level-1 files:
``MJDREFI = 55927``, ``MJDREFF = 7.6601852e-4`` (the 66.184 s TT-UTC of that
date), ``TIMESYS = 'TT'``, ``TIMEUNIT = 's'``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MJDREFI = 55927
MJDREFF = 7.6601852e-4
MJDREF = MJDREFI + MJDREFF
TIMESYS = "TT"

INSTRUMENTS = ("HE", "ME", "LE")


@dataclass(frozen=True)
class InstrumentSpec:
    """Fixed properties of one telescope.

    Attributes
    ----------
    name
        ``"HE"``, ``"ME"`` or ``"LE"``.
    e0, slope
        PI-energy relation ``E [keV] = e0 + slope * PI``.
    n_pi
        Number of PI channels (PI runs 0..n_pi-1).
    n_channel
        Number of raw ADC channels in the Level-1 ``Channel`` column.
    band
        Default PI range for screening and fitting, inclusive.
    n_det
        Number of detector IDs (``Det_ID`` runs 0..n_det-1).
    """

    name: str
    e0: float
    slope: float
    n_pi: int
    n_channel: int
    band: tuple[int, int]
    n_det: int
    pulse_width: tuple[int, int] | None = None

    def energy(self, pi: np.ndarray | float) -> np.ndarray | float:
        """Energy (keV) at the lower edge of PI channel ``pi``."""
        return self.e0 + self.slope * np.asarray(pi, dtype=float)

    def pi_of_energy(self, energy: np.ndarray | float) -> np.ndarray | float:
        """Continuous PI value of an energy (keV)."""
        return (np.asarray(energy, dtype=float) - self.e0) / self.slope

    @property
    def energy_band(self) -> tuple[float, float]:
        """Default band in keV (edges of the default PI range)."""
        lo, hi = self.band
        return float(self.energy(lo)), float(self.energy(hi + 1))


SPECS = {
    # HE: E = 15 + 370 PI/256 keV; NaI/CsI phoswich, 18 detectors, #16 blind
    "HE": InstrumentSpec("HE", 15.0, 370.0 / 256, 256, 256, (9, 162), 18, pulse_width=(54, 70)),
    # ME: E = 3 + 60 PI/1024 keV; Si-PIN, 1728 pixels
    "ME": InstrumentSpec("ME", 3.0, 60.0 / 1024, 1024, 1024, (120, 460), 1728),
    # LE: E = 0.1 + 13 PI/1536 keV; SCD, 96 CCDs
    "LE": InstrumentSpec("LE", 0.1, 13.0 / 1536, 1536, 4096, (106, 1170), 96),
}

#: default GTI expressions (HXMTDAS hegtigen/megtigen/legtigen)
DEFAULT_GTI_EXPR = {
    "HE": "ELV>10&&COR>8&&SAA_FLAG==0&&T_SAA>300&&TN_SAA>300&&ANG_DIST<=0.04",
    "ME": "ELV>10&&COR>8&&SAA_FLAG==0&&T_SAA>300&&TN_SAA>300&&ANG_DIST<=0.04",
    "LE": "ELV>10&&DYE_ELV>30&&COR>8&&SAA_FLAG==0&&T_SAA>300&&TN_SAA>300&&ANG_DIST<=0.04",
}


def spec(instrument: str) -> InstrumentSpec:
    """The :class:`InstrumentSpec` of ``"HE"``, ``"ME"`` or ``"LE"`` (case-insensitive)."""
    key = str(instrument).upper()
    if key not in SPECS:
        raise ValueError(f"unknown instrument {instrument!r}: expected HE, ME or LE")
    return SPECS[key]


def l1_name(exp_id: str, kind: str, version: int = 1) -> str:
    """Level-1 file name, e.g. ``HXMT_P010129900101_HE-Evt_FFFFFF_V1_L1P.FITS``."""
    return f"HXMT_{exp_id}_{kind}_FFFFFF_V{version}_L1P.FITS"


#: folder of each Level-1 file kind
L1_FOLDER = {
    "HE-Evt": "HE",
    "HE-DTime": "HE",
    "HE-HV": "HE",
    "ME-Evt": "ME",
    "ME-TH": "ME",
    "LE-Evt": "LE",
    "LE-TH": "LE",
    "Att": "ACS",
    "Orbit": "ACS",
    "EHK": "AUX",
}


def mission_time_to_mjd(t: np.ndarray | float) -> np.ndarray | float:
    """Mission seconds (TT) to MJD (TT)."""
    return MJDREFI + MJDREFF + np.asarray(t, dtype=float) / 86400.0


def mjd_to_mission_time(mjd: np.ndarray | float) -> np.ndarray | float:
    """MJD (TT) to mission seconds (TT)."""
    return (np.asarray(mjd, dtype=float) - MJDREFI - MJDREFF) * 86400.0


def time_keywords() -> dict[str, object]:
    """The time keywords written in every HDU header."""
    return {
        "TIMESYS": TIMESYS,
        "MJDREFI": MJDREFI,
        "MJDREFF": MJDREFF,
        "TIMEUNIT": "s",
        "TIMEREF": "LOCAL",
        "TASSIGN": "SATELLITE",
        "TIMEZERO": 0.0,
    }
