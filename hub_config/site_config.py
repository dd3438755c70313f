"""JupyterHub configuration of the Daisy site on one machine (``daisy site install``).

Loaded by ``jupyterhub -f hub_config/site_config.py`` with ``DAISY_SITE_CONFIG`` naming the
site's YAML file (checked by :mod:`daisy_widgets.site.config`; the installer refuses a bad
one before anything starts). The hub runs as root; each user's server and kernels run as
their own system account (``<prefix><user>``, made on first start), in their private home,
within the site's limits (:mod:`daisy_widgets.site.limits`). See ``docs/deploy-site.md``.
"""

import asyncio
import os
import sys
from fnmatch import fnmatch
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from jupyterhub.spawner import LocalProcessSpawner, set_user_setuid

from daisy_hub import REPO, idle_culler, landing_url, profiles, singleuser_args
from daisy_widgets.site import accounts, limits
from daisy_widgets.site.authenticators import configure_authenticator
from daisy_widgets.site.config import load_config

c = get_config()  # noqa: F821  (provided by JupyterHub when it loads this file)
site = load_config(os.environ.get("DAISY_SITE_CONFIG", "/etc/daisy/site.yaml"))
BACKEND = limits.detect_backend()
#: the data service's master key (the users get keys derived from it) and address
MASTER_KEY = (site.state_dir / "tiled_api_key").read_text().strip()
SERVICE_URL = os.environ.get("DAISY_TILED_URL", "")
#: hub groups whose members may use the GPU: the GPU profile's, as on Kubernetes (daisy-gpu, beamtime-*)
GPU_GROUPS = profiles().profile("gpu").allowed_groups


class SitePreparation:
    """Before a server starts: the account, the private home, the key file, the GPU group, the cgroup."""

    def _prepare(self) -> tuple:
        user = self.user.name
        account = accounts.ensure_account(site, user)
        in_gpu = any(fnmatch(g.name, pattern) for g in self.user.groups for pattern in GPU_GROUPS)
        if site.gpu_system_group:
            accounts.set_group_membership(account.pw_name, site.gpu_system_group, in_gpu)
        home = accounts.prepare_home(site, account, REPO)
        accounts.write_service_key(account, user, MASTER_KEY, SERVICE_URL or None)
        group = limits.make_user_group(BACKEND, account.pw_name, site.limits)
        return account, home, group, in_gpu

    def site_env(self, env: dict, account, in_gpu: bool) -> dict:
        env = {k: v for k, v in env.items() if k not in ("DAISY_TILED_API_KEY", "DAISY_TILED_URL")}
        env["DAISY_STATE_DIR"] = str(Path(account.pw_dir) / accounts.USER_STATE)  # the key file
        if not in_gpu:
            env["CUDA_VISIBLE_DEVICES"] = ""  # CuPy sees no GPU (the device files decide access)
        return env


class SiteLocalSpawner(SitePreparation, LocalProcessSpawner):
    """The user's server as their own account (setuid), in their cgroup or under rlimits."""

    async def start(self):
        self._account, home, self._group, self._in_gpu = await asyncio.to_thread(self._prepare)
        self.notebook_dir = str(home)
        return await super().start()

    def make_preexec_fn(self, name):
        setuid = set_user_setuid(self._account.pw_name)
        return limits.limiting_preexec(self._group, limits.rlimits(BACKEND, site.limits), setuid)

    def user_env(self, env):
        env.update(USER=self._account.pw_name, HOME=self._account.pw_dir, SHELL=self._account.pw_shell)
        return env

    def get_env(self):
        return self.site_env(super().get_env(), self._account, self._in_gpu)


def _systemd_spawner():
    from systemdspawner import SystemdSpawner

    class SiteSystemdSpawner(SitePreparation, SystemdSpawner):
        """The user's server as a transient systemd unit of their account, with systemd's limits."""

        async def start(self):
            self._account, home, _, self._in_gpu = await asyncio.to_thread(self._prepare)
            self.user_workingdir = str(home)
            return await super().start()

        def get_env(self):
            return self.site_env(super().get_env(), self._account, self._in_gpu)

    return SiteSystemdSpawner


# --- addresses and TLS -----------------------------------------------------------------
c.JupyterHub.ip = site.address
c.JupyterHub.port = site.port
if site.https:
    c.JupyterHub.ssl_cert = str(site.certificate)
    c.JupyterHub.ssl_key = str(site.key)
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = site.hub_port
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{site.proxy_api_port}"
c.ConfigurableHTTPProxy.command = [str(REPO / "node_modules" / ".bin" / "configurable-http-proxy")]

# --- state: kept across upgrades (the installer never deletes root/state) ----------------
c.JupyterHub.db_url = f"sqlite:///{site.state_dir / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(site.state_dir / "jupyterhub_cookie_secret")
c.ConfigurableHTTPProxy.pid_file = str(site.state_dir / "proxy.pid")
c.JupyterHub.cleanup_servers = True
c.JupyterHub.log_level = "INFO"

# --- login, admins and groups ----------------------------------------------------------
configure_authenticator(c, site)
c.Authenticator.username_pattern = accounts.USERNAME_PATTERN
c.Authenticator.admin_users = set(site.admins)
c.JupyterHub.load_groups = {name: {"users": list(members)} for name, members in site.groups.items()}

# --- the user servers --------------------------------------------------------------------
python = str(site.venv / "bin" / "python")
# jupyterhub-singleuser, started through daisy_widgets.server_launch as on the demo hub: jsonschema's
# IRI grammar built on first use, not at each server's start (DAISY_DEFER_IRI_GRAMMAR=0: at start)
c.Spawner.cmd = [python, "-m", "daisy_widgets.server_launch", "-m", "jupyterhub.singleuser"]
c.Spawner.args = [a for a in singleuser_args() if "allow-root" not in a and "allow_root" not in a]
c.Spawner.default_url = landing_url()  # the app index (DAISY_INDEX)
c.Spawner.environment = {
    "DAISY_DATA_DIR": str(site.data_dir),
    "DAISY_REPO": str(REPO),
    "PATH": f"{site.venv / 'bin'}:/usr/local/bin:/usr/bin:/bin",
    "JUPYTER_PREFER_ENV_PATH": "1",
    "JUPYTER_PATH": str(REPO / "hub_config" / "jupyter"),
    "JUPYTER_CONFIG_PATH": str(REPO / "hub_config" / "jupyter" / "config"),
}
if os.environ.get("DAISY_DEFER_IRI_GRAMMAR"):  # 0: the servers build the IRI grammar at start
    c.Spawner.environment["DAISY_DEFER_IRI_GRAMMAR"] = os.environ["DAISY_DEFER_IRI_GRAMMAR"]
c.Spawner.start_timeout = 180
c.Spawner.http_timeout = 180
if BACKEND == "systemd":
    c.JupyterHub.spawner_class = _systemd_spawner()
    c.SystemdSpawner.username_template = site.prefix + "{USERNAME}"
    c.SystemdSpawner.dynamic_users = False
    c.SystemdSpawner.isolate_tmp = True
    c.SystemdSpawner.disable_user_sudo = True
    c.SystemdSpawner.unit_name_template = "daisy-singleuser-{USERNAME}"
    if site.limits.memory:
        c.SystemdSpawner.mem_limit = site.limits.memory  # bytes
    if site.limits.cpu:
        c.SystemdSpawner.cpu_limit = site.limits.cpu
    if site.limits.tasks:
        c.SystemdSpawner.unit_extra_properties = {"TasksMax": str(site.limits.tasks)}
else:
    c.JupyterHub.spawner_class = SiteLocalSpawner

# --- idle servers are stopped ---------------------------------------------------------------
_saved = os.environ.get("DAISY_CULL_SERVER_SECONDS")
os.environ["DAISY_CULL_SERVER_SECONDS"] = str(site.cull_idle_seconds)  # what idle_culler() reads
try:
    c.JupyterHub.services, c.JupyterHub.load_roles = idle_culler()
finally:
    if _saved is None:
        del os.environ["DAISY_CULL_SERVER_SECONDS"]
    else:
        os.environ["DAISY_CULL_SERVER_SECONDS"] = _saved
