"""One data set of a spectral fit: a spectrum with its background and response, checked and
reduced to the groups of channels noticed in an energy band.

Files come from the spectrum's ``BACKFILE``/``RESPFILE``/``ANCRFILE`` keywords (resolved next to
the spectrum) unless given explicitly (needed when they say ``NONE``, as HXMTDAS writes them).
Channels are noticed as Sherpa's ``notice(lo, hi)`` does: a channel whose bounds touch the band is
in, and channels with ``QUALITY`` != 0 are out (XSPEC's default, Sherpa's ``ignore_bad()``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .ogip import ARF, OGIPError, PHASpectrum, Response, read_arf, read_pha, read_rmf


@dataclass
class DataFiles:
    """The files of one data set and its band (keV). ``background``/``response``/``arf`` None: from
    the spectrum's keywords."""

    spectrum: Path
    background: Path | None = None
    response: Path | None = None
    arf: Path | None = None
    band: tuple[float, float] | None = None
    label: str = ""


def _referenced(pha: PHASpectrum, explicit: Path | None, keyword: str, option: str) -> Path | None:
    if explicit is not None:
        return Path(explicit)
    name = getattr(pha, keyword.lower())
    if name is None:
        return None
    p = Path(name.split("{")[0].split("[")[0])
    p = p if p.is_absolute() else pha.path.parent / p
    if not p.is_file():
        raise OGIPError(f"{pha.path}: {keyword} = '{name}' but {p} does not exist; give {option} FILE")
    return p


@dataclass
class FitData:
    """A data set reduced to its noticed groups.

    Attributes
    ----------
    files
        The resolved files (background, response, arf filled in).
    energ_lo, energ_hi
        Photon energy grid of the response (keV), shape (n_energy,).
    response
        Response of each group, cm2 (matrix x ARF x AREASCAL summed over the group's channels),
        shape (n_energy, n_groups).
    exposure
        Source exposure (s).
    S, B
        Source and background counts per group, shape (n_groups,) (B zeros without background).
    alpha
        Background scaling to the source spectrum per group, shape (n_groups,) (0 without background).
    sigma_b
        1-sigma error of B (counts) per group: ``STAT_ERR`` or ``sqrt(B)`` (at least 1).
    var_s
        Variance of S per group: ``STAT_ERR^2`` or S.
    e_lo, e_hi
        Energy bounds of each group (keV), shape (n_groups,).
    grouping
        OGIP GROUPING of all channels used (n_channels,), for tools that take it (Sherpa).
    """

    files: DataFiles
    energ_lo: np.ndarray
    energ_hi: np.ndarray
    response: np.ndarray
    exposure: float
    S: np.ndarray
    B: np.ndarray
    alpha: np.ndarray
    sigma_b: np.ndarray
    var_s: np.ndarray
    e_lo: np.ndarray
    e_hi: np.ndarray
    grouping: np.ndarray
    has_background: bool
    background_is_gaussian: bool

    @property
    def n_groups(self) -> int:
        return int(self.S.size)


def _as_array(x, n: int) -> np.ndarray:
    return np.broadcast_to(np.asarray(x, float), (n,)).astype(float)


def _group_labels(counts: np.ndarray, min_counts: int) -> np.ndarray:
    """Group index per channel: each group at least ``min_counts`` counts, a short tail merged back."""
    labels = np.zeros(counts.size, int)
    g, acc = 0, 0.0
    for i, c in enumerate(counts):
        labels[i] = g
        acc += c
        if acc >= min_counts and i < counts.size - 1:
            g, acc = g + 1, 0.0
    if acc < min_counts and g > 0:
        labels[labels == g] = g - 1
    return labels


def load_data(
    files: DataFiles, group_min_counts: int | None = None
) -> tuple[FitData, PHASpectrum, Response, ARF | None, PHASpectrum | None]:
    """Read and check one data set; refuse with an :class:`OGIPError` that names files and counts.

    ``group_min_counts``: group the noticed channels to at least this many source counts (a
    ``GROUPING`` column in the spectrum is used otherwise; without either, one channel a group).
    """
    pha = read_pha(files.spectrum)
    bkg_path = _referenced(pha, files.background, "BACKFILE", "--background")
    rsp_path = _referenced(pha, files.response, "RESPFILE", "--response")
    arf_path = _referenced(pha, files.arf, "ANCRFILE", "--arf")
    if rsp_path is None:
        raise OGIPError(f"{pha.path}: RESPFILE = NONE and no response given; give --response FILE")
    rmf = read_rmf(rsp_path)
    if rmf.n_channels != pha.n_channels:
        raise OGIPError(
            f"response {rsp_path} has {rmf.n_channels} channels but spectrum {pha.path} has {pha.n_channels}"
        )
    arf = None
    matrix = rmf.matrix
    if arf_path is not None:
        arf = read_arf(arf_path)
        if arf.specresp.size != rmf.energ_lo.size or not np.allclose(arf.energ_lo, rmf.energ_lo, rtol=1e-4):
            raise OGIPError(
                f"ancillary response {arf_path} has {arf.specresp.size} energy bins "
                f"({arf.energ_lo[0]:.4g}-{arf.energ_hi[-1]:.4g} keV) but response {rsp_path} has "
                f"{rmf.energ_lo.size} ({rmf.energ_lo[0]:.4g}-{rmf.energ_hi[-1]:.4g} keV): not the same grid"
            )
        matrix = matrix * arf.specresp[:, None]
    bkg = None
    if bkg_path is not None:
        bkg = read_pha(bkg_path)
        if bkg.n_channels != pha.n_channels:
            raise OGIPError(
                f"background {bkg_path} has {bkg.n_channels} channels but spectrum {pha.path} has {pha.n_channels}"
            )
    n = pha.n_channels
    lo_keV, hi_keV = files.band if files.band is not None else (float(rmf.e_min[0]), float(rmf.e_max[-1]))
    if not lo_keV < hi_keV:
        raise OGIPError(f"band {lo_keV}-{hi_keV} keV is empty: the lower bound must be below the upper")
    if lo_keV > rmf.e_max.max() or hi_keV < rmf.e_min.min():
        raise OGIPError(
            f"band {lo_keV:g}-{hi_keV:g} keV is outside the channels of response {rsp_path} "
            f"({rmf.e_min.min():.4g}-{rmf.e_max.max():.4g} keV)"
        )
    if lo_keV > rmf.energ_hi[-1] or hi_keV < rmf.energ_lo[0]:
        raise OGIPError(
            f"band {lo_keV:g}-{hi_keV:g} keV is outside the photon energies of response {rsp_path} "
            f"({rmf.energ_lo[0]:.4g}-{rmf.energ_hi[-1]:.4g} keV)"
        )
    good = (pha.quality == 0) & (rmf.e_max >= lo_keV) & (rmf.e_min <= hi_keV)
    if bkg is not None:
        good &= bkg.quality == 0
    sel = np.flatnonzero(good)
    if sel.size == 0:
        raise OGIPError(f"{pha.path}: no good channel (QUALITY = 0) in {lo_keV:g}-{hi_keV:g} keV")
    if pha.counts[sel].sum() <= 0:
        raise OGIPError(f"{pha.path}: no counts in {lo_keV:g}-{hi_keV:g} keV ({sel.size} channels)")
    if group_min_counts is not None:
        labels = _group_labels(pha.counts[sel], int(group_min_counts))
    elif pha.grouping is not None:
        starts = (pha.grouping[sel] == 1) | (np.arange(sel.size) == 0)
        labels = np.cumsum(starts) - 1
    else:
        labels = np.arange(sel.size)
    ng = int(labels.max()) + 1
    grouping = np.ones(n, np.int16)
    cont = np.zeros(n, bool)
    cont[sel[1:]] = labels[1:] == labels[:-1]
    grouping[cont] = -1
    G = np.zeros((sel.size, ng))
    G[np.arange(sel.size), labels] = 1.0
    areascal = _as_array(pha.areascal, n)[sel]
    rg = (matrix[:, sel] * areascal[None, :]) @ G
    S = np.bincount(labels, pha.counts[sel], ng)
    var_s = np.bincount(labels, (pha.stat_err[sel] ** 2 if pha.stat_err is not None else pha.counts[sel]), ng)
    if bkg is not None:
        a = (
            pha.exposure
            * _as_array(pha.backscal, n)[sel]
            * _as_array(pha.areascal, n)[sel]
            / (bkg.exposure * _as_array(bkg.backscal, n)[sel] * _as_array(bkg.areascal, n)[sel])
        )
        B = np.bincount(labels, bkg.counts[sel], ng)
        alpha = np.bincount(labels, a * np.maximum(bkg.counts[sel], 1e-12), ng) / np.bincount(
            labels, np.maximum(bkg.counts[sel], 1e-12), ng
        )
        vb = bkg.stat_err[sel] ** 2 if bkg.stat_err is not None else bkg.counts[sel]
        sigma_b = np.sqrt(np.maximum(np.bincount(labels, vb, ng), 1.0))
        var_s = var_s + alpha**2 * np.bincount(labels, vb, ng)
    else:
        B, alpha, sigma_b = np.zeros(ng), np.zeros(ng), np.ones(ng)
    e_lo = np.array([rmf.e_min[sel][labels == g].min() for g in range(ng)])
    e_hi = np.array([rmf.e_max[sel][labels == g].max() for g in range(ng)])
    resolved = DataFiles(
        pha.path, bkg_path, rsp_path, arf_path, (lo_keV, hi_keV), files.label or pha.path.name
    )
    data = FitData(
        resolved,
        rmf.energ_lo,
        rmf.energ_hi,
        rg,
        pha.exposure,
        S,
        B,
        alpha,
        sigma_b,
        np.maximum(var_s, 1e-12),
        e_lo,
        e_hi,
        grouping,
        bkg is not None,
        bkg is not None and bkg.stat_err is not None,
    )
    return data, pha, rmf, arf, bkg
