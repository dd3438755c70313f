"""The HXMT app's bqplot figures: light curve (GTIs shaded, background overlaid), spectrum
(counts/s/keV with background), power spectrum, folded pulse profile.

Each plot object holds a ``figure`` (zoom and pan with the mouse; ``reset_zoom()``),
``update(...)`` from pipeline products and ``points`` (number of data points shown,
0 when empty).
"""

from __future__ import annotations

from typing import Any

import bqplot as bq
import numpy as np

from ..mission import spec

_SRC, _BKG, _GTI = "#1f77b4", "#d62728", "#2ca02c"


def _figure(
    title: str, xlabel: str, ylabel: str, xlog: bool = False, ylog: bool = False, legend: str = "top-right"
) -> tuple[bq.Figure, bq.Scale, bq.Scale]:
    xs = bq.LogScale() if xlog else bq.LinearScale()
    ys = bq.LogScale() if ylog else bq.LinearScale()
    ax = bq.Axis(scale=xs, label=xlabel, grid_lines="dashed")
    ay = bq.Axis(scale=ys, label=ylabel, side="left", grid_lines="dashed", label_offset="45px")
    fig = bq.Figure(
        title=title,
        axes=[ax, ay],
        marks=[],
        fig_margin={"top": 40, "bottom": 45, "left": 65, "right": 15},
        layout={"width": "560px", "height": "330px"},
        animation_duration=0,
        legend_location=legend,
    )
    fig.interaction = bq.interacts.PanZoom(scales={"x": [xs], "y": [ys]})
    return fig, xs, ys


class _Plot:
    figure: bq.Figure

    def __init__(
        self,
        title: str,
        xlabel: str,
        ylabel: str,
        xlog: bool = False,
        ylog: bool = False,
        legend: str = "top-right",
    ):
        self.figure, self.xs, self.ys = _figure(title, xlabel, ylabel, xlog, ylog, legend)
        self.figure.add_class("daisy-hxmt-plot")
        self.points = 0
        self._range: tuple[float, float, float, float] | None = None

    def _set_range(self, x: np.ndarray, y: np.ndarray, pad: float = 0.05) -> None:
        x, y = np.asarray(x, float), np.asarray(y, float)
        x, y = x[np.isfinite(x)], y[np.isfinite(y)]
        if isinstance(self.ys, bq.LogScale):
            y = y[y > 0]
        if isinstance(self.xs, bq.LogScale):
            x = x[x > 0]
        if not x.size or not y.size:
            self._range = None
            return
        x0, x1, y0, y1 = float(x.min()), float(x.max()), float(y.min()), float(y.max())
        if isinstance(self.ys, bq.LogScale):
            y0, y1 = y0 / 1.5, y1 * 1.5
        else:
            dy = (y1 - y0) or abs(y1) or 1.0
            y0, y1 = y0 - pad * dy, y1 + pad * dy
        if x1 == x0:
            x1 = x0 + 1.0
        self._range = (x0, x1, y0, y1)
        self.reset_zoom()

    def reset_zoom(self) -> None:
        """Back to the whole data range."""
        if self._range is None:
            return
        x0, x1, y0, y1 = self._range
        with self.xs.hold_sync(), self.ys.hold_sync():
            self.xs.min, self.xs.max, self.ys.min, self.ys.max = x0, x1, y0, y1

    def clear(self) -> None:
        self.figure.marks = []
        self.points = 0


class LightCurvePlot(_Plot):
    """Rate (count/s) against time since the first good time; GTIs shaded green, background dashed red."""

    def __init__(self) -> None:
        super().__init__("Light curve", "time since start (s)", "rate (count/s)", legend="right")

    def update(
        self,
        lc: Any,
        bkg_lc: Any = None,
        gti: np.ndarray | None = None,
        show_background: bool = True,
        t0: float | None = None,
    ) -> None:
        if lc is None or len(lc.time) == 0:
            self.clear()
            return
        gti = np.asarray(gti if gti is not None else lc.gti, float).reshape(-1, 2)
        t0 = float(t0 if t0 is not None else (gti[0, 0] if len(gti) else lc.time[0] - lc.dt / 2))
        t = np.asarray(lc.time, float) - t0
        rate = np.asarray(lc.rate, float)
        # gaps between GTIs break the line
        x, y = _with_gaps(t, rate, lc.dt)
        marks = []
        ytop = float(np.nanmax(rate)) * 1.1 if rate.size else 1.0
        if len(gti):
            gx, gy = [], []
            for a, b in gti - t0:
                gx += [a, a, b, b]
                gy += [0.0, ytop, ytop, 0.0]
            marks.append(
                bq.Lines(
                    x=np.array(gx),
                    y=np.array(gy),
                    scales={"x": self.xs, "y": self.ys},
                    fill="bottom",
                    colors=[_GTI],
                    fill_colors=[_GTI],
                    fill_opacities=[0.12],
                    stroke_width=0.5,
                    labels=["GTI"],
                    display_legend=True,
                )
            )
        marks.append(
            bq.Lines(
                x=x,
                y=y,
                scales={"x": self.xs, "y": self.ys},
                colors=[_SRC],
                stroke_width=1.2,
                labels=["source + background"],
                display_legend=True,
            )
        )
        if show_background and bkg_lc is not None and len(bkg_lc.time):
            bx, by = _with_gaps(
                np.asarray(bkg_lc.time, float) - t0, np.asarray(bkg_lc.rate, float), bkg_lc.dt
            )
            marks.append(
                bq.Lines(
                    x=bx,
                    y=by,
                    scales={"x": self.xs, "y": self.ys},
                    colors=[_BKG],
                    line_style="dashed",
                    stroke_width=1.2,
                    labels=["background"],
                    display_legend=True,
                )
            )
        self.figure.marks = marks
        self.points = int(np.isfinite(rate).sum())
        self._set_range(
            np.concatenate([t, gti.ravel() - t0]) if len(gti) else t, np.concatenate([[0.0], rate])
        )


def _with_gaps(t: np.ndarray, y: np.ndarray, dt: float) -> tuple[np.ndarray, np.ndarray]:
    if t.size < 2:
        return t, y
    jumps = np.nonzero(np.diff(t) > 1.5 * dt)[0]
    if not jumps.size:
        return t, y
    t2 = np.insert(t, jumps + 1, t[jumps] + dt / 2)
    y2 = np.insert(y.astype(float), jumps + 1, np.nan)
    return t2, y2


def spectrum_points(
    sp: Any, bkg: Any = None, pi_range: tuple[int, int] | None = None, min_counts: int = 20
) -> dict[str, np.ndarray]:
    """Grouped spectrum in counts/s/keV: ``energy`` (keV, bin centres), ``width`` (keV), ``rate`` and
    ``error`` of the source, ``bkg`` (background scaled to the source's BACKSCAL, or NaN).

    Adjacent channels are grouped to at least ``min_counts`` source counts (as ``grppha``) within ``pi_range``.
    """
    s = spec(sp.instrument)
    lo, hi = pi_range or s.band
    counts = np.asarray(sp.counts, float)
    hi = min(hi, counts.size - 1)
    bcounts = np.asarray(bkg.counts, float) if bkg is not None else None
    edges = [lo]
    acc = 0.0
    for ch in range(lo, hi + 1):
        acc += counts[ch]
        if acc >= min_counts:
            edges.append(ch + 1)
            acc = 0.0
    if edges[-1] != hi + 1:
        if len(edges) > 1:
            edges[-1] = hi + 1
        else:
            edges.append(hi + 1)
    edges = np.asarray(edges)
    c = np.add.reduceat(counts, edges[:-1])[: len(edges) - 1] if counts.size else np.zeros(0)
    e_lo, e_hi = s.energy(edges[:-1]), s.energy(edges[1:])
    width = np.asarray(e_hi - e_lo, float)
    expo = float(sp.exposure) if sp.exposure > 0 else np.nan
    rate = c / expo / width
    err = np.sqrt(c) / expo / width
    if bcounts is not None and bkg.exposure > 0:
        bc = np.add.reduceat(bcounts, edges[:-1])[: len(edges) - 1]
        b = bc / float(bkg.exposure) / width * (float(sp.backscal) / float(bkg.backscal or 1.0))
    else:
        b = np.full(rate.shape, np.nan)
    return {"energy": 0.5 * (e_lo + e_hi), "width": width, "rate": rate, "error": err, "bkg": b}


class SpectrumPlot(_Plot):
    """Counts/s/keV against energy (keV), log-log; background in red."""

    def __init__(self) -> None:
        super().__init__("Spectrum", "energy (keV)", "counts/s/keV", xlog=True, ylog=True)

    def update(
        self, sp: Any, bkg: Any = None, show_background: bool = True, pi_range: tuple[int, int] | None = None
    ) -> None:
        if sp is None or float(np.sum(sp.counts)) == 0:
            self.clear()
            return
        d = spectrum_points(sp, bkg if show_background else None, pi_range)
        ok = d["rate"] > 0
        marks = [
            bq.Lines(
                x=d["energy"][ok],
                y=d["rate"][ok],
                scales={"x": self.xs, "y": self.ys},
                colors=[_SRC],
                marker="circle",
                marker_size=12,
                stroke_width=1,
                labels=["source + background"],
                display_legend=True,
            )
        ]
        ys = [d["rate"][ok]]
        if show_background and np.isfinite(d["bkg"]).any():
            okb = np.isfinite(d["bkg"]) & (d["bkg"] > 0)
            marks.append(
                bq.Lines(
                    x=d["energy"][okb],
                    y=d["bkg"][okb],
                    scales={"x": self.xs, "y": self.ys},
                    colors=[_BKG],
                    line_style="dashed",
                    stroke_width=1.2,
                    labels=["background"],
                    display_legend=True,
                )
            )
            ys.append(d["bkg"][okb])
        self.figure.marks = marks
        self.points = int(ok.sum())
        self._set_range(d["energy"][ok], np.concatenate(ys))


class PowerSpectrumPlot(_Plot):
    """Leahy power against frequency (Hz), log frequency axis; the Poisson level 2 dashed."""

    def __init__(self) -> None:
        super().__init__("Power spectrum", "frequency (Hz)", "power (Leahy)", xlog=True, legend="top-left")

    def update(self, pds: dict | None) -> None:
        if not pds or pds.get("frequency") is None:
            self.clear()
            return
        f, p = np.asarray(pds["frequency"], float), np.asarray(pds["power"], float)
        ok = f > 0
        f, p = f[ok], p[ok]
        self.figure.marks = [
            bq.Lines(
                x=f,
                y=p,
                scales={"x": self.xs, "y": self.ys},
                colors=[_SRC],
                stroke_width=1,
                labels=[f"{pds.get('n_segments', '?')} segments"],
                display_legend=True,
            ),
            bq.Lines(
                x=np.array([f.min(), f.max()]) if f.size else np.zeros(2),
                y=np.array([2.0, 2.0]),
                scales={"x": self.xs, "y": self.ys},
                colors=["#777"],
                line_style="dashed",
                labels=["Poisson level"],
                display_legend=True,
            ),
        ]
        self.points = int(f.size)
        self._set_range(f, np.concatenate([p, [2.0]]))


class ProfilePlot(_Plot):
    """Folded pulse profile, two cycles, counts per phase bin."""

    def __init__(self) -> None:
        super().__init__("Pulse profile", "phase", "counts")

    def update(self, profile: Any) -> None:
        if profile is None or len(profile.counts) == 0:
            self.clear()
            return
        ph = np.asarray(profile.phase, float)
        c = np.asarray(profile.counts, float)
        n = ph.size
        edges = np.arange(2 * n + 1) / n
        y = np.concatenate([c, c, c[-1:]])
        self.figure.marks = [
            bq.Lines(
                x=edges,
                y=y,
                scales={"x": self.xs, "y": self.ys},
                colors=[_SRC],
                interpolation="step-after",
                stroke_width=1.5,
                labels=[f"{profile.frequency:.6g} Hz"],
                display_legend=True,
            )
        ]
        self.figure.title = f"Pulse profile at {profile.frequency:.6g} Hz"
        self.points = int(n)
        self._set_range(edges, c)
