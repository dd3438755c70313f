"""``daisy plugin new NAME --lang python|cpp|fortran [--out DIR]``: start a plug-in project."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "plugin",
        help="start an algorithm plug-in project (Python, C++ or Fortran)",
        description="Tools for algorithm plug-ins (see docs/plugins.md).",
    )
    sub = p.add_subparsers(dest="plugin_command", metavar="ACTION")
    n = sub.add_parser(
        "new",
        help="write a new plug-in project NAME/ that pip installs",
        description="Write an installable plug-in project DIR/NAME whose example algorithm NAME.scale "
        "(data * factor) is computed in the chosen language and registered through the "
        "'daisy.algorithms' entry points.",
    )
    n.add_argument("name", help="package name of the plug-in (lower case, e.g. ringfilter)")
    n.add_argument(
        "--lang",
        choices=("python", "cpp", "fortran"),
        default="python",
        help="language of the kernel: python, cpp (nanobind + scikit-build-core) or "
        "fortran (F2PY + meson-python); default python",
    )
    n.add_argument("--out", metavar="DIR", help="folder to create NAME/ in (default: the current folder)")
    n.set_defaults(func=new_cmd)
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def new_cmd(args: argparse.Namespace) -> int:
    from ..plugins import new_plugin

    path = new_plugin(args.name, args.lang, args.out)
    print(f"wrote {path}")
    print(f"  build and install:  pip install {path}")
    print(f"  check:              daisy algorithms {args.name}.scale")
    print(f"  its test:           python -m pytest {path / 'tests'}")
    return 0
