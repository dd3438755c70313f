"""Pulsar ephemerides: TEMPO/TEMPO2 ``.par`` files and the rotational phase they give.

A ``.par`` file holds one parameter a line: ``NAME VALUE [FIT_FLAG] [UNCERTAINTY]``; comments
start with ``#`` (or ``C`` and a blank, TEMPO). Numbers may carry Fortran ``D`` exponents
(``-3.6D-10``). Used here: ``F0`` (Hz), ``F1`` (Hz/s), ``F2`` ... ``F12``, or ``P0`` (s) and
``P1`` instead of ``F0``/``F1``; ``PEPOCH`` (MJD of the frequencies); ``UNITS`` (TEMPO2: ``TDB``
or ``TCB``, TEMPO2's default; TEMPO files are TDB); ``PSRJ``/``PSRB``/``PSR``; ``START``/``FINISH``
(MJD range of validity, for a warning only); ``TZRMJD`` with ``TZRSITE @`` (a barycentric phase-zero
time; otherwise phase 0 is at ``PEPOCH``).

The phase of a barycentric (TDB) time ``t`` is ``sum_k F_k dt^(k+1) / (k+1)!`` with ``dt = t - PEPOCH``
in seconds, as in TEMPO and in stingray's ``pulse_phase``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..core.errors import DaisyError
from .mission import MJDREFF, MJDREFI

#: IAU 2006 Resolution B3: TCB and TDB rates differ by L_B
L_B = 1.550519768e-8


class EphemerisError(DaisyError, ValueError):
    """A ``.par`` file that cannot be used, with the file and the field named."""


def _mjd_to_seconds(text: str) -> float:
    """Mission seconds (same time scale) of an MJD written as text, keeping its digits:
    the integer and the fractional day are converted apart."""
    text = text.strip().replace("D", "E").replace("d", "e")
    if "e" in text.lower():
        value = float(text)
        whole = math.floor(value)
        frac = value - whole
    else:
        whole_s, _, frac_s = text.partition(".")
        whole = int(whole_s)
        frac = float("0." + frac_s) if frac_s else 0.0
    return (whole - MJDREFI) * 86400.0 + (frac - MJDREFF) * 86400.0


@dataclass(frozen=True)
class Ephemeris:
    """Spin frequency and derivatives at a reference epoch (all TDB).

    Attributes
    ----------
    frequencies
        ``(F0, F1, F2, ...)``: Hz, Hz/s, Hz/s^2, ...
    epoch
        Reference epoch of the frequencies: TDB mission seconds (``PEPOCH``).
    phase_epoch
        Time of phase 0 (TDB mission seconds): ``TZRMJD`` when barycentric, else ``epoch``.
    name, source
        Pulsar name and where the values come from (file or reference).
    valid
        ``(START, FINISH)`` in mission seconds, or None.
    """

    frequencies: tuple[float, ...]
    epoch: float
    phase_epoch: float | None = None
    name: str = ""
    source: str = ""
    valid: tuple[float, float] | None = field(default=None)

    def __post_init__(self) -> None:
        if not self.frequencies or not np.isfinite(self.frequencies[0]) or self.frequencies[0] <= 0:
            raise EphemerisError(f"{self.source or 'ephemeris'}: F0 must be a positive frequency (Hz)")

    @property
    def f0(self) -> float:
        return float(self.frequencies[0])

    @property
    def derivatives(self) -> tuple[float, ...]:
        """``(F1, F2, ...)`` (Hz/s, Hz/s^2, ...)."""
        return tuple(float(f) for f in self.frequencies[1:])

    def _cycles(self, t: np.ndarray, t0: float) -> np.ndarray:
        dt = np.asarray(t, dtype=float) - t0
        out = np.zeros_like(dt)
        power = dt.copy()
        for k, fk in enumerate(self.frequencies):
            out += fk * power / math.factorial(k + 1)
            power = power * dt
        return out

    def phase(self, t: np.ndarray) -> np.ndarray:
        """Rotational phase in cycles (not reduced modulo 1) of TDB mission times ``t`` (s), any shape."""
        cyc = self._cycles(t, self.epoch)
        if self.phase_epoch is not None and self.phase_epoch != self.epoch:
            cyc = cyc - self._cycles(np.asarray([self.phase_epoch]), self.epoch)[0]
        return cyc

    def frequency(self, t: np.ndarray | float) -> np.ndarray:
        """Spin frequency (Hz) at TDB mission times ``t`` (s)."""
        dt = np.asarray(t, dtype=float) - self.epoch
        out = np.zeros_like(dt)
        power = np.ones_like(dt)
        for k, fk in enumerate(self.frequencies):
            out += fk * power / math.factorial(k)
            power = power * dt
        return out

    def at(self, t: float) -> Ephemeris:
        """The same rotation with its reference epoch moved to ``t`` (TDB mission s)."""
        dt = float(t) - self.epoch
        n = len(self.frequencies)
        fr = tuple(
            sum(self.frequencies[j] * dt ** (j - k) / math.factorial(j - k) for j in range(k, n))
            for k in range(n)
        )
        return Ephemeris(
            fr,
            float(t),
            self.phase_epoch if self.phase_epoch is not None else self.epoch,
            self.name,
            self.source,
            self.valid,
        )


def _number(text: str, key: str, path: str, lineno: int) -> float:
    try:
        return float(text.replace("D", "E").replace("d", "e"))
    except ValueError:
        raise EphemerisError(
            f"{path}, line {lineno}: {key} = {text!r} is not a number (expected e.g. 29.6 or -3.6D-10)"
        ) from None


def parse_par(text: str, path: str = "<par>") -> Ephemeris:
    """An :class:`Ephemeris` from the text of a TEMPO/TEMPO2 ``.par`` file (``path`` names it in errors)."""
    values: dict[str, tuple[str, int]] = {}
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#") or re.match(r"^C\s", line):
            continue
        parts = line.split()
        if len(parts) < 2:
            continue
        values.setdefault(parts[0].upper(), (parts[1], lineno))
    freqs: list[float] = []
    if "F0" in values:
        freqs.append(_number(values["F0"][0], "F0", path, values["F0"][1]))
        for k in range(1, 13):
            key = f"F{k}"
            if key not in values:
                break
            freqs.append(_number(values[key][0], key, path, values[key][1]))
    elif "P0" in values:
        p0 = _number(values["P0"][0], "P0", path, values["P0"][1])
        if p0 <= 0:
            raise EphemerisError(f"{path}, line {values['P0'][1]}: P0 must be > 0 s; got {p0}")
        freqs.append(1.0 / p0)
        if "P1" in values:
            freqs.append(-_number(values["P1"][0], "P1", path, values["P1"][1]) / p0**2)
    else:
        raise EphemerisError(f"{path}: no F0 (spin frequency, Hz) or P0 (period, s) line")
    if "PEPOCH" not in values:
        raise EphemerisError(f"{path}: no PEPOCH line (MJD of the frequencies)")
    pepoch_text, lineno = values["PEPOCH"]
    _number(pepoch_text, "PEPOCH", path, lineno)
    epoch = _mjd_to_seconds(pepoch_text)
    units = values.get("UNITS", ("TDB", 0))[0].upper()
    tempo2 = any(k in values for k in ("UNITS", "TIMEEPH", "T2CMETHOD"))
    if units not in ("TDB", "TCB"):
        raise EphemerisError(f"{path}, line {values['UNITS'][1]}: UNITS {units!r}: expected TDB or TCB")
    if units == "TCB" and tempo2:
        from astropy.time import Time

        pep = Time(float(pepoch_text.replace("D", "E")), format="mjd", scale="tcb").tdb
        epoch = _mjd_to_seconds(repr(float(pep.jd1 - 2400000.5) + float(pep.jd2)))
        freqs = [f * (1.0 + L_B) ** (k + 1) for k, f in enumerate(freqs)]
    phase_epoch = None
    if "TZRMJD" in values and values.get("TZRSITE", ("", 0))[0] in ("@", "bat", "BAT", "ssb", "SSB"):
        phase_epoch = _mjd_to_seconds(values["TZRMJD"][0])
    valid = None
    if "START" in values and "FINISH" in values:
        valid = (_mjd_to_seconds(values["START"][0]), _mjd_to_seconds(values["FINISH"][0]))
    name = next((values[k][0] for k in ("PSRJ", "PSRB", "PSR") if k in values), "")
    return Ephemeris(tuple(freqs), epoch, phase_epoch, name, path, valid)


def read_par(path: str | Path) -> Ephemeris:
    """Read a TEMPO/TEMPO2 ``.par`` file; :class:`EphemerisError` names the file and the field."""
    p = Path(path)
    try:
        text = p.read_text(errors="replace")
    except OSError as exc:
        raise EphemerisError(f"{p}: cannot read the ephemeris ({exc.strerror or exc})") from None
    return parse_par(text, str(p))


def format_par(eph: Ephemeris) -> str:
    """The ephemeris as ``.par`` text (TDB units), readable by :func:`read_par` and TEMPO2."""
    from .mission import mission_time_to_mjd

    lines = [f"PSRJ           {eph.name or 'UNKNOWN'}"]
    for k, f in enumerate(eph.frequencies):
        lines.append(f"F{k:<13d} {f!r}")
    lines.append(f"PEPOCH         {float(mission_time_to_mjd(eph.epoch))!r}")
    lines.append("UNITS          TDB")
    return "\n".join(lines) + "\n"


# -- the Crab ---------------------------------------------------------------------------------
def crab_braking_law(mjd: float) -> tuple[float, float, float]:
    """Crab spin (F0, F1, F2) at ``mjd`` (TDB) from the Jodrell Bank long-term timing solution.

    Lyne, Pritchard & Graham-Smith (1993), "23 years of Crab pulsar rotational history", MNRAS 265,
    1003 (the paper behind the Jodrell Bank monthly Crab ephemeris, http://www.jb.man.ac.uk/pulsar/crab.html):
    nu = 30.2254370 Hz and nu-dot = -3.862461e-10 Hz/s at MJD 40000, braking index n = 2.51, so
    ``nu-dot = k nu^n`` and ``nu-ddot = n nu-dot^2 / nu``. Glitches since (a few 1e-5 Hz in all)
    are not in it: for real data use that month's ephemeris as a ``.par`` file.
    """
    n, nu0, nudot0 = 2.51, 30.2254370, -3.862461e-10
    k = nudot0 / nu0**n
    t = (mjd - 40000.0) * 86400.0
    nu = (nu0 ** (1 - n) + (1 - n) * k * t) ** (1 / (1 - n))
    nudot = k * nu**n
    return nu, nudot, n * nudot**2 / nu


#: epoch of the simulator's default Crab ephemeris: 2018-03-01 (MJD 58178), its default start
CRAB_PEPOCH_MJD = 58178.0


def crab_ephemeris(mjd: float = CRAB_PEPOCH_MJD) -> Ephemeris:
    """The Crab pulsar's rotation at ``mjd``: the published Jodrell Bank monthly entry valid then.

    The entry (F0, F1, F2 at its reference epoch, phase 0 at that epoch) comes from
    :mod:`.crab_jodrell` (the Jodrell Bank Crab pulsar monthly ephemeris, rows for 2017-11-08 to
    2018-07-01). Outside those dates the long-term braking law of :func:`crab_braking_law`
    (Lyne, Pritchard & Graham-Smith 1993) at ``mjd`` is used instead (glitches not included).
    """
    from .crab_jodrell import CITATION, jodrell_row
    from .mission import mjd_to_mission_time

    row = jodrell_row(mjd)
    if row is None:
        return Ephemeris(
            crab_braking_law(mjd),
            float(mjd_to_mission_time(mjd)),
            name="J0534+2200",
            source="Lyne, Pritchard & Graham-Smith 1993 (Jodrell Bank) braking law, MNRAS 265, 1003",
        )
    mjd1, mjd2, pepoch, freqs = row
    return Ephemeris(
        freqs,
        float(mjd_to_mission_time(pepoch)),
        name="J0534+2200",
        source=CITATION.format(mjd1=mjd1, mjd2=mjd2),
        valid=(float(mjd_to_mission_time(mjd1)), float(mjd_to_mission_time(mjd2 + 1.0))),
    )
