"""Declarations of an algorithm's parameters and data ports.

A parameter is declared once — type, default, bounds, unit, help — and from that
one declaration come validation (:meth:`Param.check`), the CLI options, the JSON
form of a workflow step and the ipywidgets form.

Use the small constructors (:func:`Float`, :func:`Int`, :func:`Bool`,
:func:`Choice`, :func:`Text`, :func:`FilePath`, :func:`IntList`) in class bodies::

    params = (
        Float("center", None, optional=True, min=0, unit="px", help="rotation axis"),
        Choice("filter", "ramp", ("ramp", "shepp-logan"), help="FBP filter"),
    )
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

PARAM_TYPES = ("float", "int", "bool", "str", "choice", "path", "intlist")


@dataclass(frozen=True)
class Param:
    """One scalar parameter of an algorithm.

    Attributes
    ----------
    name
        Python identifier; the CLI option is ``--name-with-dashes``.
    type
        One of ``float, int, bool, str, choice, path, intlist``.
    default
        Value used when none is given (``None`` only if ``optional``).
    min, max
        Inclusive bounds for ``float``/``int`` (and every element of ``intlist``).
    choices
        Allowed values for ``choice``.
    unit
        Physical unit shown next to the field (``"px"``, ``"keV"``, ``"s"``...).
    help
        One sentence shown as the field's tooltip and in ``--help``.
    optional
        Whether ``None`` is an allowed value (meaning "automatic"/"not set").
    validator
        Extra check ``value -> error message or None`` (e.g. parse a GTI expression).
    """

    name: str
    type: str
    default: Any = None
    min: float | None = None
    max: float | None = None
    choices: tuple = ()
    unit: str = ""
    help: str = ""
    optional: bool = False
    validator: Callable[[Any], str | None] | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.type not in PARAM_TYPES:
            raise TypeError(
                f"parameter {self.name!r}: unknown type {self.type!r}, expected one of {PARAM_TYPES}"
            )
        if self.type == "choice" and not self.choices:
            raise TypeError(f"parameter {self.name!r}: a choice needs choices")

    # -- validation -----------------------------------------------------------
    def check(self, value: Any) -> tuple[Any, list[str]]:
        """Coerce ``value`` to this parameter's type and list every problem.

        Returns
        -------
        (value, problems)
            The coerced value (or the input, if it could not be coerced) and a
            list of human-readable problems (empty when valid).
        """
        if value is None:
            if self.optional:
                return None, []
            return None, ["a value is required"]
        try:
            value = self._coerce(value)
        except (TypeError, ValueError) as exc:
            return value, [str(exc)]
        problems: list[str] = []
        if self.type in ("float", "int"):
            problems += self._bounds(value)
        elif self.type == "intlist":
            for v in value:
                problems += self._bounds(v)
        elif self.type == "choice" and value not in self.choices:
            problems.append(f"expected one of {', '.join(map(str, self.choices))}; got {value!r}")
        if not problems and self.validator is not None:
            msg = self.validator(value)
            if msg:
                problems.append(msg)
        return value, problems

    def _bounds(self, v: float) -> list[str]:
        unit = f" {self.unit}" if self.unit else ""
        if self.min is not None and v < self.min:
            return [f"must be >= {self.min}{unit}; got {v}"]
        if self.max is not None and v > self.max:
            return [f"must be <= {self.max}{unit}; got {v}"]
        return []

    def _coerce(self, value: Any) -> Any:
        t = self.type
        if t == "float":
            if isinstance(value, bool):
                raise TypeError(f"expected a number; got {value!r}")
            v = float(value)
            if not math.isfinite(v):
                raise ValueError(f"expected a finite number; got {value!r}")
            return v
        if t == "int":
            if isinstance(value, bool):
                raise TypeError(f"expected an integer; got {value!r}")
            if isinstance(value, (float, np.floating)) and not float(value).is_integer():
                raise ValueError(f"expected an integer; got {value!r}")
            try:
                return int(value)
            except (TypeError, ValueError):
                raise ValueError(f"expected an integer; got {value!r}") from None
        if t == "bool":
            if isinstance(value, (bool, np.bool_)):
                return bool(value)
            if isinstance(value, str) and value.lower() in (
                "true",
                "yes",
                "1",
                "on",
                "false",
                "no",
                "0",
                "off",
            ):
                return value.lower() in ("true", "yes", "1", "on")
            if isinstance(value, (int, np.integer)) and value in (0, 1):
                return bool(value)
            raise ValueError(f"expected true or false; got {value!r}")
        if t in ("str", "path"):
            if not isinstance(value, str):
                value = str(value)
            return value
        if t == "choice":
            # accept the string form of non-string choices (from the CLI)
            for c in self.choices:
                if value == c or str(value) == str(c):
                    return c
            return value
        if t == "intlist":
            if isinstance(value, str):
                return parse_int_list(value)
            if isinstance(value, (int, np.integer)):
                return (int(value),)
            return tuple(int(v) for v in value)
        raise AssertionError(t)

    # -- serialisation ----------------------------------------------------------
    def to_json_value(self, value: Any) -> Any:
        """JSON-compatible form of a (coerced) value."""
        if self.type == "intlist" and value is not None:
            return list(value)
        return value

    def describe(self) -> dict[str, Any]:
        """Plain dictionary of this declaration (for UIs and ``daisy algorithms --json``)."""
        d = {
            "name": self.name,
            "type": self.type,
            "default": self.to_json_value(self.default),
            "unit": self.unit,
            "help": self.help,
            "optional": self.optional,
        }
        if self.min is not None:
            d["min"] = self.min
        if self.max is not None:
            d["max"] = self.max
        if self.choices:
            d["choices"] = list(self.choices)
        return d


def parse_int_list(text: str) -> tuple[int, ...]:
    """Parse ``"0-3,7,9-10"`` into ``(0, 1, 2, 3, 7, 9, 10)``.

    Raises ValueError naming the bad item.
    """
    out: list[int] = []
    for item in filter(None, (s.strip() for s in text.replace(" ", ",").split(","))):
        try:
            if "-" in item[1:]:
                a, b = item[0] + item[1:].split("-", 1)[0], item[1:].split("-", 1)[1]
                lo, hi = int(a), int(b)
                if hi < lo:
                    raise ValueError
                out.extend(range(lo, hi + 1))
            else:
                out.append(int(item))
        except ValueError:
            raise ValueError(f"expected integers or ranges like '0-3,7'; bad item {item!r}") from None
    return tuple(out)


def Float(
    name: str,
    default: float | None,
    *,
    min: float | None = None,
    max: float | None = None,
    unit: str = "",
    help: str = "",
    optional: bool = False,
    validator: Callable[[Any], str | None] | None = None,
) -> Param:
    """A floating-point parameter."""
    return Param(name, "float", default, min, max, (), unit, help, optional, validator)


def Int(
    name: str,
    default: int | None,
    *,
    min: int | None = None,
    max: int | None = None,
    unit: str = "",
    help: str = "",
    optional: bool = False,
    validator: Callable[[Any], str | None] | None = None,
) -> Param:
    """An integer parameter."""
    return Param(name, "int", default, min, max, (), unit, help, optional, validator)


def Bool(name: str, default: bool, *, help: str = "") -> Param:
    """A true/false switch."""
    return Param(name, "bool", default, help=help)


def Choice(name: str, default: Any, choices: Sequence[Any], *, help: str = "", unit: str = "") -> Param:
    """One value out of a fixed list."""
    return Param(name, "choice", default, choices=tuple(choices), help=help, unit=unit)


def Text(
    name: str,
    default: str | None,
    *,
    help: str = "",
    optional: bool = False,
    validator: Callable[[Any], str | None] | None = None,
) -> Param:
    """A free-text parameter (checked by ``validator`` if given)."""
    return Param(name, "str", default, help=help, optional=optional, validator=validator)


def FilePath(name: str, default: str | None, *, help: str = "", optional: bool = False) -> Param:
    """A path to a file or folder."""
    return Param(name, "path", default, help=help, optional=optional)


def IntList(
    name: str,
    default: Sequence[int] | None,
    *,
    min: int | None = None,
    max: int | None = None,
    help: str = "",
    optional: bool = False,
) -> Param:
    """A list of integers, written ``"0-3,7"`` on the CLI (e.g. detector IDs)."""
    return Param(
        name,
        "intlist",
        tuple(default) if default is not None else None,
        min,
        max,
        help=help,
        optional=optional,
    )


PORT_KINDS = ("array", "table", "scalar", "object", "group")


@dataclass(frozen=True)
class Port:
    """One input or output of an algorithm: a data object in the data store.

    Attributes
    ----------
    name
        Identifier of the port.
    kind
        ``array`` (numpy/cupy/dask), ``table``, ``scalar``, ``object`` (anything) or ``group``.
    dtype
        For arrays: numpy kind characters allowed, e.g. ``"f"`` (floating), ``"fiu"``.
    ndim
        For arrays: allowed number(s) of dimensions.
    help
        What the data is, with units and shape, e.g. ``"sinogram (angles, detector)"``.
    optional
        Whether the step runs without this input.
    """

    name: str
    kind: str = "array"
    dtype: str | None = None
    ndim: int | tuple[int, ...] | None = None
    help: str = ""
    optional: bool = False

    def __post_init__(self) -> None:
        if self.kind not in PORT_KINDS:
            raise TypeError(f"port {self.name!r}: unknown kind {self.kind!r}, expected one of {PORT_KINDS}")

    def check(self, value: Any) -> list[str]:
        """List the problems of ``value`` as this port's data (empty when valid)."""
        if value is None:
            return [] if self.optional else ["no data given"]
        if self.kind == "array":
            shape = getattr(value, "shape", None)
            dtype = getattr(value, "dtype", None)
            if shape is None or dtype is None:
                return [f"expected an array; got {type(value).__name__}"]
            problems = []
            if self.ndim is not None:
                allowed = (self.ndim,) if isinstance(self.ndim, int) else tuple(self.ndim)
                if len(shape) not in allowed:
                    want = " or ".join(map(str, allowed))
                    problems.append(f"expected {want} dimensions{self._what()}; got shape {tuple(shape)}")
            if self.dtype is not None and np.dtype(dtype).kind not in self.dtype:
                problems.append(f"expected dtype kind in {self.dtype!r}; got {np.dtype(dtype)}")
            return problems
        if self.kind == "scalar" and not np.isscalar(value) and getattr(value, "ndim", 1) != 0:
            return [f"expected a scalar; got {type(value).__name__}"]
        return []

    def _what(self) -> str:
        return f" ({self.help})" if self.help else ""

    def describe(self) -> dict[str, Any]:
        d = {"name": self.name, "kind": self.kind, "help": self.help, "optional": self.optional}
        if self.dtype:
            d["dtype"] = self.dtype
        if self.ndim is not None:
            d["ndim"] = self.ndim
        return d


@dataclass(frozen=True)
class Split:
    """How a data-parallel algorithm is mapped over chunks by the engine.

    The engine splits each input named in ``inputs`` along the given axis into
    blocks of ``block`` elements, runs the algorithm on each block (on Dask
    workers, in parallel), and concatenates each output named in ``outputs``
    along its axis. Inputs not named are passed whole to every chunk.

    Attributes
    ----------
    inputs
        Mapping input name -> axis to split.
    outputs
        Mapping output name -> axis to concatenate along.
    block
        Default number of elements per chunk (0: let the engine choose).
    """

    inputs: dict[str, int]
    outputs: dict[str, int]
    block: int = 0
