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
    import httpx

    data = Path(data_dir).resolve()
    state = Path(state_dir) if state_dir else Path(tempfile.mkdtemp(prefix="daisy-service-"))
    state.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    env = dict(os.environ, DAISY_STATE_DIR=str(state))
    for var in ("DAISY_TILED_URL", "DAISY_TILED_API_KEY"):
        env.pop(var, None)
    log = state / "serve.log"
    with open(log, "w") as fh:
        proc = subprocess.Popen(
            [sys.executable, "-m", "daisy_widgets.cli", "data", "serve", str(data), "--port", str(port)],
            env=env,
            stdout=fh,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise ServiceError(f"the data service over {data} exited:\n{log.read_text()[-2000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            proc.kill()
            raise ServiceError(f"the data service over {data} did not answer in {timeout:.0f} s")
        time.sleep(0.3)
    key = (state / "tiled_api_key").read_text().strip()
    service = LocalService(f"http://127.0.0.1:{port}/api", key, state, data, proc, log)
    atexit.register(service.stop)  # never outlives the notebook's kernel or the script
    return service


__all__ = ["LocalService", "start_local_service"]
