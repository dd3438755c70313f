"""Safe expressions of workflow conditions: what they compute, and what they refuse (never eval)."""

from __future__ import annotations

import numpy as np
import pytest

from daisy_widgets.core.expressions import Expression, ExpressionError


def _env(**values):
    flat = {k.replace("__", "."): v for k, v in values.items()}
    return flat.__getitem__


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("scan.length < 180", True),
        ("scan.length < 180 and not (centre.quality > 0.5)", True),
        ("scan.length * 2 + 1 >= 121", True),
        ("10 < scan.length <= 60", True),
        ("10 < scan.length < 60", False),
        ("centre.quality < 0.5 or scan.length > 1000", True),
        ("abs(-2) ** 2 == 4 and 7 // 2 == 3 and 7 % 2 == 1", True),
        ("max(abs(align.shifts)) < 0.1", False),
        ("mean(align.shifts) == 0.25", True),
        ("align.shifts.shape[0] == 2", True),
        ("mode in ('fast', 'slow')", True),
        ("mode != 'fast'", False),
    ],
)
def test_expressions_compute_like_python(text, expected):
    env = _env(
        scan__length=60,
        centre__quality=0.2,
        align__shifts=np.array([[0.5, -0.5], [0.5, 0.5]]),
        align__shifts__shape=(2, 2),
        mode="fast",
    )
    assert Expression.parse(text).truth(env) is expected


def test_names_are_the_dotted_names_read():
    e = Expression.parse("max(abs(align.shifts)) < limit and scan.length > 3")
    assert e.names == {"align.shifts", "limit", "scan.length"}


@pytest.mark.parametrize(
    "text",
    [
        "__import__('os').system('true')",
        "scan.__class__",
        "scan._private < 1",
        "(lambda: 1)()",
        "[x for x in range(3)]",
        "open('/etc/passwd')",
        "scan.length.bit_length()",
        "max(scan.length, key=abs)",
        "scan[ 'a' ] < 1",
        "{1: 2}",
    ],
)
def test_anything_outside_the_whitelist_is_refused(text):
    with pytest.raises(ExpressionError):
        Expression.parse(text)


def test_syntax_error_says_where():
    with pytest.raises(ExpressionError, match="syntax error.*column"):
        Expression.parse("scan.length <")


def test_runtime_errors_name_the_expression():
    with pytest.raises(ExpressionError, match="1 / x"):
        Expression.parse("1 / x > 0").evaluate(_env(x=0))
    with pytest.raises(ExpressionError, match="no single truth value"):
        Expression.parse("a < 1").truth(_env(a=np.arange(3)))
    with pytest.raises(ExpressionError, match="exponent"):
        Expression.parse("2 ** 100000 > 1").evaluate(_env())


def test_the_module_calls_no_eval_exec_or_compile():
    import ast
    import inspect

    from daisy_widgets.core import expressions

    tree = ast.parse(inspect.getsource(expressions))
    called = {n.func.id for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
    assert not called & {"eval", "exec", "compile", "__import__", "getattr"}
