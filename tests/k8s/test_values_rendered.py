"""The committed deployment files are exactly what the one profile definition renders."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
K8S = REPO / "hub_config" / "kubernetes"


def test_committed_files_equal_rendering(render):
    files = render.render_all()
    assert set(files) >= {
        "values.yaml",
        "dask/daskcluster-cpu.yaml",
        "dask/daskcluster-gpu.yaml",
        "tiled/tiled.yaml",
        "dask/rbac.yaml",
    }
    stale = [rel for rel, text in files.items() if (K8S / rel).read_text() != text]
    assert not stale, f"re-run hub_config/kubernetes/render_values.py: {stale}"


def test_check_mode_reports_a_stale_file(render, tmp_path, capsys):
    assert render.main(["--out-dir", str(tmp_path)]) == 0
    assert render.main(["--out-dir", str(tmp_path), "--check"]) == 0
    (tmp_path / "values.yaml").write_text("hub: {}\n")
    assert render.main(["--out-dir", str(tmp_path), "--check"]) == 1
    assert "values.yaml" in capsys.readouterr().err


def test_site_options_change_images_and_names(render):
    files = render.render_all(registry="reg.facility.org/x", tag="9.9", release="beam")
    v = yaml.safe_load(files["values.yaml"])
    assert v["singleuser"]["image"] == {
        "name": "reg.facility.org/x/daisy-singleuser",
        "tag": "9.9",
        "pullPolicy": "IfNotPresent",
    }
    gpu = next(p for p in v["singleuser"]["profileList"] if p["slug"] == "gpu")
    assert gpu["kubespawner_override"]["image"] == "reg.facility.org/x/daisy-singleuser-gpu:9.9"
    assert (
        v["hub"]["extraEnv"]["DAISY_TILED_MASTER_KEY"]["valueFrom"]["secretKeyRef"]["name"]
        == "beam-tiled-api-key"
    )
    assert "DAISY_TILED_API_KEY" not in v["singleuser"]["extraEnv"]  # users get their own key (hub hook)
    assert "reg.facility.org/x/daisy-singleuser:9.9" in files["tiled/tiled.yaml"]  # the service runs on it
    assert "beam-tiled-api-key" in files["tiled/tiled.yaml"]


def test_numbers_are_not_copied_into_other_sources(profiles):
    """Profile sizes appear in profiles.py only, not hand-written in another committed source."""
    sizes = set()
    for p in profiles.PROFILES:
        sizes.add(f"{p.resources.memory_gb:g}G")
    others = [
        REPO / "hub_config" / "kubernetes" / "hub_hooks.py",
        REPO / "hub_config" / "kubernetes" / "render_values.py",
    ]
    jh = REPO / "hub_config" / "jupyterhub_config.py"
    if jh.exists():
        others.append(jh)
    for path in others:
        text = path.read_text()
        for s in sizes:
            assert not re.search(rf"['\"]{s}['\"]", text), f"{path.name} repeats {s}"
        for p in profiles.PROFILES:
            assert p.display_name not in text, f"{path.name} repeats {p.display_name!r}"


def test_display_names_match_the_issue(profiles):
    assert [p.display_name for p in profiles.PROFILES] == [
        "CPU (4 cores, 16 GB)",
        "GPU (1 NVIDIA GPU, 8 cores, 64 GB)",
        "Voila app only",
    ]


def test_no_secret_values_in_rendered_files(render):
    for rel, text in render.render_all().items():
        docs = [d for d in yaml.safe_load_all(text) if d]
        for d in docs:
            if isinstance(d, dict) and d.get("kind") == "Secret":
                raise AssertionError(f"{rel} defines a Secret; Secrets are created by the operator")
        assert not re.search(r"(?i)(password|api[_-]?key|token)\s*:\s*['\"]?[A-Za-z0-9+/]{16,}", text), rel
