"""A sweep's results in Python: ``htdyn.open_sweep(DIR)``, one tidy table, summaries.

A tiny sweep (GD at two learning rates, two repeats, 3 steps; ``htdyn sweep FILE -o DIR``
makes the same directory from a sweep file), then its results:

>>> import htdyn, tempfile
>>> from htdyn.sweep.driver import make_executor, prepare, run_sweep
>>> from htdyn.sweep.spec import spec_from_dict
>>> spec = spec_from_dict({"name": "tiny", "steps": 3, "model": {"n": 64, "d": 16, "h": 24, "n_test": 16},
...                        "optimizer": {"name": "gd"},
...                        "sweep": {"optimizer.lr": [0.05, 0.5], "repeats": 2, "store": "scalars"}})
>>> root = f"{tempfile.mkdtemp()}/tiny"
>>> _ = run_sweep(prepare(spec, root), make_executor("local"))
>>> sw = htdyn.open_sweep(root)
>>> df = sw.table()      # one row per (run, eval step): run_id, repeat, axes, step, losses, metrics
>>> len(df), sorted(df["step"].unique().tolist()), bool(df["alpha_hill"].notna().all())
(8, [0, 3], True)
>>> summ = sw.summary(by=["optimizer.lr"])     # mean/std over repeats at the last step
>>> summ["optimizer.lr"].tolist(), summ["runs"].tolist(), summ["diverged"].tolist()
([0.05, 0.5], [2, 2], [0, 0])
>>> ds = sw.to_xarray()  # dims: the axes (a zip group is one dim), repeat, step
>>> dict(ds.sizes)
{'optimizer.lr': 2, 'repeat': 2, 'step': 2}
>>> with sw.trajectory(sw.runs[0]) as (traj, run):   # the run through htdyn's reader
...     run.config["optimizer"]["lr"], run.metric_steps.tolist()
(0.05, [0, 3])

The table holds the runs that are done (a pending or failed run has no numbers).  Its
columns: ``run_id``, ``repeat``, every axis key, ``steps`` (the run's step count),
``step`` (the eval step t), ``loss`` (training loss of W_t), the eval losses
(``probe_loss``, ``test_loss``, ``net_train_loss``, ``net_test_loss``), the run's
``diverged_step`` (-1: never) and ``diverged`` (diverged at or before t), every
scalar online metric (``alpha_hill``, ``alpha_ks``, ``n_spikes``, ``sim_beta``, ...;
NaN after a run diverged: it is not evaluated any more), ``phase`` as its name, and
with the ESD stored (``store = "spectra"`` or ``"full"``) ``sigma_1``, ``sigma_2``,
``sigma_3``: the top singular values of W_t, the square roots of the top eigenvalues
of W_t^T W_t.  The ``top`` set's arrays (``top_sigma``, ``top_u``, ``top_v``: the top singular
triplets, stored by default) are not columns: ``sw.trajectory(run)`` gives them, as
``run.metrics["top_u"]`` (eval steps x K x h).  KTA is not an online metric: with ``store = "full"`` (snapshots of W),
``htdyn analyze DIR/batches/b-*.h5 --metrics features`` adds it, and the table then has
``kta``, ``kta_centered`` and ``feature_stable_rank`` at the analysed steps.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import HtdynError, StoreError
from .index import SweepDir

__all__ = ["Sweep", "SweepRun", "open_sweep", "SUMMARY_COLUMNS"]

#: what ``summary`` averages over repeats (those present in the table)
SUMMARY_COLUMNS = ("probe_loss", "test_loss", "alpha_hill", "alpha_ks", "n_spikes", "sim_beta", "kta",
                   "sigma_1", "sigma_2", "sigma_3")
TOP_K = 3
#: what the table takes from a batch file's /analysis group, where ``htdyn analyze`` wrote one
FEATURE_COLUMNS = ("kta", "kta_centered", "feature_stable_rank")


@dataclass
class SweepRun:
    """One planned run of a sweep and where it stands."""

    id: str
    repeat: int
    point: dict
    steps: int
    state: str
    file: Path | None
    index: int | None
    error: str | None


def open_sweep(root: str | Path) -> Sweep:
    """Open a sweep directory written by ``htdyn sweep`` (read only).

    Parameters
    ----------
    root : str or Path
        The sweep directory (``htdyn sweep FILE -o DIR``): its ``sweep.json`` manifest and
        ``batches/`` of trajectory files.  Runs that are not done (pending, running, failed)
        are listed with their state and have no rows in the tables.

    Returns
    -------
    Sweep
        Its design (``name``, ``axes``, ``repeats``, ``store``), ``runs`` with their states, and
        the tables :meth:`Sweep.table`, :meth:`Sweep.summary` and :meth:`Sweep.to_xarray`.

    Raises
    ------
    StoreError
        ``root`` is not a sweep directory (no ``sweep.json``).

    Examples
    --------
    A tiny sweep made in the example (about a second), then opened:

    >>> import htdyn, tempfile
    >>> from htdyn.sweep.driver import make_executor, prepare, run_sweep
    >>> from htdyn.sweep.spec import spec_from_dict
    >>> spec = spec_from_dict({"name": "tiny", "steps": 3, "model": {"n": 64, "d": 16, "h": 24, "n_test": 16},
    ...                        "optimizer": {"lr": 0.1},
    ...                        "sweep": {"optimizer.name": ["gd", "adam"], "store": "scalars"}})
    >>> root = f"{tempfile.mkdtemp()}/tiny"
    >>> _ = run_sweep(prepare(spec, root), make_executor("local"))
    >>> sw = htdyn.open_sweep(root)
    >>> sw.name, sw.axes, sw.counts()["done"]
    ('tiny', {'optimizer.name': ['gd', 'adam']}, 2)
    >>> sorted(sw.table()["optimizer.name"].unique())
    ['adam', 'gd']
    >>> htdyn.open_sweep(tempfile.mkdtemp())
    Traceback (most recent call last):
    ...
    htdyn.errors.StoreError: '...' is not a sweep directory (no sweep.json); make one with htdyn sweep
    """
    return Sweep(root)


class Sweep:
    """A sweep directory: its design, its runs and their results (see the module docstring)."""

    def __init__(self, root: str | Path):
        self.dir = SweepDir(Path(root))
        m = self.dir.manifest()
        if m is None:
            raise StoreError(f"{str(root)!r} is not a sweep directory (no sweep.json); make one with htdyn sweep")
        self.manifest = m
        design = m["design"]
        self.name: str = design["name"]
        self.axes: dict[str, list] = design["axes"]
        self.zip_groups: list[list[str]] = design.get("zip", [])
        self.repeats: int = design["repeats"]
        self.store: str = design["store"]
        states = self.dir.states([r["id"] for r in m["runs"]])
        self.runs = [SweepRun(r["id"], r["repeat"], r["point"], r["steps"], states[r["id"]].state,
                              None if states[r["id"]].file is None else self.dir.batches / states[r["id"]].file,
                              states[r["id"]].index, states[r["id"]].error) for r in m["runs"]]

    def __repr__(self) -> str:
        return f"<htdyn.Sweep {self.name!r}: {len(self.runs)} runs, {self.counts()}>"

    def counts(self) -> dict[str, int]:
        """Runs per state: done, running, failed, pending."""
        out = {s: 0 for s in ("done", "running", "failed", "pending")}
        for r in self.runs:
            out[r.state] += 1
        return out

    @contextmanager
    def trajectory(self, run: SweepRun | str) -> Iterator[tuple[Any, Any]]:
        """``(Trajectory, Run)`` of a done run (by SweepRun or id), through :func:`htdyn.open`."""
        from ..io.reader import open as open_traj

        r = run if isinstance(run, SweepRun) else next((x for x in self.runs if x.id == run), None)
        if r is None or r.file is None:
            raise StoreError(f"run {getattr(r, 'id', run)!r} of sweep {self.name!r} is not done")
        with open_traj(r.file) as traj:
            yield traj, next(x for x in traj.runs if x.index == r.index)

    def table(self) -> Any:
        """One row per (done run, eval step) as a pandas DataFrame (tidy; columns in the module docstring)."""
        pd = _pandas()

        rows: list[dict] = []
        by_file: dict[Path, list[SweepRun]] = {}
        for r in self.runs:
            if r.state == "done" and r.file is not None:
                by_file.setdefault(r.file, []).append(r)
        from ..io.reader import open as open_traj

        for path, runs in by_file.items():
            with open_traj(path) as traj:
                by_index = {x.index: x for x in traj.runs}
                extra = _feature_results(path) if traj.analysis_groups else {}
                for r in runs:
                    new = self._rows(r, by_index[r.index])
                    for row in new:
                        row.update(extra.get((r.index, row["step"]), {}))
                    rows.extend(new)
        cols = ["run_id", "repeat", *self.axes, *(() if "steps" in self.axes else ("steps",)), "step"]
        df = pd.DataFrame(rows)
        if df.empty:
            return pd.DataFrame(columns=cols)
        return df[cols + [c for c in df.columns if c not in cols]]

    def _rows(self, r: SweepRun, run: Any) -> list[dict]:
        from ..analysis.phases import PHASES

        ev, met, loss = run.eval, run.metrics, run.loss
        ds = run.diverged_step
        out = []
        for e, t in enumerate(run.eval_steps):
            t = int(t)
            row: dict[str, Any] = {"run_id": r.id, "repeat": r.repeat, **{k: r.point.get(k) for k in self.axes},
                                   "steps": r.steps, "step": t, "loss": float(loss[t]) if t < len(loss) else np.nan}
            row.update({k: float(v[e]) for k, v in ev.items()})
            row["diverged_step"] = ds
            row["diverged"] = bool(0 <= ds <= t)
            for k, v in met.items():
                if k == "esd":
                    top = np.sort(np.asarray(v[e], dtype=np.float64))[::-1][:TOP_K]
                    for i in range(TOP_K):
                        row[f"sigma_{i + 1}"] = float(np.sqrt(max(top[i], 0.0))) if i < len(top) else np.nan
                elif k == "phase":
                    p = v[e]
                    row[k] = PHASES[int(p)] if np.isfinite(p) else None
                elif np.ndim(v) > 1:  # an array per step (the top triplets): read it through trajectory()
                    continue
                else:
                    row[k] = float(v[e])
            out.append(row)
        return out

    def summary(self, by: Sequence[str] | None = None, *, table: Any = None) -> Any:
        """Per point of ``by`` (default: every axis), at each run's last eval step: mean and std over repeats.

        Columns: the ``by`` keys, ``runs`` (done runs averaged), ``diverged`` (how many
        diverged), ``<x>_mean`` and ``<x>_std`` (sample std, ddof = 1; NaN for one repeat)
        for each of :data:`SUMMARY_COLUMNS` present, NaN values (a diverged run's metrics)
        left out, and ``phases`` (counts, e.g. ``"bulk+spikes: 3, heavy-tailed: 2"``).
        """
        pd = _pandas()
        by = list(self.axes) if by is None else list(by)
        for k in by:
            if k not in self.axes and k != "repeat":
                raise StoreError(f"--by {k!r} is not an axis of sweep {self.name!r}; axes: {', '.join(self.axes)}")
        df = self.table() if table is None else table
        if df.empty:
            return pd.DataFrame(columns=[*by, "runs", "diverged"])
        last = df.sort_values("step").groupby("run_id", sort=False).tail(1)
        for k in by:  # JSON-able cells (lists from axes over list-valued keys) group as text
            if last[k].map(lambda v: isinstance(v, (list, dict))).any():
                last = last.assign(**{k: last[k].map(json.dumps)})
        groups = last.groupby(by, sort=False, dropna=False) if by else [((), last)]
        rows = []
        for key, g in groups:
            key = key if isinstance(key, tuple) else (key,)
            row: dict[str, Any] = dict(zip(by, key))
            row["runs"] = len(g)
            row["diverged"] = int(g["diverged"].sum())
            for c in SUMMARY_COLUMNS:
                if c in g:
                    row[f"{c}_mean"] = g[c].mean()
                    row[f"{c}_std"] = g[c].std(ddof=1)
            if "phase" in g:
                counts = g["phase"].dropna().value_counts()
                row["phases"] = ", ".join(f"{p}: {n}" for p, n in sorted(counts.items()))
            rows.append(row)
        return pd.DataFrame(sorted(rows, key=lambda row: self._order(row, by)))

    def _order(self, row: dict, by: list[str]) -> tuple:
        """A summary row's place: the spec's order of each key's values."""
        out = []
        for k in by:
            vals = [_key(v) for v in self.axes.get(k, [])] if k != "repeat" else list(range(self.repeats))
            v = row[k]
            out.append(vals.index(v) if v in vals else len(vals))
        return tuple(out)

    def to_xarray(self) -> Any:
        """The table as an ``xarray.Dataset``: dims the axes (a zip group is one dim, ``zip0``...), repeat, step.

        Needs xarray (``pip install 'htdyn[xarray]'``).  Cells with no run (pending, failed,
        or a step another run's ``steps`` has and this one lacks) are NaN.
        """
        try:
            import xarray as xr
        except ImportError:
            raise StoreError("to_xarray needs xarray: pip install 'htdyn[xarray]' (or pip install xarray)") from None
        df = self.table()
        dims, coords = [], {}
        zipped = {k: i for i, g in enumerate(self.zip_groups) for k in g}
        for k, vals in self.axes.items():
            if k in zipped:
                dim = f"zip{zipped[k]}"
                if dim not in dims:
                    dims.append(dim)
                    g = self.zip_groups[zipped[k]]
                    n = len(self.axes[g[0]])
                    coords[dim] = np.arange(n)
                    for kk in g:
                        coords[kk] = (dim, _plain(self.axes[kk]))
                    lookup = {tuple(_key(self.axes[kk][i]) for kk in g): i for i in range(n)}
                    df[dim] = [lookup[tuple(_key(row[kk]) for kk in g)] for _, row in df[g].iterrows()]
            else:
                dims.append(k)
                coords[k] = _plain(vals)
        index = [*dims, "repeat", "step"]
        value_cols = [c for c in df.columns if c not in index and c not in ("run_id", "steps", *self.axes)
                      and df[c].dtype != object]
        ds = xr.Dataset.from_dataframe(df.set_index(index)[value_cols])
        ds = ds.reindex({d: coords[d] for d in dims}).reindex(repeat=list(range(self.repeats)))
        return ds.assign_coords({k: v for k, v in coords.items() if isinstance(v, tuple)})


def _pandas() -> Any:
    try:
        import pandas
    except ImportError:
        raise HtdynError("a sweep's tables need pandas: pip install 'htdyn[pandas]' (or pip install pandas)") from None
    return pandas


def _feature_results(path: Path) -> dict[tuple[int, int], dict]:
    """KTA and the feature stable rank from a file's /analysis group (``htdyn analyze --metrics features``)."""
    from ..analysis.offline import read_analysis

    out: dict[tuple[int, int], dict] = {}
    for row in read_analysis(path).rows:
        if row.get("set") == "features":
            out.setdefault((int(row["run"]), int(row["step"])), {}).update(
                {k: float(row[k]) for k in FEATURE_COLUMNS if k in row})
    return out


def _key(v: Any) -> Any:
    return json.dumps(v) if isinstance(v, (list, dict)) else v


def _plain(vals: list) -> list:
    return [_key(v) for v in vals]
