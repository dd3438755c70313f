"""The "Daisy Workbench" kernel: an IPython kernel that builds the workbench when it starts.

Its kernelspec (``kernels/daisy-workbench/kernel.json``) runs
``python -m daisy_widgets.workbench.kernel -f {connection_file}``. The kernel
starts as any IPython kernel and runs one line first: :func:`.layout.start_workbench`,
which creates the session's data store, the panels and the JupyterLab front-end
handle (ipylab). When JupyterLab connects to the kernel (the workbench notebook
opened), the widgets are restored from the kernel and the panels are docked
around the notebook, with a console on the same kernel.
"""

from __future__ import annotations

import sys

#: run in the user's namespace before the first cell
STARTUP_LINES = [
    "from daisy_widgets.workbench.layout import start_workbench as _daisy_start_workbench",
    "workbench = _daisy_start_workbench()",
    "from daisy_widgets.workbench.replay import daisy_run",
]


def main(argv: list[str] | None = None) -> None:
    """Start the kernel (``argv``: the kernel's command-line arguments, ``-f CONNECTION_FILE``)."""
    from ipykernel.kernelapp import IPKernelApp

    app = IPKernelApp.instance()
    app.exec_lines = list(STARTUP_LINES)
    app.initialize(sys.argv[1:] if argv is None else argv)
    app.start()


if __name__ == "__main__":
    main()
