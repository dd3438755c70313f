"""The demo launcher (hub_config/demo.py, what ``make demo`` runs): busy port, banner, and Ctrl-C stopping everything."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from datetime import datetime

import psutil
import pytest

pytestmark = pytest.mark.e2e


def test_busy_port_is_reported_and_exits_nonzero(tmp_path, e2e_harness):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        env = dict(os.environ, PORT=str(port), DAISY_STATE_DIR=str(tmp_path / "state"))
        r = subprocess.run(
            [sys.executable, str(e2e_harness.ROOT / "hub_config" / "demo.py")],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert r.returncode != 0
    assert f"port {port}" in r.stderr and "already in use" in r.stderr


def test_ctrl_c_stops_hub_proxy_user_servers_and_kernels(tmp_path, e2e_harness):
    why = e2e_harness.missing_prerequisites()
    if why:
        pytest.skip(why)
    (tmp_path / "state").mkdir()
    (tmp_path / "state" / "tiled_url").write_text("http://127.0.0.1:9/api\n")  # left by an earlier service
    # started as a shell starts 'make demo &' (SIGINT ignored, inherited): the stop must not depend on it
    hub = e2e_harness.start_demo_hub(tmp_path / "state", tmp_path / "data", background_job=True)
    try:
        assert not (tmp_path / "state" / "tiled_url").exists()  # not handed to the user servers
        assert f"address:  {hub.url}" in hub.log() and f"password: {hub.password}" in hub.log()
        session, resp = e2e_harness.requests_login(hub, "carol")
        assert resp.status_code == 302
        e2e_harness.wait_server_ready(hub, session, "carol")
        # a kernel too, below the user server
        xsrf = session.cookies.get("_xsrf", path="/user/carol/") or session.cookies.get("_xsrf")
        r = session.post(
            hub.user_url("carol", "api/kernels"),
            json={"name": "python3"},
            headers={"X-XSRFToken": xsrf or ""},
            timeout=60,
        )
        assert r.status_code == 201, r.text
        tree = hub.process_tree()
        cmdlines = " ".join(" ".join(psutil.Process(p).cmdline()) for p in tree if psutil.pid_exists(p))
        assert "configurable-http-proxy" in cmdlines and "jupyterhub-singleuser" in cmdlines
        assert "ipykernel" in cmdlines
        procs = [psutil.Process(p) for p in tree if psutil.pid_exists(p)]
    finally:
        code = hub.stop()
    assert code == 0
    time.sleep(0.5)
    alive = [p for p in procs if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    assert not alive, [p.cmdline() for p in alive]
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", hub.port)) != 0, "the public port still answers"
    assert "stopped" in hub.log()
    # the hub's own service (the idle culler) stopped at JupyterHub's SIGINT, not at its SIGKILL 15 s later
    stamps = {}
    for line in hub.log().splitlines():
        for what in ("Cleaning up 1 services", "Cleaning up single-user servers"):
            if what in line:
                stamps[what] = datetime.strptime(line.split()[2], "%H:%M:%S.%f")
    assert (stamps["Cleaning up single-user servers"] - stamps["Cleaning up 1 services"]).total_seconds() < 8
    # no data folder here: the data service was reported as not running, and no stale address is left
    assert "data service: not running" in hub.log()
    assert not (tmp_path / "state" / "tiled_url").exists()


def test_an_idle_server_is_stopped_by_the_culler(tmp_path, e2e_harness):
    """jupyterhub-idle-culler runs as a hub service (timeout shortened here) and stops an idle server."""
    why = e2e_harness.missing_prerequisites()
    if why:
        pytest.skip(why)
    hub = e2e_harness.start_demo_hub(
        tmp_path / "state",
        tmp_path / "data",
        extra_env={
            "DAISY_CULL_SERVER_SECONDS": "15",
            "DAISY_CULL_EVERY_SECONDS": "3",
            "DAISY_DATA_SERVICE": "0",
        },
    )

    def user_servers():
        out = []
        for pid in hub.process_tree():
            try:
                if "jupyterhub-singleuser" in " ".join(psutil.Process(pid).cmdline()):
                    out.append(pid)
            except psutil.NoSuchProcess:
                pass
        return out

    try:
        session, resp = e2e_harness.requests_login(hub, "dave")
        assert resp.status_code == 302
        e2e_harness.wait_server_ready(hub, session, "dave")
        assert user_servers()
        stopped = "DELETE /hub/api/users/dave/server (idle-culler"  # the culler's stop request, answered

        deadline = time.monotonic() + 150
        while (user_servers() or stopped not in hub.log()) and time.monotonic() < deadline:
            time.sleep(1)
        assert not user_servers(), hub.log()[-3000:]
        assert "Culling server dave" in hub.log() and stopped in hub.log()
        e2e_harness.wait_server_ready(hub, session, "dave")  # the user comes back: a fresh server starts
        assert user_servers()
    finally:
        hub.stop()
