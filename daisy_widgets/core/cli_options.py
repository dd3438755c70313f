"""Command-line options generated from an algorithm's parameter declarations.

Each :class:`~daisy_widgets.core.params.Param` becomes one ``argparse`` option
``--name-with-dashes`` whose help carries the declaration's help text, unit,
bounds, choices and default. Values are parsed as text and validated by the
declaration itself (so the CLI, JSON and widget forms agree on what is valid).

Example::

    parser = argparse.ArgumentParser()
    add_param_options(parser, get_algorithm("core.scale"))
    args = parser.parse_args(["--factor", "2"])
    params = params_from_args(get_algorithm("core.scale"), args)   # {"factor": 2.0}
"""

from __future__ import annotations

import argparse
from typing import Any

from .params import Param


def option_name(p: Param, prefix: str = "") -> str:
    """``--prefix-name-with-dashes`` for parameter ``name_with_dashes``."""
    return "--" + (f"{prefix}-" if prefix else "") + p.name.replace("_", "-")


def dest_name(p: Param, prefix: str = "") -> str:
    return (f"{prefix}_" if prefix else "") + p.name


def param_help(p: Param) -> str:
    """Help text of the option: help, unit, bounds, choices and default."""
    parts = [p.help.rstrip(".")] if p.help else []
    if p.unit:
        parts.append(f"unit: {p.unit}")
    if p.min is not None or p.max is not None:
        lo = "-inf" if p.min is None else p.min
        hi = "inf" if p.max is None else p.max
        parts.append(f"range [{lo}, {hi}]")
    if p.choices:
        parts.append("one of: " + ", ".join(map(str, p.choices)))
    default = p.to_json_value(p.default)
    if p.type == "intlist" and default is not None:
        default = ",".join(map(str, default))
    parts.append("default: " + ("auto" if default is None else str(default)))
    return "; ".join(parts).replace("%", "%%")


def _metavar(p: Param) -> str:
    return {
        "float": "X",
        "int": "N",
        "str": "TEXT",
        "path": "PATH",
        "intlist": "LIST",
        "choice": "{" + ",".join(map(str, p.choices)) + "}",
    }.get(p.type, "VALUE")


def add_param_options(
    parser: argparse.ArgumentParser | Any, algo: Any, prefix: str = "", title: str | None = None
) -> None:
    """Add one option per declared parameter of ``algo`` (an Algorithm class).

    Options default to "not given" (``None``) so that :func:`params_from_args`
    passes only what the user typed and the declared defaults apply otherwise.
    Booleans get ``--flag/--no-flag``.
    """
    group = parser.add_argument_group(title or f"{algo.name} parameters")
    for p in algo.params:
        if p.type == "bool":
            group.add_argument(
                option_name(p, prefix),
                dest=dest_name(p, prefix),
                default=None,
                action=argparse.BooleanOptionalAction,
                help=param_help(p),
            )
        else:
            group.add_argument(
                option_name(p, prefix),
                dest=dest_name(p, prefix),
                default=None,
                metavar=_metavar(p),
                help=param_help(p),
            )


def params_from_args(algo: Any, args: argparse.Namespace, prefix: str = "") -> dict[str, Any]:
    """The parameters the user gave on the command line (raw text; validate with the algorithm)."""
    out = {}
    for p in algo.params:
        v = getattr(args, dest_name(p, prefix), None)
        if v is not None:
            out[p.name] = v
    return out


def params_to_argv(algo: Any, values: dict[str, Any], prefix: str = "") -> list[str]:
    """The command-line form of parameter values (the inverse of :func:`params_from_args`)."""
    argv: list[str] = []
    for p in algo.params:
        if p.name not in values or values[p.name] is None:
            continue
        v = values[p.name]
        if p.type == "bool":
            argv.append(
                option_name(p, prefix)
                if v
                else "--" + ("no-" + (f"{prefix}-" if prefix else "")) + p.name.replace("_", "-")
            )
        elif p.type == "intlist":
            argv += [option_name(p, prefix), ",".join(map(str, v))]
        else:
            argv += [option_name(p, prefix), str(v)]
    return argv
