"""``daisy apps`` (list the apps) and ``daisy app NAME`` (serve one app with Voila alone, no hub)."""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import webbrowser
from pathlib import Path

from ..core.errors import DaisyError

#: idle kernels of a standalone app are shut down after this many seconds
CULL_IDLE_SECONDS = 600


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "apps", help="list the Voila apps", description="List the apps (notebooks in apps/)."
    )
    p.add_argument("--dir", type=Path, default=None, help="apps folder (default: the repository's apps/)")
    p.set_defaults(func=run_list)

    a = subparsers.add_parser(
        "app",
        help="serve one app with Voila (no hub), e.g. daisy app tomography",
        description="Serve one app with Voila alone, on this machine (no JupyterHub, no login). "
        "Only this machine can connect (127.0.0.1).",
    )
    a.add_argument("name", help="app name (see 'daisy apps'), e.g. tomography, hxmt, index")
    a.add_argument("--dir", type=Path, default=None, help="apps folder (default: the repository's apps/)")
    a.add_argument("--port", type=int, default=8866, help="port (default 8866; 0: any free port)")
    a.add_argument("--no-browser", action="store_true", help="do not open a web browser")
    a.set_defaults(func=run_app)


def run_list(args: argparse.Namespace) -> int:
    from ..apps_index import apps_dir, list_apps

    folder = args.dir or apps_dir()
    apps = list_apps(folder, include_index=True)
    if not apps:
        raise DaisyError(f"no apps (notebooks) found in {folder}")
    width = max(len(a.name) for a in apps)
    for app in apps:
        print(f"{app.name:<{width}}  {app.title}")
        if app.description:
            print(f"{'':<{width}}  {app.description}")
    print(f"\n{len(apps)} app(s) in {folder}; serve one with: daisy app NAME")
    return 0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _port_busy(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def voila_command(notebook_dir: Path, port: int) -> list[str]:
    """The Voila command line serving ``notebook_dir`` on 127.0.0.1:``port``."""
    voila = shutil.which("voila", path=str(Path(sys.executable).parent)) or shutil.which("voila")
    if voila is None:
        raise DaisyError("Voila is not installed: pip install 'daisy-widgets[hub]' (or run 'make demo')")
    return [
        voila,
        str(notebook_dir),
        "--no-browser",
        f"--port={port}",
        "--Voila.ip=127.0.0.1",
        "--VoilaConfiguration.strip_sources=True",
        "--VoilaConfiguration.show_tracebacks=True",
        f"--MappingKernelManager.cull_idle_timeout={CULL_IDLE_SECONDS}",
        "--MappingKernelManager.cull_interval=60",
        "--MappingKernelManager.cull_connected=False",
    ]


def run_app(args: argparse.Namespace) -> int:
    from ..apps_index import apps_dir, find_app, list_apps

    folder = (args.dir or apps_dir()).resolve()
    app = find_app(args.name, folder)
    if app is None:
        names = ", ".join(a.name for a in list_apps(folder, include_index=True)) or "none"
        raise DaisyError(f"no app called {args.name!r} in {folder} (apps: {names})")
    port = args.port or _free_port()
    if _port_busy(port):
        raise DaisyError(f"port {port} is already in use; choose another with --port")
    url = f"http://127.0.0.1:{port}/voila/render/{app.name}.ipynb"
    env = dict(os.environ)
    env.setdefault("DAISY_DATA_DIR", str(folder.parent / "data"))
    jupyter_dir = folder.parent / "hub_config" / "jupyter"  # Daisy's Voila template: no CDN
    if (jupyter_dir / "voila" / "templates" / "daisy").is_dir():
        for var, path in (("JUPYTER_PATH", jupyter_dir), ("JUPYTER_CONFIG_PATH", jupyter_dir / "config")):
            env[var] = os.pathsep.join(filter(None, [str(path), env.get(var)]))
    print(f"daisy: serving {app.title!r} at {url}  (Ctrl-C to stop)", flush=True)
    # Voila in its own session: Ctrl-C reaches only us, and we stop Voila and its kernels in order
    proc = subprocess.Popen(voila_command(folder, port), cwd=folder, env=env, start_new_session=True)
    if not args.no_browser:
        threading.Thread(target=_open_when_up, args=(url, port, proc), daemon=True).start()
    try:
        return proc.wait()
    except KeyboardInterrupt:
        stop_process_tree(proc)
        return 0


def _descendants(pid: int) -> list[int]:
    """Processes below ``pid`` (Linux /proc; empty elsewhere)."""
    children: dict[int, list[int]] = {}
    try:
        entries = os.listdir("/proc")
    except OSError:
        return []
    for entry in entries:
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def stop_process_tree(proc: subprocess.Popen, grace: float = 20.0) -> None:
    """SIGTERM ``proc`` (Voila shuts its kernels down), then kill whatever of its tree is left."""
    tree = _descendants(proc.pid)
    proc.terminate()
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    for pid in tree:
        try:
            os.kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def _open_when_up(url: str, port: int, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        if _port_busy(port):
            webbrowser.open(url)
            return
        time.sleep(0.3)
