"""A parameter form generated from an algorithm's declaration (ipywidgets).

One row per declared parameter: a field of the right kind (number, check box,
drop-down, text), its unit, its help as tooltip, and a message next to it
when :meth:`Algorithm.validate_params` finds the value invalid (out of
bounds, not a number, cross-field problems). Nothing here knows a technique.

Example::

    form = ParamForm(get_algorithm("core.smooth"))
    form.values            # {"iterations": 10}
    form.valid             # True
    display(form)

CSS classes (for styling and browser tests): ``daisy-param-form`` on the form,
``daisy-param-<name>`` on each row, ``daisy-param-field`` on each field and
``daisy-param-error`` on each message (visible text only while invalid).
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping
from typing import Any

import ipywidgets as W

from ..core.params import Param

_AUTO = ""


def _field(p: Param, value: Any) -> W.Widget:
    desc = p.name + (f" ({p.unit})" if p.unit else "")
    tip = p.help or p.name
    common = dict(
        description=desc, tooltip=tip, style={"description_width": "initial"}, layout=W.Layout(width="340px")
    )
    if p.type == "bool":
        w = W.Checkbox(value=bool(value), indent=False, **common)
    elif p.type == "choice":
        w = W.Dropdown(
            options=[(str(c), c) for c in p.choices],
            value=value if value in p.choices else p.choices[0],
            **common,
        )
    elif p.type == "float" and not p.optional:
        w = W.FloatText(value=float(value) if value is not None else 0.0, **common)
    elif p.type == "int" and not p.optional:
        w = W.IntText(value=int(value) if value is not None else 0, **common)
    else:  # optional numbers ("" = automatic), text, paths, integer lists
        text = _AUTO if value is None else (",".join(map(str, value)) if p.type == "intlist" else str(value))
        w = W.Text(value=text, placeholder="auto" if p.optional else "", **common)
    w.add_class("daisy-param-field")
    return w


def _bounds_text(p: Param) -> str:
    if p.min is None and p.max is None:
        return ""
    lo = "" if p.min is None else f"{p.min} ≤ "
    hi = "" if p.max is None else f" ≤ {p.max}"
    return f"{lo}{p.name}{hi}"


class ParamForm(W.VBox):
    """An ipywidgets form for the parameters of one algorithm class.

    Parameters
    ----------
    algorithm
        The :class:`~daisy_widgets.core.algorithm.Algorithm` subclass.
    values
        Initial values (others take their declared defaults).
    on_change
        Called with the form after any field changes.
    """

    def __init__(
        self,
        algorithm: type,
        values: Mapping[str, Any] | None = None,
        on_change: Callable[[ParamForm], None] | None = None,
        **kw: Any,
    ):
        self.algorithm = algorithm
        self._callbacks: list[Callable[[ParamForm], None]] = [on_change] if on_change else []
        start = {**algorithm.defaults(), **dict(values or {})}
        self.fields: dict[str, W.Widget] = {}
        self.errors: dict[str, W.HTML] = {}
        rows = []
        for p in algorithm.params:
            f = _field(p, start.get(p.name))
            err = W.HTML(value="", layout=W.Layout(min_width="200px"))
            err.add_class("daisy-param-error")
            hint = W.HTML(
                value=f"<span title='{html.escape(p.help)}' style='color:#777'>{html.escape(_bounds_text(p))}</span>"
            )
            f.observe(self._changed, names="value")
            self.fields[p.name] = f
            self.errors[p.name] = err
            row = W.HBox([f, hint, err])
            row.add_class(f"daisy-param-{p.name}")
            rows.append(row)
        if not rows:
            rows.append(W.HTML("<i>no parameters</i>"))
        self.summary = W.HTML(value="")
        self.summary.add_class("daisy-param-summary")
        super().__init__(children=rows + [self.summary], **kw)
        self.add_class("daisy-param-form")
        # values that the widgets could not represent (e.g. out-of-range JSON) are kept as given
        self._raw = {k: v for k, v in (values or {}).items() if k not in self.fields}
        self.refresh()

    # -- values -------------------------------------------------------------------
    @property
    def values(self) -> dict[str, Any]:
        """Current values as the user typed them (text for optional numbers and lists)."""
        out = dict(self._raw)
        for p in self.algorithm.params:
            v = self.fields[p.name].value
            if (
                isinstance(self.fields[p.name], W.Text)
                and p.type not in ("str", "path")
                and v.strip() == _AUTO
            ) or (
                isinstance(self.fields[p.name], W.Text)
                and p.type in ("str", "path")
                and p.optional
                and v == ""
            ):
                v = None
            out[p.name] = v
        return out

    @property
    def coerced(self) -> dict[str, Any]:
        """Validated, typed values (raises ValidationError listing every problem)."""
        return self.algorithm.coerce_params(self.values)

    def json_values(self) -> dict[str, Any]:
        """Typed, JSON-compatible values of every parameter, for a workflow step."""
        vals = self.coerced
        return {p.name: p.to_json_value(vals[p.name]) for p in self.algorithm.params}

    def set_values(self, values: Mapping[str, Any]) -> None:
        for k, v in values.items():
            if k not in self.fields:
                self._raw[k] = v
                continue
            p = self.algorithm.param(k)
            f = self.fields[k]
            if isinstance(f, W.Text):
                f.value = (
                    _AUTO
                    if v is None
                    else (",".join(map(str, v)) if p.type == "intlist" and not isinstance(v, str) else str(v))
                )
            else:
                f.value = v
        self.refresh()

    @property
    def problems(self) -> dict[str, list[str]]:
        """Every problem of the current values, keyed by parameter (from the declaration)."""
        return self.algorithm.validate_params(self.values)

    @property
    def valid(self) -> bool:
        return not self.problems

    def refresh(self) -> dict[str, list[str]]:
        """Re-validate and mark each invalid field; returns the problems."""
        probs = self.problems
        for name, err in self.errors.items():
            msgs = probs.get(name, [])
            err.value = (
                ("<span style='color:#c00'>⚠ " + html.escape("; ".join(msgs)) + "</span>") if msgs else ""
            )
            f = self.fields[name]
            if msgs:
                f.add_class("daisy-invalid")
            else:
                f.remove_class("daisy-invalid")
        other = {k: v for k, v in probs.items() if k not in self.errors}
        self.summary.value = (
            (
                "<span style='color:#c00'>"
                + html.escape("; ".join(f"{k}: {', '.join(v)}" for k, v in other.items()))
                + "</span>"
            )
            if other
            else ""
        )
        return probs

    def on_change(self, callback: Callable[[ParamForm], None]) -> None:
        self._callbacks.append(callback)

    def _changed(self, change: dict) -> None:
        self.refresh()
        for cb in self._callbacks:
            cb(self)
