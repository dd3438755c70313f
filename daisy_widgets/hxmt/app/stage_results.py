"""Stage 4 of the HXMT app, Results: the summary table, the four plots and the product files of a job."""

from __future__ import annotations

import html
import os
from pathlib import Path
from typing import Any

import ipywidgets as W

from ...widgets.plot_export import FileLinks, PlotExport
from ...widgets.stage import Stage
from ..mission import spec
from .help_texts import stage_help
from .model import HxmtModel
from .plots import LightCurvePlot, PowerSpectrumPlot, ProfilePlot, SpectrumPlot


def summary_html(rows: list[dict]) -> str:
    """The finished jobs as a table: good time, live exposure (s), events, rates (count/s)."""
    if not rows:
        return ""
    f = lambda v, p="{:.1f}": "" if v is None else p.format(v)  # noqa: E731
    body = "".join(
        f"<tr><td>{html.escape(r['job'])}</td><td>{f(r['gti_seconds'])}</td><td>{f(r['exposure'])}</td>"
        f"<td>{f(r['n_events'], '{:d}')}</td><td>{f(r['rate'], '{:.2f}')}</td><td>{f(r['bkg_rate'], '{:.2f}')}</td>"
        f"<td>{f(r['net_rate'], '{:.2f}')}</td></tr>"
        for r in rows
    )
    return (
        "<table style='border-collapse:collapse' cellpadding=3><tr><th align=left>job</th>"
        "<th>good time (s)</th><th>live exposure (s)</th><th>events</th><th>rate (count/s)</th>"
        f"<th>background (count/s)</th><th>net (count/s)</th></tr>{body}</table>"
    )


class ResultsStage(Stage):
    """Results: follows ``model.results_version``; ``model.shown`` is the job drawn (a dropdown)."""

    title = "4. Results"
    help_text, help_algorithms, help_docs = stage_help("results")

    def __init__(self, model: HxmtModel, products_dir: str | os.PathLike, **kw: Any):
        super().__init__(model, None, **kw)
        self.products_dir = Path(products_dir)

    def _render(self) -> list[W.Widget]:
        self.result_choice = W.Dropdown(options=[], description="show", layout=W.Layout(width="420px"))
        self.bind(self.result_choice, "shown")
        self.observe_model(lambda _c: self.show(self.model.shown), "shown")
        self.lc_plot, self.spec_plot = LightCurvePlot(), SpectrumPlot()
        self.pds_plot, self.profile_plot = PowerSpectrumPlot(), ProfilePlot()
        self.plots = {"lc": self.lc_plot, "spectrum": self.spec_plot, "pds": self.pds_plot}
        self.plots["profile"] = self.profile_plot
        self.exports: dict[str, PlotExport] = {}
        cells = []
        for name, p in self.plots.items():
            p.figure.add_class(f"daisy-hxmt-plot-{name}")
            exp = PlotExport(p.figure, f"{name}.png")
            self.exports[name] = exp
            reset = W.Button(description="reset zoom", layout=W.Layout(width="110px"))
            reset.on_click(lambda _b, p=p: p.reset_zoom())
            cells.append(W.VBox([p.figure, W.HBox([exp, reset])]))
        self.plot_grid = W.GridBox(cells, layout=W.Layout(grid_template_columns="repeat(2, 580px)"))
        self.summary = W.HTML("")
        self.summary.add_class("daisy-hxmt-summary")
        self.file_links = FileLinks()
        self.file_links.add_class("daisy-hxmt-files")
        self.observe_model(lambda _c: self.refresh(), "results_version")
        return [
            W.HTML("<h3 style='margin:6px 0'>4. Results</h3>"),
            self.summary,
            self.result_choice,
            self.plot_grid,
            W.HTML("<b>Product files</b>"),
            self.file_links,
        ]

    def refresh(self) -> None:
        """The summary and the job choice after a run (the newest finished job is shown)."""
        rows = self.model.summary_rows()
        self.summary.value = summary_html(rows)
        labels = self.model.job_labels
        opts = [(labels.get(r["key"], r["key"]), r["key"]) for r in rows]
        keys = [v for _, v in opts]
        cur, prefer = self.result_choice.value, self.model.newest
        want = prefer if prefer in keys else (cur if cur in keys else (keys[0] if keys else None))
        self.result_choice.options = opts
        if want is None or self.result_choice.value == want:
            self.show(want)
        else:
            self.result_choice.value = want

    def show(self, key: str | None) -> None:
        """Draw the plots, files and export folder of one job (``<exp_id>/<instrument>``)."""
        r = self.model.results.get(key) if key else None
        if r is None:
            for p in self.plots.values():
                p.clear()
            self.file_links.set_files([])
            return
        x = key.split("/")[-1]
        params = self.model.params.get(x)
        bkg = params.background if params is not None else True
        scr = params.screen if params is not None else {}
        s = spec(x)
        pr = (
            scr.get("pi_min") if scr.get("pi_min") is not None else s.band[0],
            scr.get("pi_max") if scr.get("pi_max") is not None else s.band[1],
        )
        self.lc_plot.update(r["lc"], r["bkg_lc"], r["gti"], show_background=bkg)
        self.spec_plot.update(r["spectrum"], r["bkg_spectrum"], show_background=bkg, pi_range=pr)
        self.pds_plot.update(r.get("pds"))
        self.profile_plot.update(r.get("profile"))
        label = self.model.job_labels.get(key, key)
        for p in self.plots.values():
            p.figure.title = p.figure.title.split(" — ")[0] + f" — {label}"
        out = Path(r["files"][0]).parent if r["files"] else self.products_dir
        for name, e in self.exports.items():
            e.directory = out
            e.filename = f"{x}_{name}.png"
            e.link.value = ""
        self.file_links.set_files(r["files"])


__all__ = ["ResultsStage", "summary_html"]
