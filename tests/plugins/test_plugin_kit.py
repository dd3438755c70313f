"""``daisy plugin new NAME --lang python|cpp|fortran``: the project pip builds, whose NAME.scale is
listed by ``daisy algorithms``, runs in ``daisy workflow run`` in-process and on Dask, and whose own
test passes; a plug-in that does not compile is reported by pip with the compiler's message."""

from __future__ import annotations

import json
import sys

import h5py
import numpy as np
import pytest

from daisy_widgets.cli import main
from daisy_widgets.core.workflow import Step, Workflow
from daisy_widgets.plugins import PluginProjectError, new_plugin

LANGS = ("python", "cpp", "fortran")


@pytest.mark.parametrize("lang", LANGS)
def test_new_writes_an_installable_project(tmp_path, capsys, lang):
    assert main(["plugin", "new", "ringfix", "--lang", lang, "--out", str(tmp_path)]) == 0
    root = tmp_path / "ringfix"
    assert f"wrote {root}" in capsys.readouterr().out
    files = {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}
    core = {"python": "_core.py", "cpp": "_core.cpp", "fortran": "_core.f90"}[lang]
    build = {"python": set(), "cpp": {"CMakeLists.txt"}, "fortran": {"meson.build"}}[lang]
    assert (
        files
        == {
            "pyproject.toml",
            "README.md",
            "src/ringfix/__init__.py",
            "src/ringfix/algorithms.py",
            f"src/ringfix/{core}",
            "tests/test_ringfix.py",
        }
        | build
    )
    pyproject = (root / "pyproject.toml").read_text()
    assert '[project.entry-points."daisy.algorithms"]\nringfix = "ringfix.algorithms"' in pyproject
    assert 'name = "ringfix.scale"' in (root / "src/ringfix/algorithms.py").read_text()
    for f in root.rglob("*"):
        if f.is_file():
            assert "{{" not in f.read_text(), f
    # the Python files are valid Python
    for f in root.rglob("*.py"):
        compile(f.read_text(), str(f), "exec")
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary folder left


def test_new_refuses_bad_names_and_existing_folders(tmp_path, capsys):
    assert main(["plugin", "new", "Ring-Fix", "--out", str(tmp_path)]) == 1
    assert "expected a Python package name" in capsys.readouterr().err
    assert main(["plugin", "new", "json", "--out", str(tmp_path)]) == 1
    assert "shadow" in capsys.readouterr().err
    new_plugin("ok", "python", tmp_path)
    before = (tmp_path / "ok" / "README.md").read_text()
    assert main(["plugin", "new", "ok", "--lang", "cpp", "--out", str(tmp_path)]) == 1
    assert "already exists" in capsys.readouterr().err
    assert (tmp_path / "ok" / "README.md").read_text() == before  # nothing overwritten
    with pytest.raises(PluginProjectError, match="--lang 'rust'"):
        new_plugin("other", "rust", tmp_path)
    with pytest.raises(SystemExit):
        main(["plugin", "new", "other", "--lang", "rust"])


def _workflow_files(tmp_path, x):
    with h5py.File(tmp_path / "in.h5", "w") as f:
        f["data"] = x
    steps = [Step("scale", "x.scale", {"factor": 3.0}, {"data": "raw"}, {"data": "out"})]
    wf = Workflow("kit", steps, persist=["out"])
    wf.save(tmp_path / "wf.json")


@pytest.mark.slow
@pytest.mark.parametrize("lang", LANGS)
def test_generated_project_builds_registers_runs_and_passes_its_test(
    tmp_path, lang, pip_install, daisy_cli, python_in
):
    project = new_plugin("x", lang, tmp_path / "src")
    site = tmp_path / "site"
    built = pip_install(project, site)
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    ext = {"python": "_core.py", "cpp": "_core.cpython", "fortran": "_core.cpython"}[lang]
    assert any(p.name.startswith(ext) for p in (site / "x").iterdir())

    listed = daisy_cli("algorithms", site=site)
    assert listed.returncode == 0, listed.stderr
    line = next(ln for ln in listed.stdout.splitlines() if ln.startswith("x.scale "))
    title = {"python": "Python", "cpp": "C++", "fortran": "Fortran"}[lang]
    assert f"({title} kernel of the x plug-in)" in line
    assert "core.scale" in listed.stdout  # the rest is still there
    shown = daisy_cli("algorithms", "x.scale", "--json", site=site)
    decl = json.loads(shown.stdout)
    assert [p["name"] for p in decl["params"]] == ["factor"] and decl["parallel"] is True

    x = np.random.default_rng(1).standard_normal((40, 7)).astype(np.float32)
    _workflow_files(tmp_path, x)
    for engine in (["--engine", "inprocess"], ["--engine", "dask", "--workers", "1"]):
        out = tmp_path / f"out-{engine[1]}.h5"
        args = ["workflow", "run", str(tmp_path / "wf.json"), "-q", *engine]
        args += ["--input", f"raw={tmp_path / 'in.h5'}:/data", "--output", str(out)]
        ran = daisy_cli(*args, site=site)
        assert ran.returncode == 0, ran.stdout + ran.stderr
        with h5py.File(out) as f:
            np.testing.assert_array_equal(f["out"][()], x * np.float32(3.0))

    # an error of the kernel reaches the CLI user naming the workflow, the step and the chunk
    for engine in (["--engine", "inprocess"], ["--engine", "dask", "--workers", "1"]):
        args = ["workflow", "run", str(tmp_path / "wf.json"), "-q", *engine, "--set", "scale.factor=1e300"]
        bad = daisy_cli(*args, "--input", f"raw={tmp_path / 'in.h5'}:/data", site=site)
        assert bad.returncode == 1
        last = bad.stderr.strip().splitlines()[-1]
        assert last.startswith("daisy: error: workflow 'kit', step 'scale', chunk 1/1"), bad.stderr
        assert "not a finite float32 number" in last
        if engine[1] == "inprocess":  # (a Dask worker logs the failed task itself)
            assert "Traceback" not in bad.stderr

    own = python_in(
        site, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(project / "tests"), cwd=tmp_path
    )
    assert own.returncode == 0, own.stdout[-3000:] + own.stderr[-2000:]
    assert " passed" in own.stdout and "failed" not in own.stdout


@pytest.mark.slow
@pytest.mark.parametrize(
    ("lang", "source", "bad_line", "compiler_says"),
    [
        (
            "cpp",
            "_core.cpp",
            "static int broken = undeclared_name + 1;\n",
            "was not declared in this scope",
        ),
        (
            "fortran",
            "_core.f90",
            "subroutine broken(a)\n  implicit none\n  real(4) :: a\n  a = undeclared_name\nend subroutine broken\n",
            "at (1) has no IMPLICIT type",
        ),
    ],
)
def test_a_plugin_that_does_not_compile_is_reported_by_pip_with_the_compiler_message(
    tmp_path, pip_install, lang, source, bad_line, compiler_says
):
    project = new_plugin("x", lang, tmp_path / "src")
    path = project / "src" / "x" / source
    path.write_text(path.read_text() + "\n" + bad_line)
    built = pip_install(project, tmp_path / "site")
    out = built.stdout + built.stderr
    assert built.returncode != 0
    assert compiler_says in out and "undeclared_name" in out, out[-4000:]
    assert source in out  # the file the compiler complains about
    assert not (tmp_path / "site" / "x").exists()  # nothing half-installed


def test_templates_are_package_data():
    import tomllib
    from pathlib import Path

    repo = Path(__file__).resolve().parents[2]
    data = tomllib.loads((repo / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    assert "plugins/templates/**/*.tmpl" in data["daisy_widgets"]
    assert sys.modules["daisy_widgets.plugins"].scaffold.TEMPLATES.is_dir()
