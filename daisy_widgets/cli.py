"""The ``daisy`` command.

Each command family lives in its own module under :mod:`daisy_widgets.commands`
and exposes ``register(subparsers)``; handlers are set with
``parser.set_defaults(func=...)`` and return an exit code. The ``data`` family is
shared by several modules (sample data, the data service), so it is created here
and each module adds its sub-commands with ``register_data(data_subparsers)``.
Modules are imported lazily enough that ``daisy --help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from .core.errors import DaisyError

#: modules with ``register(subparsers)``
COMMAND_MODULES = (
    "daisy_widgets.commands.apps",  # daisy app NAME, daisy apps
    "daisy_widgets.commands.algorithms",  # daisy algorithms
    "daisy_widgets.commands.workflow",  # daisy workflow run FILE
    "daisy_widgets.commands.tomo",  # daisy tomo recon|center
    "daisy_widgets.commands.hxmt",  # daisy hxmt simulate|pipeline
    "daisy_widgets.commands.plugin",  # daisy plugin new NAME --lang python|cpp|fortran
    "daisy_widgets.commands.site",  # daisy site install|status|stop --config site.yaml
    "daisy_widgets.commands.workbench",  # daisy workbench (JupyterLab, no hub)
)
#: modules with ``register_data(data_subparsers)``
DATA_MODULES = (
    "daisy_widgets.commands.sample",  # daisy data sample
    "daisy_widgets.commands.service",  # daisy data serve|search
)


def _import_optional(name: str):
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name == name:  # the command module itself is not written yet
            return None
        raise


def build_parser() -> argparse.ArgumentParser:
    from .commands.examples import SuggestingParser, add_examples

    parser = SuggestingParser(
        prog="daisy", description="Daisy: on-site data analysis (tomography, Insight-HXMT)."
    )
    from . import __version__

    parser.add_argument("--version", action="version", version=f"daisy {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        mod = _import_optional(name)
        if mod is not None:
            mod.register(sub)
    data = sub.add_parser("data", help="sample data and the data service")
    data_sub = data.add_subparsers(dest="data_command", metavar="DATA_COMMAND")
    for name in DATA_MODULES:
        mod = _import_optional(name)
        if mod is not None:
            mod.register_data(data_sub)
    data.set_defaults(func=lambda args: (data.print_help(), 2)[1])
    add_examples(parser)  # every command's --help ends with an example
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return 2
    try:
        return int(func(args) or 0)
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130
    except DaisyError as exc:  # expected, user-facing errors: no traceback
        print(f"daisy: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
