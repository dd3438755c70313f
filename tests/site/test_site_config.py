"""The site configuration is checked in full before anything starts; each problem names its key.

Also: the example file and the documented OAuth2/OIDC configuration are valid, and the
authenticators built from them receive every setting (no identity provider is needed).
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from daisy_widgets.site.config import SiteConfigError, check_config, load_config, parse_size

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def pem(tmp_path):
    (tmp_path / "cert.pem").write_text("-----BEGIN CERTIFICATE-----\n")
    (tmp_path / "key.pem").write_text("-----BEGIN PRIVATE KEY-----\n")
    return tmp_path


def _base(tmp_path: Path, **extra) -> dict:
    raw = {"root": str(tmp_path / "site"), "https": {"certificate": "cert.pem", "key": "key.pem"}}
    raw.update(extra)
    return raw


def _problems(raw: dict, source: Path) -> dict[str, str]:
    with pytest.raises(SiteConfigError) as info:
        check_config(raw, source)
    return dict(info.value.problems)


def test_a_minimal_configuration_gets_the_defaults(pem):
    site = check_config(_base(pem), pem / "site.yaml")
    assert site.authenticator == "native" and site.prefix == "daisy-"
    assert site.certificate == pem / "cert.pem" and site.key == pem / "key.pem"  # relative to the file
    assert site.port == 443 and site.url == "https://127.0.0.1:443/"
    assert site.account("alice") == "daisy-alice" and site.home_root == Path("/home")
    assert site.state_dir == pem / "site" / "state" and site.data_dir == pem / "site" / "data"
    assert site.limits.memory is None and site.cull_idle_seconds == 3600 and site.data_service


def test_unknown_authenticator_is_refused_naming_the_key(pem):
    problems = _problems(_base(pem, authenticator={"kind": "ldap"}), pem / "site.yaml")
    assert "authenticator.kind" in problems
    assert (
        "'ldap'" in problems["authenticator.kind"] and "native, pam, oauth" in problems["authenticator.kind"]
    )


def test_missing_certificate_file_is_refused_naming_the_key_and_the_path(pem):
    (pem / "cert.pem").unlink()
    problems = _problems(_base(pem), pem / "site.yaml")
    assert list(problems) == ["https.certificate"]
    assert str(pem / "cert.pem") in problems["https.certificate"]
    problems = _problems(_base(pem, https={"certificate": "key.pem"}), pem / "site.yaml")
    assert "missing" in problems["https.key"]
    assert "https" in _problems({"root": "/srv/x"}, pem / "site.yaml")  # no TLS said at all


def test_every_problem_is_reported_at_once(pem):
    raw = _base(
        pem,
        port="443",
        limits={"memory": "lots", "cpu": 0, "swap": 1},
        users={"prefix": "Daisy!", "admins": "root"},
        colour="blue",
    )
    problems = _problems(raw, pem / "site.yaml")
    assert {
        "port",
        "limits.memory",
        "limits.cpu",
        "limits.swap",
        "users.prefix",
        "users.admins",
        "colour",
    } <= set(problems)
    assert "unknown key" in problems["colour"] and "8G" in problems["limits.memory"]


def test_pam_needs_allowed_groups_and_no_prefix(pem):
    problems = _problems(
        _base(pem, authenticator={"kind": "pam"}, users={"prefix": "daisy-"}), pem / "s.yaml"
    )
    assert "authenticator.pam.allowed_groups" in problems and "users.prefix" in problems
    site = check_config(
        _base(pem, authenticator={"kind": "pam", "pam": {"allowed_groups": ["daisy-users"]}}), pem / "s.yaml"
    )
    assert site.prefix == "" and site.pam == {"allowed_groups": ["daisy-users"]}


def test_oauth_needs_its_addresses_over_https_and_a_secret_file(pem):
    raw = _base(
        pem, authenticator={"kind": "oauth", "oauth": {"client_id": "daisy", "token_url": "http://x/t"}}
    )
    problems = _problems(raw, pem / "site.yaml")
    for key in ("authorize_url", "userdata_url", "callback_url", "client_secret_file"):
        assert f"authenticator.oauth.{key}" in problems
    assert "https://" in problems["authenticator.oauth.token_url"]


def test_sizes():
    assert (
        parse_size("8G") == 8 * 2**30
        and parse_size("512M") == 512 * 2**20
        and parse_size("2GiB") == 2 * 2**30
    )
    assert parse_size(1000) == 1000
    with pytest.raises(ValueError):
        parse_size("eight gigabytes")


def test_unreadable_or_invalid_yaml_names_the_file(tmp_path):
    with pytest.raises(SiteConfigError, match=r"site\.yaml: \(file\): cannot be read"):
        load_config(tmp_path / "site.yaml")
    (tmp_path / "site.yaml").write_text("root: [unclosed\n")
    with pytest.raises(SiteConfigError, match="not valid YAML"):
        load_config(tmp_path / "site.yaml")


def test_the_example_file_is_valid(pem):
    raw = yaml.safe_load((ROOT / "hub_config" / "site.example.yaml").read_text())
    raw["https"] = {"certificate": str(pem / "cert.pem"), "key": str(pem / "key.pem")}
    site = check_config(raw, ROOT / "hub_config" / "site.example.yaml")
    assert (
        site.limits.memory == 8 * 2**30 and site.limits.cpu == 2 and site.groups == {"daisy-gpu": ("alice",)}
    )


def _doc_oauth_block() -> dict:
    text = (ROOT / "docs" / "deploy-site.md").read_text()
    block = re.search(r"<!-- oauth-example -->\n```yaml\n(.*?)```", text, re.S).group(1)
    return yaml.safe_load(block)


def test_documented_oauth_configuration_builds_the_generic_authenticator(pem):
    from oauthenticator.generic import GenericOAuthenticator
    from traitlets.config import Config

    from daisy_widgets.site.authenticators import configure_authenticator

    raw = _base(pem, **_doc_oauth_block())
    secret = pem / "oauth-client-secret"
    secret.write_text("s3cret-from-the-idp\n")
    raw["authenticator"]["oauth"]["client_secret_file"] = str(secret)
    site = check_config(raw, pem / "site.yaml")
    c = Config()
    configure_authenticator(c, site)
    assert c.JupyterHub.authenticator_class == "oauthenticator.generic.GenericOAuthenticator"
    auth = GenericOAuthenticator(config=c)
    base = "https://sso.facility.example/realms/facility/protocol/openid-connect/"
    assert auth.client_id == "daisy" and auth.client_secret == "s3cret-from-the-idp"
    assert auth.authorize_url == base + "auth" and auth.token_url == base + "token"
    assert auth.userdata_url == base + "userinfo"
    assert auth.oauth_callback_url == "https://daisy.facility.example/hub/oauth_callback"
    assert (
        auth.scope == ["openid", "profile", "email", "groups"] and auth.username_claim == "preferred_username"
    )
    assert auth.auth_state_groups_key == "oauth_user.groups"
    assert auth.allowed_groups == {"beamline-users"} and auth.admin_groups == {"beamline-staff"}
    assert auth.enable_pkce and not auth.allow_all
    assert auth.manage_groups  # hub groups (daisy-gpu...) follow the identity provider

    async def login(name: str, groups: list[str]) -> tuple[bool, bool, list[str]]:
        model = {"name": name, "admin": None, "auth_state": {"oauth_user": {"groups": groups}}}
        model = await auth._apply_managed_groups(model)
        return await auth.check_allowed(name, model), model["admin"], model["groups"]

    # the groups claim decides who may log in and who is an admin
    assert asyncio.run(login("carol", ["beamline-users", "daisy-gpu"])) == (
        True,
        False,
        ["beamline-users", "daisy-gpu"],
    )
    assert asyncio.run(login("dave", ["beamline-staff"]))[1] is True
    assert asyncio.run(login("mallory", ["visitors"]))[0] is False
    del raw["authenticator"]["oauth"]["groups_claim"]
    assert "authenticator.oauth.allowed_groups" in _problems(raw, pem / "site.yaml")


def test_native_and_pam_configurations_build_their_authenticators(pem):
    from jupyterhub.auth import PAMAuthenticator
    from traitlets.config import Config

    from daisy_widgets.site.authenticators import configure_authenticator
    from daisy_widgets.site.native_login import CompatLoginHandler, DaisyNativeAuthenticator

    c = Config()
    configure_authenticator(
        c, check_config(_base(pem, authenticator={"native": {"open_signup": False}}), pem / "s")
    )
    auth = DaisyNativeAuthenticator(add_new_table=False, config=c)  # no hub database here
    assert auth.open_signup is False and auth.minimum_password_length == 10 and auth.check_common_password
    assert dict(auth.get_handlers(None))[r"/login"] is CompatLoginHandler
    assert Path(c.JupyterHub.template_paths[0], "signup.html").is_file()
    c = Config()
    pam = {"kind": "pam", "pam": {"allowed_groups": ["daisy-users"]}}
    configure_authenticator(c, check_config(_base(pem, authenticator=pam), pem / "s"))
    assert PAMAuthenticator(config=c).allowed_groups == {"daisy-users"}


def test_cli_refuses_a_bad_configuration_before_anything_starts(tmp_path):
    config = tmp_path / "site.yaml"
    root = tmp_path / "root"
    config.write_text(
        f"root: {root}\nhttps:\n  certificate: missing.pem\n  key: missing.key\nauthenticator:\n  kind: kerberos\n"
    )
    for action in ("install", "check"):
        proc = subprocess.run(
            [sys.executable, "-m", "daisy_widgets.cli", "site", action, "--config", str(config)],
            capture_output=True,
            text=True,
            env=dict(os.environ, PYTHONPATH=str(ROOT)),
            timeout=120,
        )
        assert proc.returncode == 1, proc.stderr
        assert "Traceback" not in proc.stderr
        for key in ("authenticator.kind", "https.certificate", "https.key"):
            assert f"{config}: {key}:" in proc.stderr
        assert not root.exists()  # nothing was made


def test_systemd_unit_runs_the_launcher_and_starts_on_boot(tmp_path):
    from daisy_widgets.site.install import unit_text

    text = unit_text(tmp_path / "site.yaml")
    exec_line = next(line for line in text.splitlines() if line.startswith("ExecStart="))
    assert exec_line.endswith(f"hub_config/site_launcher.py --config {tmp_path / 'site.yaml'}")
    assert "WantedBy=multi-user.target" in text and "Restart=on-failure" in text and "User=root" in text


@pytest.mark.skipif(os.geteuid() != 0, reason="daisy site install runs as root")
def test_install_refuses_a_readable_key_or_a_taken_port_before_making_anything(pem):
    import socket

    from daisy_widgets.site.install import SiteError, install

    site = check_config(_base(pem, address="127.0.0.1", port=18999), pem / "site.yaml")
    os.chmod(pem / "key.pem", 0o644)
    with pytest.raises(SiteError, match=r"https\.key: .*key\.pem can be read by other accounts"):
        install(site, say=lambda text: None)
    assert not site.root.exists()
    os.chmod(pem / "key.pem", 0o600)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        site = check_config(_base(pem, address="127.0.0.1", port=port), pem / "site.yaml")
        with pytest.raises(SiteError, match=rf"site\.yaml: port: 127\.0\.0\.1:{port} is already in use"):
            install(site, say=lambda text: None)
    assert not site.root.exists()
