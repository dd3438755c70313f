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
