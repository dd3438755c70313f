"""``hub_config/site_config.py`` read the way JupyterHub reads it: the settings a site gets.

With the limits backend of this machine (local processes as the users' accounts) and with
systemd (``jupyterhub-systemdspawner``): every value set must be one the spawner accepts.
"""

from __future__ import annotations

import os
import runpy
from pathlib import Path

import pytest
from traitlets.config import Config

from daisy_widgets.site import limits

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def site_file(tmp_path, monkeypatch):
    (tmp_path / "cert.pem").write_text("x")
    (tmp_path / "key.pem").write_text("x")
    (tmp_path / "root" / "state").mkdir(parents=True)
    (tmp_path / "root" / "state" / "tiled_api_key").write_text("b" * 64 + "\n")
    config = tmp_path / "site.yaml"
    config.write_text(
        f"root: {tmp_path / 'root'}\naddress: 10.0.0.5\nport: 8443\nhttps:\n  certificate: cert.pem\n"
        "  key: key.pem\nusers:\n  admins: [boss]\n  groups:\n    daisy-gpu: [alice]\n"
        "limits:\n  memory: 6G\n  cpu: 3\n  tasks: 900\ncull_idle_seconds: 1800\n"
    )
    monkeypatch.setenv("DAISY_SITE_CONFIG", str(config))
    monkeypatch.delenv("DAISY_CULL_EVERY_SECONDS", raising=False)
    monkeypatch.delenv("DAISY_CULL_SERVER_SECONDS", raising=False)
    return config


def _load(backend: str, monkeypatch) -> tuple[Config, dict]:
    monkeypatch.setattr(limits, "detect_backend", lambda *a: backend)
    c = Config()
    ns = runpy.run_path(str(ROOT / "hub_config" / "site_config.py"), init_globals={"get_config": lambda: c})
    return c, ns


def test_local_site_settings(site_file, tmp_path, monkeypatch):
    c, ns = _load("cgroup1", monkeypatch)
    assert c.JupyterHub.ip == "10.0.0.5" and c.JupyterHub.port == 8443
    assert c.JupyterHub.ssl_cert == str(tmp_path / "cert.pem") and c.JupyterHub.ssl_key == str(
        tmp_path / "key.pem"
    )
    assert c.JupyterHub.hub_ip == "127.0.0.1"
    assert c.JupyterHub.db_url == f"sqlite:///{tmp_path / 'root' / 'state' / 'jupyterhub.sqlite'}"
    assert c.JupyterHub.spawner_class is ns["SiteLocalSpawner"]
    assert c.JupyterHub.authenticator_class.endswith("DaisyNativeAuthenticator")
    assert c.Authenticator.admin_users == {"boss"}
    assert c.JupyterHub.load_groups == {"daisy-gpu": {"users": ["alice"]}}
    assert c.Spawner.cmd == [
        str(tmp_path / "root" / "venv" / "bin" / "python"),
        "-m",
        "daisy_widgets.server_launch",  # the IRI grammar built on first use, as on the demo hub
        "-m",
        "jupyterhub.singleuser",
    ]
    assert not any("allow" in a and "root" in a for a in c.Spawner.args)  # the servers are not root
    assert c.Spawner.environment["PATH"].startswith(str(tmp_path / "root" / "venv" / "bin"))
    (service,) = c.JupyterHub.services
    assert service["name"] == "idle-culler" and "--timeout=1800" in service["command"]
    assert "DAISY_CULL_SERVER_SECONDS" not in os.environ  # the config leaves no trace
    assert ns["GPU_GROUPS"] == ("beamtime-*", "daisy-gpu")  # the GPU profile's groups, as on Kubernetes
    assert "DAISY_DEFER_IRI_GRAMMAR" not in c.Spawner.environment  # the default: on first use
    monkeypatch.setenv("DAISY_DEFER_IRI_GRAMMAR", "0")  # the hub's setting reaches the user servers
    c, _ = _load("local", monkeypatch)
    assert c.Spawner.environment["DAISY_DEFER_IRI_GRAMMAR"] == "0"


def test_systemd_site_settings_are_accepted_by_systemdspawner(site_file, monkeypatch):
    from systemdspawner import SystemdSpawner

    c, ns = _load("systemd", monkeypatch)
    cls = c.JupyterHub.spawner_class
    assert issubclass(cls, SystemdSpawner)
    s = c.SystemdSpawner
    traits = SystemdSpawner.class_traits()
    for name in (
        "mem_limit",
        "cpu_limit",
        "username_template",
        "dynamic_users",
        "isolate_tmp",
        "unit_extra_properties",
    ):
        traits[name].validate(None, s[name])  # raises when the spawner would refuse the value
    assert traits["mem_limit"].validate(None, s.mem_limit) == 6 * 2**30 and s.cpu_limit == 3
    assert s.username_template == "daisy-{USERNAME}" and s.unit_extra_properties == {"TasksMax": "900"}
    assert s.disable_user_sudo and not s.dynamic_users
