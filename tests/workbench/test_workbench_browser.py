"""The Daisy Workbench in a real browser, through the real demo hub (Playwright, Debian's chromium).

From the app index's *Workbench* card: JupyterLab opens with the workbench notebook, a console on
the same kernel and Daisy's panels docked around them. In the console an array is created; it
shows in the data toolbox. An algorithm runs on it from the algorithm toolbox, with progress;
its output shows in the data toolbox and in the log; a slow run is cancelled; the output's plot
window opens on a double-click; the replay line is in the console's history and gives the same
array. Bad input (missing, wrongly shaped) is shown at the field and in the log, and the workbench
goes on working. A two-step workflow is built and run in the workflow builder, its outputs reach
the data toolbox, and its JSON opens in the editor. Screenshots go to test-artifacts/.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

USER = "wanda"
ROOT = Path(__file__).resolve().parents[2]


def _console_run(page, code: str) -> None:
    prompt = page.locator(".jp-CodeConsole-input .cm-content").first
    prompt.click()
    page.keyboard.type(code)
    page.keyboard.press("Shift+Enter")


def _console_text(page) -> str:
    return page.locator(".jp-CodeConsole-content").first.inner_text()


def _pick_algorithm(algos, name: str, search: str) -> None:
    """Search the algorithm toolbox, wait until the list is redrawn, pick ``name``."""
    from playwright.sync_api import expect

    algos.locator(".daisy-alg-search input").fill(search)
    expect(algos.locator(".daisy-alg-count")).to_contain_text(f"'{search}'")  # the list is redrawn
    algos.locator(".daisy-alg-item", has_text=name).click()
    expect(algos.locator(".daisy-alg-title")).to_contain_text(name)


def _open_workbench(hub_page, h):
    index = hub_page(USER)
    link = index.locator('.daisy-tool-card[data-tool="workbench"] a.daisy-workbench-link')
    assert "/workspaces/daisy-workbench/tree/notebooks/workbench.ipynb" in link.get_attribute("href")
    with index.context.expect_page() as opened:
        link.click()
    page = opened.value
    page.set_default_timeout(120_000)
    page.daisy_watch = h.PageWatch(page)
    page.locator(".daisy-data-toolbox").wait_for(state="visible", timeout=240_000)
    page.locator(".daisy-algorithm-toolbox").wait_for(state="visible")
    page.locator(".daisy-log-panel").wait_for(state="visible")
    page.locator(".jp-CodeConsole-input .cm-content").first.wait_for(state="visible")
    return page


def test_workbench_from_the_index_console_toolboxes_plot_builder_replay(hub_page, e2e_harness):
    from playwright.sync_api import expect

    expect.set_options(
        timeout=60_000
    )  # a 2-core machine shared with other work: numba compiles, kernels start
    h = e2e_harness
    page = _open_workbench(hub_page, h)
    # one console, on the notebook's kernel ("Daisy Workbench"), and each panel once
    assert page.locator(".jp-ConsolePanel").count() == 1
    for css in (".daisy-data-toolbox", ".daisy-algorithm-toolbox", ".daisy-log-panel"):
        assert page.locator(css).count() == 1, css
    news = page.get_by_role("button", name="No", exact=True)  # JupyterLab's "notified about news?" question
    if news.count():
        news.first.click()
    h.screenshot(page, "workbench-1-opened")

    data = page.locator(".daisy-data-toolbox")
    algos = page.locator(".daisy-algorithm-toolbox")
    log = page.locator(".daisy-log-text")

    # 1. an array made in the console appears in the data toolbox
    _console_run(page, "import numpy as np; img = np.random.default_rng(1).random((40, 50))")
    row = data.locator(".daisy-data-row", has_text="img  (40, 50) float64")
    expect(row).to_be_visible(timeout=60_000)
    row.click()
    expect(data.locator(".daisy-data-info")).to_contain_text("in the console as img")
    expect(data.locator(".daisy-preview-image img")).to_be_visible()

    # 2. an algorithm on it, from the toolbox, with progress: core.delay, 40 chunks of 0.03 s
    _pick_algorithm(algos, "core.delay", "delay")
    expect(algos.locator(".daisy-alg-item")).to_have_count(1)
    algos.locator(".daisy-alg-in-data select").select_option("img")
    seconds = algos.locator(".daisy-param-seconds input")
    seconds.fill("0.03")
    seconds.press("Enter")
    algos.locator("button.daisy-alg-run").click()
    status = algos.locator(".daisy-job-status")
    expect(algos.locator(".daisy-job-detail")).to_contain_text(re.compile(r"chunk \d+/40"), timeout=60_000)
    expect(status).to_have_text("done", timeout=60_000)
    expect(algos.locator(".daisy-job-detail")).to_contain_text("100%")
    expect(data.locator(".daisy-data-row", has_text="img_delay  (40, 50) float64")).to_be_visible()
    expect(log).to_contain_text("core.delay on img")
    expect(log).to_contain_text("step 1/1 started")
    expect(log).to_contain_text("wrote img_delay (40, 50) float64")
    h.screenshot(page, "workbench-2-run")

    # a slow run is cancelled: nothing written
    seconds.fill("1")
    seconds.press("Enter")
    algos.locator(".daisy-alg-out-data input").fill("slow")
    algos.locator("button.daisy-alg-run").click()
    expect(status).to_have_text("running", timeout=30_000)
    algos.locator("button.daisy-job-cancel").click()
    expect(status).to_have_text("cancelled", timeout=30_000)
    expect(log).to_contain_text("cancelled: nothing written")
    assert data.locator(".daisy-data-row", has_text="slow").count() == 0
    algos.locator(".daisy-alg-out-data input").fill("")

    # core.scale: the output, its log line, its plot window (double-click), its replay line
    _pick_algorithm(algos, "core.scale", "scale")
    algos.locator(".daisy-alg-in-data select").select_option("img")
    factor = algos.locator(".daisy-param-factor input")
    factor.fill("3")
    factor.press("Enter")
    algos.locator("button.daisy-alg-run").click()
    expect(status).to_have_text("done", timeout=60_000)
    out_row = data.locator(".daisy-data-row", has_text="img_scale  (40, 50) float64")
    expect(out_row).to_be_visible()
    expect(log).to_contain_text("wrote img_scale (40, 50) float64")
    out_row.dblclick()
    plot = page.locator(".daisy-plot-window.daisy-plot-image")
    expect(plot).to_be_visible(timeout=60_000)
    expect(plot).to_contain_text("img_scale")
    expect(plot.locator(".daisy-image-figure")).to_be_visible()
    box = plot.bounding_box()
    assert box["width"] > 300 and box["height"] > 150, box  # drawn in its tab, not squeezed to nothing
    page.wait_for_timeout(1500)  # the first draw of the image
    assert not h.blank_canvases(page)
    h.screenshot(page, "workbench-3-plot")

    replay = 'img_scale = daisy_run("core.scale", {"data": img}, factor=3.0)["data"]'
    expect(page.locator(".jp-CodeConsole-content").first).to_contain_text(replay, timeout=30_000)
    # the line is in the console's history (arrow up in the prompt) and gives the same array
    prompt = page.locator(".jp-CodeConsole-input .cm-content").first
    prompt.click()
    page.keyboard.press("ArrowUp")
    expect(prompt).to_contain_text("daisy_run(", timeout=10_000)
    page.keyboard.press("Escape")
    prompt.click()
    page.keyboard.press("Control+a")
    page.keyboard.press("Delete")
    _console_run(page, "print('replay max error', float(abs(img_scale - 3 * img).max()))")
    expect(page.locator(".jp-CodeConsole-content").first).to_contain_text("replay max error 0.0")

    # 3. bad input: missing, then wrongly shaped; shown at the field and in the log
    _pick_algorithm(algos, "core.smooth", "smooth")
    algos.locator(".daisy-alg-in-data select").select_option(index=0)  # nothing chosen
    algos.locator("button.daisy-alg-run").click()
    field_error = algos.locator(".daisy-alg-field-error").first
    expect(field_error).to_contain_text("no input chosen")
    expect(log).to_contain_text("[error]")
    expect(log).to_contain_text("not run: data: no input chosen")
    _console_run(page, "profile = np.linspace(0.0, 1.0, 30)")
    expect(data.locator(".daisy-data-row", has_text="profile  (30,) float64")).to_be_visible(timeout=60_000)
    algos.locator(".daisy-alg-in-data select").select_option("profile")
    algos.locator("button.daisy-alg-run").click()
    expect(field_error).to_contain_text("expected 2 or 3 dimensions")
    expect(log).to_contain_text("got shape (30,)")
    h.screenshot(page, "workbench-4-bad-input")
    # still usable: the same form with a good input runs
    algos.locator(".daisy-alg-in-data select").select_option("img")
    algos.locator("button.daisy-alg-run").click()
    expect(field_error).to_have_text("")
    expect(log).to_contain_text("wrote img_smooth (40, 50) float64", timeout=180_000)  # numba compiles first
    expect(status).to_have_text("done")
    expect(data.locator(".daisy-data-row", has_text="img_smooth  (40, 50) float64")).to_be_visible()

    # 4. the workflow builder over the same store: scale then smooth, run, outputs in the toolbox
    algos.locator("button.daisy-wb-open-builder").click()
    builder = page.locator(".daisy-workflow-builder")
    expect(builder).to_be_visible(timeout=60_000)
    picker = builder.locator(".daisy-wb-algorithm select")
    picker.select_option(label=picker.locator("option", has_text="core.scale —").inner_text().strip())
    builder.locator("button.daisy-wb-add").click()
    first = builder.locator(".daisy-wb-step-0 .daisy-wb-in-data input")
    first.fill("img")
    first.press("Enter")
    picker.select_option(label=picker.locator("option", has_text="core.smooth —").inner_text().strip())
    builder.locator("button.daisy-wb-add").click()
    expect(builder.locator(".daisy-wb-step")).to_have_count(2)
    builder.locator("button.daisy-wb-run").click()
    expect(builder.locator(".daisy-job-status")).to_have_text("done", timeout=120_000)
    expect(data.locator(".daisy-data-row", has_text="smooth  (40, 50) float64").last).to_be_visible()
    expect(data.locator(".daisy-data-group", has_text="work/")).to_be_visible()
    expect(log).to_contain_text("2 step(s) ran; wrote work/scale, work/smooth")
    h.screenshot(page, "workbench-5-builder")
    # its JSON in JupyterLab's editor
    page.locator("button.daisy-wb-open-json").click()
    editor = page.locator(".jp-FileEditor .cm-content")
    expect(editor).to_contain_text("core.smooth", timeout=60_000)
    expect(log).to_contain_text("workflows/workflow.json")
    assert not (ROOT / "workflows").exists()  # saved in the user's home, not in the linked repository folder
    h.screenshot(page, "workbench-6-json")

    problems = [p for p in page.daisy_watch.problems() if "external request" in p or "page error" in p]
    assert not problems, problems
    for css in (
        ".daisy-data-toolbox",
        ".daisy-algorithm-toolbox",
        ".daisy-log-panel",
        ".daisy-workflow-builder",
    ):
        assert "Traceback" not in page.locator(css).inner_text(), css
