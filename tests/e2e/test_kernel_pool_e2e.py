"""Pre-started kernels through the demo hub: a shared link opened on a pooled kernel shows what it names.

The user server keeps a kernel started ahead with the apps' modules imported
(``daisy_widgets.kernel_pool``); the page that takes it must still see its own query string
(Voila gives it to the kernel in ``QUERY_STRING``). The test waits until the pool has a
kernel ready, opens a link to the tomography app's Centre stage with a centre value, checks
from the server's log that this page got the pooled kernel, and that the app shows the
stage and the centre of the link.
"""

from __future__ import annotations

import time

import pytest

pytestmark = pytest.mark.e2e


def _count(hub, text: str) -> int:
    return hub.log().count(text)


def _wait_pool_ready(hub, before: int, timeout: float = 180.0) -> None:
    deadline = time.monotonic() + timeout
    while _count(hub, "ready in the pool") <= before:
        assert time.monotonic() < deadline, f"no pooled kernel got ready:\n{hub.log()[-3000:]}"
        time.sleep(0.5)


def test_a_shared_link_on_a_pooled_kernel_opens_its_stage_and_centre(hub_page, e2e_harness):
    h = e2e_harness
    hub = hub_page.hub
    ready_before = _count(hub, "ready in the pool")
    page = hub_page("pooled")  # the server starts, and with it the pool
    _wait_pool_ready(hub, ready_before)
    taken_before = _count(hub, "taken from the pool")
    page.goto(hub.app_url("pooled", "tomography") + "?stage=centre&center=41.5")
    h.wait_voila_done(page)
    page.locator(".daisy-tomo-app").wait_for()
    assert _count(hub, "taken from the pool") == taken_before + 1, "the page did not get the pooled kernel"

    selected = page.locator(".daisy-tomo-tabs .lm-TabBar-tab.lm-mod-current").inner_text()
    assert "4 Centre" in selected
    readout = page.locator(".daisy-tomo-centre-panel .daisy-tomo-center-slider .widget-readout").first
    page.wait_for_function("(el) => el.textContent.includes('41.5')", arg=readout.element_handle())
    assert not h.page_error_texts(page)
    h.screenshot(page, "kernel-pool-shared-link")
