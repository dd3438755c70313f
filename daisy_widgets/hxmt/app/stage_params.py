"""Stage 2 of the HXMT app, Parameters: the instruments to run and each one's step forms."""

from __future__ import annotations

import ipywidgets as W

from ...widgets.stage import Stage
from ..mission import INSTRUMENTS
from .forms import InstrumentForms
from .help_texts import stage_help


class ParamsStage(Stage):
    """Parameters: one checkbox per instrument (``model.instruments``) and one tab of generated
    forms per instrument; valid values go to ``model.params[x]`` (a
    :class:`~.workflow.JobParams`), problems to ``model.param_problems[x]``."""

    title = "2. Parameters"
    help_text, help_algorithms, help_docs = stage_help("params")

    def _render(self) -> list[W.Widget]:
        self._syncing = False
        self.instrument_boxes = {
            x: W.Checkbox(
                value=x in self.model.instruments, description=x, indent=False, layout=W.Layout(width="70px")
            )
            for x in INSTRUMENTS
        }
        for x, b in self.instrument_boxes.items():
            b.add_class(f"daisy-hxmt-inst-{x}")
            b.observe(lambda _c: self._boxes_changed(), names="value")
        self.forms = {x: InstrumentForms(x) for x in INSTRUMENTS}
        for x, f in self.forms.items():
            for pf in f.forms.values():
                pf.on_change(lambda _f, x=x: self._form_changed(x))
            f.timing.observe(lambda _c, x=x: self._form_changed(x), names="value")
            for w in (f.background, f.barycentre):
                w.observe(lambda _c, x=x: self._form_changed(x), names="value")
            self._form_changed(x)
        self.observe_model(lambda _c: self._show_instruments(), "instruments")
        self.params_tabs = W.Tab(children=[self.forms[x] for x in INSTRUMENTS], titles=INSTRUMENTS)
        head = W.HBox([W.HTML("<b>Instruments to run:</b>&nbsp;")] + list(self.instrument_boxes.values()))
        return [head, self.params_tabs]

    def _boxes_changed(self) -> None:
        if not self._syncing:
            self.model.instruments = [x for x, b in self.instrument_boxes.items() if b.value]

    def _show_instruments(self) -> None:
        self._syncing = True  # the boxes follow the model: their changes do not go back to it
        try:
            for x, b in self.instrument_boxes.items():
                b.value = x in self.model.instruments
        finally:
            self._syncing = False

    def _form_changed(self, x: str) -> None:
        probs = self.forms[x].problems
        params = dict(self.model.params)
        if probs:
            params.pop(x, None)
        else:
            params[x] = self.forms[x].params()
        with self.model.hold_trait_notifications():
            self.model.params = params
            self.model.param_problems = {**self.model.param_problems, x: probs}


__all__ = ["ParamsStage"]
