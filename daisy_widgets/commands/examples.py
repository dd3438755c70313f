"""An example at the end of every command's ``--help`` (the argparse epilog), and "did you mean" for typos.

:func:`add_examples` walks the ``daisy`` parser and gives each (sub)command without an
epilog of its own the example of :data:`EXAMPLES` (keyed by the command's words after
``daisy``). A command module may set its own ``epilog=`` instead; it should end with an
example too (``tests/first_hour/test_cli_first_hour.py`` checks every command).
:class:`SuggestingParser` is the parser class of ``daisy`` and of every sub-parser: a
mistyped command name gets the nearest ones (:mod:`difflib`) in the error.
"""

from __future__ import annotations

import argparse
import difflib
import re

#: command words -> example lines (shown after "Example:")
EXAMPLES: dict[str, str] = {
    "": "daisy data sample --small && daisy app tomography",
    "apps": "daisy apps",
    "app": "daisy app hxmt --port 8866",
    "algorithms": "daisy algorithms tomo.reconstruct",
    "workflow": "daisy workflow run demo.json --input raw/data=scan.h5:/exchange/data --output out.h5",
    "workflow run": "daisy workflow run demo.json --engine dask --workers 2 "
    "--input raw/data=scan.h5:/exchange/data --set smooth.iterations=20 --output out.h5",
    "workflow validate": "daisy workflow validate demo.json --input raw/data",
    "workflow show": "daisy workflow show demo.json",
    "workflow step": "daisy workflow step core.scale --factor 2 -i data=in.h5:/exchange/data -o out.h5",
    "tomo": "daisy tomo recon data/tomography/tomo_sample_scan.h5 -o recon.h5 --center-method auto",
    "tomo recon": "daisy tomo recon data/tomography/tomo_sample_scan.h5 -o recon.h5 --algorithm fbp "
    "--filter hann",
    "tomo center": "daisy tomo center data/tomography/tomo_sample_scan.h5 --method all",
    "tomo acquire": "daisy tomo acquire scan.h5 --width 1024 --rows 16 --angles 900 --rate 20",
    "tomo watch": "daisy tomo watch scan.h5 -o recon.h5 --rows 6:10   # while daisy tomo acquire writes it",
    "tomo inspect": "daisy tomo inspect scan_0042.nxs   # prints the daisy tomo recon line that reads it",
    "plugin": "daisy plugin new ringfilter --lang cpp && pip install ./ringfilter",
    "plugin new": "daisy plugin new ringfilter --lang fortran --out plugins && pip install plugins/ringfilter",
    "hxmt": "daisy hxmt simulate --out l1 && daisy hxmt pipeline l1 --instrument HE --out products",
    "hxmt simulate": "daisy hxmt simulate --out l1 --instrument HE --exposure 2000 --pulsar-frequency 29.6",
    "hxmt pipeline": "daisy hxmt pipeline l1 --instrument HE --out products   "
    "# l1: an exposure, an observation or a data root",
    "data": "daisy data sample --small",
    "data sample": "daisy data sample --small --out data",
    "data serve": "daisy data serve data --port 8008",
    "data search": "daisy data search --target crab --start 2018-03-01",
    "data migrate": "daisy data migrate --from sqlite:///srv/daisy/catalog.db "
    "--to postgresql://daisy@db.example:5432/daisy   # password: $DAISY_CATALOG_PASSWORD",
    "site": "daisy site install --config /etc/daisy/site.yaml   # as root; see docs/deploy-site.md",
    "site install": "daisy site install --config /etc/daisy/site.yaml   # again after an upgrade: data kept",
    "site status": "daisy site status --config /etc/daisy/site.yaml",
    "site stop": "daisy site stop --config /etc/daisy/site.yaml",
    "site check": "daisy site check --config site.yaml",
    "workbench": "daisy workbench --dir ~/analysis --port 8890   # JupyterLab with the Daisy Workbench",
    "data register": "daisy data register data/hxmt/P0101299003 --root data",
}


class SuggestingParser(argparse.ArgumentParser):
    """An :class:`argparse.ArgumentParser` whose "invalid choice" error names the nearest choices."""

    def error(self, message: str) -> None:  # type: ignore[override]
        m = re.search(r"invalid choice: '([^']*)' \(choose from (.*)\)", message)
        if m:
            word = m.group(1)
            choices = re.findall(r"'([^']*)'", m.group(2)) or [c.strip() for c in m.group(2).split(",")]
            near = difflib.get_close_matches(word, choices, n=2, cutoff=0.5)
            if near:
                message += "; did you mean " + " or ".join(f"'{n}'" for n in near) + "?"
        super().error(message)


def _subparsers(parser: argparse.ArgumentParser):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            yield from action.choices.items()


def add_examples(parser: argparse.ArgumentParser, words: str = "") -> None:
    """Give ``parser`` and its sub-parsers the example of :data:`EXAMPLES` as epilog (where they have none)."""
    if not parser.epilog and words in EXAMPLES:
        parser.epilog = f"Example:\n  {EXAMPLES[words]}"
        if parser.formatter_class is argparse.HelpFormatter:
            parser.formatter_class = argparse.RawDescriptionHelpFormatter
    for name, sub in _subparsers(parser):
        add_examples(sub, f"{words} {name}".strip())


__all__ = ["EXAMPLES", "SuggestingParser", "add_examples"]
