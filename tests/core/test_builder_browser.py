"""The workflow builder in a real browser: notebooks/workflows.ipynb served by Voila, driven with Playwright.

Marked ``e2e``; skipped when Voila, Playwright or /usr/bin/chromium is missing.
It shows how a browser test drives the builder through its stable CSS classes.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def voila_url(tmp_path_factory):
    pytest.importorskip("playwright.sync_api")
    voila = shutil.which("voila", path=str(Path(sys.executable).parent)) or shutil.which("voila")
    if voila is None or not os.path.exists(CHROMIUM):
        pytest.skip("needs voila and /usr/bin/chromium")
    work = tmp_path_factory.mktemp("voila")
    shutil.copy(ROOT / "notebooks" / "workflows.ipynb", work / "workflows.ipynb")
    port = _free_port()
    proc = subprocess.Popen(
        [
            voila,
            "workflows.ipynb",
            "--no-browser",
            f"--port={port}",
            "--Voila.ip=127.0.0.1",
            "--VoilaConfiguration.file_allowlist=['.*']",
        ],
        cwd=work,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                break
        time.sleep(0.3)
    else:
        proc.kill()
        pytest.fail("voila did not start")
    yield f"http://127.0.0.1:{port}/"
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


def test_build_parameterise_run_and_cancel_in_the_browser(voila_url):
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page()
        page.goto(voila_url, timeout=120_000)
        builder = page.locator(".daisy-workflow-builder")
        expect(builder).to_be_visible(timeout=120_000)
        steps = builder.locator(".daisy-wb-step")
        expect(steps).to_have_count(4, timeout=30_000)  # the notebook's workflow plus its "total" step
        # remove the last step, add a delay step from the registry drop-down
        builder.locator(".daisy-wb-step-3 .daisy-wb-remove").click()
        expect(steps).to_have_count(3)
        select = builder.locator(".daisy-wb-algorithm select")  # options read "<name> — <summary>"
        select.select_option(label=select.locator("option", has_text="core.delay —").inner_text().strip())
        builder.locator("button.daisy-wb-add").click()
        expect(steps).to_have_count(4)
        new = builder.locator(".daisy-wb-step-3")
        expect(new.locator(".daisy-wb-step-title")).to_contain_text("core.delay")
        # an out-of-range value is marked next to its field, and the run is refused
        seconds = new.locator(".daisy-param-seconds input")
        seconds.fill("-1")
        seconds.press("Enter")
        expect(new.locator(".daisy-param-seconds .daisy-param-error")).to_contain_text("must be >= 0")
        builder.locator("button.daisy-wb-run").click()
        expect(builder.locator(".daisy-wb-message")).to_contain_text("step 'delay'")
        # a valid value: run to the end
        seconds.fill("0.01")
        seconds.press("Enter")
        expect(new.locator(".daisy-param-seconds .daisy-param-error")).to_have_text("")
        builder.locator("button.daisy-wb-run").click()
        expect(builder.locator(".daisy-job-status")).to_have_text("done", timeout=60_000)
        expect(builder.locator(".daisy-wb-result")).to_contain_text("work/delay")
        # a slow run, cancelled from the progress widget
        seconds.fill("2")
        seconds.press("Enter")
        builder.locator("button.daisy-wb-run").click()
        expect(builder.locator(".daisy-job-status")).to_have_text("running", timeout=30_000)
        builder.locator("button.daisy-job-cancel").click()
        expect(builder.locator(".daisy-job-status")).to_have_text("cancelled", timeout=10_000)
        browser.close()
