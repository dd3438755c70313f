"""The tomography app's long jobs: motion estimate, the volume as a workflow, saving.

:class:`VolumeJobs` is the part of :class:`~.controller.TomographyController`
that makes jobs for a :class:`~daisy_widgets.widgets.progress.JobProgress`:
each ``*_job`` method reads the model once and returns ``(job, done)``, where
``job(progress, cancel)`` runs in a background thread (progress events,
cancellable) and ``done(result)`` writes the result into the model. The stage
that owns the progress widget runs them; a script can run them with any
progress callable.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from .logic import build_recon_workflow, check_memory, preprocess_block, recon_options, rows_around
from .model import MotionResult, TomographyModel, VolumeResult

Job = tuple[Callable[[Any, Any], Any], Callable[[Any], None]]


class VolumeJobs:
    """Motion estimate, volume reconstruction and saving (a part of the controller)."""

    model: TomographyModel
    engine_kw: dict
    scheduler: str | None
    results_dir: Path

    # ================================================================== 5. motion
    def motion_job(self) -> Job:
        """A motion estimate on the preview row ± ``model.motion_rows`` rows with ``model.align_params``."""
        from ..align import align_projections

        m = self.model
        if m.scan is None:
            raise ValueError("open a scan first")
        scan, center, params = m.scan, m.center, dict(m.align_params)
        rows = rows_around(m.preview_row, scan.shape[1], int(m.motion_rows))

        def job(progress: Any, cancel: Any) -> MotionResult:
            from ...core.progress import ProgressEvent, estimate_eta

            settings = m.preprocess_settings()
            sino = preprocess_block(scan.block(rows), settings)  # (rows, angles, cols)
            t0 = time.monotonic()

            def inner(done: float, total: float, msg: str = "") -> None:
                el = time.monotonic() - t0
                frac = done / max(total, 1)
                progress(
                    ProgressEvent(
                        "motion", "align", 0, 1, int(done), int(total), frac, el, estimate_eta(frac, el), msg
                    )
                )

            out, shifts = align_projections(
                sino.transpose(1, 0, 2),
                scan.theta_rad,
                center,
                int(params["iterations"]),
                bool(params["vertical"]),
                progress=inner,
                cancelled=lambda: cancel.cancelled,
            )
            return MotionResult(rows, sino, np.ascontiguousarray(out.transpose(1, 0, 2)), shifts)

        def done(result: MotionResult) -> None:
            with m.hold_trait_notifications():
                m.motion = result
                m.aligned = (result.rows, result.after)
            rms = float(np.sqrt((result.shifts**2).sum(axis=1).mean()))
            m.say(
                f"Motion estimated on rows {result.rows.start}-{result.rows.stop - 1}: RMS {rms:.2f} px. "
                "Tick 'use the correction' to apply it."
            )
            m.motion_use = True

        return job, done

    # ================================================================== 7. volume
    def volume_job(self) -> tuple[Callable[[Any, Any], Any], Callable[[Any], None], str]:
        """The volume of the chosen slices as a workflow on the chosen engine: ``(job, done, title)``.

        Refuses (MemoryError in words) a volume that cannot fit before anything starts.
        """
        from ...core.datastore import DataStore
        from ...core.engine import run_workflow
        from ..pipeline import check_finite

        m = self.model
        if m.scan is None:
            raise ValueError("open a scan first")
        scan = m.scan
        na, nr, nc = scan.shape
        a, b = m.slices
        rows = slice(int(a), int(b) + 1)
        engine = m.engine
        check_memory(rows.stop - rows.start, na, nc, engine)
        settings = m.preprocess_settings()
        center = m.center_or_middle
        opts, extra = recon_options(
            settings,
            center=center,
            algorithm=m.recon_algorithm,
            filter=m.recon_filter,
            backend=m.backend,
            iterations=int(m.iterations),
            align=bool(m.motion_use),
            align_params=m.align_params,
            block=4,
        )
        wf = build_recon_workflow(opts, extra)
        params = {
            "algorithm": opts.algorithm,
            "filter": opts.filter,
            "backend": opts.backend,
            "center": float(center),
            "center_method": m.center_method or "detector middle",
            "iterations": opts.iterations,
            "slices": f"{rows.start}:{rows.stop}",
            "engine": engine,
            "motion_correction": opts.align,
            "preprocessing": settings.key(),
            "theta_units": "degrees",
            "software": "daisy_widgets.tomography.app",
        }
        engine_kw = dict(self.engine_kw) if engine == "dask" else {}
        scheduler = self.scheduler if engine == "dask" else None

        def job(progress: Any, cancel: Any) -> np.ndarray:
            from ...core.backend import to_numpy

            check_finite(scan, rows)
            store = DataStore()
            store["raw/projections"] = scan.projections[:, rows, :]
            store["raw/flats"] = scan.flats[:, rows, :]
            store["raw/darks"] = (
                scan.darks[:, rows, :]
                if scan.darks is not None
                else np.zeros((1, rows.stop - rows.start, nc), np.float32)
            )
            store["raw/theta"] = np.asarray(scan.theta, np.float64)
            result = run_workflow(
                wf, store, engine=engine, scheduler=scheduler, progress=progress, cancel=cancel, **engine_kw
            )
            rec = result.compute("out/recon")  # on Dask: each block straight from its worker
            return np.asarray(to_numpy(rec), np.float32)

        def done(vol: np.ndarray) -> None:
            m.say(
                f"Reconstructed {vol.shape[0]} slices of {vol.shape[1]}×{vol.shape[2]} px "
                f"({engine} engine). See '8 Result' to view and save."
            )
            m.volume = VolumeResult(vol, params, rows.start, scan.path)

        return job, done, f"Volume: {rows.stop - rows.start} slices on {engine}"

    # ================================================================== 8. save
    def default_save_path(self, fmt: str = "hdf5") -> str:
        """``<results_dir>/<scan stem>_recon.h5`` (HDF5), ``.nxs`` (NeXus) or ``..._recon_tiff`` (TIFF folder);
        "" with no scan."""
        if self.model.scan is None:
            return ""
        base = Path(self.results_dir) / f"{Path(self.model.scan.path.rstrip('/')).stem}_recon"
        return str(base) + {"hdf5": ".h5", "nexus": ".nxs"}.get(fmt, "_tiff")

    def _provenance(self, vol: Any) -> dict[str, Any]:
        """The input's provenance (layout, checksums of the rows reconstructed, versions) for the saved files."""
        from ..io import scan_provenance, software_versions

        scan = self.model.scan
        if scan is not None and str(scan.path) == str(vol.input_path):
            return scan_provenance(scan, slice(vol.first_slice, vol.first_slice + vol.data.shape[0]))
        return {"input": vol.input_path, "software": software_versions()}

    def save(self, path: str | os.PathLike, fmt: str = "hdf5", overwrite: bool = False) -> str:
        """Save the volume: HDF5 (``/exchange/data`` + parameters), NeXus (NXtomoproc) or a TIFF stack
        folder, each with the parameters and the input's provenance; returns the path.

        Files are written atomically; an existing file is replaced only with ``overwrite``.
        """
        from ..io import write_recon, write_recon_nexus, write_tiff_stack

        vol = self.model.volume
        if vol is None:
            raise ValueError("nothing to save yet: reconstruct a volume first")
        target = Path(os.path.expanduser(str(path).strip()))
        if not str(path).strip():
            raise ValueError("type a file name to save to")
        for p in (target.parent, *target.parent.parents):
            if p.exists() and not p.is_dir():
                raise NotADirectoryError(20, "a file is in the way where a folder is needed", str(p))
        if fmt not in ("hdf5", "nexus", "tiff"):
            raise ValueError(f"unknown format {fmt!r}: expected 'hdf5', 'nexus' or 'tiff'")
        if fmt in ("hdf5", "nexus"):
            suffixes = (".h5", ".hdf5") if fmt == "hdf5" else (".nxs", ".nx", ".h5")
            if target.suffix.lower() not in suffixes:
                target = target.with_suffix(suffixes[0])
            if target.exists() and not overwrite:
                raise FileExistsError(f"{target} exists already; tick 'overwrite' or choose another name")
            target.parent.mkdir(parents=True, exist_ok=True)
            writer = write_recon if fmt == "hdf5" else write_recon_nexus
            writer(
                target,
                vol.data,
                params=vol.params,
                input_path=vol.input_path,
                first_slice=vol.first_slice,
                provenance=self._provenance(vol),
            )
        else:
            if target.exists() and any(target.iterdir()) and not overwrite:
                raise FileExistsError(
                    f"{target} holds files already; tick 'overwrite' or choose another folder"
                )
            meta = {"parameters": vol.params, "provenance": self._provenance(vol)}
            files = write_tiff_stack(target, vol.data, prefix="slice", first=vol.first_slice, metadata=meta)
            self.model.say(f"Saved {len(files)} TIFF slices.")
        out = str(target)
        self.model.saved_paths = [*self.model.saved_paths, out]
        self.model.say(f"Saved to {out}")
        return out


__all__ = ["VolumeJobs"]
