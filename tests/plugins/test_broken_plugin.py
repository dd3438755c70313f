"""A plug-in whose compiled extension fails to import is listed by ``daisy algorithms`` as broken,
with the import error, and everything else keeps working."""

from __future__ import annotations

import importlib.machinery
import json

import h5py
import numpy as np

from daisy_widgets.core.workflow import Step, Workflow


def _broken_native_plugin(site):
    """An installed plug-in ``badext`` whose ``_core`` extension is not a loadable shared library
    (as after a build for another platform or a truncated copy)."""
    pkg = site / "badext"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "algorithms.py").write_text(
        "from daisy_widgets.core import Algorithm\nfrom . import _core\n\n"
        "class Scale(Algorithm):\n    name = 'badext.scale'\n\nALGORITHMS = [Scale]\n"
    )
    suffix = importlib.machinery.EXTENSION_SUFFIXES[0]
    (pkg / f"_core{suffix}").write_bytes(b"this is not a shared library\n" * 8)
    info = site / "daisy_plugin_badext-0.1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: daisy-plugin-badext\nVersion: 0.1.0\n")
    (info / "entry_points.txt").write_text("[daisy.algorithms]\nbadext = badext.algorithms\n")


def test_broken_extension_is_listed_and_the_rest_works(tmp_path, daisy_cli):
    site = tmp_path / "site"
    _broken_native_plugin(site)
    listed = daisy_cli("algorithms", site=site)
    assert listed.returncode == 0, listed.stderr
    out = listed.stdout
    head, _, broken = out.partition("broken plug-ins (skipped):")
    assert "daisy-plugin-badext:badext = badext.algorithms" in broken
    assert "ImportError" in broken and "invalid ELF header" in broken
    assert "badext.scale" not in head
    for name in ("core.scale", "tomo.remove_stripes", "hxmt.gtigen", "ringsort.remove_stripes"):
        assert f"\n{name} " in "\n" + head, name
    as_json = json.loads(daisy_cli("algorithms", "--json", site=site).stdout)
    assert any("invalid ELF header" in e for e in as_json["broken_plugins"].values())

    # a workflow of other algorithms still runs in the same environment
    with h5py.File(tmp_path / "in.h5", "w") as f:
        f["data"] = np.arange(6.0)
    step = Step("scale", "core.scale", {"factor": 2.0}, {"data": "raw"}, {"data": "out"})
    Workflow("ok", [step], persist=["out"]).save(tmp_path / "wf.json")
    ran = daisy_cli(
        "workflow", "run", str(tmp_path / "wf.json"), "-q", "--input", f"raw={tmp_path / 'in.h5'}:/data",
        "--output", str(tmp_path / "out.h5"), site=site,
    )  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    with h5py.File(tmp_path / "out.h5") as f:
        np.testing.assert_array_equal(f["out"][()], 2 * np.arange(6.0))
    # and asking for the broken one says it is unknown, without a traceback
    bad = daisy_cli("algorithms", "badext.scale", site=site)
    assert bad.returncode == 1 and "unknown algorithm 'badext.scale'" in bad.stderr
    assert "Traceback" not in bad.stderr
