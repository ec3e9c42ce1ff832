"""Metrics against step for one run: losses, power-law alphas, stable rank, spikes, phase, alignments.

One quantity per panel, so that no scale flattens another (each panel only where the file
holds it; losses always, from the file's evaluations): the ridge read-out's losses (the paper's
train and test, linear), the network's losses (log), alpha_Hill, alpha_KS, the stable rank, the
spike count, sim(W, beta) = |<v_1(W_t), beta>| with the KTA, and sigma_1 = sqrt(lambda_max).
The Martin-Mahoney phase is drawn as coloured bands behind every panel, its legend above.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from .common import PHASE_COLORS, add_caption, new_figure
from .source import Source, open_source

__all__ = ["plot_metrics", "PANELS"]

#: (key, title, y label, [(column, legend)], log y): one quantity (one scale) per panel
PANELS = (
    ("ridge", "ridge read-out losses (the paper's train and test)", "MSE",
     [("probe_loss", "train (probe ridge)"), ("test_loss", "test")], False),
    ("network", "network losses", "MSE", [("net_train_loss", "train"), ("net_test_loss", "test")], True),
    ("hill", r"$\alpha_{\rm Hill}$ (PL_Alpha_Hill)", r"$\alpha_{\rm Hill}$", [("alpha_hill", "")], False),
    ("ks", r"$\alpha_{\rm KS}$ (PL_Alpha_KS)", r"$\alpha_{\rm KS}$", [("alpha_ks", "")], False),
    ("rank", r"stable rank $\|W\|_F^2/\|W\|_2^2$", "stable rank", [("stable_rank", "")], False),
    ("spikes", r"spikes past the MP edge $\lambda_+$ + 3 TW", "count", [("n_spikes", "")], False),
    ("align", "alignment", "cosine / KTA", [("sim_beta", r"sim$(W, \beta) = |\langle v_1, \beta\rangle|$"),
                                            ("kta", "KTA (uncentred)"), ("kta_centered", "KTA (centred)")], False),
    ("sigma", r"top singular value $\sigma_1(W_t)$", r"$\sigma_1$", [("spectral_norm", "")], True),
)


def _series(losses: dict, df: Any) -> list[tuple[str, str, str, list, bool]]:
    """The panels that have data: (key, title, y label, [(x, y, legend)], log y)."""
    panels = []
    for key, title, ylab, cols, logy in PANELS:
        series = []
        for col, leg in cols:
            if col in losses and np.isfinite(losses[col]).any():
                series.append((losses["step"], np.asarray(losses[col], dtype=float), leg))
            elif col not in losses and col in df and np.isfinite(df[col].to_numpy(dtype=float)).any():
                series.append((df["step"].to_numpy(), df[col].to_numpy(dtype=float), leg))
        if series:
            positive = any(np.any(np.isfinite(y) & (y > 0)) for _, y, _ in series)
            panels.append((key, title, ylab, series, logy and positive))
    return panels


def plot_metrics(src: str | os.PathLike | Source, run: int = 0, *, fig: Any = None) -> Any:
    r"""Every stored metric of one run against step, one quantity per panel, the phase behind.

    Panels (each only where the file holds it): the ridge read-out's train and test losses
    (linear: 0.6-1.0 in the paper), the network's losses (log), :math:`\alpha_{\rm Hill}` (with
    the line at 2) and :math:`\alpha_{\rm KS}` on their own axes, the stable rank, the spike
    count, sim(W, beta) with the KTA (computed from the stored W_t where the analysis lacks it),
    and :math:`\sigma_1(W_t)`.  The Martin-Mahoney phase is drawn as bands behind every panel,
    its legend above the panels and the run's settings below them.

    Parameters
    ----------
    src : a trajectory file (or an open :class:`~htdyn.plot.source.Source`); its metrics come from
        the analysis (``htdyn analyze``) or the online metrics a sweep stores
    run : the run index
    fig : draw into this Figure (default a new one)

    Returns
    -------
    Figure

    Raises
    ------
    PlotError
        The file holds no metrics for the run (the message names ``htdyn analyze``).

    Examples
    --------
    >>> import htdyn, tempfile
    >>> from htdyn.plot import plot_metrics
    >>> sim = htdyn.simulation(htdyn.RunConfig(model=htdyn.ModelConfig(n=64, d=16, h=24, n_test=32)),
    ...                        steps=3, output=f"{tempfile.mkdtemp()}/tiny.h5", eval={"metrics": ["powerlaw"]})
    >>> path = htdyn.simulate(sim).path
    >>> fig = plot_metrics(path, run=0)  # losses, network losses, alpha_Hill, alpha_KS, KTA
    >>> [ax.get_ylabel() for ax in fig.axes]
    ['MSE', 'MSE', '$\\alpha_{\\rm Hill}$', '$\\alpha_{\\rm KS}$', 'cosine / KTA']
    >>> line = fig.axes[2].lines[0]                     # alpha_Hill at the eval steps, as stored
    >>> with htdyn.open(path) as traj:
    ...     stored = traj.runs[0].metrics["alpha_hill"]
    >>> line.get_xdata().tolist(), bool((line.get_ydata() == stored).all())
    ([0, 1, 2, 3], True)
    """
    source, own = open_source(src)
    try:
        rv = source.run(run)
        losses = rv.losses()
        df = rv.metrics
        panels = _series(losses, df)
        ncol = 2 if len(panels) > 2 else 1
        nrow = -(-len(panels) // ncol)
        fig = fig if fig is not None else new_figure(10.0 if ncol == 2 else 7.0, 2.0 * nrow + 1.4)
        axes = fig.subplots(nrow, ncol, sharex=True, squeeze=False).ravel()
        for ax in axes[len(panels):]:
            fig.delaxes(ax)
        phase = (df["step"].to_numpy(), df["phase"].astype(str).to_numpy()) if "phase" in df else None
        for ax, (key, title, ylab, series, logy) in zip(axes, panels):
            for x, y, leg in series:
                ax.plot(x, y, "o-", ms=3, lw=1.2, label=leg or None, drawstyle="steps-post" if key == "spikes"
                        else "default")
            if logy:
                ax.set_yscale("log")
            if key == "hill":
                ax.axhline(2.0, color="0.3", ls=":", lw=0.8)
            if phase is not None:
                _phase_bands(ax, *phase)
            ax.set_ylabel(ylab, fontsize=8)
            ax.set_title(title, fontsize=9, loc="left")
            if len(series) > 1:
                ax.legend(fontsize=7, loc="best")
        from matplotlib.ticker import MaxNLocator

        axes[0].xaxis.set_major_locator(MaxNLocator(integer=True))
        for ax in axes[max(len(panels) - ncol, 0):len(panels)]:
            ax.set_xlabel("step $t$ (optimizer steps)")
            ax.xaxis.set_tick_params(labelbottom=True)
        ds = rv.run.diverged_step
        title = f"metrics against step, {rv.title}" + (f" (diverged at step {ds}: no metrics after it)" if ds >= 0
                                                        else "")
        if phase is not None:  # the legend carries the title: constrained layout stacks an outside legend
            _phase_key(fig, phase[1], title + "; the phase at each step (bands):")  # and a suptitle on each other
        else:
            fig.suptitle(title, fontsize=10)
        add_caption(fig, rv.caption + ("; bands: the Martin-Mahoney phase at each step" if phase is not None else ""))
        return fig
    finally:
        if own:
            source.close()


def _phase_key(fig: Any, names: np.ndarray, title: str) -> None:
    """The phase legend above the panels, under ``title`` (the caption is below them: the two never meet)."""
    from matplotlib.patches import Patch

    present = [p for p in PHASE_COLORS if p in set(names)]
    fig.legend([Patch(color=PHASE_COLORS[p], alpha=0.4) for p in present], present, fontsize=7,
               loc="outside upper center", ncols=len(present), frameon=False, title=title, title_fontsize=10)


def _phase_bands(ax: Any, steps: np.ndarray, names: np.ndarray) -> None:
    """Shade the step range of each stored phase (from halfway to the previous step to halfway to the next)."""
    st = steps.astype(float)
    if st.size == 0:
        return
    mid = (st[1:] + st[:-1]) / 2 if st.size > 1 else np.array([])
    lo = np.concatenate([[st[0] - 0.5], mid])
    hi = np.concatenate([mid, [st[-1] + 0.5]])
    for a, b, name in zip(lo, hi, names):
        ax.axvspan(a, b, color=PHASE_COLORS.get(name, "w"), alpha=0.25, lw=0)
