"""The demo hub's configuration, loaded as JupyterHub loads it, and its helpers (password, homes, ports)."""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[2]


def _helpers():
    spec = importlib.util.spec_from_file_location("daisy_hub_for_tests", ROOT / "hub_config" / "daisy_hub.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses look their module up
    spec.loader.exec_module(mod)
    return mod


def _load_config(monkeypatch, tmp_path, **env):
    from traitlets.config.loader import PyFileConfigLoader

    monkeypatch.setenv("DAISY_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("DAISY_DATA_DIR", str(tmp_path / "data"))
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    loader = PyFileConfigLoader("jupyterhub_config.py", path=str(ROOT / "hub_config"))
    return loader.load_config()


def test_config_as_jupyterhub_loads_it(monkeypatch, tmp_path):
    c = _load_config(
        monkeypatch,
        tmp_path,
        PORT="8123",
        DAISY_TILED_URL="http://127.0.0.1:8765/api",
        DAISY_TILED_API_KEY="secret-key",
    )
    assert c.JupyterHub.ip == "127.0.0.1" and c.JupyterHub.port == 8123
    assert c.JupyterHub.authenticator_class == "shared-password"
    assert c.Authenticator.allow_all is True
    assert (
        c.SharedPasswordAuthenticator.user_password == (tmp_path / "state" / "password").read_text().strip()
    )
    assert c.Spawner.default_url == "/daisy/apps"  # the index page served without a kernel
    assert "--allow-root" in c.Spawner.args
    assert "--MappingKernelManager.cull_idle_timeout=600" in c.Spawner.args
    if (Path(sys.prefix) / "share" / "jupyter" / "kernels" / "daisy-python3").exists():
        assert "--MappingKernelManager.default_kernel_name=daisy-python3" in c.Spawner.args
    env = c.Spawner.environment
    assert env["DAISY_DATA_DIR"] == str((tmp_path / "data").resolve())
    assert (
        env["DAISY_TILED_URL"] == "http://127.0.0.1:8765/api" and env["DAISY_TILED_API_KEY"] == "secret-key"
    )
    proxy = Path(c.ConfigurableHTTPProxy.command[0])
    assert proxy.is_absolute() and proxy.name == "configurable-http-proxy"
    assert c.JupyterHub.db_url.endswith(str(tmp_path / "state" / "jupyterhub.sqlite"))


def test_daisy_index_voila_lands_on_the_voila_index(monkeypatch, tmp_path):
    c = _load_config(monkeypatch, tmp_path, DAISY_INDEX="voila")
    assert c.Spawner.default_url == "/voila/render/apps/index.ipynb"
    c = _load_config(monkeypatch, tmp_path, DAISY_INDEX="page")
    assert c.Spawner.default_url == "/daisy/apps"
    with pytest.raises(SystemExit, match="DAISY_INDEX='kernel' is not 'page' or 'voila'"):
        _load_config(monkeypatch, tmp_path, DAISY_INDEX="kernel")


def test_idle_servers_are_culled_with_the_kubernetes_timeout(monkeypatch, tmp_path):
    c = _load_config(monkeypatch, tmp_path)
    (svc,) = c.JupyterHub.services
    prof = _helpers().profiles()
    assert svc["command"][1:] == [
        "-m",
        "jupyterhub_idle_culler",
        f"--timeout={prof.CULL_SERVER_AFTER}",
        f"--cull-every={prof.CULL_SERVER_EVERY}",
    ]
    (role,) = c.JupyterHub.load_roles
    assert role["services"] == [svc["name"]]
    assert set(role["scopes"]) == {"list:users", "read:users:activity", "read:servers", "delete:servers"}
    c = _load_config(monkeypatch, tmp_path, DAISY_CULL_SERVER_SECONDS="40")
    assert c.JupyterHub.services[0]["command"][-2:] == ["--timeout=40", "--cull-every=20"]
    c = _load_config(monkeypatch, tmp_path, DAISY_CULL_SERVER_SECONDS="0")
    assert c.JupyterHub.services == [] and c.JupyterHub.load_roles == []
    with pytest.raises(SystemExit, match="DAISY_CULL_SERVER_SECONDS=.soon. is not a number of seconds"):
        _load_config(monkeypatch, tmp_path, DAISY_CULL_SERVER_SECONDS="soon")


def test_profile_menu_is_opt_in_and_comes_from_the_shared_profiles(monkeypatch, tmp_path):
    c = _load_config(monkeypatch, tmp_path)
    assert "options_form" not in c.Spawner  # default: spawn at once, land on the app index
    c = _load_config(monkeypatch, tmp_path, DAISY_PROFILE_MENU="1")
    assert c.Spawner.options_form.__module__ == "daisy_profiles"
    assert c.Spawner.apply_user_options.__name__ == "local_apply_user_options"


def test_password_is_generated_once_with_mode_600(tmp_path, monkeypatch):
    hub = _helpers()
    monkeypatch.setenv("DAISY_STATE_DIR", str(tmp_path / "state"))
    s = hub.settings_from_env()
    pw = hub.shared_password(s)
    assert len(pw) >= 12 and hub.shared_password(s) == pw
    assert (s.password_file.stat().st_mode & 0o777) == 0o600
    assert (s.state_dir.stat().st_mode & 0o777) == 0o700
    s.password_file.unlink()
    assert hub.shared_password(s) != pw  # deleting the file gives a new one


def test_bad_port_is_a_clear_error(monkeypatch):
    hub = _helpers()
    monkeypatch.setenv("PORT", "eighty")
    with pytest.raises(SystemExit, match="PORT='eighty' is not a port number"):
        hub.settings_from_env()


def test_user_home_links_apps_notebooks_and_data(tmp_path, monkeypatch):
    hub = _helpers()
    monkeypatch.setenv("DAISY_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("DAISY_DATA_DIR", str(tmp_path / "data"))
    s = hub.settings_from_env()
    home = s.home_root / "alice"
    hub.prepare_home(home, s)
    hub.prepare_home(home, s)  # idempotent
    assert (home / "apps" / "index.ipynb").exists()
    assert os.readlink(home / "notebooks") == str(ROOT / "notebooks")
    assert os.readlink(home / "data") == str(s.data_dir)


def test_voila_template_and_settings_need_no_cdn():
    jup = ROOT / "hub_config" / "jupyter"
    text = (jup / "voila" / "templates" / "daisy" / "index.html.j2").read_text()
    assert "cdn.jsdelivr" not in text and "cdnjs" not in text
    conf = json.loads((jup / "config" / "jupyter_server_config.json").read_text())
    assert conf["ServerApp"]["tornado_settings"]["mathjax_url"] == "null"  # the bundled MathJax, not cdnjs
    assert conf["VoilaConfiguration"]["template"] == "daisy"
    # the app index page (the landing page, no kernel) is a server extension of every user server
    assert conf["ServerApp"]["jpserver_extensions"] == {"daisy_widgets.index_page": True}


@pytest.mark.parametrize("name", ["jupyter_server_config.json", "voila.json"])
def test_voila_waits_for_a_large_widget_tree(name):
    """An app's widget tree is hundreds of comm messages; on a loaded machine they can take longer than
    nbclient's default 4 s after the cell's reply, and Voila would then drop the app's output (blank page).
    Voila's executor reads its timeout from the server's config: check it does from our file."""
    from traitlets.config.loader import JSONFileConfigLoader
    from voila.execute import VoilaExecutor

    config = JSONFileConfigLoader(name, path=str(ROOT / "hub_config" / "jupyter" / "config")).load_config()
    assert VoilaExecutor(nbformat.v4.new_notebook(), config=config).iopub_timeout >= 30


def test_kernelspec_display_name():
    spec = json.loads((ROOT / "kernels" / "daisy-python3" / "kernel.json").read_text())
    assert spec["display_name"] == "Daisy (Python 3)" and spec["argv"][0] == "python"
    installed = Path(sys.prefix) / "share" / "jupyter" / "kernels" / "daisy-python3" / "kernel.json"
    if not installed.exists():
        pytest.skip("kernelspec not installed in this venv yet (make setup installs it)")
    from jupyter_client.kernelspec import KernelSpecManager

    assert KernelSpecManager().get_kernel_spec("daisy-python3").display_name == "Daisy (Python 3)"
