"""A container runtime on this machine builds an image and starts jupyterhub-singleuser in it.

No image registry is reachable here, so the image comes from tarballs made by
``images/testing/prepare-test-rootfs.sh`` (a debootstrap'd Debian rootfs and a
wheelhouse of jupyterhub/jupyter_server at the locked versions). The image is
a minimal stand-in for the Daisy images (whose Jupyter base image cannot be
pulled here): it checks that the runtime, the build, the non-root user and the
hub's entry point work. Skips with the reason when podman/docker or the
tarballs are missing.
"""

from __future__ import annotations

import resource
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ART = REPO / "test-artifacts" / "k8s"
ROOTFS = ART / "rootfs-bookworm.tar"
WHEELS = ART / "wheelhouse"
BASE = "localhost/daisy-test-rootfs:bookworm"
IMAGE = "localhost/daisy-test-singleuser:test"

CONTAINERFILE = """\
FROM {base}
COPY wheelhouse /tmp/wheels
RUN python3 -m venv /opt/venv \\
 && /opt/venv/bin/pip install --no-cache-dir --no-index --find-links /tmp/wheels jupyterhub jupyter_server \\
 && rm -rf /tmp/wheels \\
 && useradd --uid {uid} --gid {gid} --create-home jovyan
ENV PATH=/opt/venv/bin:/usr/local/bin:/usr/bin:/bin
USER {uid}
WORKDIR /home/jovyan
"""

pytestmark = pytest.mark.slow


def _engine() -> str:
    for name in ("podman", "docker"):
        path = shutil.which(name)
        if path:
            probe = subprocess.run([path, "info"], capture_output=True, text=True, timeout=60)
            if probe.returncode == 0:
                return path
    pytest.skip(
        "no working container runtime (podman or docker): `apt-get install podman runc` "
        "where allowed; the Dockerfiles are then only linted"
    )


def _run(cmd, timeout=240):
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    assert r.returncode == 0, f"{' '.join(map(str, cmd))}\n{r.stdout[-2000:]}\n{r.stderr[-2000:]}"
    return r.stdout


def test_build_minimal_image_and_start_singleuser(tmp_path, profiles):
    engine = _engine()
    if not (ROOTFS.exists() and WHEELS.is_dir() and any(WHEELS.glob("jupyterhub-*.whl"))):
        pytest.skip(
            f"no rootfs/wheelhouse under {ART} (no registry reachable): run "
            "images/testing/prepare-test-rootfs.sh once, with network"
        )
    images = subprocess.run([engine, "image", "exists", BASE], capture_output=True)
    if images.returncode != 0:
        _run([engine, "import", str(ROOTFS), BASE])
    ctx = tmp_path / "ctx"
    shutil.copytree(WHEELS, ctx / "wheelhouse")
    (ctx / "Containerfile").write_text(
        CONTAINERFILE.format(base=BASE, uid=profiles.NB_UID, gid=profiles.NB_GID)
    )
    _run([engine, "build", "--network", "none", "-t", IMAGE, "-f", str(ctx / "Containerfile"), str(ctx)])

    # rlimits no higher than this sandbox allows (runc would fail to raise them)
    nofile = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    limits = ["--ulimit", f"nofile={nofile}:{nofile}", "--ulimit", "nproc=4096:4096"]
    out = _run(
        [
            engine,
            "run",
            "--rm",
            "--network",
            "none",
            *limits,
            IMAGE,
            "sh",
            "-c",
            "id -u; jupyterhub-singleuser --help && jupyterhub-singleuser --help-all",
        ]
    )
    first, rest = out.split("\n", 1)
    assert first.strip() == str(profiles.NB_UID)  # not root
    assert rest.startswith("A Jupyter Application")
    # the hub's single-user extension is what the command loads
    assert "JupyterHubSingleUser(ExtensionApp) options" in rest
    assert "--JupyterHubSingleUser.config_file" in rest


PLUGINS_IMAGE = "localhost/daisy-test-plugins:test"
PLUGINS_CONTAINERFILE = """\
FROM {base}
COPY wheels /tmp/wheels
RUN python3 -m venv /opt/venv \\
 && /opt/venv/bin/pip install --no-cache-dir --no-index --find-links /tmp/wheels numpy \\
 && /opt/venv/bin/pip install --no-cache-dir --no-index --no-deps /tmp/wheels/daisy_*.whl \\
 && rm -rf /tmp/wheels \\
 && useradd --uid {uid} --gid {gid} --create-home jovyan
COPY daisy_widgets /opt/daisy/src/daisy_widgets
ENV PATH=/opt/venv/bin:/usr/local/bin:/usr/bin:/bin PYTHONPATH=/opt/daisy/src
USER {uid}
WORKDIR /home/jovyan
"""
PLUGINS_CHECK = """\
import numpy as np
from daisy_widgets.core import registry
from daisy_ringsort.algorithms import remove_stripes
from daisy_deadtime.algorithms import correct_rates
x = np.full((1, 5, 16), 2.0, np.float32)
x[:, :, 7] += 3  # a stripe on a flat sinogram: the filter takes it away
print("ringsort", np.array_equal(remove_stripes(x, 3), np.full((1, 5, 16), 2.0, np.float32)))
rates, live = correct_rates(np.array([[1000.0, 2000.0]]), 1.0, 1e-4)
print("deadtime", np.allclose(rates, [[1000 / 0.9, 2000 / 0.8]]), np.allclose(live, [[0.9, 0.8]]))
print("registered", " ".join(sorted(registry.algorithms())))
"""


def test_example_plugins_import_and_run_in_a_container(tmp_path, profiles):
    """The example native plug-ins (plugins/), built as wheels here, install into the test image
    with no compiler and no Fortran runtime there, import and compute as the non-root user, and
    register their algorithms (what images/singleuser/Dockerfile builds in the Daisy image)."""
    import sys

    engine = _engine()
    numpy_wheels = list(WHEELS.glob("numpy-*.whl")) if WHEELS.is_dir() else []
    if not (ROOTFS.exists() and numpy_wheels):
        pytest.skip(
            f"no rootfs or no numpy wheel under {ART}: run images/testing/prepare-test-rootfs.sh "
            "(again: it now also downloads numpy), with network"
        )
    if subprocess.run([engine, "image", "exists", BASE], capture_output=True).returncode != 0:
        _run([engine, "import", str(ROOTFS), BASE])
    ctx = tmp_path / "ctx"
    wheels = ctx / "wheels"
    wheels.mkdir(parents=True)
    bin_dir = str(Path(sys.executable).parent)
    env = {**__import__("os").environ, "PATH": f"{bin_dir}:{__import__('os').environ['PATH']}"}
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-build-isolation", "--no-deps", "-w", str(wheels),
         str(REPO / "plugins" / "ringsort"), str(REPO / "plugins" / "deadtime")],
        capture_output=True, text=True, timeout=900, env=env,
    )  # fmt: skip
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
    shutil.copy(numpy_wheels[0], wheels)
    shutil.copytree(
        REPO / "daisy_widgets", ctx / "daisy_widgets", ignore=shutil.ignore_patterns("__pycache__")
    )
    (ctx / "Containerfile").write_text(
        PLUGINS_CONTAINERFILE.format(base=BASE, uid=profiles.NB_UID, gid=profiles.NB_GID)
    )
    _run(
        [
            engine,
            "build",
            "--network",
            "none",
            "-t",
            PLUGINS_IMAGE,
            "-f",
            str(ctx / "Containerfile"),
            str(ctx),
        ]
    )
    nofile = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    limits = ["--ulimit", f"nofile={nofile}:{nofile}", "--ulimit", "nproc=4096:4096"]
    out = _run(
        [engine, "run", "--rm", "--network", "none", *limits, PLUGINS_IMAGE, "python", "-c", PLUGINS_CHECK]
    )
    lines = dict(line.split(" ", 1) for line in out.strip().splitlines())
    assert lines["ringsort"] == "True"
    assert lines["deadtime"] == "True True"
    assert lines["registered"].split() == ["deadtime.correct_rates", "ringsort.remove_stripes"]
