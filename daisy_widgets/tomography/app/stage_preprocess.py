"""Stage 3, Preprocess: the steps switched on and off, their generated forms, the sinogram before and after."""

from __future__ import annotations

import ipywidgets as W

from ...widgets.form import ParamForm
from ...widgets.image_view import ImageView
from ...widgets.stage import Stage
from .help_texts import stage_help
from .logic import PreprocessSettings
from .model import PREPROCESS_STEPS, algorithm_class

_LABELS = {
    "normalize": "Flat/dark normalisation (always on)",
    "zingers": "Zinger / outlier removal",
    "stripes": "Stripe (ring) removal",
    "phase": "Phase retrieval (Paganin)",
}


class PreprocessStage(Stage):
    """Stage 3: one checkbox and one form (generated from the step's declaration) per step.

    The checkboxes are ``model.steps_on``; valid form values go to ``model.step_values``,
    invalid ones to ``model.preprocess_problems`` (keyed ``<step>.<param>``). The before/after
    sinograms of the preview row follow ``model.preview``.
    """

    title = "3 Preprocess"
    help_text, help_algorithms, help_docs = stage_help("preprocess")

    def _render(self) -> list[W.Widget]:
        self.forms: dict[str, ParamForm] = {}
        self.enabled: dict[str, W.Checkbox] = {}
        self._syncing = False
        self._shown_sinogram: tuple | None = None
        boxes = []
        for key, algo in PREPROCESS_STEPS:
            form = ParamForm(
                algorithm_class(algo), self.model.step_values[key], on_change=lambda _f: self._form_changed()
            )
            cb = W.Checkbox(
                value=bool(self.model.steps_on.get(key)),
                description=_LABELS[key],
                indent=False,
                disabled=key == "normalize",
                layout=W.Layout(width="320px"),
            )
            cb.add_class(f"daisy-tomo-enable-{key}")
            cb.observe(lambda _c: self._form_changed(), names="value")
            self.forms[key], self.enabled[key] = form, cb
            boxes.append(
                W.VBox([cb, form], layout=W.Layout(border="1px solid #ddd", padding="4px", margin="2px 0"))
            )
        self.before_view = ImageView(
            "Before (flat/dark + minus-log only)",
            width=380,
            height=230,
            max_size=512,
            labels=("column", "angle index"),
            show_cmap=False,
        )
        self.after_view = ImageView(
            "After (enabled steps)",
            width=380,
            height=230,
            max_size=512,
            labels=("column", "angle index"),
            show_cmap=False,
        )
        self.observe_model(lambda _c: self._show_model(), ("steps_on", "step_values"))
        self.observe_model(lambda _c: self._show_sinograms(), "preview")
        left = W.VBox(boxes + [W.HBox([self.before_view, self.after_view])], layout=W.Layout(width="800px"))
        return [left]

    def refresh(self) -> None:
        self._show_model()
        self._show_sinograms()

    # -- widgets -> model ------------------------------------------------------------------
    def _form_changed(self) -> None:
        if self._syncing:
            return
        problems: dict[str, list[str]] = {}
        values = dict(self.model.step_values)
        for key, form in self.forms.items():
            if not self.enabled[key].value:
                continue
            probs = form.problems
            if probs:
                problems.update({f"{key}.{k}": v for k, v in probs.items()})
            else:
                values[key] = form.coerced
        with self.model.hold_trait_notifications():
            self.model.step_values = values
            self.model.steps_on = {k: bool(cb.value) for k, cb in self.enabled.items()}
            self.model.preprocess_problems = problems

    # -- model -> widgets ------------------------------------------------------------------
    def _show_model(self) -> None:
        self._syncing = True
        try:
            for key, form in self.forms.items():
                self.enabled[key].value = bool(self.model.steps_on.get(key))
                want = self.model.step_values[key]
                if form.valid and form.coerced != want:
                    form.set_values(want)
        finally:
            self._syncing = False

    def _show_sinograms(self) -> None:
        """Before/after sinograms of the previewed row: only when the sinogram changed."""
        result = self.model.preview
        if result is None:
            return
        snap, sino = result.snapshot, result.sinogram
        key = (snap["row"], snap["settings"].key(), snap["motion"], id(sino))
        if key == self._shown_sinogram:
            return
        self._shown_sinogram = key
        self.after_view.set_image(sino)
        try:
            plain = self.controller.sinogram(
                snap["row"], PreprocessSettings(normalize=snap["settings"].normalize), motion=False
            )
            self.before_view.set_image(plain)
        except Exception:
            pass


__all__ = ["PreprocessStage"]
