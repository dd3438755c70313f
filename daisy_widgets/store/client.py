"""The data-service client: connect, search HXMT observations, fetch them, open scans, write results.

Every function takes ``url``/``api_key`` (default ``DAISY_TILED_URL`` and
``DAISY_TILED_API_KEY``) or an already connected ``client``. A refused key, a
service that does not answer, or a query the service rejects raise
:class:`ServiceError` with the reason in plain words.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from ..core.atomic import atomic_path, atomic_write_bytes
from ..core.errors import DaisyError, ValidationError
from .query import ObservationQuery
from .settings import cache_dir, client_settings, user_name

#: columns of a search result, in order
RESULT_COLUMNS = (
    "target",
    "obs_id",
    "exp_id",
    "ra",
    "dec",
    "start",
    "stop",
    "tstart",
    "tstop",
    "exposure",
    "instruments",
    "data_version",
    "separation",
    "uri",
)


class ServiceError(DaisyError):
    """The data service refused a request or could not be reached."""


def _explain(exc: Exception, url: str) -> ServiceError:
    resp = getattr(exc, "response", None)
    code = getattr(resp, "status_code", None)
    if code in (401, 403):
        return ServiceError(
            f"the data service at {url} refused the request (HTTP {code}): missing or wrong API key "
            "(set DAISY_TILED_API_KEY to the key in the service's .daisy/tiled_api_key)"
        )
    if code is not None:
        detail = ""
        try:
            detail = resp.json().get("detail", "")
        except Exception:
            detail = getattr(resp, "text", "")[:300]
        return ServiceError(f"the data service at {url} answered HTTP {code}: {detail}")
    return ServiceError(f"the data service at {url} did not answer: {type(exc).__name__}: {exc}")


def connect(
    url: str | None = None,
    api_key: str | None = None,
    structure_clients: str = "dask",
    compress: bool | None = None,
) -> Any:
    """A Tiled client of the data service (arrays as dask arrays over the remote chunks by default).

    ``compress``: let the service compress responses (Tiled's default). ``None`` (default)
    turns it off for a service on this machine (loopback), where compressing detector
    data costs the server more CPU than it saves in transfer.
    """
    url, api_key = client_settings(url, api_key)
    from urllib.parse import urlparse

    import httpx
    from tiled.client import from_uri

    base = url.split("/api")[0]
    try:  # fail fast when nothing listens (Tiled's client retries for ~20 s)
        httpx.get(f"{base}/healthz", timeout=5.0)
    except httpx.HTTPError as exc:
        raise ServiceError(f"the data service at {url} did not answer: {type(exc).__name__}: {exc}") from None
    try:
        c = from_uri(url, api_key=api_key, structure_clients=structure_clients)
    except Exception as exc:
        raise _explain(exc, url) from None
    if compress is None:
        compress = urlparse(url).hostname not in ("127.0.0.1", "localhost", "::1")
    if not compress:
        c.context.http_client.headers["accept-encoding"] = "identity"
    return c


def _client(client: Any, url: str | None, api_key: str | None) -> Any:
    return client if client is not None else connect(url, api_key)


def _node(client: Any, path: str) -> Any:
    try:
        node = client
        for part in [p for p in path.strip("/").split("/") if p]:
            node = node[part]
        return node
    except KeyError:
        raise ServiceError(f"the data service has no entry {path!r}") from None
    except Exception as exc:
        raise _explain(exc, str(getattr(client, "uri", ""))) from None


# ----------------------------------------------------------------------------- search
#: entries per search request
PAGE_SIZE = 100


def _search_pages(root: Any, query: Any, offset: int, limit: int | None) -> Any:
    """``(key, metadata)`` of the matches under ``hxmt``, fetched a page at a time (one request per
    page, metadata only: no per-entry structure, links or client objects, which cost more than
    the search itself)."""
    from tiled.client.container import _queries_to_params
    from tiled.client.utils import handle_error

    http, url = root.context.http_client, root.item["links"]["search"].rstrip("/") + "/hxmt"
    params = {**_queries_to_params(query), "fields": "metadata", "omit_links": "true"}
    got = 0
    while limit is None or got < limit:
        size = PAGE_SIZE if limit is None else min(PAGE_SIZE, limit - got)
        page = handle_error(
            http.get(url, params={**params, "page[offset]": offset + got, "page[limit]": size})
        ).json()["data"]
        for item in page:
            yield item["id"], item["attributes"]["metadata"]
        got += len(page)
        if len(page) < size:
            return


def search_observations(
    target: str | None = None,
    obs_id: str | None = None,
    cone: tuple[float, float, float] | None = None,
    start: str | float | None = None,
    stop: str | float | None = None,
    *,
    url: str | None = None,
    api_key: str | None = None,
    client: Any = None,
    limit: int | None = None,
    offset: int = 0,
) -> Any:
    """HXMT observations matching every given rule, as a pandas DataFrame.

    Parameters
    ----------
    target
        Target name, case-insensitive substring ("crab" finds "Crab").
    obs_id
        ObsID (``P0101299001``) or ExpID prefix.
    cone
        ``(ra, dec, radius)`` in degrees (J2000); exact great-circle distance.
    start, stop
        Time range (ISO UTC or mission seconds); observations overlapping it match.
    limit, offset
        Paging: at most ``limit`` matches from the ``offset``-th on, in registration order (the
        catalog's order; ``limit=100`` is the first page). Default: every match.

    Returns
    -------
    pandas.DataFrame
        One row per exposure, columns :data:`RESULT_COLUMNS` (``separation`` in deg for a cone,
        ``tstart``/``tstop`` in mission seconds, ``uri`` the service path for :func:`fetch_observation`),
        sorted by start time.

    Raises
    ------
    ValidationError
        Every bad field at once (before any request).
    ServiceError
        Refused key, unreachable service, query rejected by the service.
    """
    import pandas as pd

    q = ObservationQuery(target, obs_id, tuple(cone) if cone is not None else None, start, stop)
    tq = q.tiled_query()  # raises ValidationError first
    c = _client(client, url, api_key)
    rows = []
    try:
        for key, meta in _search_pages(c, tq, offset, limit):
            ok, sep = q.accepts(meta)
            if not ok:
                continue
            row = {k: meta.get(k) for k in RESULT_COLUMNS}
            row["instruments"] = " ".join(meta.get("instruments") or [])
            row["separation"] = sep
            row["uri"] = f"hxmt/{key}"
            rows.append(row)
    except (ValidationError, ServiceError):
        raise
    except Exception as exc:
        raise _explain(exc, str(getattr(c, "uri", url))) from None
    df = pd.DataFrame(rows, columns=list(RESULT_COLUMNS))
    return df.sort_values("tstart", kind="stable").reset_index(drop=True) if len(df) else df


# ----------------------------------------------------------------------------- observations
def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def _verified(folder: Path, files: list[dict], hashes: bool = True) -> bool:
    for rec in files:
        p = folder / rec["folder"] / rec["name"]
        if not p.is_file() or p.stat().st_size != rec.get("size", p.stat().st_size):
            return False
        if hashes and rec.get("sha256") and _sha256(p) != rec["sha256"]:
            return False
    return bool(files)


def fetch_observation(
    uri: str,
    *,
    cache: str | os.PathLike | None = None,
    url: str | None = None,
    api_key: str | None = None,
    client: Any = None,
) -> Path:
    """Copy an observation's Level-1 files into the user's cache, checksums verified; returns the exposure folder.

    A cached copy whose every file has the registered size and SHA-256 is reused
    without downloading; a damaged or partial one is replaced. Files are written
    to a temporary folder, checked, then renamed into place.

    Raises
    ------
    ServiceError
        Unknown entry, refused key, or a downloaded file whose checksum differs.
    """
    path = uri if uri.startswith("hxmt/") else f"hxmt/{uri}"
    c = _client(client, url, api_key)
    node = _node(c, path)
    meta = dict(node.metadata)
    files = list(meta.get("files") or [])
    if not files:
        raise ServiceError(f"{path}: the service lists no Level-1 files for this observation")
    root = Path(cache) if cache is not None else cache_dir()
    target = root / "hxmt" / (meta.get("obs_id") or "unknown") / Path(meta.get("folder") or path).name
    if _verified(target, files):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent))
    try:
        for key, child in node.items():
            rec = dict(child.metadata)
            if "name" not in rec:
                continue
            (tmp / rec["folder"]).mkdir(parents=True, exist_ok=True)
            try:
                digest = _download_asset(child, tmp / rec["folder"] / rec["name"])
            except ServiceError:
                raise
            except Exception as exc:
                raise _explain(exc, str(getattr(c, "uri", url))) from None
            if rec.get("sha256") and digest != rec["sha256"]:
                raise ServiceError(
                    f"{path}/{key}: downloaded {rec['name']} has SHA-256 {digest[:16]}..., "
                    f"expected {rec['sha256'][:16]}... (file changed on the server? run "
                    "`daisy data serve --rescan`)"
                )
        if not _verified(tmp, files, hashes=False):  # each file's hash was checked as it arrived
            raise ServiceError(f"{path}: the downloaded files do not match the registered list")
        if target.exists():
            shutil.rmtree(target)
        tmp.rename(target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def _download_asset(node: Any, target: Path) -> str:
    """Stream the raw file behind ``node`` into ``target`` (atomically); returns its SHA-256."""
    from tiled.client.utils import handle_error

    (source,) = node.include_data_sources().data_sources()
    (asset,) = source.assets
    link = node.item["links"]["self"].replace("/metadata", "/asset/bytes", 1)
    h = hashlib.sha256()
    with (
        atomic_path(target) as tmp,
        open(tmp, "wb") as out,
        node.context.http_client.stream(
            "GET", link, params={"id": asset.id}, headers={"Accept-Encoding": "identity"}
        ) as resp,
    ):
        if resp.status_code >= 400:
            resp.read()
            handle_error(resp)
        for chunk in resp.iter_bytes(1 << 20):
            h.update(chunk)
            out.write(chunk)
    return h.hexdigest()


# ----------------------------------------------------------------------------- writing back
def user_area(client: Any, user: str | None = None) -> Any:
    """The user's own container ``users/<user>`` (created when missing)."""
    user = user or user_name()
    users = _node(client, "users")
    try:
        return users[user]
    except KeyError:
        return users.create_container(key=user, metadata={"owner": user})


def write_volume(
    volume: Any,
    name: str,
    metadata: dict | None = None,
    *,
    user: str | None = None,
    url: str | None = None,
    api_key: str | None = None,
    client: Any = None,
) -> str:
    """Write an array (a reconstructed volume, numpy or dask) to ``users/<user>/<name>`` with metadata.

    Returns the service path of the new entry.
    """
    import numpy as np

    c = _client(client, url, api_key)
    area = user_area(c, user)
    arr = volume if hasattr(volume, "compute") else np.asarray(volume)
    try:
        if name in area:  # replacing the user's own earlier result
            area[name].delete(recursive=True, external_only=False)
        area.write_array(arr, key=name, metadata=dict(metadata or {}, kind="result-array"))
    except Exception as exc:
        raise _explain(exc, str(getattr(c, "uri", url))) from None
    return f"users/{user or user_name()}/{name}"


def write_products(
    files: list[str | os.PathLike],
    name: str,
    metadata: dict | None = None,
    *,
    user: str | None = None,
    url: str | None = None,
    api_key: str | None = None,
    client: Any = None,
) -> str:
    """Write product files (HXMT spectra, light curves, GTIs: any files) to ``users/<user>/<name>/``.

    Each file is stored byte for byte (a uint8 array) with its name, size, SHA-256
    and, for FITS files, the observation keywords of its primary header as metadata;
    :func:`fetch_products` gives the identical files back.
    """
    import numpy as np

    c = _client(client, url, api_key)
    area = user_area(c, user)
    try:
        if name in area:
            area[name].delete(recursive=True, external_only=False)
        group = area.create_container(key=name, metadata=dict(metadata or {}, kind="products"))
        for f in map(Path, files):
            blob = f.read_bytes()
            meta = {
                "kind": "file",
                "name": f.name,
                "size": len(blob),
                "sha256": hashlib.sha256(blob).hexdigest(),
            }
            if f.suffix.lower() in (".fits", ".fit", ".pha", ".lc", ".gti", ".evt", ".rsp", ".arf"):
                meta["header"] = _fits_keywords(f)
            key = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in f.name)
            group.write_array(np.frombuffer(blob, dtype=np.uint8), key=key, metadata=meta)
    except Exception as exc:
        raise _explain(exc, str(getattr(c, "uri", url))) from None
    return f"users/{user or user_name()}/{name}"


def _fits_keywords(path: Path) -> dict:
    try:
        from astropy.io import fits

        with fits.open(path, memmap=False) as hl:
            keep = (
                "OBJECT",
                "OBS_ID",
                "EXP_ID",
                "RA_OBJ",
                "DEC_OBJ",
                "DATE-OBS",
                "DATE-END",
                "TSTART",
                "TSTOP",
                "EXPOSURE",
                "INSTRUME",
                "TELESCOP",
                "HDUCLAS1",
                "HDUCLAS2",
            )
            out = {}
            for hdu in hl[:2]:
                for k in keep:
                    if k in hdu.header and k not in out:
                        v = hdu.header[k]
                        out[k] = v if isinstance(v, (int, float, str, bool)) else str(v)
            return out
    except Exception:
        return {}


def fetch_products(
    path: str,
    dest: str | os.PathLike,
    *,
    url: str | None = None,
    api_key: str | None = None,
    client: Any = None,
) -> list[Path]:
    """Copy the files written by :func:`write_products` into ``dest``, checksums verified."""
    import numpy as np

    c = _client(client, url, api_key)
    group = _node(c, path)
    out = []
    for _key, child in group.items():
        meta = dict(child.metadata)
        blob = np.asarray(child.read()).astype(np.uint8).tobytes()
        if hashlib.sha256(blob).hexdigest() != meta.get("sha256"):
            raise ServiceError(f"{path}/{meta.get('name')}: checksum differs from the one written")
        target = Path(dest) / meta["name"]
        target.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(target, blob)
        out.append(target)
    return out
