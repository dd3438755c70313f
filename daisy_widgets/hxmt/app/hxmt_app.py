"""The Insight-HXMT web app: four stages over one model, on one page.

This module only composes: :class:`~.model.HxmtModel` (the state), the
:class:`~.runner.JobRunner` (the controller: workflows on the Dask engine or in
process, cached steps) and one view per stage (``stage_search``, ``stage_params``,
``stage_run``, ``stage_results``), plus "My products" (``stage_products`` over its own
:class:`~.products_model.MyProductsModel`: the user's own files, fitted as ``daisy hxmt fit`` does). ``apps/hxmt.ipynb`` builds and displays
:class:`HxmtApp`; everything the page does is a method of the app object::

    app = HxmtApp(engine="inprocess")
    app.search(target="Crab")           # fills app.table
    app.table.select([0])
    app.instruments = ["HE"]
    app.forms["HE"].set("lcgen", binsize=10.0)
    app.run(wait=True)                  # workflows on the Dask engine (or in-process)
    app.summary_rows                    # exposure after screening, count rates
    app.files                           # product files of the shown job

A second :meth:`HxmtApp.run` with changed parameters repeats only the steps whose
parameters (or inputs) changed; the others' intermediate products are cached where the job ran.

CSS classes for browser tests: ``daisy-hxmt-app``, ``daisy-copy-link``, ``daisy-hxmt-search`` (button),
``daisy-hxmt-target``, ``daisy-hxmt-source``, ``daisy-hxmt-message``, ``daisy-hxmt-run``
(button), ``daisy-hxmt-jobs``, ``daisy-hxmt-summary``,
``daisy-hxmt-plot-<lc|spectrum|pds|profile>``, ``daisy-hxmt-files``.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import ipywidgets as W

from ...widgets.stage import Stage
from ...widgets.url_state import CopyLink, query_params
from ..mission import INSTRUMENTS, spec
from .archive import Archive, default_archive
from .model import HxmtModel
from .products_model import MyProductsModel
from .runner import Job, JobRunner, JobState
from .stage_params import ParamsStage
from .stage_products import MyProductsStage
from .stage_results import ResultsStage
from .stage_run import RunStage
from .stage_search import SearchStage
from .url_state import apply_state, follow_state

#: widgets reachable as attributes of the app, by the stage that owns them
_WIDGETS = {
    "search": (
        "target",
        "obs_id",
        "ra",
        "dec",
        "radius",
        "start",
        "stop",
        "search_fields",
        "search_errors",
        "search_button",
        "source",
        "local_button",
        "search_message",
        "table",
    ),
    "params": ("instrument_boxes", "forms", "params_tabs"),
    "run": ("run_button", "engine", "selection_note", "run_message", "progress", "jobs_view"),
    "results": (
        "result_choice",
        "lc_plot",
        "spec_plot",
        "pds_plot",
        "profile_plot",
        "plots",
        "exports",
        "plot_grid",
        "summary",
        "file_links",
    ),
}
_OWNER = {name: key for key, names in _WIDGETS.items() for name in names}


class HxmtApp(W.VBox):
    """The HXMT app (an ipywidgets VBox; see the module docstring).

    Parameters
    ----------
    archive
        Where to search (default: :func:`~.archive.default_archive`, the data service when
        ``DAISY_TILED_URL`` is set, else the local data folder).
    products_dir
        Root folder of the products (default ``DAISY_HXMT_PRODUCTS`` or ``~/daisy-hxmt-products``).
    engine
        ``"dask"`` (default: a local Dask cluster, or ``scheduler``) or ``"inprocess"``.
    scheduler
        Dask scheduler address (default ``DAISY_DASK_SCHEDULER``; None: a local cluster).
    url_state
        State to open (``{"target": "Crab", "products": "<folder>"}``, see :mod:`.url_state`);
        default: the page's query string under Voila (``$QUERY_STRING``).
    """

    def __init__(
        self,
        archive: Archive | None = None,
        products_dir: str | os.PathLike | None = None,
        engine: str = "dask",
        scheduler: Any = None,
        url_state: dict[str, str] | None = None,
        **kw: Any,
    ):
        self.model = HxmtModel(archive=archive if archive is not None else default_archive())
        self.products_dir = Path(
            products_dir or os.environ.get("DAISY_HXMT_PRODUCTS") or Path.home() / "daisy-hxmt-products"
        )
        runner = JobRunner(
            engine, scheduler if scheduler is not None else os.environ.get("DAISY_DASK_SCHEDULER")
        )
        self.stages: dict[str, Stage] = {
            "search": SearchStage(self.model),
            "params": ParamsStage(self.model),
            "run": RunStage(self.model, runner, self.products_dir),
            "results": ResultsStage(self.model, self.products_dir),
        }
        for stage in self.stages.values():  # one page: every stage is shown at once
            stage.render()
        # no heading of its own: the page's title and purpose are the notebook's first markdown cell
        # (apps/hxmt.ipynb, also the app's card on the index); a second heading here doubled it
        h3 = lambda t: W.HTML(f"<h3 style='margin:6px 0'>{t}</h3>")  # noqa: E731
        s = self.stages
        # the user's own products (not a pipeline stage): drawn when first opened
        self.products_model = MyProductsModel(root=str(Path.home()))
        self.products_stage = MyProductsStage(self.products_model)
        self.products_box = W.Accordion(children=[self.products_stage], selected_index=None)
        self.products_box.set_title(0, "5. My products: fit your own spectrum, see your light curve")
        self.products_box.observe(
            lambda c: self.products_stage.render() if c["new"] is not None else None, names="selected_index"
        )
        children = [h3(s["search"].title), s["search"], h3(s["params"].title), s["params"]]
        self.link = CopyLink()  # the view's address (search, products shown), to share
        super().__init__(children=[self.link, *children, s["run"], s["results"], self.products_box], **kw)
        self.add_class("daisy-hxmt-app")
        shared = query_params() if url_state is None else dict(url_state)  # Voila: the page's query
        if shared:
            apply_state(self, shared)
        follow_state(self, self.link)

    def close(self) -> None:
        """Close the stages (they stop following the model), then the page."""
        for stage in [*self.stages.values(), self.products_stage]:
            stage.close()
        super().close()

    def __getattr__(self, name: str) -> Any:
        # only for names not found on the app: a stage's widget
        owner = _OWNER.get(name)
        if owner is not None and "stages" in self.__dict__:
            return getattr(self.stages[owner], name)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    # ================================================================ the model, by name
    @property
    def archive(self) -> Archive:
        return self.model.archive

    @property
    def runner(self) -> JobRunner:
        """The job runner (the Run stage's: a new one when the engine is changed)."""
        return self.stages["run"].runner

    @property
    def instruments(self) -> list[str]:
        return list(self.model.instruments)

    @instruments.setter
    def instruments(self, names: Sequence[str]) -> None:
        want = {spec(n).name for n in names}
        self.model.instruments = [x for x in INSTRUMENTS if x in want]

    @property
    def results(self) -> dict[str, Any]:
        """Products of the finished jobs, by job key (``<exp_id>/<instrument>``)."""
        return self.model.results

    @property
    def job_labels(self) -> dict[str, str]:
        return self.model.job_labels

    @property
    def summary_rows(self) -> list[dict]:
        """One row per finished job: label, GTI and live exposure (s), rates (count/s)."""
        return self.model.summary_rows()

    @property
    def shown(self) -> str | None:
        return self.model.shown

    @property
    def files(self) -> list[Path]:
        """Product files of the job shown."""
        return list(self.stages["results"].file_links.files)

    # ================================================================ what the buttons do
    def use_local(self, data_dir: str | os.PathLike | None = None) -> None:
        """Search a local Level-1 folder instead (e.g. when the data service is down)."""
        self.stages["search"].use_local(data_dir)

    def query(self) -> Any:
        """The query of the search fields (raises ValidationError naming the bad fields)."""
        return self.stages["search"].query()

    def search(self, **fields: Any) -> list[dict]:
        """Search with the form (fields given here are typed in first); fills :attr:`table`."""
        return self.stages["search"].search(**fields)

    def problems(self) -> list[str]:
        """Why Run cannot start now (empty when it can)."""
        return self.model.problems()

    def jobs(self) -> list[Job]:
        """The jobs the Run button would start: each selected observation × each ticked instrument it has."""
        return self.stages["run"].jobs()

    def run(self, wait: bool = False) -> threading.Thread | None:
        """What the Run button does; with ``wait`` block until the jobs finish (scripts and tests)."""
        return self.stages["run"].run(wait, on_update=self._on_update)

    def _on_update(self, states: list[JobState]) -> None:
        self.stages["run"].show_states(states)

    def cancel(self) -> None:
        """What the Cancel button does."""
        self.stages["run"].progress.cancel()

    def wait(self, timeout: float | None = None) -> None:
        """Wait for the run in progress (if any)."""
        thread = self.stages["run"].progress.thread
        if thread is not None:
            thread.join(timeout)

    def show(self, key: str | None) -> None:
        """Draw the plots, files and export folder of one job (``<exp_id>/<instrument>``)."""
        self.stages["results"].show(key)

    def export_png(self, name: str) -> Path | None:
        """What a plot's PNG button does (``lc``, ``spectrum``, ``pds``, ``profile``); returns the file written."""
        return self.stages["results"].exports[name].export()


def main() -> HxmtApp:
    """Build the app (what ``apps/hxmt.ipynb`` does)."""
    return HxmtApp()


__all__ = ["HxmtApp", "main"]
