"""The HXMT app's model: where to search, what is selected, the chosen parameters and the results.

:class:`HxmtModel` is a :class:`traitlets.HasTraits` that the stages observe and
change; it imports no widget. The results (light curves, spectra: arrays) are
not traits: they sit in :attr:`HxmtModel.results` and ``results_version`` is
bumped when they change.
"""

from __future__ import annotations

import threading
from typing import Any

from traitlets import Any as AnyTrait
from traitlets import Bool, Dict, HasTraits, Int, List, Unicode


class HxmtModel(HasTraits):
    """Everything the HXMT app's stages share.

    Traits: ``archive`` (where to search, a handle), ``rows`` (search results), ``selected``
    (the ticked rows), ``instruments`` (ticked, e.g. ``["HE"]``), ``params`` (instrument ->
    :class:`~.workflow.JobParams`, or absent while its form holds bad values), ``param_problems``
    (instrument -> {field: [problems]}), ``running``, ``results_version``, ``shown`` (the job key
    whose products are drawn).
    """

    archive = AnyTrait(None, allow_none=True)
    rows = List()
    selected = List()
    instruments = List(Unicode(), default_value=["HE"])
    params = Dict()
    param_problems = Dict()
    running = Bool(False)
    results_version = Int(0)
    shown = Unicode(None, allow_none=True)

    def __init__(self, **kw: Any):
        super().__init__(**kw)
        self.results: dict[str, Any] = {}  # job key -> products (arrays: not a trait)
        self.job_labels: dict[str, str] = {}
        self.newest: str | None = None
        self.lock = threading.Lock()

    def problems(self) -> list[str]:
        """Why Run cannot start now (empty when it can)."""
        out = []
        if not self.selected:
            out.append("pick at least one observation in the search results")
        if not self.instruments:
            out.append("tick at least one instrument")
        for x in self.instruments:
            p = self.param_problems.get(x)
            if p:
                out.append(
                    f"{x} parameters: "
                    + "; ".join(f"{k.split('.')[-1]}: {', '.join(v)}" for k, v in p.items())
                )
        return out

    def update_results(self, ok: dict[str, Any], failed: dict[str, Any]) -> None:
        """Keep the finished jobs' products, drop those of the failed ones; bumps ``results_version``.

        :attr:`newest` is the first finished job of this run (the one to show), or None.
        """
        self.newest = next(iter(ok), None)
        with self.lock:
            self.results.update(ok)
            for key in failed:
                self.results.pop(key, None)
        self.results_version += 1

    def summary_rows(self) -> list[dict]:
        """One row per finished job: label, GTI and live exposure (s), rates (count/s)."""
        with self.lock:
            items = list(self.results.items())
        return [{"job": self.job_labels.get(k, k), "key": k, **r["summary"]} for k, r in items]


__all__ = ["HxmtModel"]
