"""A real data service for the tests: ``daisy data serve`` on a free port over a small data folder."""

from __future__ import annotations

import importlib.util
import itertools
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from daisy_widgets.store.local_service import launch_data_service

_spec = importlib.util.spec_from_file_location(
    "daisy_store_fixtures", Path(__file__).with_name("fixtures.py")
)
fixtures = importlib.util.module_from_spec(_spec)
sys.modules["daisy_store_fixtures"] = fixtures
_spec.loader.exec_module(fixtures)
_spec = importlib.util.spec_from_file_location("daisy_pg_cluster", Path(__file__).with_name("pg_cluster.py"))
pg_cluster = importlib.util.module_from_spec(_spec)
sys.modules["daisy_pg_cluster"] = pg_cluster
_spec.loader.exec_module(pg_cluster)

#: the catalog databases every catalog test runs on
BACKENDS = ("sqlite", "postgresql")
#: numbers the throw-away databases of one session
_DATABASE_NUMBERS = itertools.count(1)


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
def postgres():
    """A throw-away PostgreSQL cluster (skips, saying why, where PostgreSQL is not installed)."""
    if pg_cluster.pg_bin() is None:
        pytest.skip("PostgreSQL is not installed (no initdb/pg_ctl): `make test` as root installs it")
    cluster = pg_cluster.Cluster()
    yield cluster
    cluster.stop()


def catalog_args(backend: str, request, name: str, env: dict) -> list[str]:
    """``--catalog`` for ``backend`` (a fresh PostgreSQL database; its password in ``env``)."""
    if backend == "sqlite":
        return []
    cluster = request.getfixturevalue("postgres")
    # a new name each time: a session fixture may be set up again later in the same session
    # (under pytest-xdist its tests can come in any order), and the cluster lives for the session
    name = f"{name}_{next(_DATABASE_NUMBERS)}"
    cluster.create_database(name)
    env["DAISY_CATALOG_PASSWORD"] = pg_cluster.PASSWORD
    return ["--catalog", cluster.uri(name, password=False)]


@pytest.fixture(scope="session", params=BACKENDS)
def service(tmp_path_factory, request):
    pytest.importorskip("tiled.server")
    base = tmp_path_factory.mktemp(f"service-{request.param}")
    data, state = base / "data", base / "state"
    arrays = fixtures.write_data_folder(data)
    env = dict(os.environ)
    env.pop("DAISY_CATALOG_URI", None)
    extra = catalog_args(request.param, request, "service", env)
    log = base / "serve.log"
    launched = launch_data_service(data, state, extra_args=extra, env=env, log=log)
    url, key, proc = launched.url, launched.api_key, launched.process
    svc = Service(url, key, state, data, arrays, proc, log)
    svc.backend = request.param
    yield svc
    launched.stop(10)


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
