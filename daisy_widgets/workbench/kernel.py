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

import json
import platform
import sys
from pathlib import Path

#: name of the kernelspec (``kernels/daisy-workbench/kernel.json`` holds :data:`KERNEL_SPEC`)
KERNEL_NAME = "daisy-workbench"
#: the kernelspec
KERNEL_SPEC = {
    "argv": ["python", "-m", "daisy_widgets.workbench.kernel", "-f", "{connection_file}"],
    "display_name": "Daisy Workbench (Python 3)",
    "language": "python",
    "metadata": {"debugger": True},
}
#: run in the user's namespace before the first cell
STARTUP_LINES = [
    "from daisy_widgets.workbench.layout import start_workbench as _daisy_start_workbench",
    "workbench = _daisy_start_workbench()",
    "from daisy_widgets.workbench.replay import daisy_run",
]


def kernelspec_installed() -> bool:
    """Whether Jupyter finds the "Daisy Workbench" kernelspec (``make setup`` installs it)."""
    from jupyter_client.kernelspec import KernelSpecManager

    return KERNEL_NAME in KernelSpecManager().find_kernel_specs()


def write_kernelspec(data_dir: Path) -> Path:
    """Write the kernelspec under ``data_dir/kernels/`` (a Jupyter data folder for ``JUPYTER_PATH``)."""
    folder = Path(data_dir) / "kernels" / KERNEL_NAME
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "kernel.json"
    path.write_text(json.dumps(KERNEL_SPEC, indent=1) + "\n")
    return path


def workbench_notebook() -> dict:
    """The workbench notebook (nbformat 4 JSON): the editor the workbench opens with, on this kernel."""
    intro = (
        "# Daisy Workbench\n"
        "Data and algorithm toolboxes, a console, the log and the workflow builder over one data store, "
        "in JupyterLab.\n\n"
        "This notebook is the workbench's editor; the console below it runs on the same kernel. "
        "Arrays and tables you create here or in the console appear in the **Data** toolbox (left); "
        "an object picked there is available here by the name it shows. Pick an algorithm in the "
        "**Algorithms** toolbox (right), choose its input and *Run*: the output lands in the store, the "
        "log (bottom) says what happened, and the equivalent Python line (`daisy_run(...)`) is written to "
        "the console so the step can be replayed in a script."
    )
    code = [
        "import numpy as np\n\nfrom daisy_widgets.workbench.layout import start_workbench\n\n"
        "workbench = start_workbench()  # the session (already started by the Daisy Workbench kernel)\n"
        "workbench.toolbar()",
        "# an example object: it appears in the Data toolbox when the cell has run\n"
        "phantom = np.outer(np.hanning(128), np.hanning(128)).astype(np.float32)",
    ]

    def cell(kind: str, text: str, i: int) -> dict:
        c = {
            "cell_type": kind,
            "id": f"daisy-wb-{i}",
            "metadata": {},
            "source": text.splitlines(keepends=True),
        }
        if kind == "code":
            c.update(execution_count=None, outputs=[])
        return c

    return {
        "cells": [cell("markdown", intro, 0)] + [cell("code", t, i + 1) for i, t in enumerate(code)],
        "metadata": {
            "kernelspec": {
                "display_name": KERNEL_SPEC["display_name"],
                "language": "python",
                "name": KERNEL_NAME,
            },
            # what the kernel reports, so that JupyterLab finds nothing to save when it connects
            "language_info": {
                "codemirror_mode": {"name": "ipython", "version": 3},
                "file_extension": ".py",
                "mimetype": "text/x-python",
                "name": "python",
                "nbconvert_exporter": "python",
                "pygments_lexer": "ipython3",
                "version": platform.python_version(),
            },
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def workbench_notebook_text() -> str:
    """:func:`workbench_notebook` as JupyterLab writes it (so that saving it in Lab changes nothing)."""
    return json.dumps(workbench_notebook(), sort_keys=True, indent=1, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> None:
    """Start the kernel (``argv``: the kernel's command-line arguments, ``-f CONNECTION_FILE``)."""
    from ipykernel.kernelapp import IPKernelApp

    app = IPKernelApp.instance()
    app.exec_lines = list(STARTUP_LINES)
    app.initialize(sys.argv[1:] if argv is None else argv)
    app.start()


if __name__ == "__main__":
    main()
