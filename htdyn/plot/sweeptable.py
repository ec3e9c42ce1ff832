"""The sweep table the sweep figures read, and what they share: the final rows, the swept axes,
mean and std over repeats, the settings line, the optimizer colours, the modal phase and its share.

See :mod:`htdyn.plot.sweep` for the table's columns.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from .common import PlotError, need_pandas

__all__ = ["sweep_table", "sweep_frame", "swept_axes", "final_rows", "column", "need_columns", "mean_std",
           "axis_label", "optimizer_colors", "settings_text", "check_one_sweep", "phase_share"]


def sweep_table(paths: Sequence[str | os.PathLike]) -> Any:
    """One DataFrame of the runs of several trajectory files (columns as above).

    Parameters
    ----------
    paths : sequence of str or path-like
        Trajectory files; each run's metrics come from the file's analysis (``htdyn analyze``)
        or, without one, from the online metrics the file stores (a sweep's batch files).

    Returns
    -------
    pandas.DataFrame
        One row per run and step, with every run's config as dotted keys
        (``optimizer.name``, ``optimizer.lr``, ``model.n``, ...), ``repeat`` (the run's seed),
        ``file`` and ``run_id``.

    Raises
    ------
    PlotError
        A file holds neither an analysis nor online metrics (the message names the command).

    Examples
    --------
    Two files of two runs each, with the ``powerlaw`` metrics computed online:

    >>> import htdyn, tempfile
    >>> from htdyn.plot import sweep_table
    >>> tmp, tiny = tempfile.mkdtemp(), htdyn.ModelConfig(n=64, d=16, h=24, n_test=32)
    >>> paths = []
    >>> for name in ("gd", "adam"):
    ...     runs = [htdyn.RunConfig(model=tiny, optimizer=htdyn.OptimizerConfig(name, lr=lr)) for lr in (0.1, 1.0)]
    ...     sim = htdyn.simulation(runs, steps=2, eval={"metrics": ["powerlaw"]}, output=f"{tmp}/{name}.h5")
    ...     paths.append(htdyn.simulate(sim).path)
    >>> df = sweep_table(paths)
    >>> len(df), sorted(set(zip(df["optimizer.name"], df["optimizer.lr"].tolist())))   # 4 runs x steps 0-2
    (12, [('adam', 0.1), ('adam', 1.0), ('gd', 0.1), ('gd', 1.0)])
    >>> bool(df["alpha_hill"].notna().all())
    True
    """
    need_pandas("a sweep table")
    import pandas as pd

    from ..runkeys import flatten
    from .source import Source

    frames = []
    for p in paths:
        with Source(p) as src:
            for i in range(src.n_runs):
                rv = src.run(i)
                if not rv.has_metrics():
                    raise PlotError(f"{str(p)!r} holds no analysis; run: htdyn analyze {p}")
                meta = {k: v for k, v in flatten(rv.config).items() if not isinstance(v, (list, dict))}
                meta.update(run_id=rv.run.run_id, repeat=rv.config.get("seed"), file=str(p))
                table = rv.metrics_frame(kta=False)
                frames.append(table.drop(columns=[c for c in meta if c in table]).assign(**meta))
    return pd.concat(frames, ignore_index=True)


def sweep_frame(root: str | os.PathLike) -> Any:
    """The table of a sweep directory with its constant settings as columns (for titles and captions).

    Parameters
    ----------
    root : str or path-like
        A sweep directory (``htdyn sweep SPEC -o DIR``).

    Returns
    -------
    pandas.DataFrame
        ``htdyn.open_sweep(root).table()`` plus every scalar config key of its first done
        run that is not an axis (``model.n``, ``model.teacher``, ...); ``df.attrs["axes"]`` lists
        the axes.

    Raises
    ------
    PlotError
        ``root`` is not a sweep directory.

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
    >>> from htdyn.plot import sweep_frame
    >>> df = sweep_frame(root)
    >>> df.attrs["axes"], len(df), df["model.d"].unique().tolist()   # 4 runs x eval steps 0 and 3
    (['optimizer.name', 'optimizer.lr'], 8, [16])
    """
    from ..errors import StoreError
    from ..runkeys import flatten
    from ..sweep.results import open_sweep

    try:
        sw = open_sweep(root)
        df = sw.table()
    except StoreError as exc:
        raise PlotError(str(exc)) from None
    done = [r for r in sw.runs if r.state == "done"]
    if done:
        with sw.trajectory(done[0]) as (_, run):
            flat = flatten(run.config)
        const = {k: v for k, v in flat.items() if k not in sw.axes and k not in df.columns and not _seedish(k)
                 and not isinstance(v, (list, dict))}
        df = df.assign(**const)
    df.attrs["axes"] = list(sw.axes)
    return df


def _seedish(key: str) -> bool:
    return "seed" in key.rsplit(".", 1)[-1] or key in ("label", "run", "run_id", "repeat", "file")


def swept_axes(df: Any, exclude: Sequence[str] = ()) -> list[str]:
    """The axes along which the table's runs differ, but ``exclude``.

    ``df.attrs["axes"]`` where :func:`sweep_frame` set it, else the config keys (dotted names,
    ``steps``, ``weight_norm``) with two or more values; seeds and labels are not axes.

    Parameters
    ----------
    df : the sweep table
    exclude : columns that are not to be listed (the axes already on a plot)

    Returns
    -------
    list of str : the columns, in the table's order

    Examples
    --------
    >>> import pandas as pd
    >>> swept_axes(pd.DataFrame({"optimizer.lr": [1, 10], "model.n": [64, 64], "seed": [0, 1]}))
    ['optimizer.lr']
    """
    cand = df.attrs.get("axes") or [c for c in df.columns if ("." in c or c in ("steps", "weight_norm"))]
    return [c for c in cand if c in df.columns and c not in exclude and not _seedish(c)
            and df[c].astype(str).nunique() > 1]


def column(df: Any, *names: str) -> str | None:
    return next((n for n in names if n in df.columns), None)


def final_rows(df: Any, step: int | str = "last") -> Any:
    """The rows of each run at ``step`` (``"last"``: each run's last evaluation step).

    Parameters
    ----------
    df : pandas.DataFrame
        A sweep table (:func:`sweep_frame`, :func:`sweep_table`), with ``run_id`` and ``step``.
    step : int or "last"

    Returns
    -------
    pandas.DataFrame
        One row per run.

    Examples
    --------
    >>> import pandas as pd
    >>> from htdyn.plot import final_rows
    >>> df = pd.DataFrame({"run_id": [0, 0, 1, 1], "step": [0, 5, 0, 3], "test_loss": [1.0, 0.5, 1.0, 0.7]})
    >>> final_rows(df)["step"].tolist(), final_rows(df, step=0)["test_loss"].tolist()
    ([5, 3], [1.0, 1.0])
    """
    key = column(df, "run_id", "run")
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


def need_columns(df: Any, cols: Sequence[str], what: str) -> None:
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise PlotError(f"{what} needs the column(s) {', '.join(missing)} in the sweep table; "
                        "analyse the files with the sets that make them (htdyn analyze FILE --metrics all)")


def mean_std(rows: Any, x: str, y: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    g = rows.groupby(x)[y].agg(["mean", "std"]).sort_index()
    return g.index.to_numpy(dtype=float), g["mean"].to_numpy(dtype=float), g["std"].fillna(0).to_numpy(dtype=float)


def axis_label(x: str, log: bool = False) -> str:
    r"""An axis label in mathtext: ``optimizer.lr`` is :math:`\eta`, ``step`` is t."""
    sym = {"optimizer.lr": r"\eta", "step": "t", "model.n": "n", "model.d": "d", "model.h": "h"}.get(x)
    if sym is None:
        return rf"$\log_{{10}}$ {x}" if log else x
    if log:
        return rf"$\log_{{10}}{sym}$"
    return {"optimizer.lr": "learning rate", "step": "step", "model.n": "samples", "model.d": "input dimension",
            "model.h": "width"}[x] + f" ${sym}$"


def optimizer_colors(names: Sequence[Any]) -> dict[str, str]:
    """A fixed colour per optimizer (GD blue, Adam orange as in the official figures; others after)."""
    fixed = {"gd": "tab:blue", "adam": "tab:orange", "sgd": "tab:green", "muon": "tab:purple"}
    spare = iter(c for c in ("tab:red", "tab:brown", "tab:pink", "tab:olive", "tab:cyan")
                 if c not in fixed.values())
    return {str(n): fixed.get(str(n)) or next(spare, "0.3") for n in names}


def settings_text(df: Any, exclude: Sequence[str] = (), *, sizes_only: bool = False) -> str:
    """The settings every row of ``df`` shares, in one line (sizes, teacher, student, noise, read-out);
    with ``sizes_only`` just ``n=.. d=.. h=..``."""
    def one(col: str) -> Any:
        if col not in df.columns or col in exclude or df[col].astype(str).nunique() != 1:
            return None
        v = df[col].iloc[0]
        return f"{v:g}" if isinstance(v, float) else v

    parts = []
    sizes = " ".join(f"{k}={one('model.' + k)}" for k in ("n", "d", "h") if one("model." + k) is not None)
    if sizes:
        parts.append(sizes)
    if sizes_only:
        return sizes
    if one("model.teacher") is not None:
        parts.append(f"{one('model.teacher')} teacher, {one('model.activation')} student")
    for col, name in (("model.noise_std", "noise"), ("model.n_test", "n_test"), ("steps", "steps"),
                      ("optimizer.batch_size", "batch"), ("schedule.name", "schedule")):
        if one(col) is not None and str(one(col)) not in ("None", "constant"):
            parts.append(f"{name}={one(col)}")
    return ", ".join(parts)


def check_one_sweep(rows: Any, x: str, hue: str | None, what: str) -> None:
    """PlotError unless the rows vary along ``x`` (two values at least) and along no axis but ``x`` and ``hue``."""
    if rows[x].nunique() < 2:
        raise PlotError(f"{what} needs runs at two or more values of {x}; the table has {rows[x].nunique()} "
                        f"({len(rows)} run(s)); plot one run with --kind esd, metrics, ...")
    other = swept_axes(rows, exclude=(x, hue or ""))
    if other:
        k = other[0]
        raise PlotError(f"{what} would pool runs that differ in {', '.join(other)}; select one value, e.g. "
                        f"--select {k}={rows[k].iloc[0]} ({k} takes {', '.join(map(str, sorted(rows[k].unique())))})")


def phase_share(phases: Any) -> tuple[str, int, int]:
    """``(phase, k, n)``: the most common of ``n`` phases and its count ``k`` (a missing phase is
    ``non-finite``: a diverged run is not classified); ties go to the earlier phase of
    :data:`htdyn.analysis.phases.PHASES` (Martin-Mahoney order)."""
    from ..analysis.phases import PHASES

    names = ["non-finite" if p is None or (isinstance(p, float) and np.isnan(p)) else str(p) for p in phases]
    counts = {p: names.count(p) for p in set(names)}
    order = {p: i for i, p in enumerate(PHASES)}
    best = min(counts, key=lambda p: (-counts[p], order.get(p, len(order)), p))
    return best, counts[best], len(names)
