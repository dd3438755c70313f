"""A lost kernel is said in words on the app's page, and reloading brings the app back.

Through the demo hub in Chromium: the tomography app's kernel is killed (as the kernel of
a user who runs out of memory is), and another page's kernel is shut down (as idle culling
does). Each time the page shows the "daisy-kernel-lost" banner in plain words and a
"Reload the app" button that gives a working app again.
"""

from __future__ import annotations

import re
import signal

import psutil
import pytest

pytestmark = pytest.mark.e2e

BANNER = ".daisy-kernel-lost"


def _kernel_ids(urls: list[str]) -> list[str]:
    return [m.group(1) for u in urls if (m := re.search(r"/api/kernels/([0-9a-f-]{36})/channels", u))]


def _kernel_process(kernel_id: str) -> psutil.Process:
    for p in psutil.process_iter(["cmdline"]):
        if any(f"kernel-{kernel_id}.json" in a for a in (p.info["cmdline"] or [])):
            return p
    raise AssertionError(f"no process for kernel {kernel_id}")


def _open_watched(hub_page, e2e_harness, user: str, app: str):
    page = hub_page(user)
    sockets: list[str] = []
    page.on("websocket", lambda ws: sockets.append(ws.url))
    page.goto(hub_page.hub.app_url(user, app))
    e2e_harness.wait_voila_done(page)
    ids = _kernel_ids(sockets)
    assert ids, f"the {app} page opened no kernel websocket: {sockets}"
    return page, ids[-1]


def test_killed_kernel_is_said_and_reload_brings_the_app_back(hub_page, e2e_harness):
    page, kernel_id = _open_watched(hub_page, e2e_harness, "kloss", "tomography")
    page.locator(".daisy-tomo-app").wait_for()
    assert page.locator(BANNER).count() == 0  # nothing said while the kernel is fine
    _kernel_process(kernel_id).send_signal(signal.SIGKILL)  # what the OOM killer does
    banner = page.locator(BANNER)
    banner.wait_for(timeout=60_000)
    e2e_harness.screenshot(page, "kernel-restarted")
    assert banner.get_attribute("data-reason") == "restarted"
    text = banner.inner_text()
    assert "restarted" in text and "out of memory" in text and "saved are kept" in text
    assert "Traceback" not in text
    page.locator(".daisy-kernel-reload").click()
    e2e_harness.wait_voila_done(page)
    page.locator(".daisy-tomo-app").wait_for()
    assert page.locator(BANNER).count() == 0
    assert (
        ".h5" in page.locator(".daisy-tomo-metadata").inner_text()
    )  # a working app: the sample scan is open


def test_shut_down_kernel_is_said(hub_page, e2e_harness):
    page, kernel_id = _open_watched(hub_page, e2e_harness, "kloss", "index")
    status = page.evaluate(
        """async (id) => {
             const xsrf = (document.cookie.split('; ').find(c => c.startsWith('_xsrf=')) || '=').split('=')[1];
             const r = await fetch(`api/kernels/${id}`.replace(/^/, document.baseURI.replace(/voila\\/render\\/.*$/, '')),
                                   {method: 'DELETE', headers: {'X-XSRFToken': decodeURIComponent(xsrf)}});
             return r.status;
           }""",
        kernel_id,
    )
    assert status == 204, status
    banner = page.locator(BANNER)
    banner.wait_for(timeout=60_000)
    assert banner.get_attribute("data-reason") == "stopped"
    assert "has stopped" in banner.inner_text()
    page.locator(".daisy-kernel-reload").click()
    e2e_harness.wait_voila_done(page)
    page.locator(".daisy-app-index").wait_for()
    assert page.locator(BANNER).count() == 0
