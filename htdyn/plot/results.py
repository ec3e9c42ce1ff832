r"""Pictures of single analysis results: what ``PowerLawFit.plot()``, ``MPFit.plot()`` and ``PhaseResult.plot()`` draw.

The result classes live in :mod:`htdyn.analysis` and import this module only when their
``plot`` method is called (so the analysis imports no matplotlib).  As SciPy's
``FitResult.plot(ax=None)``, each draws into ``ax`` or a new Axes; unlike SciPy, each returns
the Figure (htdyn's figures are built outside pyplot, and a notebook shows a Figure inline,
not an Axes).  The results hold numbers, not the eigenvalues they came from: pass
``evals=`` to draw the data against the fit.

* ``PowerLawFit``: the complementary CDF on log-log axes, the fitted tail
  ``P(Lambda >= lambda) = (k/n) (lambda/xmin)^(1 - alpha)`` (truncated at ``xmax`` when the
  fit is) from xmin on, and with ``evals`` the empirical ``P(Lambda >= lambda_(i)) = (n - i)/n``
  (the curve the KS distance D is measured on).
* ``MPFit``: without ``evals`` the bulk law's density ``p(lambda)`` with lambda_-, lambda_+
  and the outlier threshold; with ``evals`` the ESD figure's panel (counts per bin of
  log10 lambda, the bulk as expected counts, the outliers marked).
* ``PhaseResult``: with ``evals`` and ``shape`` the ESD panel of :func:`~htdyn.plot.spectra.draw_esd`;
  without, a sketch from the features the rule decided on (the fitted bulk law, its edge and
  threshold, the top eigenvalue ``top_ratio lambda_+``); the phase and the rule's reason as title.
"""

from __future__ import annotations

import textwrap
from typing import Any

import numpy as np

from .common import OKABE_ITO, target_axes
from .spectra import COUNT_FLOOR, KS_COLOR, OUT_COLOR, draw_esd, draw_mp_fit, log_bin_edges, mark_outliers

__all__ = ["plot_powerlaw_fit", "plot_mp_fit", "plot_phase_result", "powerlaw_ccdf"]


def powerlaw_ccdf(fit: Any, x: np.ndarray, n: int | None = None) -> np.ndarray:
    """``P(Lambda >= x)`` of the fitted law for ``x >= xmin``, as a share ``k/n`` of all ``n`` points.

    Untruncated: ``(k/n) (x/xmin)^(1-alpha)``; with ``xmax``:
    ``(k/n) ((x/xmin)^(1-alpha) - c) / (1 - c)``, ``c = (xmax/xmin)^(1-alpha)``.
    """
    n = fit.n if n is None else n
    r = (np.asarray(x, dtype=np.float64) / fit.xmin) ** (1.0 - fit.alpha)
    if fit.xmax is not None:
        c = (fit.xmax / fit.xmin) ** (1.0 - fit.alpha)
        r = (r - c) / (1.0 - c)
    return fit.k / n * r


def plot_powerlaw_fit(fit: Any, ax: Any = None, *, evals: Any = None) -> Any:
    """The fitted power law's complementary CDF (and the data's, with ``evals``); returns the Figure.

    Parameters
    ----------
    fit : PowerLawFit
        From :func:`~htdyn.analysis.powerlaw.fit_hill` or :func:`~htdyn.analysis.powerlaw.fit_ks`.
    ax : matplotlib Axes, optional
        Where to draw (default a new Figure).
    evals : 1-D array, optional
        The data, whose empirical CCDF is drawn too.

    Returns
    -------
    matplotlib.figure.Figure

    References
    ----------
    .. [1] A. Clauset, C. R. Shalizi & M. E. J. Newman, "Power-law distributions in empirical data",
       SIAM Review 51(4), 2009.

    Examples
    --------
    >>> import numpy as np
    >>> from htdyn.analysis.powerlaw import fit_hill
    >>> from htdyn.plot import plot_powerlaw_fit
    >>> x = 1 + np.random.default_rng(0).pareto(1.5, 1000)
    >>> fig = plot_powerlaw_fit(fit_hill(x), evals=x)
    >>> len(fig.axes), fig.axes[0].get_xscale(), fig.axes[0].get_yscale()
    (1, 'log', 'log')
    """
    ax, fig, _ = target_axes(ax, 5.0, 3.8)
    top = fit.xmax if fit.xmax is not None else fit.xmin * 1e3
    n = fit.n
    if evals is not None:
        x = np.sort(np.asarray(evals, dtype=np.float64).reshape(-1))
        x = x[(x > 0) & (x <= (fit.xmax if fit.xmax is not None else np.inf))]
        n = x.size
        ax.step(x, (n - np.arange(n)) / n, where="post", color=OKABE_ITO["blue"], lw=1.2, label="data")
        top = x[-1]
    xs = np.geomspace(fit.xmin, top, 200)
    ax.plot(xs, powerlaw_ccdf(fit, xs, n), color=KS_COLOR, lw=1.8,
            label=rf"fit ({fit.method}): $\alpha$={fit.alpha:.2f} $\pm$ {fit.sigma:.2f}")
    ax.axvline(fit.xmin, color=KS_COLOR, ls=":", lw=1.0, label=rf"$x_{{\min}}$={fit.xmin:.3g} ($k$={fit.k})")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(r"eigenvalue $\lambda$")
    ax.set_ylabel(r"$P(\Lambda \geq \lambda)$")
    ax.set_title(rf"power-law tail, KS distance $D$={fit.D:.3f}", fontsize="medium")
    ax.legend(fontsize="small")
    return fig


def plot_mp_fit(fit: Any, ax: Any = None, *, evals: Any = None) -> Any:
    """The fitted Marchenko-Pastur bulk (against the ESD, with ``evals``); returns the Figure.

    Parameters
    ----------
    fit : MPFit
        From :func:`~htdyn.analysis.mp.fit_bulk`.
    ax : matplotlib Axes, optional
        Where to draw (default a new Figure).
    evals : 1-D array, optional
        The eigenvalues, drawn as a histogram.

    Returns
    -------
    matplotlib.figure.Figure

    References
    ----------
    .. [1] V. A. Marchenko & L. A. Pastur, "Distribution of eigenvalues for some sets of random
       matrices", Math. USSR-Sbornik 1(4), 1967.

    Examples
    --------
    >>> import numpy as np
    >>> from htdyn.analysis.esd import esd
    >>> from htdyn.analysis.mp import fit_bulk
    >>> from htdyn.plot import plot_mp_fit
    >>> W = np.random.default_rng(0).standard_normal((800, 200)) / np.sqrt(800)
    >>> ev = esd(W)
    >>> fig = plot_mp_fit(fit_bulk(ev, W.shape), evals=ev)
    >>> len(fig.axes)
    1
    >>> edge = fig.axes[0].lines[1]          # at log10 lambda_+; entries of variance 1/800: (1 + sqrt(200/800))^2
    >>> edge.get_label().startswith("MP edge"), bool(abs(10 ** edge.get_xdata()[0] - (1 + 0.5) ** 2) < 0.05)
    (True, True)
    """
    from ..analysis import mp

    ax, fig, _ = target_axes(ax, 5.5, 3.8)
    qb = fit.q_bulk if np.isfinite(fit.q_bulk) else fit.Q
    if evals is None:
        s2b = fit.lambda_plus / (1.0 + 1.0 / np.sqrt(qb)) ** 2
        x = np.linspace(fit.lambda_minus, fit.lambda_plus, 400)[1:-1]
        ax.plot(x, mp.mp_density(x, qb, s2b), color=OKABE_ITO["black"], lw=1.4, label="bulk law")
        for v, ls, name in ((fit.lambda_minus, ":", r"$\lambda_-$"), (fit.lambda_plus, "--", r"$\lambda_+$"),
                            (fit.threshold, "-.", r"$\lambda_+ + 3\,$TW")):
            ax.axvline(v, color="0.3", ls=ls, lw=0.9, label=f"{name}={v:.3g}")
        ax.set_xlabel(r"eigenvalue $\lambda$")
        ax.set_ylabel(r"density $p(\lambda)$")
    else:
        ev = np.sort(np.asarray(evals, dtype=np.float64).reshape(-1))
        edges = log_bin_edges([ev])
        counts = np.histogram(np.log10(ev[ev > 0]), bins=edges)[0]
        ax.bar(edges[:-1], counts, width=np.diff(edges), align="edge", color=OKABE_ITO["blue"], alpha=0.4, lw=0,
               label="ESD")
        ax.set_yscale("log")
        ax.set_ylim(bottom=COUNT_FLOOR)
        draw_mp_fit(ax, fit, float(np.mean(np.diff(edges))))
        mark_outliers(ax, ev[ev > fit.threshold], edges, counts, fit.threshold, fit.lambda_plus)
        ax.set_xlabel(r"$\log_{10}\lambda$")
        ax.set_ylabel("eigenvalues per bin")
    ax.set_title(rf"MP fit ({fit.method}): $\sigma^2$={fit.sigma2:.3g}, $Q$={fit.Q:.3g}, "
                 rf"$D_{{\rm MP}}$={fit.ks:.3f}, {fit.n_out} outliers", fontsize="medium")
    ax.legend(fontsize="small")
    return fig


def plot_phase_result(res: Any, ax: Any = None, *, evals: Any = None, shape: tuple[int, int] | None = None) -> Any:
    """The phase, the rule's reason and what it decided on (the ESD with ``evals``, ``shape``); returns the Figure.

    Parameters
    ----------
    res : PhaseResult
        From :func:`~htdyn.analysis.phases.classify_phase`.
    ax : matplotlib Axes, optional
        Where to draw (default a new Figure).
    evals, shape : optional
        The eigenvalues and W's shape, to draw the spectrum under the verdict.

    Returns
    -------
    matplotlib.figure.Figure

    References
    ----------
    .. [1] C. H. Martin & M. W. Mahoney, "Implicit self-regularization in deep neural networks",
       JMLR 22(165), 2021 (ESDs, MP fits and the phases).

    Examples
    --------
    >>> import numpy as np
    >>> from htdyn.analysis.esd import esd
    >>> from htdyn.analysis.phases import classify_phase
    >>> from htdyn.plot import plot_phase_result
    >>> W = np.random.default_rng(0).standard_normal((800, 200)) / np.sqrt(800)
    >>> ev = esd(W)
    >>> fig = plot_phase_result(classify_phase(ev, W.shape), evals=ev, shape=W.shape)
    >>> len(fig.axes)
    1
    """
    from ..analysis import mp

    ax, fig, _ = target_axes(ax, 6.0, 4.0)
    f = res.features
    if evals is not None:
        if shape is None:
            raise ValueError("PhaseResult.plot(evals=...) needs shape=(h, d) of W for the MP fit")
        draw_esd(ax, evals, shape, phase=res)
        ax.set_xlabel(r"$\log_{10}\lambda$")
        ax.set_ylabel("eigenvalues per bin")
        ax.legend(fontsize="small")
    elif np.isfinite(f.get("lambda_plus", np.nan)):
        lp, qb = f["lambda_plus"], f["Q"]
        r = min(f["n_out"] * f["M"] / f["n"], f["M"] - 1.0)
        qb = (f["N"] - r) / (f["M"] - r)
        s2b = lp / (1.0 + 1.0 / np.sqrt(qb)) ** 2
        top = f["top_ratio"] * lp
        x = np.geomspace(max(f["lambda_minus"], lp * 1e-4), lp, 300)[1:-1]
        ax.plot(np.log10(x), np.asarray(mp.mp_density(x, qb, s2b)) * x * np.log(10), color="k", label="bulk law")
        ax.axvline(np.log10(lp), color="k", ls="--", lw=0.9, label=rf"$\lambda_+$={lp:.3g}")
        ax.axvline(np.log10(f["threshold"]), color="0.4", ls="-.", lw=0.9, label=r"$\lambda_+ + 3\,$TW")
        ax.plot([np.log10(top)], [0], "v", color=OUT_COLOR, ms=9, clip_on=False, transform=ax.get_xaxis_transform(),
                label=rf"$\lambda_{{\max}}$={top:.3g}, {f['n_out']:g} outliers")
        ax.set_xlim(right=max(ax.get_xlim()[1], np.log10(top) + 0.1))
        ax.set_xlabel(r"$\log_{10}\lambda$")
        ax.set_ylabel(r"density per unit $\log_{10}\lambda$")
        ax.legend(fontsize="small")
    else:
        ax.set_axis_off()
    chars = int(ax.get_position().width * fig.get_figwidth() * 15)  # ~15 characters of small type per inch
    reason = "\n".join(textwrap.wrap(res.reason, max(chars, 30)))
    ax.set_title(f"phase: {res.phase}\n{reason}", fontsize="small", loc="left")
    return fig
