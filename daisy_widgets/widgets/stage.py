"""A stage of an app: a small view over a shared, observable model, rendered when first shown.

An app (tomography, HXMT, the workbench, live mode) is a few stages over one
model (a :class:`traitlets.HasTraits` holding the data handles, the chosen
parameters and the results) with the workflow engine behind a controller. A
:class:`Stage` is one view of that model:

* it is built with the model and the controller, and builds no widget until
  :meth:`Stage.render` (the first time it is shown, or the first time a script
  asks for one of its widgets): an app with eight stages starts with one drawn;
* it reads the model when it renders, and follows it afterwards through
  :meth:`Stage.observe_model`; what the user changes goes back to the model
  through :meth:`Stage.bind` (both ways, with a re-entrancy guard) or through
  the controller's methods;
* :meth:`Stage.close` unobserves everything it observed, so a closed stage
  leaves nothing behind on the model;
* every stage shows a "?" toggle at its top (:class:`~.help.HelpToggle`) over
  :meth:`Stage.help_html`: the class's ``help_text`` (what the stage does, what a good
  result looks like), the parameters of the algorithms named in ``help_algorithms``
  (from their declarations, with units) and links to the ``help_docs`` pages.

Nothing here knows a technique. Example::

    class Model(HasTraits):
        threshold = Float(0.5)

    class ThresholdStage(Stage):
        title = "Threshold"

        def _render(self):
            self.slider = FloatSlider()
            self.bind(self.slider, "threshold")
            return [self.slider]

    stage = ThresholdStage(Model()).render()
"""

from __future__ import annotations

import html
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import ipywidgets as W
from traitlets import HasTraits

from .help import HelpToggle, help_html


class Stage(W.VBox):
    """One view of an app over a shared model (see the module docstring).

    Parameters
    ----------
    model
        The app's observable model (a :class:`traitlets.HasTraits`).
    controller
        What runs the work (the app's controller); None for a view that only shows the model.
    kw
        Passed to :class:`ipywidgets.VBox`.

    Attributes
    ----------
    title : the stage's name, as its tab shows it
    rendered : True once :meth:`render` has built the widgets
    help : the stage's "?" toggle (:class:`~.help.HelpToggle`), once rendered
    """

    title: str = ""
    #: what the stage does, what its parameters mean, what a good result looks like (HTML)
    help_text: str = ""
    #: registered algorithms whose declared parameters the stage's forms show
    help_algorithms: tuple[str, ...] = ()
    #: ``(label, page)`` links to the docs pages (``page`` relative to ``docs/``)
    help_docs: tuple[tuple[str, str], ...] = ()

    def __init__(self, model: HasTraits, controller: Any = None, **kw: Any):
        super().__init__(**kw)
        self.model = model
        self.controller = controller
        self.rendered = False
        self._observers: list[tuple[HasTraits, Callable[[dict], None], tuple[str, ...]]] = []

    # -- rendering ---------------------------------------------------------------------
    def render(self) -> Stage:
        """Build the widgets (first call only) and show the model's current state; returns the stage."""
        if not self.rendered:
            self.rendered = True
            self.help = HelpToggle(self.help_html())
            self.children = (self.help, *self._render())
            self.refresh()
        return self

    def help_html(self) -> str:
        """The help panel's HTML (see :mod:`.help`); falls back on the class docstring's first paragraph."""
        text = self.help_text
        if not text:
            doc = (type(self).__doc__ or "").strip().split("\n\n")[0]
            text = html.escape(" ".join(doc.split()))
        return help_html(text, self.help_algorithms, self.help_docs)

    def _render(self) -> Sequence[W.Widget]:
        """Build the stage's widgets; returns the children of the stage (subclasses implement it)."""
        raise NotImplementedError

    def refresh(self) -> None:
        """Draw the model's current state into the widgets (after :meth:`render`; subclasses extend it)."""

    # -- model <-> widgets ---------------------------------------------------------------
    def observe_model(
        self, handler: Callable[[dict], None], names: str | Iterable[str], model: HasTraits | None = None
    ) -> None:
        """Call ``handler(change)`` when traits ``names`` of the model (or of ``model``) change, until :meth:`close`."""
        obj = self.model if model is None else model
        names = (names,) if isinstance(names, str) else tuple(names)
        obj.observe(handler, names=list(names))
        self._observers.append((obj, handler, names))

    def bind(
        self,
        widget: W.Widget,
        trait: str,
        *,
        to_model: Callable[[Any], Any] | None = None,
        to_widget: Callable[[Any], Any] | None = None,
        model: HasTraits | None = None,
    ) -> None:
        """Keep ``widget.value`` and the model's ``trait`` equal, both ways.

        ``to_model`` / ``to_widget`` convert between the two; a change coming from
        one side does not bounce back from the other (a re-entrancy guard, per pair).
        """
        obj = self.model if model is None else model
        to_model = to_model or (lambda v: v)
        to_widget = to_widget or (lambda v: v)
        busy = [False]  # the re-entrancy guard of this pair

        def from_widget(change: dict) -> None:
            if not busy[0]:
                busy[0] = True
                try:
                    setattr(obj, trait, to_model(change["new"]))
                finally:
                    busy[0] = False

        def from_model(change: dict) -> None:
            if not busy[0]:
                busy[0] = True
                try:
                    widget.value = to_widget(change["new"])
                finally:
                    busy[0] = False

        widget.value = to_widget(getattr(obj, trait))
        widget.observe(from_widget, names="value")
        self._observers.append((widget, from_widget, ("value",)))
        self.observe_model(from_model, trait, obj)

    # -- life cycle ----------------------------------------------------------------------
    def close(self) -> None:
        """Stop observing the model (and the bound widgets), then close the widget."""
        for obj, handler, names in self._observers:
            try:
                obj.unobserve(handler, names=list(names))
            except ValueError:
                pass
        self._observers.clear()
        super().close()


__all__ = ["Stage"]
