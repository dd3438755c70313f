"""Helpers of the local demo hub: settings from the environment, the shared password, the spawner.

Used by ``jupyterhub_config.py`` (loaded by JupyterHub) and by ``demo.py`` (the
``make demo`` launcher). Everything the demo keeps lives in the state folder
(``.daisy/`` in the repository by default, ``DAISY_STATE_DIR`` to change):
the shared password (mode 600), the cookie secret, the hub database and the
users' home folders ``home/<user>``.

Environment variables read here
-------------------------------
``PORT``                  public port of the proxy (default 8000)
``DAISY_IP``              public address (default 127.0.0.1)
``DAISY_HUB_PORT``        internal hub port (default 8081)
``DAISY_PROXY_API_PORT``  internal proxy API port (default 8001)
``DAISY_STATE_DIR``       state folder (default ``<repo>/.daisy``)
``DAISY_DATA_DIR``        data folder the user servers see (default ``<repo>/data``)
``DAISY_TILED_URL``, ``DAISY_TILED_API_KEY``
                          data service address and key passed on to the user servers
                          (also read from ``<state>/tiled_url`` and ``<state>/tiled_api_key``)
``DAISY_CULL_SERVER_SECONDS``
                          stop a user server idle this long (default: the Kubernetes
                          deployment's ``CULL_SERVER_AFTER``, 3600; 0: never)
``DAISY_CULL_EVERY_SECONDS``
                          how often the culler looks (default: ``CULL_SERVER_EVERY``, 300,
                          or half the timeout when that is shorter)
``DAISY_VOILA_POOL``      kernels each user server keeps started for the next app page
                          (default 1, see ``daisy_widgets.kernel_pool``; 0: none)
``DAISY_DEFER_IRI_GRAMMAR``
                          1 (default): the user servers build jsonschema's IRI grammar on first
                          use, not at start (``daisy_widgets.server_launch``); 0: at start
``DAISY_INDEX``           where users land after logging in: ``page`` (default) the app index
                          served by the user server without a kernel (``/daisy/apps``,
                          ``daisy_widgets.index_page``); ``voila`` the Voila page of
                          ``apps/index.ipynb`` as before (a kernel per visit; the peer of
                          ``benchmarks/apps_interactive.py --peer voila-index``)
"""

from __future__ import annotations

import importlib.util
import os
import secrets
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
#: Jupyter data/config folders of the demo: the "daisy" Voila template, server and Voila settings
JUPYTER_DIR = Path(__file__).resolve().parent / "jupyter"
#: the kernelspec installed from kernels/ ("Daisy (Python 3)")
KERNEL_NAME = "daisy-python3"
#: folders of the repository linked into every user's home
SHARED_FOLDERS = ("apps", "notebooks", "data", "docs")
#: where a user lands after logging in: the app index page of the user server, served without a
#: kernel (``daisy_widgets.index_page``, enabled in ``jupyter/config/jupyter_server_config.json``)
INDEX_URL = "/daisy/apps"
#: the same index as a Voila page of ``apps/index.ipynb`` (a kernel per visit): ``DAISY_INDEX=voila``
VOILA_INDEX_URL = "/voila/render/apps/index.ipynb"
#: idle kernels (Voila pages and notebooks nobody uses) are shut down after this many seconds
CULL_IDLE_SECONDS = 600
#: environment variables of the data service passed on to the user servers (and their state files)
DATA_SERVICE_VARS = {"DAISY_TILED_URL": "tiled_url", "DAISY_TILED_API_KEY": "tiled_api_key"}


@dataclass(frozen=True)
class HubSettings:
    """Addresses and folders of one demo hub."""

    ip: str
    port: int
    hub_port: int
    proxy_api_port: int
    state_dir: Path
    data_dir: Path

    @property
    def url(self) -> str:
        host = "127.0.0.1" if self.ip in ("", "0.0.0.0") else self.ip
        return f"http://{host}:{self.port}/"

    @property
    def home_root(self) -> Path:
        return self.state_dir / "home"

    @property
    def password_file(self) -> Path:
        return self.state_dir / "password"


def landing_url() -> str:
    """The user servers' ``default_url``: :data:`INDEX_URL`, or :data:`VOILA_INDEX_URL` with
    ``DAISY_INDEX=voila``; another value stops the hub with a message naming the variable."""
    text = os.environ.get("DAISY_INDEX", "").strip().lower()
    if text in ("", "page"):
        return INDEX_URL
    if text == "voila":
        return VOILA_INDEX_URL
    raise SystemExit(f"daisy hub: DAISY_INDEX={text!r} is not 'page' or 'voila'")


def _int_env(name: str, default: int, what: str = "a port number", lo: int = 1, hi: int = 65535) -> int:
    """The integer in environment variable ``name`` (``default`` when unset or empty), within
    ``lo``-``hi``; anything else stops the demo with a message naming the variable and ``what``."""
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    try:
        value = int(text)
    except ValueError:
        raise SystemExit(f"daisy demo: {name}={text!r} is not {what}") from None
    if not lo <= value <= hi:
        raise SystemExit(f"daisy demo: {name}={value} is not {what} ({lo}-{hi})")
    return value


def settings_from_env() -> HubSettings:
    """Read the demo hub's settings from the environment (see the module docstring)."""
    state = Path(os.environ.get("DAISY_STATE_DIR") or REPO / ".daisy").resolve()
    data = Path(os.environ.get("DAISY_DATA_DIR") or REPO / "data").resolve()
    return HubSettings(
        ip=os.environ.get("DAISY_IP", "127.0.0.1"),
        port=_int_env("PORT", 8000),
        hub_port=_int_env("DAISY_HUB_PORT", 8081),
        proxy_api_port=_int_env("DAISY_PROXY_API_PORT", 8001),
        state_dir=state,
        data_dir=data,
    )


def ensure_state_dir(settings: HubSettings) -> None:
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(settings.state_dir, 0o700)
    settings.home_root.mkdir(exist_ok=True)


def shared_password(settings: HubSettings) -> str:
    """The demo's shared password: generated once into ``<state>/password`` (mode 600), then reused."""
    from daisy_widgets.core.atomic import atomic_write_text

    ensure_state_dir(settings)
    path = settings.password_file
    if path.exists():
        text = path.read_text().strip()
        if len(text) >= 8:
            os.chmod(path, 0o600)
            return text
    password = secrets.token_urlsafe(12)
    atomic_write_text(path, password + "\n")  # mkstemp: the file is created with mode 600
    os.chmod(path, 0o600)
    return password


def data_service_env(settings: HubSettings) -> dict[str, str]:
    """``DAISY_TILED_URL``/``DAISY_TILED_API_KEY`` for the user servers, from the environment or state files."""
    env = {}
    for var, fname in DATA_SERVICE_VARS.items():
        value = os.environ.get(var)
        if not value and (settings.state_dir / fname).exists():
            value = (settings.state_dir / fname).read_text().strip()
        if value:
            env[var] = value
    return env


def user_server_env(settings: HubSettings) -> dict[str, str]:
    """Environment of every user server: the data folder, the venv on PATH, the data service."""
    bindir = str(Path(sys.executable).parent)
    env = {
        "DAISY_DATA_DIR": str(settings.data_dir),
        "DAISY_REPO": str(REPO),
        "PATH": os.pathsep.join([bindir, os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin")]),
        "JUPYTER_PREFER_ENV_PATH": "1",
        # Daisy's Voila template (no CDN) and server settings (MathJax from the bundle, not cdnjs)
        "JUPYTER_PATH": os.pathsep.join(filter(None, [str(JUPYTER_DIR), os.environ.get("JUPYTER_PATH")])),
        "JUPYTER_CONFIG_PATH": os.pathsep.join(
            filter(None, [str(JUPYTER_DIR / "config"), os.environ.get("JUPYTER_CONFIG_PATH")])
        ),
    }
    env.update(data_service_env(settings))
    # pre-started kernels of the Voila apps (daisy_widgets.kernel_pool)
    if os.environ.get("DAISY_VOILA_POOL"):
        env["DAISY_VOILA_POOL"] = os.environ["DAISY_VOILA_POOL"]
    # 0: the user server builds jsonschema's IRI grammar at start (daisy_widgets.server_launch)
    if os.environ.get("DAISY_DEFER_IRI_GRAMMAR"):
        env["DAISY_DEFER_IRI_GRAMMAR"] = os.environ["DAISY_DEFER_IRI_GRAMMAR"]
    return env


def user_service_env(environment: dict[str, str], user: str) -> dict[str, str]:
    """``environment`` with the data-service master key replaced by ``user``'s own key
    (``daisy_widgets.store.access.user_api_key``): the service then lets that server read the
    shared data and only its user's area. Unchanged when no key is configured."""
    master = environment.get("DAISY_TILED_API_KEY")
    if not master:
        return dict(environment)
    from daisy_widgets.store.access import user_api_key

    return {**environment, "DAISY_TILED_API_KEY": user_api_key(master, user)}


def prepare_home(home: Path, settings: HubSettings) -> None:
    """Create a user's home and link the repository's ``apps/``, ``notebooks/`` and the data folder into it."""
    home.mkdir(parents=True, exist_ok=True)
    targets = {"apps": REPO / "apps", "notebooks": REPO / "notebooks", "data": settings.data_dir}
    targets["docs"] = REPO / "docs"  # the help toggles of the apps link to these pages
    for name in SHARED_FOLDERS:
        link, target = home / name, targets[name]
        if link.is_symlink() and Path(os.readlink(link)) == target:
            continue
        if link.is_symlink():
            link.unlink()
        elif link.exists():
            continue  # the user made their own folder of that name: leave it
        link.symlink_to(target, target_is_directory=True)


def singleuser_args() -> list[str]:
    """Command-line options of the user servers: root allowed (one OS account), Voila and kernel culling."""
    return [
        "--allow-root",
        "--ServerApp.allow_root=True",
        f"--MappingKernelManager.cull_idle_timeout={CULL_IDLE_SECONDS}",
        "--MappingKernelManager.cull_interval=60",
        "--MappingKernelManager.cull_connected=False",
        "--VoilaConfiguration.strip_sources=True",
        "--VoilaConfiguration.show_tracebacks=True",
        "--ContentsManager.allow_hidden=False",
    ] + (
        [f"--MappingKernelManager.default_kernel_name={KERNEL_NAME}"]  # new notebooks in Lab: Daisy's kernel
        if (Path(sys.prefix) / "share" / "jupyter" / "kernels" / KERNEL_NAME / "kernel.json").exists()
        else []
    )


async def wait_listening(host: str, port: int, timeout: float, alive=None, every: float = 0.1) -> bool:
    """Wait until ``host:port`` accepts a connection (True), ``alive()`` says the process is gone, or
    ``timeout`` s pass (False). JupyterHub polls a new server with a back-off that grows to 5 s
    between tries, so a server that came up just after a try waits up to seconds for the next
    one; a spawner that waits for the port itself hands over a server that answers the first try."""
    import asyncio
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            _reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), every * 5)
        except (TimeoutError, OSError):
            if alive is not None and not await alive():
                return False
            await asyncio.sleep(every)
        else:
            writer.close()
            return True
    return False


def profiles():
    """``hub_config/profiles.py``: the sizes and culling times shared with the Kubernetes values."""
    if "daisy_profiles" in sys.modules:
        return sys.modules["daisy_profiles"]
    spec = importlib.util.spec_from_file_location(
        "daisy_profiles", Path(__file__).resolve().parent / "profiles.py"
    )
    mod = importlib.util.module_from_spec(spec)
    sys.modules["daisy_profiles"] = mod
    spec.loader.exec_module(mod)
    return mod


def _seconds_env(name: str, default: int) -> int:
    return _int_env(name, default, "a number of seconds (0: off)", 0, 10**7)


#: name of the hub service that stops idle user servers
CULLER_SERVICE = "idle-culler"


def idle_culler() -> tuple[list[dict], list[dict]]:
    """``(services, roles)`` for the hub: jupyterhub-idle-culler stopping user servers idle for
    ``DAISY_CULL_SERVER_SECONDS`` (what the Kubernetes chart's ``cull`` section runs), with only
    the scopes it needs. Empty lists when the timeout is 0."""
    prof = profiles()
    timeout = _seconds_env("DAISY_CULL_SERVER_SECONDS", prof.CULL_SERVER_AFTER)
    if timeout == 0:
        return [], []
    every = _seconds_env("DAISY_CULL_EVERY_SECONDS", min(prof.CULL_SERVER_EVERY, max(1, timeout // 2)))
    service = {
        "name": CULLER_SERVICE,
        "command": [
            sys.executable,
            "-m",
            "jupyterhub_idle_culler",
            f"--timeout={timeout}",
            f"--cull-every={max(1, every)}",
        ],
    }
    role = {
        "name": "daisy-idle-culler",
        "services": [CULLER_SERVICE],
        "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"],
    }
    return [service], [role]
