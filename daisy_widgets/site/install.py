"""``daisy site install|status|stop``: set up, start, inspect and stop the site on one machine.

:func:`install` (as root) checks the configuration (nothing starts when it is refused),
makes the site folder (``<root>/state`` and ``<root>/log``: root only; kept across
upgrades: the hub database, the cookie secret, the data service's master key), rebuilds
the users' environment (``<root>/venv``, :mod:`.userenv`), writes the sample data when the
site names no data folder, stops a running site and starts the new one: as the systemd
unit ``daisy-site.service`` (enabled: it starts on boot) where systemd runs, else as a
background process whose id is kept in ``<root>/state/site.pid``. The users' homes and
accounts are never touched by an install.
"""

from __future__ import annotations

import os
import signal
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from ..core.errors import DaisyError
from . import limits
from .config import SiteConfig
from .userenv import build_user_venv

UNIT_NAME = "daisy-site.service"
UNIT_PATH = Path("/etc/systemd/system") / UNIT_NAME
#: seconds the hub gets to answer after starting
START_TIMEOUT = 180.0


class SiteError(DaisyError):
    """The site cannot be installed, started or stopped."""


def code_root() -> Path:
    """The Daisy code the site runs (``hub_config/``, ``apps/``, ``node_modules/``)."""
    return Path(__file__).resolve().parents[2]


def launcher_command(config_path: Path) -> list[str]:
    return [
        sys.executable,
        str(code_root() / "hub_config" / "site_launcher.py"),
        "--config",
        str(config_path),
    ]


def unit_text(config_path: Path) -> str:
    """The systemd unit that runs the site and starts it on boot."""
    return "\n".join(
        [
            "[Unit]",
            "Description=Daisy site (JupyterHub, one machine)",
            "After=network-online.target",
            "Wants=network-online.target",
            "",
            "[Service]",
            "User=root",
            f"ExecStart={' '.join(launcher_command(config_path))}",
            "KillMode=mixed",
            "Restart=on-failure",
            "RestartSec=5",
            "TimeoutStopSec=90",
            "",
            "[Install]",
            "WantedBy=multi-user.target",
            "",
        ]
    )


def pid_file(site: SiteConfig) -> Path:
    return site.state_dir / "site.pid"


def running_pid(site: SiteConfig) -> int | None:
    """The launcher's process id when it runs (from ``<root>/state/site.pid``), else None."""
    try:
        pid = int(pid_file(site).read_text().split()[0])
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, ValueError, IndexError):
        return None
    return pid if b"site_launcher.py" in cmdline else None


def health(site: SiteConfig, timeout: float = 5.0) -> bool:
    """True when the hub answers ``/hub/health`` (the site's own certificate is not verified here)."""
    ctx = ssl.create_default_context()
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    try:
        with urllib.request.urlopen(site.url + "hub/health", timeout=timeout, context=ctx) as r:
            return r.status == 200
    except (urllib.error.URLError, OSError):
        return False


def _prepare_folders(site: SiteConfig) -> None:
    site.root.mkdir(parents=True, exist_ok=True)
    os.chmod(site.root, 0o755)  # the users' venv lives here
    for folder in (site.state_dir, site.log_dir):
        folder.mkdir(exist_ok=True)
        os.chmod(folder, 0o700)
    site.home_root.mkdir(parents=True, exist_ok=True)


def _prepare_data(site: SiteConfig, say) -> None:
    """The sample data in ``<root>/data`` when the site names no data folder; read-only to users."""
    if site.data is not None:
        mode = site.data.stat().st_mode
        if mode & 0o002:
            raise SiteError(
                f"data: {site.data} can be written by everyone (mode {mode & 0o777:o}): chmod o-w it"
            )
        return
    if not site.data_dir.is_dir():
        say(f"writing the sample data into {site.data_dir} ...")
        subprocess.run(
            [
                sys.executable,
                "-m",
                "daisy_widgets.cli",
                "data",
                "sample",
                "--small",
                "--out",
                str(site.data_dir),
            ],
            check=True,
            env=dict(os.environ, DAISY_STATE_DIR=str(site.state_dir)),
        )
    for path in (site.data_dir, *site.data_dir.rglob("*")):
        if not path.is_symlink():
            os.chown(path, 0, 0)
            os.chmod(path, 0o755 if path.is_dir() else 0o644)


def _start_background(site: SiteConfig, config_path: Path) -> int:
    log = open(site.log_dir / "site.log", "ab")  # noqa: SIM115  (handed to the child)
    with log:
        proc = subprocess.Popen(
            launcher_command(config_path),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            cwd=site.state_dir,
        )
    pid_file(site).write_text(f"{proc.pid}\n")
    return proc.pid


def _port_free(address: str, port: int) -> bool:
    import socket

    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((address, port))
        except OSError:
            return False
    return True


def _check_key(site: SiteConfig) -> None:
    """Refuse a TLS key other accounts can read (the users' servers run on this machine)."""
    if site.key is not None and site.key.stat().st_mode & 0o077:
        raise SiteError(
            f"https.key: {site.key} can be read by other accounts (mode {site.key.stat().st_mode & 0o777:o}): "
            "chmod 600 it (the users' servers run on this machine)"
        )


def _check_ports(site: SiteConfig) -> None:
    """Refuse ports another program holds (the health check would otherwise ask that program)."""
    for key, address, port in (
        ("port", site.address, site.port),
        ("hub_port", "127.0.0.1", site.hub_port),
        ("proxy_api_port", "127.0.0.1", site.proxy_api_port),
    ):
        if not _port_free(address, port):
            raise SiteError(f"{site.source}: {key}: {address}:{port} is already in use by another program")


def install(site: SiteConfig, say=print) -> str:
    """Install (or upgrade) and start the site; returns its address. SiteError when it cannot."""
    if os.geteuid() != 0:
        raise SiteError("daisy site install must run as root (it makes system accounts and runs the hub)")
    proxy = code_root() / "node_modules" / ".bin" / "configurable-http-proxy"
    if not proxy.exists():
        raise SiteError(f"{proxy} is missing: run make setup first")
    from ..store.settings import ensure_api_key

    config_path = site.source.resolve()
    _check_key(site)
    if not limits.systemd_runs() and running_pid(site) is None:
        _check_ports(site)  # before anything is made; a running site of ours is checked once stopped
    _prepare_folders(site)
    _prepare_data(site, say)
    ensure_api_key(site.state_dir)  # the data service's master key: made once, kept
    say(f"users' environment: {build_user_venv(site.venv, code_root())}")
    backend = limits.detect_backend()
    say(f"limits: {limits.describe(backend, site.limits)}")
    if limits.systemd_runs():
        UNIT_PATH.write_text(unit_text(config_path))
        for cmd in (["daemon-reload"], ["enable", UNIT_NAME], ["restart", UNIT_NAME]):
            subprocess.run(["systemctl", *cmd], check=True)
        say(f"systemd unit {UNIT_PATH} enabled (starts on boot) and (re)started")
    else:
        if running_pid(site) is not None:
            say("stopping the running site (upgrade: homes, hub database and keys are kept) ...")
            stop(site, say)
        _check_ports(site)
        pid = _start_background(site, config_path)
        say(f"no systemd here: started in the background (pid {pid}; log {site.log_dir / 'site.log'})")
    deadline = time.monotonic() + START_TIMEOUT
    while not health(site):
        if time.monotonic() > deadline or (not limits.systemd_runs() and running_pid(site) is None):
            tail = (
                (site.log_dir / "site.log").read_text(errors="replace")[-2000:]
                if not limits.systemd_runs()
                else ""
            )
            raise SiteError(f"the hub did not answer at {site.url}\n{tail}")
        time.sleep(0.5)
    say(f"Daisy site running at {site.url} (login: {site.authenticator})")
    return site.url


def status(site: SiteConfig) -> dict:
    """What runs: the launcher, the hub's health, the accounts made so far, the limits."""
    import pwd

    pid = running_pid(site)
    accounts = sorted(p.pw_name for p in pwd.getpwall() if site.prefix and p.pw_name.startswith(site.prefix))
    backend = limits.detect_backend()
    return {
        "url": site.url,
        "running": health(site),
        "pid": pid,
        "systemd_unit": str(UNIT_PATH) if UNIT_PATH.exists() else None,
        "accounts": accounts,
        "limits": limits.describe(backend, site.limits),
        "hub_database": str(site.state_dir / "jupyterhub.sqlite"),
        "log": str(site.log_dir / "site.log"),
    }


def stop(site: SiteConfig, say=print, timeout: float = 90.0) -> bool:
    """Stop the site (hub, proxy, user servers, data service); False when none was running."""
    if limits.systemd_runs() and UNIT_PATH.exists():
        subprocess.run(["systemctl", "stop", UNIT_NAME], check=True)
        return True
    pid = running_pid(site)
    if pid is None:
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while running_pid(site) == pid and time.monotonic() < deadline:
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass
        time.sleep(0.3)
    if running_pid(site) == pid:
        os.kill(pid, signal.SIGKILL)
    pid_file(site).unlink(missing_ok=True)
    say("daisy site: stopped")
    return True


__all__ = ["SiteError", "install", "status", "stop", "unit_text"]
