"""A real data service for the tests: ``daisy data serve`` on a free port over a small data folder."""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

_spec = importlib.util.spec_from_file_location(
    "daisy_store_fixtures", Path(__file__).with_name("fixtures.py")
)
fixtures = importlib.util.module_from_spec(_spec)
sys.modules["daisy_store_fixtures"] = fixtures
_spec.loader.exec_module(fixtures)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Service:
    def __init__(
        self, url: str, key: str, state: Path, data: Path, arrays: dict, proc: subprocess.Popen, log: Path
    ):
        self.url, self.key, self.state, self.data, self.arrays, self.proc, self.log = (
            url,
            key,
            state,
            data,
            arrays,
            proc,
            log,
        )


@pytest.fixture(scope="session")
def service(tmp_path_factory):
    pytest.importorskip("tiled.server")
    base = tmp_path_factory.mktemp("service")
    data, state = base / "data", base / "state"
    arrays = fixtures.write_data_folder(data)
    port = free_port()
    env = dict(os.environ, DAISY_STATE_DIR=str(state))
    env.pop("DAISY_TILED_URL", None)
    env.pop("DAISY_TILED_API_KEY", None)
    log = base / "serve.log"
    with open(log, "w") as fh:
        proc = subprocess.Popen(
            [sys.executable, "-m", "daisy_widgets.cli", "data", "serve", str(data), "--port", str(port)],
            env=env,
            stdout=fh,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}/api"
    import httpx

    deadline = time.monotonic() + 120
    while True:
        if proc.poll() is not None:
            raise RuntimeError("daisy data serve exited:\n" + log.read_text())
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError("daisy data serve did not start in 120 s:\n" + log.read_text())
        time.sleep(0.3)
    key = (state / "tiled_api_key").read_text().strip()
    yield Service(url, key, state, data, arrays, proc, log)
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture()
def env(service, monkeypatch, tmp_path):
    """The client's environment: URL and key of the test service, a private cache and state folder."""
    monkeypatch.setenv("DAISY_TILED_URL", service.url)
    monkeypatch.setenv("DAISY_TILED_API_KEY", service.key)
    monkeypatch.setenv("DAISY_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("DAISY_STATE_DIR", str(tmp_path / "client-state"))
    monkeypatch.setenv("JUPYTERHUB_USER", "alice")
    return service


@pytest.fixture(scope="session")
def client(service):
    from daisy_widgets.store import connect

    return connect(service.url, service.key)
