"""``daisy workbench``: the Daisy Workbench in JupyterLab on this machine, without the hub."""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from ..core.errors import DaisyError

#: the workbench notebook written into the folder when it has none
NOTEBOOK_NAME = "workbench.ipynb"


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "workbench",
        help="open the Daisy Workbench in JupyterLab (no hub)",
        description="Start JupyterLab on this machine (127.0.0.1 only) with the Daisy Workbench: the "
        "workbench notebook and a console on one kernel, the data and algorithm toolboxes, the log "
        "and the workflow builder. The folder's workbench.ipynb is used (written when missing).",
    )
    p.add_argument(
        "--dir", type=Path, default=None, help="folder JupyterLab serves (default: the current one)"
    )
    p.add_argument("--port", type=int, default=8888, help="port (default 8888; 0: any free port)")
    p.add_argument("--no-browser", action="store_true", help="do not open a web browser")
    p.set_defaults(func=run_workbench)


def lab_command(
    root: Path, port: int, notebook: str, workspaces: Path, browser: bool, token: str
) -> list[str]:
    """The JupyterLab command line serving ``root`` on 127.0.0.1:``port`` and opening the workbench."""
    root_ok = ["--allow-root"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []
    return (
        [
            sys.executable,
            "-m",
            "jupyterlab",
            f"--ServerApp.root_dir={root}",
            f"--port={port}",
            "--ServerApp.ip=127.0.0.1",
            "--ServerApp.port_retries=0",
            f"--LabApp.workspaces_dir={workspaces}",  # a fresh layout on each start
            f"--ServerApp.default_url=/lab/workspaces/daisy-workbench/tree/{notebook}",
            "--LabApp.news_url=None",  # offline: no news fetched from outside
            f"--IdentityProvider.token={token}",
        ]
        + root_ok
        + ([] if browser else ["--no-browser"])
    )


def run_workbench(args: argparse.Namespace) -> int:
    from ..workbench.kernel import kernelspec_installed, workbench_notebook_text, write_kernelspec
    from .apps import _free_port, _port_busy

    root = (args.dir or Path.cwd()).resolve()
    if not root.is_dir():
        raise DaisyError(f"--dir {root}: not a folder")
    port = args.port or _free_port()
    if _port_busy(port):
        raise DaisyError(f"port {port} is already in use; choose another with --port")
    notebook = root / NOTEBOOK_NAME
    if not notebook.exists():
        notebook.write_text(workbench_notebook_text(), encoding="utf-8")
        print(f"daisy: wrote {notebook}", flush=True)
    env = dict(os.environ)
    with tempfile.TemporaryDirectory(prefix="daisy-workbench-") as tmp:
        if not kernelspec_installed():  # e.g. a pip install without make setup
            write_kernelspec(Path(tmp) / "share")
            env["JUPYTER_PATH"] = os.pathsep.join(
                filter(None, [str(Path(tmp) / "share"), env.get("JUPYTER_PATH")])
            )
        token = secrets.token_urlsafe(24)
        url = f"http://127.0.0.1:{port}/lab/workspaces/daisy-workbench/tree/{NOTEBOOK_NAME}?token={token}"
        print(f"daisy: Daisy Workbench at {url}  (Ctrl-C to stop)", flush=True)
        cmd = lab_command(root, port, NOTEBOOK_NAME, Path(tmp) / "workspaces", not args.no_browser, token)
        proc = subprocess.Popen(cmd, cwd=root, env=env, start_new_session=True)
        previous = signal.signal(signal.SIGTERM, _interrupt)  # stopped by a service manager: same clean-up
        try:
            return proc.wait()
        except KeyboardInterrupt:
            from .apps import stop_process_tree

            stop_process_tree(proc)
            return 0
        finally:
            signal.signal(signal.SIGTERM, previous)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt
