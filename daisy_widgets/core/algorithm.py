"""The :class:`Algorithm` base class: one class per processing step.

An algorithm declares once, on the class, its ``inputs``, ``outputs`` and
``params`` (see :mod:`daisy_widgets.core.params`). The engine builds it with
parameter values (validated all at once, Mantid-style), checks the inputs
against the ports, and calls :meth:`Algorithm.compute`.

Example::

    class Scale(Algorithm):
        \"\"\"Multiply an array by a factor.\"\"\"
        name = "core.scale"
        inputs = (Port("data", ndim=(1, 2, 3), help="any array"),)
        outputs = (Port("data", help="scaled array"),)
        params = (Float("factor", 1.0, help="multiplier"),)

        def compute(self, data):
            return {"data": data * self.values["factor"]}

An algorithm may wrap a numba or CuPy kernel or an external library call: the
framework only sees the declaration and :meth:`compute`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from .errors import Cancelled, ValidationError
from .params import Param, Port, Split


class RunContext:
    """What a running algorithm may use to report progress and notice cancellation.

    The engine gives each running step a context; outside an engine a silent
    one is used. ``progress(done, total, message)`` reports work inside one call
    (e.g. SIRT iterations); :meth:`check_cancelled` raises :class:`Cancelled`.
    """

    def __init__(
        self,
        progress: Callable[[float, float, str], None] | None = None,
        cancelled: Callable[[], bool] | None = None,
    ):
        self._progress = progress
        self._cancelled = cancelled

    def progress(self, done: float, total: float, message: str = "") -> None:
        if self._progress is not None:
            self._progress(done, total, message)

    @property
    def cancelled(self) -> bool:
        return bool(self._cancelled and self._cancelled())

    def check_cancelled(self) -> None:
        """Raise :class:`Cancelled` if the user asked to stop."""
        if self.cancelled:
            raise Cancelled("cancelled by the user")


class Algorithm:
    """Base class of every processing step. Subclasses set the class attributes
    and implement :meth:`compute`.

    Class attributes
    ----------------
    name
        Registry name, ``"<family>.<step>"``, e.g. ``"tomo.fbp"``, ``"hxmt.gtigen"``.
    category
        Grouping for menus, e.g. ``"tomography/preprocess"``.
    inputs, outputs
        Tuples of :class:`Port`.
    params
        Tuple of :class:`Param`.
    split
        :class:`Split` for data-parallel steps that the engine may map over chunks, or None.
    resources
        What one chunk needs from the worker running it, e.g. ``{"gpu": 1, "memory": "2GB",
        "threads": 4}`` (see :mod:`daisy_widgets.core.resources`); a workflow step may override it.
    """

    name: ClassVar[str] = ""
    category: ClassVar[str] = ""
    inputs: ClassVar[tuple[Port, ...]] = ()
    outputs: ClassVar[tuple[Port, ...]] = ()
    params: ClassVar[tuple[Param, ...]] = ()
    split: ClassVar[Split | None] = None
    resources: ClassVar[dict[str, Any]] = {}

    def __init__(self, **values: Any):
        self.values: dict[str, Any] = self.coerce_params(values)
        self.context = RunContext()

    # -- declaration helpers -----------------------------------------------------
    @classmethod
    def summary(cls) -> str:
        """One-line description: the first line of the class docstring."""
        doc = (cls.__doc__ or "").strip()
        return doc.splitlines()[0].strip() if doc else ""

    @classmethod
    def param(cls, name: str) -> Param:
        for p in cls.params:
            if p.name == name:
                return p
        raise KeyError(f"{cls.name}: no parameter {name!r}")

    @classmethod
    def defaults(cls) -> dict[str, Any]:
        return {p.name: p.default for p in cls.params}

    @classmethod
    def describe(cls) -> dict[str, Any]:
        """Plain dictionary of the whole declaration."""
        return {
            "name": cls.name,
            "summary": cls.summary(),
            "category": cls.category,
            "inputs": [p.describe() for p in cls.inputs],
            "outputs": [p.describe() for p in cls.outputs],
            "params": [p.describe() for p in cls.params],
            "parallel": cls.split is not None,
        }

    # -- validation ---------------------------------------------------------------
    @classmethod
    def validate_params(cls, values: Mapping[str, Any]) -> dict[str, list[str]]:
        """Every problem of ``values`` at once, keyed by parameter name.

        Unknown names are problems too. Missing names take their defaults.
        Cross-parameter checks come from :meth:`check_params`.
        """
        problems, _ = cls._check_all(values)
        return problems

    @classmethod
    def coerce_params(cls, values: Mapping[str, Any]) -> dict[str, Any]:
        """Validated and coerced values with defaults filled in.

        Raises
        ------
        ValidationError
            Listing every problem, keyed by parameter.
        """
        problems, coerced = cls._check_all(values)
        if problems:
            raise ValidationError(cls.name or cls.__name__, problems)
        return coerced

    @classmethod
    def _check_all(cls, values: Mapping[str, Any]) -> tuple[dict[str, list[str]], dict[str, Any]]:
        known = {p.name for p in cls.params}
        problems: dict[str, list[str]] = {}
        for key in values:
            if key not in known:
                problems[key] = [f"unknown parameter; {cls.name} takes: {', '.join(sorted(known)) or 'none'}"]
        coerced: dict[str, Any] = {}
        for p in cls.params:
            v, errs = p.check(values.get(p.name, p.default))
            coerced[p.name] = v
            if errs:
                problems.setdefault(p.name, []).extend(errs)
        if not problems:
            for key, msg in (cls.check_params(coerced) or {}).items():
                problems.setdefault(key, []).append(msg)
        return problems, coerced

    @classmethod
    def check_params(cls, values: dict[str, Any]) -> dict[str, str]:
        """Cross-parameter checks (override): return ``{param: problem}``."""
        return {}

    def check_inputs(self, inputs: Mapping[str, Any]) -> dict[str, list[str]]:
        """Every problem of the input data, keyed by input name (override to add more)."""
        problems: dict[str, list[str]] = {}
        declared = {p.name for p in self.inputs}
        for port in self.inputs:
            errs = port.check(inputs.get(port.name))
            if errs:
                problems[port.name] = errs
        for key in inputs:
            if key not in declared:
                problems[key] = [f"unknown input; {self.name} takes: {', '.join(sorted(declared)) or 'none'}"]
        return problems

    # -- running ------------------------------------------------------------------
    def compute(self, **inputs: Any) -> dict[str, Any]:
        """Do the work: return a dictionary with one entry per declared output."""
        raise NotImplementedError(f"{type(self).__name__}.compute is not implemented")

    def __call__(self, **inputs: Any) -> dict[str, Any]:
        """Check the inputs, run :meth:`compute` and check that every output came back."""
        problems = self.check_inputs(inputs)
        if problems:
            raise ValidationError(f"{self.name} inputs", problems)
        result = self.compute(**{k: v for k, v in inputs.items() if v is not None})
        if not isinstance(result, Mapping):
            raise TypeError(f"{self.name}.compute must return a dict of outputs; got {type(result).__name__}")
        missing = [p.name for p in self.outputs if p.name not in result and not p.optional]
        if missing:
            raise RuntimeError(f"{self.name} did not produce output(s): {', '.join(missing)}")
        return dict(result)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.values.items())
        return f"{type(self).__name__}({args})"
