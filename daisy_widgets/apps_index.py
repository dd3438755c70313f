"""The app index: which notebooks in ``apps/`` are apps, their titles, and what the platform offers.

Used by ``apps/index.ipynb`` (the page users land on after logging in), by
``daisy apps`` and by ``daisy app NAME``. An app is any notebook in the apps
folder; its title is the first heading of its first markdown cell, its
description the first other line of that cell.
"""

from __future__ import annotations

import html
import json
import os
import socket
from dataclasses import dataclass
from pathlib import Path

#: the index itself is not listed among the apps
INDEX_NAME = "index"


@dataclass(frozen=True)
class AppInfo:
    """One app: ``name`` (file stem), ``path`` of the notebook, ``title`` and one-line ``description``."""

    name: str
    path: Path
    title: str
    description: str


@dataclass(frozen=True)
class Resources:
    """What the computing layer offers right now (shown on the index)."""

    gpu: bool
    gpu_detail: str
    dask: bool
    dask_detail: str


def apps_dir() -> Path:
    """The apps folder: ``$DAISY_APPS_DIR``, else the repository's ``apps/``, else ``./apps``."""
    env = os.environ.get("DAISY_APPS_DIR")
    if env:
        return Path(env)
    repo_apps = Path(__file__).resolve().parents[1] / "apps"
    if repo_apps.is_dir():
        return repo_apps
    return Path.cwd() / "apps"


def _first_markdown(nb_path: Path) -> str:
    try:
        nb = json.loads(nb_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return ""
    for cell in nb.get("cells", []):
        if cell.get("cell_type") == "markdown":
            src = cell.get("source", "")
            return "".join(src) if isinstance(src, list) else str(src)
    return ""


def read_app_info(nb_path: str | os.PathLike) -> AppInfo:
    """Title and description of one notebook from its first markdown cell (fallback: the file name)."""
    nb_path = Path(nb_path)
    title, description = "", ""
    for line in _first_markdown(nb_path).splitlines():
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
    return AppInfo(
        name=name, path=nb_path, title=title or name.replace("_", " ").title(), description=description
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


def probe_resources() -> Resources:
    """Is there a usable GPU (CuPy with a device) and a Dask cluster (configured and reachable, or local)?"""
    from .core.backend import gpu_available

    gpu = bool(gpu_available())
    if gpu:
        try:
            import cupy

            props = cupy.cuda.runtime.getDeviceProperties(0)
            name = props["name"].decode() if isinstance(props["name"], bytes) else str(props["name"])
            gpu_detail = f"{name} (CuPy {cupy.__version__})"
        except Exception:
            gpu_detail = "CUDA device available"
    else:
        gpu_detail = "no GPU: the apps run on the CPU (numpy/numba)"
    address = dask_scheduler_address()
    if address:
        ok = _reachable(address)
        detail = f"scheduler {address} " + ("reachable" if ok else "NOT reachable")
        return Resources(gpu, gpu_detail, ok, detail)
    try:
        import distributed  # noqa: F401

        cores = os.cpu_count() or 1
        return Resources(
            gpu,
            gpu_detail,
            True,
            f"no shared cluster configured; a local Dask cluster ({cores} cores) starts on demand",
        )
    except ImportError:
        return Resources(gpu, gpu_detail, False, "dask.distributed is not installed")


def lab_url() -> str | None:
    """JupyterLab's address when running under JupyterHub (``$JUPYTERHUB_SERVICE_PREFIX``), else None."""
    prefix = os.environ.get("JUPYTERHUB_SERVICE_PREFIX")
    return f"{prefix.rstrip('/')}/lab" if prefix else None


def index_html(apps: list[AppInfo], resources: Resources, lab: str | None = None) -> str:
    """The index page's HTML: one entry per app (link, title, description), then the resources."""
    esc = html.escape
    rows = []
    for app in apps:
        href = esc(f"{app.name}.ipynb", quote=True)
        extra = ""
        if lab:
            extra = (
                f' <a class="daisy-app-lab" href="{esc(lab, quote=True)}/tree/apps/{href}" '
                f'target="_blank">(notebook in JupyterLab)</a>'
            )
        rows.append(
            f'<li class="daisy-app-entry" data-app="{esc(app.name, quote=True)}">'
            f'<a class="daisy-app-link" href="{href}"><b>{esc(app.title)}</b></a>{extra}'
            f'<div class="daisy-app-description">{esc(app.description)}</div></li>'
        )
    if not rows:
        rows.append('<li class="daisy-app-none">No apps found in the apps folder.</li>')

    def badge(ok: bool, label: str, detail: str, cls: str) -> str:
        mark = "&#10004;" if ok else "&#10008;"
        return (
            f'<li class="{cls}" data-available="{str(ok).lower()}">{mark} <b>{label}</b>: {esc(detail)}</li>'
        )

    res = badge(resources.gpu, "GPU", resources.gpu_detail, "daisy-res-gpu") + badge(
        resources.dask, "Dask", resources.dask_detail, "daisy-res-dask"
    )
    lab_line = (
        (
            f'<p class="daisy-lab-link">Explore the notebooks in '
            f'<a href="{esc(lab, quote=True)}" target="_blank">JupyterLab</a>.</p>'
        )
        if lab
        else ""
    )
    return (
        f'<div class="daisy-app-index"><h2>Apps</h2><ul class="daisy-app-list">{"".join(rows)}</ul>'
        f'<h3>Computing resources</h3><ul class="daisy-env-status">{res}</ul>{lab_line}</div>'
    )


def index_app(folder: str | os.PathLike | None = None):
    """The index as an ipywidgets ``HTML`` widget (what ``apps/index.ipynb`` displays)."""
    import ipywidgets as widgets

    if folder is None:
        here = Path.cwd()
        folder = here if (here / f"{INDEX_NAME}.ipynb").exists() else apps_dir()
    return widgets.HTML(index_html(list_apps(folder), probe_resources(), lab_url()))
