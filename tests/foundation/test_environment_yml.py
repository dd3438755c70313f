"""environment.yml (conda-forge) lists the same dependencies, with the same lower bounds, as pyproject.toml."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
#: extras that environment.yml carries (gpu is a comment there: CuPy needs a CUDA machine)
EXTRAS = ("hub", "service", "test", "peers")
#: pip requirement name -> conda-forge package names
CONDA_NAMES = {"dask": ("dask", "distributed")}
#: conda-only entries (interpreter, tools)
CONDA_ONLY = {"python", "pip", "nodejs"}


def _split(req: str) -> tuple[str, str]:
    m = re.match(r"^\s*([A-Za-z0-9_.-]+)(\[[^\]]*\])?\s*(.*)$", req.split("#")[0])
    return m.group(1).lower().replace("_", "-"), m.group(3).replace(" ", "")


def pyproject_requirements() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = list(project["dependencies"])
    for extra in EXTRAS:
        reqs += project["optional-dependencies"][extra]
    out = {}
    for req in reqs:
        name, spec = _split(req)
        for conda_name in CONDA_NAMES.get(name, (name,)):
            out[conda_name] = spec
    return out


def conda_requirements() -> dict[str, str]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert env["channels"][0] == "conda-forge"
    out = {}
    for dep in env["dependencies"]:
        if isinstance(dep, str):
            name, spec = _split(dep)
            out[name] = spec
        elif isinstance(dep, dict):  # the pip: section, for what conda-forge lacks
            for req in dep.get("pip", []):
                if not req.startswith("-"):
                    name, spec = _split(req)
                    out[name] = spec
    return out


def test_environment_yml_and_pyproject_agree():
    pip, conda = pyproject_requirements(), conda_requirements()
    missing = sorted(set(pip) - set(conda))
    extra = sorted(set(conda) - set(pip) - CONDA_ONLY)
    different = {n: (pip[n], conda[n]) for n in set(pip) & set(conda) if pip[n] != conda[n]}
    assert not missing, f"in pyproject.toml, not in environment.yml: {missing}"
    assert not extra, f"in environment.yml, not in pyproject.toml: {extra}"
    assert not different, f"version bounds differ (pyproject, environment.yml): {different}"


def test_python_and_node_bounds():
    conda = conda_requirements()
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert conda["python"] == project["requires-python"]
    assert conda["nodejs"] == ">=20"


def test_disagreement_is_detected(tmp_path):
    """The comparison fails on a dropped dependency (checked on a modified copy)."""
    text = (ROOT / "environment.yml").read_text().replace("  - scipy>=1.11\n", "")
    (tmp_path / "environment.yml").write_text(text)
    (tmp_path / "pyproject.toml").write_text((ROOT / "pyproject.toml").read_text())
    globals()["ROOT"] = tmp_path
    try:
        assert "scipy" in set(pyproject_requirements()) - set(conda_requirements())
    finally:
        globals()["ROOT"] = Path(__file__).resolve().parents[2]
