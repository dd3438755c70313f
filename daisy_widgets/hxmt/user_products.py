"""The user's own products, for the app and notebooks: check fit inputs field by field, read
light curves and event files into :class:`~.products.LightCurve`, power spectra, folded models.

Nothing here imports a widget. Problems are returned keyed by field (``spectrum``,
``background``, ``response``, ``arf``, ``band``, ``lightcurve``, ``events``) so a form can show
each next to its field.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .fit_data import DataFiles, load_data
from .fit_result import FitResult
from .ogip import OGIPError, read_arf, read_pha, read_rmf
from .products import LightCurve

SPECTRUM_SUFFIXES = (".pha", ".pi", ".fits", ".fit", ".fts", ".pha.gz", ".bkg")
RESPONSE_SUFFIXES = (".rsp", ".rmf", ".fits")
ARF_SUFFIXES = (".arf", ".fits")
LIGHTCURVE_SUFFIXES = (".lc", ".fits", ".fit")


def find_files(
    root: str | Path, suffixes: tuple[str, ...], max_depth: int = 4, limit: int = 500
) -> list[Path]:
    """Files under ``root`` (at most ``max_depth`` folders down, hidden ones skipped) whose names end
    with one of ``suffixes`` (case-insensitive), sorted, at most ``limit``."""
    root = Path(root)
    out: list[Path] = []
    stack = [(root, 0)]
    while stack and len(out) < limit:
        d, depth = stack.pop()
        try:
            entries = sorted(d.iterdir())
        except OSError:
            continue
        for p in entries:
            if p.name.startswith("."):
                continue
            if p.is_dir():
                if depth < max_depth:
                    stack.append((p, depth + 1))
            elif p.name.lower().endswith(suffixes):
                out.append(p)
                if len(out) >= limit:
                    break
    return sorted(out)


def check_fit_inputs(
    spectrum: str,
    background: str = "",
    response: str = "",
    arf: str = "",
    band: tuple[float, float] | None = None,
) -> dict[str, str]:
    """Every problem with the fit's inputs at once, keyed by field (empty when the fit can run).

    Empty ``background``/``response``/``arf``: from the spectrum's keywords.
    """
    problems: dict[str, str] = {}
    if not spectrum.strip():
        return {"spectrum": "pick a spectrum (PHA) file"}
    try:
        pha = read_pha(spectrum)
    except OGIPError as exc:
        return {"spectrum": str(exc)}
    checks = (("background", background, read_pha), ("response", response, read_rmf), ("arf", arf, read_arf))
    for field, path, reader in checks:
        if path.strip():
            try:
                obj = reader(path)
            except OGIPError as exc:
                problems[field] = str(exc)
                continue
            n = getattr(obj, "n_channels", None)
            if n is not None and n != pha.n_channels:
                problems[field] = f"{path} has {n} channels but the spectrum has {pha.n_channels}"
    if band is not None and not band[0] < band[1]:
        problems["band"] = f"the band {band[0]:g}-{band[1]:g} keV is empty (low must be below high)"
    if problems:
        return problems
    files = DataFiles(
        Path(spectrum),
        Path(background) if background.strip() else None,
        Path(response) if response.strip() else None,
        Path(arf) if arf.strip() else None,
        band,
    )
    try:
        load_data(files)
    except OGIPError as exc:
        msg = str(exc)
        field = (
            "band"
            if "band" in msg or "no counts" in msg or "no good channel" in msg
            else "background"
            if "BACKFILE" in msg or msg.startswith("background")
            else "arf"
            if "ANCRFILE" in msg or "ancillary" in msg
            else "response"
            if "RESPFILE" in msg or "response" in msg
            else "spectrum"
        )
        problems[field] = msg
    return problems


def read_lightcurve(path: str | Path) -> LightCurve:
    """An OGIP light curve (``RATE`` extension: ``TIME`` and ``RATE`` or ``COUNTS``, ``ERROR``,
    ``FRACEXP``; ``TIMEDEL``; ``GTI`` if present) as a :class:`~.products.LightCurve`."""
    from astropy.io import fits

    p = Path(path)
    if not p.is_file():
        raise OGIPError(f"{p}: no such light-curve file")
    try:
        hl = fits.open(p, memmap=False)
    except (OSError, ValueError) as exc:
        raise OGIPError(f"{p}: not a FITS file ({exc})") from None
    with hl:
        h = next(
            (x for x in hl[1:] if x.name.upper() == "RATE" or x.header.get("HDUCLAS1") == "LIGHTCURVE"), None
        )
        if h is None:
            names = ", ".join(x.name for x in hl[1:]) or "none"
            raise OGIPError(f"{p}: no RATE extension (an OGIP light curve); extensions found: {names}")
        cols = [c.upper() for c in h.columns.names]
        if "TIME" not in cols or not ({"RATE", "COUNTS"} & set(cols)):
            raise OGIPError(
                f"{p}[{h.name}]: needs TIME and RATE or COUNTS columns; found {', '.join(h.columns.names)}"
            )
        t = np.asarray(h.data["TIME"], float)
        dt = float(h.header.get("TIMEDEL", np.median(np.diff(t)) if t.size > 1 else 1.0))
        frac = np.asarray(h.data["FRACEXP"], float) if "FRACEXP" in cols else np.ones(t.size)
        live = np.asarray(h.data["LIVETIME"], float) if "LIVETIME" in cols else np.ones(t.size)
        if "RATE" in cols:
            rate = np.asarray(h.data["RATE"], float)
            counts = (
                np.asarray(h.data["COUNTS"], float) if "COUNTS" in cols else np.round(rate * dt * frac * live)
            )
        else:
            counts = np.asarray(h.data["COUNTS"], float)
            rate = counts / (dt * np.maximum(frac * live, 1e-9))
        err = np.asarray(h.data["ERROR"], float) if "ERROR" in cols else np.sqrt(np.maximum(counts, 1)) / dt
        if "GTI" in hl:
            g = hl["GTI"].data
            gti = np.stack([np.asarray(g["START"], float), np.asarray(g["STOP"], float)], -1)
        else:
            gti = np.array([[t[0] - dt / 2, t[-1] + dt / 2]]) if t.size else np.zeros((0, 2))
        inst = str(h.header.get("INSTRUME", ""))
    return LightCurve(t, counts, rate, err, frac, live, dt, gti, inst)


def lightcurve_from_events(path: str | Path, dt: float) -> LightCurve:
    """Bin an OGIP event file (``EVENTS``: ``TIME``; ``GTI``) into a light curve of ``dt`` s bins."""
    from astropy.io import fits

    from .products import bin_edges, fast_lightcurve_counts

    p = Path(path)
    if not dt > 0:
        raise OGIPError(f"bin size must be > 0 s; got {dt}")
    if not p.is_file():
        raise OGIPError(f"{p}: no such event file")
    try:
        hl = fits.open(p, memmap=False)
    except (OSError, ValueError) as exc:
        raise OGIPError(f"{p}: not a FITS file ({exc})") from None
    with hl:
        if "EVENTS" not in hl:
            names = ", ".join(x.name for x in hl[1:]) or "none"
            raise OGIPError(f"{p}: no EVENTS extension; extensions found: {names}")
        if "TIME" not in [c.upper() for c in hl["EVENTS"].columns.names]:
            raise OGIPError(f"{p}[EVENTS]: no TIME column")
        t = np.sort(np.asarray(hl["EVENTS"].data["TIME"], float))
        if "GTI" in hl and len(hl["GTI"].data):
            g = hl["GTI"].data
            gti = np.stack([np.asarray(g["START"], float), np.asarray(g["STOP"], float)], -1)
        else:
            gti = np.array([[t[0], t[-1]]]) if t.size else np.zeros((0, 2))
        inst = str(hl["EVENTS"].header.get("INSTRUME", ""))
    if t.size == 0 or gti.size == 0:
        raise OGIPError(f"{p}: no events")
    edges, good = bin_edges(gti, dt)
    counts = fast_lightcurve_counts(t, edges[0], dt, len(edges) - 1).astype(float)
    keep = good > 1e-9
    frac = good[keep] / dt
    c = counts[keep]
    rate = c / (dt * frac)
    return LightCurve(
        0.5 * (edges[:-1] + edges[1:])[keep],
        c,
        rate,
        np.sqrt(np.maximum(c, 1)) / (dt * frac),
        frac,
        np.ones(c.size),
        dt,
        gti,
        inst,
    )


def power_spectrum_of(lc: LightCurve, segment: float) -> dict:
    """Leahy power spectrum averaged over ``segment``-second stretches of full bins inside the GTIs."""
    from .timing import power_spectrum

    nseg = int(round(segment / lc.dt))
    if nseg < 4:
        raise OGIPError(f"segment {segment} s holds fewer than 4 bins of {lc.dt} s")
    full = lc.fracexp > 0.999
    powers, freqs = [], None
    idx = np.flatnonzero(full)
    # runs of consecutive full bins
    breaks = np.flatnonzero(np.diff(idx) != 1)
    for run in np.split(idx, breaks + 1):
        for a in range(0, run.size - nseg + 1, nseg):
            freqs, p = power_spectrum(lc.counts[run[a : a + nseg]], lc.dt)
            powers.append(p)
    if not powers:
        raise OGIPError(f"no stretch of {segment} s of full bins in the good time")
    return {"frequency": freqs, "power": np.mean(powers, axis=0), "n_segments": len(powers)}


def folded_spectrum(result: FitResult, j: int = 0) -> dict[str, np.ndarray]:
    """Data set ``j`` of a fit, per noticed group: energy bounds (keV), net rate and its error,
    the folded model (count/s/keV) and the residuals (data - model) / error."""
    from .fit_models import get_model

    d = result.data[j]
    m = get_model(result.model)
    shape = tuple(result.parameters[n][0] for n in m.shape_names)
    c = 1.0 if j == 0 else result.cross_normalisations[j - 1][1]
    mu = d.exposure * (m.flux(shape, result.norm * c, d.energ_lo, d.energ_hi) @ d.response)
    width = d.exposure * (d.e_hi - d.e_lo)
    net = d.S - d.alpha * d.B
    err = np.sqrt(np.maximum(d.var_s, 1.0))
    return {
        "e_lo": d.e_lo,
        "e_hi": d.e_hi,
        "rate": net / width,
        "error": err / width,
        "model": mu / width,
        "residual": (net - mu) / err,
    }
