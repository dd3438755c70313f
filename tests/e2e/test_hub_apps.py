"""Log in to the demo hub through its real login page, land on the app index, open every app in apps/.

For each page: widgets rendered, no error text in the page, no error in the browser
console, no request leaving the machine (the page works offline, without a CDN), and
every WebGL canvas shows something. Screenshots go to test-artifacts/.
"""

from __future__ import annotations

import pytest

from daisy_widgets.apps_index import list_apps

pytestmark = pytest.mark.e2e

APPS = [a.name for a in list_apps(include_index=False)]


def _check(page, h, name):
    shot = h.screenshot(page, name)
    assert page.locator(".jupyter-widgets, .widget-box").count() > 0, f"no widget rendered ({shot})"
    assert not h.page_error_texts(page), f"error text in the page: {h.page_error_texts(page)} ({shot})"
    assert not page.daisy_watch.problems(), f"{page.daisy_watch.problems()} ({shot})"
    assert not h.blank_canvases(page), f"{h.blank_canvases(page)} ({shot})"


def test_login_lands_on_the_app_index(hub_page, e2e_harness):
    page = hub_page("alice")
    assert page.url.endswith("/user/alice/voila/render/apps/index.ipynb")
    index = page.locator(".daisy-app-index")
    index.wait_for()
    names = [e.get_attribute("data-app") for e in page.locator(".daisy-app-entry").all()]
    assert names == APPS
    for name in APPS:
        link = page.locator(f'.daisy-app-entry[data-app="{name}"] a.daisy-app-link')
        assert link.get_attribute("href") == f"{name}.ipynb"
        assert link.inner_text().strip()  # the app's title
    assert page.locator(".daisy-res-gpu").count() == 1 and page.locator(".daisy-res-dask").count() == 1
    assert page.locator(".daisy-lab-link a").get_attribute("href") == "/user/alice/lab"
    # no source cells in Voila's page
    assert "index_app()" not in page.inner_text("body")
    _check(page, e2e_harness, "index")


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
