"""HXMT timing steps: barycentring (``hxmt.barycorr``), folding (``hxmt.fold``), the Z^2_n search
(``hxmt.z2search``) and the averaged power spectrum (``hxmt.powspec``), with the objects they
put in the data store (:class:`PulseProfile`, :class:`TimingResult`).
"""

from __future__ import annotations

import numpy as np

from ..core.algorithm import Algorithm
from ..core.params import FilePath, Float, Int, Port
from . import products, timing
from . import screen as scr


class BaryCorr(Algorithm):
    """Barycentric correction of event times (hxbary): TT spacecraft -> TDB solar-system barycentre."""

    name = "hxmt.barycorr"
    category = "hxmt/timing"
    inputs = (
        Port("events", "table", help="screened events"),
        Port("orbit", "table", help="orbit table with X, Y, Z or LON, LAT, ALT"),
        Port("meta", "object", optional=True, help="observation keywords (RA_OBJ, DEC_OBJ)"),
    )
    outputs = (Port("events", "table", help="events with barycentric TDB times"),)
    params = (
        Float("ra", None, optional=True, min=0, max=360, unit="deg", help="source RA (default: RA_OBJ)"),
        Float("dec", None, optional=True, min=-90, max=90, unit="deg", help="source Dec (default: DEC_OBJ)"),
    )

    def compute(self, events, orbit, meta=None):
        ra = self.values["ra"] if self.values["ra"] is not None else (meta or {}).get("RA_OBJ")
        dec = self.values["dec"] if self.values["dec"] is not None else (meta or {}).get("DEC_OBJ")
        if ra is None or dec is None:
            raise ValueError(
                "source position unknown: give ra and dec (no RA_OBJ/DEC_OBJ in the observation)"
            )
        xyz = orbit_xyz(orbit)
        out = events.copy()
        out["TIME"] = events["TIME"] + timing.barycentric_delay(
            events["TIME"], float(ra), float(dec), orbit["TIME"], xyz
        )
        return {"events": out}


def orbit_xyz(orbit: np.ndarray) -> np.ndarray:
    """J2000 positions (km), from X/Y/Z columns or from LON/LAT/ALT via astropy."""
    if all(c in orbit.dtype.names for c in ("X", "Y", "Z")):
        return np.stack([orbit["X"], orbit["Y"], orbit["Z"]], axis=-1)
    import astropy.units as u
    from astropy.coordinates import GCRS, ITRS, EarthLocation
    from astropy.time import Time

    from .mission import mission_time_to_mjd

    loc = EarthLocation.from_geodetic(orbit["LON"] * u.deg, orbit["LAT"] * u.deg, orbit["ALT"] * u.km)
    t = Time(mission_time_to_mjd(orbit["TIME"]), format="mjd", scale="tt")
    g = ITRS(loc.get_itrs(t).cartesian, obstime=t).transform_to(GCRS(obstime=t))
    return g.cartesian.xyz.to_value(u.km).T


class Fold(Algorithm):
    """Epoch folding: pulse profile of the (barycentred) events at a given frequency."""

    name = "hxmt.fold"
    category = "hxmt/timing"
    inputs = (
        Port("events", "table", help="events (barycentred)"),
        Port("z2", "object", optional=True, help="Z^2 search result: fold at its best frequency instead"),
    )
    outputs = (Port("profile", "object", help="PulseProfile: phase, counts, frequency, epoch"),)
    params = (
        Float("frequency", 29.6, min=1e-6, unit="Hz", help="spin frequency (unless a Z^2 result is given)"),
        Float("fdot", 0.0, unit="Hz/s", help="frequency derivative"),
        Int("nbin", 32, min=2, max=4096, help="phase bins"),
        Float(
            "epoch", None, optional=True, unit="s", help="phase 0 (TDB mission seconds; default: first event)"
        ),
        FilePath(
            "ephemeris",
            None,
            optional=True,
            help="TEMPO/TEMPO2 .par file (F0, F1, F2..., PEPOCH): fold with it instead of frequency/fdot",
        ),
    )

    def compute(self, events, z2=None):
        v = self.values
        t = events["TIME"]
        if v["ephemeris"]:
            from .ephemeris import read_par

            eph = read_par(v["ephemeris"])
            ph, c = timing.fold_with_ephemeris(t, eph, v["nbin"])
            prof = PulseProfile(ph, c, eph.f0, eph.epoch, None, eph.derivatives, str(v["ephemeris"]))
            return {"profile": prof}
        f = float(z2["best_frequency"]) if z2 is not None else v["frequency"]
        epoch = v["epoch"] if v["epoch"] is not None else float(t[0])
        ph, c = timing.fold_events(t, f, v["nbin"], epoch, v["fdot"])
        derivs = (v["fdot"],) if v["fdot"] else ()
        z = None if z2 is None else float(z2["best_z2"])
        return {"profile": PulseProfile(ph, c, f, epoch, z, derivs)}


class PulseProfile:
    """Folded profile: phase bin centres (nbin,), counts (nbin,), the frequency (Hz) and its
    derivatives (Hz/s, Hz/s^2, ...) at ``epoch`` (TDB mission s), and the ephemeris file if one was used."""

    def __init__(self, phase, counts, frequency, epoch, z2=None, derivatives=(), ephemeris=None):
        self.phase, self.counts, self.frequency, self.epoch, self.z2 = phase, counts, frequency, epoch, z2
        self.derivatives, self.ephemeris = tuple(derivatives), ephemeris


class Z2Search(Algorithm):
    """Z^2_n periodicity search on event times over a frequency range."""

    name = "hxmt.z2search"
    category = "hxmt/timing"
    inputs = (Port("events", "table", help="events (barycentred)"),)
    outputs = (Port("z2", "object", help="dict: frequency, z2, best_frequency, best_z2"),)
    params = (
        Float("f_min", 29.5, min=1e-6, unit="Hz", help="lowest trial frequency"),
        Float("f_max", 29.7, min=1e-6, unit="Hz", help="highest trial frequency"),
        Int("nharm", 2, min=1, max=20, help="number of harmonics n of Z^2_n"),
        Float("oversample", 5.0, min=1, help="trial spacing is 1/(oversample * T)"),
    )

    @classmethod
    def check_params(cls, values):
        return {"f_max": "must be greater than f_min"} if values["f_max"] <= values["f_min"] else {}

    def compute(self, events):
        v = self.values
        res = timing.z2_search(events["TIME"], v["f_min"], v["f_max"], v["nharm"], v["oversample"])
        return {"z2": TimingResult(res)}


class TimingResult:
    """Named timing results (``result["best_frequency"]``) carried as one data-store object
    (a plain dict would become a group of the store)."""

    def __init__(self, d):
        self.data = dict(d)

    def __getitem__(self, k):
        return self.data[k]

    def keys(self):
        return self.data.keys()

    def __repr__(self):
        scal = {k: v for k, v in self.data.items() if np.isscalar(v)}
        return f"TimingResult({scal})"


class PowSpec(Algorithm):
    """Leahy-normalised power spectrum of the events, averaged over segments inside the GTI."""

    name = "hxmt.powspec"
    category = "hxmt/timing"
    inputs = (
        Port("events", "table", help="screened events"),
        Port("gti", "array", ndim=2, help="GTIs (n, 2), s"),
    )
    outputs = (Port("pds", "object", help="frequency (Hz), power (Leahy)"),)
    params = (
        Float("binsize", 1 / 256, min=1e-5, unit="s", help="time resolution"),
        Float("segment", 16.0, min=0.01, unit="s", help="segment length"),
    )

    def compute(self, events, gti):
        v = self.values
        dt, seg = v["binsize"], v["segment"]
        nseg = int(round(seg / dt))
        t = events["TIME"]
        freqs, powers = None, []
        for a, b in np.asarray(gti).reshape(-1, 2):
            for s0 in np.arange(a, b - seg + 1e-9, seg):
                c = products.fast_lightcurve_counts(t[(t >= s0) & (t < s0 + seg)], s0, dt, nseg)
                freqs, p = timing.power_spectrum(c, dt)
                powers.append(p)
        if not powers:
            raise scr.NoGoodTimeError(f"no GTI as long as one segment ({seg} s)")
        return {
            "pds": TimingResult(
                {"frequency": freqs, "power": np.mean(powers, axis=0), "n_segments": len(powers)}
            )
        }
