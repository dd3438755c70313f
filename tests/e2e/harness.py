"""End-to-end harness: a real demo hub on free loopback ports, and a Chromium driven by Playwright.

The fixtures built on it live in ``tests/conftest.py`` so that every test folder
can use them (``daisy_hub``, ``browser``, ``hub_page``). A test of an app does::

    def test_my_app(hub_page):
        page = hub_page("carol")                       # logged in, on the app index (daisy/apps)
        page.goto(hub_page.hub.app_url("carol", "tomography"))
        ...

Everything here drives the same programs a user runs: ``hub_config/demo.py``
(the ``make demo`` launcher), the real login form, the Voila server extension.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--use-angle=swiftshader",
    "--enable-unsafe-swiftshader",
]
ARTIFACTS = ROOT / "test-artifacts"
PROXY = ROOT / "node_modules" / ".bin" / "configurable-http-proxy"
#: where users land after logging in, under their server (hub_config/daisy_hub.py: INDEX_URL)
INDEX_PATH = "daisy/apps"
#: page texts that mean an app failed
ERROR_TEXTS = (
    "Traceback (most recent call last)",
    "There was an error when executing cell",
    "Error displaying widget",
    "Failed to load model class",
    "Kernel died",
    "Error:",
)
#: console messages that are not the app's fault
BENIGN_CONSOLE = (re.compile(r"favicon"),)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stop_with_pytest() -> None:
    """In the launcher's process: SIGTERM when pytest dies (killed, timed out), so no hub outlives the tests."""
    import ctypes

    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM, 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def missing_prerequisites() -> str | None:
    """Why the hub/browser tests cannot run here, or None."""
    if not PROXY.exists():
        return f"{PROXY} missing (run make setup)"
    if not os.path.exists(CHROMIUM):
        return f"{CHROMIUM} missing (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "python package playwright missing"
    return None


@dataclass
class DemoHub:
    """A running ``hub_config/demo.py``: its URL, the shared password, its process and log."""

    url: str
    port: int
    password: str
    state_dir: Path
    data_dir: Path
    proc: subprocess.Popen
    log_path: Path
    started: list[str] = field(default_factory=list)

    def user_url(self, user: str, path: str = "") -> str:
        return f"{self.url}user/{user}/{path.lstrip('/')}"

    def app_url(self, user: str, app: str) -> str:
        return self.user_url(user, f"voila/render/apps/{app}.ipynb")

    def index_url(self, user: str) -> str:
        """The app index users land on: a page of their server, no kernel (``daisy_widgets.index_page``)."""
        return self.user_url(user, INDEX_PATH)

    def voila_index_url(self, user: str) -> str:
        """The same index as the Voila page of ``apps/index.ipynb`` (what users landed on before)."""
        return self.app_url(user, "index")

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def process_tree(self) -> list[int]:
        import psutil

        try:
            return [p.pid for p in psutil.Process(self.proc.pid).children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def stop(self, timeout: float = 90.0) -> int:
        """Ctrl-C (SIGINT to the launcher's process group, as a terminal does); returns its exit code."""
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGINT)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        return self.proc.returncode


def _as_background_job() -> None:
    """What a shell does to a job started with ``&``: SIGINT ignored (inherited by its children)."""
    _stop_with_pytest()
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def start_demo_hub(
    state_dir: Path,
    data_dir: Path,
    port: int | None = None,
    timeout: float = 120.0,
    extra_env: dict[str, str] | None = None,
    background_job: bool = False,
) -> DemoHub:
    """Start ``hub_config/demo.py`` on a free loopback port and wait until the hub answers.

    ``background_job``: start it as a shell starts ``make demo &`` (SIGINT ignored)."""
    port = port or free_port()
    state_dir.mkdir(parents=True, exist_ok=True)
    log_path = state_dir / "demo.log"
    env = dict(
        os.environ,
        PORT=str(port),
        DAISY_STATE_DIR=str(state_dir),
        DAISY_DATA_DIR=str(data_dir),
        PYTHONUNBUFFERED="1",
    )
    env.update(extra_env or {})
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, str(ROOT / "hub_config" / "demo.py")],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_as_background_job if background_job else _stop_with_pytest,
        )
    url = f"http://127.0.0.1:{port}/"
    import requests

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(
                f"demo hub exited with {proc.returncode}:\n{log_path.read_text(errors='replace')[-4000:]}"
            )
        try:
            if requests.get(url + "hub/health", timeout=2).status_code == 200:
                break
        except requests.RequestException:
            pass
        time.sleep(0.5)
    else:
        os.killpg(proc.pid, signal.SIGKILL)
        raise RuntimeError(
            f"demo hub did not answer in {timeout} s:\n{log_path.read_text(errors='replace')[-4000:]}"
        )
    password = (state_dir / "password").read_text().strip()
    return DemoHub(url, port, password, state_dir, data_dir, proc, log_path)


def requests_login(hub: DemoHub, user: str, password: str | None = None):
    """Log in through the hub's login form with ``requests``; returns (session, response of the POST)."""
    import requests

    s = requests.Session()
    r = s.get(hub.url + "hub/login", timeout=30)
    m = re.search(r'name="_xsrf"\s+value="([^"]+)"', r.text)
    data = {"username": user, "password": hub.password if password is None else password}
    if m:
        data["_xsrf"] = m.group(1)
    resp = s.post(hub.url + "hub/login", data=data, allow_redirects=False, timeout=30)
    return s, resp


def wait_server_ready(hub: DemoHub, session, user: str, timeout: float = 180.0) -> None:
    """Start ``user``'s server (logged-in ``session``), wait until it answers, and log in to it (OAuth)."""
    session.get(hub.url + f"hub/spawn/{user}", timeout=timeout)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r = session.get(hub.user_url(user, "lab"), timeout=60)  # follows the hub's OAuth redirects
        if r.status_code == 200 and f"/user/{user}/lab" in r.url:
            return
        time.sleep(1)
    raise TimeoutError(f"{user}'s server did not start in {timeout} s:\n{hub.log()[-3000:]}")


class PageWatch:
    """Collects a page's console errors, uncaught exceptions and requests leaving the machine (blocked)."""

    def __init__(self, page, allowed_host: str = "127.0.0.1"):
        self.console_errors: list[str] = []
        self.page_errors: list[str] = []
        self.external: list[str] = []
        page.on("console", self._on_console)
        page.on("pageerror", lambda exc: self.page_errors.append(str(exc)))

        def route(r):
            host = urlparse(r.request.url).hostname
            if r.request.url.startswith(("data:", "blob:")) or host in (allowed_host, "localhost"):
                r.continue_()
            else:  # offline: no CDN may be needed
                self.external.append(r.request.url)
                r.abort()

        page.context.route("**/*", route)

    def _on_console(self, msg) -> None:
        if msg.type == "error" and not any(p.search(msg.text) for p in BENIGN_CONSOLE):
            self.console_errors.append(msg.text)

    def problems(self) -> list[str]:
        return (
            [f"console: {t}" for t in self.console_errors]
            + [f"page error: {t}" for t in self.page_errors]
            + [f"external request: {u}" for u in self.external]
        )


def login_in_browser(page, hub: DemoHub, user: str, password: str | None = None) -> None:
    """Fill and submit the hub's real login page."""
    page.goto(hub.url + "hub/login", timeout=60_000)
    page.fill("#username_input", user)
    page.fill("#password_input", hub.password if password is None else password)
    page.click("#login_submit")


def wait_index_ready(page, timeout_ms: int = 240_000) -> None:
    """Wait until the app index page (``daisy/apps``) shows its cards and its computing resources
    (or the message that they could not be checked), and the page's requests are done."""
    try:
        page.wait_for_selector(".daisy-app-index .daisy-app-entry, .daisy-app-none", timeout=timeout_ms)
        page.wait_for_selector(
            '#daisy-resources[data-state="done"], #daisy-resources[data-state="failed"]',
            state="attached",
            timeout=timeout_ms,
        )
        page.wait_for_load_state("networkidle", timeout=timeout_ms)
    except Exception as exc:
        raise _not_shown(page, "index-timeout", f"app index {page.url} not ready", exc) from exc


def _not_shown(page, tag: str, what: str, exc: Exception) -> AssertionError:
    """The error of a page that did not show what was awaited: ``what``, the cause, a screenshot
    (named with ``tag``) and the start of the page's text, so a CI log says what the browser showed."""
    try:
        shot, text = screenshot(page, tag), page.inner_text("body")[:1500]
    except Exception as why:
        shot, text = None, f"(page unreadable: {why})"
    return AssertionError(f"{what}: {exc}\nscreenshot: {shot}\npage text: {text}")


def wait_voila_done(page, timeout_ms: int = 240_000) -> None:
    """Wait until Voila has executed the notebook and rendered its widgets.

    On a timeout the error names the page, a screenshot of it and the start of its text,
    so a CI log says what the browser showed."""
    try:
        page.wait_for_selector(
            ".jupyter-widgets, .widget-box, .jp-OutputArea-output", state="attached", timeout=timeout_ms
        )
        page.wait_for_function(
            "() => !document.querySelector('#loading') || getComputedStyle(document.querySelector('#loading')).display === 'none'"
            " || document.querySelector('#loading').offsetParent === null",
            timeout=timeout_ms,
        )
        page.wait_for_load_state("networkidle", timeout=timeout_ms)
    except Exception as exc:
        raise _not_shown(page, "voila-timeout", f"Voila page {page.url} not rendered", exc) from exc


def page_error_texts(page) -> list[str]:
    """Error texts visible in the page's outputs."""
    text = page.inner_text("body")
    return [t for t in ERROR_TEXTS if t in text]


def blank_canvases(page) -> list[str]:
    """Visible WebGL/2-D canvases whose pixels are all one colour (screenshot of each canvas)."""
    import io

    from PIL import Image

    blank = []
    canvases = page.locator("canvas")
    for i in range(canvases.count()):
        c = canvases.nth(i)
        box = c.bounding_box()
        if not box or box["width"] < 20 or box["height"] < 20 or not c.is_visible():
            continue
        # a canvas already holding a WebGL context returns null for '2d' (a fresh one becomes a harmless 2-D one)
        kind = c.evaluate("el => el.getContext('2d') ? '2d' : 'webgl'")
        if kind == "2d":
            continue  # only WebGL canvases are required to show something
        img = Image.open(io.BytesIO(c.screenshot())).convert("RGB")
        lo, hi = zip(*img.getextrema(), strict=False)
        if max(high - low for low, high in zip(lo, hi, strict=True)) < 8:
            blank.append(f"canvas #{i} ({kind}, {int(box['width'])}x{int(box['height'])}) is blank")
    return blank


def screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{re.sub(r'[^A-Za-z0-9_.-]+', '_', name)}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
