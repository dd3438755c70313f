"""Per-instrument parameter forms of the HXMT app, generated from the algorithms' declarations.

:class:`InstrumentForms` groups the :class:`~daisy_widgets.widgets.form.ParamForm` of
``hxmt.gtigen`` (GTI expression, validated as typed), ``hxmt.screen`` (PI range,
detectors), ``hxmt.lcgen`` (bin size), ``hxmt.fold`` (frequency, phase bins) and
``hxmt.powspec`` (time resolution, segment), pre-filled with the mission's
defaults for the instrument (its HXMTDAS GTI expression and its PI band), plus
check boxes for background, barycentre correction and timing products.
"""

from __future__ import annotations

import html
from typing import Any

import ipywidgets as W

from ...core.registry import get_algorithm
from ...widgets.form import ParamForm
from ..gti import GTIExpressionError, parse_expression
from ..l1io import REQUIRED
from ..mission import DEFAULT_GTI_EXPR, spec
from .workflow import JobParams

#: the names a GTI expression may use
EHK_COLUMNS = tuple(REQUIRED["EHK"])
#: parameters set by the app itself, not shown
_HIDDEN = {"instrument", "epoch", "fdot", "seed"}


def _hide(form: ParamForm, names: set[str]) -> None:
    for row in form.children:
        kids = getattr(row, "children", ())
        if kids and any(kids[0] is form.fields.get(n) for n in names):
            row.layout.display = "none"


class InstrumentForms(W.VBox):
    """The parameter forms of one instrument (``HE``, ``ME`` or ``LE``)."""

    def __init__(self, instrument: str, **kw: Any):
        s = spec(instrument)
        self.instrument = s.name
        inst = {"instrument": s.name}
        self.gtigen = ParamForm(get_algorithm("hxmt.gtigen"), {**inst, "expr": DEFAULT_GTI_EXPR[s.name]})
        self.screen = ParamForm(
            get_algorithm("hxmt.screen"), {**inst, "pi_min": s.band[0], "pi_max": s.band[1]}
        )
        self.lcgen = ParamForm(get_algorithm("hxmt.lcgen"), {**inst, "binsize": 1.0})
        self.fold = ParamForm(get_algorithm("hxmt.fold"), {"frequency": 29.6, "nbin": 32})
        self.powspec = ParamForm(get_algorithm("hxmt.powspec"))
        for f in (self.gtigen, self.screen, self.lcgen, self.fold, self.powspec):
            _hide(f, _HIDDEN)
        _hide(self.lcgen, {"detectors"})  # one detector list, on the screening form
        self.gtigen.fields["expr"].layout.width = "640px"
        self.background = W.Checkbox(
            value=True, description="background (blind detectors): overlay and subtract", indent=False
        )
        self.barycentre = W.Checkbox(
            value=True, description="barycentre correction (TDB) before timing", indent=False
        )
        self.timing = W.Checkbox(
            value=True, description="timing: power spectrum and folded pulse profile", indent=False
        )
        for c, name in (
            (self.background, "background"),
            (self.barycentre, "barycentre"),
            (self.timing, "timing"),
        ):
            c.add_class(f"daisy-hxmt-{name}")
            c.style.description_width = "initial"
            c.layout.width = "auto"
        band = f"{s.energy(s.band[0]):.1f}-{s.energy(s.band[1] + 1):.1f} keV"
        self.band_note = W.HTML(
            f"<span style='color:#555'>{s.name}: PI {s.band[0]}-{s.band[1]} is {band}; "
            f"E = {s.e0:g} + {s.slope:.4g}·PI keV</span>"
        )
        self.pi_note = W.HTML("")
        self.screen.on_change(lambda _f: self._pi_energy())
        self._pi_energy()
        self.gtigen.on_change(lambda _f: self._check_columns())
        self._check_columns()
        sec = lambda t: W.HTML(f"<b>{t}</b>")  # noqa: E731
        super().__init__(
            children=[
                sec("Good time intervals"),
                self.gtigen,
                sec("Screening"),
                self.band_note,
                self.screen,
                self.pi_note,
                sec("Light curve"),
                self.lcgen,
                self.background,
                sec("Timing"),
                self.timing,
                self.barycentre,
                self.fold,
                self.powspec,
            ],
            **kw,
        )
        self.add_class(f"daisy-hxmt-forms-{s.name}")

    def _pi_energy(self) -> None:
        s = spec(self.instrument)
        try:
            v = self.screen.coerced
        except Exception:
            self.pi_note.value = ""
            return
        lo = s.band[0] if v["pi_min"] is None else v["pi_min"]
        hi = s.band[1] if v["pi_max"] is None else v["pi_max"]
        self.pi_note.value = (
            f"<span style='color:#555'>energy range {s.energy(lo):.1f}-{s.energy(hi + 1):.1f} keV</span>"
        )

    def _check_columns(self) -> str | None:
        """Beyond the syntax: every name in the GTI expression must be an EHK column (shown at the field)."""
        expr = self.gtigen.values.get("expr")
        if not expr or self.gtigen.problems.get("expr"):
            return None
        try:
            parse_expression(expr, columns=EHK_COLUMNS)
        except GTIExpressionError as exc:
            msg = str(exc).splitlines()[0]
            self.gtigen.errors["expr"].value = "<span style='color:#c00'>⚠ " + html.escape(msg) + "</span>"
            self.gtigen.fields["expr"].add_class("daisy-invalid")
            return msg
        return None

    @property
    def forms(self) -> dict[str, ParamForm]:
        return {
            "gtigen": self.gtigen,
            "screen": self.screen,
            "lcgen": self.lcgen,
            "fold": self.fold,
            "powspec": self.powspec,
        }

    @property
    def problems(self) -> dict[str, list[str]]:
        """Every problem of every form, keyed ``step.param`` (only forms in use count)."""
        out = {}
        for step, f in self.forms.items():
            if step in ("fold", "powspec") and not self.timing.value:
                continue
            for k, v in f.refresh().items():
                out[f"{step}.{k}"] = v
        bad = self._check_columns()
        if bad:
            out["gtigen.expr"] = [bad]
        return out

    @property
    def valid(self) -> bool:
        return not self.problems

    def params(self) -> JobParams:
        """The typed values (raises ValidationError when a form is invalid)."""
        return JobParams(
            gtigen=self.gtigen.coerced,
            screen=self.screen.coerced,
            lcgen=self.lcgen.coerced,
            fold=self.fold.coerced if self.timing.value else {},
            powspec=self.powspec.coerced if self.timing.value else {},
            background=self.background.value,
            barycentre=self.barycentre.value,
            timing=self.timing.value,
        )

    def set(self, step: str, **values: Any) -> None:
        """Set fields of one form (``set("gtigen", expr="ELV>10")``), as a user typing would."""
        form = self.forms[step]
        for k, v in values.items():
            f = form.fields[k]
            if isinstance(f, W.Text) and not isinstance(v, str):
                v = "" if v is None else (",".join(map(str, v)) if isinstance(v, (list, tuple)) else str(v))
            f.value = v
