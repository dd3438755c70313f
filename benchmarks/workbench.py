"""Daisy Workbench benchmark: from the index's *Workbench* link to a usable workbench, through the demo hub.

Measures
--------
*Time to a usable workbench*: the clock starts at the click on the index's Workbench link and
stops when JupyterLab shows the data toolbox, the algorithm toolbox, the log and a console on
the workbench's kernel, and an array typed into that console has appeared in the data toolbox
(so the kernel, the console and the panels all answer).

* **cold**: the first opening in a fresh browser profile (nothing cached) on a user server
  whose workbench kernel is not started yet;
* **warm**: the workbench opened again from the index (browser cache filled, the workbench's
  kernel running: its panels are re-docked and its console reopened). Median of ``--repeat``.

Peer, in the same run: plain JupyterLab (``/user/NAME/lab``) until its launcher is shown,
cold (fresh profile) and warm, so the ratios say what the workbench adds to opening Lab.

Usage::

    .venv/bin/python benchmarks/workbench.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _harness():
    spec = importlib.util.spec_from_file_location("daisy_e2e_harness", ROOT / "tests" / "e2e" / "harness.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules["daisy_e2e_harness"] = mod
    spec.loader.exec_module(mod)
    return mod


def _usable(page, n: int, timeout_ms: int = 300_000) -> None:
    """Wait until the panels and the console are there and a console array reaches the data toolbox."""
    page.locator(".daisy-data-toolbox").wait_for(state="visible", timeout=timeout_ms)
    page.locator(".daisy-algorithm-toolbox").wait_for(state="visible", timeout=timeout_ms)
    page.locator(".daisy-log-panel").wait_for(state="visible", timeout=timeout_ms)
    prompt = page.locator(".jp-CodeConsole-input .cm-content").first
    prompt.wait_for(state="visible", timeout=timeout_ms)
    prompt.click()
    page.keyboard.type(f"import numpy as np; bench_{n} = np.zeros(({n + 2}, 3))")
    page.keyboard.press("Shift+Enter")
    page.locator(".daisy-data-row", has_text=f"bench_{n}  ({n + 2}, 3)").wait_for(
        state="visible", timeout=timeout_ms
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3, help="warm openings (median)")
    args = ap.parse_args(argv)
    h = _harness()
    why = h.missing_prerequisites()
    if why:
        print(f"cannot run: {why}")
        return 2
    from playwright.sync_api import sync_playwright

    base = Path(tempfile.mkdtemp(prefix="daisy-bench-workbench-"))
    (base / "data").mkdir()
    hub = h.start_demo_hub(base / "state", base / "data")
    user = "bench"
    times: dict[str, list[float]] = {
        "workbench cold": [],
        "workbench warm": [],
        "lab cold": [],
        "lab warm": [],
    }
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=h.CHROMIUM, args=h.CHROMIUM_ARGS, headless=True)

            def index_page(ctx):
                page = ctx.new_page()
                page.set_default_timeout(300_000)
                h.login_in_browser(page, hub, user)
                page.wait_for_url(f"**/user/{user}/{h.INDEX_PATH}*")
                h.wait_index_ready(page)
                return page

            def lab(ctx) -> float:
                page = ctx.new_page()
                t = time.perf_counter()
                page.goto(hub.user_url(user, "lab"), timeout=300_000)
                page.locator(".jp-Launcher, .jp-NotebookPanel").first.wait_for(
                    state="visible", timeout=300_000
                )
                dt = time.perf_counter() - t
                page.close()
                return dt

            def workbench(index, n: int) -> float:
                link = index.locator("a.daisy-workbench-link")
                t = time.perf_counter()
                with index.context.expect_page() as opened:
                    link.click()
                page = opened.value
                _usable(page, n)
                dt = time.perf_counter() - t
                page.close()
                return dt

            # peer first (its cold run starts the user's server, which the workbench runs then reuse)
            ctx = browser.new_context(viewport={"width": 1366, "height": 900})
            index = index_page(ctx)
            times["lab cold"].append(lab(ctx))
            ctx.close()
            ctx = browser.new_context(
                viewport={"width": 1366, "height": 900}
            )  # fresh profile: nothing cached
            index = index_page(ctx)
            times["workbench cold"].append(workbench(index, 0))
            for i in range(args.repeat):
                times["workbench warm"].append(workbench(index, i + 1))
                times["lab warm"].append(lab(ctx))
            ctx.close()
            browser.close()
    finally:
        hub.stop()
    med = {k: statistics.median(v) for k, v in times.items() if v}
    print(
        "\nDaisy Workbench: index link -> usable workbench (panels, console, a console array in the toolbox)"
    )
    print(f"{'measure':<16} {'seconds':>8}  {'runs':>4}  ratio to plain JupyterLab (same state)")
    for key in ("workbench cold", "workbench warm", "lab cold", "lab warm"):
        peer = med.get("lab " + key.split()[-1])
        ratio = f"{med[key] / peer:.1f}x" if key.startswith("workbench") and peer else ""
        print(f"{key:<16} {med[key]:>8.1f}  {len(times[key]):>4}  {ratio}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
