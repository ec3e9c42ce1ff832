r"""The phase diagram: the Martin-Mahoney phase over two axes (lr x step, lr x n, ...), one panel per
value of every other swept axis (the optimizer first), on a categorical cell grid.

Each cell is the most common phase over the repeats at that point; where the repeats disagree
the cell says how many of them are in the drawn phase (``3/5``) and is hatched.  Nothing is
pooled: runs that differ along an axis that is not on the plot go to separate panels, and a
table that would need more than ``max_panels`` panels is refused.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .common import PHASE_COLORS, PlotError, add_caption, new_figure
from .sweeptable import axis_label, final_rows, need_columns, phase_share, settings_text, swept_axes

__all__ = ["plot_phase_diagram", "phase_cells", "phase_legend"]


def phase_cells(df: Any, x: str = "optimizer.lr", y: str = "step", facet: Sequence[str] = ()) -> Any:
    """One row per (facet values, x, y): the modal ``phase``, its count ``k`` and the repeats ``n``.

    Parameters
    ----------
    df : pandas.DataFrame
        The sweep table (rows of every repeat; ``phase`` by name, missing for a diverged run).
    x, y : str
        The axes of the diagram.
    facet : sequence of str
        The axes that make the panels.

    Returns
    -------
    pandas.DataFrame
        Columns ``*facet, x, y, phase, k, n``; the phase is the most common one
        (:func:`~htdyn.plot.sweeptable.phase_share`: ties go to the earlier Martin-Mahoney phase).

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"optimizer.lr": [0.1, 0.1, 0.1, 1.0, 1.0, 1.0], "step": [3] * 6,
    ...                    "phase": ["random-like", "random-like", "bulk+spikes", "heavy-tailed", "heavy-tailed",
    ...                              "heavy-tailed"]})
    >>> phase_cells(df).values.tolist()           # 2 of 3 repeats random-like at lr 0.1
    [[0.1, 3, 'random-like', 2, 3], [1.0, 3, 'heavy-tailed', 3, 3]]
    """
    import pandas as pd

    keys = [*facet, x, y]
    out = []
    for key, g in df.groupby(keys, sort=True):
        ph, k, n = phase_share(g["phase"].tolist())
        out.append({**dict(zip(keys, key)), "phase": ph, "k": k, "n": n})
    return pd.DataFrame(out, columns=[*keys, "phase", "k", "n"])


def plot_phase_diagram(df: Any, x: str = "optimizer.lr", y: str = "step", *, step: int | str = "last",
                       facet: Sequence[str] | None = None, max_panels: int = 12, caption: str = "",
                       fig: Any = None) -> Any:
    r"""The phase as colour over ``x`` x ``y``, one panel per value of the other swept axes.

    Parameters
    ----------
    df : pandas.DataFrame
        The sweep table (:mod:`htdyn.plot.sweep`); ``phase`` by name.
    x, y : str
        The axes; with ``y = "step"`` every stored step is a row (lr x steps), otherwise
        each run's ``step`` (default the last) is used.
    step : int or "last"
        The evaluation step when ``y`` is not ``"step"``.
    facet : sequence of str, optional
        The axes that make the panels (default every swept axis but ``x`` and ``y``,
        :func:`~htdyn.plot.sweeptable.swept_axes`: the optimizer for the paper's lr sweep).
    max_panels : int
        Refuse a table that needs more panels (select a part of it first).
    caption : str
        The caption line (default the settings the runs share).
    fig : matplotlib Figure, optional
        Draw into this Figure (default a new one).

    Returns
    -------
    matplotlib.figure.Figure
        One Axes per panel; each holds one QuadMesh whose array is the phase's index in
        :data:`htdyn.analysis.phases.PHASES` per cell (rows y, columns x; masked where no run is).

    Raises
    ------
    PlotError
        A missing column, fewer than two values of ``x`` (a one-run file), too many panels.

    References
    ----------
    .. [1] C. H. Martin & M. W. Mahoney, "Implicit self-regularization in deep neural networks",
       JMLR 22(165), 2021: the 5+1 phases (random-like, bleeding-out, bulk+spikes, bulk-decay,
       heavy-tailed, rank-collapse) the colours name.
    .. [2] Kothapalli, Pang, Deng, Liu & Yang, "From Spikes to Heavy Tails: Unveiling the Spectral
       Evolution of Neural Networks", TMLR 2025 (arXiv 2406.04657): the route bulk+spikes ->
       bulk-decay -> heavy-tailed as the learning rate and the steps grow (Figs. 2-4 in the
       numbering of v2), which this diagram maps over lr x step.

    Examples
    --------
    A tiny sweep (GD and Adam at two learning rates, 3 steps; ``htdyn sweep FILE -o DIR`` makes the
    same from a sweep file):

    >>> import htdyn, tempfile
    >>> from htdyn.sweep.driver import make_executor, prepare, run_sweep
    >>> from htdyn.sweep.spec import spec_from_dict
    >>> spec = spec_from_dict({"name": "tiny", "steps": 3, "model": {"n": 64, "d": 16, "h": 24, "n_test": 16},
    ...                        "sweep": {"optimizer.name": ["gd", "adam"], "optimizer.lr": [0.1, 10.0],
    ...                                  "store": "scalars"}})
    >>> root = f"{tempfile.mkdtemp()}/tiny"
    >>> _ = run_sweep(prepare(spec, root), make_executor("local"))   # 4 runs of 3 steps, about a second
    >>> from htdyn.plot import plot_phase_diagram, sweep_frame
    >>> fig = plot_phase_diagram(sweep_frame(root))               # lr x step, one panel per optimizer
    >>> [ax.get_title() for ax in fig.axes]
    ['adam', 'gd']
    >>> fig.axes[0].collections[0].get_array().shape                # rows: steps 0 and 3; columns: 2 lrs
    (2, 2)
    """
    need_columns(df, [x, "phase"] + ([] if y == "step" else [y]), "the phase diagram")
    rows = df if y == "step" else final_rows(df, step)
    if rows[x].nunique() < 2:
        raise PlotError(f"the phase diagram needs runs at two or more values of {x}; the table has "
                        f"{rows[x].nunique()} ({rows['run_id'].nunique() if 'run_id' in rows else len(rows)} run(s))")
    facet = swept_axes(rows, exclude=(x, y)) if facet is None else list(facet)
    cells = phase_cells(rows, x, y, facet)
    panels = list(cells.groupby(facet, sort=True)) if facet else [((), cells)]
    if len(panels) > max_panels:
        raise PlotError(f"the phase diagram would need {len(panels)} panels (one per value of "
                        f"{', '.join(facet)}); select a part of the table (e.g. --select {facet[-1]}=...)")
    xs, ys = np.sort(rows[x].unique()), np.sort(rows[y].unique())
    ncol = min(len(panels), 3)
    nrow = -(-len(panels) // ncol)
    fig = fig if fig is not None else new_figure(min(4.2 * ncol, 13.0) + 1.4, 0.5 + nrow * (0.8 + 0.32 * len(ys)))
    axes = fig.subplots(nrow, ncol, squeeze=False, sharex=True, sharey=True).ravel()
    for ax, (key, g) in zip(axes, panels):
        _draw_cells(ax, g, x, y, xs, ys)
        key = key if isinstance(key, tuple) else (key,)
        ax.set_title(", ".join(str(v) if k == "optimizer.name" else f"{k}={v}" for k, v in zip(facet, key)),
                     fontsize=9)
    for ax in axes[len(panels):]:
        fig.delaxes(ax)
    phase_legend(fig, cells["phase"].unique())
    mixed = int((cells["k"] < cells["n"]).sum())
    fig.suptitle(f"phase over {axis_label(x)} x {axis_label(y)}"
                 + (f", one panel per {', '.join(facet)}" if facet else ""), fontsize=10)
    n_txt = f"{cells['n'].min()}" if cells["n"].min() == cells["n"].max() else \
        f"{cells['n'].min()}-{cells['n'].max()}"
    default = (f"colour: the most common phase over the repeats ({n_txt} per cell); k/n and hatching: {mixed} "
               f"cell(s) where the repeats disagree; {settings_text(rows, (x, y, *facet))}")
    add_caption(fig, caption or default)
    return fig


def _draw_cells(ax: Any, cells: Any, x: str, y: str, xs: np.ndarray, ys: np.ndarray) -> None:
    """One panel: a pcolormesh of phase indices on the categorical grid, k/n text on mixed cells."""
    from matplotlib.colors import BoundaryNorm, ListedColormap

    from ..analysis.phases import PHASES

    codes = np.ma.masked_all((len(ys), len(xs)))
    xi = {v: i for i, v in enumerate(xs)}
    yi = {v: i for i, v in enumerate(ys)}
    for rec in cells.to_dict("records"):
        i, j = yi[rec[y]], xi[rec[x]]
        codes[i, j] = PHASES.index(rec["phase"])
        if rec["k"] < rec["n"]:
            ax.text(j, i, f"{rec['k']}/{rec['n']}", ha="center", va="center", fontsize=7, zorder=4,
                    bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.8})
            ax.add_patch(_hatch(j, i))
    cmap = ListedColormap([PHASE_COLORS[p] for p in PHASES]).with_extremes(bad="white")
    ax.pcolormesh(np.arange(len(xs) + 1) - 0.5, np.arange(len(ys) + 1) - 0.5, codes, cmap=cmap,
                  norm=BoundaryNorm(np.arange(len(PHASES) + 1) - 0.5, len(PHASES)), edgecolors="k", linewidth=0.5)
    ax.set_xticks(range(len(xs)), [f"{v:g}" if isinstance(v, (float, np.floating)) else str(v) for v in xs],
                  rotation=45 if len(xs) > 6 else 0, fontsize=7)
    ax.set_yticks(range(len(ys)), [f"{v:g}" if isinstance(v, (float, np.floating)) else str(v) for v in ys],
                  fontsize=7)
    ax.set_xlim(-0.5, len(xs) - 0.5)
    ax.set_ylim(-0.5, len(ys) - 0.5)
    ax.set_xlabel(axis_label(x), fontsize=8)
    ax.set_ylabel(axis_label(y), fontsize=8)


def _hatch(j: int, i: int) -> Any:
    from matplotlib.patches import Rectangle

    return Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, hatch="///", edgecolor="0.25", lw=0.0, zorder=3)


def phase_legend(where: Any, present: Sequence[str]) -> None:
    """A legend of the phases ``present`` (in Martin-Mahoney order), right of an Axes or a Figure."""
    from matplotlib.patches import Patch

    names = [p for p in PHASE_COLORS if p in set(present)]
    handles = [Patch(facecolor=PHASE_COLORS[p], edgecolor="k", lw=0.5) for p in names]
    if hasattr(where, "add_subfigure"):  # a Figure
        where.legend(handles, names, fontsize=7, loc="outside right upper", frameon=False, title="phase",
                     title_fontsize=7)
    else:
        where.legend(handles, names, fontsize=6, loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
