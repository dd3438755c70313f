"""Help where the user is: a "?" toggle over a short text, written from algorithm declarations.

Every :class:`~daisy_widgets.widgets.stage.Stage` shows a :class:`HelpToggle` at its top:
a small "?" button that opens (and closes) a panel saying what the stage does, what its
parameters mean (with units) and what a good result looks like, with links to the docs pages.
A stage declares it on its class::

    class CentreStage(Stage):
        title = "4 Centre"
        help_text = "Find the rotation axis ... A good centre gives sharp edges, no arcs."
        help_algorithms = ("tomo.find_center",)        # their parameters are listed from the declaration
        help_docs = (("The tomography app", "tomography-app.md#the-stages"),)

:func:`help_html` builds the panel's HTML; :func:`algorithm_help_html` lists one declared
algorithm's parameters (name, unit, default, bounds, help); :func:`docs_url` makes a docs link
(JupyterLab's Markdown viewer of the user's ``docs/`` folder under JupyterHub,
``$DAISY_DOCS_URL`` when a site publishes the docs elsewhere).

CSS classes for browser tests: ``daisy-help`` (the toggle), ``daisy-help-button`` (the "?"),
``daisy-help-text`` (the panel, hidden until the button is pressed).
"""

from __future__ import annotations

import html
import os
from collections.abc import Iterable, Sequence
from typing import Any

import ipywidgets as W

#: where the docs pages are linked from, when nothing else is known (the repository's folder)
DOCS_FOLDER = "docs"


def docs_url(page: str) -> str:
    """The address of docs page ``page`` (e.g. ``"tomography-app.md#the-stages"``).

    ``$DAISY_DOCS_URL`` + page when set; under JupyterHub (``$JUPYTERHUB_SERVICE_PREFIX``)
    the page in JupyterLab (the hub links the repository's ``docs/`` into each home);
    else the path ``docs/<page>`` relative to the repository.
    """
    base = os.environ.get("DAISY_DOCS_URL")
    if base:
        return f"{base.rstrip('/')}/{page}"
    prefix = os.environ.get("JUPYTERHUB_SERVICE_PREFIX")
    if prefix:
        return f"{prefix.rstrip('/')}/lab/tree/{DOCS_FOLDER}/{page}"
    return f"{DOCS_FOLDER}/{page}"


def _algorithm_class(name: str) -> type | None:
    from ..core import registry

    try:
        return registry.get_algorithm(name)
    except Exception:
        return None


def _bounds(p: Any) -> str:
    if p.type == "choice":
        return "one of " + ", ".join(str(c) for c in p.choices)
    if p.min is not None and p.max is not None:
        return f"{p.min:g} … {p.max:g}"
    if p.min is not None:
        return f"≥ {p.min:g}"
    if p.max is not None:
        return f"≤ {p.max:g}"
    return ""


def algorithm_help_html(cls: type) -> str:
    """One algorithm's summary and parameters (name, unit, default, bounds, help) as HTML.

    Parameters
    ----------
    cls
        An :class:`~daisy_widgets.core.algorithm.Algorithm` subclass (its declaration is read).
    """
    esc = html.escape
    rows = []
    for p in getattr(cls, "params", ()):
        unit = f" ({esc(p.unit)})" if p.unit else ""
        default = "automatic" if p.default is None else esc(str(p.default))
        extra = _bounds(p)
        extra = f"; {esc(extra)}" if extra else ""
        rows.append(
            f"<li><code>{esc(p.name)}</code>{unit}: {esc(p.help or '')} "
            f"<span style='color:#666'>(default {default}{extra})</span></li>"
        )
    summary = cls.summary() if hasattr(cls, "summary") else (cls.__doc__ or "").strip().split("\n")[0]
    params = f"<ul style='margin:2px 0 4px 0'>{''.join(rows)}</ul>" if rows else ""
    return f"<div><b><code>{esc(cls.name)}</code></b>: {esc(summary)}{params}</div>"


def help_html(text: str, algorithms: Iterable[str] = (), docs: Sequence[tuple[str, str]] = ()) -> str:
    """The help panel's HTML: ``text`` (may hold simple HTML), the algorithms' parameters, the docs links.

    Parameters
    ----------
    text
        What the stage does, what a good result looks like (HTML allowed: it is the app's own text).
    algorithms
        Registered algorithm names whose declared parameters the stage's forms show.
    docs
        ``(label, page)`` pairs, ``page`` relative to the docs folder (see :func:`docs_url`).
    """
    parts = [f"<div class='daisy-help-what'>{text}</div>"] if text else []
    algos = [c for c in (_algorithm_class(n) for n in algorithms) if c is not None]
    if algos:
        parts.append(
            "<div style='margin-top:4px'><b>Parameters</b> (from the algorithms' declarations)</div>"
        )
        parts += [algorithm_help_html(c) for c in algos]
    if docs:
        links = ", ".join(
            f"<a href='{html.escape(docs_url(page), quote=True)}' target='_blank' "
            f"style='color:#2f6db5;text-decoration:underline'>{html.escape(label)}</a>"
            for label, page in docs
        )
        parts.append(f"<div class='daisy-help-docs' style='margin-top:4px'>More: {links}</div>")
    return "".join(parts)


class HelpToggle(W.VBox):
    """A "?" button that shows and hides a help panel (the panel is hidden at first).

    Parameters
    ----------
    content
        The panel's HTML (see :func:`help_html`).
    """

    def __init__(self, content: str, **kw: Any):
        self.button = W.ToggleButton(
            value=False,
            description="?",
            tooltip="what this stage does, its parameters, what a good result looks like",
            layout=W.Layout(width="32px", height="26px", padding="0"),
        )
        self.button.add_class("daisy-help-button")
        self.text = W.HTML(
            value=(
                "<div style='background:#f3f6fb;border-left:3px solid #4a78b5;padding:6px 10px;"
                f"font-size:13px;max-width:1100px'>{content}</div>"
            ),
            layout=W.Layout(display="none"),
        )
        self.text.add_class("daisy-help-text")
        self.button.observe(self._toggle, names="value")
        super().__init__([self.button, self.text], **kw)
        self.add_class("daisy-help")

    @property
    def shown(self) -> bool:
        """Whether the panel is open."""
        return bool(self.button.value)

    def toggle(self, show: bool | None = None) -> None:
        """Open (``True``), close (``False``) or flip (``None``) the panel."""
        self.button.value = (not self.button.value) if show is None else bool(show)

    def _toggle(self, change: dict) -> None:
        self.text.layout.display = "" if change["new"] else "none"


__all__ = ["HelpToggle", "algorithm_help_html", "docs_url", "help_html"]
