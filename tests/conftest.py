"""Fixtures shared by every test folder: the demo hub and a logged-in browser (see ``tests/e2e/harness.py``).

``daisy_hub``   session-scoped: ``hub_config/demo.py`` on free loopback ports, with its own
                state folder and a small sample data folder (``daisy data sample --small``).
``browser``     module-scoped headless Chromium (``/usr/bin/chromium``) through Playwright.
``hub_page``    ``hub_page(user)`` -> a new page logged in as ``user`` through the real
                login form, landed on the app index; ``hub_page.hub`` is the DemoHub;
                problems seen by the page (console errors, page errors, requests leaving
                the machine) are in ``page.daisy_watch.problems()``.
Tests using them are skipped with a reason when the proxy, Chromium or Playwright is missing.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

_HARNESS_PATH = Path(__file__).resolve().parent / "e2e" / "harness.py"


def _load_harness():
    name = "daisy_e2e_harness"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, _HARNESS_PATH)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


harness = _load_harness()


def _end_to_end_files(rootpath: Path) -> set[str]:
    """Test files (paths relative to the root, as in node ids) marked ``pytest.mark.e2e``."""
    here = Path(__file__).resolve().parent
    return {
        path.relative_to(rootpath).as_posix()
        for path in here.rglob("test_*.py")
        if "pytest.mark.e2e" in path.read_text(encoding="utf-8")
    }


def pytest_xdist_make_scheduler(config, log):
    """``pytest -n N --dist loadfile`` (``make test``): each file on one worker (notebook cells
    run in order in one kernel; module fixtures are built once), and every end-to-end file (a
    hub, a browser: the files marked ``e2e``) on one worker, one after another, while the other
    workers run the rest. The end-to-end tests then share one demo hub (``daisy_hub``) and never
    compete with each other for the page loads and server starts they wait on.

    (xdist's own ``--dist loadgroup`` would express this with marks, but it renames node ids
    through an attribute pytest 9 no longer reads, so its groups are silently ignored.)
    """
    if config.getoption("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadScopeScheduling

    end_to_end = _end_to_end_files(Path(config.rootpath))

    class FileAndEndToEndScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            path = nodeid.split("::", 1)[0]
            return "end-to-end tests" if path in end_to_end else path

    return FileAndEndToEndScheduling(config, log)


@pytest.fixture(scope="module", autouse=True)
def _no_dask_cluster_left_behind():
    """After each test module: close the Dask engines it left (the shared ``run_workflow``
    engines and any default client), and the HDF5 handles cached for lazy reads.

    A LocalCluster left as the default client would run every later ``.compute()``
    in its worker processes, which keep files open and hide the process's own state.
    """
    yield
    from daisy_widgets.core import engine as engine_mod
    from daisy_widgets.core.datastore import close_cached_files

    engine_mod._close_engines()
    if "distributed" in sys.modules:
        from distributed.client import _get_global_client

        client = _get_global_client()
        while client is not None:
            client.close()
            cluster = getattr(client, "cluster", None)
            if cluster is not None:
                cluster.close()
            nxt = _get_global_client()
            client = None if nxt is client else nxt
    close_cached_files()


@pytest.fixture(scope="session")
def e2e_harness():
    """The harness module (helpers: login_in_browser, wait_voila_done, blank_canvases, screenshot...)."""
    return harness


@pytest.fixture(scope="session")
def daisy_hub(tmp_path_factory):
    why = harness.missing_prerequisites()
    if why:
        pytest.skip(why)
    base = tmp_path_factory.mktemp("hub")
    data = base / "data"
    subprocess.run(
        [sys.executable, "-m", "daisy_widgets.cli", "data", "sample", "--small", "--out", str(data)],
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    )
    hub = harness.start_demo_hub(base / "state", data)
    yield hub
    hub.stop()


@pytest.fixture(scope="module")
def browser(daisy_hub):
    # module scope: Playwright's sync API keeps an asyncio loop marked running in this thread while it is
    # open, which would break asyncio/anyio tests of other modules run later in the same session
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=harness.CHROMIUM, args=harness.CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


class _HubPages:
    def __init__(self, hub, browser):
        self.hub, self.browser, self.contexts = hub, browser, []

    def __call__(self, user: str, timeout_ms: int = 240_000):
        ctx = self.browser.new_context(viewport={"width": 1400, "height": 1000})
        self.contexts.append(ctx)
        page = ctx.new_page()
        page.set_default_timeout(timeout_ms)
        page.daisy_watch = harness.PageWatch(page)
        harness.login_in_browser(page, self.hub, user)
        page.wait_for_url(f"**/user/{user}/{harness.INDEX_PATH}*", timeout=timeout_ms)
        harness.wait_index_ready(page, timeout_ms)
        return page

    def close(self):
        for ctx in self.contexts:
            ctx.close()


@pytest.fixture
def hub_page(daisy_hub, browser):
    pages = _HubPages(daisy_hub, browser)
    yield pages
    pages.close()
