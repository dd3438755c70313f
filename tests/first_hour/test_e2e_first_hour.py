"""A new user's first hour, through the demo hub in Debian's Chromium (Playwright), in one browser session:

1. the index is a gallery: a card with a thumbnail for every app, the workbench and JupyterLab,
   the exploration notebooks, the resources (the demo's data service reachable), no result yet;
   it fits 1366x768 and a narrow window;
2. a shared URL (``?file=…&stage=centre&center=…``) opens the tomography app at the centre stage
   with that centre, and the address bar and *Copy link* follow the state;
3. the "?" of every tomography stage shows its help;
4. a volume reconstructed and saved in the app is listed under *Recent results* on the index,
   and its link reopens it in the tomography app (the result stage, its slices drawn);
5. the "?" of every HXMT stage shows its help, and the HXMT page shows its title once.

Screenshots in test-artifacts/ (``first-hour-*.png``). With ``DAISY_UPDATE_THUMBNAILS=1`` the
apps' thumbnails (``apps/thumbnails/``) are cut from the screenshots taken here.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from urllib.parse import quote

import h5py
import pytest

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]


def _not_blank(page, selector: str, min_range: int = 30) -> bool:
    from PIL import Image

    img = Image.open(io.BytesIO(page.locator(selector).filter(visible=True).first.screenshot())).convert("L")
    lo, hi = img.getextrema()
    return hi - lo >= min_range


def _no_horizontal_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def _wait_text(page, selector: str, js_test: str, timeout: int = 180_000) -> None:
    page.wait_for_function(
        f"(el) => {{ const t = el.innerText || el.value || ''; return {js_test}; }}",
        arg=page.locator(selector).first.element_handle(),
        timeout=timeout,
    )


def _current_tab(page) -> str:
    return page.locator(".daisy-tomo-tabs .lm-TabBar-tab.lm-mod-current").first.inner_text().strip()


def _open_help(page, scope: str = "") -> str:
    """Press the first visible "?" (inside ``scope``) and return the text of the help it opens."""
    button = page.locator(f"{scope} .daisy-help-button".strip()).filter(visible=True).first
    button.click()
    help_box = button.locator("xpath=ancestor::*[contains(@class,'daisy-help')][1]")
    text = help_box.locator(".daisy-help-text")
    text.wait_for(state="visible", timeout=10_000)
    return text.inner_text()


def _own_problems(page, seen: tuple[int, int, int]) -> list[str]:
    """Console errors, page errors and external requests since ``seen``, less Voila's own Font Awesome link."""
    w = page.daisy_watch
    external = [u for u in w.external[seen[2] :] if "fontawesome" not in u]
    console = list(w.console_errors[seen[0] :])
    for _ in range(len(w.external[seen[2] :]) - len(external)):
        hit = next((c for c in console if "net::ERR_FAILED" in c), None)
        if hit is not None:
            console.remove(hit)
    return external + console + list(w.page_errors[seen[1] :])


def _maybe_thumbnail(shot: Path, app: str) -> None:
    if os.environ.get("DAISY_UPDATE_THUMBNAILS") == "1":
        from daisy_widgets.app_thumbnails import make_thumbnail

        make_thumbnail(shot, ROOT / "apps" / "thumbnails" / f"{app}.png")


def test_first_hour_gallery_shared_link_help_and_recent_results(hub_page, e2e_harness):
    from daisy_widgets.apps_index import list_apps

    h = e2e_harness
    hub = hub_page.hub
    user = "newcomer"
    page = hub_page(user)
    w = page.daisy_watch
    seen = (len(w.console_errors), len(w.page_errors), len(w.external))
    page.set_viewport_size({"width": 1366, "height": 768})

    # 1. the gallery
    page.locator(".daisy-app-index").wait_for()
    apps = list_apps()
    cards = page.locator(".daisy-app-entry")
    assert [c.get_attribute("data-app") for c in cards.all()] == [a.name for a in apps]
    for app in apps:
        card = page.locator(f'.daisy-app-entry[data-app="{app.name}"]')
        assert app.title in card.inner_text() and app.description[:30] in card.inner_text()
        img = card.locator("img.daisy-app-thumb")
        assert img.evaluate("i => i.complete && i.naturalWidth") == 400, app.name  # the app's thumbnail
        href = card.locator("a.daisy-app-open").get_attribute("href")
        assert href == f"/user/{user}/voila/render/apps/{app.name}.ipynb"
    assert page.locator('.daisy-tool-card[data-tool="workbench"] a').count() == 1
    assert page.locator(".daisy-lab-link a").get_attribute("href") == f"/user/{user}/lab"
    notebooks = [a.get_attribute("href") for a in page.locator("a.daisy-notebook-link").all()]
    for nb in ("tomography_quickstart", "data_service"):
        assert f"/user/{user}/lab/tree/notebooks/{nb}.ipynb" in notebooks
    assert page.locator('.daisy-res-service[data-available="true"]').count() == 1  # the demo's service
    assert "GiB memory" in page.locator(".daisy-res-dask").inner_text()
    assert page.locator(".daisy-recent-none").count() == 1  # nothing saved yet
    assert _no_horizontal_scroll(page)
    h.screenshot(page, "first-hour-gallery-1366")
    page.set_viewport_size({"width": 480, "height": 900})
    page.wait_for_timeout(500)
    assert _no_horizontal_scroll(page), "the gallery scrolls sideways on a narrow window"
    h.screenshot(page, "first-hour-gallery-narrow")
    page.set_viewport_size({"width": 1366, "height": 768})

    # 2. a shared link opens the tomography app at the centre stage with its parameters
    sample = next(hub.data_dir.rglob("tomo*.h5"))
    with h5py.File(sample) as f:
        width = f["/exchange/data"].shape[2]
    center = round((width - 1) / 2 + 2.75, 2)
    rel = sample.relative_to(hub.data_dir)
    page.goto(hub.app_url(user, "tomography") + f"?file={quote(str(rel))}&stage=centre&center={center}")
    h.wait_voila_done(page)
    page.locator(".daisy-tomo-app").wait_for()
    _wait_text(page, ".daisy-tomo-center-value", f"t.includes('{center:.2f} px (from the shared link)')")
    assert _current_tab(page) == "4 Centre"
    assert (
        page.locator(".daisy-tomo-center-slider .widget-readout").first.inner_text().strip()
        == f"{center:.2f}"
    )
    assert sample.name in page.locator(".daisy-tomo-message").inner_text()
    page.wait_for_function("() => location.search.includes('stage=centre')", timeout=30_000)
    assert f"center={center:g}" in page.url and "file=" in page.url  # the address bar is the link
    h.screenshot(page, "first-hour-shared-link-centre")
    tomo_shot = e2e_harness.ARTIFACTS / "first-hour-shared-link-centre.png"
    _maybe_thumbnail(tomo_shot, "tomography")

    # 3. the help of every stage
    titles = [t.inner_text().strip() for t in page.locator(".daisy-tomo-tabs .lm-TabBar-tab").all()]
    assert len(titles) == 8
    for title in titles:
        page.locator(".daisy-tomo-tabs .lm-TabBar-tab", has_text=title).first.click()
        page.wait_for_timeout(600)
        text = _open_help(page, ".daisy-tomo-tabs")
        assert len(text) > 150 and "More:" in text, (title, text)
        if title == "4 Centre":
            assert "tomo.find_center" in text and "px" in text
            h.screenshot(page, "first-hour-help-centre")
        if title == "3 Preprocess":
            assert "tomo.remove_stripes" in text

    # 4. reconstruct, save: the result is listed on the index and reopens in the app
    page.locator(".daisy-tomo-tabs .lm-TabBar-tab", has_text="7 Reconstruct").first.click()
    page.wait_for_timeout(600)
    page.locator(".daisy-tomo-recon").click()
    # the status is read from its element: when the volume is done the app shows the Result stage,
    # and the Reconstruct stage leaves the page
    status = page.locator(".daisy-tomo-recon-job .daisy-job-status").first.element_handle()
    page.wait_for_function(
        "(el) => ['done', 'failed', 'cancelled'].includes(el.textContent.trim())", arg=status, timeout=300_000
    )
    assert status.text_content().strip() == "done", page.locator(".daisy-tomo-message").inner_text()
    _wait_text(page, ".daisy-tomo-message", "t.includes('Reconstructed')", timeout=120_000)
    page.locator(".daisy-tomo-save").click()
    _wait_text(page, ".daisy-tomo-saved", "t.includes('Saved to')")
    saved = Path(page.locator(".daisy-tomo-saved").inner_text().split("Saved to", 1)[1].strip().split()[0])
    page.wait_for_function("() => location.search.includes('result=')", timeout=30_000)
    page.locator(".daisy-copy-link-button").click()
    _wait_text(page, ".daisy-copy-link-button", "t.includes('Link copied')", timeout=10_000)
    link = page.locator(".daisy-copy-link-text").input_value()
    assert link.startswith(hub.url.rstrip("/")) and "result=" in link and "stage=result" in link

    page.goto(hub.index_url(user))
    h.wait_index_ready(page)
    first = page.locator(".daisy-recent-item").first
    first.wait_for()
    assert first.get_attribute("data-app") == "tomography" and saved.name in first.inner_text()
    h.screenshot(page, "first-hour-gallery-recent")
    first.locator("a.daisy-recent-link").click()
    page.wait_for_url("**/voila/render/apps/tomography.ipynb?result=*")
    h.wait_voila_done(page)
    _wait_text(page, ".daisy-tomo-message", "t.includes('Reopened the result')", timeout=120_000)
    assert _current_tab(page) == "8 Result"
    page.wait_for_timeout(2500)
    assert _not_blank(page, ".daisy-volume-axial .daisy-image-figure")
    h.screenshot(page, "first-hour-result-reopened")

    # 5. HXMT: the help of every stage, the title once
    page.goto(hub.app_url(user, "hxmt"))
    h.wait_voila_done(page)
    page.locator(".daisy-hxmt-app").wait_for()
    assert page.inner_text("body").count("Insight-HXMT data processing") == 1
    buttons = page.locator(".daisy-hxmt-app .daisy-help-button")
    assert buttons.count() == 4
    for i in range(4):
        buttons.nth(i).scroll_into_view_if_needed()
        buttons.nth(i).click()
    texts = [t.inner_text() for t in page.locator(".daisy-hxmt-app .daisy-help-text").all()]
    assert len(texts) == 4 and all(len(t) > 150 for t in texts), texts
    assert "hxmt.gtigen" in texts[1]
    page.evaluate("() => window.scrollTo(0, 0)")
    shot = h.screenshot(page, "first-hour-hxmt-help")
    _maybe_thumbnail(shot, "hxmt")

    assert not h.page_error_texts(page), h.page_error_texts(page)
    assert not _own_problems(page, seen), _own_problems(page, seen)
