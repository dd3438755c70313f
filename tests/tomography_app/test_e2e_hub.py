"""The tomography app through the demo hub in Debian's Chromium (Playwright), on a 1366x768 screen.

Open the sample scan, auto centre, preview, reconstruct a small volume on Dask, see non-blank slice
views and a non-blank 3-D canvas, save, and check the saved values against the library called
directly. A bad file shows an error in words and the app works afterwards. No horizontal scroll,
no console error, no request leaving the machine. Screenshots of each stage in test-artifacts/.
"""

from __future__ import annotations

import io

import h5py
import numpy as np
import pytest

pytestmark = pytest.mark.e2e


def _not_blank(page, selector: str, min_range: int = 30) -> bool:
    """The element's screenshot has more than one grey level (an image is drawn)."""
    from PIL import Image

    img = Image.open(io.BytesIO(page.locator(selector).filter(visible=True).first.screenshot())).convert("L")
    lo, hi = img.getextrema()
    return hi - lo >= min_range


def _no_horizontal_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def _tab(page, title: str) -> None:
    page.locator(".daisy-tomo-tabs .lm-TabBar-tab", has_text=title).first.click()
    page.wait_for_timeout(700)


def _wait_text(page, selector: str, js_test: str, timeout: int = 180_000) -> None:
    page.wait_for_function(
        f"(el) => {{ const t = el.innerText; return {js_test}; }}",
        arg=page.locator(selector).first.element_handle(),
        timeout=timeout,
    )


def test_tomography_app_in_the_browser(hub_page, e2e_harness, tmp_path):
    from daisy_widgets.tomography import preprocess as P
    from daisy_widgets.tomography import reconstruct
    from daisy_widgets.tomography.io import read_scan

    h = e2e_harness
    hub = hub_page.hub
    sample = next(hub.data_dir.rglob("tomo*.h5"))
    broken = sample.parent / "broken_scan.h5"
    broken.write_bytes(sample.read_bytes()[:2000])  # a truncated copy
    page = hub_page("tomo")
    page.set_viewport_size({"width": 1366, "height": 768})
    page.goto(hub.app_url("tomo", "tomography"))
    h.wait_voila_done(page)
    page.locator(".daisy-tomo-app").wait_for()

    # 1. the sample scan is open, with its metadata
    meta = page.locator(".daisy-tomo-metadata").inner_text()
    assert sample.name in meta and "angles" in meta and "keV" in meta
    assert _no_horizontal_scroll(page)
    h.screenshot(page, "tomo-1-open")

    # 2. raw data: projection and sinogram views drawn
    _tab(page, "2 Raw data")
    assert _not_blank(page, ".daisy-tomo-tabs .daisy-image-figure")
    assert _no_horizontal_scroll(page)
    h.screenshot(page, "tomo-2-raw")

    # 3. preprocessing: switch stripe removal on (generated form), before/after shown
    _tab(page, "3 Preprocess")
    page.locator(".daisy-tomo-enable-stripes input").check()
    _wait_text(page, ".daisy-tomo-preview-status", "t.startsWith('row')")
    assert _no_horizontal_scroll(page)
    h.screenshot(page, "tomo-3-preprocess")

    # 4. auto centre, then the sweep
    _tab(page, "4 Centre")
    page.locator(".daisy-tomo-center-auto").click()
    _wait_text(page, ".daisy-tomo-center-value", "t.includes(' px (')")
    center_text = page.locator(".daisy-tomo-center-value").inner_text()
    assert "auto" in center_text
    page.locator(".daisy-tomo-sweep-run").click()
    page.locator(".daisy-tomo-sweep-pick").nth(2).wait_for()
    page.locator(".daisy-tomo-sweep-pick").nth(3).click()
    _wait_text(page, ".daisy-tomo-center-value", "t.includes('picked from the sweep')")
    _wait_text(page, ".daisy-tomo-preview-status", "t.startsWith('row')")
    assert _not_blank(page, ".daisy-tomo-centre-panel .daisy-tomo-preview .daisy-image-figure")
    assert _no_horizontal_scroll(page)
    h.screenshot(page, "tomo-4-centre")

    # 6. the preview follows a change of the filter
    _tab(page, "6 Preview")
    page.locator(".daisy-tomo-filter select").select_option("hann")
    _wait_text(page, ".daisy-tomo-preview-status", "t.includes('/hann')")
    h.screenshot(page, "tomo-6-preview")

    # 7. reconstruct the (small) volume on the Dask engine
    _tab(page, "7 Reconstruct")
    page.locator(".daisy-tomo-recon").click()
    status = ".daisy-tomo-recon-job .daisy-job-status"
    _wait_text(page, status, "['done', 'failed', 'cancelled'].includes(t.trim())", timeout=300_000)
    assert page.locator(status).inner_text().strip() == "done", page.locator(
        ".daisy-tomo-message"
    ).inner_text()
    h.screenshot(page, "tomo-7-reconstruct")

    # 8. result: three non-blank slice views and a non-blank WebGL canvas
    try:
        _wait_text(page, ".daisy-tomo-message", "t.includes('Reconstructed')", timeout=120_000)
        page.locator(".daisy-volume-3d canvas").first.wait_for(state="attached", timeout=120_000)
    finally:
        h.screenshot(page, "tomo-8-result-wait")
    page.wait_for_timeout(2500)
    for view in ("axial", "coronal", "sagittal"):
        assert _not_blank(page, f".daisy-volume-{view} .daisy-image-figure"), view
    assert page.locator(".daisy-volume-3d canvas").count() >= 1
    assert not h.blank_canvases(page), h.blank_canvases(page)
    assert _no_horizontal_scroll(page)
    out = tmp_path / "volume.h5"
    page.locator(".daisy-tomo-save-path input").fill(str(out))
    page.locator(".daisy-tomo-save").click()
    _wait_text(page, ".daisy-tomo-saved", "t.includes('Saved to')")
    h.screenshot(page, "tomo-8-result")

    # the saved file against the library called directly with the same centre
    with h5py.File(out) as f:
        vol = f["/exchange/data"][()]
        attrs = dict(f["/exchange"].attrs)
    scan = read_scan(sample)
    rows = slice(*map(int, attrs["slices"].split(":")))
    b = scan.block(rows)
    sino = P.remove_stripes(
        P.minus_log(P.normalize(b["projections"], b["flats"], b["darks"])).transpose(1, 0, 2), "sorting"
    )
    ref = reconstruct(
        np.ascontiguousarray(sino), scan.theta_rad, float(attrs["center"]), "fbp", str(attrs["filter"])
    )
    assert vol.shape == ref.shape
    np.testing.assert_allclose(vol, ref, rtol=1e-4, atol=1e-5)

    # a bad file: an error in words, then the app still works
    _tab(page, "1 Open")
    page.locator(".daisy-fb-refresh").click()
    page.wait_for_timeout(800)
    page.locator(".daisy-fb-list select").select_option(broken.name)
    page.locator(".daisy-fb-open").click()
    page.locator(".daisy-tomo-error").wait_for()
    err = page.locator(".daisy-tomo-message").inner_text()
    assert "cannot be used" in err and broken.name in err and "Traceback" not in page.inner_text("body")
    h.screenshot(page, "tomo-bad-file")
    page.locator(".daisy-fb-list select").select_option(sample.name)
    page.locator(".daisy-fb-open").click()
    _wait_text(page, ".daisy-tomo-message", "t.includes('Opened')")
    _tab(page, "6 Preview")
    _wait_text(page, ".daisy-tomo-preview-status", "t.startsWith('row')")
    assert not page.locator(".daisy-tomo-error").count()

    assert not h.page_error_texts(page), h.page_error_texts(page)
    assert not page.daisy_watch.problems(), page.daisy_watch.problems()
