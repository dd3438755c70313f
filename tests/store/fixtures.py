"""Small data folders in the missions' layouts, written here (HXMT Level-1 FITS, Data Exchange, NXtomo)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

#: (target, ObsID suffix, RA, Dec, start UTC, duration s, instruments)
OBSERVATIONS = [
    ("Crab", "01", 83.63308, 22.0145, "2018-03-01T00:10:00", 3000, ("HE", "ME", "LE")),
    ("Crab", "02", 83.63308, 22.0145, "2018-03-02T12:00:00", 2000, ("HE",)),
    ("CRAB offset", "03", 84.13, 22.0145, "2018-03-05T00:00:00", 1000, ("LE",)),  # 0.4636 deg from the Crab
    ("Vela X-1", "04", 135.52858, -40.55469, "2018-04-10T06:00:00", 5000, ("HE", "ME")),
    ("Cyg X-1", "05", 299.59032, 35.20161, "2019-01-01T00:00:00", 4000, ("HE", "ME", "LE")),
    ("Wrap East", "06", 359.9, 1.0, "2019-02-01T00:00:00", 1000, ("HE",)),
    ("Wrap West", "07", 0.1, 1.0, "2019-02-02T00:00:00", 1000, ("HE",)),
    ("Polaris field", "08", 37.95, 89.26, "2019-03-01T00:00:00", 1000, ("ME",)),
    ("Swift_J1756.9-2508", "09", 269.2375, -25.1128, "2019-04-01T00:00:00", 1000, ("HE",)),
]
PROGRAM = "P01012990"
FOLDERS = {"HE-Evt": "HE", "ME-Evt": "ME", "LE-Evt": "LE", "Att": "ACS", "Orbit": "ACS", "EHK": "AUX"}


def mission_time(iso: str) -> float:
    from astropy.time import Time

    return float((Time(iso, scale="utc").tt.mjd - 55927 - 7.6601852e-4) * 86400.0)


def obs_ids() -> dict[str, str]:
    return {f"{PROGRAM}{o[1]}": o[0] for o in OBSERVATIONS}


def write_l1_exposure(
    root: Path,
    target: str,
    obs_id: str,
    ra: float,
    dec: float,
    start: str,
    duration: float,
    instruments: tuple[str, ...],
    seed: int = 0,
) -> Path:
    """One exposure ``<root>/<ObsID>/<ExpID>-<date>-01-01/{HE,ME,LE,ACS,AUX}/HXMT_<ExpID>_<kind>_FFFFFF_V1_L1P.FITS``."""
    from astropy.io import fits
    from astropy.time import Time, TimeDelta

    exp_id = obs_id + "01"
    t0 = mission_time(start)
    end = (Time(start, scale="utc") + TimeDelta(duration, format="sec")).isot[:19]
    folder = root / obs_id / f"{exp_id}-{start[:10].replace('-', '')}-01-01"
    rng = np.random.default_rng(seed)
    kinds = [f"{i}-Evt" for i in instruments] + ["Att", "Orbit", "EHK"]
    for kind in kinds:
        hdr = fits.Header()
        for k, v in (
            ("TELESCOP", "HXMT"),
            ("OBJECT", target),
            ("RA_OBJ", ra),
            ("DEC_OBJ", dec),
            ("OBS_ID", obs_id),
            ("EXP_ID", exp_id),
            ("DATE-OBS", start),
            ("DATE-END", end),
            ("TSTART", t0),
            ("TSTOP", t0 + duration),
            ("EXPOSURE", float(duration)),
            ("DATA_VER", "V1"),
            ("INSTLIST", ",".join(instruments)),
        ):
            hdr[k] = v
        n = 64
        cols = [
            fits.Column("Time", "D", array=np.sort(t0 + rng.uniform(0, duration, n))),
            fits.Column("Channel", "I", array=rng.integers(0, 256, n).astype(np.int16)),
        ]
        table = fits.BinTableHDU.from_columns(cols, name="Events" if kind.endswith("Evt") else kind.upper())
        d = folder / FOLDERS[kind]
        d.mkdir(parents=True, exist_ok=True)
        fits.HDUList([fits.PrimaryHDU(header=hdr), table]).writeto(
            d / f"HXMT_{exp_id}_{kind}_FFFFFF_V1_L1P.FITS"
        )
    return folder


def write_dx_scan(path: Path, shape=(48, 6, 40), seed: int = 1) -> np.ndarray:
    """A Data Exchange scan (chunks (8, rows, cols)) with energy, pixel size and sample name; returns the data."""
    import h5py

    rng = np.random.default_rng(seed)
    data = rng.uniform(100, 1000, shape).astype(np.float32)
    path.parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(path, "w") as f:
        ex = f.create_group("exchange")
        ex.create_dataset("data", data=data, chunks=(8,) + shape[1:])
        ex.create_dataset("data_white", data=np.full((3,) + shape[1:], 1200, np.float32))
        ex.create_dataset("data_dark", data=np.full((2,) + shape[1:], 10, np.float32))
        th = ex.create_dataset("theta", data=np.linspace(0, 180, shape[0], endpoint=False))
        th.attrs["units"] = "degrees"
        f.create_dataset("measurement/instrument/monochromator/energy", data=30.0)
        f.create_dataset("measurement/instrument/detector/pixel_size_x", data=6.5e-7)
        f.create_dataset("measurement/sample/name", data="limestone core")
    return data


def write_nx_scan(path: Path, shape=(30, 5, 24), seed: int = 2) -> np.ndarray:
    """A NeXus NXtomo scan: 2 darks, 2 flats, projections; returns the projections."""
    import h5py

    rng = np.random.default_rng(seed)
    proj = rng.uniform(100, 1000, shape).astype(np.float32)
    frames = np.concatenate(
        [np.full((2,) + shape[1:], 5, np.float32), np.full((2,) + shape[1:], 1500, np.float32), proj]
    )
    keys = np.array([2, 2, 1, 1] + [0] * shape[0], np.int8)
    ang = np.concatenate([[0, 0, 0, 0], np.linspace(0, 180, shape[0], endpoint=False)])
    with h5py.File(path, "w") as f:
        e = f.create_group("entry")
        e.attrs["NX_class"] = "NXentry"
        e.create_dataset("definition", data="NXtomo")
        det = e.create_group("instrument/detector")
        det.create_dataset("data", data=frames, chunks=(1,) + shape[1:])
        det.create_dataset("image_key", data=keys)
        det.create_dataset("x_pixel_size", data=1.3e-6)
        e.create_dataset("instrument/source/energy", data=17.5)
        a = e.create_dataset("sample/rotation_angle", data=ang)
        a.attrs["units"] = "degree"
        e.create_dataset("sample/name", data="gecko tooth")
    return proj


def write_data_folder(root: Path) -> dict:
    """The test data folder: every exposure of :data:`OBSERVATIONS`, a DX scan, an NXtomo scan, a stray file."""
    for i, (target, suffix, ra, dec, start, dur, insts) in enumerate(OBSERVATIONS):
        write_l1_exposure(root / "hxmt", target, PROGRAM + suffix, ra, dec, start, dur, insts, seed=i)
    dx = write_dx_scan(root / "tomography" / "dx_scan.h5")
    nx = write_nx_scan(root / "tomography" / "nx_scan.nxs")
    (root / "tomography" / "notes.txt").write_text("not a scan\n")
    (root / "tomography" / "broken.h5").write_bytes(b"not hdf5 at all")
    return {"dx": dx, "nx": nx}
