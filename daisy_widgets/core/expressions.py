"""Safe expressions for workflow conditions (``when``, ``switch``) and loops (``repeat.until``).

An expression is parsed with :mod:`ast` and only a whitelist of node types is
accepted; it is evaluated by walking that tree, never with ``eval``. Allowed:

* numbers, strings, ``True``/``False``/``None``;
* dotted names (``centre.quality``, ``scan.length``, ``threshold``), resolved by the
  caller (see :class:`Expression.evaluate`);
* comparisons (``< <= > >= == !=``, chained as in Python, ``in``/``not in``),
  ``and``, ``or``, ``not``;
* arithmetic ``+ - * / // % **`` and unary ``-``/``+``;
* an integer index ``x.shape[0]``;
* the functions ``abs, min, max, mean, sum, len, round, float, int`` (``max`` of one
  argument is the maximum of an array).

Example::

    e = Expression.parse("scan.length < 180 and not (centre.quality > 0.5)")
    e.names            # {'scan.length', 'centre.quality'}
    e.evaluate({"scan.length": 60, "centre.quality": 0.2}.__getitem__)   # True
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np


class ExpressionError(ValueError):
    """An expression that cannot be parsed or evaluated; the message says where and why."""


def _reduce(fn: Callable[[Any], Any], pairwise: Callable[..., Any]) -> Callable[..., Any]:
    def call(*args: Any) -> Any:
        if len(args) == 1:
            return _scalar(fn(np.asarray(args[0])))
        return pairwise(*args)

    return call


def _scalar(v: Any) -> Any:
    return v.item() if isinstance(v, np.generic) or (isinstance(v, np.ndarray) and v.ndim == 0) else v


#: functions an expression may call (all pure, none reaches the file system or Python internals)
FUNCTIONS: dict[str, Callable[..., Any]] = {
    "abs": lambda x: _scalar(np.abs(x)) if not isinstance(x, (int, float)) else abs(x),
    "min": _reduce(np.min, min),
    "max": _reduce(np.max, max),
    "mean": lambda x: _scalar(np.mean(np.asarray(x))),
    "sum": lambda x: _scalar(np.sum(np.asarray(x))),
    "len": len,
    "round": round,
    "float": float,
    "int": int,
}

_BINARY = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_COMPARE = {
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.In: lambda a, b: a in b,
    ast.NotIn: lambda a, b: a not in b,
}
_UNARY = {ast.USub: operator.neg, ast.UAdd: operator.pos, ast.Not: operator.not_}
_MAX_LENGTH = 1000


def dotted_name(node: ast.AST) -> str | None:
    """``a.b.c`` for a Name/Attribute chain, else None."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None


@dataclass(frozen=True)
class Expression:
    """A parsed, checked expression.

    Attributes
    ----------
    text
        The expression as written.
    names
        Every dotted name it reads (function names excluded).
    """

    text: str
    tree: ast.Expression = field(repr=False, compare=False)
    names: frozenset[str] = frozenset()

    @classmethod
    def parse(cls, text: str) -> Expression:
        """Parse and check ``text``.

        Raises
        ------
        ExpressionError
            Syntax errors (with the column) and anything outside the whitelist.
        """
        if not isinstance(text, str) or not text.strip():
            raise ExpressionError(f"expected an expression (text); got {text!r}")
        if len(text) > _MAX_LENGTH:
            raise ExpressionError(f"expression longer than {_MAX_LENGTH} characters")
        try:
            tree = ast.parse(text.strip(), mode="eval")
        except SyntaxError as exc:
            raise ExpressionError(
                f"syntax error in {text!r} at column {exc.offset or 0}: {exc.msg}"
            ) from None
        names: set[str] = set()
        _check(tree.body, names, text)
        return cls(text, tree, frozenset(names))

    def evaluate(self, resolve: Callable[[str], Any]) -> Any:
        """Value of the expression; ``resolve(dotted_name)`` gives each name's value.

        Raises
        ------
        ExpressionError
            When an operation fails (type mismatch, division by zero, an array where a
            truth value is needed), naming the expression.
        """
        try:
            return _eval(self.tree.body, resolve)
        except ExpressionError:
            raise
        except (KeyError, LookupError) as exc:
            raise ExpressionError(f"in {self.text!r}: {exc.args[0] if exc.args else exc}") from None
        except (TypeError, ValueError, ArithmeticError) as exc:
            raise ExpressionError(f"in {self.text!r}: {type(exc).__name__}: {exc}") from None

    def truth(self, resolve: Callable[[str], Any]) -> bool:
        """:meth:`evaluate` as a bool (an array of more than one element is an error)."""
        v = self.evaluate(resolve)
        if isinstance(v, np.ndarray) and v.size != 1:
            raise ExpressionError(f"{self.text!r} gives an array of shape {v.shape}, not true/false")
        return bool(v)


def _check(node: ast.AST, names: set[str], text: str) -> None:
    name = dotted_name(node)
    if name is not None:
        if any(p.startswith("_") for p in name.split(".")):
            raise ExpressionError(f"in {text!r}: names may not start with '_' ({name})")
        if name in ("True", "False", "None"):
            return
        names.add(name)
        return
    if isinstance(node, ast.Constant):
        if not isinstance(node.value, (int, float, str, bool, type(None))):
            raise ExpressionError(f"in {text!r}: constant {node.value!r} is not allowed")
        return
    if isinstance(node, ast.BoolOp):
        for v in node.values:
            _check(v, names, text)
        return
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        _check(node.operand, names, text)
        return
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        _check(node.left, names, text)
        _check(node.right, names, text)
        return
    if isinstance(node, ast.Compare) and all(type(o) in _COMPARE for o in node.ops):
        for v in [node.left, *node.comparators]:
            _check(v, names, text)
        return
    if isinstance(node, ast.Subscript):
        idx = node.slice
        if not (isinstance(idx, ast.Constant) and isinstance(idx.value, int)):
            raise ExpressionError(f"in {text!r}: only a constant integer index is allowed, as in x.shape[0]")
        _check(node.value, names, text)
        return
    if isinstance(node, ast.Call):
        fname = node.func.id if isinstance(node.func, ast.Name) else None
        if fname not in FUNCTIONS or node.keywords:
            raise ExpressionError(
                f"in {text!r}: only these functions may be called, without keywords: "
                + ", ".join(sorted(FUNCTIONS))
            )
        for a in node.args:
            _check(a, names, text)
        return
    if isinstance(node, (ast.Tuple, ast.List)):
        for e in node.elts:
            _check(e, names, text)
        return
    raise ExpressionError(f"in {text!r}: {type(node).__name__} is not allowed in a condition")


def _eval(node: ast.AST, resolve: Callable[[str], Any]) -> Any:
    if isinstance(node, ast.Constant):
        return node.value
    name = dotted_name(node)
    if name is not None:
        return (
            {"True": True, "False": False, "None": None}[name]
            if name in ("True", "False", "None")
            else (resolve(name))
        )
    if isinstance(node, ast.BoolOp):
        if isinstance(node.op, ast.And):
            v: Any = True
            for x in node.values:
                v = _eval(x, resolve)
                if not _truth(v):
                    return v
            return v
        v = False
        for x in node.values:
            v = _eval(x, resolve)
            if _truth(v):
                return v
        return v
    if isinstance(node, ast.UnaryOp):
        v = _eval(node.operand, resolve)
        return not _truth(v) if isinstance(node.op, ast.Not) else _UNARY[type(node.op)](v)
    if isinstance(node, ast.BinOp):
        left, right = _eval(node.left, resolve), _eval(node.right, resolve)
        if isinstance(node.op, ast.Pow) and isinstance(right, (int, float)) and abs(right) > 1000:
            raise ExpressionError("exponent larger than 1000")
        return _BINARY[type(node.op)](left, right)
    if isinstance(node, ast.Compare):
        left = _eval(node.left, resolve)
        for op, comp in zip(node.ops, node.comparators, strict=True):
            right = _eval(comp, resolve)
            if not _truth(_COMPARE[type(op)](left, right)):
                return False
            left = right
        return True
    if isinstance(node, ast.Subscript):
        return _eval(node.value, resolve)[node.slice.value]  # type: ignore[attr-defined]
    if isinstance(node, ast.Call):
        return FUNCTIONS[node.func.id](*[_eval(a, resolve) for a in node.args])  # type: ignore[attr-defined]
    if isinstance(node, (ast.Tuple, ast.List)):
        return tuple(_eval(e, resolve) for e in node.elts)
    raise ExpressionError(f"{type(node).__name__} is not allowed")  # unreachable after _check


def _truth(v: Any) -> bool:
    if isinstance(v, np.ndarray) and v.size != 1:
        raise ValueError(f"an array of shape {v.shape} has no single truth value; use min(), max() or mean()")
    if isinstance(v, float) and math.isnan(v):
        return False
    return bool(v)
