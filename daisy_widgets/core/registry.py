"""Discovery of algorithms through the ``daisy.algorithms`` entry-point group.

Each entry point names either an :class:`~daisy_widgets.core.algorithm.Algorithm`
subclass or a module with an ``ALGORITHMS`` sequence of them; Daisy's own
algorithms are registered the same way (see ``pyproject.toml``). As in xarray's
backend plug-ins: a plug-in that fails to load is reported (warning, and in
:func:`broken_plugins`) and skipped, never fatal; a duplicate name warns and the
first one wins; the result is cached.
"""

from __future__ import annotations

import functools
import importlib.metadata
import inspect
import warnings
from types import ModuleType
from typing import Any

from .algorithm import Algorithm

GROUP = "daisy.algorithms"


class PluginWarning(UserWarning):
    """A plug-in could not be loaded or clashes with another one."""


def _algorithms_of(obj: Any) -> list[type[Algorithm]]:
    if inspect.isclass(obj) and issubclass(obj, Algorithm):
        return [obj]
    if isinstance(obj, ModuleType):
        algos = getattr(obj, "ALGORITHMS", None)
        if algos is None:
            raise TypeError(f"module {obj.__name__} has no ALGORITHMS list")
        out = list(algos)
        for a in out:
            if not (inspect.isclass(a) and issubclass(a, Algorithm)):
                raise TypeError(f"{obj.__name__}.ALGORITHMS holds {a!r}, which is not an Algorithm subclass")
        return out
    raise TypeError(
        f"entry point resolves to {obj!r}: expected an Algorithm subclass or a module with ALGORITHMS"
    )


@functools.lru_cache(maxsize=1)
def _discover() -> tuple[dict[str, type[Algorithm]], dict[str, str]]:
    found: dict[str, type[Algorithm]] = {}
    broken: dict[str, str] = {}
    eps = sorted(
        importlib.metadata.entry_points(group=GROUP), key=lambda e: (e.dist.name if e.dist else "", e.name)
    )
    for ep in eps:
        origin = f"{ep.dist.name if ep.dist else '?'}:{ep.name} = {ep.value}"
        try:
            algos = _algorithms_of(ep.load())
        except Exception as exc:  # a broken plug-in must never be fatal
            broken[origin] = f"{type(exc).__name__}: {exc}"
            warnings.warn(
                f"Daisy algorithm plug-in {origin} failed to load and was skipped: "
                f"{type(exc).__name__}: {exc}",
                PluginWarning,
                stacklevel=2,
            )
            continue
        for algo in algos:
            if not algo.name:
                broken[origin] = f"{algo.__qualname__} has no name"
                warnings.warn(
                    f"{origin}: {algo.__qualname__} has no name and was skipped", PluginWarning, stacklevel=2
                )
                continue
            if algo.name in found and found[algo.name] is not algo:
                warnings.warn(
                    f"algorithm {algo.name!r} from {origin} duplicates "
                    f"{found[algo.name].__module__}.{found[algo.name].__qualname__}; the first is kept",
                    PluginWarning,
                    stacklevel=2,
                )
                continue
            found[algo.name] = algo
    return found, broken


def algorithms() -> dict[str, type[Algorithm]]:
    """All registered algorithms, by name (sorted)."""
    found, _ = _discover()
    return dict(sorted(found.items()))


def broken_plugins() -> dict[str, str]:
    """Plug-ins that failed to load: ``{"dist:entry = value": "error"}``."""
    return dict(_discover()[1])


def get_algorithm(name: str) -> type[Algorithm]:
    """The algorithm class registered under ``name``.

    Raises
    ------
    KeyError
        Naming the unknown algorithm and the closest known names.
    """
    found = algorithms()
    try:
        return found[name]
    except KeyError:
        import difflib

        close = difflib.get_close_matches(name, found, n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise KeyError(f"unknown algorithm {name!r}{hint}") from None


def refresh() -> None:
    """Forget the cached discovery (after installing a plug-in at run time)."""
    _discover.cache_clear()
