"""The Sherpa backend of :func:`~daisy_widgets.hxmt.fit.fit_spectra`.

Sherpa reads the files itself (``load_pha``, then ``load_bkg``/``load_rmf``/``load_arf`` for
files given explicitly), applies the same grouping, ``ignore_bad()`` and ``notice(lo, hi)``, and
fits with its own statistic and optimiser (``neldermead`` for the likelihoods, ``levmar`` for
chi-square; errors from ``covar``). ``powerlaw`` is Sherpa's ``powlaw1d``; ``cutoffpl`` and the
absorbed power law are user models integrating :mod:`.fit_models` (XSPEC's models are not in this
Sherpa build). Cross-normalisations are ``scale1d`` components.
"""

from __future__ import annotations

import logging

import numpy as np

from .fit_data import FitData
from .fit_models import SpectralModel
from .fit_result import FitResult


def _session():
    import sherpa.astro.models
    import sherpa.models.basic
    from sherpa.astro.ui.utils import Session

    s = Session()
    s._add_model_types(sherpa.models.basic)
    s._add_model_types(sherpa.astro.models)
    return s


def _user_model(model: SpectralModel):
    from sherpa.models.model import ArithmeticModel
    from sherpa.models.parameter import Parameter

    class IntegratedModel(ArithmeticModel):
        def __init__(self, name="src"):
            pars = []
            for pname, start, (lo, hi) in zip(model.shape_names, model.start, model.bounds, strict=True):
                pars.append(Parameter(name, pname, start, min=lo, max=hi, hard_min=lo, hard_max=hi))
            pars.append(Parameter(name, "norm", 1.0, min=0, hard_min=0))
            for p in pars:
                setattr(self, p.name, p)
            ArithmeticModel.__init__(self, name, tuple(pars))

        def calc(self, p, xlo, xhi=None, *args, **kwargs):
            lo, hi = np.asarray(xlo, float), np.asarray(xhi, float)
            return model.flux(tuple(p[:-1]), p[-1], lo, hi)

    return IntegratedModel("src")


def fit_with_sherpa(data: list[FitData], model: SpectralModel, stat: str, grouped: bool = False):
    """Fit the data sets with Sherpa; returns a :class:`~daisy_widgets.hxmt.fit.FitResult`."""
    logging.disable(logging.WARNING)  # Sherpa reports every file read and fit step at INFO
    try:
        s = _session()
        ids = []
        for j, d in enumerate(data, start=1):
            f = d.files
            s.load_pha(j, str(f.spectrum))
            if f.background is not None:
                s.load_bkg(j, str(f.background))
            s.load_rmf(j, str(f.response))
            if f.arf is not None:
                s.load_arf(j, str(f.arf))
            if grouped:
                s.set_grouping(j, d.grouping)
                s.group(j)
            dset = s.get_data(j)
            if dset.quality is not None and np.any(np.asarray(dset.quality) != 0):
                s.ignore_bad(j)
            s.notice_id(j, *f.band)
            if stat == "chi2" and f.background is not None:
                s.subtract(j)
            ids.append(j)
        if model.name == "powerlaw":
            src = s.create_model_component("powlaw1d", "src")
            src.gamma = model.start[0]
            shape_pars = [src.gamma]
            norm_par = src.ampl
        else:
            src = _user_model(model)
            shape_pars = [getattr(src, n) for n in model.shape_names]
            norm_par = src.norm
        cross = []
        for j in ids:
            if j == 1:
                s.set_source(j, src)
            else:
                c = s.create_model_component("scale1d", f"c{j}")
                c.c0 = 1.0
                c.c0.min = 1e-4
                cross.append(c)
                s.set_source(j, c * src)
        # start the normalisation from the counts, so the optimiser starts close
        s.set_stat("chi2datavar" if stat == "chi2" else ("wstat" if data[0].has_background else "cstat"))
        norm_par.val = 1.0
        pred = float(np.sum(s.get_data(1).eval_model_to_fit(s.get_model(1))))  # counts at norm 1
        net = max(float(np.sum(data[0].S - data[0].alpha * data[0].B)), 1.0)
        if pred > 0:
            norm_par.val = net / pred
        if stat == "chi2":
            s.set_method("levmar")
            s.fit(*ids)
        else:
            s.set_method("neldermead")
            s.fit(*ids)
            s.fit(*ids)  # restart from the minimum, as Sherpa recommends for simplex
        fr = s.get_fit_results()
        s.set_covar_opt("sigma", 1)
        s.covar(*ids)
        cv = s.get_covar_results()
        errs = dict(zip(cv.parnames, cv.parmaxes, strict=True))

        def err(p):
            e = errs.get(p.fullname)
            return float("nan") if e is None else float(e)

        params = {n: (float(p.val), err(p)) for n, p in zip(model.shape_names, shape_pars, strict=True)}
        params["norm"] = (float(norm_par.val), err(norm_par))
        cn = [(data[k + 1].files.label, float(c.c0.val), err(c.c0)) for k, c in enumerate(cross)]
        return FitResult(
            model.name,
            stat,
            "sherpa",
            float(fr.statval),
            int(fr.dof),
            params,
            [d.files.band for d in data],
            [d.files for d in data],
            cn,
            data,
        )
    finally:
        logging.disable(logging.NOTSET)
