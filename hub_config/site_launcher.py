"""Run the Daisy site (``daisy site install`` starts it; under systemd, its unit's ExecStart).

``python hub_config/site_launcher.py --config /etc/daisy/site.yaml`` (as root):

1. starts the data service over the site's shared data (``data_service: true``) on a free
   loopback port, its master key in ``<root>/state/tiled_api_key`` (root only);
2. runs ``jupyterhub -f hub_config/site_config.py`` with ``DAISY_SITE_CONFIG`` set;
3. on SIGTERM/SIGINT stops the hub (which stops the user servers), the data service and
   whatever is left below it (it is the "child subreaper" of its tree, as ``demo.py``).
"""

from __future__ import annotations

import argparse
import ctypes
import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from demo import _die_with_parent, free_port, start_data_service, supervise_hub

from daisy_hub import HubSettings
from daisy_widgets.site.config import load_config

CONFIG = Path(__file__).resolve().parent / "site_config.py"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True)
    args = parser.parse_args(argv)
    site = load_config(args.config)
    env = dict(os.environ, DAISY_SITE_CONFIG=str(Path(args.config).resolve()))
    bindir = Path(sys.executable).parent
    env["PATH"] = os.pathsep.join([str(bindir), env.get("PATH", "/usr/bin:/bin")])
    for var in ("DAISY_TILED_URL", "DAISY_TILED_API_KEY"):
        env.pop(var, None)
    try:  # PR_SET_CHILD_SUBREAPER: the user servers' orphans stay below us
        ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)
    except (OSError, AttributeError):
        pass
    service = None
    if site.data_service:
        settings = HubSettings(
            site.address, site.port, site.hub_port, site.proxy_api_port, site.state_dir, site.data_dir
        )
        port = free_port({site.port, site.hub_port, site.proxy_api_port})
        service, line = start_data_service(settings, env, port)
        print(f"daisy site: data service: {line}", flush=True)
    hub = subprocess.Popen(
        [str(bindir / "jupyterhub"), "-f", str(CONFIG)],
        cwd=site.state_dir,
        env=env,
        start_new_session=True,
        preexec_fn=_die_with_parent,
    )
    code, stop = supervise_hub(hub, service)
    print("daisy site: stopped", flush=True)
    return 0 if stop else (code or 1)


if __name__ == "__main__":
    sys.exit(main())
