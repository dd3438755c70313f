"""HXMT archive queries: checking them, turning them into Tiled catalog queries, exact cone filter.

Every rule is given at once and must all match: target name (case-insensitive
substring), ObsID or ExpID prefix, cone (RA, Dec, radius in degrees, exact
great-circle distance), and time range (observations overlapping it; ISO UTC
dates or mission seconds). The service answers from the catalog's observation index
(:mod:`.obs_index`: ObsID range, declination zones and an exact dot-product test for
cones, time ranges on B-trees); the separation is then computed here (Vincenty).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ..core.errors import ValidationError

#: Insight-HXMT mission time: TT seconds since MJD 55927.00076601852 (TT), i.e. 2012-01-01T00:00:00 UTC
MJDREFI, MJDREFF = 55927, 7.6601852e-4


def to_mission_time(value: str | float) -> float:
    """Mission seconds from mission seconds (number or numeric text) or an ISO date/time in UTC.

    Raises
    ------
    ValueError
        Naming what was expected.
    """
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    s = str(value).strip()
    try:
        return float(s)
    except ValueError:
        pass
    from astropy.time import Time

    try:
        mjd_tt = Time(s, scale="utc").tt.mjd
    except ValueError:
        raise ValueError(
            f"expected an ISO date like 2018-03-01 or 2018-03-01T00:10:00 (UTC), or mission seconds; "
            f"got {s!r}"
        ) from None
    return float((mjd_tt - MJDREFI - MJDREFF) * 86400.0)


def angular_distance(ra1: float, dec1: float, ra2: float, dec2: float) -> float:
    """Great-circle distance (deg) between two sky positions (deg), Vincenty formula (exact at all separations)."""
    r1, d1, r2, d2 = map(math.radians, (ra1, dec1, ra2, dec2))
    dr = r2 - r1
    num = math.hypot(
        math.cos(d2) * math.sin(dr), math.cos(d1) * math.sin(d2) - math.sin(d1) * math.cos(d2) * math.cos(dr)
    )
    den = math.sin(d1) * math.sin(d2) + math.cos(d1) * math.cos(d2) * math.cos(dr)
    return math.degrees(math.atan2(num, den))


@dataclass
class ObservationQuery:
    """One archive query (``None`` fields are not used)."""

    target: str | None = None
    obs_id: str | None = None
    cone: tuple[float, float, float] | None = None
    start: str | float | None = None
    stop: str | float | None = None

    def checked(self) -> tuple[float | None, float | None]:
        """Check every field at once; returns ``(tstart, tstop)`` in mission seconds.

        Raises
        ------
        ValidationError
            ``{field: [problems]}`` for every bad field.
        """
        problems: dict[str, list[str]] = {}
        if self.target is not None and not str(self.target).strip():
            problems["target"] = ["an empty target name matches nothing; leave it out instead"]
        if self.obs_id is not None and not str(self.obs_id).strip().isalnum():
            problems["obs_id"] = [
                f"expected an ObsID like P0101299001 (letters and digits); got {self.obs_id!r}"
            ]
        if self.cone is not None:
            try:
                ra, dec, r = (float(v) for v in self.cone)
                if not all(math.isfinite(v) for v in (ra, dec, r)):
                    raise ValueError
            except (TypeError, ValueError):
                problems["cone"] = [f"expected three numbers RA, Dec, radius (deg); got {self.cone!r}"]
            else:
                if not 0 <= ra <= 360:
                    problems.setdefault("cone", []).append(f"RA must be within 0..360 deg; got {ra}")
                if not -90 <= dec <= 90:
                    problems.setdefault("cone", []).append(f"Dec must be within -90..90 deg; got {dec}")
                if not 0 < r <= 180:
                    problems.setdefault("cone", []).append(f"radius must be within 0..180 deg; got {r}")
        times: dict[str, float] = {}
        for name in ("start", "stop"):
            v = getattr(self, name)
            if v is None or v == "":
                continue
            try:
                times[name] = to_mission_time(v)
            except ValueError as exc:
                problems[name] = [str(exc)]
        if "start" in times and "stop" in times and times["stop"] <= times["start"]:
            problems["stop"] = [f"must be after start ({self.start})"]
        if problems:
            raise ValidationError("archive search", problems)
        return times.get("start"), times.get("stop")

    def tiled_query(self) -> Any:
        """The Tiled query (``daisy_observations``, answered from the catalog's observation index,
        exact cone included); :meth:`accepts` then computes the separation."""
        from .obs_index import make_query

        t0, t1 = self.checked()
        target = str(self.target).strip() if self.target is not None else None
        obs = str(self.obs_id).strip() if self.obs_id is not None else None
        cone = tuple(float(v) for v in self.cone) if self.cone is not None else None
        return make_query(target, obs, cone, t0, t1)

    def accepts(self, meta: dict) -> tuple[bool, float | None]:
        """Whether a candidate's metadata passes the exact rules; the cone distance (deg) if any."""
        if (
            self.target is not None
            and str(self.target).strip().lower() not in str(meta.get("target", "")).lower()
        ):
            return False, None
        if self.obs_id is not None and not str(meta.get("exp_id", "")).upper().startswith(
            str(self.obs_id).strip().upper()
        ):
            return False, None
        if self.cone is None:
            return True, None
        if meta.get("ra") is None or meta.get("dec") is None:
            return False, None
        ra, dec, r = (float(v) for v in self.cone)
        d = angular_distance(ra, dec, float(meta["ra"]), float(meta["dec"]))
        return d <= r, d
