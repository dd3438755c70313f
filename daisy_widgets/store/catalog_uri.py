"""Where the catalog database is: its URI, its password (environment or file, never the command
line), the URI as it may be shown (password hidden), and the checks made before anything starts.

``daisy data serve --catalog URI`` takes ``sqlite:///path/catalog.db`` or
``postgresql://user@host:5432/dbname``; the PostgreSQL password comes from
``DAISY_CATALOG_PASSWORD`` or from the file named by ``DAISY_CATALOG_PASSWORD_FILE``
(a Kubernetes Secret mounted as a file). ``DAISY_CATALOG_URI`` (environment, not the
command line) may carry the password itself.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
from pathlib import Path

from ..core.errors import DaisyError

PASSWORD_VAR = "DAISY_CATALOG_PASSWORD"
PASSWORD_FILE_VAR = "DAISY_CATALOG_PASSWORD_FILE"
URI_VAR = "DAISY_CATALOG_URI"


class CatalogError(DaisyError):
    """The catalog database cannot be used (unreachable, refused, of a newer schema, malformed URI)."""


def shown(uri: str) -> str:
    """``uri`` with any password replaced by ``***`` (for messages and logs)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(uri).render_as_string(hide_password=True)
    except ArgumentError:
        return uri.split("@")[-1] if "@" in uri else uri


def _password_from_environment() -> str | None:
    if os.environ.get(PASSWORD_VAR):
        return os.environ[PASSWORD_VAR]
    path = os.environ.get(PASSWORD_FILE_VAR)
    if path:
        try:
            return Path(path).read_text().strip()
        except OSError as exc:
            raise CatalogError(
                f"{PASSWORD_FILE_VAR}={path}: cannot read the password file: {exc.strerror}"
            ) from None
    return None


def resolve(uri: str | None, default_sqlite: Path, *, from_command_line: bool) -> str:
    """The catalog URI to use, with the driver named and the password filled in.

    Parameters
    ----------
    uri
        ``--catalog`` (or None: ``DAISY_CATALOG_URI``, else ``default_sqlite``).
    default_sqlite
        The SQLite file used when no URI is given.
    from_command_line
        ``uri`` came from the command line: a password in it is refused (it would be visible
        in the process list and the shell history).

    Raises
    ------
    CatalogError
        A password on the command line, an unknown scheme, or a malformed URI.
    """
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    if uri is None:
        uri, from_command_line = os.environ.get(URI_VAR), False
    if not uri:
        return f"sqlite+aiosqlite:///{Path(default_sqlite).resolve()}"
    try:
        url = make_url(uri)
    except ArgumentError:
        raise CatalogError(
            f"catalog {shown(uri)}: not a database URI; expected sqlite:///path/catalog.db or "
            "postgresql://user@host:5432/dbname"
        ) from None
    backend = url.get_backend_name()
    if backend == "sqlite":
        if not url.database:
            raise CatalogError(f"catalog {uri}: expected a file, sqlite:///path/catalog.db")
        return url.set(drivername="sqlite+aiosqlite").render_as_string(hide_password=False)
    if backend != "postgresql":
        raise CatalogError(
            f"catalog {shown(uri)}: unknown database {backend!r}; expected sqlite or postgresql"
        )
    if url.password is not None and from_command_line:
        raise CatalogError(
            f"catalog {shown(uri)}: do not put the password on the command line (it shows in the process "
            f"list); give postgresql://{url.username or 'USER'}@{url.host or 'HOST'}/... and set {PASSWORD_VAR} "
            f"or {PASSWORD_FILE_VAR}"
        )
    password = url.password if url.password is not None else _password_from_environment()
    url = url.set(drivername="postgresql+asyncpg", password=password)
    return url.render_as_string(hide_password=False)


def is_postgresql(uri: str) -> bool:
    return uri.startswith("postgresql")


async def _probe_postgresql(uri: str, timeout: float) -> None:
    import asyncpg
    from sqlalchemy.engine import make_url

    url = make_url(uri)
    try:
        conn = await asyncpg.connect(
            host=url.host or "localhost",
            port=url.port or 5432,
            user=url.username,
            password=url.password,
            database=url.database,
            timeout=timeout,
        )
    except (asyncpg.InvalidPasswordError, asyncpg.InvalidAuthorizationSpecificationError) as exc:
        raise CatalogError(f"catalog {shown(uri)}: the database refused the credentials: {exc}") from None
    except asyncpg.InvalidCatalogNameError as exc:
        raise CatalogError(f"catalog {shown(uri)}: no such database: {exc}") from None
    except (TimeoutError, OSError) as exc:
        reason = exc.strerror if getattr(exc, "strerror", None) else (str(exc) or type(exc).__name__)
        raise CatalogError(f"catalog {shown(uri)}: the database server does not answer ({reason})") from None
    except asyncpg.PostgresError as exc:
        raise CatalogError(f"catalog {shown(uri)}: the database refused the connection: {exc}") from None
    await conn.close()


def probe(uri: str, timeout: float = 10.0) -> None:
    """Check that the catalog database can be reached and opened, before anything starts.

    Raises
    ------
    CatalogError
        Unreachable server, wrong credentials, missing database, SQLite file that is not a database.
    """
    if is_postgresql(uri):
        asyncio.run(_probe_postgresql(uri, timeout))
        return
    from sqlalchemy.engine import make_url

    path = Path(make_url(uri).database)
    if path.exists():
        try:
            with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as con:
                con.execute("PRAGMA schema_version").fetchone()
        except sqlite3.DatabaseError as exc:
            raise CatalogError(f"catalog {shown(uri)}: not an SQLite database ({exc})") from None
    else:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise CatalogError(f"catalog {shown(uri)}: cannot create its folder: {exc.strerror}") from None


#: PostgreSQL major version the tests run (Debian 12's ``postgresql``) and the cluster manifests use
POSTGRES_MAJOR = 15
#: server settings of the catalog database, the same in the tests and the Kubernetes StatefulSet
POSTGRES_SETTINGS = {
    "max_connections": "200",
    "shared_buffers": "256MB",
    "work_mem": "16MB",
    "random_page_cost": "1.1",
    "password_encryption": "scram-sha-256",
}
