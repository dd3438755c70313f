"""A private data service on this machine, for a notebook or a script that has none configured.

On the hub every user server already has one (``DAISY_TILED_URL``, ``DAISY_TILED_API_KEY``).
Elsewhere — a laptop, ``make test`` running the exploration notebooks — :func:`start_local_service`
runs ``daisy data serve DIR`` on a free loopback port with its own state folder (catalog, key,
users' areas), waits until it answers and returns a handle; ``stop()`` (or leaving a ``with``
block) ends it::

    with start_local_service("data") as service:
        table = store.search_observations(target="crab", url=service.url, api_key=service.api_key)
"""

from __future__ import annotations

import atexit
import os
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .client import ServiceError


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class LocalService:
    """A running private data service: its ``url``, ``api_key`` (master key), ``state`` folder and process."""

    url: str
    api_key: str
    state: Path
    data: Path
    process: subprocess.Popen
    log: Path

    @property
    def port(self) -> int:
        """The loopback port it listens on."""
        return int(self.url.rsplit(":", 1)[1].split("/", 1)[0])

    def stop(self, timeout: float = 20.0) -> None:
        """End the service (SIGTERM, then SIGKILL after ``timeout`` s)."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)

    def __enter__(self) -> LocalService:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def launch_data_service(
    data_dir: str | os.PathLike,
    state_dir: str | os.PathLike,
    *,
    port: int | None = None,
    extra_args: tuple[str, ...] | list[str] = (),
    env: dict[str, str] | None = None,
    log: str | os.PathLike | None = None,
    timeout: float = 120.0,
    **popen: Any,
) -> LocalService:
    """Run ``daisy data serve DATA --port PORT [extra_args]`` and wait until ``/healthz`` answers.

    What the demo hub, the tests' services and the benchmarks each did on their own.

    Parameters
    ----------
    data_dir
        The folder to serve.
    state_dir
        The service's state folder (``DAISY_STATE_DIR``: catalog, API key, users' areas); made if missing.
    port
        Loopback port (default: a free one).
    extra_args
        More arguments of ``daisy data serve`` (``--catalog URI``...).
    env
        The service's environment (default: this process's), without ``DAISY_TILED_URL`` and
        ``DAISY_TILED_API_KEY`` (a service is not a client of another), with ``DAISY_STATE_DIR``.
    log
        File for the service's output (default ``<state>/serve.log``).
    timeout
        Seconds to wait for it to answer.
    **popen
        Passed to :class:`subprocess.Popen` (``cwd``, ``start_new_session``...).

    Raises
    ------
    ServiceError
        The service exited (the message gives its exit status and the end of its log) or did not
        answer in time (it is killed).
    """
    import urllib.error
    import urllib.request

    data, state = Path(data_dir).resolve(), Path(state_dir)
    state.mkdir(parents=True, exist_ok=True)
    port = port if port is not None else _free_port()
    senv = dict(os.environ if env is None else env, DAISY_STATE_DIR=str(state))
    for var in ("DAISY_TILED_URL", "DAISY_TILED_API_KEY"):
        senv.pop(var, None)
    log_path = Path(log) if log is not None else state / "serve.log"
    command = [sys.executable, "-m", "daisy_widgets.cli", "data", "serve", str(data), "--port", str(port)]
    with open(log_path, "wb") as fh:
        proc = subprocess.Popen(
            [*command, *extra_args], env=senv, stdout=fh, stderr=subprocess.STDOUT, **popen
        )
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            tail = log_path.read_text(errors="replace")[-2000:]
            raise ServiceError(
                f"the data service over {data} exited with {proc.returncode} (see {log_path}):\n{tail}"
            )
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                if r.status == 200:
                    break
        except (urllib.error.URLError, OSError):
            pass
        if time.monotonic() > deadline:
            proc.kill()
            proc.wait(5)
            raise ServiceError(
                f"the data service over {data} did not answer in {timeout:.0f} s (see {log_path})"
            )
        time.sleep(0.3)
    key = (state / "tiled_api_key").read_text().strip()
    return LocalService(f"http://127.0.0.1:{port}/api", key, state, data, proc, log_path)


def start_local_service(
    data_dir: str | os.PathLike, state_dir: str | os.PathLike | None = None, timeout: float = 120.0
) -> LocalService:
    """Serve ``data_dir`` on a free loopback port with a private state folder; wait until it answers.

    Parameters
    ----------
    data_dir
        The folder to serve (tomography scans, HXMT Level-1 exposures).
    state_dir
        Where the catalog, the API key and the users' areas go (default: a new temporary folder).
    timeout
        Seconds to wait for the service to answer.

    Raises
    ------
    ServiceError
        The service exited or did not answer in time (the message holds the end of its log).
    """
    state = Path(state_dir) if state_dir else Path(tempfile.mkdtemp(prefix="daisy-service-"))
    service = launch_data_service(data_dir, state, timeout=timeout)
    atexit.register(service.stop)  # never outlives the notebook's kernel or the script
    return service


__all__ = ["LocalService", "launch_data_service", "start_local_service"]
