"""Time to interactive of the Voila apps through the demo hub, warm and cold, in a real browser.

Measures
--------
1. *Cold*: a user who has no server yet submits the hub's login form; the clock runs until
   the app index is usable (its cards drawn), then the user clicks the tomography card and
   the clock runs until that app shows its first widgets and then until it is interactive
   (the sample scan open and its metadata shown, as in ``benchmarks/tomography_app.py``).
   The user's server start (spawner, jupyter-server extensions, Voila) is included; the
   hub itself is already running (its own start is printed apart). Each repetition is a
   new user name, so a new server. Printed beside it: login -> the index page arriving
   (the hub's redirects done: the user server has started and begun sending the page).
2. *Warm*: with that user's server running, each app (``index``, ``tomography``, ``hxmt``)
   is opened ``--repeat`` times in the same tab; the clock stops when the app is usable:

   * index: the app cards are drawn;
   * tomography: the sample scan is open and its metadata shown;
   * hxmt: the archive source is shown and the Search button answers.

   The first opening of each app is given apart (it fills the OS and Python caches); the
   figure is the median of the others. Openings are ``--pause`` seconds apart (default 5 s, not
   counted: a user looks at a page before opening the next; the pool refills meanwhile). Beside it, the time the server took to send the
   page (Navigation Timing ``responseEnd``: kernel start and notebook execution) and the
   rest (the browser loading the widget code and drawing the widgets).

The peer of the run is the same opening with the Voila kernel pool switched off
(``DAISY_VOILA_POOL=0``; ``--no-peer`` skips it): the figure Voila gives when every page starts a
kernel of its own. ``--peer old-start`` compares instead with the user server started as
before the cold-start work (``DAISY_DEFER_IRI_GRAMMAR=0``: jsonschema's IRI grammar,
``rfc3987_syntax``, built while the server starts; see ``daisy_widgets/server_launch.py``).
``--peer voila-index`` compares with users landing on the Voila page of ``apps/index.ipynb``
(``DAISY_INDEX=voila``: a kernel, the notebook's execution and the widget JavaScript) instead of
the index page the user server sends without a kernel (``daisy/apps``, ``daisy_widgets/index_page.py``).
On each hub the index is its landing page (warm openings too); "usable" is its app cards drawn
(on the page without a kernel the computing resources arrive after, from a probe process).
Both hubs run at once and are measured turn about (one opening on each, then the next), so
both see the same load of the shared machine. ``--cold-only`` measures the cold logins only.

Targets (issue 21): warm <= 3 s for each app; cold (login to the tomography app usable) <= 8 s.

Usage::

    .venv/bin/python benchmarks/apps_interactive.py [--repeat 5] [--cold 2] [--pause 5] [--no-peer]
    .venv/bin/python benchmarks/apps_interactive.py --quick     # 3 warm openings, 1 cold login
    .venv/bin/python benchmarks/apps_interactive.py --cold-only --cold 3 --peer old-start
    .venv/bin/python benchmarks/apps_interactive.py --cold-only --cold 3 --peer voila-index
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
APPS = ("index", "tomography", "hxmt")

#: JavaScript tests, per app, that the page is usable
READY = {
    "index": "() => document.querySelectorAll('.daisy-app-entry a.daisy-app-link').length > 0",
    "tomography": (
        "() => !!document.querySelector('.daisy-tomo-app') && "
        "Array.from(document.querySelectorAll('.daisy-tomo-metadata'))"
        ".some(e => e.textContent.includes('angles'))"
    ),
    "hxmt": (
        "() => { const s = document.querySelector('.daisy-hxmt-source');"
        " const b = document.querySelector('.daisy-hxmt-search');"
        " return !!s && s.textContent.trim().length > 0 && !!b && !b.disabled; }"
    ),
}
FIRST_WIDGETS = {"tomography": "() => !!document.querySelector('.daisy-tomo-app')"}
#: the peer hubs: (label, environment of the hub)
PEERS = {
    "pool-off": ("pool off", {"DAISY_VOILA_POOL": "0"}),
    "old-start": ("old start", {"DAISY_VOILA_POOL": "1", "DAISY_DEFER_IRI_GRAMMAR": "0"}),
    "voila-index": ("voila index", {"DAISY_VOILA_POOL": "1", "DAISY_INDEX": "voila"}),
}
_RESPONSE_END = "() => performance.getEntriesByType('navigation')[0].responseEnd / 1000"


def _harness():
    spec = importlib.util.spec_from_file_location("daisy_e2e_harness", ROOT / "tests" / "e2e" / "harness.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules["daisy_e2e_harness"] = mod
    spec.loader.exec_module(mod)
    return mod


def _sample_data(base: Path) -> Path:
    data = base / "data"
    subprocess.run(
        [sys.executable, "-m", "daisy_widgets.cli", "data", "sample", "--small", "--out", str(data)],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    return data


def landing_path(env: dict[str, str]) -> str:
    """Where a hub started with ``env`` lands its users (under ``/user/<name>/``)."""
    return "voila/render/apps/index.ipynb" if env.get("DAISY_INDEX") == "voila" else "daisy/apps"


def cold_login(h, browser, hub, user: str) -> dict[str, float]:
    """Login form submitted -> index usable -> tomography's first widgets -> tomography usable (s from submit)."""
    ctx = browser.new_context(viewport={"width": 1366, "height": 768})
    page = ctx.new_page()
    page.set_default_timeout(300_000)
    try:
        page.goto(hub.url + "hub/login")
        page.fill("#username_input", user)
        page.fill("#password_input", hub.password)
        t0 = time.perf_counter()
        page.click("#login_submit")
        # "commit": the user server has started and begun sending the index page
        page.wait_for_url(f"**/user/{user}/{hub.landing}*", wait_until="commit")
        t_server = time.perf_counter() - t0
        page.wait_for_function(READY["index"], polling=50)
        t_index = time.perf_counter() - t0
        page.locator('.daisy-app-entry[data-app="tomography"] a.daisy-app-link').click()
        page.wait_for_function(FIRST_WIDGETS["tomography"], polling=50)
        t_widgets = time.perf_counter() - t0
        page.wait_for_function(READY["tomography"], polling=50)
        t_ready = time.perf_counter() - t0
    finally:
        ctx.close()
    return {"server": t_server, "index": t_index, "widgets": t_widgets, "ready": t_ready}


def open_app(page, hub, user: str, app: str) -> tuple[float, float]:
    """One opening of ``app`` in ``page``: (seconds to usable, seconds the server took to send the page)."""
    t0 = time.perf_counter()
    page.goto(hub.user_url(user, hub.landing) if app == "index" else hub.app_url(user, app))
    page.wait_for_function(READY[app], polling=50)
    return time.perf_counter() - t0, float(page.evaluate(_RESPONSE_END))


def run_hubs(
    h, base: Path, data: Path, runs: list[tuple[str, dict[str, str]]], repeat: int, cold: int, pause: float
) -> list:
    """Start one demo hub per run (with that run's environment), then measure them turn about, in
    the same minutes (the load of a shared machine changes from minute to minute): the cold logins
    (a new user each), then ``repeat + 1`` warm openings of each app, ``pause`` s apart (the user
    using the page, not counted; ``repeat`` < 0: no warm openings). Returns one result dict per run."""
    from playwright.sync_api import sync_playwright

    hubs, results = [], []
    try:
        for label, env in runs:
            t0 = time.perf_counter()
            hubs.append(h.start_demo_hub(base / f"state-{label.replace(' ', '-')}", data, extra_env=env))
            hubs[-1].landing = landing_path(env)
            results.append({"label": label, "hub_start": time.perf_counter() - t0, "cold": [], "warm": {}})
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=h.CHROMIUM, args=h.CHROMIUM_ARGS, headless=True)
            for k in range(cold):
                for hub, res in zip(hubs, results, strict=True):
                    res["cold"].append(cold_login(h, browser, hub, f"cold{k}"))
                    print(
                        f"{res['label']}: cold login {k}: "
                        + ", ".join(f"{key} {t:.2f} s" for key, t in res["cold"][-1].items()),
                        file=sys.stderr,
                        flush=True,
                    )
            pages = []
            for hub in hubs if repeat >= 0 else []:
                page = browser.new_context(viewport={"width": 1366, "height": 768}).new_page()
                page.set_default_timeout(300_000)
                h.login_in_browser(page, hub, "bench")
                page.wait_for_url(f"**/user/bench/{hub.landing}*")
                page.wait_for_function(READY["index"], polling=50)
                pages.append(page)
            for app in APPS if repeat >= 0 else []:
                for res in results:
                    res["warm"][app] = []
                for _ in range(repeat + 1):
                    for hub, page, res in zip(hubs, pages, results, strict=True):
                        time.sleep(pause)
                        res["warm"][app].append(open_app(page, hub, "bench", app))
            for page, res in zip(pages, results[: len(pages)], strict=True):
                h.screenshot(page, f"bench-apps-interactive-{res['label'].replace(' ', '-')}")
            browser.close()
    finally:
        for hub in hubs:
            hub.stop()
    return results


def _med(xs: list[float]) -> str:
    return f"{statistics.median(xs):.2f}" if xs else "n/a"


def table(results: list[dict], repeat: int) -> list[tuple[str, ...]]:
    """Rows ``(measurement, value per run..., note)`` of the printed table."""
    rows = [("measurement", *(r["label"] for r in results), "target")]
    rows.append(("hub start (not counted) (s)", *(f"{r['hub_start']:.2f}" for r in results), ""))
    for app in APPS if all(r["warm"] for r in results) else []:
        rows.append(
            (f"{app}: warm, first opening (s)", *(f"{r['warm'][app][0][0]:.2f}" for r in results), "")
        )
        rows.append(
            (
                f"{app}: warm, median of {repeat} (s)",
                *(_med([t for t, _ in r["warm"][app][1:]]) for r in results),
                "<= 3",
            )
        )
        rows.append(
            (
                "  of which the server sending the page (s)",
                *(_med([s for _, s in r["warm"][app][1:]]) for r in results),
                "",
            )
        )
    if any(r["cold"] for r in results):
        n = max(len(r["cold"]) for r in results)
        for key, name, target in (
            ("server", "cold: login -> index page arriving (server started)", ""),
            ("index", "cold: login -> index usable", ""),
            ("widgets", "cold: login -> tomography's first widgets", ""),
            ("ready", "cold: login -> tomography usable", "<= 8"),
        ):
            rows.append(
                (f"{name}, median of {n} (s)", *(_med([c[key] for c in r["cold"]]) for r in results), target)
            )
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5, help="warm openings of each app (after the first)")
    ap.add_argument("--cold", type=int, default=2, help="cold logins (a new user each)")
    ap.add_argument(
        "--no-peer", action="store_true", help="skip the peer (the same hub with the kernel pool off)"
    )
    ap.add_argument(
        "--peer",
        choices=sorted(PEERS),
        default="pool-off",
        help="the peer hub: pool-off (kernel pool off, the default), old-start (the user server "
        "started as before: jsonschema's IRI grammar built at start) or voila-index (users land on "
        "the Voila page of apps/index.ipynb instead of the index page without a kernel)",
    )
    ap.add_argument("--cold-only", action="store_true", help="only the cold logins (no warm openings)")
    ap.add_argument("--pause", type=float, default=5.0, help="seconds between warm openings (default 5)")
    ap.add_argument("--quick", action="store_true", help="3 warm openings of each app, 1 cold login")
    args = ap.parse_args(argv)
    if args.quick:
        args.repeat, args.cold = 3, 1
    h = _harness()
    why = h.missing_prerequisites()
    if why:
        print(f"cannot run: {why}")
        return 2
    base = Path(tempfile.mkdtemp(prefix="daisy-bench-apps-"))
    data = _sample_data(base)
    runs = [("pool on", {"DAISY_VOILA_POOL": "1"})] + ([] if args.no_peer else [PEERS[args.peer]])
    results = run_hubs(h, base, data, runs, -1 if args.cold_only else args.repeat, args.cold, args.pause)
    rows = table(results, args.repeat)
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    print("\nApps, time to interactive through the demo hub (shared 2-core machine: noisy; medians)")
    for r in rows:
        print(
            "  ".join(
                f"{c:<{w}}" if i == 0 else f"{c:>{w}}" for i, (c, w) in enumerate(zip(r, widths, strict=True))
            )
        )
    for res in results:
        print(
            f"\n{res['label']}: warm openings (s): "
            + "; ".join(
                f"{app} " + ", ".join(f"{t:.2f}" for t, _ in res["warm"].get(app, [])) for app in APPS
            )
            + (
                "; cold logins (s): " + ", ".join(f"{c['ready']:.2f}" for c in res["cold"])
                if res["cold"]
                else ""
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
