"""The step boxes of the workflow builder: one algorithm step, or one sub-workflow step.

Each box shows the step's id, its title, its wiring (the data-store keys it reads and
writes) and buttons to move it up or down or remove it; an algorithm step adds the form
generated from the algorithm's declaration. The boxes tell their host (the
:class:`~daisy_widgets.widgets.workflow_builder.WorkflowBuilder`, seen here only through
the :class:`StepHost` protocol) when they change or ask to move.
"""

from __future__ import annotations

import html
from typing import Protocol

import ipywidgets as W

from ..core.workflow import Step
from .form import ParamForm


class StepHost(Protocol):
    """What a step box needs of the builder that holds it."""

    def _changed(self) -> None: ...

    def move_step(self, editor: StepRow, delta: int) -> None: ...

    def remove_step(self, editor: StepRow) -> None: ...


def _key_field(label: str, value: str, tooltip: str, css: str) -> W.Text:
    """A text field holding one data-store key of a step's wiring."""
    t = W.Text(
        value=value,
        description=label,
        placeholder="data-store key",
        tooltip=tooltip,
        style={"description_width": "initial"},
        layout=W.Layout(width="300px"),
    )
    t.add_class(css)
    return t


class StepRow(W.VBox):
    """What every step box has: its id, title, wiring fields and move/remove buttons.

    ``inputs``/``outputs`` map a port (or, in a sub-workflow, an inner key) to its text field
    holding the outer data-store key.
    """

    def __init__(
        self,
        builder: StepHost,
        step: Step,
        in_names: list[tuple[str, str]],
        out_names: list[tuple[str, str]],
        body: W.Widget,
    ):
        self.builder = builder
        self.step_id = W.Text(
            value=step.id,
            description="id",
            layout=W.Layout(width="220px"),
            tooltip="unique name of the step (used in progress and errors)",
        )
        self.step_id.add_class("daisy-wb-step-id")
        self.title = W.HTML()
        self.title.add_class("daisy-wb-step-title")
        self.inputs = {
            n: _key_field(f"{n} ←", step.inputs.get(n, ""), tip, f"daisy-wb-in-{n}") for n, tip in in_names
        }
        self.outputs = {
            n: _key_field(f"{n} →", step.outputs.get(n, ""), tip, f"daisy-wb-out-{n}") for n, tip in out_names
        }
        for t in [self.step_id, *self.inputs.values(), *self.outputs.values()]:
            t.observe(lambda _c: builder._changed(), names="value")
        self.block = step.block
        self.up = W.Button(icon="arrow-up", tooltip="move up", layout=W.Layout(width="36px"))
        self.up.add_class("daisy-wb-up")
        self.down = W.Button(icon="arrow-down", tooltip="move down", layout=W.Layout(width="36px"))
        self.down.add_class("daisy-wb-down")
        self.remove = W.Button(
            icon="trash", tooltip="remove this step", button_style="danger", layout=W.Layout(width="36px")
        )
        self.remove.add_class("daisy-wb-remove")
        self.up.on_click(lambda _b: builder.move_step(self, -1))
        self.down.on_click(lambda _b: builder.move_step(self, +1))
        self.remove.on_click(lambda _b: builder.remove_step(self))
        wiring = W.VBox(
            [W.HTML("<i>reads</i>"), *self.inputs.values(), W.HTML("<i>writes</i>"), *self.outputs.values()]
        )
        super().__init__(
            children=[
                W.HBox([self.title, self.step_id, self.up, self.down, self.remove]),
                W.HBox([body, wiring]),
            ],
            layout=W.Layout(border="1px solid #ccc", padding="4px", margin="2px 0"),
        )
        self.add_class("daisy-wb-step")

    label = "step"  # shown in the title after the step's number

    @property
    def valid(self) -> bool:
        return True

    def _wiring(self, fields: dict[str, W.Text]) -> dict[str, str]:
        return {k: t.value.strip() for k, t in fields.items() if t.value.strip()}


class StepEditor(StepRow):
    """Editor of one algorithm step: title, generated form, wiring, move/remove buttons."""

    def __init__(self, builder: StepHost, algorithm: type, step: Step):
        self.algorithm = algorithm
        self.form = ParamForm(algorithm, step.params, on_change=lambda _f: builder._changed())
        super().__init__(
            builder,
            step,
            [(p.name, p.help or p.name) for p in algorithm.inputs],
            [(p.name, p.help or p.name) for p in algorithm.outputs],
            self.form,
        )

    @property
    def label(self) -> str:  # type: ignore[override]
        return self.algorithm.name

    @property
    def valid(self) -> bool:
        return self.form.valid

    def to_step(self) -> Step:
        # typed values when valid (so the JSON holds numbers, not the text of a field); as typed otherwise
        params = self.form.json_values() if self.form.valid else self.form.values
        return Step(
            id=self.step_id.value.strip(),
            algorithm=self.algorithm.name,
            params=params,
            inputs=self._wiring(self.inputs),
            outputs=self._wiring(self.outputs),
            block=self.block,
        )


class SubWorkflowEditor(StepRow):
    """A sub-workflow kept as one step: its inner steps listed, its keys wired to the outer store.

    The wiring fields are the inner workflow's inputs (keys it reads before writing them) and
    the keys it writes; an output left empty stays private to the sub-workflow. Its inner
    steps are edited in a builder of their own (load its JSON there) and saved back.
    """

    def __init__(self, builder: StepHost, step: Step):
        assert step.workflow is not None
        self.inner = step.workflow
        ins = list(dict.fromkeys([*self.inner.required_keys(), *step.inputs]))
        outs = list(dict.fromkeys([*self.inner.produced_keys(), *step.outputs]))
        rows = "".join(
            f"<li>{html.escape(path)}: {html.escape(st.algorithm or '')}</li>"
            for path, st in self.inner.flatten()
        )
        summary = W.HTML(
            f"<div style='width:380px'>sub-workflow <b>{html.escape(self.inner.name)}</b>, "
            f"{len(self.inner.flatten())} step(s):<ul style='margin:2px 0'>{rows}</ul></div>"
        )
        summary.add_class("daisy-wb-sub-summary")
        super().__init__(
            builder,
            step,
            [(k, f"inner key {k}") for k in ins],
            [(k, f"inner key {k}") for k in outs],
            summary,
        )
        self.add_class("daisy-wb-sub")

    @property
    def label(self) -> str:  # type: ignore[override]
        return f"sub-workflow {self.inner.name}"

    def to_step(self) -> Step:
        return Step(
            id=self.step_id.value.strip(),
            workflow=self.inner,
            inputs=self._wiring(self.inputs),
            outputs=self._wiring(self.outputs),
            block=self.block,
        )
