"""Write a new plug-in project from the templates in ``templates/``.

:func:`new_plugin` fills the templates of one language (``python``, ``cpp`` or
``fortran``) with the plug-in's name and writes the project to ``OUT/NAME``,
atomically: into a temporary folder beside it, renamed when complete, so an
interrupted run leaves nothing half-written.

Every project has the same layout::

    NAME/
      pyproject.toml         build backend, dependencies, the daisy.algorithms entry point
      README.md
      src/NAME/__init__.py
      src/NAME/algorithms.py the Algorithm class NAME.scale and the wrapper of the kernel
      src/NAME/_core.*       the kernel: _core.py, _core.cpp (nanobind) or _core.f90 (F2PY)
      tests/test_NAME.py
      CMakeLists.txt         (cpp)   or   meson.build (fortran)
"""

from __future__ import annotations

import keyword
import re
import shutil
import sys
import tempfile
from pathlib import Path

from ..core.errors import DaisyError

TEMPLATES = Path(__file__).with_name("templates")
LANGUAGES = ("python", "cpp", "fortran")

_TITLE = {"python": "Python", "cpp": "C++", "fortran": "Fortran"}
_CORE = {
    "python": ("_core.py", "`src/{name}/_core.py`: the kernel, in Python."),
    "cpp": (
        "_core.cpp",
        "`src/{name}/_core.cpp`: the kernel, in C++, bound with nanobind; `CMakeLists.txt` "
        "builds it (scikit-build-core).",
    ),
    "fortran": (
        "_core.f90",
        "`src/{name}/_core.f90`: the kernel, in Fortran, wrapped by numpy's F2PY; "
        "`meson.build` builds it (meson-python).",
    ),
}
_COPY_RULE = {
    "python": "in any memory order",
    "cpp": "C-contiguous",
    "fortran": "C- or Fortran-contiguous",
}
#: memory orders of a float32 input that reach the kernel without a copy (tested by the project)
_NO_COPY_ORDERS = {"python": '("C", "F")', "cpp": '("C",)', "fortran": '("C", "F")'}
_NAME = re.compile(r"[a-z][a-z0-9_]{0,39}")


class PluginProjectError(DaisyError, ValueError):
    """The plug-in project cannot be made (bad name or language, target exists)."""


def check_name(name: str) -> None:
    """Raise :class:`PluginProjectError` unless ``name`` can be the plug-in's package name."""
    if not _NAME.fullmatch(name) or keyword.iskeyword(name):
        raise PluginProjectError(
            f"plug-in name {name!r}: expected a Python package name: lower-case letters, digits and "
            "'_', starting with a letter, at most 40 characters (it becomes the import name and the "
            "algorithm family, NAME.scale)"
        )
    if name in sys.stdlib_module_names or name in ("daisy", "daisy_widgets", "numpy", "test", "tests"):
        raise PluginProjectError(f"plug-in name {name!r} would shadow the module of the same name")


def _fill(text: str, values: dict[str, str]) -> str:
    for key, val in values.items():
        text = text.replace("{{" + key + "}}", val)
    left = re.search(r"\{\{\w+\}\}", text)
    if left:  # a template bug, not a user error
        raise RuntimeError(f"template placeholder {left.group(0)} was not filled")
    return text


def _files(lang: str, name: str) -> dict[str, str]:
    """``{relative path: template file}`` of a project in ``lang``."""
    core_file = _CORE[lang][0]
    files = {
        "README.md": "common/README.md.tmpl",
        f"src/{name}/__init__.py": "common/__init__.py.tmpl",
        f"src/{name}/algorithms.py": "common/algorithms.py.tmpl",
        f"src/{name}/{core_file}": f"{lang}/{core_file}.tmpl",
        f"tests/test_{name}.py": "common/test.py.tmpl",
        "pyproject.toml": f"{lang}/pyproject.toml.tmpl",
    }
    if lang == "cpp":
        files["CMakeLists.txt"] = "cpp/CMakeLists.txt.tmpl"
    if lang == "fortran":
        files["meson.build"] = "fortran/meson.build.tmpl"
    return files


def new_plugin(name: str, lang: str = "python", out: str | Path | None = None) -> Path:
    """Write a new plug-in project ``OUT/NAME`` and return its path.

    Parameters
    ----------
    name
        Package name of the plug-in; its example algorithm is registered as ``NAME.scale``.
    lang
        Language of the kernel: ``"python"``, ``"cpp"`` (nanobind + scikit-build-core) or
        ``"fortran"`` (F2PY + meson-python).
    out
        Folder in which the project folder ``NAME`` is made (default: the current folder).

    Raises
    ------
    PluginProjectError
        For a bad name or language, or when ``OUT/NAME`` already exists.
    """
    check_name(name)
    if lang not in LANGUAGES:
        raise PluginProjectError(f"--lang {lang!r}: expected one of {', '.join(LANGUAGES)}")
    parent = Path(out) if out is not None else Path.cwd()
    target = parent / name
    if target.exists():
        raise PluginProjectError(f"{target} already exists; choose another --out folder or name")
    if parent.exists() and not parent.is_dir():
        raise PluginProjectError(f"--out {parent}: not a folder")
    parent.mkdir(parents=True, exist_ok=True)
    values = {
        "name": name,
        "dist": "daisy-plugin-" + name.replace("_", "-"),
        "lang": lang,
        "lang_title": _TITLE[lang],
        "lang_core": _CORE[lang][1].format(name=name),
        "lang_copy_rule": _COPY_RULE[lang],
        "no_copy_orders": _NO_COPY_ORDERS[lang],
    }
    values["wrapper_body"] = _fill((TEMPLATES / lang / "wrapper.tmpl").read_text(), values)
    values["extra_tests"] = _fill((TEMPLATES / lang / "extra_tests.tmpl").read_text(), values)
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=parent))
    try:
        for rel, template in _files(lang, name).items():
            dest = tmp / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_text(_fill((TEMPLATES / template).read_text(), values))
        tmp.rename(target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target
