"""JupyterHub configuration of the local Daisy demo (``make demo``).

One machine, one OS account: any user name logs in with the shared password
(generated once into ``.daisy/password``); each user gets their own Jupyter
server (a local process) with its home under ``.daisy/home/<user>``, where the
repository's ``apps/``, ``notebooks/`` and ``data/`` are linked. Users land on
the app index (``/user/<name>/daisy/apps``, a page of their server that needs no kernel;
``DAISY_INDEX=voila``: the Voila page of ``apps/index.ipynb``); JupyterLab is at ``/user/<name>/lab``.

This mode does NOT isolate users from each other: every user server runs as the
account that started the hub and can read the others' files. For a shared site,
use the Kubernetes deployment (KubeSpawner profiles) instead.

Addresses and folders come from the environment: see ``daisy_hub.py``.
"""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from jupyterhub.spawner import SimpleLocalProcessSpawner
from traitlets import default

from daisy_hub import (
    REPO,
    ensure_state_dir,
    idle_culler,
    landing_url,
    prepare_home,
    profiles,
    settings_from_env,
    shared_password,
    singleuser_args,
    user_server_env,
    user_service_env,
    wait_listening,
)

c = get_config()  # noqa: F821  (provided by JupyterHub when it loads this file)
settings = settings_from_env()
ensure_state_dir(settings)
BINDIR = Path(sys.executable).parent


class DaisyLocalSpawner(SimpleLocalProcessSpawner):
    """A local process per user, running as this account, with its home under ``<state>/home/<user>``."""

    @default("home_dir_template")
    def _default_home_template(self):
        return str(settings.home_root / "{username}")

    async def start(self):
        prepare_home(Path(self.home_dir), settings)
        self.notebook_dir = self.home_dir
        # the data service: this user's own key, derived from the service's master key
        self.environment = user_service_env(self.environment, self.user.name)
        ip, port = await super().start()
        await wait_listening(ip or "127.0.0.1", port, self.start_timeout, self._alive)  # no back-off lag
        return ip, port

    async def _alive(self) -> bool:
        return await self.poll() is None


# --- addresses -------------------------------------------------------------------
c.JupyterHub.ip = settings.ip
c.JupyterHub.port = settings.port
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = settings.hub_port
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{settings.proxy_api_port}"
c.ConfigurableHTTPProxy.command = [str(REPO / "node_modules" / ".bin" / "configurable-http-proxy")]
c.ConfigurableHTTPProxy.should_start = True

# --- state -------------------------------------------------------------------------
c.JupyterHub.db_url = f"sqlite:///{settings.state_dir / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(settings.state_dir / "jupyterhub_cookie_secret")
c.JupyterHub.cleanup_servers = True  # stopping the hub stops the user servers
c.JupyterHub.cleanup_proxy = True

# --- who may log in: any name, the shared password --------------------------------
c.JupyterHub.authenticator_class = "shared-password"
c.SharedPasswordAuthenticator.user_password = shared_password(settings)
c.Authenticator.allow_all = True
c.Authenticator.username_pattern = r"^[a-z0-9][a-z0-9._-]{0,31}$"  # names become folder names

# --- the user servers --------------------------------------------------------------
c.JupyterHub.spawner_class = DaisyLocalSpawner
# jupyterhub-singleuser, started through daisy_widgets.server_launch: jsonschema's IRI grammar
# (rfc3987_syntax, 1.8-3.5 s of Earley parser building) is built on first use, not at start
c.Spawner.cmd = [sys.executable, "-m", "daisy_widgets.server_launch", str(BINDIR / "jupyterhub-singleuser")]
c.Spawner.args = singleuser_args()
c.Spawner.default_url = landing_url()  # the app index (DAISY_INDEX)
c.Spawner.environment = user_server_env(settings)
c.Spawner.start_timeout = 180
c.Spawner.http_timeout = 180
c.JupyterHub.log_level = "INFO"

# --- idle user servers are stopped (kernels are culled inside each server) --------
c.JupyterHub.services, c.JupyterHub.load_roles = idle_culler()

# --- server profiles: the one definition shared with the Kubernetes values ---------
# hub_config/profiles.py sizes the CPU/GPU/Voila servers of the facility deployment.
# DAISY_PROFILE_MENU=1 shows its menu here too (the GPU profile greyed out: it needs
# the cluster); by default the demo spawns at once and lands on the app index.
if os.environ.get("DAISY_PROFILE_MENU") == "1":
    profiles().configure_local_spawner(c)
