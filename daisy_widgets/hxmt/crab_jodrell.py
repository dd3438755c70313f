"""Entries of the Jodrell Bank Crab pulsar monthly ephemeris, for the simulator's default Crab.

Source: the Jodrell Bank Crab Pulsar Monthly Ephemeris (Lyne, Pritchard & Graham-Smith 1993,
MNRAS 265, 1003; http://www.jb.man.ac.uk/pulsar/crab.html), its ``all.gro`` table (the format made
for CGRO: ``PSR_B RA DEC MJD1 MJD2 t0geo f0 f1 f2 RMS O B``), as distributed with the HXMT/NICER
timing package tat-pulsar (github.com/tuoyl/tat-pulsar, ``tatpulsar/pulse/Crab/Crab.gro``). The
rows below are that file's rows for MJD 58065-58318 (2017-11-08 to 2018-07-01), digits unchanged.

Columns: ``MJD1``, ``MJD2`` (the range of validity, MJD UTC), ``t0geo`` (the geocentric arrival time
of a main radio pulse, MJD UTC; its integer day is the reference epoch of the frequencies, as in
tat-pulsar), ``f0`` (Hz), ``f1`` (Hz/s), ``f2`` (Hz/s^2); barycentric (TDB) frequencies, DE200.
The 2017-11-08 glitch (MJD 58064) is why the first row covers 6 days only and has a large ``f2``.
"""

from __future__ import annotations

#: (MJD1, MJD2, t0geo, f0, f1, f2)
JODRELL_CRAB_GRO: tuple[tuple[int, int, str, str, str, str], ...] = (
    (58065, 58071, "58068.000000228", "29.6366215666433", "-3.69981D-10", "-8.10D-18"),
    (58071, 58089, "58080.000000333", "29.6362370758467", "-3.70847D-10", "2.94D-19"),
    (58088, 58120, "58104.000000331", "29.6354688451327", "-3.70141D-10", "2.81D-19"),
    (58119, 58150, "58134.000000229", "29.6345101986328", "-3.69604D-10", "1.76D-19"),
    (58150, 58178, "58164.000000327", "29.6335526353020", "-3.69318D-10", "9.27D-20"),
    (58178, 58209, "58194.000000208", "29.6325956451232", "-3.69147D-10", "3.44D-20"),
    (58209, 58238, "58224.000000223", "29.6316390101744", "-3.69007D-10", "3.16D-20"),
    (58239, 58270, "58255.000000322", "29.6306508393765", "-3.68916D-10", "4.60D-20"),
    (58270, 58300, "58285.000000004", "29.6296947140166", "-3.68847D-10", "2.63D-20"),
    (58300, 58318, "58309.000000366", "29.6289299031711", "-3.68799D-10", "7.36D-20"),
)

CITATION = (
    "Jodrell Bank Crab pulsar monthly ephemeris (Lyne, Pritchard & Graham-Smith 1993, MNRAS 265, 1003), "
    "all.gro row MJD {mjd1}-{mjd2}"
)


def _float(text: str) -> float:
    return float(text.replace("D", "E"))


def jodrell_row(mjd: float) -> tuple[int, int, float, tuple[float, float, float]] | None:
    """The row valid at ``mjd`` (UTC): ``(MJD1, MJD2, PEPOCH, (F0, F1, F2))`` or None outside the table.

    Where two rows overlap on their boundary day, the later row is taken.
    """
    found = None
    for mjd1, mjd2, t0geo, f0, f1, f2 in JODRELL_CRAB_GRO:
        if mjd1 <= mjd <= mjd2:
            found = (mjd1, mjd2, float(int(float(t0geo))), (_float(f0), _float(f1), _float(f2)))
    return found


__all__ = ["CITATION", "JODRELL_CRAB_GRO", "jodrell_row"]
