"""Shared helpers for the Kubernetes deployment tests (no cluster needed)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
K8S = REPO / "hub_config" / "kubernetes"
SHARED = REPO.parent / "shared"
SCHEMA = SHARED / "k8s" / "z2jh-values.schema.yaml"


def load_module(name: str, path: Path):
    """Import a file that is not part of a package (hub_config/...)."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="session")
def profiles():
    return load_module("daisy_profiles", REPO / "hub_config" / "profiles.py")


@pytest.fixture(scope="session")
def render():
    return load_module("daisy_render_values", K8S / "render_values.py")


@pytest.fixture(scope="session")
def hub_hooks():
    return load_module("hub_hooks", K8S / "hub_hooks.py")


@pytest.fixture(scope="session")
def values():
    with open(K8S / "values.yaml") as f:
        return yaml.safe_load(f)
