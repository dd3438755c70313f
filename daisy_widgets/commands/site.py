"""``daisy site install|status|stop --config site.yaml``: the Daisy site on one machine (as root)."""

from __future__ import annotations

import argparse
import json

DEFAULT_CONFIG = "/etc/daisy/site.yaml"


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "site",
        help="the site on one machine: a system account per user, the facility's login, HTTPS",
        description="Install, inspect and stop the Daisy site on one machine (see docs/deploy-site.md). "
        "The configuration is checked in full before anything starts.",
    )
    sub = p.add_subparsers(dest="site_command", metavar="ACTION")
    for name, func, text in (
        (
            "install",
            install_cmd,
            "check the configuration, set up and (re)start the site (upgrade: data kept)",
        ),
        ("status", status_cmd, "say whether the site runs, its address, accounts and limits"),
        ("stop", stop_cmd, "stop the hub, the user servers and the data service"),
        ("check", check_cmd, "only check the configuration file"),
    ):
        s = sub.add_parser(name, help=text, description=text[0].upper() + text[1:] + ".")
        s.add_argument(
            "--config", default=DEFAULT_CONFIG, help=f"the site's YAML file (default {DEFAULT_CONFIG})"
        )
        if name == "status":
            s.add_argument("--json", action="store_true", help="print the status as JSON")
        s.set_defaults(func=func)
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def check_cmd(args: argparse.Namespace) -> int:
    from ..site.config import load_config

    site = load_config(args.config)
    print(f"{args.config}: valid (login {site.authenticator}, {site.url}, accounts {site.prefix}<user>)")
    return 0


def install_cmd(args: argparse.Namespace) -> int:
    from ..site.config import load_config
    from ..site.install import install

    install(load_config(args.config), say=lambda text: print(f"daisy site: {text}", flush=True))
    return 0


def status_cmd(args: argparse.Namespace) -> int:
    from ..site.config import load_config
    from ..site.install import status

    st = status(load_config(args.config))
    if args.json:
        print(json.dumps(st, indent=2))
    else:
        print(f"daisy site: {'running' if st['running'] else 'NOT running'} at {st['url']}")
        for key in ("pid", "systemd_unit", "limits", "hub_database", "log"):
            print(f"  {key}: {st[key]}")
        print(f"  accounts: {', '.join(st['accounts']) or '(none yet)'}")
    return 0 if st["running"] else 3


def stop_cmd(args: argparse.Namespace) -> int:
    from ..site.config import load_config
    from ..site.install import stop

    if not stop(load_config(args.config)):
        print("daisy site: not running")
    return 0
