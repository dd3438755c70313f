"""The users' system accounts, private homes and data-service keys on a site (run as root).

Hub user ``alice`` runs as system account ``<prefix>alice`` (``daisy-alice``), made
with ``useradd`` the first time her server starts (password locked: she logs in
through the hub only). Her home ``<home_root>/daisy-alice`` is hers alone (mode
0700); in it, read-only links to the site's apps, notebooks, docs and shared data;
her data-service key in ``~/.daisy/tiled_api_key`` (mode 0600, hers), which the
client finds through ``DAISY_STATE_DIR=~/.daisy``.
"""

from __future__ import annotations

import grp
import os
import pwd
import re
import subprocess
from pathlib import Path

from ..core.errors import DaisyError
from .config import SiteConfig

#: hub user names a site accepts (they become parts of account names and folders)
USERNAME_PATTERN = r"^[a-z][a-z0-9_-]{0,15}$"
#: folders of the code root linked into every home (read-only for the users)
CODE_FOLDERS = ("apps", "notebooks", "docs")
#: the user's own state folder (data-service address and key) inside the home
USER_STATE = ".daisy"


class AccountError(DaisyError):
    """A system account could not be made or changed."""


def _run(cmd: list[str]) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise AccountError(f"{' '.join(cmd)} failed ({proc.returncode}): {proc.stderr.strip()}")


def check_username(user: str) -> None:
    if not re.match(USERNAME_PATTERN, user):
        raise AccountError(
            f"user name {user!r}: expected {USERNAME_PATTERN} (lower-case letters, digits, - _)"
        )


def ensure_account(config: SiteConfig, user: str) -> pwd.struct_passwd:
    """The system account of hub user ``user``, made with ``useradd`` (locked password) when missing.

    With ``authenticator.kind: pam`` the account must already exist (PAM logged it in)."""
    check_username(user)
    name = config.account(user)
    try:
        return pwd.getpwnam(name)
    except KeyError:
        if config.authenticator == "pam":
            raise AccountError(f"no system account {name!r} (PAM logins use existing accounts)") from None
    config.home_root.mkdir(parents=True, exist_ok=True)
    home = config.home_root / name
    _run(["useradd", "--no-create-home", "--home-dir", str(home), "--shell", "/bin/bash", "--user-group",
          "--comment", f"Daisy user {user}", name])  # fmt: skip
    return pwd.getpwnam(name)


def set_group_membership(account: str, system_group: str, member: bool) -> None:
    """Add ``account`` to (or remove it from) ``system_group`` (e.g. the owner group of ``/dev/nvidia*``)."""
    try:
        members = grp.getgrnam(system_group).gr_mem
    except KeyError:
        raise AccountError(f"users.gpu_system_group: no system group {system_group!r}") from None
    if member and account not in members:
        _run(["usermod", "--append", "--groups", system_group, account])
    elif not member and account in members:
        _run(["gpasswd", "--delete", account, system_group])


def _link(link: Path, target: Path, uid: int, gid: int) -> None:
    if link.is_symlink() and Path(os.readlink(link)) == target:
        return
    if link.is_symlink():
        link.unlink()
    elif link.exists():
        return  # the user's own folder of that name: leave it
    link.symlink_to(target, target_is_directory=True)
    os.lchown(link, uid, gid)


def prepare_home(config: SiteConfig, account: pwd.struct_passwd, code_root: Path) -> Path:
    """Create (or repair) ``account``'s home: owned by it, mode 0700, links to the shared folders."""
    home = Path(account.pw_dir)
    home.mkdir(parents=True, exist_ok=True)
    os.chown(home, account.pw_uid, account.pw_gid)
    os.chmod(home, 0o700)
    for name in CODE_FOLDERS:
        _link(home / name, code_root / name, account.pw_uid, account.pw_gid)
    _link(home / "data", config.data_dir, account.pw_uid, account.pw_gid)
    return home


def write_private_file(dir_fd: int, name: str, text: str, uid: int, gid: int) -> None:
    """Write ``text`` to ``name`` in the open folder ``dir_fd``, owned by ``uid``/``gid``, mode 0600
    (temporary file, then rename; nothing is followed: the folder may belong to the user)."""
    tmp = f".{name}.tmp"
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW
    fd = os.open(tmp, flags, 0o600, dir_fd=dir_fd)
    try:
        os.fchown(fd, uid, gid)
        os.fchmod(fd, 0o600)
        os.write(fd, text.encode())
    finally:
        os.close(fd)
    os.replace(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)


def write_service_key(account: pwd.struct_passwd, user: str, master_key: str, url: str | None) -> Path:
    """``user``'s own data-service key (derived from the master key) in ``~/.daisy/tiled_api_key``
    (0600, the account's), and the service address in ``~/.daisy/tiled_url``; returns the state folder."""
    from ..store.access import user_api_key
    from ..store.settings import KEY_FILE, URL_FILE

    state = Path(account.pw_dir) / USER_STATE
    if state.is_symlink():
        state.unlink()  # never follow a link the user planted into a root write
    if not state.exists():
        state.mkdir(mode=0o700)
    dir_fd = os.open(state, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    try:
        os.fchown(dir_fd, account.pw_uid, account.pw_gid)
        os.fchmod(dir_fd, 0o700)
        key = user_api_key(master_key, user) + "\n"
        write_private_file(dir_fd, KEY_FILE, key, account.pw_uid, account.pw_gid)
        if url:
            write_private_file(dir_fd, URL_FILE, url + "\n", account.pw_uid, account.pw_gid)
    finally:
        os.close(dir_fd)
    return state


def remove_account(name: str, remove_home: bool = True) -> bool:
    """``userdel`` (``-r``: with its home) the account ``name``; False when there is none."""
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    subprocess.run(["pkill", "-KILL", "-u", name], capture_output=True)  # its processes only
    _run(["userdel", *(["--remove"] if remove_home else []), name])
    return True
