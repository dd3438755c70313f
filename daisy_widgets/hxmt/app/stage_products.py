"""Stage 5 of the HXMT app, My products: the user's own spectrum (with background, response, ARF),
fitted with the options of ``daisy hxmt fit`` and drawn with the folded model and residuals; the
user's light curve (or event file) and its power spectrum. Problems show at their field.

CSS classes: ``daisy-hxmt-products``, ``daisy-hxmt-products-fit`` (button),
``daisy-hxmt-products-message``, ``daisy-hxmt-plot-userspec``, ``daisy-hxmt-plot-residuals``.
"""

from __future__ import annotations

import html
import threading
from pathlib import Path
from typing import Any

import bqplot as bq
import ipywidgets as W
import numpy as np

from ...widgets.stage import Stage
from ..user_products import (
    ARF_SUFFIXES,
    LIGHTCURVE_SUFFIXES,
    RESPONSE_SUFFIXES,
    SPECTRUM_SUFFIXES,
    find_files,
)
from .plots import LightCurvePlot, PowerSpectrumPlot, _figure
from .products_model import MyProductsModel

_FIELDS = ("spectrum", "background", "response", "arf", "band", "lightcurve", "events", "segment")


class SpectrumFitPlot:
    """Net rate (count/s/keV) with errors and the folded model; residuals below."""

    def __init__(self) -> None:
        self.figure, self.xs, self.ys = _figure(
            "Spectrum and folded model", "energy (keV)", "count/s/keV", True, True
        )
        self.res_figure, self.rxs, self.rys = _figure(
            "Residuals", "energy (keV)", "(data - model) / error", True
        )
        self.res_figure.layout.height = "200px"
        self.figure.add_class("daisy-hxmt-plot-userspec")
        self.res_figure.add_class("daisy-hxmt-plot-residuals")
        self.points = 0

    def update(self, folded: dict[str, np.ndarray] | None) -> None:
        if folded is None:
            self.figure.marks, self.res_figure.marks, self.points = [], [], 0
            return
        e = np.sqrt(folded["e_lo"] * folded["e_hi"])
        rate, model = folded["rate"], folded["model"]
        sc = {"x": self.xs, "y": self.ys}
        ok = rate > 0
        self.figure.marks = [
            bq.Scatter(
                x=e[ok],
                y=rate[ok],
                scales=sc,
                colors=["#1f77b4"],
                default_size=12,
                labels=["data"],
                display_legend=True,
            ),
            bq.Lines(
                x=e, y=model, scales=sc, colors=["#d62728"], labels=["folded model"], display_legend=True
            ),
        ]
        rsc = {"x": self.rxs, "y": self.rys}
        self.res_figure.marks = [
            bq.Scatter(x=e, y=folded["residual"], scales=rsc, colors=["#1f77b4"], default_size=12),
            bq.Lines(
                x=np.array([e.min(), e.max()]),
                y=np.zeros(2),
                scales=rsc,
                colors=["#777"],
                line_style="dashed",
            ),
        ]
        self.points = int(e.size)
        for s, lo, hi in ((self.xs, e.min() / 1.1, e.max() * 1.1), (self.rxs, e.min() / 1.1, e.max() * 1.1)):
            s.min, s.max = float(lo), float(hi)
        pos = np.concatenate([rate[ok], model[model > 0]])
        if pos.size:
            self.ys.min, self.ys.max = float(pos.min() / 1.5), float(pos.max() * 1.5)
        r = np.abs(folded["residual"])
        self.rys.min, self.rys.max = -float(max(r.max(), 1.0)) * 1.1, float(max(r.max(), 1.0)) * 1.1


class MyProductsStage(Stage):
    """My products (see the module docstring); a :class:`MyProductsModel` is its model and controller."""

    title = "5. My products"
    help_text = (
        "Your own products, made here or by HXMTDAS: pick a spectrum (PHA) and, when its keywords say "
        "NONE, a background (COUNTS or RATE with STAT_ERR), a response (RSP, or RMF with an ARF). The band "
        "in keV (empty: the instrument's nominal one, HE 28-250, ME 10-30, LE 1-10), the model, the "
        "statistic and the fitter are those of <code>daisy hxmt fit</code>. A good fit shows residuals "
        "scattered around 0 and a statistic close to its degrees of freedom. A light curve (OGIP RATE) or "
        "an event file (binned at the bin size, s) is drawn with its Leahy power spectrum (segments in s). "
        "A problem shows in red under its field."
    )
    help_algorithms: tuple[str, ...] = ()
    help_docs = (
        ("Fitting your own products", "hxmt.md#fitting-your-own-products-daisy-hxmt-fit"),
        ("The HXMT app", "hxmt-app.md#what-the-page-does"),
    )

    def __init__(self, model: MyProductsModel, **kw: Any):
        super().__init__(model, model, **kw)
        self.thread: threading.Thread | None = None

    def _files(self, suffixes: tuple[str, ...]) -> list[str]:
        root = self.model.root or str(Path.home())
        return [str(p) for p in find_files(root, suffixes)]

    def _render(self) -> list[W.Widget]:
        lay = W.Layout(width="560px")
        self.fields: dict[str, W.Widget] = {}
        self.field_errors: dict[str, W.HTML] = {f: W.HTML("") for f in _FIELDS}
        rows = []
        for name, suffixes, label in (
            ("spectrum", SPECTRUM_SUFFIXES, "spectrum"),
            ("background", SPECTRUM_SUFFIXES, "background"),
            ("response", RESPONSE_SUFFIXES, "response"),
            ("arf", ARF_SUFFIXES, "ARF"),
        ):
            w = W.Combobox(
                options=self._files(suffixes),
                description=label,
                ensure_option=False,
                layout=lay,
                placeholder="a file (empty: from the spectrum's keywords)"
                if name != "spectrum"
                else "a PHA file",
            )
            self.bind(w, name)
            self.fields[name] = w
            rows += [w, self.field_errors[name]]
        self.band_lo = W.FloatText(description="band (keV)", layout=W.Layout(width="200px"))
        self.band_hi = W.FloatText(description="to", layout=W.Layout(width="160px"))
        self.bind(
            self.band_lo, "band_lo", to_widget=lambda v: 0.0 if v is None else v, to_model=lambda v: v or None
        )
        self.bind(
            self.band_hi, "band_hi", to_widget=lambda v: 0.0 if v is None else v, to_model=lambda v: v or None
        )
        self.model_choice = W.Dropdown(
            options=["powerlaw", "tbabs*powerlaw", "cutoffpl"], description="model"
        )
        self.stat_choice = W.Dropdown(options=["wstat", "cstat", "pgstat", "chi2"], description="statistic")
        self.backend_choice = W.Dropdown(options=["auto", "sherpa", "builtin"], description="fitter")
        self.bind(self.model_choice, "model_name")
        self.bind(self.stat_choice, "stat")
        self.bind(self.backend_choice, "backend")
        self.fit_button = W.Button(description="Fit", button_style="primary")
        self.fit_button.add_class("daisy-hxmt-products-fit")
        self.fit_button.on_click(lambda _b: self.fit())
        rows += [
            W.HBox([self.band_lo, self.band_hi]),
            self.field_errors["band"],
            W.HBox([self.model_choice, self.stat_choice, self.backend_choice, self.fit_button]),
        ]
        self.lc_field = W.Combobox(
            options=self._files(LIGHTCURVE_SUFFIXES),
            description="light curve",
            ensure_option=False,
            layout=lay,
        )
        self.events_field = W.Combobox(
            options=self._files((".evt", ".fits")), description="or events", ensure_option=False, layout=lay
        )
        self.bind(self.lc_field, "lightcurve")
        self.bind(self.events_field, "events")
        self.fields.update(lightcurve=self.lc_field, events=self.events_field)
        self.binsize = W.FloatText(description="bin (s)", layout=W.Layout(width="180px"))
        self.segment = W.FloatText(description="segment (s)", layout=W.Layout(width="180px"))
        self.bind(self.binsize, "binsize")
        self.bind(self.segment, "segment")
        self.timing_button = W.Button(description="Show light curve")
        self.timing_button.on_click(lambda _b: self.show_timing())
        rows += [
            self.lc_field,
            self.field_errors["lightcurve"],
            self.events_field,
            self.field_errors["events"],
            W.HBox([self.binsize, self.segment, self.timing_button]),
            self.field_errors["segment"],
        ]
        self.message = W.HTML("")
        self.message.add_class("daisy-hxmt-products-message")
        self.spec_plot = SpectrumFitPlot()
        self.lc_plot, self.pds_plot = LightCurvePlot(), PowerSpectrumPlot()
        self.observe_model(lambda _c: self._show_problems(), "problems")
        self.observe_model(lambda _c: self._show_message(), "message")
        self.observe_model(lambda _c: self._draw_fit(), "fit_version")
        self.observe_model(lambda _c: self._draw_timing(), "timing_version")
        self.observe_model(lambda c: setattr(self.fit_button, "disabled", bool(c["new"])), "busy")
        self.add_class("daisy-hxmt-products")
        grid = W.GridBox(
            [
                W.VBox([self.spec_plot.figure, self.spec_plot.res_figure]),
                W.VBox([self.lc_plot.figure, self.pds_plot.figure]),
            ],
            layout=W.Layout(grid_template_columns="repeat(2, 580px)"),
        )
        return [*rows, self.message, grid]

    def refresh(self) -> None:
        self._show_problems()
        self._show_message()

    def _show_problems(self) -> None:
        for name, box in self.field_errors.items():
            msg = self.model.problems.get(name)
            box.value = "" if not msg else f"<span style='color:#b00'>{html.escape(msg)}</span>"

    def _show_message(self) -> None:
        self.message.value = html.escape(self.model.message)

    def _draw_fit(self) -> None:
        from ..user_products import folded_spectrum

        res = self.model.fit_result
        self.spec_plot.update(folded_spectrum(res) if res is not None else None)

    def _draw_timing(self) -> None:
        self.lc_plot.update(self.model.lc)
        self.pds_plot.update(self.model.pds)

    # -- actions -----------------------------------------------------------------------
    def fit(self, wait: bool = False) -> threading.Thread | None:
        """What the Fit button does: fit in a thread (the page stays usable); ``wait`` blocks."""
        if self.model.busy:
            return None
        self.model.message = "fitting..."
        self.thread = threading.Thread(target=self._fit_safely, daemon=True)
        self.thread.start()
        if wait:
            self.thread.join()
        return self.thread

    def _fit_safely(self) -> None:
        try:
            self.model.fit()
        except Exception as exc:  # shown to the user, the app stays usable
            self.model.busy = False
            self.model.message = f"The fit failed: {type(exc).__name__}: {exc}"

    def show_timing(self) -> None:
        """What the "Show light curve" button does."""
        try:
            self.model.load_timing()
        except Exception as exc:  # shown to the user, the app stays usable
            self.model.message = f"Could not read the light curve: {type(exc).__name__}: {exc}"


__all__ = ["MyProductsStage", "SpectrumFitPlot"]
