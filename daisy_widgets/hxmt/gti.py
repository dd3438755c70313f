"""Good time intervals: a safe parser of HXMTDAS selection expressions and GTI arithmetic.

Expressions use the EHK column names, numbers, comparisons (``< <= > >= == !=``),
``&&``/``||``/``!`` (also ``and``/``or``/``not``), parentheses and unary minus,
e.g. ``ELV>10&&COR>8&&SAA_FLAG==0``. They are tokenised and parsed by a small
recursive-descent parser into a tree evaluated with numpy: nothing is ever
passed to ``eval``. Errors name the bad token and its position.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from ..core.errors import DaisyError


class GTIExpressionError(DaisyError, ValueError):
    """A GTI expression that cannot be parsed or evaluated; names the token and its position."""

    def __init__(self, expr: str, token: str, pos: int, problem: str):
        self.expr, self.token, self.pos, self.problem = expr, token, pos, problem
        caret = " " * pos + "^"
        super().__init__(f"GTI expression: {problem} {token!r} at position {pos}\n  {expr}\n  {caret}")


_TOKEN = re.compile(
    r"\s*(?:(?P<num>\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)|(?P<name>[A-Za-z_][A-Za-z0-9_]*)"
    r"|(?P<op>&&|\|\||<=|>=|==|!=|<|>|!|\(|\)|-|\+))"
)
_WORD_OPS = {"and": "&&", "or": "||", "not": "!", "AND": "&&", "OR": "||", "NOT": "!"}


@dataclass(frozen=True)
class Token:
    kind: str  # num, name, op, end
    text: str
    pos: int


def tokenize(expr: str) -> list[Token]:
    """Split ``expr`` into tokens; raises :class:`GTIExpressionError` at the first unknown character."""
    out: list[Token] = []
    pos = 0
    while pos < len(expr):
        if expr[pos:].strip() == "":
            break
        m = _TOKEN.match(expr, pos)
        if not m:
            start = pos + len(expr[pos:]) - len(expr[pos:].lstrip())
            bad = re.match(r"[^\s\w()]+|\S", expr[start:]).group(0)
            raise GTIExpressionError(expr, bad, start, "unexpected character(s)")
        kind = m.lastgroup
        text = m.group(kind)
        start = m.start(kind)
        if kind == "name" and text in _WORD_OPS:
            kind, text = "op", _WORD_OPS[text]
        out.append(Token(kind, text, start))
        pos = m.end()
    out.append(Token("end", "", len(expr)))
    return out


class _Parser:
    """expr := or ; or := and ('||' and)* ; and := not ('&&' not)* ; not := '!' not | cmp ;
    cmp := sum (op sum)? ; sum := unary (('+'|'-') unary)* ; unary := '-' unary | atom ;
    atom := num | name | '(' or ')'"""

    def __init__(self, expr: str, columns: Sequence[str] | None):
        self.expr = expr
        self.toks = tokenize(expr)
        self.i = 0
        self.columns = None if columns is None else {c.upper(): c for c in columns}

    def peek(self) -> Token:
        return self.toks[self.i]

    def take(self) -> Token:
        t = self.toks[self.i]
        self.i += 1
        return t

    def fail(self, tok: Token, problem: str):
        raise GTIExpressionError(self.expr, tok.text or "end of expression", tok.pos, problem)

    def parse(self):
        if self.peek().kind == "end":
            self.fail(self.peek(), "empty expression at")
        node = self.p_or()
        if self.peek().kind != "end":
            self.fail(self.peek(), "unexpected")
        if node[0] not in ("cmp", "and", "or", "not"):
            self.fail(Token("", self.expr.strip(), 0), "expected a condition (e.g. ELV>10), got the value")
        return node

    def p_or(self):
        node = self.p_and()
        while self.peek().text == "||":
            self.take()
            node = ("or", node, self.p_and())
        return node

    def p_and(self):
        node = self.p_not()
        while self.peek().text == "&&":
            self.take()
            node = ("and", node, self.p_not())
        return node

    def p_not(self):
        if self.peek().text == "!":
            self.take()
            return ("not", self.p_not())
        return self.p_cmp()

    def p_cmp(self):
        left = self.p_sum()
        t = self.peek()
        if t.kind == "op" and t.text in ("<", "<=", ">", ">=", "==", "!="):
            self.take()
            right = self.p_sum()
            return ("cmp", t.text, left, right)
        return left

    def p_sum(self):
        node = self.p_unary()
        while self.peek().text in ("+", "-"):
            op = self.take().text
            node = ("arith", op, node, self.p_unary())
        return node

    def p_unary(self):
        if self.peek().text == "-":
            self.take()
            return ("neg", self.p_unary())
        return self.p_atom()

    def p_atom(self):
        t = self.take()
        if t.kind == "num":
            return ("num", float(t.text))
        if t.kind == "name":
            if self.columns is not None and t.text.upper() not in self.columns:
                self.fail(t, f"unknown column (known: {', '.join(sorted(self.columns.values()))})")
            return ("col", t.text.upper(), t)
        if t.text == "(":
            node = self.p_or()
            close = self.take()
            if close.text != ")":
                self.fail(close, "expected ')' but found")
            return node
        self.fail(t, "expected a column name, number or '(' but found")


def parse_expression(expr: str, columns: Sequence[str] | None = None):
    """Parse ``expr`` into a tree; with ``columns``, unknown names are errors."""
    if not isinstance(expr, str):
        raise GTIExpressionError(str(expr), str(expr), 0, "expected text, got")
    return _Parser(expr, columns).parse()


def check_expression(expr: str) -> str | None:
    """Validator for parameter forms: the problem in words, or None."""
    try:
        parse_expression(expr)
    except GTIExpressionError as exc:
        return str(exc).splitlines()[0]
    return None


_CMP = {
    "<": np.less,
    "<=": np.less_equal,
    ">": np.greater,
    ">=": np.greater_equal,
    "==": np.equal,
    "!=": np.not_equal,
}


def evaluate(expr: str, table: Mapping[str, np.ndarray]) -> np.ndarray:
    """Boolean mask of the rows of ``table`` (``{column: array}``) where ``expr`` holds."""
    cols = {k.upper(): v for k, v in table.items()}
    tree = parse_expression(expr, list(table.keys()))

    def ev(node):
        kind = node[0]
        if kind == "num":
            return node[1]
        if kind == "col":
            return np.asarray(cols[node[1]], dtype=float)
        if kind == "neg":
            return -ev(node[1])
        if kind == "arith":
            a, b = ev(node[2]), ev(node[3])
            return a + b if node[1] == "+" else a - b
        if kind == "cmp":
            return _CMP[node[1]](ev(node[2]), ev(node[3]))
        if kind == "not":
            return ~as_bool(node[1])
        if kind == "and":
            return as_bool(node[1]) & as_bool(node[2])
        if kind == "or":
            return as_bool(node[1]) | as_bool(node[2])
        raise AssertionError(kind)

    def as_bool(node):
        v = ev(node)
        if node[0] in ("num", "col", "neg", "arith"):
            return np.asarray(v) != 0
        return v

    n = len(next(iter(table.values())))
    return np.broadcast_to(as_bool(tree), (n,)).copy()


def mask_to_gti(
    time: np.ndarray, mask: np.ndarray, dt: float | None = None, min_length: float = 0.0
) -> np.ndarray:
    """GTIs (n, 2) in seconds from a boolean mask sampled at ``time`` (each sample covers ``dt``)."""
    time = np.asarray(time, dtype=float)
    if dt is None:
        dt = float(np.median(np.diff(time))) if time.size > 1 else 1.0
    m = np.concatenate([[False], np.asarray(mask, bool), [False]])
    d = np.diff(m.astype(np.int8))
    starts, stops = np.flatnonzero(d == 1), np.flatnonzero(d == -1) - 1
    gti = (
        np.stack([time[starts] - dt / 2, time[stops] + dt / 2], axis=-1) if starts.size else np.zeros((0, 2))
    )
    gti[:, 0] = np.maximum(gti[:, 0], time[0]) if gti.size else gti[:, 0]
    gti[:, 1] = np.minimum(gti[:, 1], time[-1]) if gti.size else gti[:, 1]
    keep = (gti[:, 1] - gti[:, 0]) >= max(min_length, 1e-9)
    return gti[keep]


def gti_mask(t: np.ndarray, gti: np.ndarray) -> np.ndarray:
    """True for times inside any GTI (start inclusive, stop exclusive); GTIs sorted and disjoint."""
    gti = np.asarray(gti, dtype=float).reshape(-1, 2)
    if gti.size == 0:
        return np.zeros(np.shape(t), bool)
    from .event_kernels import gti_mask_of

    return gti_mask_of(t, gti.ravel())


def intersect(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Intersection of two sorted, disjoint GTI lists."""
    out = []
    i = j = 0
    while i < len(a) and j < len(b):
        lo, hi = max(a[i, 0], b[j, 0]), min(a[i, 1], b[j, 1])
        if hi > lo:
            out.append((lo, hi))
        if a[i, 1] < b[j, 1]:
            i += 1
        else:
            j += 1
    return np.array(out, dtype=float).reshape(-1, 2)


def total(gti: np.ndarray) -> float:
    """Total good time (s)."""
    gti = np.asarray(gti, dtype=float).reshape(-1, 2)
    return float(np.sum(gti[:, 1] - gti[:, 0]))
