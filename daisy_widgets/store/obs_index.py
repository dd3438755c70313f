"""The observation index: a typed table beside Tiled's ``nodes`` that makes archive searches indexable.

Tiled keeps each entry's metadata as JSON (``JSONB`` on PostgreSQL), which no B-tree
can range-scan. Every HXMT exposure registered by Daisy also gets one row in
``daisy_observations`` (same database, same rows on SQLite and PostgreSQL):

=============  ===============================================================
column         what (index)
=============  ===============================================================
node_id        Tiled's ``nodes.id`` of the exposure (primary key; ``ON DELETE CASCADE``)
parent_id      the ``hxmt`` container's node id
exp_id         ExpID, upper case (B-tree, byte order: ObsID/ExpID prefix = range)
obs_id         ObsID
target_lc      lower-cased target name (PostgreSQL: trigram GIN index for ``LIKE '%crab%'``)
ra, dec        deg (J2000)
zone           declination zone ``floor((dec + 90) / ZONE_HEIGHT)`` (B-tree on ``(zone, ra)``)
x, y, z        unit vector of (ra, dec): exact cone test by a dot product, no trigonometry in SQL
tstart, tstop  mission seconds (B-tree on ``tstart``)
duration       ``tstop - tstart`` (B-tree: its maximum bounds the time-overlap range scan)
=============  ===============================================================

**Cones: declination zones** (Gray, Nieto-Santisteban & Szalay 2006, "The Zones
Algorithm for Finding Points-Near-a-Point", MSR-TR-2006-52). A cone of radius ``r``
around ``(ra0, dec0)`` lies in the zones of the band ``dec0 +- r`` and, in each zone, in
the RA interval the cone reaches at that zone's declinations (split in two across RA
0/360; every RA when the cone holds a pole). That is a set of ``(zone, ra)`` range scans on an
ordinary B-tree, identical on SQLite and PostgreSQL, needing no extension (q3c and
pgSphere are PostgreSQL-only, and HEALPix needs a library to compute the cells of a
cone); the candidates are then cut exactly in SQL with ``x*x0 + y*y0 + z*z0 >= cos(r)``.

Searches go through Tiled as the query :class:`ObservationSearch` (registered as
``daisy_observations``), which becomes ``nodes.id IN (SELECT node_id FROM
daisy_observations WHERE ...)``: Tiled's own paging, keys and access rules apply; the first
page of a search evaluates the condition once, not twice (:mod:`.first_page`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Column,
    Float,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    and_,
    func,
    literal,
    or_,
    select,
)
from tiled.catalog.orm import Node

#: declination zone height (deg): 360 zones
ZONE_HEIGHT = 0.5
N_ZONES = int(round(180 / ZONE_HEIGHT))
#: widening of the exact cone test (cosine units) so that rounding never drops a match
COS_SLACK = 1e-12

metadata = MetaData()
_Text = String(255).with_variant(String(255, collation="C"), "postgresql")

observations = Table(
    "daisy_observations",
    metadata,
    Column("node_id", Integer, primary_key=True, autoincrement=False),
    Column("parent_id", Integer, nullable=False),
    Column("exp_id", _Text, nullable=False),
    Column("obs_id", _Text, nullable=False),
    Column("target_lc", String(1023), nullable=False),
    Column("ra", Float),
    Column("dec", Float),
    Column("zone", Integer),
    Column("x", Float),
    Column("y", Float),
    Column("z", Float),
    Column("tstart", Float),
    Column("tstop", Float),
    Column("duration", Float),
    ForeignKeyConstraint(["node_id"], [Node.__table__.c.id], ondelete="CASCADE", name="fk_daisy_obs_node"),
    Index("ix_daisy_obs_exp_id", "exp_id"),
    Index("ix_daisy_obs_zone_ra", "zone", "ra"),
    Index("ix_daisy_obs_tstart", "tstart"),
    Index("ix_daisy_obs_duration", "duration"),
)


def zone_of(dec: float) -> int:
    """Declination zone of ``dec`` (deg): 0 at the south pole, ``N_ZONES - 1`` at the north pole."""
    return min(N_ZONES - 1, max(0, int(math.floor((dec + 90.0) / ZONE_HEIGHT))))


def unit_vector(ra: float, dec: float) -> tuple[float, float, float]:
    """Cartesian unit vector of a sky position (deg)."""
    a, d = math.radians(ra), math.radians(dec)
    return math.cos(d) * math.cos(a), math.cos(d) * math.sin(a), math.sin(d)


def _num(v: Any) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def row_of(node_id: int, parent_id: int, meta: dict) -> dict[str, Any]:
    """The index row of an exposure from its catalog metadata."""
    ra, dec = _num(meta.get("ra")), _num(meta.get("dec"))
    t0, t1 = _num(meta.get("tstart")), _num(meta.get("tstop"))
    row: dict[str, Any] = {
        "node_id": node_id,
        "parent_id": parent_id,
        "exp_id": str(meta.get("exp_id") or "").upper(),
        "obs_id": str(meta.get("obs_id") or "").upper(),
        "target_lc": str(meta.get("target") or "").lower(),
        "ra": ra,
        "dec": dec,
        "zone": None,
        "x": None,
        "y": None,
        "z": None,
        "tstart": t0,
        "tstop": t1,
        "duration": (t1 - t0) if t0 is not None and t1 is not None else None,
    }
    if ra is not None and dec is not None:
        row["zone"] = zone_of(dec)
        row["x"], row["y"], row["z"] = unit_vector(ra, dec)
    return row


def _ra_half_width(dec0: float, r: float, lo: float, hi: float) -> float:
    """Largest RA half-width (deg) of the cone ``(dec0, r)`` over declinations ``lo..hi`` (deg).

    On the cone's edge at declination d, ``cos(dra) = (cos r - sin dec0 sin d) / (cos dec0 cos d)``;
    ``dra`` is largest at ``d* = asin(sin dec0 / cos r)``, so over ``lo..hi`` at ``d*`` clamped.
    """
    d = min(hi, max(lo, math.degrees(math.asin(math.sin(math.radians(dec0)) / math.cos(math.radians(r))))))
    cd = math.cos(math.radians(d)) * math.cos(math.radians(dec0))
    if cd <= 1e-12:
        return 180.0
    c = (math.cos(math.radians(r)) - math.sin(math.radians(dec0)) * math.sin(math.radians(d))) / cd
    return math.degrees(math.acos(max(-1.0, min(1.0, c)))) + 1e-9


def _ra_ranges(ra: float, half: float) -> list[tuple[float, float]]:
    if half >= 180.0:
        return [(0.0, 360.0)]
    lo, hi = ra - half, ra + half
    if lo < 0:
        return [(0.0, hi), (lo + 360.0, 360.0)]
    if hi > 360:
        return [(lo, 360.0), (0.0, hi - 360.0)]
    return [(lo, hi)]


def cone_condition(ra: float, dec: float, r: float) -> Any:
    """SQL condition: per declination zone, the RA range(s) the cone reaches there (B-tree range
    scans on ``(zone, ra)``), then the exact dot-product test (radius ``r`` deg)."""
    o = observations.c
    lo_dec, hi_dec = max(-90.0, dec - r), min(90.0, dec + r)
    zones = range(zone_of(lo_dec), zone_of(hi_dec) + 1)
    if abs(dec) + r >= 89.999 or r >= 90:  # the cone holds a pole: every RA
        box = and_(o.zone.in_(list(zones)), o.ra >= 0.0, o.ra <= 360.0)
    else:
        terms = []
        for z in zones:
            z0 = max(lo_dec, -90.0 + z * ZONE_HEIGHT)
            z1 = min(hi_dec, -90.0 + (z + 1) * ZONE_HEIGHT)
            for a, b in _ra_ranges(ra, _ra_half_width(dec, r, z0, z1)):
                terms.append(and_(o.zone == z, o.ra >= a, o.ra <= b))
        box = or_(*terms)
    x0, y0, z0_ = unit_vector(ra, dec)
    exact = o.x * x0 + o.y * y0 + o.z * z0_ >= math.cos(math.radians(r)) - COS_SLACK
    return and_(box, exact)


def prefix_condition(column: Any, prefix: str) -> Any:
    """``column`` starts with ``prefix``, as a B-tree range (byte order)."""
    if not prefix:
        return literal(True)
    upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)
    return and_(column >= prefix, column < upper)


def _like_literal(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search_condition(
    target: str | None,
    obs_id: str | None,
    cone: tuple[float, float, float] | None,
    tstart: float | None,
    tstop: float | None,
) -> Any:
    """The SQL condition on ``daisy_observations`` for every given rule (all must match)."""
    o = observations.c
    conds: list[Any] = []
    if target:
        conds.append(o.target_lc.like(f"%{_like_literal(target.strip().lower())}%", escape="\\"))
    if obs_id:
        conds.append(prefix_condition(o.exp_id, obs_id.strip().upper()))
    if cone is not None:
        conds.append(cone_condition(*cone))
    if tstart is not None:
        longest = select(func.max(o.duration)).scalar_subquery()
        conds += [o.tstop >= tstart, o.tstart >= literal(tstart) - func.coalesce(longest, 0.0)]
    if tstop is not None:
        conds.append(o.tstart <= tstop)
    return and_(*conds) if conds else literal(True)


# ----------------------------------------------------------------------------- the Tiled query
def _opt_float(name: str, value: str) -> float | None:
    if value in ("", None):
        return None
    try:
        f = float(value)
    except ValueError:
        f = float("nan")
    if not math.isfinite(f):
        from tiled.queries import QueryValueError

        raise QueryValueError(f"daisy_observations: {name} must be a number; got {value!r}")
    return f


def _define_query() -> type:
    from tiled.queries import NoBool, QueryValueError
    from tiled.query_registration import register

    @register(name="daisy_observations")
    @dataclass
    class ObservationSearch(NoBool):
        """HXMT archive search on the observation index (every non-empty field must match).

        ``cone`` is ``"ra,dec,radius"`` (deg); ``tstart``/``tstop`` mission seconds (overlap).
        """

        target: str = ""
        obs_id: str = ""
        cone: str = ""
        tstart: str = ""
        tstop: str = ""

        def encode(self) -> dict[str, str]:
            return {
                "target": self.target,
                "obs_id": self.obs_id,
                "cone": self.cone,
                "tstart": self.tstart,
                "tstop": self.tstop,
            }

        @classmethod
        def decode(cls, *, target="", obs_id="", cone="", tstart="", tstop=""):
            q = cls(target, obs_id, cone, tstart, tstop)
            q.parsed()  # refuse a malformed query at once (HTTP 400)
            return q

        def parsed(self) -> tuple:
            c = None
            if self.cone:
                try:
                    c = tuple(float(v) for v in self.cone.split(","))
                except ValueError:
                    c = ()
                if len(c) != 3 or not all(math.isfinite(v) for v in c):
                    raise QueryValueError(
                        f"daisy_observations: cone must be 'ra,dec,radius'; got {self.cone!r}"
                    )
            if self.obs_id and not self.obs_id.isalnum():
                raise QueryValueError(
                    f"daisy_observations: obs_id must be letters and digits; got {self.obs_id!r}"
                )
            t0, t1 = _opt_float("tstart", self.tstart), _opt_float("tstop", self.tstop)
            return self.target or None, self.obs_id or None, c, t0, t1

    return ObservationSearch


_QUERY: list[type] = []


def observation_search_type() -> type:
    """The Tiled query class ``daisy_observations`` (registered once, on first use)."""
    if not _QUERY:
        _QUERY.append(_define_query())
    return _QUERY[0]


def make_query(
    target: str | None,
    obs_id: str | None,
    cone: tuple[float, float, float] | None,
    tstart: float | None,
    tstop: float | None,
) -> Any:
    """An :class:`ObservationSearch` with the given rules (``None`` = not used)."""
    cls = observation_search_type()
    return cls(
        target=target or "",
        obs_id=obs_id or "",
        cone=",".join(repr(float(v)) for v in cone) if cone is not None else "",
        tstart=repr(float(tstart)) if tstart is not None else "",
        tstop=repr(float(tstop)) if tstop is not None else "",
    )


def _translate(query: Any, tree: Any) -> Any:
    from tiled.catalog import orm

    from .first_page import remember_first_ids

    cond = search_condition(*query.parsed())
    sub = select(observations.c.node_id).where(observations.c.parent_id == tree.node.id, cond)
    found = tree.new_variation(conditions=tree.conditions + [orm.Node.id.in_(sub)])
    return remember_first_ids(found, tree.conditions)  # the first page: one evaluation, not two


def register_translation() -> None:
    """Teach Tiled's SQL catalog the ``daisy_observations`` query (server side)."""
    from tiled.catalog.adapter import CatalogNodeAdapter

    CatalogNodeAdapter.register_query(observation_search_type(), _translate)
