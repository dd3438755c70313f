"""The app index: which notebooks in ``apps/`` are apps, their cards, and what the platform offers.

Used by the page users land on after logging in (a gallery: :mod:`.index_page`, served by their
Jupyter server without a kernel), by ``apps/index.ipynb`` (the same gallery through Voila), by
``daisy apps`` and by ``daisy app NAME``. An app is any notebook in the apps
folder; its title is the first heading of its first markdown cell, its
description the first other line of that cell. Its notebook metadata
(``metadata.daisy``) adds the card's ``thumbnail`` (a PNG relative to the apps
folder, see :mod:`.app_thumbnails`), ``title``/``description`` overrides and where
its ``results`` go (see :mod:`.app_results`): a new notebook in ``apps/`` gets a
card without editing the index.

The gallery (:func:`index_html`) shows a card per app (thumbnail, title, purpose,
Open), the workbench and JupyterLab as cards, the exploration notebooks, the
computing resources (GPU, Dask workers and memory, the data service reachable
or not) and the user's recent results, newest first, each reopening in its app.
CSS classes for browser tests: ``daisy-app-index``, ``daisy-app-entry``
(``data-app``), ``daisy-app-link``, ``daisy-app-thumb``, ``daisy-app-open``,
``daisy-tool-card`` (``data-tool``), ``daisy-workbench-link``, ``daisy-lab-link``, ``daisy-notebook-link``,
``daisy-res-gpu``/``-dask``/``-service``, ``daisy-recent-item`` (``data-app``),
``daisy-recent-link``, ``daisy-recent-none``.
"""

from __future__ import annotations

import html
import importlib.util
import json
import os
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .app_results import RecentResult, age_text, recent_results
from .app_thumbnails import data_uri

#: the index itself is not listed among the apps
INDEX_NAME = "index"
#: the Daisy Workbench under JupyterLab's address: the workbench notebook in a workspace of its own,
#: laid out afresh on each opening (``?reset``); its kernel docks the panels (daisy_widgets.workbench)
WORKBENCH_PATH = "workspaces/daisy-workbench/tree/notebooks/workbench.ipynb?reset"


@dataclass(frozen=True)
class AppInfo:
    """One app: ``name`` (file stem), ``path`` of the notebook, ``title`` and one-line ``description``;
    from its ``metadata.daisy``: the ``thumbnail`` PNG (or None) and where its ``results`` go."""

    name: str
    path: Path
    title: str
    description: str
    thumbnail: Path | None = None
    results: dict = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True)
class Resources:
    """What the computing layer offers right now (shown on the index)."""

    gpu: bool
    gpu_detail: str
    dask: bool
    dask_detail: str
    service: bool | None = None  # None: no data service configured
    service_detail: str = ""


def apps_dir() -> Path:
    """The apps folder: ``$DAISY_APPS_DIR``, else the repository's ``apps/``, else ``./apps``."""
    env = os.environ.get("DAISY_APPS_DIR")
    if env:
        return Path(env)
    repo_apps = Path(__file__).resolve().parents[1] / "apps"
    if repo_apps.is_dir():
        return repo_apps
    return Path.cwd() / "apps"


def _notebook(nb_path: Path) -> dict:
    try:
        return json.loads(nb_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _first_markdown(nb_path: Path, nb: dict | None = None) -> str:
    nb = _notebook(nb_path) if nb is None else nb
    for cell in nb.get("cells", []):
        if cell.get("cell_type") == "markdown":
            src = cell.get("source", "")
            return "".join(src) if isinstance(src, list) else str(src)
    return ""


def read_app_info(nb_path: str | os.PathLike) -> AppInfo:
    """Title and description of one notebook from its first markdown cell (fallback: the file name)."""
    nb_path = Path(nb_path)
    nb = _notebook(nb_path)
    meta = (nb.get("metadata") or {}).get("daisy") or {}
    title, description = "", ""
    for line in _first_markdown(nb_path, nb).splitlines():
        text = line.strip()
        if not text:
            continue
        if text.startswith("#") and not title:
            title = text.lstrip("#").strip()
        elif not text.startswith("#") and not description:
            description = text
        if title and description:
            break
    name = nb_path.stem
    thumb = meta.get("thumbnail")
    return AppInfo(
        name=name,
        path=nb_path,
        title=str(meta.get("title") or title or name.replace("_", " ").title()),
        description=str(meta.get("description") or description),
        thumbnail=(nb_path.parent / thumb) if thumb else None,
        results=dict(meta.get("results") or {}),
    )


def list_apps(folder: str | os.PathLike | None = None, include_index: bool = False) -> list[AppInfo]:
    """Every notebook of the apps folder, sorted by name (the index itself left out unless asked)."""
    folder = Path(folder) if folder is not None else apps_dir()
    if not folder.is_dir():
        return []
    paths = sorted(p for p in folder.glob("*.ipynb") if not p.name.startswith("."))
    return [read_app_info(p) for p in paths if include_index or p.stem != INDEX_NAME]


def find_app(name: str, folder: str | os.PathLike | None = None) -> AppInfo | None:
    """The app called ``name`` (file stem, with or without ``.ipynb``), or None."""
    stem = name[:-6] if name.endswith(".ipynb") else name
    for app in list_apps(folder, include_index=True):
        if app.name == stem:
            return app
    return None


def dask_scheduler_address() -> str | None:
    """The configured Dask scheduler: ``$DAISY_DASK_SCHEDULER``, ``$DASK_SCHEDULER_ADDRESS`` or dask's config."""
    for var in ("DAISY_DASK_SCHEDULER", "DASK_SCHEDULER_ADDRESS"):
        if os.environ.get(var):
            return os.environ[var]
    try:
        import dask

        return dask.config.get("scheduler-address", None)
    except ImportError:
        return None


def _reachable(address: str, timeout: float = 0.5) -> bool:
    hostport = address.split("://", 1)[-1].split("/", 1)[0]
    host, _, port = hostport.rpartition(":")
    try:
        with socket.create_connection((host or "127.0.0.1", int(port)), timeout=timeout):
            return True
    except (OSError, ValueError):
        return False


def _gib(n: float) -> str:
    return f"{n / 2**30:.1f} GiB"


def _cluster_detail(address: str, timeout: float = 3.0) -> str:
    """``"N workers, T threads, M GiB"`` of a running scheduler (empty when it does not answer in time)."""
    try:
        from distributed import Client

        with Client(address, timeout=timeout, set_as_default=False) as client:
            workers = client.scheduler_info().get("workers", {})
            threads = sum(int(w.get("nthreads", 0)) for w in workers.values())
            memory = sum(float(w.get("memory_limit", 0) or 0) for w in workers.values())
            return f"{len(workers)} workers, {threads} threads, {_gib(memory)} memory"
    except Exception:
        return ""


def probe_service(url: str | None = None) -> tuple[bool | None, str]:
    """Is the data service (``$DAISY_TILED_URL``) reachable? ``(None, why)`` when none is configured."""
    url = url if url is not None else os.environ.get("DAISY_TILED_URL")
    if not url:
        return None, "no data service configured (DAISY_TILED_URL): the apps read the local data folder"
    ok = _reachable(url)
    return ok, f"{url} " + (
        "reachable" if ok else "NOT reachable: the apps fall back on the local data folder"
    )


def probe_resources() -> Resources:
    """The GPU (CuPy with a device), the Dask cluster (configured and reachable with its workers and
    memory, or the local one that starts on demand) and the data service (reachable or not)."""
    from .core.backend import gpu_available

    gpu = bool(gpu_available())
    if gpu:
        try:
            import cupy

            props = cupy.cuda.runtime.getDeviceProperties(0)
            name = props["name"].decode() if isinstance(props["name"], bytes) else str(props["name"])
            mem = _gib(float(props.get("totalGlobalMem", 0)))
            gpu_detail = f"{name}, {mem} (CuPy {cupy.__version__})"
        except Exception:
            gpu_detail = "CUDA device available"
    else:
        gpu_detail = "no GPU: the apps run on the CPU (numpy/numba)"
    service, service_detail = probe_service()
    address = dask_scheduler_address()
    if address:
        ok = _reachable(address)
        detail = f"scheduler {address} " + ("reachable" if ok else "NOT reachable")
        if ok:
            size = _cluster_detail(address)
            detail += f": {size}" if size else ""
        return Resources(gpu, gpu_detail, ok, detail, service, service_detail)
    try:
        if importlib.util.find_spec("distributed") is None:  # installed? (not imported: that takes a second)
            raise ImportError("distributed")

        cores = os.cpu_count() or 1
        try:
            import psutil

            memory = f", {_gib(psutil.virtual_memory().total)} memory"
        except ImportError:
            memory = ""
        return Resources(
            gpu,
            gpu_detail,
            True,
            f"no shared cluster configured; a local Dask cluster ({cores} cores{memory}) starts on demand",
            service,
            service_detail,
        )
    except ImportError:
        return Resources(gpu, gpu_detail, False, "dask.distributed is not installed", service, service_detail)


def lab_url() -> str | None:
    """JupyterLab's address when running under JupyterHub (``$JUPYTERHUB_SERVICE_PREFIX``), else None."""
    prefix = os.environ.get("JUPYTERHUB_SERVICE_PREFIX")
    return f"{prefix.rstrip('/')}/lab" if prefix else None


def notebooks_dir() -> Path:
    """The exploration notebooks: ``$DAISY_NOTEBOOKS_DIR``, else ``notebooks/`` beside the apps folder."""
    env = os.environ.get("DAISY_NOTEBOOKS_DIR")
    return Path(env) if env else apps_dir().parent / "notebooks"


_CSS = """<style>
.daisy-app-index{max-width:1300px;font-family:inherit}
.daisy-gallery{display:grid;grid-template-columns:repeat(auto-fill,minmax(260px,1fr));gap:14px;
  list-style:none;padding:0;margin:8px 0 16px 0}
.daisy-card{border:1px solid #d8dde3;border-radius:8px;padding:10px;background:#fff;display:flex;
  flex-direction:column;gap:6px;min-width:0}
.daisy-card img.daisy-app-thumb{width:100%;aspect-ratio:16/10;object-fit:cover;border:1px solid #eee;
  border-radius:4px}
.daisy-card .daisy-thumb-none{width:100%;aspect-ratio:16/10;background:#f0f3f6;border-radius:4px;
  display:flex;align-items:center;justify-content:center;color:#8a96a3;font-size:40px}
.daisy-card .daisy-app-description{color:#444;font-size:13px;flex:1}
.daisy-card a.daisy-app-open,.daisy-card a.daisy-tool-open{align-self:flex-start;background:#2f6db5;
  color:#fff;padding:3px 14px;border-radius:4px;text-decoration:none}
.daisy-columns{display:grid;grid-template-columns:repeat(auto-fit,minmax(320px,1fr));gap:16px}
.daisy-recent li,.daisy-env-status li,.daisy-notebooks li{margin:3px 0;overflow-wrap:anywhere}
.daisy-muted{color:#666;font-size:12px}
</style>"""


def _card(app: AppInfo, lab: str | None, apps_url: str = "") -> str:
    esc = html.escape
    href = esc(f"{apps_url}{app.name}.ipynb", quote=True)
    lab_href = esc(f"{app.name}.ipynb", quote=True)
    uri = data_uri(app.thumbnail) if app.thumbnail else None
    thumb = (
        f'<a href="{href}" tabindex="-1"><img class="daisy-app-thumb" src="{uri}" '
        f'alt="{esc(app.title, quote=True)}: a view of the app"></a>'
        if uri
        else '<div class="daisy-thumb-none">&#9638;</div>'
    )
    extra = ""
    if lab:
        extra = (
            f' <a class="daisy-app-lab daisy-muted" href="{esc(lab, quote=True)}/tree/apps/{lab_href}" '
            f'target="_blank">notebook in JupyterLab</a>'
        )
    return (
        f'<li class="daisy-card daisy-app-entry" data-app="{esc(app.name, quote=True)}">{thumb}'
        f'<a class="daisy-app-link" href="{href}"><b>{esc(app.title)}</b></a>'
        f'<div class="daisy-app-description">{esc(app.description)}</div>'
        f'<div><a class="daisy-app-open" href="{href}">Open</a>{extra}</div></li>'
    )


def _tool_cards(lab: str | None) -> list[str]:
    esc = html.escape
    if not lab:
        return []
    lab_q = esc(lab, quote=True)
    return [
        '<li class="daisy-card daisy-tool-card" data-tool="workbench">'
        '<div class="daisy-thumb-none">&#9881;</div><b>Workbench</b>'
        '<div class="daisy-app-description">Data and algorithm toolboxes, console, editor, log, plots '
        "and the workflow builder over one data store, in JupyterLab.</div>"
        f'<a class="daisy-tool-open daisy-workbench-link" href="{lab_q}/{WORKBENCH_PATH}" target="_blank">'
        "Open</a></li>",
        '<li class="daisy-card daisy-tool-card" data-tool="workflow-builder">'
        '<div class="daisy-thumb-none">&#8680;</div><b>Workflow builder</b>'
        '<div class="daisy-app-description">Build, save and run workflows from the algorithm toolbox '
        "without code, in a notebook.</div>"
        f'<a class="daisy-tool-open" href="{lab_q}/tree/notebooks/workflows.ipynb" target="_blank">'
        "Open</a></li>",
        '<li class="daisy-card daisy-tool-card daisy-lab-link" data-tool="jupyterlab">'
        '<div class="daisy-thumb-none">{ }</div><b>JupyterLab</b>'
        '<div class="daisy-app-description">Your files, terminals and the exploration notebooks: '
        "everything the apps do, from code.</div>"
        f'<a class="daisy-tool-open" href="{lab_q}" target="_blank">Open</a></li>',
    ]


def _recent_html(recent: list[RecentResult], apps: dict[str, AppInfo], now: float, apps_url: str = "") -> str:
    esc = html.escape
    if not recent:
        return (
            '<p class="daisy-recent-none daisy-muted">No results yet: what the apps save '
            "(volumes, pipeline products) is listed here, newest first.</p>"
        )
    rows = []
    for r in recent:
        app = apps.get(r.app)
        title = app.title if app else r.app
        rows.append(
            f'<li class="daisy-recent-item" data-app="{esc(r.app, quote=True)}">'
            f'<a class="daisy-recent-link" href="{esc(apps_url + r.href, quote=True)}">{esc(r.path.name)}</a> '
            f'<span class="daisy-muted">{esc(r.label)} · {esc(title)} · {esc(age_text(r.mtime, now))} · '
            f"{esc(str(r.path.parent))}</span></li>"
        )
    return f'<ol class="daisy-recent">{"".join(rows)}</ol>'


def resources_html(resources: Resources) -> str:
    """The computing resources as the index shows them: a ``daisy-env-status`` list of badges
    (``daisy-res-gpu``, ``daisy-res-dask``, ``daisy-res-service``, each with ``data-available``)."""
    esc = html.escape

    def badge(ok: bool | None, label: str, detail: str, cls: str) -> str:
        mark = "&#10004;" if ok else ("&#8211;" if ok is None else "&#10008;")
        avail = "none" if ok is None else str(bool(ok)).lower()
        return f'<li class="{cls}" data-available="{avail}">{mark} <b>{label}</b>: {esc(detail)}</li>'

    res = badge(resources.gpu, "GPU", resources.gpu_detail, "daisy-res-gpu") + badge(
        resources.dask, "Dask", resources.dask_detail, "daisy-res-dask"
    )
    if resources.service_detail:
        res += badge(resources.service, "Data service", resources.service_detail, "daisy-res-service")
    return f'<ul class="daisy-env-status">{res}</ul>'


def index_html(
    apps: list[AppInfo],
    resources: Resources | str,
    lab: str | None = None,
    recent: list[RecentResult] | None = None,
    notebooks: list[AppInfo] | None = None,
    now: float | None = None,
    apps_url: str = "",
) -> str:
    """The index page's HTML: the gallery of apps and tools, the notebooks, the resources, the recent results.

    Parameters
    ----------
    apps, notebooks
        The app cards and the exploration notebooks listed.
    resources
        The computing resources (:func:`probe_resources`), or the HTML shown in their place (the
        page served without a kernel, :mod:`.index_page`, puts a placeholder there and fills it later).
    lab
        JupyterLab's address (the tool cards and notebook links), or None: no tool cards.
    recent
        The user's recent results (:func:`~.app_results.recent_results`).
    now
        The time the results' ages are counted from (s since the epoch; default: now).
    apps_url
        What the app links (cards, recent results) start with: ``""`` on the Voila page in the apps
        folder (links relative to it), the apps folder's Voila address elsewhere.
    """
    esc = html.escape
    cards = [_card(app, lab, apps_url) for app in apps]
    if not cards:
        cards.append('<li class="daisy-app-none">No apps found in the apps folder.</li>')
    cards += _tool_cards(lab)

    res = resources if isinstance(resources, str) else resources_html(resources)
    nb_items = []
    for nb in notebooks or []:
        name = esc(nb.path.name, quote=True)
        link = (
            f'<a class="daisy-notebook-link" href="{esc(lab, quote=True)}/tree/notebooks/{name}" '
            f'target="_blank">{esc(nb.title)}</a>'
            if lab
            else f'<span class="daisy-notebook-link">{esc(nb.title)}</span> <code>notebooks/{name}</code>'
        )
        nb_items.append(f'<li>{link} <span class="daisy-muted">{esc(nb.description)}</span></li>')
    notebooks_html = (
        f'<div><h3>Exploration notebooks</h3><ul class="daisy-notebooks">{"".join(nb_items)}</ul></div>'
        if nb_items
        else ""
    )
    recent_html = _recent_html(
        recent or [], {a.name: a for a in apps}, time.time() if now is None else now, apps_url
    )
    return (
        f'{_CSS}<div class="daisy-app-index"><h2>Apps</h2><ul class="daisy-app-list daisy-gallery">'
        f'{"".join(cards)}</ul><div class="daisy-columns">'
        f"<div><h3>Recent results</h3>{recent_html}</div>{notebooks_html}"
        f"<div><h3>Computing resources</h3>{res}</div></div></div>"
    )


def index_app(folder: str | os.PathLike | None = None) -> Any:
    """The index as an ipywidgets ``HTML`` widget (what ``apps/index.ipynb`` displays)."""
    import ipywidgets as widgets

    if folder is None:
        here = Path.cwd()
        folder = here if (here / f"{INDEX_NAME}.ipynb").exists() else apps_dir()
    apps = list_apps(folder)
    nb_folder = Path(folder).parent / "notebooks"
    notebooks = list_apps(nb_folder if nb_folder.is_dir() else notebooks_dir(), include_index=True)
    page = index_html(apps, probe_resources(), lab_url(), recent_results(apps), notebooks)
    return widgets.HTML(page, layout=widgets.Layout(width="100%"))


def main(argv: list[str] | None = None) -> int:
    """``python -m daisy_widgets.apps_index --resources-html``: print :func:`resources_html` of
    :func:`probe_resources` (what the page served without a kernel, :mod:`.index_page`, runs in a
    short-lived process, so that CuPy and a Dask client never live in the Jupyter server)."""
    import argparse

    ap = argparse.ArgumentParser(prog="python -m daisy_widgets.apps_index", description=main.__doc__)
    ap.add_argument("--resources-html", action="store_true", help="print the computing resources' HTML")
    args = ap.parse_args(argv)
    if not args.resources_html:
        ap.error("nothing to do: give --resources-html")
    try:  # a list to show, beside the kernels a user waits for (the pool's preload): low priority
        os.nice(10)
    except OSError:
        pass
    print(resources_html(probe_resources()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
