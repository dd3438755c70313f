"""The user's recent results: files the apps wrote, newest first, each with the link that reopens it.

An app declares where its results go in its notebook's metadata (``metadata.daisy.results``)::

    "results": {"folders": ["$DAISY_RESULTS_DIR", "~/daisy-results"],  # the first that is set is used
                "patterns": ["*.h5"],          # glob patterns under the folder
                "param": "result",              # the app's URL parameter that reopens one
                "parent": false,                # true: the result is the folder holding the match
                "label": "reconstructed volume"}

:func:`recent_results` lists them for the index (``apps/index.ipynb``): the link is
``<app>.ipynb?<param>=<path>``, which the app reads from its address (``QUERY_STRING``).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode


@dataclass(frozen=True)
class RecentResult:
    """One result: the ``app`` (notebook stem) that wrote it, its ``path``, ``mtime`` (s since the epoch),
    what it is (``label``) and the ``href`` that reopens it in its app (relative to the apps folder)."""

    app: str
    path: Path
    mtime: float
    label: str
    href: str


def results_folder(spec: Mapping[str, Any]) -> Path | None:
    """The first folder of ``spec["folders"]`` that is set (``$VAR`` unset or empty is skipped), expanded."""
    for text in spec.get("folders", ()):
        text = str(text)
        if text.startswith("$"):
            value = os.environ.get(text[1:].split("/")[0], "")
            if not value:
                continue
            text = value + text[1 + len(text[1:].split("/")[0]) :]
        return Path(os.path.expanduser(os.path.expandvars(text)))
    return None


def _matches(folder: Path, spec: Mapping[str, Any]) -> Iterable[Path]:
    seen: set[Path] = set()
    for pattern in spec.get("patterns", ("*",)):
        for p in folder.glob(pattern):
            target = p.parent if spec.get("parent") else p
            if target not in seen and not target.name.startswith("."):
                seen.add(target)
                yield target


def recent_results(apps: Iterable[Any], limit: int = 12) -> list[RecentResult]:
    """The results of ``apps`` (objects with ``name`` and ``results``, the metadata spec), newest first.

    Parameters
    ----------
    apps
        :class:`~daisy_widgets.apps_index.AppInfo` objects (or anything with ``name`` and ``results``).
    limit
        At most this many are returned.
    """
    found: list[RecentResult] = []
    for app in apps:
        spec = getattr(app, "results", None) or {}
        folder = results_folder(spec)
        if folder is None or not folder.is_dir():
            continue
        for path in _matches(folder, spec):
            try:
                mtime = max([path.stat().st_mtime, *(p.stat().st_mtime for p in path.glob("*"))])
            except (OSError, ValueError):
                continue
            query = urlencode({spec.get("param", "file"): str(path)})
            found.append(
                RecentResult(app.name, path, mtime, str(spec.get("label", "")), f"{app.name}.ipynb?{query}")
            )
    found.sort(key=lambda r: r.mtime, reverse=True)
    return found[:limit]


def age_text(mtime: float, now: float | None = None) -> str:
    """``"just now"``, ``"5 min ago"``, ``"3 h ago"``, ``"2 days ago"`` or the date."""
    dt = (time.time() if now is None else now) - mtime
    if dt < 60:
        return "just now"
    if dt < 3600:
        return f"{int(dt // 60)} min ago"
    if dt < 86400:
        return f"{int(dt // 3600)} h ago"
    if dt < 7 * 86400:
        days = int(dt // 86400)
        return f"{days} day{'s' if days > 1 else ''} ago"
    return time.strftime("%Y-%m-%d", time.localtime(mtime))


__all__ = ["RecentResult", "age_text", "recent_results", "results_folder"]
