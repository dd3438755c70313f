"""``daisy algorithms``: list the registered algorithms, show one, report broken plug-ins."""

from __future__ import annotations

import argparse
import json
import sys


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "algorithms",
        help="list the registered algorithms (plug-ins included)",
        description="List the algorithms registered through the 'daisy.algorithms' entry points, "
        "with a one-line description; with NAME, show its inputs, outputs and parameters.",
    )
    p.add_argument("name", nargs="?", help="show the declaration of this algorithm")
    p.add_argument("--json", action="store_true", help="print the declarations as JSON")
    p.add_argument("--category", help="only algorithms whose category starts with this")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import warnings

    from ..core import registry
    from ..core.cli_options import option_name, param_help

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", registry.PluginWarning)  # reported below instead
        algos = registry.algorithms()
        broken = registry.broken_plugins()
    if args.name:
        try:
            cls = registry.get_algorithm(args.name)
        except KeyError as exc:
            print(f"daisy: error: {exc.args[0]}", file=sys.stderr)
            return 1
        if args.json:
            print(json.dumps(cls.describe(), indent=2))
            return 0
        print(f"{cls.name}: {cls.summary()}")
        if cls.category:
            print(f"category: {cls.category}")
        if cls.split is not None:
            print(
                f"data-parallel: inputs {cls.split.inputs} split into chunks, outputs {cls.split.outputs} joined"
            )
        for title, ports in (("inputs", cls.inputs), ("outputs", cls.outputs)):
            print(f"{title}:")
            for port in ports:
                extra = "".join(
                    [
                        f", ndim {port.ndim}" if port.ndim is not None else "",
                        f", dtype kind {port.dtype}" if port.dtype else "",
                        ", optional" if port.optional else "",
                    ]
                )
                print(f"  {port.name} ({port.kind}{extra}): {port.help}")
        print("parameters:" if cls.params else "parameters: none")
        for prm in cls.params:
            print(f"  {option_name(prm)}  {param_help(prm)}")
        return 0
    if args.category:
        algos = {k: v for k, v in algos.items() if v.category.startswith(args.category)}
    if args.json:
        print(
            json.dumps(
                {"algorithms": [a.describe() for a in algos.values()], "broken_plugins": broken}, indent=2
            )
        )
        return 0
    width = max((len(n) for n in algos), default=10)
    for name, cls in algos.items():
        print(f"{name:<{width}}  {cls.summary()}")
    if not algos:
        print("no algorithms registered")
    if broken:
        print(f"\nbroken plug-ins (skipped): {len(broken)}")
        for origin, err in broken.items():
            print(f"  {origin}\n      {err}")
    return 0
