"""The HXMT app's state in its address: ``?target=Crab&products=<folder of a job's products>``.

``target`` fills the search field (and searches); ``products`` reopens a products folder
written by the app or by ``daisy hxmt pipeline`` (``X_spec.pha``, ``X_lc.fits``, ...): the
results stage shows its light curve, spectrum and profile read back from the OGIP files
(:func:`read_products`). :func:`follow_state` keeps the app's
:class:`~daisy_widgets.widgets.url_state.CopyLink` on the job shown. A link naming a folder
the user cannot read says so, and the app stays usable.
"""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np

from ...widgets.url_state import CopyLink
from ..mission import INSTRUMENTS
from ..products import LightCurve, Spectrum
from .messages import say
from .runner import summarize


def _instrument_of(folder: Path) -> str:
    for x in INSTRUMENTS:
        if (folder / f"{x}_spec.pha").is_file():
            return x
    raise FileNotFoundError(
        f"{folder}: expected the products of a pipeline run (HE_spec.pha, ME_spec.pha or LE_spec.pha)"
    )


def _lightcurve(path: Path, instrument: str, kind: str) -> LightCurve | None:
    from astropy.io import fits

    if not path.is_file():
        return None
    with fits.open(path, memmap=False) as hl:
        d, h = hl["RATE"].data, hl["RATE"].header
        gti = np.column_stack([hl["GTI"].data["START"], hl["GTI"].data["STOP"]]).astype(float)
        return LightCurve(
            time=np.asarray(d["TIME"], float),
            counts=np.asarray(d["COUNTS"]),
            rate=np.asarray(d["RATE"], float),
            error=np.asarray(d["ERROR"], float),
            fracexp=np.asarray(d["FRACEXP"], float),
            live=np.asarray(d["LIVETIME"], float),
            dt=float(h["TIMEDEL"]),
            gti=gti,
            instrument=instrument,
            kind=kind,
        )


def _spectrum(path: Path, instrument: str, kind: str) -> tuple[Spectrum | None, dict]:
    from astropy.io import fits

    if not path.is_file():
        return None, {}
    with fits.open(path, memmap=False) as hl:
        d, h = hl["SPECTRUM"].data, hl["SPECTRUM"].header
        gti = np.column_stack([hl["GTI"].data["START"], hl["GTI"].data["STOP"]]).astype(float)
        meta = {k.lower(): h[k] for k in ("OBS_ID", "EXP_ID", "OBJECT") if k in h}
        sp = Spectrum(
            np.asarray(d["COUNTS"]), float(h["EXPOSURE"]), float(h["BACKSCAL"]), instrument, kind, gti
        )
        return sp, meta


def read_products(folder: str | os.PathLike) -> tuple[str, str, dict[str, Any]]:
    """A products folder read back as a job's results: ``(key, label, results)``.

    ``key`` is ``<ExpID>/<instrument>``; ``results`` has what the results stage draws
    (``lc``, ``bkg_lc``, ``spectrum``, ``bkg_spectrum``, ``profile``, ``gti``, ``files``,
    ``summary``, ...), as the runner gives it after a run.
    """
    from astropy.io import fits

    folder = Path(folder)
    x = _instrument_of(folder)
    spectrum, meta = _spectrum(folder / f"{x}_spec.pha", x, "TOTAL")
    bkg_spectrum, _ = _spectrum(folder / f"{x}_bkg.pha", x, "BKG")
    profile = None
    if (folder / f"{x}_profile.fits").is_file():
        d, h = fits.getdata(folder / f"{x}_profile.fits", "PROFILE", header=True)
        profile = SimpleNamespace(
            phase=np.asarray(d["PHASE"], float),
            counts=np.asarray(d["COUNTS"], float),
            error=np.asarray(d["ERROR"], float),
            frequency=float(h.get("FREQ", np.nan)),
        )
    n_events = 0
    if (folder / f"{x}_screen.fits").is_file():
        with fits.open(folder / f"{x}_screen.fits", memmap=False) as hl:
            n_events = int(hl["EVENTS"].header.get("NAXIS2", 0))
    out: dict[str, Any] = {
        "lc": _lightcurve(folder / f"{x}_lc.fits", x, "TOTAL"),
        "bkg_lc": _lightcurve(folder / f"{x}_bkg_lc.fits", x, "BKG"),
        "spectrum": spectrum,
        "bkg_spectrum": bkg_spectrum,
        "profile": profile,
        "pds": None,
        "gti": spectrum.gti if spectrum is not None else np.zeros((0, 2)),
        "files": [str(p) for p in sorted(folder.iterdir()) if p.is_file()],
        "meta": meta,
        "n_events": n_events,
        "ehk_range": None,
    }
    out["summary"] = summarize(out)
    exp_id = str(meta.get("exp_id") or folder.parent.name)
    label = f"{meta.get('object', '')} {exp_id} {x} (reopened)".strip()
    return f"{exp_id}/{x}", label, out


def _unreadable(path: Path) -> str | None:
    if not path.exists():
        return f"{path} does not exist (or is not visible to you)"
    if not os.access(path, os.R_OK | os.X_OK):
        return f"you do not have permission to read {path}"
    return None


def open_products(app: Any, folder: str | os.PathLike) -> str | None:
    """Show a products folder in the results stage; returns the job key, or None (and a message)."""
    path = Path(os.path.expanduser(str(folder)))
    why = _unreadable(path)
    if why is None:
        try:
            key, label, res = read_products(path)
        except Exception as exc:
            why = str(exc)
    if why is not None:
        say(app.stages["search"].search_message, f"The shared products cannot be opened: {why}", error=True)
        return None
    app.model.job_labels[key] = label
    app.model.update_results({key: res}, {})
    say(app.stages["search"].search_message, f"Reopened {label} from {path}.")
    return key


def apply_state(app: Any, params: dict[str, str]) -> None:
    """What opening a shared link does: fill the search (``target``) and reopen ``products``."""
    if params.get("target"):
        app.stages["search"].target.value = params["target"]
    if params.get("products"):
        open_products(app, params["products"])


def state_of(app: Any) -> dict[str, Any]:
    """The app's shareable state: the search's target and the products folder of the job shown."""
    m = app.model
    res = m.results.get(m.shown) if m.shown else None
    files = res.get("files") if res else None
    return {
        "target": app.stages["search"].target.value or None,
        "products": str(Path(files[0]).parent) if files else None,
    }


def follow_state(app: Any, link: CopyLink) -> None:
    """Keep ``link`` (and the address bar) on the app's current state."""

    def update(_change: Any = None) -> None:
        link.set_state(state_of(app))

    app.model.observe(update, names=["shown", "results_version"])
    app.stages["search"].target.observe(update, names="value")
    update()


__all__ = ["apply_state", "follow_state", "open_products", "read_products", "state_of"]
