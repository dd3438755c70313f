"""Where the HXMT app finds observations: the data service, or a local data folder.

:func:`default_archive` picks the data service when ``DAISY_TILED_URL`` is set
(with ``DAISY_TILED_API_KEY``), else a local folder of Level-1 exposures
(``DAISY_DATA_DIR``, else the repository's ``data/``), which the app labels as
such. Both answer the same query (:class:`Query`) with the same rows
(dictionaries: ``target, obs_id, exp_id, ra, dec, start, stop, tstart, tstop,
exposure, instruments, source, uri``) and turn a row into a local Level-1
exposure folder with :meth:`fetch`.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from ...core.errors import DaisyError, ValidationError
from ...store.query import angular_distance


class ArchiveUnavailable(DaisyError):
    """The data service cannot be reached or refused the request (message in plain words)."""


@dataclass
class Query:
    """An archive query; every given field must match (empty fields are ignored).

    Attributes
    ----------
    target
        Target name, case-insensitive substring (``"crab"`` finds ``"Crab"``).
    obs_id
        Observation ID (``P0101299001``) or exposure ID prefix.
    ra, dec, radius
        Cone: centre (deg, J2000) and radius (deg), exact angular distance.
    start, stop
        Time range: ISO dates (UTC) or mission seconds; observations overlapping it match.
    """

    target: str = ""
    obs_id: str = ""
    ra: float | None = None
    dec: float | None = None
    radius: float | None = None
    start: str | float | None = None
    stop: str | float | None = None

    def problems(self) -> dict[str, list[str]]:
        """Every problem of the query, keyed by field (empty when valid)."""
        out: dict[str, list[str]] = {}
        cone = [self.ra, self.dec, self.radius]
        if any(v is not None for v in cone) and not all(v is not None for v in cone):
            for k, v in zip(("ra", "dec", "radius"), cone, strict=False):
                if v is None:
                    out[k] = ["a cone search needs RA, Dec and radius"]
        if self.ra is not None and not 0 <= self.ra <= 360:
            out.setdefault("ra", []).append(f"must be within 0..360 deg; got {self.ra}")
        if self.dec is not None and not -90 <= self.dec <= 90:
            out.setdefault("dec", []).append(f"must be within -90..90 deg; got {self.dec}")
        if self.radius is not None and not 0 < self.radius <= 180:
            out.setdefault("radius", []).append(f"must be within 0..180 deg; got {self.radius}")
        t = {}
        for k in ("start", "stop"):
            v = getattr(self, k)
            if v in (None, ""):
                continue
            try:
                t[k] = to_mission_time(v)
            except ValueError as exc:
                out[k] = [str(exc)]
        if "start" in t and "stop" in t and t["stop"] <= t["start"]:
            out["stop"] = ["must be after start"]
        return out

    def check(self) -> None:
        p = self.problems()
        if p:
            raise ValidationError("archive search", p)


def to_mission_time(v: str | float) -> float:
    """Mission seconds from a number (mission seconds) or an ISO date/time (UTC)."""
    if isinstance(v, (int, float)):
        return float(v)
    s = str(v).strip()
    try:
        return float(s)
    except ValueError:
        pass
    from astropy.time import Time

    from ..mission import mjd_to_mission_time

    try:
        return float(mjd_to_mission_time(Time(s, scale="utc").tt.mjd))
    except ValueError:
        raise ValueError(
            f"expected an ISO date like 2018-03-01 or 2018-03-01T00:10, or mission seconds; got {s!r}"
        ) from None


def matches(row: dict, q: Query) -> bool:
    """Whether one observation row satisfies the query."""
    if q.target and q.target.strip().lower() not in str(row.get("target", "")).lower():
        return False
    if q.obs_id and not (
        str(row.get("obs_id", "")).upper().startswith(q.obs_id.strip().upper())
        or str(row.get("exp_id", "")).upper().startswith(q.obs_id.strip().upper())
    ):
        return False
    if q.radius is not None and q.ra is not None and q.dec is not None:
        if row.get("ra") is None or row.get("dec") is None:
            return False
        if angular_distance(q.ra, q.dec, row["ra"], row["dec"]) > q.radius:
            return False
    if q.start not in (None, "") and row.get("tstop") is not None and row["tstop"] < to_mission_time(q.start):
        return False
    return not (
        q.stop not in (None, "") and row.get("tstart") is not None and row["tstart"] > to_mission_time(q.stop)
    )


class Archive(Protocol):
    """What the app needs of a source of observations."""

    label: str

    def search(self, query: Query, limit: int | None = None, offset: int = 0) -> list[dict]:
        """The matches from the ``offset``-th on, at most ``limit`` (None: all)."""
        ...

    def fetch(self, row: dict) -> Path: ...


def _row_from_meta(meta: dict[str, Any], root: Path, instruments: list[str]) -> dict:
    return {
        "target": str(meta.get("OBJECT", "")),
        "obs_id": str(meta.get("OBS_ID", "")),
        "exp_id": str(meta.get("EXP_ID", "")),
        "ra": _f(meta.get("RA_OBJ")),
        "dec": _f(meta.get("DEC_OBJ")),
        "start": str(meta.get("DATE-OBS", "")),
        "stop": str(meta.get("DATE-END", "")),
        "tstart": _f(meta.get("TSTART")),
        "tstop": _f(meta.get("TSTOP")),
        "exposure": _f(meta.get("EXPOSURE")),
        "instruments": instruments,
        "source": "local",
        "uri": str(root),
    }


def _f(v: Any) -> float | None:
    try:
        return None if v is None else float(v)
    except (TypeError, ValueError):
        return None


class LocalArchive:
    """Level-1 exposures found under a local folder (``<dir>/**/<ExpID>-<date>-01-01/{HE,ME,LE,ACS,AUX}``)."""

    def __init__(self, data_dir: str | os.PathLike):
        self.data_dir = Path(data_dir)
        self.label = f"local data folder {self.data_dir} (no data service configured)"
        self._rows: list[dict] | None = None

    def scan(self) -> list[dict]:
        """Every exposure under the folder (read from the Level-1 primary headers; cached)."""
        from ..l1io import read_meta

        if self._rows is not None:
            return self._rows
        rows = []
        if self.data_dir.is_dir():
            for aux in sorted(self.data_dir.rglob("AUX")):
                root = aux.parent
                insts, meta = [], {}
                for inst in ("HE", "ME", "LE"):
                    hits = sorted((root / inst).glob(f"HXMT_*_{inst}-Evt_FFFFFF_V*_L1P.FITS"))
                    if hits:
                        insts.append(inst)
                        if not meta:
                            try:
                                meta = read_meta(hits[-1])
                            except Exception:
                                meta = {}
                if insts and meta:
                    rows.append(_row_from_meta(meta, root, insts))
        self._rows = rows
        return rows

    def refresh(self) -> None:
        self._rows = None

    def search(self, query: Query, limit: int | None = None, offset: int = 0) -> list[dict]:
        query.check()
        rows = [r for r in self.scan() if matches(r, query)]
        return rows[offset : None if limit is None else offset + limit]

    def fetch(self, row: dict) -> Path:
        p = Path(row["uri"])
        if not p.is_dir():
            raise ArchiveUnavailable(f"the exposure folder {p} is gone; search again")
        return p


class ServiceArchive:
    """Observations of the Daisy data service (Tiled), through :mod:`daisy_widgets.store`."""

    def __init__(self, url: str, api_key: str | None = None):
        self.url = url
        self.api_key = api_key
        self.label = f"data service {url}"
        self._client: Any = None  # connected on the first search, kept for the next ones

    def _store(self) -> Any:
        try:
            from ... import store
        except ImportError as exc:  # pragma: no cover - the package always has store/
            raise ArchiveUnavailable(f"the data-service client is not installed: {exc}") from None
        return store

    def check_reachable(self, timeout: float = 3.0) -> None:
        """Fail fast, in plain words, when nothing listens at the service's address (the HTTP client
        would otherwise retry for half a minute)."""
        import socket
        from urllib.parse import urlparse

        u = urlparse(self.url)
        port = u.port or (443 if u.scheme == "https" else 80)
        try:
            with socket.create_connection((u.hostname or "127.0.0.1", port), timeout=timeout):
                pass
        except OSError as exc:
            raise ArchiveUnavailable(
                f"nothing answers at {self.url} ({exc.strerror or exc}); is the data service running?"
            ) from None

    def search(self, query: Query, limit: int | None = None, offset: int = 0) -> list[dict]:
        query.check()
        self.check_reachable()
        store = self._store()
        fn = getattr(store, "search_observations", None)
        if fn is None:
            raise ArchiveUnavailable(
                "this Daisy version has no data-service search (daisy_widgets.store.search_observations)"
            )
        cone = (query.ra, query.dec, query.radius) if query.radius is not None else None
        try:
            if self._client is None and hasattr(store, "connect"):
                self._client = store.connect(self.url, self.api_key)
            res = fn(
                target=query.target or None,
                obs_id=query.obs_id or None,
                cone=cone,
                start=query.start or None,
                stop=query.stop or None,
                url=self.url,
                api_key=self.api_key,
                client=self._client,
                limit=limit,
                offset=offset,
            )
        except ValidationError:
            raise
        except DaisyError as exc:  # the client's ServiceError: already in plain words
            self._client = None
            raise ArchiveUnavailable(str(exc)) from None
        except Exception as exc:
            self._client = None
            raise ArchiveUnavailable(f"the data service at {self.url} did not answer: {exc}") from None
        return [self._row(r) for r in _records(res)]

    @staticmethod
    def _row(r: dict) -> dict:
        g = {k.lower(): (None if isinstance(v, float) and math.isnan(v) else v) for k, v in r.items()}
        inst = g.get("instruments") or []
        if isinstance(inst, str):
            inst = [s for s in inst.replace(",", " ").split() if s]
        return {
            "target": str(g.get("target", g.get("object", ""))),
            "obs_id": str(g.get("obs_id", "")),
            "exp_id": str(g.get("exp_id", "")),
            "ra": _f(g.get("ra", g.get("ra_obj"))),
            "dec": _f(g.get("dec", g.get("dec_obj"))),
            "start": str(g.get("start", g.get("date_obs", ""))),
            "stop": str(g.get("stop", g.get("date_end", ""))),
            "tstart": _f(g.get("tstart")),
            "tstop": _f(g.get("tstop")),
            "exposure": _f(g.get("exposure")),
            "instruments": list(inst),
            "source": "service",
            "uri": str(g.get("uri", g.get("key", g.get("exp_id", "")))),
        }

    def fetch(self, row: dict) -> Path:
        store = self._store()
        fn = getattr(store, "fetch_observation", None)
        self.check_reachable()
        if fn is None:
            raise ArchiveUnavailable("this Daisy version cannot fetch observations from the data service")
        try:
            return Path(fn(row["uri"], url=self.url, api_key=self.api_key))
        except DaisyError as exc:
            raise ArchiveUnavailable(f"could not fetch {row.get('exp_id') or row['uri']}: {exc}") from None
        except Exception as exc:
            raise ArchiveUnavailable(
                f"could not fetch {row.get('exp_id') or row['uri']} from {self.url}: {exc}"
            ) from None


def _records(res: Any) -> list[dict]:
    if hasattr(res, "to_dict") and hasattr(res, "columns"):  # pandas
        return res.to_dict("records")
    if hasattr(res, "colnames"):  # astropy Table
        return [{c: row[c] for c in res.colnames} for row in res]
    return [dict(r) for r in res]


def default_data_dir() -> Path:
    """``DAISY_DATA_DIR``, else ``data/`` of the repository this package runs from, else ``./data``."""
    env = os.environ.get("DAISY_DATA_DIR")
    if env:
        return Path(env)
    repo = Path(__file__).resolve().parents[2] / "data"
    return repo if repo.is_dir() else Path.cwd() / "data"


def default_archive() -> Archive:
    """The data service when ``DAISY_TILED_URL`` is set, else the local data folder."""
    url = os.environ.get("DAISY_TILED_URL")
    if url:
        return ServiceArchive(url, os.environ.get("DAISY_TILED_API_KEY"))
    return LocalArchive(default_data_dir())
