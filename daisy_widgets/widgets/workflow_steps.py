"""The step editors of the workflow builder: one box per step, with its format-2 controls.

* :class:`StepEditor`: an algorithm step (generated form, wiring);
* :class:`SubWorkflowEditor`: a sub-workflow kept as one step;
* :class:`SwitchEditor`: a switch, one case per alternative step, each with its condition;
* :class:`ControlsEditor`: what every step box carries below: ``when``, ``on_error``
  (retry, backoff, then), ``repeat`` (until, max) and ``resources`` (``gpu=1, memory=2GB``).

Editing and reading back a step gives exactly the step that was loaded (same values,
same types), so a workflow round-trips through the builder unchanged.

CSS classes (stable, for browser tests): ``daisy-wb-when``, ``daisy-wb-retry``,
``daisy-wb-backoff``, ``daisy-wb-then``, ``daisy-wb-until``, ``daisy-wb-max``,
``daisy-wb-resources`` (in every step box); ``daisy-wb-switch`` (a switch step box),
``daisy-wb-case`` and ``daisy-wb-case-when`` (one case and its condition).
"""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

import ipywidgets as W

from ..core.policies import Case, ErrorPolicy, Repeat
from ..core.workflow import Step
from .form import ParamForm


def _same_number(new: Any, old: Any) -> Any:
    """``old`` when it equals ``new`` (keeps 1 vs 1.0 as it was written), else ``new``."""
    try:
        return old if old is not None and float(old) == float(new) and not isinstance(old, bool) else new
    except (TypeError, ValueError):
        return new


def _parse_scalar(text: str) -> Any:
    t = text.strip()
    if t in ("true", "True", "false", "False"):
        return t.lower() == "true"
    for conv in (int, float):
        try:
            return conv(t)
        except ValueError:
            pass
    return t


def resources_text(res: dict[str, Any] | None) -> str:
    """``{"gpu": 1, "memory": "2GB"}`` -> ``"gpu=1, memory=2GB"``."""
    return ", ".join(f"{k}={v}" for k, v in (res or {}).items())


def parse_resources(text: str) -> dict[str, Any]:
    """``"gpu=1, memory=2GB"`` -> ``{"gpu": 1, "memory": "2GB"}`` (a bare name counts 1)."""
    out: dict[str, Any] = {}
    for part in text.replace(";", ",").split(","):
        if not part.strip():
            continue
        name, _, value = part.partition("=")
        out[name.strip()] = _parse_scalar(value) if value.strip() else 1
    return out


def params_text(params: dict[str, Any]) -> str:
    """Workflow params as ``"name=value, ..."``."""
    return ", ".join(f"{k}={v}" for k, v in params.items())


def parse_params(text: str) -> dict[str, Any]:
    """``"limit=180, mode=fast, strict=true"`` -> ``{"limit": 180, "mode": "fast", "strict": True}``."""
    out: dict[str, Any] = {}
    for part in text.split(","):
        if part.strip():
            name, _, value = part.partition("=")
            out[name.strip()] = _parse_scalar(value)
    return out


class ControlsEditor(W.VBox):
    """The format-2 fields of one step: condition, error policy, loop and resources."""

    def __init__(self, step: Step, on_change: Callable[[], None] | None = None):
        self._step = step
        pol, rep = step.on_error, step.repeat
        style = {"description_width": "initial"}
        self.when = W.Text(
            value=step.when or "",
            description="when",
            placeholder="run only if, e.g. scan.length < 180",
            style=style,
            layout=W.Layout(width="420px"),
        )
        self.retry = W.BoundedIntText(
            value=pol.retry if pol and isinstance(pol.retry, int) else 0,
            min=0,
            max=100,
            description="retry",
            style=style,
            layout=W.Layout(width="120px"),
        )
        self.backoff = W.BoundedFloatText(
            value=float(pol.backoff_s) if pol and isinstance(pol.backoff_s, (int, float)) else 0.0,
            min=0.0,
            max=3600.0,
            description="backoff s",
            style=style,
            layout=W.Layout(width="150px"),
        )
        self.then = W.Combobox(
            value=str(pol.then) if pol else "fail",
            options=["fail", "skip"],
            description="then",
            placeholder="fail, skip or a fallback step id",
            ensure_option=False,
            style=style,
            layout=W.Layout(width="240px"),
        )
        self.until = W.Text(
            value=str(rep.until or "") if rep else "",
            description="repeat until",
            placeholder="e.g. max(abs(align.shifts)) < 0.1",
            style=style,
            layout=W.Layout(width="420px"),
        )
        self.max = W.Text(
            value="" if rep is None or rep.max is None else str(rep.max),
            description="max",
            placeholder="rounds",
            style=style,
            layout=W.Layout(width="120px"),
        )
        self.resources = W.Text(
            value=resources_text(step.resources),
            description="resources",
            placeholder="e.g. gpu=1, memory=2GB",
            style=style,
            layout=W.Layout(width="300px"),
        )
        for w, css in [
            (self.when, "daisy-wb-when"),
            (self.retry, "daisy-wb-retry"),
            (self.backoff, "daisy-wb-backoff"),
            (self.then, "daisy-wb-then"),
            (self.until, "daisy-wb-until"),
            (self.max, "daisy-wb-max"),
            (self.resources, "daisy-wb-resources"),
        ]:
            w.add_class(css)
            if on_change is not None:
                w.observe(lambda _c: on_change(), names="value")
        super().__init__(
            [
                W.HBox([self.when, self.resources]),
                W.HBox([W.HTML("<i>on error</i>"), self.retry, self.backoff, self.then]),
                W.HBox([self.until, self.max]),
            ]
        )
        self.add_class("daisy-wb-controls")

    def values(self) -> dict[str, Any]:
        """``when``, ``on_error``, ``repeat``, ``resources`` for :class:`Step` (None when not set)."""
        old = self._step
        when = self.when.value.strip() or None
        pol = old.on_error
        retry, backoff, then = self.retry.value, self.backoff.value, self.then.value.strip() or "fail"
        on_error = None
        if pol is not None or retry or backoff or then != "fail":
            on_error = ErrorPolicy(
                _same_number(retry, pol.retry if pol else None),
                _same_number(backoff, pol.backoff_s if pol else None),
                then,
            )
        until, most = self.until.value.strip(), self.max.value.strip()
        repeat = None
        if until or most or old.repeat is not None:
            m = _parse_scalar(most) if most else None
            repeat = Repeat(until or None, m)
        text = self.resources.value.strip()
        resources = parse_resources(text) if text else ({} if old.resources == {} else None)
        return {"when": when, "on_error": on_error, "repeat": repeat, "resources": resources}


def _key_field(label: str, value: str, tooltip: str, css: str) -> W.Text:
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


class _StepRow(W.VBox):
    """What every step box has: its id, title, wiring fields and move/remove buttons.

    ``inputs``/``outputs`` map a port (or, in a sub-workflow, an inner key) to its text field
    holding the outer data-store key.
    """

    def __init__(
        self,
        builder: Any,
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
        self.controls = ControlsEditor(step, on_change=builder._changed)
        super().__init__(
            children=[
                W.HBox([self.title, self.step_id, self.up, self.down, self.remove]),
                W.HBox([body, wiring]),
                self.controls,
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


class StepEditor(_StepRow):
    """Editor of one algorithm step: title, generated form, wiring, move/remove buttons."""

    def __init__(self, builder: Any, algorithm: type, step: Step):
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
            **self.controls.values(),
        )


class SubWorkflowEditor(_StepRow):
    """A sub-workflow kept as one step: its inner steps listed, its keys wired to the outer store.

    The wiring fields are the inner workflow's inputs (keys it reads before writing them) and
    the keys it writes; an output left empty stays private to the sub-workflow. Its inner
    steps are edited in a builder of their own (load its JSON there) and saved back.
    """

    def __init__(self, builder: Any, step: Step):
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
            **self.controls.values(),
        )


class SwitchEditor(_StepRow):
    """A switch step: its cases, each a condition (empty for the default) and an alternative step."""

    def __init__(self, builder: Any, step: Step, algorithms: dict[str, type]):
        assert step.switch is not None
        self.cases: list[tuple[W.Text, _StepRow]] = []
        boxes = []
        for c in step.switch:
            cond = W.Text(
                value=c.when or "",
                description="case when",
                placeholder="empty: the default case (last)",
                style={"description_width": "initial"},
                layout=W.Layout(width="420px"),
            )
            cond.add_class("daisy-wb-case-when")
            cond.observe(lambda _c: builder._changed(), names="value")
            inner = (
                SubWorkflowEditor(builder, c.step)
                if c.step.workflow is not None
                else StepEditor(builder, algorithms[c.step.algorithm], c.step)
            )
            for b in (inner.up, inner.down, inner.remove):
                b.layout.display = "none"
            inner.title.value = f"<b>{html.escape(inner.label)}</b>"
            self.cases.append((cond, inner))
            box = W.VBox([cond, inner])
            box.add_class("daisy-wb-case")
            boxes.append(box)
        super().__init__(builder, step, [], [], W.VBox(boxes))
        self.add_class("daisy-wb-switch")

    label = "switch"

    @property
    def valid(self) -> bool:
        return all(inner.valid for _, inner in self.cases)

    def to_step(self) -> Step:
        return Step(
            id=self.step_id.value.strip(),
            switch=[Case(inner.to_step(), cond.value.strip() or None) for cond, inner in self.cases],
            block=self.block,
            **self.controls.values(),
        )
