"""Private homes, key files only their owner reads, real accounts, and a Python every account can run.

The home and key tests run as any user on temporary folders; the account and venv tests
need root (they make a throw-away system account with a test-only prefix, and remove it).
"""

from __future__ import annotations

import os
import pwd
import secrets
import subprocess
import tempfile
from pathlib import Path

import pytest

from daisy_widgets.site import accounts
from daisy_widgets.site.config import check_config
from daisy_widgets.site.userenv import blocking_component, build_user_venv
from daisy_widgets.store.access import user_api_key

ROOT = Path(__file__).resolve().parents[2]
MASTER = "a" * 64
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="makes system accounts: run as root")


def _site(tmp_path: Path, **extra):
    raw = {
        "root": str(tmp_path / "site"),
        "https": "off",
        "users": {"prefix": "dtsu-", "home_root": str(tmp_path)},
    }
    raw.update(extra)
    return check_config(raw, tmp_path / "site.yaml")


def _me(home: Path) -> pwd.struct_passwd:
    me = pwd.getpwuid(os.getuid())
    return pwd.struct_passwd((me.pw_name, "x", me.pw_uid, me.pw_gid, "", str(home), "/bin/sh"))


def test_home_is_private_and_links_the_shared_folders(tmp_path):
    site = _site(tmp_path)
    home = tmp_path / "dtsu-alice"
    (home / "apps").mkdir(parents=True)  # the user's own folder of that name is left alone
    accounts.prepare_home(site, _me(home), ROOT)
    assert home.stat().st_mode & 0o777 == 0o700
    assert (home / "apps").is_dir() and not (home / "apps").is_symlink()
    assert os.readlink(home / "notebooks") == str(ROOT / "notebooks")
    assert os.readlink(home / "data") == str(site.data_dir)


def test_key_file_is_the_users_own_key_mode_600(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    state = accounts.write_service_key(_me(home), "alice", MASTER, "http://127.0.0.1:9/api")
    key = state / "tiled_api_key"
    assert state.stat().st_mode & 0o777 == 0o700 and key.stat().st_mode & 0o777 == 0o600
    assert key.read_text().strip() == user_api_key(MASTER, "alice") != MASTER
    assert (state / "tiled_url").read_text().strip() == "http://127.0.0.1:9/api"
    assert not list(state.glob(".*.tmp"))


def test_a_planted_link_is_not_followed(tmp_path):
    """A user who replaces ``~/.daisy`` by a link to somewhere else does not get root to write there."""
    home, elsewhere = tmp_path / "home", tmp_path / "elsewhere"
    home.mkdir()
    elsewhere.mkdir()
    (home / ".daisy").symlink_to(elsewhere, target_is_directory=True)
    accounts.write_service_key(_me(home), "alice", MASTER, None)
    assert not any(elsewhere.iterdir())
    assert (home / ".daisy").is_dir() and not (home / ".daisy").is_symlink()
    (home / ".daisy" / "tiled_api_key").unlink()
    (home / ".daisy" / "tiled_api_key").symlink_to(elsewhere / "victim")
    accounts.write_service_key(_me(home), "alice", MASTER, None)  # the link is replaced, not written through
    assert not (elsewhere / "victim").exists()
    assert not (home / ".daisy" / "tiled_api_key").is_symlink()


def test_user_names_that_cannot_be_accounts_are_refused():
    for bad in ("Alice", "../etc", "a" * 17, "1abc", "al ice", ""):
        with pytest.raises(accounts.AccountError):
            accounts.check_username(bad)
    accounts.check_username("alice-2")


def test_blocking_component():
    base = Path(tempfile.mkdtemp(prefix="daisy-block-test-"))  # in /tmp, open to all
    try:
        os.chmod(base, 0o755)
        closed = base / "closed"
        (closed / "inner").mkdir(parents=True)
        (closed / "inner" / "f").write_text("x")
        os.chmod(closed, 0o700)
        assert blocking_component(closed / "inner" / "f") == closed
        os.chmod(closed, 0o755)
        os.chmod(closed / "inner" / "f", 0o600)
        assert blocking_component(closed / "inner" / "f") == closed / "inner" / "f"
        os.chmod(closed / "inner" / "f", 0o644)
        assert blocking_component(closed / "inner" / "f") is None
    finally:
        subprocess.run(["rm", "-rf", str(base)])


@needs_root
def test_account_is_made_once_and_removed(tmp_path):
    os.chmod(tmp_path, 0o755)
    prefix = f"dtsu{secrets.token_hex(2)}-"
    site = _site(tmp_path, users={"prefix": prefix, "home_root": str(tmp_path / "homes")})
    try:
        made = accounts.ensure_account(site, "carol")
        assert made.pw_name == prefix + "carol" and made.pw_dir == str(
            tmp_path / "homes" / (prefix + "carol")
        )
        assert made.pw_uid != 0 and accounts.ensure_account(site, "carol").pw_uid == made.pw_uid
        shadow = subprocess.run(["passwd", "--status", made.pw_name], capture_output=True, text=True).stdout
        assert shadow.split()[1] == "L"  # password locked: no login but through the hub
    finally:
        assert accounts.remove_account(prefix + "carol")
    assert not accounts.remove_account(prefix + "carol")
    with pytest.raises(KeyError):
        pwd.getpwnam(prefix + "carol")


@needs_root
def test_users_venv_runs_as_an_unprivileged_account():
    """The site's venv imports Daisy and JupyterHub as ``nobody``, even when this venv is behind /root."""
    base = Path(tempfile.mkdtemp(prefix="daisy-venv-test-"))
    try:
        os.chmod(base, 0o755)
        python = build_user_venv(base / "venv", ROOT)
        nobody = pwd.getpwnam("nobody")
        code = "import daisy_widgets, jupyterhub.singleuser, voila, os; print(daisy_widgets.__file__, os.getuid())"
        out = subprocess.run(
            [str(python), "-c", code],
            capture_output=True,
            text=True,
            user=nobody.pw_uid,
            group=nobody.pw_gid,
            extra_groups=[],
            cwd="/",
            env={"PATH": "/usr/bin:/bin", "HOME": "/nonexistent"},
            timeout=120,
        )
        assert out.returncode == 0, out.stderr
        path, uid = out.stdout.split()
        assert path == str(ROOT / "daisy_widgets" / "__init__.py") and int(uid) == nobody.pw_uid
        kernels = base / "venv" / "share" / "jupyter" / "kernels"
        assert (kernels / "daisy-python3" / "kernel.json").is_file() or not (ROOT / ".venv").exists()
        build_user_venv(base / "venv", ROOT)  # rebuilt in place (an upgrade)
        assert (base / "venv" / "bin" / "python").exists() and not (base / "venv.old").exists()
    finally:
        subprocess.run(["rm", "-rf", str(base)])
