"""What the tomography app computes, without widgets: usable from a notebook or a test.

* :func:`preprocess_block` runs the enabled preprocessing steps on a block of
  detector rows (the same kernels and parameters as the workflow steps);
* :func:`trial_centres` / :func:`centre_sweep` make the row of small trial
  reconstructions around a centre estimate, with a sharpness score each;
* :func:`recon_options` turns the app's settings into the reconstruction chain's
  :class:`~daisy_widgets.tomography.pipeline.ReconOptions` plus per-step parameters;
* :func:`plain_error` turns any exception into a sentence for the page;
* :func:`default_data_dir` / :func:`find_sample_scan` locate the user's data.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ...core.errors import Cancelled, DaisyError, InputFileError, StepError, ValidationError

#: file endings the app lists (Data Exchange and NeXus)
SCAN_EXTENSIONS = (".h5", ".hdf5", ".hdf", ".nxs", ".nx")
#: file endings the open stage's browser lists: scans, and TIFFs (a single-page one opens its folder's series)
BROWSE_EXTENSIONS = SCAN_EXTENSIONS + (".tif", ".tiff")


@dataclass(frozen=True)
class PreprocessSettings:
    """Enabled preprocessing steps and their parameters (as the generated forms give them).

    Each of ``zingers``, ``phase``, ``stripes`` is None (off) or the parameter
    values of ``tomo.remove_zingers``, ``tomo.phase_retrieval``, ``tomo.remove_stripes``;
    ``normalize`` holds those of ``tomo.normalize``.
    """

    normalize: Mapping[str, Any] = field(default_factory=dict)
    zingers: Mapping[str, Any] | None = None
    phase: Mapping[str, Any] | None = None
    stripes: Mapping[str, Any] | None = None

    def key(self) -> str:
        """A stable text key (for caches)."""
        return json.dumps(
            {
                "n": dict(self.normalize),
                "z": None if self.zingers is None else dict(self.zingers),
                "p": None if self.phase is None else dict(self.phase),
                "s": None if self.stripes is None else dict(self.stripes),
            },
            sort_keys=True,
            default=str,
        )

    @property
    def needs_rows(self) -> bool:
        """Phase retrieval filters across rows: it needs neighbouring rows, not one row."""
        return self.phase is not None


def _check(token: Any) -> None:
    if token is not None and token.cancelled:
        raise Cancelled("superseded by a newer request")


def preprocess_block(
    block: Mapping[str, np.ndarray], settings: PreprocessSettings, token: Any = None
) -> np.ndarray:
    """Run the enabled preprocessing on a block of rows.

    Parameters
    ----------
    block
        ``{"projections": (angles, rows, cols), "flats": (n, rows, cols), "darks": ..., "flats_after": ...}``
        counts (as :meth:`~daisy_widgets.tomography.io.Scan.block` returns).
    settings
        Steps and parameters.
    token
        Optional cancel token, checked between the steps.

    Returns
    -------
    float32 (rows, angles, cols) sinograms, line integrals.
    """
    from ..preprocess import minus_log, normalize, paganin, remove_stripes, remove_zingers

    darks = block.get("darks")
    if darks is None:
        darks = np.zeros((1,) + block["projections"].shape[1:], np.float32)
    trans = normalize(
        block["projections"],
        block.get("flats"),
        darks,
        block.get("flats_after"),
        cutoff=settings.normalize.get("cutoff"),
    )
    _check(token)
    if settings.zingers is not None:
        trans = remove_zingers(
            trans, float(settings.zingers.get("threshold", 0.1)), int(settings.zingers.get("size", 3)) | 1
        )
        _check(token)
    if settings.phase is not None:
        p = settings.phase
        li = paganin(
            trans,
            float(p.get("pixel_size", 1.0)) * 1e-6,
            float(p.get("distance", 0.1)),
            float(p.get("energy", 25.0)),
            float(p.get("delta_beta", 1000.0)),
        )
    else:
        li = minus_log(trans)
    sino = np.ascontiguousarray(li.transpose(1, 0, 2))
    _check(token)
    s = settings.stripes
    if s is not None and s.get("method", "sorting") != "none":
        if s.get("method", "sorting") == "sorting":
            sino = remove_stripes(sino, "sorting", size=s.get("size"))
        else:
            sino = remove_stripes(sino, "fw", level=s.get("level"), sigma=float(s.get("sigma", 1.0)))
    return sino.astype(np.float32, copy=False)


def rows_around(row: int, n_rows: int, half: int) -> slice:
    """Rows ``row - half .. row + half`` clipped to the detector (at least ``2 * half + 1`` when possible)."""
    a = max(0, row - half)
    b = min(n_rows, a + 2 * half + 1)
    a = max(0, b - (2 * half + 1))
    return slice(a, b)


def preview_binning(width: int, choice: int = 0, target: int = 640) -> int:
    """Detector binning of the preview: ``choice`` if > 0, else the smallest power of 2 making ``width / b <= target``."""
    if choice > 0:
        return int(choice)
    b = 1
    while width / b > target:
        b *= 2
    return b


def bin_detector(sinogram: np.ndarray, center: float, b: int) -> tuple[np.ndarray, float]:
    """Average ``b`` neighbouring detector pixels of (angles, cols): (binned sinogram, centre in binned pixels).

    Line integrals keep their values; a slice reconstructed from the binned sinogram is in
    attenuation per *binned* pixel (divide by ``b`` for the original pixels).
    """
    if b <= 1:
        return sinogram, float(center)
    na, nd = sinogram.shape
    n = nd // b
    out = np.ascontiguousarray(sinogram[:, : n * b].reshape(na, n, b).mean(axis=2, dtype=np.float32))
    return out, (float(center) - (b - 1) / 2.0) / b


# ----------------------------------------------------------------------------- centre sweep
def trial_centres(estimate: float, n: int = 7, step: float = 1.0, width: int | None = None) -> np.ndarray:
    """``n`` centres spaced ``step`` px around ``estimate``, kept inside the detector (0..width-1)."""
    c = float(estimate) + (np.arange(n) - (n - 1) / 2.0) * float(step)
    if width is not None:
        c = c[(c >= 0) & (c <= width - 1)]
    return c


def sharpness(image: np.ndarray, bins: int = 256) -> float:
    """Image sharpness: minus the histogram entropy of the central disc (0.5-99.5 % clipped).

    Higher is sharper: a wrong centre smears edges into arcs and spreads the
    histogram, raising its entropy.
    """
    a = np.asarray(image, np.float64)
    n = min(a.shape)
    y, x = np.ogrid[: a.shape[0], : a.shape[1]]
    mask = ((x - (a.shape[1] - 1) / 2) ** 2 + (y - (a.shape[0] - 1) / 2) ** 2) <= (0.45 * n) ** 2
    v = a[mask]
    lo, hi = np.percentile(v, [0.5, 99.5])
    h, _ = np.histogram(np.clip(v, lo, hi), bins=bins, range=(lo, hi + 1e-12))
    p = h[h > 0] / h.sum()
    return float((p * np.log(p)).sum())


def centre_sweep(
    sinogram: np.ndarray,
    theta_rad: np.ndarray,
    centres: np.ndarray,
    *,
    filter: str = "ramp",
    thumb: int = 160,
    token: Any = None,
) -> list[dict[str, Any]]:
    """Reconstruct one slice at each trial centre (FBP).

    Returns one dict per centre: ``{"center", "image" (thumbnail <= thumb px, with ``filter``),
    "sharpness"}`` (:func:`sharpness` of the Hann-filtered slice: noise does not decide).
    """
    from .. import reconstruct

    out = []
    for c in centres:
        _check(token)
        img = reconstruct(sinogram, theta_rad, float(c), "fbp", filter)
        scored = img if filter == "hann" else reconstruct(sinogram, theta_rad, float(c), "fbp", "hann")
        step = max(1, int(np.ceil(img.shape[0] / thumb)))
        out.append({"center": float(c), "image": img[::step, ::step].copy(), "sharpness": sharpness(scored)})
    return out


# ----------------------------------------------------------------------------- volume options
def recon_options(
    settings: PreprocessSettings,
    *,
    center: float,
    algorithm: str,
    filter: str,
    backend: str,
    iterations: int = 50,
    align: bool = False,
    align_params: Mapping[str, Any] | None = None,
    circle: bool = False,
    block: int = 8,
) -> tuple[Any, dict[str, dict[str, Any]]]:
    """The chain's options and the extra parameters of each step id (from the forms)."""
    from ..pipeline import ReconOptions

    ap = dict(align_params or {})
    ph = dict(settings.phase or {})
    st = dict(settings.stripes or {})
    z = dict(settings.zingers or {})
    opts = ReconOptions(
        center=float(center),
        algorithm=algorithm,
        filter=filter,
        backend=backend,
        iterations=int(iterations),
        stripe=st.get("method", "none") if settings.stripes else "none",
        zingers=settings.zingers is not None,
        zinger_threshold=float(z.get("threshold", 0.1)),
        phase=settings.phase is not None,
        energy=float(ph.get("energy", 25.0)),
        distance=float(ph.get("distance", 0.1)),
        pixel_size=float(ph.get("pixel_size", 1.0)),
        delta_beta=float(ph.get("delta_beta", 1000.0)),
        align=align,
        align_iterations=int(ap.get("iterations", 20)),
        circle=circle,
        block=block,
    )
    extra: dict[str, dict[str, Any]] = {
        "normalize": {k: v for k, v in dict(settings.normalize).items() if v is not None}
    }
    if settings.zingers is not None:
        extra["zingers"] = dict(z)
    if settings.stripes is not None:
        extra["stripes"] = {k: v for k, v in st.items() if v is not None}
    if align:
        extra["align"] = {k: v for k, v in ap.items() if v is not None}
    return opts, extra


def build_recon_workflow(opts: Any, extra: Mapping[str, Mapping[str, Any]]) -> Any:
    """The standard chain (:func:`~daisy_widgets.tomography.pipeline.build_workflow`) with the forms' parameters."""
    from ..pipeline import build_workflow

    wf = build_workflow(opts)
    for step in wf.steps:
        if step.id in extra:
            step.params.update(extra[step.id])
    return wf


def volume_bytes(n_slices: int, n_angles: int, width: int) -> int:
    """Memory a volume run holds at its peak: input counts, two sinogram stages and the result (float32)."""
    return int(n_slices) * (3 * int(n_angles) * int(width) + int(width) ** 2) * 4


def check_memory(n_slices: int, n_angles: int, width: int, engine: str, available: int | None = None) -> None:
    """Refuse a volume that cannot fit: raise MemoryError in words before anything starts.

    ``available`` defaults to the memory free on this machine (the local Dask cluster
    shares it); a remote scheduler is not checked here.
    """
    if available is None:
        import psutil

        available = int(psutil.virtual_memory().available)
    need = volume_bytes(n_slices, n_angles, width)
    if need > 0.8 * available:
        per_slice = volume_bytes(1, n_angles, width)
        fit = max(1, int(0.8 * available // per_slice))
        raise MemoryError(
            f"{n_slices} slices need about {need / 2**30:.1f} GiB but {available / 2**30:.1f} GiB "
            f"are free; choose at most {fit} slices"
        )


# ----------------------------------------------------------------------------- words for errors
def plain_error(exc: BaseException) -> str:
    """One or two sentences telling the user what went wrong and what to do."""
    if isinstance(exc, StepError):
        return f"The step '{exc.step}' of the reconstruction failed: {plain_error(exc.cause)}"
    if isinstance(exc, Cancelled):
        return "Cancelled. Nothing partial was kept; the previous results are unchanged."
    if isinstance(exc, InputFileError):
        where = f" (in {exc.field})" if exc.field else ""
        found = f", but found {exc.found}" if exc.found else ""
        return f"This file cannot be used: {exc.path}{where}. Expected {exc.expected}{found}."
    if isinstance(exc, ValidationError):
        items = "; ".join(f"{k}: {', '.join(v)}" for k, v in exc.problems.items())
        return f"Some settings are not valid ({exc.owner}): {items}."
    if isinstance(exc, MemoryError) or type(exc).__name__ in ("OutOfMemoryError", "KilledWorker"):
        detail = f" ({exc})" if isinstance(exc, MemoryError) and str(exc) else ""
        return (
            f"Out of memory{detail}: the job needs more memory than this session has. Choose fewer slices, "
            "switch off motion correction, or ask for a bigger machine; your earlier results are kept."
        )
    if isinstance(exc, FileExistsError):
        return f"{exc}. Nothing was overwritten."
    if isinstance(exc, PermissionError):
        return f"Permission denied: {exc.filename or exc}. Choose a folder you can write to."
    if isinstance(exc, OSError):
        return f"File system error: {exc.strerror or exc} ({exc.filename or ''}). Nothing was damaged."
    if isinstance(exc, DaisyError):
        return str(exc)
    return f"Unexpected error ({type(exc).__name__}): {exc}"


# ----------------------------------------------------------------------------- data location
def default_data_dir() -> Path:
    """Where the user's scans are.

    The first existing of ``$DAISY_DATA_DIR``, ``~/data``, ``./data``, ``../data`` and the
    ``data/`` folder of the source checkout (where ``make demo`` writes the sample
    scan); else the home directory.
    """
    env = os.environ.get("DAISY_DATA_DIR")
    repo_data = Path(__file__).resolve().parents[3] / "data"
    candidates = ([Path(env)] if env else []) + [
        Path.home() / "data",
        Path.cwd() / "data",
        Path.cwd().parent / "data",
        repo_data,
    ]
    for c in candidates:
        if c.expanduser().is_dir():
            return c.expanduser().resolve()
    return Path.home()


def find_sample_scan(root: str | os.PathLike, depth: int = 2) -> Path | None:
    """The first scan under ``root`` (at most ``depth`` folders deep), preferring names with 'tomo'."""
    root = Path(root)
    found: list[Path] = []

    def walk(d: Path, level: int) -> None:
        try:
            items = sorted(d.iterdir())
        except OSError:
            return
        for p in items:
            if p.is_file() and p.name.lower().endswith(SCAN_EXTENSIONS) and not p.name.startswith("."):
                found.append(p)
            elif p.is_dir() and level < depth and not p.name.startswith("."):
                walk(p, level + 1)

    walk(root, 0)
    if not found:
        return None
    tomo = [p for p in found if "tomo" in p.name.lower()]
    return (tomo or found)[0]
