"""Sweep figures from a table with one row per run and evaluation step.

The table is a pandas DataFrame with the columns of :meth:`htdyn.open_sweep(DIR).table()
<htdyn.open_sweep>` and of the tidy CSV of ``htdyn analyze`` (docs/analysis.md):

============================  ============================================================
column                        meaning
============================  ============================================================
``run`` (or ``run_id``)       the run
``repeat`` or ``seed``        the repeat (optional: one repeat if absent)
``optimizer.name``            the optimizer (``gd``, ``adam``, ...; ``optimizer`` accepted)
``optimizer.lr``, ...         axis values, dotted config keys
``step``                      the evaluation step
``probe_loss``, ``test_loss``  the ridge read-out losses (the paper's train and test)
``alpha_hill``, ``alpha_ks``  PL_Alpha_Hill, PL_Alpha_KS
``kta``, ``sim_beta``         kernel-target alignment, |<v_1(W), beta>|
``phase``                     the phase name
============================  ============================================================

Each figure uses the last step of every run (``step="last"``) unless told a step.
:func:`sweep_frame` reads a sweep directory's table with its constant settings (for titles and
captions); :func:`sweep_table` builds one from trajectory files (their stored ``/analysis``, or
the online metrics of a sweep's batch files).  Both live in :mod:`htdyn.plot.sweeptable`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .common import PHASE_COLORS, add_caption, new_figure
from .phasediagram import phase_legend, plot_phase_diagram
from .sweeptable import (
    axis_label,
    check_one_sweep,
    column,
    final_rows,
    mean_std,
    need_columns,
    optimizer_colors,
    phase_share,
    settings_text,
    sweep_frame,
    sweep_table,
)

__all__ = ["sweep_table", "sweep_frame", "final_rows", "plot_sweep_panel", "plot_metric_vs", "plot_phase_diagram"]

def plot_metric_vs(df: Any, y: str, x: str = "optimizer.lr", *, hue: str | None = "optimizer.name",
                   step: int | str = "last", logx: bool | None = None, ax: Any = None, caption: str = "") -> Any:
    """``y`` against any axis ``x``, one curve per value of ``hue``, mean and a std band over repeats.

    Parameters
    ----------
    df : pandas.DataFrame
        The sweep table (module docstring).
    y, x : str
        Columns; ``x`` drawn as log10 when every value is positive (or as ``logx`` says).
    hue : str or None
        The column that makes the curves (default the optimizer).
    step : int or "last"
        The evaluation step (``"last"``: each run's last).
    logx : bool, optional
        Draw ``x`` as log10 (default: when every value is positive).
    ax : matplotlib Axes, optional
        Draw into this Axes (its Figure is returned); default a new Figure.
    caption : str
        The caption line (default the runs, step and repeats).

    Returns
    -------
    matplotlib.figure.Figure

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
    >>> from htdyn.plot import final_rows, plot_metric_vs, sweep_frame
    >>> df = sweep_frame(root)
    >>> fig = plot_metric_vs(df, "alpha_hill")                     # at each run's last step
    >>> [(line.get_label(), line.get_xdata().tolist()) for line in fig.axes[0].lines]   # x: log10 lr
    [('adam', [-1.0, 1.0]), ('gd', [-1.0, 1.0])]
    >>> last = final_rows(df).sort_values("optimizer.lr")
    >>> bool((fig.axes[0].lines[1].get_ydata() == last[last["optimizer.name"] == "gd"]["alpha_hill"]).all())
    True
    """
    hue = column(df, hue, "optimizer") if hue else None
    need_columns(df, [x, y], f"plotting {y} against {x}")
    rows = final_rows(df, step)
    own = ax is None
    if own:
        ax = new_figure(6.0, 4.0).add_subplot()
    logx = bool(np.all(rows[x].to_numpy(dtype=float) > 0)) if logx is None else logx
    groups = list(rows.groupby(hue)) if hue else [("", rows)]
    colors = optimizer_colors([n for n, _ in groups])
    for name, g in groups:
        xs, m, s = mean_std(g, x, y)
        xv = np.log10(xs) if logx else xs
        ax.plot(xv, m, "o-", ms=3, color=colors[str(name)], label=f"{name}" if hue else y)
        ax.fill_between(xv, m - s, m + s, alpha=0.2, color=colors[str(name)])
    ax.set_xlabel(axis_label(x, logx))
    ax.set_ylabel(y)
    if hue:
        ax.legend(fontsize=7)
    if own:
        n_rep = rows.groupby([c for c in (hue, x) if c])[y].size().max()
        add_caption(ax.figure, caption or f"{len(rows)} runs, step {step}, mean and std band over up to {n_rep} "
                    f"repeats; {settings_text(rows, (x, hue or ''))}")
    return ax.figure


def _panel_layout(fig: Any, with_kta: bool) -> dict[str, Any]:
    if with_kta:
        return fig.subplot_mosaic([["loss", "kta", "sim"], ["hill", "ks", "phase"]])
    return fig.subplot_mosaic([["loss", "sim"], ["hill", "ks"], ["phase", "phase"]],
                              height_ratios=[1.0, 1.0, 0.55])


def plot_sweep_panel(df: Any, x: str = "optimizer.lr", *, step: int | str = "last", caption: str = "",
                     title: str = "", fig: Any = None) -> Any:
    r"""The paper's lr-sweep panel (official ``bulk_lr.py``): losses, KTA, sim(W, beta), alpha_Hill, alpha_KS
    and the final phase against :math:`\log_{10}\eta`.

    One colour per optimizer, mean over repeats with a std band; in the loss panel the ridge
    read-out's train loss dashed and its test loss solid.  The KTA panel is drawn only when the
    table has a ``kta`` column (a sweep stores no W by default, and the KTA needs W_t and the
    data: ``store = "full"`` and ``htdyn analyze --metrics features`` add it); without it the
    caption says so.  The phase strip shows the most common final phase over repeats, with its
    share where repeats disagree.

    Parameters
    ----------
    df : pandas.DataFrame
        The sweep table (module docstring); its runs must differ only along ``x`` and the optimizer.
    x : str
        The axis (default the learning rate).
    step : int or "last"
        The evaluation step (``"last"``: each run's last).
    caption, title : str
        Override the caption (settings) and the title (step, repeats, sizes).
    fig : matplotlib Figure, optional
        Draw into this Figure (default a new one).

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    PlotError
        Fewer than two values of ``x`` (a one-run file), another axis varying, a column missing.

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
    >>> from htdyn.plot import plot_sweep_panel, sweep_frame
    >>> fig = plot_sweep_panel(sweep_frame(root))      # no KTA column: four panels and the phase strip
    >>> len(fig.axes)
    5
    >>> sorted({len(line.get_xdata()) for ax in fig.axes for line in ax.lines})   # two lrs per curve
    [2]
    """
    hue = column(df, "optimizer.name", "optimizer")
    need_columns(df, [x, "probe_loss", "test_loss", "alpha_hill"], "the sweep panel")
    rows = final_rows(df, step)
    check_one_sweep(rows, x, hue, "the sweep panel")
    with_kta = "kta" in rows.columns and bool(np.isfinite(rows["kta"].to_numpy(dtype=float)).any())
    fig = fig if fig is not None else new_figure(11.0, 7.0)
    axes = _panel_layout(fig, with_kta)
    groups = list(rows.groupby(hue)) if hue else [("", rows)]
    colors = optimizer_colors([n for n, _ in groups])
    panels = [("loss", "ridge read-out MSE", [("probe_loss", "train", "--"), ("test_loss", "test", "-")]),
              ("sim", r"sim$(W, \beta)$", [("sim_beta", "", "-")]),
              ("hill", r"$\alpha_{\rm Hill}$ (PL_Alpha_Hill)", [("alpha_hill", "", "-")]),
              ("ks", r"$\alpha_{\rm KS}$ (PL_Alpha_KS)", [("alpha_ks", "", "-")])]
    if with_kta:
        panels.insert(1, ("kta", "KTA (uncentred)", [("kta", "", "-")]))
    for key, ylab, cols in panels:
        ax = axes[key]
        for col, suffix, ls in cols:
            for name, g in groups:
                xs, m, s = mean_std(g.dropna(subset=[col]) if col in g else g.iloc[:0], x, col) \
                    if col in g else (np.array([]),) * 3
                lx = np.log10(xs)
                ax.plot(lx, m, ls, marker="o", ms=3, color=colors[str(name)],
                        label=f"{name} {suffix}".strip())
                ax.fill_between(lx, m - s, m + s, alpha=0.18, color=colors[str(name)], lw=0)
        if key == "hill":
            ax.axhline(2.0, color="0.4", ls=":", lw=0.8)
        ax.set_ylabel(ylab, fontsize=9)
        ax.set_xlabel(axis_label(x, True))
        ax.legend(fontsize=7, ncols=2 if key == "loss" else 1)
    _phase_strip(axes["phase"], rows, x, hue)
    steps_txt = ", ".join(map(str, sorted(rows["step"].unique())))
    n_rep = rows.groupby([c for c in (hue, x) if c]).size()
    reps = f"{n_rep.min()}" if n_rep.min() == n_rep.max() else f"{n_rep.min()}-{n_rep.max()}"
    what = "learning rates" if x == "optimizer.lr" else f"values of {x}"
    fig.suptitle(title or f"after step {steps_txt}: {', '.join(str(n) for n, _ in groups)} at {rows[x].nunique()} "
                 f"{what}, {reps} repeat(s) each; {settings_text(rows, sizes_only=True)}", fontsize=10)
    note = "" if with_kta else "; no KTA panel: the table has no kta (it needs W_t: store = \"full\", then " \
        "htdyn analyze --metrics features)"
    add_caption(fig, (caption or f"mean and std band over repeats; {settings_text(rows, (x, hue or ''))}") + note)
    return fig


def _phase_strip(ax: Any, rows: Any, x: str, hue: str | None) -> None:
    """The most common final phase per optimizer and x: one cell each, cells meeting halfway between x values."""
    from matplotlib.patches import Rectangle

    groups = list(rows.groupby(hue)) if hue else [("", rows)]
    lx = np.log10(np.sort(rows[x].unique().astype(float)))
    mid = (lx[1:] + lx[:-1]) / 2
    lo = np.concatenate([[lx[0] - (mid[0] - lx[0])], mid])
    hi = np.concatenate([mid, [lx[-1] + (lx[-1] - mid[-1])]])
    present = set()
    for i, (_, g) in enumerate(groups):
        for xv, gg in g.groupby(x):
            j = int(np.searchsorted(lx, np.log10(float(xv))))
            ph, k, n = phase_share(gg["phase"])
            present.add(ph)
            ax.add_patch(Rectangle((lo[j], i - 0.5), hi[j] - lo[j], 1.0, facecolor=PHASE_COLORS[ph],
                                   edgecolor="k", lw=0.5, label=f"{ph} {k}/{n}"))
            if k < n:
                ax.text(lx[j], i, f"{k}/{n}", ha="center", va="center", fontsize=6)
    ax.set_xlim(lo[0], hi[-1])
    ax.set_ylim(-0.5, len(groups) - 0.5)
    ax.set_yticks(range(len(groups)), [str(n) for n, _ in groups])
    ax.set_xlabel(axis_label(x, True))
    ax.set_title("final phase (most common over repeats; k/n: its share)", fontsize=8)
    phase_legend(ax, present)
