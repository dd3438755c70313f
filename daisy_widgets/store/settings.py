"""Where the data service lives and how to reach it: state folder, API key, URL.

The key is generated once (``secrets.token_hex``: Tiled wants an alphanumeric
key) and kept in ``<state>/tiled_api_key`` with mode 600; ``<state>`` is
``DAISY_STATE_DIR``, else ``.daisy/`` of the repository (git-ignored). The demo
hub reads ``<state>/tiled_url`` and ``<state>/tiled_api_key`` and hands them to the
user servers as ``DAISY_TILED_URL`` and ``DAISY_TILED_API_KEY``, the two variables
the client reads.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from ..core.atomic import atomic_write_text
from ..core.errors import DaisyError

#: environment variables read by the client
URL_VAR = "DAISY_TILED_URL"
KEY_VAR = "DAISY_TILED_API_KEY"
#: file names under the state folder
KEY_FILE = "tiled_api_key"
URL_FILE = "tiled_url"


class ServiceNotConfigured(DaisyError):
    """No data-service URL (``DAISY_TILED_URL``) or key was given."""


def repo_root() -> Path:
    return Path(__file__).resolve().parents[2]


def state_dir() -> Path:
    """``DAISY_STATE_DIR``, else the repository's ``.daisy/``."""
    env = os.environ.get("DAISY_STATE_DIR")
    return Path(env) if env else repo_root() / ".daisy"


def default_data_dir() -> Path:
    """``DAISY_DATA_DIR``, else the repository's ``data/``."""
    env = os.environ.get("DAISY_DATA_DIR")
    return Path(env) if env else repo_root() / "data"


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, text)
    os.chmod(path, 0o600)


def ensure_api_key(state: Path | None = None) -> str:
    """The service's API key: read from ``<state>/tiled_api_key`` or generated there (mode 600)."""
    path = (state or state_dir()) / KEY_FILE
    if path.exists():
        key = path.read_text().strip()
        if len(key) >= 32 and key.isalnum():
            os.chmod(path, 0o600)
            return key
    key = secrets.token_hex(32)
    _write_private(path, key + "\n")
    return key


def service_api_key(state: Path | None = None) -> str:
    """The key the service requires: ``DAISY_TILED_API_KEY`` when set (in a cluster, from a
    Secret), else the one kept in ``<state>/tiled_api_key`` (generated there once)."""
    key = os.environ.get(KEY_VAR, "").strip()
    if not key:
        return ensure_api_key(state)
    if len(key) < 32 or not key.isalnum():
        raise DaisyError(
            f"{KEY_VAR}: expected at least 32 letters and digits (e.g. `openssl rand -hex 32`), "
            f"found {len(key)} characters{'' if key.isalnum() else ' with other symbols'}"
        )
    return key


def write_url(url: str, state: Path | None = None) -> Path:
    """Record the running service's address for the hub (``<state>/tiled_url``)."""
    path = (state or state_dir()) / URL_FILE
    _write_private(path, url + "\n")
    return path


def client_settings(url: str | None = None, api_key: str | None = None) -> tuple[str, str | None]:
    """``(url, api_key)`` from the arguments, else ``DAISY_TILED_URL``/``DAISY_TILED_API_KEY``,
    else the state files written by ``daisy data serve`` on this machine."""
    st = state_dir()
    url = url or os.environ.get(URL_VAR) or _read(st / URL_FILE)
    api_key = api_key or os.environ.get(KEY_VAR) or _read(st / KEY_FILE)
    if not url:
        raise ServiceNotConfigured(
            f"no data service configured: set {URL_VAR} (and {KEY_VAR}), or start one with `daisy data serve`"
        )
    return url, api_key


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip() or None
    except OSError:
        return None


def user_name() -> str:
    """The user's name for their area of the service (``JUPYTERHUB_USER``, else the login name)."""
    import getpass

    name = os.environ.get("JUPYTERHUB_USER") or getpass.getuser()
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name) or "user"


def cache_dir() -> Path:
    """The user's cache of fetched observations (``DAISY_CACHE_DIR``, else ``~/.cache/daisy``)."""
    env = os.environ.get("DAISY_CACHE_DIR")
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "daisy"
