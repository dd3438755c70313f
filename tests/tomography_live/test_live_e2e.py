"""Live mode in the browser: the tomography app follows a scan that ``daisy tomo acquire`` is writing.

A 360° scan. Two screenshots of the live preview at different numbers of frames, the second closer to the
phantom (measured on the preview's own pixels, read from the page); then the final volume,
reconstructed by itself when the scan completes. Screenshots in test-artifacts/ and docs/img/.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from daisy_widgets.tomography.io.swmr_writer import PhantomDetector

from .conftest import daisy_process

pytestmark = pytest.mark.e2e

WIDTH, ROWS, ANGLES = 256, 4, 360

_PIXELS = """(el) => {
  const c = document.createElement('canvas');
  c.width = el.naturalWidth; c.height = el.naturalHeight;
  const g = c.getContext('2d'); g.drawImage(el, 0, 0);
  const d = g.getImageData(0, 0, c.width, c.height).data;
  const out = [];
  for (let i = 0; i < d.length; i += 4) out.push(d[i]);
  return {w: c.width, h: c.height, px: out};
}"""


def _preview_pixels(page) -> np.ndarray:
    img = page.locator(".daisy-tomo-live-preview").first
    for _ in range(100):  # the image is replaced as the preview updates: read one that has loaded
        got = img.evaluate("(el) => (el.complete && el.naturalWidth > 0) ? (" + _PIXELS + ")(el) : null")
        if got:
            return np.asarray(got["px"], np.float64).reshape(got["h"], got["w"])
        page.wait_for_timeout(100)
    raise AssertionError("the live preview image never loaded")


def _frames(page) -> int:
    text = page.locator(".daisy-tomo-live-status").inner_text()
    m = re.search(r"frames received\s+(\d+)", text)
    return int(m.group(1)) if m else 0


def _error_vs_phantom(img: np.ndarray, truth: np.ndarray) -> float:
    """RMS difference inside the reconstruction circle after the best grey-level fit a*img+b (contrast-free)."""
    n = truth.shape[0]
    y, x = np.ogrid[:n, :n]
    inside = (x - (n - 1) / 2) ** 2 + (y - (n - 1) / 2) ** 2 <= (0.45 * n) ** 2
    a = np.c_[img[inside], np.ones(inside.sum())]
    coef, *_ = np.linalg.lstsq(a, truth[inside], rcond=None)
    return float(np.sqrt(np.mean((a @ coef - truth[inside]) ** 2)) / np.ptp(truth[inside]))


def _wait_frames(page, n: int, timeout_ms: int = 180_000) -> None:
    page.wait_for_function(
        f"(el) => {{ const m = el.innerText.match(/frames received\\s+(\\d+)/); return m && +m[1] >= {n}; }}",
        arg=page.locator(".daisy-tomo-live-status").first.element_handle(),
        timeout=timeout_ms,
    )


def test_live_mode_in_the_browser(hub_page, e2e_harness):
    h = e2e_harness
    hub = hub_page.hub
    sample = next(hub.data_dir.rglob("tomo*.h5"))
    scan = sample.parent / "live_scan.h5"
    page = hub_page("live")
    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto(hub.app_url("live", "tomography"))
    h.wait_voila_done(page)
    page.locator(".daisy-tomo-app").wait_for()
    page.locator(".daisy-tomo-live-follow").wait_for()

    writer = daisy_process(
        "tomo", "acquire", str(scan), "--quiet", "--width", str(WIDTH), "--rows", str(ROWS),
        "--angles", str(ANGLES), "--range", "360", "--rate", "12", "--flats", "4", "--darks", "2", "--center-offset", "2.5",
    )  # fmt: skip
    try:
        # the file browser lists the growing file as "acquiring"
        listed = (
            "() => [...document.querySelectorAll('.daisy-fb-list option')].map(o => o.text)"
            ".find(t => t.includes('live_scan.h5') && t.includes('acquiring')) || ''"
        )
        label = ""
        for _ in range(60):  # until the writer has created the file
            page.locator(".daisy-fb-refresh").click()
            page.wait_for_timeout(1000)
            label = page.evaluate(listed)
            if label:
                break
        assert label, page.locator(".daisy-fb-list").inner_text()
        page.locator(".daisy-fb-list select").select_option(label=label)
        page.locator(".daisy-tomo-live-follow").click()

        # two moments of the live preview
        _wait_frames(page, 50)
        first = _preview_pixels(page)
        n1 = _frames(page)
        h.screenshot(page, "tomo-live-1")
        _wait_frames(page, 300)
        second = _preview_pixels(page)
        n2 = _frames(page)
        shot = h.screenshot(page, "tomo-live-2")
        # the panel alone, for docs/img/tomography-live.png (copied there by hand: a test run
        # must not change tracked files)
        page.locator(".daisy-tomo-live").first.screenshot(path=str(h.ARTIFACTS / "tomography-live-panel.png"))
        assert page.evaluate(
            "document.documentElement.scrollWidth <= window.innerWidth + 1"
        )  # no side scroll
        status = page.locator(".daisy-tomo-live-status").inner_text()
        assert "frames/s" in status and "preview lag" in status and "(estimated)" in status  # > 180° in
        assert n2 > n1 + 100, (n1, n2)
        truth = PhantomDetector(WIDTH, ROWS, ANGLES).phantom(ROWS // 2)
        e1, e2 = _error_vs_phantom(first, truth), _error_vs_phantom(second, truth)
        assert e2 < 0.8 * e1, (n1, e1, n2, e2)

        # complete: the finished scan opens and its volume is reconstructed by itself
        page.wait_for_function(
            "() => document.querySelector('.daisy-tomo-live-status').innerText.includes('complete')",
            timeout=240_000,
        )
        assert writer.wait(60) == 0
        page.wait_for_function(
            "() => document.querySelector('.daisy-tomo-message').innerText.includes('Reconstructed')",
            timeout=300_000,
        )
        page.locator(".daisy-volume-3d canvas").first.wait_for(state="attached", timeout=120_000)
        page.wait_for_timeout(2500)
        h.screenshot(page, "tomo-live-3-volume")
        assert "Reconstructed 4 slices of 256×256" in page.locator(".daisy-tomo-message").inner_text()
        assert "live_scan.h5" in page.url and "stage=result" in page.url  # the finished scan is the one open
        centre = float(re.search(r"center=([0-9.]+)", page.url).group(1))
        assert abs(centre - (255 / 2 + 2.5)) < 0.5  # the centre found live, used for the volume
        assert not h.blank_canvases(page), h.blank_canvases(page)
        assert not h.page_error_texts(page), h.page_error_texts(page)
        assert not page.daisy_watch.problems(), page.daisy_watch.problems()
        print(f"live preview error vs phantom: {n1} frames {e1:.3f}, {n2} frames {e2:.3f}; screenshot {shot}")
    finally:
        if writer.poll() is None:
            writer.kill()
        writer.wait()
