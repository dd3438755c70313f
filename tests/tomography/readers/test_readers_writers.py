"""Writing for the next tool: NeXus (NXtomoproc) and TIFF stacks, with parameters and provenance."""

from __future__ import annotations

import hashlib
import json

import h5py
import numpy as np
import pytest

from daisy_widgets.cli import main
from daisy_widgets.tomography import io


def _sha(a: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(a.astype(a.dtype.newbyteorder("<"))).tobytes()).hexdigest()


def _recon(layouts, tmp_path, *extra):
    return main(["tomo", "recon", str(layouts.ref), "--slices", "1:3", "--center", "31.5", "--quiet", *extra])


def test_nexus_output(layouts, tmp_path):
    h5 = tmp_path / "r.h5"
    nx = tmp_path / "r.nxs"
    assert _recon(layouts, tmp_path, "-o", str(h5)) == 0
    assert _recon(layouts, tmp_path, "-o", str(nx), "--format", "nexus", "--filter", "ramp") == 0
    with h5py.File(h5) as f:
        expected = f["/exchange/data"][()]
        prov_h5 = json.loads(f["/provenance"][()])
    with h5py.File(nx) as f:
        assert f.attrs["default"] == "entry" and f["/entry"].attrs["default"] == "data"
        assert f["/entry/definition"][()] == b"NXtomoproc"
        data = f["/entry/data"]
        assert data.attrs["NX_class"] == "NXdata" and data.attrs["signal"] == "data"
        assert list(data.attrs["axes"]) == ["slice", "y", "x"]
        np.testing.assert_array_equal(data["slice"][()], [1, 2])
        np.testing.assert_array_equal(data["data"][()], expected)
        assert data["data"].attrs["units"] == "1/pixel"
        proc = f["/entry/reconstruction"]
        assert proc.attrs["NX_class"] == "NXprocess" and proc["program"][()] == b"daisy_widgets.tomography"
        params = proc["parameters"]
        assert params["raw_file"][()].decode() == str(layouts.ref)
        assert params["algorithm"][()] == b"fbp" and params["center"][()] == 31.5
        assert params["slices"][()] == b"1:3"
        prov = json.loads(proc["provenance/data"][()])
    for p in (prov, prov_h5):
        sums = p["checksums"]
        assert sums["projections"]["sha256"] == _sha(layouts.projections[:, 1:3])  # the rows read, as stored
        assert sums["flats"]["sha256"] == _sha(layouts.flats[:, 1:3])
        assert sums["darks"]["sha256"] == _sha(layouts.darks[:, 1:3])
        assert sums["theta_degrees"]["sha256"] == _sha(np.asarray(layouts.theta_deg, np.float64))
        assert p["input"] == str(layouts.ref) and p["layout"]["kind"] == "dxchange"
        assert {"python", "numpy", "h5py", "tifffile", "daisy-widgets"} <= set(p["software"])
    vol, params = io.read_recon(nx)
    np.testing.assert_array_equal(vol, expected)
    assert io.read_provenance(nx)["checksums"] == prov["checksums"]


def test_tiff_output_from_a_tiff_input(layouts, tmp_path):
    tifffile = pytest.importorskip("tifffile")
    out = tmp_path / "slices"
    args = [str(layouts.tiff), "--angles", "angles.txt", "--flats", "flat*.tif", "--darks", "dark*.tif"]
    rc = main(
        [
            "tomo",
            "recon",
            *args,
            "--slices",
            "1:3",
            "--center",
            "31.5",
            "--quiet",
            "-o",
            str(out),
            "--format",
            "tiff",
        ]
    )
    assert rc == 0
    files = sorted(out.glob("*.tif"))
    assert [f.name for f in files] == ["slice_00001.tif", "slice_00002.tif"]
    h5 = tmp_path / "r.h5"
    assert _recon(layouts, tmp_path, "-o", str(h5)) == 0
    with h5py.File(h5) as f:
        expected = f["/exchange/data"][()]
    for k, f in enumerate(files):
        np.testing.assert_allclose(tifffile.imread(f), expected[k], rtol=1e-5, atol=1e-6)
        meta = io.read_provenance(f)
        assert meta["slice"] == k + 1 and meta["units"] == "1/pixel"
        assert meta["parameters"]["algorithm"] == "fbp" and meta["parameters"]["center"] == 31.5
        prov = meta["provenance"]
        assert prov["layout"]["kind"] == "tiff" and prov["layout"]["angles"] == "angles.txt"
        assert prov["layout"]["counts"] == {"projections": 90, "files": 90}
        assert prov["checksums"]["projections"]["sha256"] == _sha(layouts.projections[:, 1:3])
        assert prov["checksums"]["flats"]["source"].endswith("flat_3.tif")


def test_refused_format_writes_nothing(layouts, tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["tomo", "recon", str(layouts.ref), "-o", str(tmp_path / "x"), "--format", "xml"])
    assert not (tmp_path / "x").exists()
    from daisy_widgets.core.errors import ValidationError
    from daisy_widgets.tomography.pipeline import ReconOptions, run_reconstruction

    with pytest.raises(ValidationError, match="--format"):
        run_reconstruction(layouts.ref, tmp_path / "x", ReconOptions(), output_format="xml")
    assert not (tmp_path / "x").exists()
