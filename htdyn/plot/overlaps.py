"""The optimizer updates against the weights: singular-vector overlap maps, update spectra and ranks.

Kothapalli et al. (2025; the official code's overlap plots): with M_t the update and thin SVDs W = U_W S_W V_W^T,
M = U_M S_M V_M^T, the squared overlaps ``(U_W^T U_M)^{o2}`` (left) and ``(V_W^T V_M)^{o2}``
(right), here as top-k x top-k heat maps.  htdyn's ``update(t) = W_{t+1} - W_t`` is the
paper's M_{t+1} (docs/format.md): the paper's pair (W_{t-1}, M_t) is (W_t, update(t)) and its
(W_t, M_t) is (W_{t+1}, update(t)); the figure uses the paper's names.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..analysis.alignment import overlap_matrices
from ..analysis.esd import singular_values
from .common import PlotError, add_caption, root_figure, target_figure
from .source import Source, open_source

__all__ = ["plot_overlaps", "plot_update_spectra"]


def plot_overlaps(src: str | os.PathLike | Source, run: int = 0, step: int | None = None, *, k: int = 10,
                  fig: Any = None) -> Any:
    """Top-k x top-k squared overlaps of W's and the update's singular vectors at one step.

    Four maps: left and right, for the paper's (W_{t-1}, M_t) and (W_t, M_t), with
    ``t - 1 = step`` (default: the second stored update, where the paper's t = 2 shows the
    update riding the spike; the first if only one is stored).  ``fig``: a Figure or SubFigure
    to draw into.  Returns the Figure.

    Parameters
    ----------
    src : str, path or Source
        A trajectory file (or an open :class:`~htdyn.plot.source.Source`).
    run : int
        The run index.
    step : int, optional
        ``t - 1`` (see above).
    k : int
        How many singular vectors of each.
    fig : optional
        A Figure or SubFigure to draw into.

    Returns
    -------
    matplotlib.figure.Figure

    References
    ----------
    .. [1] Kothapalli, Pang, Deng, Liu & Yang, "From Spikes to Heavy Tails: Unveiling the Spectral
       Evolution of Neural Networks", TMLR 2025 (arXiv 2406.04657): the overlaps of the singular
       vectors of W and of the update M.

    Examples
    --------
    >>> import htdyn, tempfile
    >>> from htdyn.plot import plot_overlaps
    >>> sim = htdyn.simulation(htdyn.RunConfig(model=htdyn.ModelConfig(n=64, d=16, h=24, n_test=32)),
    ...                        steps=3, output=f"{tempfile.mkdtemp()}/tiny.h5")  # a 3-step run
    >>> path = htdyn.simulate(sim).path
    >>> fig = plot_overlaps(path, step=1)
    >>> len(fig.axes)  # four maps and a colour bar
    5
    >>> O = fig.axes[0].images[0].get_array()      # (U_W^T U_M)^2 of the top 10 of each
    >>> O.shape, bool((O.sum(axis=1) <= 1 + 1e-9).all())  # squared overlaps of unit vectors: rows sum to <= 1
    ((10, 10), True)
    """
    source, own = open_source(src)
    try:
        rv = source.run(run)
        ups = rv.need_updates("the overlap maps")
        if step is None:
            step = ups[1] if len(ups) > 1 else ups[0]
        if step not in ups:
            raise PlotError(f"run {run} of {source.path!r} has no update stored at step {step}; stored: "
                            f"{', '.join(map(str, ups[:8]))}{', ...' if len(ups) > 8 else ''}")
        M = rv.run.update(step)
        W_prev = rv.run.W(step)
        stored = {int(s) for s in rv.run.steps}
        W_next = rv.run.W(step + 1) if step + 1 in stored else W_prev + M
        k = min(k, min(M.shape))
        fig, made = target_figure(fig, 7.2, 6.4)
        axes = fig.subplots(2, 2)
        im = None
        t = step + 1  # the paper's index of this update
        for row, (W, name) in enumerate(((W_prev, f"W_{{{t - 1}}}"), (W_next, f"W_{{{t}}}"))):
            L, R = overlap_matrices(W, M, k)
            pairs = ((np.asarray(L), "left: $(U_W^T U_M)^2$"), (np.asarray(R), "right: $(V_W^T V_M)^2$"))
            for col, (O, side) in enumerate(pairs):
                ax = axes[row, col]
                im = ax.imshow(O, vmin=0, vmax=1, cmap="magma", origin="upper", extent=(0.5, k + 0.5, k + 0.5, 0.5))
                ax.set_title(f"${name}$ vs $M_{{{t}}}$, {side}", fontsize="small")
                ax.set_xlabel(f"singular vector index of $M_{{{t}}}$")
                ax.set_ylabel(f"index of ${name}$")
        fig.colorbar(im, ax=axes, label="squared overlap (0-1)", shrink=0.8)
        fig.suptitle(f"update/weight overlaps, {rv.title}, paper step $t$={t}", fontsize="medium")
        if made:
            add_caption(fig, rv.caption + f"; $M_{{{t}}}=W_{{{t}}}-W_{{{t - 1}}}$ (htdyn update({step}))")
        return root_figure(fig)
    finally:
        if own:
            source.close()


def plot_update_spectra(src: str | os.PathLike | Source, run: int = 0, steps: Sequence[int] | None = None,
                        *, k: int = 20, fig: Any = None) -> Any:
    """Top-k singular values of the updates at ``steps`` (default: up to 6 spread over the stored ones),
    and the update's stable rank ``||M||_F^2 / ||M||_2^2`` against step.  ``fig``: a Figure or
    SubFigure to draw into.  Returns the Figure.

    Parameters
    ----------
    src : str, path or Source
        A trajectory file (or an open :class:`~htdyn.plot.source.Source`).
    run : int
        The run index.
    steps : sequence of int, optional
        The updates to draw.
    k : int
        How many singular values of each.
    fig : optional
        A Figure or SubFigure to draw into.

    Returns
    -------
    matplotlib.figure.Figure

    References
    ----------
    .. [1] Kothapalli, Pang, Deng, Liu & Yang, "From Spikes to Heavy Tails: Unveiling the Spectral
       Evolution of Neural Networks", TMLR 2025 (arXiv 2406.04657): the singular values of the
       updates M_t = W_t - W_{t-1} beside the overlap maps (the official code's bar plots of
       sigma_i(M_t)).
    .. [2] M. Rudelson & R. Vershynin, "Sampling from large matrices: an approach through geometric
       functional analysis", J. ACM 54(4), 2007 (the stable rank ||M||_F^2 / ||M||_2^2).

    Examples
    --------
    >>> import htdyn, tempfile
    >>> from htdyn.plot import plot_update_spectra
    >>> sim = htdyn.simulation(htdyn.RunConfig(model=htdyn.ModelConfig(n=64, d=16, h=24, n_test=32)),
    ...                        steps=3, output=f"{tempfile.mkdtemp()}/tiny.h5")  # a 3-step run
    >>> path = htdyn.simulate(sim).path
    >>> fig = plot_update_spectra(path)
    >>> [ax.get_title() for ax in fig.axes]
    ['singular values of the updates', 'update stable rank']
    >>> [len(line.get_ydata()) for line in fig.axes[0].lines]   # sigma_1..16 of M_1, M_2, M_3
    [16, 16, 16]
    >>> fig.axes[1].lines[0].get_xdata().tolist()                # paper steps t of M_t
    [1, 2, 3]
    """
    source, own = open_source(src)
    try:
        rv = source.run(run)
        ups = rv.need_updates("the update spectra")
        if steps is None:
            steps = sorted({ups[i] for i in np.linspace(0, len(ups) - 1, min(6, len(ups))).round().astype(int)})
        srank = []
        for t in ups:
            s = np.asarray(singular_values(rv.run.update(t)))
            srank.append(float(np.sum(s**2) / s.max() ** 2) if s.max() > 0 else np.nan)
        fig, made = target_figure(fig, 7.0, 4.0)
        ax1, ax2 = fig.subplots(1, 2)
        for t in steps:
            s = np.sort(np.asarray(singular_values(rv.run.update(int(t)))))[::-1][:k]
            ax1.semilogy(np.arange(1, s.size + 1), s, "o-", ms=3, label=f"$M_{{{int(t) + 1}}}$")
        ax1.set_xlabel("index $i$")
        ax1.set_ylabel(r"$\sigma_i(M_t)$ (weight units)")
        ax1.set_title("singular values of the updates", fontsize="medium")
        ax1.legend(fontsize="small")
        ax2.plot(np.asarray(ups) + 1, srank, "o-", ms=3)
        ax2.set_xlabel(r"paper step $t$ (update $M_t=W_t-W_{t-1}$)")
        ax2.set_ylabel("stable rank of $M_t$")
        ax2.set_title("update stable rank", fontsize="medium")
        fig.suptitle(f"updates, {rv.title}", fontsize="medium")
        if made:
            add_caption(fig, rv.caption)
        return root_figure(fig)
    finally:
        if own:
            source.close()
