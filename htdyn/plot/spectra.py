"""Spectrum figures: the ESD at chosen steps, and its evolution over training in one picture.

The ESD is the eigenvalue distribution of W^T W (Kothapalli et al. 2025, Sec. 4: a density
histogram of log10 lambda, log-scaled counts, initial and final overlaid).  On it:
the power-law fits of the tail (Hill with xmin at the median, PL_Alpha_Hill; Clauset/KS,
PL_Alpha_KS), xmin marked; the fitted Marchenko-Pastur density and edge lambda_+
(:func:`htdyn.analysis.mp.fit_bulk`); the outliers past the Tracy-Widom threshold marked.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..analysis import mp, phases, powerlaw
from .common import PHASE_COLORS, add_caption, new_figure
from .source import Source, open_source

__all__ = ["plot_esd", "plot_esd_evolution", "draw_esd"]

_COLORS = ("tab:red", "tab:blue", "tab:green", "tab:purple", "tab:orange", "tab:brown")


def draw_esd(ax: Any, ev: np.ndarray, shape: tuple[int, int], *, label: str, color: str, bins: int = 100,
             fits: bool = True) -> dict[str, float]:
    """Draw one ESD on ``ax`` (log10 lambda against log density) with its fits; returns the numbers drawn.

    The histogram is of log10 lambda (density per unit log10 lambda).  With ``fits``: the
    MP density of the fitted bulk, transformed to log10 lambda (``p(log10 x) = ln(10) x p(x)``),
    its edge lambda_+ (dashed), the Hill and KS power laws above their xmin
    (``p(x) = (alpha - 1) / xmin (x / xmin)^(-alpha)``, scaled by the tail's share of the
    eigenvalues, so they sit on the histogram), and the outliers as ticks along the bottom.
    """
    ev = np.sort(np.asarray(ev, dtype=np.float64))
    ev = ev[ev > 0]
    lg = np.log10(ev)
    ax.hist(lg, bins=bins, density=True, histtype="stepfilled", alpha=0.35, color=color, label=label)
    ax.hist(lg, bins=bins, density=True, histtype="step", color=color, lw=0.8)
    dens, _ = np.histogram(lg, bins=bins, density=True)
    out: dict[str, float] = {"min_density": float(dens[dens > 0].min())}
    if not fits or ev.size < 8:
        return out
    n = ev.size
    hill = powerlaw.fit_hill(ev)
    ks = powerlaw.fit_ks(ev)
    for fit, ls, name in ((hill, "-", "Hill"), (ks, ":", "KS")):
        x = np.geomspace(fit.xmin, ev[-1], 60)
        share = fit.k / n
        dens = share * (fit.alpha - 1) / fit.xmin * (x / fit.xmin) ** (-fit.alpha) * x * np.log(10)
        ax.plot(np.log10(x), dens, ls, color=color, lw=1.4, label=f"{name} alpha={fit.alpha:.2f}")
        ax.axvline(np.log10(fit.xmin), color=color, ls=ls, lw=0.6, alpha=0.7)
    out.update(alpha_hill=hill.alpha, alpha_ks=ks.alpha, xmin_hill=hill.xmin, xmin_ks=ks.xmin)
    try:
        fit = mp.fit_bulk(ev, shape)
    except ValueError:
        return out
    N, M, Q = mp.aspect(shape)
    if fit.lambda_plus > 0:
        x = np.linspace(max(fit.lambda_minus, ev[0] * 0.5), fit.lambda_plus, 200)[1:-1]
        share = fit.n_bulk / n
        dens = share * np.asarray(mp.mp_density(x, fit.q_bulk if np.isfinite(fit.q_bulk) else Q, fit.sigma2))
        ax.plot(np.log10(x), dens * x * np.log(10), color="k", lw=1.0, alpha=0.8)
        ax.axvline(np.log10(fit.lambda_plus), color="k", ls="--", lw=0.8)
        spikes = ev[ev > fit.threshold]
        if spikes.size:
            ax.plot(np.log10(spikes), np.full(spikes.size, 0.0), "|", color=color, ms=12, mew=1.5,
                    transform=ax.get_xaxis_transform())
        out.update(lambda_plus=fit.lambda_plus, n_spikes=float(spikes.size))
    return out


def plot_esd(src: str | os.PathLike | Source, run: int = 0, steps: Sequence[int] | None = None,
             *, bins: int = 100) -> Any:
    """ESDs of W_t^T W_t at ``steps`` (default: the first and last stored), overlaid, with fits.

    Reads the stored ESD of ``htdyn analyze`` where there is one and computes it from the
    stored W_t otherwise.  The title gives each step's phase (Martin & Mahoney rule, and the
    paper's alpha_Hill < 2 convention).
    """
    source, own = open_source(src)
    try:
        rv = source.run(run)
        avail = rv.esd_steps()
        if steps is None:
            rv.final_step()
            steps = [avail[0], avail[-1]] if len(avail) > 1 else avail
        fig = new_figure(7.0, 4.6)
        ax = fig.add_subplot()
        phase_txt = []
        floor = np.inf
        for i, t in enumerate(steps):
            ev = rv.esd(int(t))
            drawn = draw_esd(ax, ev, rv.shape, label=f"step {t}", color=_COLORS[i % len(_COLORS)], bins=bins)
            floor = min(floor, drawn["min_density"])
            res = phases.classify_phase(ev[-min(rv.shape):], rv.shape)
            paper = phases.paper_phase(res)
            phase_txt.append(f"t={t}: {res.phase}" + (f" (paper: {paper.phase})" if paper.phase != res.phase else ""))
        ax.set_yscale("log")
        ax.set_ylim(bottom=floor / 3)  # the fitted laws are not drawn far below the histogram's lowest bar
        ax.set_xlabel(r"$\log_{10}\lambda$  (eigenvalues of $W^\top W$)")
        ax.set_ylabel(r"density per unit $\log_{10}\lambda$")
        ax.set_title(f"ESD, {rv.title}: " + "; ".join(phase_txt), fontsize=9)
        ax.legend(fontsize=7, loc="upper right", ncols=2)
        add_caption(fig, rv.caption + "; dashed: MP edge lambda_+, black: fitted MP bulk, ticks: spikes")
        return fig
    finally:
        if own:
            source.close()


def plot_esd_evolution(src: str | os.PathLike | Source, run: int = 0, *, bins: int = 80) -> Any:
    """Heat map of the log-ESD against step, with alpha_Hill and the phase along the top.

    Rows are the steps with a spectrum, columns log10 lambda on one common grid; the colour is
    log10 of the density per unit log10 lambda.  The MP edge of W_0 is drawn as a line.
    """
    source, own = open_source(src)
    try:
        rv = source.run(run)
        steps, spectra, edges, H = log_esd_histograms(rv, bins)
        alphas, cols = [], []
        for s in spectra:
            res = phases.classify_phase(s, rv.shape)
            alphas.append(res.features.get("alpha_hill", np.nan))
            cols.append(PHASE_COLORS.get(res.phase, "w"))
        fig = new_figure(7.0, 5.2)
        gs = fig.add_gridspec(3, 1, height_ratios=(1.0, 0.25, 4.0))
        ax_a = fig.add_subplot(gs[0])
        ax_p = fig.add_subplot(gs[1], sharex=ax_a)
        ax = fig.add_subplot(gs[2], sharex=ax_a)
        st = np.asarray(steps, dtype=float)
        ax_a.plot(st, alphas, "o-", ms=3, color="k")
        ax_a.axhline(2.0, color="tab:red", lw=0.7, ls="--")
        ax_a.set_ylabel(r"$\alpha_{Hill}$")
        ax_p.bar(st, np.ones_like(st), width=_widths(st), color=cols, align="center")
        ax_p.set_yticks([])
        ax_p.set_ylabel("phase", rotation=0, ha="right", va="center", fontsize=8)
        logH = np.log10(np.where(H > 0, H, np.nan))
        mesh = ax.pcolormesh(_step_edges(st), edges, logH.T, shading="flat", cmap="viridis")
        fig.colorbar(mesh, ax=ax, label=r"$\log_{10}$ density")
        try:
            ax.axhline(np.log10(mp.fit_bulk(spectra[0], rv.shape).lambda_plus), color="w", ls="--", lw=0.8)
        except ValueError:
            pass
        ax.set_xlabel("step t")
        ax.set_ylabel(r"$\log_{10}\lambda$  (eigenvalues of $W_t^\top W_t$)")
        seen = dict.fromkeys(c for c in cols)
        names = [p for p, c in PHASE_COLORS.items() if c in seen]
        handles = [_patch(PHASE_COLORS[p]) for p in names]
        ax_a.legend(handles, names, fontsize=6, ncols=3, loc="upper right")
        ax_a.set_title(f"ESD evolution, {rv.title}", fontsize=10)
        add_caption(fig, rv.caption + "; dashed: MP edge of W_0")
        return fig
    finally:
        if own:
            source.close()


def _patch(color: str) -> Any:
    from matplotlib.patches import Patch

    return Patch(color=color)


def _step_edges(st: np.ndarray) -> np.ndarray:
    if st.size == 1:
        return np.array([st[0] - 0.5, st[0] + 0.5])
    mid = (st[1:] + st[:-1]) / 2
    return np.concatenate([[st[0] - (mid[0] - st[0])], mid, [st[-1] + (st[-1] - mid[-1])]])


def _widths(st: np.ndarray) -> np.ndarray:
    return np.diff(_step_edges(st))


def log_esd_histograms(rv: Any, bins: int) -> tuple[list[int], list[np.ndarray], np.ndarray, np.ndarray]:
    """Every stored spectrum of a run on one log10-lambda grid: (steps, spectra, bin edges, densities).

    The densities are per unit log10 lambda over the positive eigenvalues, one row per step.
    """
    rv.final_step()
    steps = rv.esd_steps()
    spectra = [np.asarray(rv.esd(t)) for t in steps]
    pos = np.concatenate([s[s > 0] for s in spectra])
    edges = np.linspace(np.log10(pos.min()), np.log10(pos.max()), bins + 1)
    H = np.array([np.histogram(np.log10(s[s > 0]), bins=edges, density=True)[0] for s in spectra])
    return steps, spectra, edges, H
