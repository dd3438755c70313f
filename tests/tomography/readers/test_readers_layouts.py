"""Every layout reads the phantom's counts exactly and reconstructs to the Data Exchange file's volume."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from daisy_widgets.cli import main
from daisy_widgets.core.errors import InputFileError
from daisy_widgets.tomography import io
from daisy_widgets.tomography.io import Layout


def _np(a):
    return np.asarray(a.compute() if hasattr(a, "compute") else a)


def test_nexus_external_link_image_key_flats_before_and_after(layouts, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the external link resolves beside the file, not from here
    lay = Layout(
        data="/entry/imaging/data",
        image_key="/entry/instrument/imaging/image_key",
        angles="/entry/sample/positioner/rot",
    )
    scan = io.read_scan(layouts.nexus, layout=lay)
    assert hasattr(scan.projections, "dask")
    assert scan.projections.shape == layouts.projections.shape
    np.testing.assert_array_equal(_np(scan.projections), layouts.projections)  # key-3 frames dropped
    np.testing.assert_array_equal(_np(scan.flats), layouts.flats)
    np.testing.assert_array_equal(_np(scan.flats_after), layouts.flats)
    np.testing.assert_array_equal(_np(scan.darks), layouts.darks)
    np.testing.assert_allclose(scan.theta, layouts.theta_deg)  # per-frame angles selected by the key
    assert scan.layout["counts"] == {
        "projections": 90,
        "flats_before": 4,
        "flats_after": 4,
        "darks": 3,
        "invalid": 2,
    }
    assert scan.metadata["sample_name"] == "phantom"
    # the dask array reads the detector file directly
    assert any(str(layouts.detector) in str(k) for k in scan.projections.dask)


def test_nexus_through_an_independent_reader(layouts):
    """algotom (through h5py, which follows the link itself) sees the same frames."""
    loadersaver = pytest.importorskip("algotom.io.loadersaver")
    frames = loadersaver.load_hdf(str(layouts.nexus), "/entry/imaging/data")[:]
    key = h5py.File(layouts.nexus)["/entry/instrument/imaging/image_key"][()]
    scan = io.read_scan(
        layouts.nexus,
        data="/entry/imaging/data",
        image_key="/entry/instrument/imaging/image_key",
        angles="/entry/sample/positioner/rot",
    )
    np.testing.assert_array_equal(_np(scan.projections), frames[key == 0])


@pytest.mark.parametrize("inner", [None, "/flat/data"])
def test_separate_flat_and_dark_files_radians(layouts, inner):
    folder = layouts.separate.parent
    lay = Layout(
        data="/measurement/frames",
        angles="/measurement/rotation",
        flats=[str(folder / "flats.h5")],
        darks=["darks.h5"],  # relative: found beside the scan
        flats_path=inner,
    )
    scan = io.read_scan(layouts.separate, layout=lay)
    np.testing.assert_allclose(scan.theta, layouts.theta_deg, atol=1e-10)  # units = rad converted
    np.testing.assert_array_equal(_np(scan.flats), layouts.flats)
    np.testing.assert_array_equal(_np(scan.darks), layouts.darks)
    assert scan.flats_after is None


def test_tiff_folder_in_the_order_of_the_numbers(layouts):
    names = [f.name for f in layouts.tiff_files]
    assert names.index("proj_10.tif") == names.index("proj_6.tif") + 1 and "proj_7.tif" not in names  # gaps
    assert sorted(names) != names  # letter order differs from number order (proj_10 < proj_2)
    lay = Layout(kind="tiff", angles="angles.txt", flats=["flat*.tif"], darks=["dark*.tif"])
    scan = io.read_scan(layouts.tiff, layout=lay)
    assert hasattr(scan.projections, "dask") and scan.projections.dtype == np.uint16
    np.testing.assert_array_equal(_np(scan.projections), layouts.projections)
    np.testing.assert_array_equal(_np(scan.projections[:, 1:3]), layouts.projections[:, 1:3])  # rows only
    np.testing.assert_array_equal(_np(scan.flats), layouts.flats)
    np.testing.assert_array_equal(_np(scan.darks), layouts.darks)
    np.testing.assert_allclose(scan.theta, layouts.theta_deg)
    # an independent reader of the same files, in the same (numeric) order
    loadersaver = pytest.importorskip("algotom.io.loadersaver")
    for k in (0, 7, 8, 89):
        np.testing.assert_array_equal(
            _np(scan.projections[k]), loadersaver.load_image(str(layouts.tiff_files[k]))
        )


def test_multipage_tiff_with_a_radian_range(layouts):
    stop = np.deg2rad(layouts.theta_deg[-1])
    lay = Layout(
        kind="tiff", angles=f"0:{float(stop)!r}:90", angles_unit="rad", flats=["flat.tif"], darks=["dark.tif"]
    )
    scan = io.read_scan(layouts.multipage, layout=lay)
    np.testing.assert_array_equal(_np(scan.projections), layouts.projections)
    np.testing.assert_allclose(scan.theta, layouts.theta_deg, atol=1e-9)
    assert scan.flats.shape == (1, 4, 64) and scan.flats.dtype == np.float32


def _recon(args, out):
    assert main(["tomo", "recon", *args, "-o", str(out), "--center", "31.5", "--quiet"]) == 0
    with h5py.File(out) as f:
        return f["/exchange/data"][()]


@pytest.fixture(scope="module")
def reference_volume(layouts, tmp_path_factory):
    vol = _recon([str(layouts.ref)], tmp_path_factory.mktemp("ref") / "ref_recon.h5")
    assert vol.shape == (4, 64, 64) and np.isfinite(vol).all() and vol.max() > 0.01
    return vol


@pytest.mark.parametrize(
    "layout_name", ["nexus", "separate", "tiff", "tiff_glob", "multipage", "nexus_range"]
)
def test_each_layout_reconstructs_to_the_data_exchange_volume(
    layouts, nexus_args, reference_volume, layout_name, tmp_path
):
    d = layouts
    stop = d.theta_deg[-1]
    args = {
        "nexus": [str(d.nexus), *nexus_args],
        "nexus_range": [  # per-projection angles generated, the image key still picks the frames
            str(d.nexus),
            "--data",
            "/entry/imaging/data",
            "--image-key",
            "/entry/instrument/imaging/image_key",
            "--angles",
            f"0:{float(stop)!r}:90",
        ],
        "separate": [
            str(d.separate),
            "--data",
            "/measurement/frames",
            "--angles",
            "/measurement/rotation",
            "--flats",
            str(d.separate.parent / "flats.h5"),
            "--darks",
            str(d.separate.parent / "darks.h5"),
        ],
        "tiff": [str(d.tiff), "--angles", "angles.txt", "--flats", "flat*.tif", "--darks", "dark*.tif"],
        "tiff_glob": [
            str(d.tiff / "proj_*.tif"),
            "--angles",
            str(d.tiff / "angles.txt"),
            "--flats",
            *[str(d.tiff / f"flat_{i}.tif") for i in range(4)],  # as a shell expands a glob
            "--darks",
            str(d.tiff / "dark_*.tif"),
        ],
        "multipage": [
            str(d.multipage),
            "--angles",
            f"0:{float(np.deg2rad(stop))!r}:90",
            "--angles-unit",
            "rad",
            "--flats",
            "flat.tif",
            "--darks",
            "dark.tif",
        ],
    }[layout_name]
    vol = _recon(args, tmp_path / "out.h5")
    np.testing.assert_allclose(
        vol, reference_volume, rtol=1e-4, atol=1e-5 * float(np.abs(reference_volume).max())
    )


def test_center_command_takes_the_layout_options(layouts, nexus_args, capsys):
    assert main(["tomo", "center", str(layouts.nexus), *nexus_args, "--method", "vo"]) == 0
    found = float(capsys.readouterr().out.split()[1])
    assert abs(found - 31.5) < 1.0


def test_standard_file_with_options_keeps_its_other_paths(layouts, reference_volume, tmp_path):
    """A Data Exchange file whose theta is in radians without a units attribute (as some scripts save it):
    ``--angles-unit rad`` alone reads it; data, flats and darks keep their Data Exchange paths."""
    import shutil

    p = tmp_path / "rad.h5"
    shutil.copy(layouts.ref, p)
    with h5py.File(p, "a") as f:
        del f["/exchange/theta"]
        f["/exchange/theta"] = np.deg2rad(layouts.theta_deg)
    with pytest.raises(InputFileError) as e:  # not read as degrees in silence
        io.read_scan(p)
    assert e.value.field == "/exchange/theta" and "looks like radians" in e.value.found
    assert "--angles-unit" in e.value.expected
    vol = _recon([str(p), "--angles-unit", "rad"], tmp_path / "r.h5")
    np.testing.assert_allclose(
        vol, reference_volume, rtol=1e-4, atol=1e-5 * float(np.abs(reference_volume).max())
    )
