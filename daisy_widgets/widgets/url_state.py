"""An app's state in its page address: read the query string, keep the address bar current, "Copy link".

Voila hands the page's query string to the kernel in the environment variable
``QUERY_STRING`` (as CGI does), so an app built in ``apps/<name>.ipynb`` reads the state it
was opened with from :func:`query_params`. The app encodes its current state with
:func:`encode_query` and shows it in a :class:`CopyLink`: its address follows the state (the
browser's address bar is rewritten with ``history.replaceState``, so the address bar itself is
the link), and the *Copy link* button puts the full address on the clipboard. The technique
decides which state goes in (e.g. ``?file=…&stage=centre&center=296.3`` for tomography).

CSS classes for browser tests: ``daisy-copy-link`` (the widget), ``daisy-copy-link-button``,
``daisy-copy-link-text`` (the address shown, an ``<input>``); ``data-query`` holds the query.
"""

from __future__ import annotations

import html
import json
import os
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode

import ipywidgets as W

#: environment variable in which Voila gives the kernel the page's query string
QUERY_VARIABLE = "QUERY_STRING"


def query_params(query: str | None = None) -> dict[str, str]:
    """The page's query parameters (``$QUERY_STRING`` under Voila, or ``query``); the last value of a repeated name.

    Parameters
    ----------
    query
        A query string (with or without the leading ``?``); default: ``$QUERY_STRING`` ("" outside Voila).
    """
    text = os.environ.get(QUERY_VARIABLE, "") if query is None else query
    return dict(parse_qsl(text.lstrip("?"), keep_blank_values=False))


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def encode_query(params: Mapping[str, Any]) -> str:
    """``"?name=value&..."`` of the parameters that are not None ("" when none is); floats to 6 digits."""
    items = [(k, _text(v)) for k, v in params.items() if v is not None and v != ""]
    return "?" + urlencode(items) if items else ""


# Runs in the page each time the widget's HTML is set: rewrite the address bar's query
# (an <img> that cannot load calls its onerror: the one way an HTML widget runs code).
# Not in JupyterLab or the classic notebook (the app shown in a notebook): their address is theirs.
_FOLLOW = (
    "var s=this.parentNode,q=s.getAttribute('data-query'),u=location.origin+location.pathname+q;"
    "var own=location.pathname.indexOf('/voila/')>=0||!/\\/(lab|notebooks|tree|doc)(\\/|$)/.test(location.pathname);"
    "if(own&&location.search!==q){try{history.replaceState(history.state,'',u);}catch(e){}}"
    "var i=s.querySelector('input');if(i){i.value=u;}"
)
_COPY = (
    "var s=this.parentNode,i=s.querySelector('input'),"
    "u=location.origin+location.pathname+s.getAttribute('data-query'),b=this;"
    "i.value=u;i.select();var ok=function(){b.textContent='Link copied';"
    "setTimeout(function(){b.textContent='Copy link';},2000);};"
    "if(navigator.clipboard&&window.isSecureContext){navigator.clipboard.writeText(u).then(ok,"
    "function(){document.execCommand('copy');ok();});}else{document.execCommand('copy');ok();}"
)


def copy_link_html(query: str) -> str:
    """The widget's HTML for ``query`` (``"?a=1"`` or ""): the button, the address, the address-bar updater."""
    q = html.escape(query, quote=True)
    follow = html.escape(_FOLLOW, quote=True)
    copy = html.escape(_COPY, quote=True)
    return (
        f'<span class="daisy-copy-link-box" data-query="{q}" style="display:flex;gap:6px;align-items:center">'
        f'<button class="daisy-copy-link-button" type="button" onclick="{copy}" '
        'title="copy the address of this view (file, stage, parameters) to share it" '
        'style="padding:2px 10px;cursor:pointer">Copy link</button>'
        f'<input class="daisy-copy-link-text" readonly value="{q}" aria-label="link to this view" '
        'style="flex:1;min-width:120px;font-size:12px;color:#555;border:1px solid #ddd;padding:2px 4px">'
        f'<img alt="" src="data:," style="display:none" onerror="{follow}"></span>'
    )


class CopyLink(W.HTML):
    """The "Copy link" button and the address of the current view (see the module docstring).

    Parameters
    ----------
    params
        The state to encode at first (see :func:`encode_query`).
    """

    def __init__(self, params: Mapping[str, Any] | None = None, **kw: Any):
        super().__init__(layout=W.Layout(width="100%", max_width="900px"), **kw)
        self.add_class("daisy-copy-link")
        self.query = ""
        self.set_state(params or {})

    def set_state(self, params: Mapping[str, Any]) -> str:
        """Encode ``params`` into the link (and the address bar); returns the query string."""
        query = encode_query(params)
        if query != self.query or not self.value:
            self.query = query
            self.value = copy_link_html(query)
        return query

    def state(self) -> dict[str, str]:
        """The parameters the link holds now."""
        return query_params(self.query)

    def __repr__(self) -> str:
        return f"CopyLink({json.dumps(self.state())})"


__all__ = ["CopyLink", "QUERY_VARIABLE", "copy_link_html", "encode_query", "query_params"]
