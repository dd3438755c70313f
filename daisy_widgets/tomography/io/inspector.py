"""``daisy tomo inspect``: what is in a scan file, and the command that reads it.

For a known layout (Data Exchange, NXtomo) the summary the app shows; for any
other HDF5/NeXus file the candidate 3-D frame datasets (shape, dtype,
chunking, where external links point), 1-D angle-like and key-like arrays, a
best-guess :class:`~.layout.Layout` and the ``daisy tomo recon`` command line;
for TIFF input the series of files found and the guessed flats, darks and angle list.
"""

from __future__ import annotations

import glob
import os
import re
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from ...core.errors import InputFileError
from .layout import Layout, recon_command
from .tiff import expand, scan_pages, series_groups

ANGLE_NAMES = re.compile(r"rot|angle|theta|omega|phi", re.I)
KEY_NAMES = re.compile(r"key|image_type|frame_type", re.I)
FLAT_NAMES = re.compile(r"flat|white|bright|ref", re.I)
DARK_NAMES = re.compile(r"dark|background", re.I)
#: 1-D arrays longer than this are not read for values
MAX_READ = 1_000_000


@dataclass
class Candidate:
    """One dataset (or file series) that could be a part of the scan."""

    name: str
    shape: list[int]
    dtype: str
    chunks: list[int] | None = None
    link: str = ""
    note: str = ""


@dataclass
class Inspection:
    """What :func:`inspect_scan` found. ``layout`` + :meth:`command` read the file."""

    path: str
    kind: str  # dxchange | nxtomo | tiff | unknown
    layout: Layout
    summary: list[tuple[str, str]] = field(default_factory=list)
    frames: list[Candidate] = field(default_factory=list)
    angles: list[Candidate] = field(default_factory=list)
    keys: list[Candidate] = field(default_factory=list)
    references: list[Candidate] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def command(self, output: str | None = None) -> str:
        return recon_command(self.path, self.layout, output)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["layout"] = self.layout.to_dict()
        d["command"] = self.command()
        return d

    def text(self) -> str:
        known = {"dxchange": "Data Exchange", "nxtomo": "NeXus NXtomo", "tiff": "TIFF stack"}
        lines = [
            f"file: {self.path}",
            f"layout: {known.get(self.kind, 'not a known layout (neither Data Exchange nor NXtomo)')}",
        ]
        lines += [f"  {k}: {v}" for k, v in self.summary]
        for title, cands in (
            ("frame datasets (3-D)", self.frames),
            ("angle-like arrays (1-D)", self.angles),
            ("key-like arrays (1-D)", self.keys),
            ("flat/dark candidates", self.references),
        ):
            if cands:
                lines.append(f"{title}:")
                for c in cands:
                    extra = "  ".join(
                        x
                        for x in (
                            f"chunks {tuple(c.chunks)}" if c.chunks else "",
                            c.link,
                            c.note,
                        )
                        if x
                    )
                    lines.append(f"  {c.name}  {tuple(c.shape)} {c.dtype}  {extra}".rstrip())
        lines += [f"problem: {p}" for p in self.problems]
        lines += ["command:", f"  {self.command()}"]
        return "\n".join(lines)


def scan_summary(scan: Any) -> list[tuple[str, str]]:
    """The rows the app shows for an open scan: projections, angles, flats, darks, metadata (plain text)."""
    na, nr, nc = scan.shape
    th = np.asarray(scan.theta)
    step = float(np.median(np.diff(th))) if na > 1 else 0.0
    counts = (getattr(scan, "layout", None) or {}).get("counts", {})
    rows = [
        ("projections", f"{na} angles x {nr} rows x {nc} columns ({scan.projections.dtype})"),
        ("angles", f"{th.min():.2f} .. {th.max():.2f} deg (step {step:.3f} deg)"),
        (
            "flats",
            "none"
            if scan.flats is None
            else f"{scan.flats.shape[0]} frames"
            + ("" if scan.flats_after is None else f" + {scan.flats_after.shape[0]} after the scan"),
        ),
        ("darks", "none" if scan.darks is None else f"{scan.darks.shape[0]} frames"),
    ]
    if counts.get("invalid"):
        rows.append(("invalid frames", f"{counts['invalid']} dropped (image key 3)"))
    for k in ("energy", "pixel_size", "distance", "sample_name", "title"):
        if k in scan.metadata:
            rows.append((k, str(scan.metadata[k])))
    return rows


def _link_text(link: Any, path: str) -> str:
    import h5py

    if isinstance(link, h5py.ExternalLink):
        full = (
            link.filename
            if os.path.isabs(link.filename)
            else os.path.join(os.path.dirname(path), link.filename)
        )
        ok = "" if os.path.exists(full) else " (MISSING)"
        return f"external link -> {link.filename}:{link.path}{ok}"
    if isinstance(link, h5py.SoftLink):
        return f"soft link -> {link.path}"
    return ""


def _values_note(d: Any) -> tuple[str, np.ndarray | None]:
    if d.size > MAX_READ:
        return "", None
    v = np.asarray(d[()]).ravel()
    if v.size == 0:
        return "empty", v
    units = d.attrs.get("units", d.attrs.get("unit", None))
    units = units.decode() if isinstance(units, bytes) else units
    if v.dtype.kind in "iub":
        vals, counts = np.unique(v, return_counts=True)
        if vals.size <= 6:
            return "values " + ", ".join(f"{int(a)}: {int(b)}" for a, b in zip(vals, counts, strict=True)), v
    return f"{float(v.min()):.4g} .. {float(v.max()):.4g}" + (f" ({units})" if units else " (no units)"), v


def _inspect_hdf5(path: str, insp: Inspection) -> None:
    import h5py

    from .hdf5 import open_h5, walk

    values: dict[str, np.ndarray] = {}
    with open_h5(path) as f:
        for name, link, obj in walk(f):
            ltext = _link_text(link, path)
            if obj is None:
                insp.problems.append(f"{name}: broken link ({ltext or 'target missing'})")
                continue
            if not isinstance(obj, h5py.Dataset) or obj.dtype.kind not in "uifb":
                continue
            c = Candidate(
                name, list(obj.shape), str(obj.dtype), list(obj.chunks) if obj.chunks else None, ltext
            )
            if obj.ndim == 3 and min(obj.shape[1:]) >= 2:
                insp.frames.append(c)
                if FLAT_NAMES.search(name.rsplit("/", 1)[-1]) or DARK_NAMES.search(name.rsplit("/", 1)[-1]):
                    insp.references.append(c)
            elif obj.ndim == 1 and obj.shape[0] >= 2:
                c.note, v = _values_note(obj)
                if v is None:
                    continue
                if v.dtype.kind in "iub" and set(np.unique(v).tolist()) <= {-1, 0, 1, 2, 3}:
                    insp.keys.append(c)
                    values[name] = v
                elif v.dtype.kind == "f" or ANGLE_NAMES.search(name):
                    insp.angles.append(c)
                    values[name] = v
    insp.frames.sort(key=lambda c: (-int(np.prod(c.shape)), c.name.rsplit("/", 1)[-1] != "data"))
    _guess_hdf5(insp, values)


def _guess_hdf5(insp: Inspection, values: dict[str, np.ndarray]) -> None:
    lay = insp.layout
    frames = [c for c in insp.frames if c not in insp.references] or insp.frames
    if not frames:
        insp.problems.append("no 3-D dataset of frames (frames, rows, columns) in the file")
        return
    lay.data = frames[0].name
    n = frames[0].shape[0]
    keys = sorted((c for c in insp.keys if c.shape[0] == n), key=lambda c: not KEY_NAMES.search(c.name))
    n_proj = n
    if keys:
        lay.image_key = keys[0].name
        n_proj = int((values[keys[0].name] == 0).sum())
    angles = sorted(
        (c for c in insp.angles if c.shape[0] in (n, n_proj)), key=lambda c: not ANGLE_NAMES.search(c.name)
    )
    if angles:
        lay.angles = angles[0].name
        if "no units" in angles[0].note:
            v = values[angles[0].name]
            lay.angles_unit = "rad" if float(np.ptp(v)) <= 2 * np.pi * 1.001 else "deg"
    else:
        lay.angles = f"0:180:{n_proj}"
        insp.problems.append(
            f"no angle array of length {n} or {n_proj}: the command guesses {lay.angles} (check it)"
        )
    has_flats = bool(keys) and bool((values[keys[0].name] == 1).any())
    if not has_flats:
        flats = [c for c in insp.references if FLAT_NAMES.search(c.name.rsplit("/", 1)[-1])]
        darks = [c for c in insp.references if DARK_NAMES.search(c.name.rsplit("/", 1)[-1])]
        lay.flats = [flats[0].name] if flats else _beside(insp.path, FLAT_NAMES)
        lay.darks = [darks[0].name] if darks else _beside(insp.path, DARK_NAMES)
        if not lay.flats:
            insp.problems.append(
                "no flat fields found (image key 1 or a flat dataset): add --flats FILE_OR_PATH"
            )


def _beside(path: str, pattern: re.Pattern) -> list[str] | None:
    """HDF5/TIFF files beside ``path`` whose names match ``pattern`` (separate flat/dark files)."""
    folder = os.path.dirname(path)
    names = sorted(
        n
        for n in os.listdir(folder)
        if pattern.search(n) and n.lower().endswith((".h5", ".hdf5", ".nxs", ".tif", ".tiff"))
    )
    return [os.path.join(folder, n) for n in names] or None


def _inspect_tiff(spec: str, insp: Inspection) -> None:
    files = expand(spec)
    if not files:
        raise InputFileError(
            spec, "", "a folder of TIFFs, a glob matching TIFFs, or a TIFF file", "no TIFF files"
        )
    groups = series_groups(files)
    for pattern, members in groups.items():
        try:
            refs, shape, dtype = scan_pages(members[:1])
            note = f"{len(members)} file(s), {len(refs)} page(s) in the first"
        except InputFileError as exc:
            shape, dtype, note = (), "?", str(exc)
        c = Candidate(pattern, [len(members), *shape], str(dtype), None, "", note)
        (insp.references if FLAT_NAMES.search(pattern) or DARK_NAMES.search(pattern) else insp.frames).append(
            c
        )
    lay = insp.layout
    lay.kind = "tiff"
    n = 0
    if insp.frames:
        n = len(groups[insp.frames[0].name])
        if len(files) == 1:
            n = len(scan_pages(files)[0])
    folder = spec if os.path.isdir(spec) else os.path.dirname(files[0])
    for c in insp.references:
        target = "flats" if FLAT_NAMES.search(c.name) else "darks"
        setattr(lay, target, [c.name])
    texts = sorted(glob.glob(os.path.join(folder, "*.txt")) + glob.glob(os.path.join(folder, "*.dat")))
    for t in texts:
        try:
            from .frames import read_angle_text

            v = read_angle_text(t)
        except InputFileError:
            continue
        insp.angles.append(
            Candidate(os.path.basename(t), [v.size], "text", None, "", f"{v.min():.4g} .. {v.max():.4g}")
        )
        if v.size == n and lay.angles is None:
            lay.angles = os.path.basename(t) if os.path.isdir(spec) else t
            lay.angles_unit = "rad" if float(np.ptp(v)) <= 2 * np.pi * 1.001 else "deg"
    if lay.angles is None:
        lay.angles = f"0:180:{n}"
        insp.problems.append(
            f"no text file of {n} angles beside the TIFFs: the command guesses {lay.angles} (check it)"
        )
    if lay.flats is None:
        insp.problems.append("no flat-field TIFFs found (names with flat/white/ref): add --flats FILES")
    insp.summary.append(("files", f"{len(files)} TIFF file(s) in {len(groups)} series ({', '.join(groups)})"))


def inspect_scan(path: str | os.PathLike) -> Inspection:
    """Inspect a scan file (HDF5/NeXus or TIFF): summary, candidates, layout and command.

    Never raises for an unknown layout (that is what it is for); an unreadable
    file raises :class:`~daisy_widgets.core.errors.InputFileError`.
    """
    from .readers import is_tiff_input, read_scan, standard_layout

    p = os.fspath(path)
    if is_tiff_input(p):
        insp = Inspection(p, "tiff", Layout(kind="tiff"))
        _inspect_tiff(p, insp)
        return insp
    p = os.path.abspath(p)
    std = standard_layout(p)
    if std is not None:
        insp = Inspection(p, std.kind, Layout(kind=std.kind))
        try:
            scan = read_scan(p, validate=True)
            insp.summary = scan_summary(scan)
            return insp
        except InputFileError as exc:
            insp.problems.append(f"as {std.kind}: {exc}")
            insp.kind = "unknown"
    insp = Inspection(p, "unknown", Layout(kind="paths"))
    _inspect_hdf5(p, insp)
    return insp
