r"""Spectrum figures: the ESD at chosen steps as small multiples, and its evolution over training in one picture.

The ESD is the eigenvalue distribution of W^T W (Kothapalli et al. 2025, whose code draws it as
a histogram of log10 lambda with log-scaled counts).  Each step gets its own panel (shared x and y, so the
bulk spreading and a spike moving read straight off), with

* the counts per bin of log10 lambda (y from 0.3, so one eigenvalue is a bar of a fifth of
  the height of a panel, never a stub);
* the fitted Marchenko-Pastur bulk (:func:`htdyn.analysis.mp.fit_bulk`) as expected counts
  per bin, ``n_bulk p(lambda) lambda ln(10) w`` for bins of width ``w`` in log10 lambda, with
  ``p`` the deflated bulk law MP(Q_b, sigma2 (N - r)/N), and its edge lambda_+ (dashed);
* the outliers (past lambda_+ + 3 Tracy-Widom scales): each one marked with its value when
  there are at most ``max_marked`` (5); past that, no rug of markers but the region shaded
  and the count in the legend, and only the spikes detached from that eigenmass (past an
  empty bin) marked with their values;
* a power law ``k (alpha - 1)/xmin (lambda/xmin)^-alpha lambda ln(10) w`` above its xmin only
  where a heavy tail is claimed: the KS fit where Martin & Mahoney's rule says heavy-tailed,
  the Hill fit where the paper's convention does (PL_Alpha_Hill < 2);
* the MP edge of W_0 (grey, dotted) in every later panel.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..analysis import mp, phases
from .common import OKABE_ITO, PHASE_COLORS, PlotError, add_caption, root_figure, target_figure
from .source import Source, open_source

__all__ = ["plot_esd", "plot_esd_evolution", "draw_esd", "log_bin_edges", "log_esd_histograms", "draw_mp_fit",
           "draw_power_law", "mark_outliers", "detached", "label_values", "COUNT_FLOOR", "MAX_MARKED"]

#: the bottom of the count axis: a bin with one eigenvalue spans log10(1/0.3) of it
COUNT_FLOOR = 0.3
#: outliers marked one by one (with their values) up to this many; past it the region is shaded
MAX_MARKED = 5
HIST_COLOR, MP_COLOR, EDGE0_COLOR = OKABE_ITO["blue"], OKABE_ITO["black"], "0.55"
OUT_COLOR, KS_COLOR, HILL_COLOR = OKABE_ITO["vermillion"], OKABE_ITO["reddish purple"], OKABE_ITO["orange"]


def _fd_width(lg: np.ndarray) -> float:
    q75, q25 = np.percentile(lg, [75, 25])
    return 2.0 * (q75 - q25) / lg.size ** (1.0 / 3.0)


def log_bin_edges(spectra: Sequence[np.ndarray], bins: int | str = "fd", max_bins: int = 200) -> np.ndarray:
    """One grid of bin edges in log10 lambda for every spectrum in ``spectra`` (positive eigenvalues).

    ``bins="fd"``: the Freedman-Diaconis width ``2 IQR(log10 lambda) / n^(1/3)`` of each
    spectrum (n its positive eigenvalues), the median over the spectra, over the range of
    them all; the square-root rule (``sqrt(n)`` bins over each spectrum's range) where the
    IQR is 0.  At most ``max_bins``.  An integer: that many equal bins over the range.
    """
    logs = [np.log10(s[s > 0]) for s in (np.asarray(x, dtype=np.float64).reshape(-1) for x in spectra)]
    logs = [lg for lg in logs if lg.size]
    if not logs:
        raise PlotError("no positive eigenvalue to draw: every spectrum is zero")
    lo, hi = min(lg.min() for lg in logs), max(lg.max() for lg in logs)
    if hi - lo < 1e-9:
        lo, hi = lo - 0.5, hi + 0.5
    if isinstance(bins, str):
        if bins != "fd":
            raise PlotError(f"bins={bins!r}: give a number of bins or 'fd' (Freedman-Diaconis)")
        widths = [_fd_width(lg) if _fd_width(lg) > 0 else (np.ptp(lg) or 1.0) / np.sqrt(lg.size) for lg in logs]
        n = int(np.clip(np.ceil((hi - lo) / np.median(widths)), 5, max_bins))
    else:
        n = int(bins)
    return np.linspace(lo, hi, n + 1)


def draw_mp_fit(ax: Any, fit: Any, width: float, *, color: str = MP_COLOR, label: str | None = None) -> Any:
    """The fitted MP bulk as expected counts per bin of width ``width`` in log10 lambda, and its edge.

    The bulk law is the deflated law of :func:`mp.fit_bulk`, MP(Q_b, sigma2_b) with
    ``sigma2_b = sigma2 (N - r)/N = lambda_+ / (1 + 1/sqrt(Q_b))^2``, so its edges are
    ``fit.lambda_minus`` and ``fit.lambda_plus``; it is scaled to the ``n_bulk`` eigenvalues
    of the bulk.  Returns the (x, y) drawn.
    """
    qb = fit.q_bulk if np.isfinite(fit.q_bulk) else fit.Q
    s2b = fit.lambda_plus / (1.0 + 1.0 / np.sqrt(qb)) ** 2
    x = np.geomspace(max(fit.lambda_minus, fit.lambda_plus * 1e-4), fit.lambda_plus, 240)[1:-1]
    y = fit.n_bulk * np.asarray(mp.mp_density(x, qb, s2b)) * x * np.log(10) * width
    ax.plot(np.log10(x), y, color=color, lw=1.2, label=label or "fitted MP bulk")
    ax.axvline(np.log10(fit.lambda_plus), color=color, ls="--", lw=0.9, label=r"MP edge $\lambda_+$")
    return np.log10(x), y


def draw_power_law(ax: Any, fit: Any, lam_max: float, width: float, *, color: str, name: str) -> Any:
    """The power law of ``fit`` above its xmin, as expected counts per bin (its k tail points); returns (x, y)."""
    x = np.geomspace(fit.xmin, lam_max, 80)
    y = fit.k * (fit.alpha - 1) / fit.xmin * (x / fit.xmin) ** (-fit.alpha) * x * np.log(10) * width
    ax.plot(np.log10(x), y, color=color, lw=1.6, label=f"power law ({name})")
    ax.axvline(np.log10(fit.xmin), color=color, ls=":", lw=0.9)
    return np.log10(x), y


def detached(values: np.ndarray, edges: np.ndarray, counts: np.ndarray, lambda_plus: float) -> np.ndarray:
    """The outliers ``values`` that stand apart: above the first empty bin past the one holding lambda_+."""
    values = np.asarray(values, dtype=np.float64)
    k = int(np.clip(np.searchsorted(edges, np.log10(lambda_plus), side="right") - 1, 0, counts.size - 1))
    empty = np.flatnonzero(counts[k:] == 0)
    if empty.size == 0:
        return values[:0]
    return values[np.log10(values) >= edges[k + empty[0] + 1]]


def mark_outliers(ax: Any, values: np.ndarray, edges: np.ndarray, counts: np.ndarray, threshold: float,
                  lambda_plus: float | None = None, max_marked: int = MAX_MARKED) -> np.ndarray:
    """Mark the outliers: each with a triangle over its bar and its value, the spikes; returns the values marked.

    All of them if there are at most ``max_marked``.  Otherwise the eigenmass past
    ``threshold`` is shaded (its count in the legend) and only the outliers :func:`detached`
    from it (the top ``max_marked``) are marked one by one: no rug of hundreds of markers.
    """
    values = np.sort(np.asarray(values, dtype=np.float64))
    if values.size > max_marked:
        ax.axvspan(np.log10(threshold), max(edges[-1], np.log10(threshold)), color=OUT_COLOR, alpha=0.1, lw=0,
                   label=r"past $\lambda_+ + 3\,$TW")
        values = detached(values, edges, counts, lambda_plus if lambda_plus is not None else threshold)[-max_marked:]
    if values.size == 0:
        return values
    lg = np.log10(values)
    i = np.clip(np.searchsorted(edges, lg, side="right") - 1, 0, counts.size - 1)
    y = np.maximum(counts[i], 1) * 1.7
    ax.plot(lg, y, "v", color=OUT_COLOR, ms=6, label="spike (value marked)")
    label_values(ax, values, y, edges)
    return values


def label_values(ax: Any, values: np.ndarray, y: np.ndarray, edges: np.ndarray, fontsize: str = "small") -> list[Any]:
    """Write each marked eigenvalue beside its marker (at ``log10 values``, ``y``); returns the texts.

    Values closer than one bin share one label (``lambda=1.52e+03, 1.58e+03``), written to the
    right of the marker, or to its left in the right quarter of the bins' range, so labels
    neither overlap nor leave the axes.
    """
    if values.size == 0:
        return []
    lg = np.log10(values)
    w = float(np.mean(np.diff(edges)))
    groups = np.split(np.arange(lg.size), np.flatnonzero(np.diff(lg) > w) + 1)
    texts = []
    for g in groups:
        j = g[-1]
        left = lg[j] > edges[0] + 0.75 * (edges[-1] - edges[0])
        texts.append(ax.annotate(r"$\lambda$=" + ", ".join(f"{v:.3g}" for v in values[g]), (lg[j], y[g].max()),
                                 xytext=(-6 if left else 6, 0), textcoords="offset points",
                                 ha="right" if left else "left", va="center", fontsize=fontsize, color=OUT_COLOR))
    return texts


def draw_esd(ax: Any, ev: np.ndarray, shape: tuple[int, int], *, label: str = "ESD", color: str | None = None,
             bins: int | str | np.ndarray = "fd", fits: bool = True, phase: Any = None,
             max_marked: int = MAX_MARKED) -> dict[str, Any]:
    """Draw one ESD on ``ax`` (counts per bin of log10 lambda, log y) with its fits; returns what was drawn.

    ``bins``: edges in log10 lambda, a number of bins, or ``"fd"`` (:func:`log_bin_edges`).
    With ``fits``: the MP bulk and edge (:func:`draw_mp_fit`), the outliers
    (:func:`mark_outliers`) and the power laws the phase claims (``phase``: the
    :class:`~htdyn.analysis.phases.PhaseResult` of this spectrum, computed if not given).
    The returned dict holds ``edges``, ``counts``, ``n_zero``, ``outliers``, ``marked``,
    ``lambda_plus`` and ``powerlaws`` (the names of the laws drawn).

    Parameters
    ----------
    ax : matplotlib Axes
        Where to draw.
    ev : 1-D array
        The eigenvalues of ``W^T W``.
    shape : (int, int)
        Shape of W (for the MP fit).

    Returns
    -------
    dict
        What was drawn (see above).

    Notes
    -----
    The ESD is the empirical distribution of the eigenvalues lambda_i of W^T W (the squared
    singular values of W), drawn as counts per bin of log10 lambda as the paper draws it [3]_.
    The bulk is fitted by the Marchenko-Pastur law [1]_, whose edge is
    lambda_+ = sigma^2 (sqrt(h) + sqrt(d))^2 for an h x d matrix of i.i.d. entries of variance
    sigma^2; an eigenvalue past lambda_+ + 3 Tracy-Widom scales [2]_ is an outlier (a spike).

    References
    ----------
    .. [1] V. A. Marchenko & L. A. Pastur, "Distribution of eigenvalues for some sets of random
       matrices", Math. USSR-Sbornik 1(4), 1967.
    .. [2] I. M. Johnstone, "On the distribution of the largest eigenvalue in principal components
       analysis", Ann. Statist. 29(2), 2001 (the Tracy-Widom scale of the edge).
    .. [3] Kothapalli, Pang, Deng, Liu & Yang, "From Spikes to Heavy Tails: Unveiling the Spectral
       Evolution of Neural Networks", TMLR 2025 (arXiv 2406.04657): the ESD of W^T W as a histogram
       of log10 lambda (the ESD figures, Figs. 2-3 in the numbering of v2); C. H. Martin &
       M. W. Mahoney, "Implicit self-regularization in deep neural networks", JMLR 22(165), 2021
       (the phases whose power laws are drawn).

    Examples
    --------
    >>> import numpy as np
    >>> from matplotlib.figure import Figure
    >>> from htdyn.analysis.esd import esd
    >>> from htdyn.plot import draw_esd
    >>> W = np.random.default_rng(0).standard_normal((800, 200)) / np.sqrt(800)
    >>> drawn = draw_esd(Figure().add_subplot(), esd(W), W.shape)
    >>> int(drawn["counts"].sum()), len(drawn["outliers"])
    (200, 0)
    """
    ev = np.sort(np.asarray(ev, dtype=np.float64).reshape(-1))
    pos = ev[ev > 0]
    edges = np.asarray(bins, dtype=np.float64) if np.ndim(bins) else log_bin_edges([ev], bins)
    counts = np.histogram(np.log10(pos), bins=edges)[0]
    color = color or HIST_COLOR
    ax.bar(edges[:-1], counts, width=np.diff(edges), align="edge", color=color, alpha=0.4, lw=0, label=label)
    ax.stairs(counts, edges, color=color, lw=0.9, baseline=None)
    ax.set_yscale("log")
    ax.set_ylim(COUNT_FLOOR, max(ax.get_ylim()[1], 3.0 * max(int(counts.max(initial=0)), 3)))  # room for markers
    out: dict[str, Any] = {"edges": edges, "counts": counts, "n_zero": int(ev.size - pos.size), "powerlaws": [],
                           "outliers": pos[:0], "marked": pos[:0], "lambda_plus": float("nan")}
    if not fits or pos.size < 8:
        return out
    width = float(np.mean(np.diff(edges)))
    res = phase if phase is not None else phases.classify_phase(ev[-min(shape):], shape)
    try:
        fit = mp.fit_bulk(ev, shape)
    except ValueError:
        fit = None
    if fit is not None and fit.lambda_plus > 0:
        draw_mp_fit(ax, fit, width)
        out["outliers"] = ev[ev > fit.threshold]
        out["marked"] = mark_outliers(ax, out["outliers"], edges, counts, fit.threshold, fit.lambda_plus, max_marked)
        out["lambda_plus"] = fit.lambda_plus
    out["powerlaws"] = _draw_claimed_tails(ax, pos, res, width)
    return out


def _draw_claimed_tails(ax: Any, pos: np.ndarray, res: Any, width: float) -> list[str]:
    """The KS law where Martin & Mahoney's rule says heavy-tailed, the Hill law where the paper's rule does."""
    from ..analysis import powerlaw

    drawn = []
    if res.phase == "heavy-tailed":
        draw_power_law(ax, powerlaw.fit_ks(pos), pos[-1], width, color=KS_COLOR, name="KS")
        drawn.append("KS")
    if phases.paper_phase(res).phase == "heavy-tailed" and res.features.get("alpha_hill", np.inf) < 2:
        draw_power_law(ax, powerlaw.fit_hill(pos), pos[-1], width, color=HILL_COLOR, name="Hill")
        drawn.append("Hill")
    return drawn


def _step_axes(fig: Any, ax: Any, n: int) -> tuple[Any, list[Any], bool]:
    if ax is not None:
        axes = [ax] if hasattr(ax, "plot") else list(np.ravel(ax))
        if len(axes) != n:
            raise PlotError(f"ax= holds {len(axes)} axes for {n} steps: pass one Axes per step (or fig=)")
        return root_figure(axes[0]), axes, False
    ncols = 1 if n <= 4 else 2
    nrows = -(-n // ncols)
    target, made = target_figure(fig, 7.0 if ncols == 1 else 10.0, 1.9 + 1.9 * nrows)
    return target, list(np.ravel(target.subplots(nrows, ncols, sharex=True, sharey=True, squeeze=False)))[:n], made


def plot_esd(src: str | os.PathLike | Source, run: int = 0, steps: Sequence[int] | None = None,
             *, bins: int | str = "fd", ax: Any = None, fig: Any = None) -> Any:
    """ESDs of W_t^T W_t at ``steps`` (default: the first and last stored), one panel per step, with fits.

    Reads the stored ESD of ``htdyn analyze`` where there is one and computes it from the
    stored W_t otherwise.  Each panel's title gives the step's phase (Martin & Mahoney's rule,
    and the paper's alpha_Hill < 2 convention where it differs) and PL_Alpha_Hill.  ``ax``:
    one Axes per step to draw into; ``fig``: a Figure or SubFigure to fill.  Returns the Figure.

    Parameters
    ----------
    src : str, path or Source
        A trajectory file (or an open :class:`~htdyn.plot.source.Source`).
    run : int
        The run index.
    steps : sequence of int, optional
        The steps to draw (default the first and the last stored).
    bins : int or "fd"
        Number of bins in log10 lambda, or the Freedman-Diaconis rule.
    ax, fig : optional
        Axes (one per step) or a Figure / SubFigure to draw into.

    Returns
    -------
    matplotlib.figure.Figure

    References
    ----------
    .. [1] C. H. Martin & M. W. Mahoney, "Implicit self-regularization in deep neural networks",
       JMLR 22(165), 2021 (ESDs, MP fits and the phases).
    .. [2] Kothapalli, Pang, Deng, Liu & Yang, "From Spikes to Heavy Tails: Unveiling the Spectral
       Evolution of Neural Networks", TMLR 2025 (arXiv 2406.04657):
       the ESD before and after training (histogram of log10 lambda).

    Examples
    --------
    >>> import htdyn, tempfile
    >>> from htdyn.plot import plot_esd
    >>> sim = htdyn.simulation(htdyn.RunConfig(model=htdyn.ModelConfig(n=64, d=16, h=24, n_test=32)),
    ...                        steps=3, output=f"{tempfile.mkdtemp()}/tiny.h5")  # a 3-step run
    >>> path = htdyn.simulate(sim).path
    >>> fig = plot_esd(path, steps=[0, 3])
    >>> len(fig.axes)
    2
    >>> [int(sum(bar.get_height() for bar in ax.containers[0])) for ax in fig.axes]  # the 16 eigenvalues of W^T W
    [16, 16]
    """
    source, own = open_source(src)
    try:
        rv = source.run(run)
        avail = rv.esd_steps()
        if steps is None:
            rv.final_step()
            steps = [avail[0], avail[-1]] if len(avail) > 1 else avail
        spectra = [rv.esd(int(t)) for t in steps]
        edges = log_bin_edges(spectra, bins)
        target, axes, made = _step_axes(fig, ax, len(steps))
        lp0 = None
        for i, (t, ev, a) in enumerate(zip(steps, spectra, axes)):
            res = phases.classify_phase(ev[-min(rv.shape):], rv.shape)
            drawn = draw_esd(a, ev, rv.shape, label="ESD", bins=edges, phase=res)
            if i and lp0 is not None and np.isfinite(lp0):
                a.axvline(np.log10(lp0), color=EDGE0_COLOR, ls=":", lw=1.2, label=rf"$\lambda_+$ of $W_{{{steps[0]}}}$")
            lp0 = drawn["lambda_plus"] if i == 0 else lp0
            a.set_title(_panel_title(t, res, drawn, "\n" if len(axes) > 4 else "; "), fontsize="medium", loc="left")
            a.set_ylabel("eigenvalues per bin")
        for a in axes[-2:] if len(axes) > 4 else axes[-1:]:  # the bottom row
            a.set_xlabel(r"$\log_{10}\lambda$  (eigenvalues of $W_t^\top W_t$)")
        a0 = axes[0]
        a0.set_xlim(edges[0] - 0.02 * np.ptp(edges), edges[-1] + 0.05 * np.ptp(edges))
        a0.set_ylim(COUNT_FLOOR, max(max(a.get_ylim()[1] for a in axes), 10.0) * 3)
        legend = dict(kv for a in axes for kv in zip(*reversed(a.get_legend_handles_labels())))
        where = target if ax is None else axes[-1]
        where.legend(legend.values(), legend.keys(), fontsize="small",
                     ncols=min(4, len(legend)), **({"loc": "outside upper center"} if ax is None else {}))
        if made:  # the run's title is the caption's start (a suptitle would collide with the legend on top)
            add_caption(target, rv.caption + "; outliers: past the MP edge + 3 Tracy-Widom scales; power laws drawn "
                        "only where the phase claims a heavy tail")
        return root_figure(target)
    finally:
        if own:
            source.close()


def _panel_title(t: int, res: Any, drawn: dict[str, Any], sep: str = "; ") -> str:
    """``t=10: bulk-decay (paper: heavy-tailed), alpha_Hill=1.83; lambda_+=1.79e4, 325 past the edge``."""
    paper = phases.paper_phase(res).phase
    text = f"$t$={t}: {res.phase}" + (f" (paper: {paper})" if paper != res.phase else "")
    f = res.features
    text += rf", $\alpha_{{\rm Hill}}$={f['alpha_hill']:.2f}" if np.isfinite(f.get("alpha_hill", np.nan)) else ""
    text += rf", $\alpha_{{\rm KS}}$={f['alpha_ks']:.2f}" if "KS" in drawn["powerlaws"] else ""
    if np.isfinite(drawn["lambda_plus"]):
        text += rf"{sep}$\lambda_+$={drawn['lambda_plus']:.3g}, {drawn['outliers'].size} past the edge"
    return text + (f"; {drawn['n_zero']} zero eigenvalues not shown" if drawn["n_zero"] else "")


def plot_esd_evolution(src: str | os.PathLike | Source, run: int = 0, *, bins: int = 80, fig: Any = None) -> Any:
    """Heat map of the log-ESD against step, with alpha_Hill and the phase along the top.

    Rows are the steps with a spectrum, columns log10 lambda on one common grid; the colour is
    log10 of the density per unit log10 lambda.  Each step owns the cells from the midpoint
    to its neighbours (uneven snapshots get wider cells), and the phase bar has exactly these
    cells, in a column of its own of the same width as the heat map.  The MP edge of W_0 is
    drawn as a line.  ``fig``: a Figure or SubFigure to draw into.  Returns the Figure.

    Parameters
    ----------
    src : str, path or Source
        A trajectory file (or an open :class:`~htdyn.plot.source.Source`).
    run : int
        The run index.
    bins : int
        Number of cells along log10 lambda.
    fig : optional
        A Figure or SubFigure to draw into.

    Returns
    -------
    matplotlib.figure.Figure

    References
    ----------
    .. [1] Kothapalli, Pang, Deng, Liu & Yang, "From Spikes to Heavy Tails: Unveiling the Spectral
       Evolution of Neural Networks", TMLR 2025 (arXiv 2406.04657): the spectral evolution this
       figure shows, bulk+spike after a step, then bulk decay and a heavy tail (Figs. 2-4 in the
       numbering of v2); PL_Alpha_Hill with x_min the median eigenvalue,
       alpha = 1 + k / (sum_{j>=i} ln lambda_j - k ln lambda_i), and its alpha < 2 line.
    .. [2] C. H. Martin & M. W. Mahoney, "Implicit self-regularization in deep neural networks",
       JMLR 22(165), 2021 (the phases of the colour bar).
    .. [3] V. A. Marchenko & L. A. Pastur, Math. USSR-Sbornik 1(4), 1967 (the edge lambda_+ of W_0).

    Examples
    --------
    >>> import htdyn, tempfile
    >>> from htdyn.plot import plot_esd_evolution
    >>> sim = htdyn.simulation(htdyn.RunConfig(model=htdyn.ModelConfig(n=64, d=16, h=24, n_test=32)),
    ...                        steps=3, output=f"{tempfile.mkdtemp()}/tiny.h5")  # a 3-step run
    >>> path = htdyn.simulate(sim).path
    >>> fig = plot_esd_evolution(path)
    >>> len(fig.axes), fig.axes[0].get_title()
    (4, 'ESD evolution, adam lr=1')
    >>> fig.axes[2].collections[0].get_array().shape      # 80 bins of log10 lambda x steps 0-3
    (80, 4)
    """
    source, own = open_source(src)
    try:
        rv = source.run(run)
        steps, spectra, edges, H = log_esd_histograms(rv, bins)
        res = [phases.classify_phase(s, rv.shape) for s in spectra]
        alphas = [r.features.get("alpha_hill", np.nan) for r in res]
        cols = [PHASE_COLORS.get(r.phase, "w") for r in res]
        target, made = target_figure(fig, 7.0, 5.2)
        gs = target.add_gridspec(3, 2, height_ratios=(1.0, 0.25, 4.0), width_ratios=(1.0, 0.03))
        ax_a = target.add_subplot(gs[0, 0])
        ax_p = target.add_subplot(gs[1, 0], sharex=ax_a)
        ax = target.add_subplot(gs[2, 0], sharex=ax_a)
        st = np.asarray(steps, dtype=float)
        xe = step_edges(st)
        ax_a.plot(st, alphas, "o-", ms=3, color="k")
        ax_a.axhline(2.0, color=OKABE_ITO["vermillion"], lw=0.7, ls="--")
        ax_a.set_ylabel(r"$\alpha_{\rm Hill}$")
        ax_p.bar(xe[:-1], np.ones_like(st), width=np.diff(xe), color=cols, align="edge", lw=0)
        ax_p.set_yticks([])
        ax_p.set_ylim(0, 1)
        ax_p.set_ylabel("phase", rotation=0, ha="right", va="center", fontsize="small")
        logH = np.log10(np.where(H > 0, H, np.nan))
        mesh = ax.pcolormesh(xe, edges, logH.T, shading="flat", cmap="viridis")
        target.colorbar(mesh, cax=target.add_subplot(gs[2, 1]), label=r"$\log_{10}$ density")
        try:
            ax.axhline(np.log10(mp.fit_bulk(spectra[0], rv.shape).lambda_plus), color="w", ls="--", lw=0.8)
        except ValueError:
            pass
        ax.set_xlim(xe[0], xe[-1])
        for a in (ax_a, ax_p):
            a.tick_params(labelbottom=False)
        ax.set_xlabel("step $t$")
        ax.set_ylabel(r"$\log_{10}\lambda$  (eigenvalues of $W_t^\top W_t$)")
        names = [p for p in PHASE_COLORS if p in {r.phase for r in res}]
        ax_a.legend([_patch(PHASE_COLORS[p]) for p in names], names, fontsize="small", ncols=3, loc="upper right")
        ax_a.set_title(f"ESD evolution, {rv.title}", fontsize="medium")
        if made:
            add_caption(target, rv.caption + "; dashed: MP edge of $W_0$")
        return root_figure(target)
    finally:
        if own:
            source.close()


def _patch(color: str) -> Any:
    from matplotlib.patches import Patch

    return Patch(color=color)


def step_edges(st: np.ndarray) -> np.ndarray:
    """Cell edges of steps ``st``: the midpoints between neighbours, the end cells mirrored (width 1 alone)."""
    if st.size == 1:
        return np.array([st[0] - 0.5, st[0] + 0.5])
    mid = (st[1:] + st[:-1]) / 2
    return np.concatenate([[st[0] - (mid[0] - st[0])], mid, [st[-1] + (st[-1] - mid[-1])]])


def log_esd_histograms(rv: Any, bins: int | str) -> tuple[list[int], list[np.ndarray], np.ndarray, np.ndarray]:
    """Every stored spectrum of a run on one log10-lambda grid: (steps, spectra, bin edges, densities).

    The densities are per unit log10 lambda over the positive eigenvalues, one row per step;
    ``bins`` as :func:`log_bin_edges`.
    """
    rv.final_step()
    steps = rv.esd_steps()
    spectra = [np.asarray(rv.esd(t)) for t in steps]
    edges = log_bin_edges(spectra, bins)
    H = np.array([np.histogram(np.log10(s[s > 0]), bins=edges, density=True)[0] for s in spectra])
    return steps, spectra, edges, H
