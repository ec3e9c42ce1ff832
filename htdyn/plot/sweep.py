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
:func:`sweep_table` builds such a table from trajectory files (``htdyn.open`` plus the stored
``/analysis``) until the sweep package's ``open_sweep`` is there.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from .common import PHASE_COLORS, PlotError, add_caption, need_pandas, new_figure

__all__ = ["sweep_table", "final_rows", "plot_sweep_panel", "plot_metric_vs", "plot_phase_diagram", "SWEEP_PANELS"]

#: the paper's lr-sweep panels (bulk_lr.py): (title, [(column, legend suffix)])
SWEEP_PANELS = (
    ("train and test loss", [("probe_loss", "train"), ("test_loss", "test")]),
    ("KTA", [("kta", "")]),
    ("sim(W, beta)", [("sim_beta", "")]),
    ("PL_Alpha_Hill", [("alpha_hill", "")]),
    ("PL_Alpha_KS", [("alpha_ks", "")]),
)


def sweep_table(paths: Sequence[str | os.PathLike]) -> Any:
    """One DataFrame of the stored analyses of several trajectory files (columns as above).

    Every run gets its config's dotted keys ``optimizer.name``, ``optimizer.lr``, ``model.n``,
    ... and ``seed`` (as ``repeat``), ``file`` and ``run_id``.  A file without analysis is an error
    naming the command to run.
    """
    need_pandas("a sweep table")
    import pandas as pd

    from ..analysis.offline import read_analysis
    from ..errors import StoreError
    from ..io.reader import open as open_trajectory
    from ..runkeys import flatten

    frames = []
    for p in paths:
        try:
            table = read_analysis(p).table()
        except StoreError:
            raise PlotError(f"{str(p)!r} holds no analysis; run: htdyn analyze {p}") from None
        with open_trajectory(p) as traj:
            meta = {}
            for r in traj.runs:
                flat = flatten(r.config)
                meta[r.index] = {**{k: v for k, v in flat.items() if not isinstance(v, (list, dict))},
                                 "run_id": r.run_id, "repeat": r.config.get("seed")}
        extra = pd.DataFrame([{"run": i, **m} for i, m in meta.items()])
        table = table.drop(columns=[c for c in extra.columns if c in table.columns and c != "run"])
        frames.append(table.merge(extra, on="run").assign(file=str(p)))
    return pd.concat(frames, ignore_index=True)


def _col(df: Any, *names: str) -> str | None:
    return next((n for n in names if n in df.columns), None)


def final_rows(df: Any, step: int | str = "last") -> Any:
    """The rows of each run at ``step`` (``"last"``: each run's last evaluation step)."""
    key = _col(df, "run_id", "run")
    if key is None or "step" not in df.columns:
        raise PlotError("the sweep table needs the columns 'run' (or 'run_id') and 'step'")
    keys = [key] + (["file"] if "file" in df.columns and key == "run" else [])
    if step == "last":
        idx = df.groupby(keys)["step"].idxmax()
        return df.loc[idx].reset_index(drop=True)
    out = df[df["step"] == int(step)]
    if out.empty:
        raise PlotError(f"no row of the sweep table is at step {step}; steps: {sorted(df['step'].unique())[:10]}")
    return out.reset_index(drop=True)


def _need(df: Any, cols: Sequence[str], what: str) -> None:
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise PlotError(f"{what} needs the column(s) {', '.join(missing)} in the sweep table; "
                        "analyse the files with the sets that make them (htdyn analyze FILE --metrics all)")


def _mean_std(rows: Any, x: str, y: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    g = rows.groupby(x)[y].agg(["mean", "std"]).sort_index()
    return g.index.to_numpy(dtype=float), g["mean"].to_numpy(dtype=float), g["std"].fillna(0).to_numpy(dtype=float)


def plot_metric_vs(df: Any, y: str, x: str = "optimizer.lr", *, hue: str | None = "optimizer.name",
                   step: int | str = "last", logx: bool | None = None, ax: Any = None, caption: str = "") -> Any:
    """``y`` against any axis ``x``, one curve per value of ``hue``, mean and a std band over repeats."""
    hue = _col(df, hue, "optimizer") if hue else None
    _need(df, [x, y], f"plotting {y} against {x}")
    rows = final_rows(df, step)
    fig = None
    if ax is None:
        fig = new_figure(6.0, 4.0)
        ax = fig.add_subplot()
    logx = bool(np.all(rows[x].to_numpy(dtype=float) > 0)) if logx is None else logx
    groups = rows.groupby(hue) if hue else [("", rows)]
    for name, g in groups:
        xs, m, s = _mean_std(g, x, y)
        xv = np.log10(xs) if logx else xs
        ax.plot(xv, m, "o-", ms=3, label=f"{name}" if hue else y)
        ax.fill_between(xv, m - s, m + s, alpha=0.2)
    ax.set_xlabel(f"log10({x})" if logx else x)
    ax.set_ylabel(y)
    if hue:
        ax.legend(fontsize=7)
    if fig is not None:
        n_rep = rows.groupby([c for c in (hue, x) if c])[y].size().max()
        add_caption(fig, caption or f"{len(rows)} runs, step {step}, mean and std band over up to {n_rep} repeats")
    return fig


def plot_sweep_panel(df: Any, x: str = "optimizer.lr", *, step: int | str = "last", caption: str = "") -> Any:
    """The paper's lr-sweep panel: losses, KTA, sim(W, beta), PL_Alpha_Hill, PL_Alpha_KS against log10(lr),
    GD and Adam curves (one per optimizer), mean and a std band over repeats."""
    hue = _col(df, "optimizer.name", "optimizer")
    _need(df, [x, "probe_loss", "test_loss", "alpha_hill"], "the sweep panel")
    rows = final_rows(df, step)
    fig = new_figure(11.0, 6.5)
    axes = fig.subplots(2, 3).ravel()
    for ax, (title, cols) in zip(axes, SWEEP_PANELS):
        for col, suffix in cols:
            if col not in rows.columns:
                ax.text(0.5, 0.5, f"no {col} in the table", ha="center", transform=ax.transAxes)
                continue
            for name, g in (rows.groupby(hue) if hue else [("", rows)]):
                xs, m, s = _mean_std(g, x, col)
                lbl = f"{name}:{suffix}" if suffix else str(name)
                ax.plot(np.log10(xs), m, "o-", ms=3, label=lbl)
                ax.fill_between(np.log10(xs), m - s, m + s, alpha=0.2)
        if title == "PL_Alpha_Hill":
            ax.axhline(2.0, color="tab:red", ls="--", lw=0.7)
        ax.set_title(title, fontsize=9)
        ax.set_xlabel(f"log10({x})")
        ax.set_ylabel(title if title != "train and test loss" else "MSE")
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7)
    _phase_strip(axes[-1], rows, x, hue)
    n_rep = rows.groupby([c for c in (hue, x) if c]).size().max()
    fig.suptitle(f"sweep after step {step}: {len(rows)} runs", fontsize=10)
    add_caption(fig, caption or f"mean and std band over up to {n_rep} repeats per point")
    return fig


def _phase_strip(ax: Any, rows: Any, x: str, hue: str | None) -> None:
    """The last panel: the most common final phase per optimizer and x, as coloured squares."""
    if "phase" not in rows.columns:
        ax.set_axis_off()
        return
    groups = list(rows.groupby(hue)) if hue else [("", rows)]
    for i, (_, g) in enumerate(groups):
        for xv, gg in g.groupby(x):
            ph = gg["phase"].astype(str).mode().iloc[0]
            ax.scatter(np.log10(float(xv)), i, s=120, marker="s", color=PHASE_COLORS.get(ph, "w"), edgecolors="k")
    ax.set_yticks(range(len(groups)), [str(n) for n, _ in groups])
    ax.set_ylim(-0.6, len(groups) - 0.4 + 0.8)
    ax.set_xlabel(f"log10({x})")
    ax.set_title("final phase (Martin-Mahoney)", fontsize=9)
    _phase_legend(ax, rows["phase"].astype(str).unique())


def _phase_legend(ax: Any, present: Sequence[str]) -> None:
    from matplotlib.patches import Patch

    names = [p for p in PHASE_COLORS if p in set(present)]
    ax.legend([Patch(color=PHASE_COLORS[p]) for p in names], names, fontsize=6, loc="upper left",
              bbox_to_anchor=(1.0, 1.0))


def plot_phase_diagram(df: Any, x: str = "optimizer.lr", y: str = "step", *, step: int | str = "last",
                       caption: str = "") -> Any:
    """The phase as colour over two axes (e.g. lr x steps, lr x n); the most common phase over repeats.

    With ``y = "step"`` every stored step is a row (lr x steps); otherwise each run's ``step``.
    """
    _need(df, [x, "phase"] + ([] if y == "step" else [y]), "the phase diagram")
    rows = df if y == "step" else final_rows(df, step)
    xs = np.sort(rows[x].unique().astype(float))
    ys = np.sort(rows[y].unique().astype(float))
    fig = new_figure(6.5, 4.5)
    ax = fig.add_subplot()
    logx = bool(np.all(xs > 0))
    for (xv, yv), g in rows.groupby([x, y]):
        ph = g["phase"].astype(str).mode().iloc[0]
        ax.scatter(np.log10(float(xv)) if logx else float(xv), float(yv), s=180, marker="s",
                   color=PHASE_COLORS.get(ph, "w"), edgecolors="k", linewidths=0.4)
    ax.set_xlabel(f"log10({x})" if logx else x)
    ax.set_ylabel(y)
    _phase_legend(ax, rows["phase"].astype(str).unique())
    ax.set_title(f"phase over {x} x {y}", fontsize=10)
    add_caption(fig, caption or f"{rows[x].nunique()} x {len(ys)} cells; colour: the most common phase over repeats")
    return fig
