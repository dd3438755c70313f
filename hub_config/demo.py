"""Start the local Daisy demo hub (``make demo``) and stop everything it started on Ctrl-C.

Run with the venv's Python: ``.venv/bin/python hub_config/demo.py``. It

1. refuses to start (exit 3, with a message) when the public port is in use;
2. picks free loopback ports for the hub and the proxy API unless given
   (``DAISY_HUB_PORT``, ``DAISY_PROXY_API_PORT``);
3. prints the address, the shared password and the isolation warning;
4. starts the data service (``daisy data serve`` over the data folder, on a free
   loopback port, API key in ``<state>/tiled_api_key``), waits until it answers and
   hands its address and key to the user servers (``DAISY_TILED_URL``,
   ``DAISY_TILED_API_KEY``); ``DAISY_DATA_SERVICE=0`` skips it, and a service
   that does not come up is reported and the hub starts without it (the apps
   then read the data folder directly);
5. runs ``jupyterhub -f hub_config/jupyterhub_config.py``;
6. on Ctrl-C (or SIGTERM) lets JupyterHub stop the proxy and the user servers,
   then terminates whatever is still running below it. The launcher registers
   as a "child subreaper", so user servers and kernels whose parent exits are
   re-parented to it and cannot escape the clean-up.
"""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from daisy_hub import DATA_SERVICE_VARS, REPO, HubSettings, settings_from_env, shared_password

CONFIG = Path(__file__).resolve().parent / "jupyterhub_config.py"
EXIT_PORT_IN_USE = 3
EXIT_SETUP = 4
#: seconds JupyterHub gets to stop the user servers and the proxy after Ctrl-C
SHUTDOWN_GRACE = 60.0
#: seconds the data service gets to register the data folder and answer
SERVICE_START_TIMEOUT = 180.0


def _die_with_parent() -> None:
    """In the hub's (or the service's) process: get SIGTERM if the launcher dies (PR_SET_PDEATHSIG),
    and take SIGINT's default action back. A shell starts a background job with SIGINT ignored,
    and that would pass on to the hub's own services (the idle culler), which JupyterHub stops
    with SIGINT: each shutdown would then wait for the culler's SIGKILL."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM, 0, 0, 0)
    except (OSError, AttributeError):
        pass


def port_in_use(ip: str, port: int) -> bool:
    """True when something listens on ``ip:port`` or the port cannot be bound."""
    host = "127.0.0.1" if ip in ("", "0.0.0.0") else ip
    with socket.socket() as s:
        s.settimeout(0.5)
        if s.connect_ex((host, port)) == 0:
            return True
    with socket.socket() as s:
        try:
            s.bind((ip, port))
        except OSError:
            return True
    return False


def free_port(exclude: set[int] = frozenset()) -> int:
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in exclude:
            return port


def descendants(pid: int) -> list[int]:
    """All processes below ``pid`` (read from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                stat = fh.read()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _reap() -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def terminate_all(pids: list[int], grace: float = 10.0) -> None:
    """SIGTERM ``pids``, wait up to ``grace`` seconds, SIGKILL the rest."""
    for pid in pids:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        _reap()
        if not any(_alive(p) for p in pids):
            return
        time.sleep(0.1)
    for pid in pids:
        if _alive(pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    _reap()


def supervise_hub(
    hub: subprocess.Popen,
    service: subprocess.Popen | None,
    on_stop: Callable[[], None] = lambda: None,
    after_service: Callable[[], None] = lambda: None,
) -> tuple[int | None, bool]:
    """Wait for the hub (in its own session); on Ctrl-C or SIGTERM send it one SIGTERM, kill it after
    ``SHUTDOWN_GRACE`` seconds; then stop the data service (``after_service`` runs once it is
    stopped), and every process left below this one. Returns (the hub's exit code, whether a stop
    was asked)."""
    stop: list[float] = []

    def on_signal(signum, frame):
        if not stop:
            stop.append(time.monotonic())
            on_stop()
            if hub.poll() is None:
                hub.send_signal(signal.SIGTERM)

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    code = None
    try:
        while code is None:
            try:
                code = hub.wait(timeout=0.5)
            except subprocess.TimeoutExpired:
                if stop and time.monotonic() - stop[0] > SHUTDOWN_GRACE:
                    hub.kill()
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if service is not None:
            if service.poll() is None:
                terminate_all([service.pid])
            after_service()
        left = descendants(os.getpid())
        if left:
            terminate_all(left)
    return code, bool(stop)


def start_data_service(
    settings: HubSettings, env: dict[str, str], port: int, timeout: float = SERVICE_START_TIMEOUT
) -> tuple[subprocess.Popen | None, str]:
    """Start ``daisy data serve`` on ``127.0.0.1:port``; return (process, API URL), or (None, why not).

    Its output goes to ``<state>/data-service.log``. On success ``env`` gets
    ``DAISY_TILED_URL`` and ``DAISY_TILED_API_KEY`` for the hub's user servers.
    """
    from daisy_widgets.store.client import ServiceError
    from daisy_widgets.store.local_service import launch_data_service

    if not settings.data_dir.is_dir():
        return None, f"no data folder {settings.data_dir} (write it with: make sample)"
    senv = dict(env)
    for var in DATA_SERVICE_VARS:
        senv.pop(var, None)
    try:
        service = launch_data_service(
            settings.data_dir,
            settings.state_dir,
            port=port,
            env=senv,
            log=settings.state_dir / "data-service.log",
            timeout=timeout,
            cwd=settings.state_dir,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
    except ServiceError as exc:  # its first line, and the last lines of the service's log
        first, *log_tail = str(exc).splitlines()
        return None, " | ".join([first.rstrip(":"), *[line for line in log_tail if line.strip()][-3:]])
    env["DAISY_TILED_URL"], env["DAISY_TILED_API_KEY"] = service.url, service.api_key
    return service.process, service.url


def _forget_service_address(settings: HubSettings) -> None:
    """Remove ``<state>/tiled_url`` of a service that is not running (the user servers would
    otherwise be pointed at it by the hub's fallback to that file)."""
    try:
        (settings.state_dir / DATA_SERVICE_VARS["DAISY_TILED_URL"]).unlink()
    except FileNotFoundError:
        pass


def banner(settings: HubSettings, password: str, service_line: str = "") -> str:
    line = "=" * 72
    return "\n".join(
        [
            line,
            "Daisy demo hub",
            f"  address:  {settings.url}",
            "  user:     any name (letters, digits, . _ -)",
            f"  password: {password}",
            f"  (kept in {settings.password_file}; delete the file for a new one)",
            "  After login: the app index; JupyterLab at /user/<name>/lab",
            *([f"  data service: {service_line}"] if service_line else []),
            "  DEMO MODE DOES NOT ISOLATE USERS: every user server runs as this OS",
            "  account and can read the others' files. Do not expose it to a network.",
            "  Stop with Ctrl-C (stops the hub, the proxy, the data service and all user servers).",
            line,
        ]
    )


def main() -> int:
    settings = settings_from_env()
    if port_in_use(settings.ip, settings.port):
        print(
            f"daisy demo: port {settings.port} on {settings.ip} is already in use "
            f"(another demo running?). Stop it, or choose another port: make demo PORT=8010",
            file=sys.stderr,
        )
        return EXIT_PORT_IN_USE
    proxy = REPO / "node_modules" / ".bin" / "configurable-http-proxy"
    if not proxy.exists():
        print(f"daisy demo: {proxy} is missing; run 'make demo' (it installs it with npm)", file=sys.stderr)
        return EXIT_SETUP
    env = dict(os.environ)
    used = {settings.port}
    for var in ("DAISY_HUB_PORT", "DAISY_PROXY_API_PORT"):
        if not env.get(var):
            env[var] = str(free_port(used))
        used.add(int(env[var]))
    password = shared_password(settings)
    env.setdefault("DAISY_DATA_DIR", str(settings.data_dir))
    bindir = Path(sys.executable).parent
    env["PATH"] = os.pathsep.join([str(bindir), env.get("PATH", "")])

    try:  # PR_SET_CHILD_SUBREAPER: orphans below us are re-parented to us, so we can stop them
        ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)
    except (OSError, AttributeError):
        pass
    service, service_line = None, ""
    if env.get("DAISY_DATA_SERVICE", "1") != "0":
        port = int(env.get("DAISY_DATA_PORT") or free_port(used))
        print(
            f"daisy demo: starting the data service on 127.0.0.1:{port} (registering {settings.data_dir}) ...",
            flush=True,
        )
        service, service_line = start_data_service(settings, env, port)
        if service is None:
            print(
                f"daisy demo: the data service did not start: {service_line}; the apps read the data folder "
                "directly",
                file=sys.stderr,
                flush=True,
            )
            _forget_service_address(settings)
            service_line = "not running (see above)"
        else:
            service_line += "  (master key in the state folder; each user server gets its own key)"
    print(banner(settings, password, service_line), flush=True)
    hub = subprocess.Popen(
        [str(bindir / "jupyterhub"), "-f", str(CONFIG)],
        cwd=settings.state_dir,
        env=env,
        start_new_session=True,
        preexec_fn=_die_with_parent,
    )
    # the hub has its own session: a terminal's Ctrl-C reaches only us, and we send it one SIGTERM
    code, stop_requested = supervise_hub(
        hub,
        service,
        on_stop=lambda: print(
            "\ndaisy demo: stopping the hub, the proxy and the user servers ...", file=sys.stderr, flush=True
        ),
        after_service=lambda: _forget_service_address(settings),
    )
    print("daisy demo: stopped", file=sys.stderr, flush=True)
    return 0 if stop_requested else (code or 1)


if __name__ == "__main__":
    sys.exit(main())
