"""Metrics against step for one run: losses, power-law alphas, stable rank, spikes, phase, alignments.

Panels (each only when the stored analysis holds its columns; losses always, from the file's
evaluations): the probe ridge ("train" in the paper), test and network losses; alpha_Hill and
alpha_KS; stable rank and spike count; sim(W, beta) = |<v_1(W_t), beta>| and the KTA; the top
singular value sigma_1 = sqrt(lambda_max).  The Martin-Mahoney phase is drawn as coloured bands
behind every panel.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from .common import PHASE_COLORS, add_caption, new_figure
from .source import Source, open_source

__all__ = ["plot_metrics", "PANELS"]

#: (title, y label, [(column, legend)], log y)
PANELS = (
    ("losses", "MSE", [("probe_loss", "probe ridge (paper: train)"), ("test_loss", "test ridge"),
                       ("net_train_loss", "network train"), ("net_test_loss", "network test")], True),
    ("power-law exponents", "alpha", [("alpha_hill", "PL_Alpha_Hill"), ("alpha_ks", "PL_Alpha_KS")], False),
    ("ranks and spikes", "count", [("stable_rank", "stable rank ||W||_F^2/||W||_2^2"),
                                   ("n_spikes", "spikes past MP edge + 3 TW")], False),
    ("alignment", "cosine / alignment", [("sim_beta", "sim(W, beta) = |<v_1, beta>|"), ("kta", "KTA (uncentred)"),
                                         ("kta_centered", "KTA (centred)")], False),
    ("top singular value", "sigma_1(W_t)", [("spectral_norm", "sigma_1")], True),
)


def plot_metrics(src: str | os.PathLike | Source, run: int = 0) -> Any:
    """Every stored metric of one run against step (see the module docstring), one panel each."""
    source, own = open_source(src)
    try:
        rv = source.run(run)
        losses = rv.losses()
        source.need_analysis("the metrics against step")
        df = rv.metrics
        panels = []
        for title, ylab, cols, logy in PANELS:
            series = []
            for col, leg in cols:
                if col in losses:
                    series.append((losses["step"], losses[col], leg))
                elif df is not None and col in df and np.isfinite(df[col].to_numpy(dtype=float)).any():
                    series.append((df["step"].to_numpy(), df[col].to_numpy(dtype=float), leg))
            if series:
                panels.append((title, ylab, series, logy))
        fig = new_figure(7.0, 1.9 * len(panels) + 0.8)
        axes = fig.subplots(len(panels), 1, sharex=True, squeeze=False)[:, 0]
        phase = None
        if df is not None and "phase" in df:
            phase = (df["step"].to_numpy(), df["phase"].astype(str).to_numpy())
        for ax, (title, ylab, series, logy) in zip(axes, panels):
            for x, y, leg in series:
                ax.plot(x, y, "o-", ms=3, lw=1.2, label=leg)
            if logy:
                ax.set_yscale("log")
            if title == "power-law exponents":
                ax.axhline(2.0, color="tab:red", ls="--", lw=0.7)
            if phase is not None:
                _phase_bands(ax, *phase)
            ax.set_ylabel(ylab, fontsize=8)
            ax.set_title(title, fontsize=9, loc="left")
            ax.legend(fontsize=7, loc="best")
        axes[-1].set_xlabel("step t (optimizer steps)")
        if phase is not None:
            names = [p for p in PHASE_COLORS if p in set(phase[1])]
            from matplotlib.patches import Patch

            fig.legend([Patch(color=PHASE_COLORS[p], alpha=0.4) for p in names], names, fontsize=7,
                       loc="outside lower center", ncols=len(names), title="phase (bands)", title_fontsize=7)
        fig.suptitle(f"metrics against step, {rv.title}", fontsize=10)
        add_caption(fig, rv.caption)
        return fig
    finally:
        if own:
            source.close()


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
