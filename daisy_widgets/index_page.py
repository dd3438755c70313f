"""The app index as a page of the user's Jupyter server, served without a kernel (a server extension).

Users land on ``<base_url>daisy/apps`` after logging in: the same gallery as ``apps/index.ipynb``
(:func:`~.apps_index.index_html`: app cards, tool cards, exploration notebooks, recent results,
computing resources), sent by the server as one HTML page with inline CSS and no script but a
small inline one. The Voila page of ``apps/index.ipynb`` costs a new kernel, the notebook's
execution and about 150 JupyterLab-extension JavaScript files in the browser; on the cold path
(a login) that kernel also competed with the pooled kernel's preload that the next app waits for
(:mod:`.kernel_pool`). ``apps/index.ipynb`` stays for Voila standalone and ``daisy app index``.

Addresses (under the server's base URL; ``daisy/`` keeps them apart from Jupyter's own routes and
other extensions, ``apps`` says what the page is):

``daisy/apps``
    The page. App links lead to ``voila/render/<apps folder>/<app>.ipynb`` (the apps folder
    relative to the server's root: ``apps`` in the demo and site homes, nothing when the root is
    the apps folder), JupyterLab's to ``lab`` when JupyterLab is loaded in the server.
``daisy/apps/resources``
    The computing resources (GPU, Dask cluster, data service) as an HTML fragment. They are not
    probed in the server's process (CuPy's CUDA initialisation and a Dask client would then live
    in every user server): a short-lived process runs ``python -m daisy_widgets.apps_index
    --resources-html`` with a timeout (:data:`PROBE_TIMEOUT`); its answer is kept
    :data:`CACHE_SECONDS`. The page asks for it after loading; a failure or a timeout shows a
    message in that section, and the rest of the page works as before.

Both need an authenticated user (``tornado.web.authenticated``): under JupyterHub the single-user
server's Hub OAuth (only the server's owner and those granted access), under a plain
``jupyter server`` its token or login cookie.

Enabled in ``hub_config/jupyter/config/jupyter_server_config.json`` (``ServerApp.jpserver_extensions``);
``ServerApp.tornado_settings["daisy_resources_command"]`` replaces the probe's command (a list).
"""

from __future__ import annotations

import asyncio
import html
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

from jupyter_server.base.handlers import JupyterHandler
from jupyter_server.utils import url_path_join
from tornado import web

from .app_results import recent_results
from .apps_index import INDEX_NAME, apps_dir, index_html, list_apps, notebooks_dir, read_app_info

#: the page and the resources fragment, under the server's base URL
PAGE_PATH = "daisy/apps"
RESOURCES_PATH = "daisy/apps/resources"
#: seconds the resources probe may take
PROBE_TIMEOUT = 20.0
#: seconds a probe's answer is kept (a failed probe's: FAILED_CACHE_SECONDS)
CACHE_SECONDS = 30.0
FAILED_CACHE_SECONDS = 5.0
#: what the page shows when ``apps/index.ipynb`` has no heading of its own
DEFAULT_TITLE = "Daisy apps"
DEFAULT_DESCRIPTION = (
    "The analysis apps of this Daisy installation, and the computing resources they can use."
)

_PAGE_CSS = """<style>
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;font-size:14px;
  line-height:1.45;color:#1f2328;background:#f3f5f7;margin:0}
main{max-width:1300px;margin:24px auto;padding:28px 40px 40px;background:#fff;border-radius:4px;
  box-shadow:0 1px 4px rgba(0,0,0,.18)}
h1{font-size:28px;font-weight:500;margin:0 0 6px 0}
h2{font-size:20px;margin:20px 0 4px 0}
h3{font-size:16px;margin:10px 0 4px 0}
a{color:#2f6db5}
a.daisy-app-link,a.daisy-app-lab{color:inherit;text-decoration:none}
a.daisy-app-link:hover,a.daisy-app-lab:hover{text-decoration:underline}
.daisy-res-pending,.daisy-res-error{margin:3px 0}
.daisy-res-error{color:#9a3412}
@media (max-width:700px){main{margin:0;padding:16px}}
</style>"""

#: fills the resources section from RESOURCES_PATH once the page is loaded
_RESOURCES_JS = """<script>
(function () {
  var box = document.getElementById("daisy-resources");
  if (!box) { return; }
  function fail(why) {
    var p = document.createElement("p");
    p.className = "daisy-res-error";
    p.textContent = "Could not check the computing resources (" + why + "). The apps work without "
      + "this list; reload the page to try again.";
    box.replaceChildren(p);
    box.setAttribute("data-state", "failed");
  }
  var ctl = window.AbortController ? new AbortController() : null;
  var timer = setTimeout(function () { if (ctl) { ctl.abort(); } }, %(timeout_ms)d);
  fetch(box.getAttribute("data-url"), {credentials: "same-origin", signal: ctl ? ctl.signal : undefined,
                                        headers: {"X-XSRFToken": box.getAttribute("data-xsrf") || ""}})
    .then(function (r) {
      if (r.redirected) { throw new Error("the session has ended: log in again"); }
      if (!r.ok) { throw new Error("the server answered " + r.status); }
      return r.text();
    })
    .then(function (text) {
      box.innerHTML = text;
      box.setAttribute("data-state", "done");
    })
    .catch(function (e) { fail(e && e.name === "AbortError" ? "no answer in time" : String(e && e.message || e)); })
    .finally(function () { clearTimeout(timer); });
})();
</script>"""


def apps_location(root_dir: str | Path) -> tuple[Path, str]:
    """The apps folder the server's Voila serves, and its path under ``root_dir`` (``"apps"``, or
    ``""`` when the root is the apps folder): the folder of ``root_dir`` that is :func:`~.apps_index.apps_dir`
    (``apps/``, the image's ``daisy-apps/`` link or the root itself), else ``<root>/apps``."""
    root = Path(root_dir).expanduser()
    try:
        target = apps_dir().resolve()
    except OSError:
        target = None
    for rel in ("apps", "daisy-apps", ""):
        folder = root / rel if rel else root
        try:
            if folder.is_dir() and folder.resolve() == target:
                return folder, rel
        except OSError:
            continue
    if (root / f"{INDEX_NAME}.ipynb").exists() and not (root / "apps").is_dir():
        return root, ""
    return root / "apps", "apps"


def page_html(
    root_dir: str | Path, base_url: str, lab: str | None, resources_url: str, xsrf: str = ""
) -> str:
    """The whole index page: the heading and line of ``apps/index.ipynb``'s first markdown cell, the
    gallery (:func:`~.apps_index.index_html`) with links under ``base_url``, and a placeholder
    in the resources section that the inline script fills from ``resources_url``, sending the
    ``xsrf`` token (JupyterHub's single-user servers accept a cookie-authenticated ``fetch`` only
    with it)."""
    folder, rel = apps_location(root_dir)
    apps = list_apps(folder)
    nb_folder = folder.parent / "notebooks"
    notebooks = list_apps(nb_folder if nb_folder.is_dir() else notebooks_dir(), include_index=True)
    index_nb = folder / f"{INDEX_NAME}.ipynb"
    info = read_app_info(index_nb) if index_nb.exists() else None
    title = info.title if info and info.title != INDEX_NAME.title() else DEFAULT_TITLE
    description = info.description if info and info.description else DEFAULT_DESCRIPTION
    apps_url = url_path_join(base_url, "voila/render", quote(rel)).rstrip("/") + "/"
    placeholder = (
        f'<div id="daisy-resources" data-state="pending" data-url="{html.escape(resources_url, quote=True)}" '
        f'data-xsrf="{html.escape(xsrf, quote=True)}">'
        '<p class="daisy-res-pending daisy-muted">Checking the GPU, the Dask cluster and the data service&#8230;</p>'
        "</div>"
    )
    gallery = index_html(apps, placeholder, lab, recent_results(apps), notebooks, apps_url=apps_url)
    esc = html.escape
    script = _RESOURCES_JS % {"timeout_ms": int((PROBE_TIMEOUT + 30) * 1000)}
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)}</title>{_PAGE_CSS}</head>\n"
        f'<body><main class="daisy-index-page"><h1>{esc(title)}</h1><p>{esc(description)}</p>\n'
        f"{gallery}</main>\n{script}</body></html>\n"
    )


def resources_command() -> list[str]:
    """The probe's default command: this Python running :func:`.apps_index.main`."""
    return [sys.executable, "-m", "daisy_widgets.apps_index", "--resources-html"]


def failure_html(why: str) -> str:
    """The fragment shown in the resources section when the probe failed: says so in words."""
    return (
        f'<p class="daisy-res-error">Could not check the computing resources: {html.escape(why)}. '
        "The apps work without this list; reload the page to try again.</p>"
    )


class ResourceProbe:
    """The resources fragment from a short-lived process running ``command``, kept for a while.

    Concurrent requests share one running probe; its answer is kept ``ttl`` seconds
    (``failed_ttl`` when it failed). A probe that fails (cannot start, exits with an error,
    prints nothing or takes longer than ``timeout`` seconds, when it is killed) gives
    :func:`failure_html`, never an exception.
    """

    def __init__(
        self,
        command: list[str],
        timeout: float = PROBE_TIMEOUT,
        ttl: float = CACHE_SECONDS,
        failed_ttl: float = FAILED_CACHE_SECONDS,
        cwd: str | None = None,
    ):
        self.command, self.timeout, self.ttl, self.failed_ttl, self.cwd = (
            command,
            timeout,
            ttl,
            failed_ttl,
            cwd,
        )
        self._kept: tuple[float, str] | None = None  # (valid until, fragment)
        self._running: asyncio.Future | None = None
        self.runs = 0  # probes started (for tests and logs)

    async def fragment(self) -> str:
        """The resources' HTML fragment (or the failure message)."""
        if self._kept is not None and time.monotonic() < self._kept[0]:
            return self._kept[1]
        if self._running is None or self._running.done():
            self._running = asyncio.ensure_future(self._probe())
        return await asyncio.shield(self._running)

    async def _probe(self) -> str:
        self.runs += 1
        ok, text = await self._run()
        self._kept = (time.monotonic() + (self.ttl if ok else self.failed_ttl), text)
        return text

    async def _run(self) -> tuple[bool, str]:
        try:
            proc = await asyncio.create_subprocess_exec(
                *self.command,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                cwd=self.cwd,
            )
        except OSError as exc:
            return False, failure_html(f"the check could not start ({exc})")
        try:
            out, err = await asyncio.wait_for(proc.communicate(), self.timeout)
        except TimeoutError:
            try:
                proc.kill()
            except ProcessLookupError:
                pass
            await proc.wait()
            return False, failure_html(f"no answer within {self.timeout:g} s")
        if proc.returncode != 0:
            lines = err.decode("utf-8", "replace").strip().splitlines()
            last = lines[-1] if lines else "no message"
            return False, failure_html(f"the check failed with exit code {proc.returncode}: {last}")
        text = out.decode("utf-8", "replace").strip()
        if not text:
            return False, failure_html("the check printed nothing")
        return True, text


def lab_address(serverapp: Any, base_url: str) -> str | None:
    """JupyterLab's address in this server (``<base_url>lab``), or None when JupyterLab is not loaded."""
    ext = getattr(getattr(serverapp, "extension_manager", None), "extensions", {}).get("jupyterlab")
    return url_path_join(base_url, "lab") if ext is not None and getattr(ext, "enabled", False) else None


class IndexPageHandler(JupyterHandler):
    """``GET <base_url>daisy/apps``: the app index page (see the module docstring)."""

    @web.authenticated
    async def get(self) -> None:
        base = self.base_url
        lab = lab_address(self.serverapp, base)
        resources_url = url_path_join(base, RESOURCES_PATH)
        root = self.settings.get("server_root_dir") or self.serverapp.root_dir
        # the token (and the _xsrf cookie, as every Jupyter page sets it) for the page's fetch
        token = self.xsrf_token
        xsrf = token.decode("ascii") if isinstance(token, bytes) else str(token)
        loop = asyncio.get_running_loop()  # reading the notebooks and thumbnails: off the event loop
        page = await loop.run_in_executor(None, page_html, root, base, lab, resources_url, xsrf)
        self.set_header("Content-Type", "text/html; charset=UTF-8")
        self.set_header("Cache-Control", "no-store")
        self.finish(page)


class ResourcesHandler(JupyterHandler):
    """``GET <base_url>daisy/apps/resources``: the computing resources' HTML fragment."""

    def initialize(self, probe: ResourceProbe) -> None:
        self.probe = probe

    @web.authenticated
    async def get(self) -> None:
        fragment = await self.probe.fragment()
        self.set_header("Content-Type", "text/html; charset=UTF-8")
        self.set_header("Cache-Control", "no-store")
        self.finish(fragment)


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "daisy_widgets.index_page"}]


def _load_jupyter_server_extension(serverapp: Any) -> None:
    """Add the page's handlers to the server (called by jupyter-server for an enabled extension)."""
    web_app = serverapp.web_app
    base = web_app.settings["base_url"]
    command = web_app.settings.get("daisy_resources_command") or resources_command()
    probe = ResourceProbe(list(command), cwd=str(Path(serverapp.root_dir).expanduser()))
    web_app.add_handlers(
        ".*$",
        [
            (url_path_join(base, PAGE_PATH) + "/?", IndexPageHandler),
            (url_path_join(base, RESOURCES_PATH), ResourcesHandler, {"probe": probe}),
        ],
    )
    serverapp.log.info("Daisy app index at %s", url_path_join(base, PAGE_PATH))
