"""Start a user's Jupyter server with the IRI grammar of jsonschema built on first use, not at import.

``jupyter_server`` imports ``jupyter_events``, which imports ``jsonschema``; jsonschema's format
checker (``jsonschema._format``) imports ``rfc3987_syntax`` for the ``iri`` and
``iri-reference`` formats, and that package builds three Earley parsers of the RFC 3987
grammar with Lark *when it is imported*: 1.8-3.5 s of a user server's start on this 2-core
machine (``python -X importtime``), for formats nothing checks while the server starts
(jsonschema issues #1428 and #1392).

:func:`defer_iri_grammar` puts a stand-in module under the name ``rfc3987_syntax`` before
jsonschema is imported. jsonschema finds it, registers its ``iri`` checkers as before, and
binds the stand-in's :func:`is_valid_syntax`; the first call (the first time anything checks
an ``iri`` or ``iri-reference`` format), or the first use of any other name of the package,
imports the real ``rfc3987_syntax`` and hands over to it. The answers are the real package's;
only the moment the grammar is built moves. Nothing is put in place when the package is not
installed (jsonschema then registers no IRI checker, as it would anyway).

Run as ``python -m daisy_widgets.server_launch PROGRAM [ARGS...]``: ``PROGRAM`` is a Python
script (the ``jupyterhub-singleuser`` console script of the demo hub) run as ``__main__`` with
``ARGS``, or ``-m MODULE`` (``-m jupyterhub.singleuser``, as the site hub starts it).
``DAISY_DEFER_IRI_GRAMMAR=0`` in the environment starts it without the stand-in (as before).
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import runpy
import sys
import threading
import types
from typing import Any

#: the package that builds its grammar at import
GRAMMAR_PACKAGE = "rfc3987_syntax"
#: environment variable: ``0`` starts the server without the stand-in
DEFER_VARIABLE = "DAISY_DEFER_IRI_GRAMMAR"

_lock = threading.Lock()


class _DeferredGrammarModule(types.ModuleType):
    """Stands in for ``rfc3987_syntax`` until something uses it (see the module docstring)."""

    def __getattr__(self, name: str) -> Any:
        if name == "__all__":  # ``from rfc3987_syntax import *``: the real package's public names
            real = _real_module()
            return getattr(real, "__all__", [n for n in vars(real) if not n.startswith("_")])
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)  # import machinery and introspection: no load
        return getattr(_real_module(), name)


def _real_module() -> types.ModuleType:
    """The real ``rfc3987_syntax`` (imported on the first call, with its grammar built)."""
    with _lock:
        current = sys.modules.get(GRAMMAR_PACKAGE)
        if current is not None and not isinstance(current, _DeferredGrammarModule):
            return current
        stand_in = sys.modules.pop(GRAMMAR_PACKAGE, None)
        try:
            return importlib.import_module(GRAMMAR_PACKAGE)
        except BaseException:
            if stand_in is not None:
                sys.modules[GRAMMAR_PACKAGE] = stand_in
            raise


def is_valid_syntax(term: str, value: str) -> bool:
    """``rfc3987_syntax.is_valid_syntax``: whether ``value`` matches grammar rule ``term``
    (``"iri"``, ``"iri_reference"``...); builds the grammar on the first call."""
    return _real_module().is_valid_syntax(term, value)


def defer_iri_grammar() -> bool:
    """Put the stand-in for ``rfc3987_syntax`` in place; True when it was put there.

    Does nothing (False) when the package is not installed, is already imported, or
    ``DAISY_DEFER_IRI_GRAMMAR`` is ``0``."""
    if os.environ.get(DEFER_VARIABLE, "1").strip() == "0" or GRAMMAR_PACKAGE in sys.modules:
        return False
    spec = importlib.util.find_spec(GRAMMAR_PACKAGE)
    if spec is None:
        return False
    stand_in = _DeferredGrammarModule(GRAMMAR_PACKAGE, __doc__)
    stand_in.__spec__ = spec
    stand_in.__file__ = spec.origin
    stand_in.__path__ = list(spec.submodule_search_locations or [])
    stand_in.is_valid_syntax = is_valid_syntax
    sys.modules[GRAMMAR_PACKAGE] = stand_in
    return True


def main(argv: list[str] | None = None) -> None:
    """``python -m daisy_widgets.server_launch PROGRAM [ARGS...]`` or ``... -m MODULE [ARGS...]``."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or (args[0] == "-m" and len(args) < 2):
        raise SystemExit(
            "usage: python -m daisy_widgets.server_launch PROGRAM [ARGS...] | -m MODULE [ARGS...]\n"
            "example: python -m daisy_widgets.server_launch .venv/bin/jupyterhub-singleuser --help"
        )
    defer_iri_grammar()
    if args[0] == "-m":
        sys.argv = [args[1], *args[2:]]
        runpy.run_module(args[1], run_name="__main__", alter_sys=True)
    else:
        sys.argv = args
        runpy.run_path(args[0], run_name="__main__")


if __name__ == "__main__":
    main()
