"""The users' Python environment of a site: ``<root>/venv``, which every account can run.

The user servers run as the users' own accounts, so the interpreter, Daisy's code and
the installed packages must be readable and runnable by them. A virtual environment made
under a private folder (``/root/.pyenv``, mode 0700) is not: :func:`build_user_venv` makes
``<root>/venv`` from an interpreter of the same Python version that others can run (this
one when it can be reached, else ``/usr/bin/python3.X`` or ``/usr/local/bin/python3.X``),
and points it at this environment's packages and Daisy's code with a ``.pth`` file.
Its ``share/`` and ``etc/`` are links to this environment's, so the Jupyter server finds
the same extensions, kernels and Voila templates. Rebuilt on every install (no user data).
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import sysconfig
from pathlib import Path

from ..core.errors import DaisyError

PTH_NAME = "daisy-site.pth"


class UserEnvError(DaisyError):
    """The users' environment cannot be made runnable by other accounts."""


def blocking_component(path: Path, need_read: bool = True) -> Path | None:
    """The first folder on the way to ``path`` (symlinks resolved) that other accounts cannot
    enter, or ``path`` itself when they cannot read/run it; None when it is open to them."""
    path = Path(os.path.realpath(path))
    for parent in reversed(path.parents):
        if not os.stat(parent).st_mode & stat.S_IXOTH:
            return parent
    mode = os.stat(path).st_mode
    if need_read and not mode & stat.S_IROTH:
        return path
    if (stat.S_ISDIR(mode) or os.access(path, os.X_OK)) and not mode & stat.S_IXOTH:
        return path
    return None


def open_interpreter() -> Path:
    """An interpreter of this Python version that other accounts can run."""
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    base = Path(getattr(sys, "_base_executable", sys.executable))
    candidates = [base, Path("/usr/bin") / version, Path("/usr/local/bin") / version]
    for cand in candidates:
        if cand.exists() and blocking_component(cand) is None:
            return cand
    raise UserEnvError(
        f"no {version} that other accounts can run: {base} is behind "
        f"{blocking_component(base)} (not open to others). Install {version} system-wide "
        f"(apt-get install {version}) or Daisy's environment under a folder others can enter (e.g. /opt/daisy)"
    )


def package_dirs() -> list[Path]:
    """This environment's package folders (purelib, platlib)."""
    paths = sysconfig.get_paths()
    return list(dict.fromkeys(Path(paths[k]) for k in ("purelib", "platlib")))


def build_user_venv(venv: Path, code_root: Path) -> Path:
    """(Re)make ``venv`` for the users; returns its ``bin/python``. UserEnvError when the
    interpreter, the packages or the code cannot be reached by other accounts."""
    for need in (*package_dirs(), code_root):
        blocked = blocking_component(need)
        if blocked is not None:
            raise UserEnvError(
                f"{need} cannot be read by the users' accounts ({blocked} is closed to others): "
                "install Daisy under a folder others can enter (e.g. /opt/daisy)"
            )
    interpreter = open_interpreter()
    tmp = venv.with_name(venv.name + ".new")
    shutil.rmtree(tmp, ignore_errors=True)
    subprocess.run(
        [str(interpreter), "-m", "venv", "--without-pip", str(tmp)], check=True, capture_output=True
    )
    lib = next((tmp / "lib").glob("python3.*")) / "site-packages"
    lines = [str(code_root)] + [f"import site; site.addsitedir({str(p)!r})" for p in package_dirs()]
    (lib / PTH_NAME).write_text("\n".join(lines) + "\n")
    prefix = Path(sys.prefix)
    for name in ("share", "etc"):
        if (prefix / name).is_dir():
            shutil.rmtree(tmp / name, ignore_errors=True)
            (tmp / name).symlink_to(prefix / name, target_is_directory=True)
    for path in (tmp, *tmp.rglob("*")):
        if not path.is_symlink():
            os.chmod(path, 0o755 if path.is_dir() or os.access(path, os.X_OK) else 0o644)
    old = venv.with_name(venv.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if venv.exists():
        venv.rename(old)
    tmp.rename(venv)
    shutil.rmtree(old, ignore_errors=True)
    return venv / "bin" / "python"
