"""Log in to the demo hub through its real login page, land on the app index, open every app in apps/.

The index is a page of the user's server without a kernel (``daisy/apps``); the Voila page of
``apps/index.ipynb`` still works. For each page: widgets rendered (the apps), no error text in
the page, no error in the browser console, no request leaving the machine (the page works
offline, without a CDN), and every WebGL canvas shows something. Screenshots go to test-artifacts/.
"""

from __future__ import annotations

import pytest

from daisy_widgets.apps_index import list_apps

pytestmark = pytest.mark.e2e

APPS = [a.name for a in list_apps(include_index=False)]


def _check(page, h, name, widgets: bool = True):
    shot = h.screenshot(page, name)
    if widgets:
        assert page.locator(".jupyter-widgets, .widget-box").count() > 0, f"no widget rendered ({shot})"
    assert not h.page_error_texts(page), f"error text in the page: {h.page_error_texts(page)} ({shot})"
    assert not page.daisy_watch.problems(), f"{page.daisy_watch.problems()} ({shot})"
    assert not h.blank_canvases(page), f"{h.blank_canvases(page)} ({shot})"


def test_login_lands_on_the_app_index(hub_page, e2e_harness):
    page = hub_page("alice")
    assert page.url.endswith("/user/alice/daisy/apps")
    assert page.title() == "Daisy apps" and page.locator("h1").inner_text() == "Daisy apps"
    index = page.locator(".daisy-app-index")
    index.wait_for()
    names = [e.get_attribute("data-app") for e in page.locator(".daisy-app-entry").all()]
    assert names == APPS
    for name in APPS:
        link = page.locator(f'.daisy-app-entry[data-app="{name}"] a.daisy-app-link')
        assert link.get_attribute("href") == f"/user/alice/voila/render/apps/{name}.ipynb"
        assert link.inner_text().strip()  # the app's title
    # the resources, filled after the page from a probe process of the user server
    assert page.locator("#daisy-resources").get_attribute("data-state") == "done"
    assert page.locator(".daisy-res-gpu").count() == 1 and page.locator(".daisy-res-dask").count() == 1
    assert page.locator(".daisy-res-gpu").get_attribute("data-available") in ("true", "false")
    assert page.locator(".daisy-res-service").get_attribute("data-available") == "true"  # the demo's service
    assert page.locator(".daisy-lab-link a").get_attribute("href") == "/user/alice/lab"
    wb = page.locator("a.daisy-workbench-link").get_attribute("href")
    assert wb.startswith("/user/alice/lab/workspaces/daisy-workbench/")
    # no source code, no kernel, no widget JavaScript: one page and its inline script
    assert "index_app()" not in page.inner_text("body")
    assert page.locator("script[src]").count() == 0
    _check(page, e2e_harness, "index", widgets=False)


def test_the_voila_index_still_works(hub_page, e2e_harness):
    """``apps/index.ipynb`` through Voila (``DAISY_INDEX=voila``, ``daisy app index``): the same cards,
    links relative to the apps folder."""
    page = hub_page("alice")
    page.goto(hub_page.hub.voila_index_url("alice"))
    e2e_harness.wait_voila_done(page)
    page.locator(".daisy-app-index").wait_for()
    names = [e.get_attribute("data-app") for e in page.locator(".daisy-app-entry").all()]
    assert names == APPS
    first = page.locator(f'.daisy-app-entry[data-app="{APPS[0]}"] a.daisy-app-link')
    assert first.get_attribute("href") == f"{APPS[0]}.ipynb"
    assert page.locator(".daisy-res-gpu").count() == 1 and page.locator(".daisy-res-dask").count() == 1
    _check(page, e2e_harness, "index-voila")


@pytest.mark.parametrize("app", APPS)
def test_every_app_opens_from_the_index(hub_page, e2e_harness, app):
    page = hub_page("alice")
    page.locator(f'.daisy-app-entry[data-app="{app}"] a.daisy-app-link').click()
    page.wait_for_url(f"**/user/alice/voila/render/apps/{app}.ipynb*")
    e2e_harness.wait_voila_done(page)
    page.wait_for_timeout(1500)  # let widgets finish their first draw
    _check(page, e2e_harness, f"app-{app}")


def test_jupyterlab_is_reachable(hub_page, e2e_harness):
    page = hub_page("alice")
    page.goto(hub_page.hub.user_url("alice", "lab"))
    page.wait_for_selector(".jp-LabShell, #jp-main-dock-panel", timeout=180_000)
    e2e_harness.screenshot(page, "jupyterlab")
    # the user's home shows the repository's apps and notebooks
    page.wait_for_selector('.jp-DirListing-item[title^="Name: apps"]', timeout=60_000)
