"""Benchmark of the HXMT app: time from "Run" to all HE plots for a simulated observation, in a real browser.

One run prints a table:

* ``pipeline (library, in-process)``: the peer, ``run_pipeline`` on the same exposure (HE, folded at 29.6 Hz),
  no app, no browser;
* ``app from Python, in-process`` and ``app from Python, Dask``: ``HxmtApp.run(wait=True)`` without a browser
  (the Dask one includes starting the local cluster);
* ``browser: Run -> all HE plots (cold)``: the demo hub, a Chromium driven by Playwright, the app page; from the
  click on Run until the light curve, spectrum, power spectrum and pulse profile are all drawn (Dask cluster
  started by that first Run);
* ``browser: re-run, new light-curve bin``: the same after changing the bin size (cached steps reused).

Usage::

    .venv/bin/python benchmarks/hxmt_app.py                   # 10 ks HE exposure
    .venv/bin/python benchmarks/hxmt_app.py --exposure 2000 --no-browser

The simulated exposure is kept in ``--work`` (default ``/tmp/daisy-bench-hxmt-app``) for the next run.
"""

from __future__ import annotations

import argparse
import importlib.util
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _harness():
    spec = importlib.util.spec_from_file_location("daisy_e2e_harness", ROOT / "tests" / "e2e" / "harness.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


def simulate(work: Path, exposure: float) -> Path:
    """The exposure folder of a simulated Crab observation (HE only), made once."""
    from daisy_widgets.hxmt.simulate import write_sample_observations

    data = work / f"data-{int(exposure)}"
    found = sorted(data.rglob("AUX")) if data.exists() else []
    if found:
        return found[0].parent
    tmp = work / "tmp-sim"
    shutil.rmtree(tmp, ignore_errors=True)
    t0 = time.perf_counter()
    (path,) = write_sample_observations(tmp, n=1, exposure=exposure, instruments=("HE",))
    print(f"simulated {exposure:.0f} s HE exposure in {time.perf_counter() - t0:.1f} s")
    tmp.rename(data)
    return next(data.rglob("AUX")).parent


def time_pipeline(l1: Path, out: Path) -> float:
    from daisy_widgets.hxmt.pipeline import run_pipeline

    t0 = time.perf_counter()
    run_pipeline(l1, "HE", out, frequency=29.6)
    return time.perf_counter() - t0


def time_app(data: Path, out: Path, engine: str) -> float:
    from daisy_widgets.hxmt.app import HxmtApp
    from daisy_widgets.hxmt.app.archive import LocalArchive

    app = HxmtApp(archive=LocalArchive(data), products_dir=out, engine=engine)
    app.search(target="Crab")
    app.table.select([0])
    t0 = time.perf_counter()
    app.run(wait=True)
    dt = time.perf_counter() - t0
    assert app.progress.status.value == "done", app.progress.log_area.value
    assert all(p.points > 0 for p in app.plots.values())
    return dt


_ALL_PLOTS = """() => ['lc', 'spectrum', 'pds', 'profile'].every(n =>
    Array.from(document.querySelectorAll('.daisy-hxmt-plot-' + n + ' path.line'))
         .some(p => (p.getAttribute('d') || '').length > 100))
    && document.querySelector('.daisy-job-status').innerText.trim() === 'done'"""


def time_browser(data: Path, work: Path) -> tuple[float, float]:
    from playwright.sync_api import sync_playwright

    h = _harness()
    why = h.missing_prerequisites()
    if why:
        raise RuntimeError(why)
    state = Path(tempfile.mkdtemp(prefix="hub-", dir=work))
    hub = h.start_demo_hub(state, data)
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=h.CHROMIUM, args=h.CHROMIUM_ARGS, headless=True)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(600_000)
            h.login_in_browser(page, hub, "bench")
            page.wait_for_url(f"**/user/bench/{h.INDEX_PATH}*")
            page.goto(hub.app_url("bench", "hxmt"))
            h.wait_voila_done(page)
            page.locator(".daisy-hxmt-target input").fill("Crab")
            page.locator(".daisy-hxmt-search").click()
            page.locator(".daisy-table-row", has_text="Crab").first.wait_for()
            if not page.locator(".daisy-table-check input").first.is_checked():
                page.locator(".daisy-table-check input").first.check()
            run = page.locator(".daisy-hxmt-run")
            page.wait_for_function("(b) => !b.disabled", arg=run.element_handle())
            t0 = time.perf_counter()
            run.click()
            page.wait_for_function(_ALL_PLOTS, timeout=600_000, polling=100)
            cold = time.perf_counter() - t0
            h.screenshot(page, "hxmt-benchmark")
            page.locator(".daisy-hxmt-forms-HE .daisy-param-binsize input").first.fill("10")
            page.wait_for_function("(b) => !b.disabled", arg=run.element_handle())
            page.evaluate(
                "() => document.querySelectorAll('.daisy-hxmt-plot-lc path.line').forEach(p => p.setAttribute('d', ''))"
            )
            t0 = time.perf_counter()
            run.click()
            page.wait_for_function(
                "() => document.querySelector('.daisy-job-status').innerText.trim() === 'running'", polling=50
            )
            page.wait_for_function(_ALL_PLOTS, timeout=600_000, polling=100)
            warm = time.perf_counter() - t0
            browser.close()
    finally:
        hub.stop()
    return cold, warm


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--exposure", type=float, default=10000.0, help="simulated exposure, s (default 10000)")
    ap.add_argument("--work", type=Path, default=Path("/tmp/daisy-bench-hxmt-app"), help="work folder")
    ap.add_argument("--no-browser", action="store_true", help="skip the browser measurement")
    args = ap.parse_args(argv)
    args.work.mkdir(parents=True, exist_ok=True)
    l1 = simulate(args.work, args.exposure)
    data = l1.parents[2]
    out = Path(tempfile.mkdtemp(prefix="products-", dir=args.work))
    rows = [("pipeline (library, in-process)", time_pipeline(l1, out / "lib"))]
    rows.append(("app from Python, in-process", time_app(data, out / "inproc", "inprocess")))
    rows.append(("app from Python, Dask (cluster start incl.)", time_app(data, out / "dask", "dask")))
    if not args.no_browser:
        cold, warm = time_browser(data, args.work)
        rows.append(("browser: Run -> all HE plots (cold)", cold))
        rows.append(("browser: re-run, new light-curve bin", warm))
    peer = rows[0][1]
    print(f"\nHXMT app, HE, {args.exposure:.0f} s simulated exposure (shared 2-core machine; one run)")
    print(f"{'measurement':48s} {'wall (s)':>9s} {'x pipeline':>11s}")
    for name, t in rows:
        print(f"{name:48s} {t:9.2f} {t / peer:11.2f}")
    if not args.no_browser:
        print(f"\ntarget: Run -> all HE plots under 60 s: {'met' if rows[3][1] < 60 else 'NOT met'}")
    shutil.rmtree(out, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
