"""Orbit and housekeeping geometry of a 550 km, 43 degree circular orbit (period about 95.5 min).

Gives the satellite position, the Earth elevation of the source (``ELV``) and
above the bright Earth (``DYE_ELV``), the geomagnetic cut-off rigidity
(``COR``, dipole model), the South Atlantic Anomaly flag and the times since the
last and to the next SAA passage (``T_SAA``, ``TN_SAA``): the columns of the
mission's EHK file. All times are mission seconds (see :mod:`.mission`).
"""

from __future__ import annotations

import numpy as np

from .mission import mission_time_to_mjd

R_EARTH = 6378.137  # km
MU = 398600.4418  # km^3/s^2
ALTITUDE = 550.0  # km
INCLINATION = 43.0  # deg
SEMI_MAJOR = R_EARTH + ALTITUDE
PERIOD = 2 * np.pi * np.sqrt(SEMI_MAJOR**3 / MU)  # s, about 5738 s
#: geomagnetic dipole north pole (deg)
POLE_LAT, POLE_LON = 80.65, -72.68
#: SAA as an ellipse in (lon, lat), deg: centre and semi-axes
SAA_CENTER = (-45.0, -27.0)
SAA_AXES = (45.0, 17.0)


def unit_vector(ra_deg: float, dec_deg: float) -> np.ndarray:
    """Unit vector of a sky direction (RA, Dec in degrees), shape (3,)."""
    ra, dec = np.radians(ra_deg), np.radians(dec_deg)
    return np.array([np.cos(dec) * np.cos(ra), np.cos(dec) * np.sin(ra), np.sin(dec)])


def gmst_deg(t: np.ndarray) -> np.ndarray:
    """Greenwich mean sidereal angle (deg) at mission time ``t`` (s)."""
    jd = mission_time_to_mjd(t) + 2400000.5
    return np.mod(280.46061837 + 360.98564736629 * (jd - 2451545.0), 360.0)


def position(t: np.ndarray, raan: float = 40.0, u0: float = 0.0) -> np.ndarray:
    """Inertial (J2000) satellite position, km, shape (len(t), 3)."""
    t = np.asarray(t, dtype=float)
    n = 2 * np.pi / PERIOD
    u = np.radians(u0) + n * (t - 0.0)
    om, inc = np.radians(raan), np.radians(INCLINATION)
    x = SEMI_MAJOR * (np.cos(om) * np.cos(u) - np.sin(om) * np.sin(u) * np.cos(inc))
    y = SEMI_MAJOR * (np.sin(om) * np.cos(u) + np.cos(om) * np.sin(u) * np.cos(inc))
    z = SEMI_MAJOR * np.sin(u) * np.sin(inc)
    return np.stack([x, y, z], axis=-1)


def geodetic(t: np.ndarray, pos: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Longitude (-180..180 deg), latitude (deg) and altitude (km) of inertial positions (spherical Earth)."""
    r = np.linalg.norm(pos, axis=-1)
    lat = np.degrees(np.arcsin(pos[:, 2] / r))
    lon = np.degrees(np.arctan2(pos[:, 1], pos[:, 0])) - gmst_deg(t)
    lon = (lon + 180.0) % 360.0 - 180.0
    return lon, lat, r - R_EARTH


def in_saa(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """True inside the SAA region."""
    return ((lon - SAA_CENTER[0]) / SAA_AXES[0]) ** 2 + ((lat - SAA_CENTER[1]) / SAA_AXES[1]) ** 2 <= 1.0


def cutoff_rigidity(lon: np.ndarray, lat: np.ndarray, alt: np.ndarray) -> np.ndarray:
    """Vertical geomagnetic cut-off rigidity (GV), centred dipole (Stoermer)."""
    la, lo = np.radians(lat), np.radians(lon)
    pla, plo = np.radians(POLE_LAT), np.radians(POLE_LON)
    sin_m = np.sin(la) * np.sin(pla) + np.cos(la) * np.cos(pla) * np.cos(lo - plo)
    cos_m2 = 1 - sin_m**2
    return 14.5 * cos_m2**2 / ((R_EARTH + alt) / R_EARTH) ** 2


def elevation(pos: np.ndarray, src: np.ndarray) -> np.ndarray:
    """Elevation of the source above the Earth limb (deg); negative when occulted."""
    r = np.linalg.norm(pos, axis=-1)
    cos_t = -(pos @ src) / r
    theta = np.degrees(np.arccos(np.clip(cos_t, -1, 1)))
    rho = np.degrees(np.arcsin(R_EARTH / r))
    return theta - rho


def bright_elevation(pos: np.ndarray, src: np.ndarray, sun: np.ndarray, elv: np.ndarray) -> np.ndarray:
    """Elevation above the sunlit Earth (deg): ``ELV`` when the limb point below the source is sunlit,
    else the elevation above the terminator (``ELV`` + 90 deg, capped at 180)."""
    r = np.linalg.norm(pos, axis=-1)[:, None]
    down = -pos / r
    perp = src[None, :] - (down @ src)[:, None] * down
    perp /= np.maximum(np.linalg.norm(perp, axis=-1), 1e-12)[:, None]
    rho = np.arcsin(R_EARTH / r)
    limb_dir = np.cos(rho) * down + np.sin(rho) * perp
    limb = pos + np.sqrt(r**2 - R_EARTH**2) * limb_dir
    sunlit = limb @ sun > 0
    return np.where(sunlit, elv, np.minimum(elv + 90.0, 180.0))


def saa_times(
    t: np.ndarray, flag: np.ndarray, t_pad: np.ndarray, flag_pad: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Seconds since the last SAA exit and until the next SAA entry (0 inside; 1e5 when none is known)."""
    exits = t_pad[1:][flag_pad[:-1] & ~flag_pad[1:]]
    entries = t_pad[1:][~flag_pad[:-1] & flag_pad[1:]]
    i = np.searchsorted(exits, t, side="right") - 1
    since = np.where(i >= 0, t - exits[np.clip(i, 0, None)] if exits.size else 1e5, 1e5)
    j = np.searchsorted(entries, t, side="left")
    until = np.where(
        j < entries.size, (entries[np.clip(j, 0, max(entries.size - 1, 0))] - t) if entries.size else 1e5, 1e5
    )
    since = np.where(flag, 0.0, since)
    until = np.where(flag, 0.0, until)
    return since, until


def sun_moon_vectors(t_mid: float) -> tuple[np.ndarray, np.ndarray]:
    """Unit vectors (GCRS) to the Sun and the Moon at mission time ``t_mid`` (astropy built-in ephemeris)."""
    from astropy.coordinates import get_body
    from astropy.time import Time

    tm = Time(mission_time_to_mjd(t_mid), format="mjd", scale="tt")
    out = []
    for body in ("sun", "moon"):
        c = get_body(body, tm).cartesian.xyz.value
        out.append(c / np.linalg.norm(c))
    return out[0], out[1]


def ehk_table(
    t: np.ndarray,
    ra: float,
    dec: float,
    pointing_offset: np.ndarray | None = None,
    raan: float = 40.0,
    u0: float = 0.0,
) -> dict[str, np.ndarray]:
    """The EHK columns at times ``t`` (s), plus the orbit columns.

    Returns
    -------
    dict
        ``TIME, ELV, DYE_ELV, COR, SAA_FLAG, T_SAA, TN_SAA, ANG_DIST, SUN_ANG, MOON_ANG``
        and ``LON, LAT, ALT, X, Y, Z`` (deg, deg, km, km), each shape (len(t),).
    """
    t = np.asarray(t, dtype=float)
    src = unit_vector(ra, dec)
    pos = position(t, raan, u0)
    lon, lat, alt = geodetic(t, pos)
    saa = in_saa(lon, lat)
    # SAA passages around the observation (a day either side, 10 s steps)
    t_pad = np.arange(t[0] - 86400.0, t[-1] + 86400.0, 10.0)
    lo_p, la_p, _ = geodetic(t_pad, position(t_pad, raan, u0))
    since, until = saa_times(t, saa, t_pad, in_saa(lo_p, la_p))
    sun, moon = sun_moon_vectors(float(t[len(t) // 2]))
    elv = elevation(pos, src)
    ang = np.zeros_like(t) if pointing_offset is None else pointing_offset
    return {
        "TIME": t,
        "ELV": elv,
        "DYE_ELV": bright_elevation(pos, src, sun, elv),
        "COR": cutoff_rigidity(lon, lat, alt),
        "SAA_FLAG": saa.astype(np.int16),
        "T_SAA": since,
        "TN_SAA": until,
        "ANG_DIST": ang,
        "SUN_ANG": np.full_like(t, np.degrees(np.arccos(np.clip(src @ sun, -1, 1)))),
        "MOON_ANG": np.full_like(t, np.degrees(np.arccos(np.clip(src @ moon, -1, 1)))),
        "LON": lon,
        "LAT": lat,
        "ALT": alt,
        "X": pos[:, 0],
        "Y": pos[:, 1],
        "Z": pos[:, 2],
    }
