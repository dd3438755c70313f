"""Importing the client is cheap: no Tiled, pandas, astropy or tomography until a function needs them."""

from __future__ import annotations

import subprocess
import sys


def test_import_does_not_load_heavy_libraries():
    code = (
        "import sys, daisy_widgets.store as s; "
        "heavy = [m for m in ('tiled', 'pandas', 'astropy', 'daisy_widgets.tomography', 'daisy_widgets.hxmt', "
        "'h5py', 'dask') if m in sys.modules]; print(heavy); assert not heavy, heavy; "
        "assert callable(s.search_observations) and callable(s.open_scan)"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr


def test_unknown_attribute():
    import daisy_widgets.store as s

    try:
        s.nothing_here  # noqa: B018
    except AttributeError as exc:
        assert "nothing_here" in str(exc)
    else:
        raise AssertionError("expected AttributeError")
