"""The demo spawner waits for the user server's port itself (``daisy_hub.wait_listening``), so the
hub's back-off (up to 5 s between tries) adds no wait after the server is up."""

from __future__ import annotations

import asyncio
import importlib.util
import socket
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _daisy_hub():
    spec = importlib.util.spec_from_file_location(
        "daisy_hub_wait_tests", ROOT / "hub_config" / "daisy_hub.py"
    )
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_returns_as_soon_as_the_port_listens():
    hub = _daisy_hub()
    port = _free_port()

    async def scenario():
        server = None

        async def open_later():
            nonlocal server
            await asyncio.sleep(0.5)
            server = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", port)

        opener = asyncio.ensure_future(open_later())
        t0 = time.monotonic()
        ok = await hub.wait_listening("127.0.0.1", port, timeout=30)
        waited = time.monotonic() - t0
        await opener
        server.close()
        return ok, waited

    ok, waited = asyncio.run(scenario())
    assert ok is True
    assert 0.4 <= waited < 5  # polled every 0.1 s, not with a growing back-off


def test_gives_up_when_the_process_is_gone_or_at_the_timeout():
    hub = _daisy_hub()
    port = _free_port()  # nothing listens there

    async def gone() -> bool:
        return False

    t0 = time.monotonic()
    assert asyncio.run(hub.wait_listening("127.0.0.1", port, timeout=30, alive=gone)) is False
    assert time.monotonic() - t0 < 5
    t0 = time.monotonic()
    assert asyncio.run(hub.wait_listening("127.0.0.1", port, timeout=0.5)) is False
    assert 0.4 <= time.monotonic() - t0 < 5
