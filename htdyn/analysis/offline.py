"""Post-hoc analysis of trajectory files (``htdyn analyze``).

Snapshots are streamed one at a time (W_t, its update M_t, W_{t+1} and W_0
are the most held at once), so memory is bounded by a few matrices, not the
file.  Results go into the file's ``/analysis`` group (re-running replaces
it; the simulation data are never touched) and into a tidy table: one row per
run x step x metric set.
"""

from __future__ import annotations

import csv
import datetime as _dt
import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import h5py
import numpy as np

from .._version import __version__
from ..errors import StoreError
from .alignment import top_singular_triplets
from .registry import (
    DEFAULT_SETS,
    ONLINE_SETS,
    check_sets,
    drift_metrics,
    feature_metrics,
    matrix_metrics,
    update_metrics,
)

ID_COLUMNS = ("run", "label", "optimizer", "lr", "seed", "step", "set")


@dataclass
class AnalysisResult:
    """Rows of the tidy table (one per run x step x metric set) and where they went."""

    rows: list[dict] = field(default_factory=list)
    path: str = ""
    csv_path: str | None = None

    @property
    def columns(self) -> list[str]:
        cols = list(ID_COLUMNS)
        for r in self.rows:
            cols.extend(k for k in r if k not in cols)
        return cols

    def scalar_rows(self) -> list[dict]:
        """The rows with a scalar per column (the ESD vectors stay in the file)."""
        return [r for r in self.rows if r["set"] != "esd"]

    def to_csv(self, path: str | os.PathLike) -> str:
        """Write the tidy table (one row per run x step x metric set, ESD rows left out)."""
        rows = self.scalar_rows()
        cols = list(ID_COLUMNS)
        for r in rows:
            cols.extend(k for k in r if k not in cols)
        with open(path, "w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=cols, restval="")
            w.writeheader()
            for r in rows:
                w.writerow(r)
        return str(path)

    def table(self) -> Any:
        """A pandas DataFrame when pandas is installed, else the list of row dicts."""
        try:
            import pandas as pd
        except ImportError:
            return self.rows
        return pd.DataFrame(self.rows, columns=self.columns)


def _to_device(a: np.ndarray, device: str) -> Any:
    if device == "cuda":
        import cupy

        return cupy.asarray(a)
    return a


def analyze(
    path: str | os.PathLike,
    *,
    metrics: Sequence[str] = DEFAULT_SETS,
    steps: Sequence[int] | None = None,
    runs: Sequence[int] | None = None,
    device: str = "cpu",
    normalize: bool = False,
    csv_path: str | os.PathLike | None = None,
    write: bool = True,
    progress: Callable[[int], None] | None = None,
) -> AnalysisResult:
    """Compute metric sets for every snapshot of a trajectory file.

    Parameters
    ----------
    path : trajectory file
    metrics : names of metric sets (see :mod:`htdyn.analysis.registry`) or ``["all"]``
    steps : snapshot steps to analyse (default all written ones; others are ignored)
    runs : run indices (default all)
    device : ``"cpu"`` (numpy/SciPy) or ``"cuda"`` (CuPy for the decompositions)
    normalize : use the 1/N-normalised ESD (recorded in the output)
    csv_path : also write the tidy table there
    write : store the results in the file's ``/analysis`` group

    Returns
    -------
    AnalysisResult
    """
    from ..reader import Trajectory

    sets = check_sets(list(metrics))
    if device == "cuda":
        try:
            import cupy  # noqa: F401
        except ImportError:
            from ..errors import ConfigError

            raise ConfigError("--device cuda needs CuPy for the analysis: pip install 'htdyn[cupy]'") from None
    result = AnalysisResult(path=str(path))
    mode = "r+" if write else "r"
    try:
        traj = Trajectory(path, mode=mode)
    except StoreError:
        raise
    except OSError as exc:  # pragma: no cover - e.g. read-only file system
        raise StoreError(f"cannot open {str(path)!r} for writing the analysis: {exc}") from None
    with traj:
        f = traj.f
        if write:
            if "analysis" in f:
                del f["analysis"]
            ag = f.create_group("analysis")
            ag.attrs["metric_sets"] = json.dumps(sets)
            ag.attrs["normalize"] = bool(normalize)
            ag.attrs["htdyn_version"] = __version__
            ag.attrs["created"] = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
            ag.attrs["source_status"] = traj.status
        for run in traj.runs:
            if runs is not None and run.index not in runs:
                continue
            rows = _analyze_run(run, sets, steps, device, normalize, progress)
            result.rows.extend(rows)
            if write:
                _write_run(f["analysis"], run, rows)
                f.flush()
    if csv_path is not None:
        result.csv_path = result.to_csv(csv_path)
    return result


def _analyze_run(run: Any, sets: list[str], steps: Sequence[int] | None, device: str, normalize: bool,
                 progress: Callable | None) -> list[dict]:
    cfg = run.config
    ident = {"run": run.index, "label": run.label, "optimizer": cfg["optimizer"]["name"],
             "lr": cfg["optimizer"]["lr"], "seed": cfg["seed"]}
    snap = [int(s) for s in run.steps]
    todo = snap if steps is None else [s for s in snap if s in set(steps)]
    upd = set(int(s) for s in run.update_steps)
    beta = run.beta
    W0 = Vh0 = None
    if "drift" in sets and snap:
        W0 = _to_device(run.W(snap[0]), device)
        Vh0 = top_singular_triplets(W0, 10)[2]  # once per run, not per snapshot
    feat = None
    if "features" in sets:
        data = run.data()
        act = cfg["model"]["activation"]
        feat = (data["X_probe"], data["y_probe"], act)
    w_sets = [s for s in sets if s in ONLINE_SETS]
    rows: list[dict] = []
    for t in todo:
        W = _to_device(run.W(t), device)
        per_set: dict[str, dict] = {}
        if w_sets:
            vals = matrix_metrics(W, w_sets, beta=_to_device(beta, device), normalize=normalize)
            esd = vals.pop("esd", None)
            for s in w_sets:
                if s == "esd":
                    per_set["esd"] = {"esd": esd}
            _split(vals, per_set)
        if "update" in sets and t in upd:
            M = _to_device(run.update(t), device)
            nxt = t + 1
            W_next = _to_device(run.W(nxt), device) if nxt in snap else None
            per_set["update"] = update_metrics(W, M, W_next=W_next, beta=_to_device(beta, device))
        if "drift" in sets and W0 is not None:
            per_set["drift"] = drift_metrics(W, W0, 10, Vh0=Vh0)
        if feat is not None:
            Xp, yp, act = feat
            per_set["features"] = feature_metrics(W, _to_device(Xp, device), _to_device(yp, device), act)
        for s, vals in per_set.items():
            rows.append({**ident, "step": t, "set": s, **vals})
        if progress is not None:
            progress(1)
    return rows


_SET_OF = {
    "alpha_hill": "powerlaw", "D_hill": "powerlaw", "xmin_hill": "powerlaw", "alpha_ks": "powerlaw",
    "xmin_ks": "powerlaw", "D_ks": "powerlaw", "k_ks": "powerlaw", "sigma_ks": "powerlaw",
    "alpha_hat": "powerlaw", "log_alpha_norm": "powerlaw",
    "mp_sigma2": "mp", "mp_lambda_plus": "mp", "mp_ks": "mp", "n_spikes": "mp", "mp_soft_rank": "mp",
    "frac_above_edge": "mp", "phase": "phase", "sim_beta": "teacher", "sim_beta_top5_max": "teacher",
}


def _split(vals: dict, per_set: dict) -> None:
    """Distribute the flat output of matrix_metrics into its metric sets."""
    norm = vals.pop("normalize", None)
    for k, v in vals.items():
        s = _SET_OF.get(k, "norms")
        per_set.setdefault(s, {})[k] = v
    if norm is not None:
        for d in per_set.values():
            d["normalize"] = norm


def _write_run(ag: h5py.Group, run: Any, rows: list[dict]) -> None:
    g = ag.create_group(f"runs/{run.index:04d}")
    by_set: dict[str, list[dict]] = {}
    for r in rows:
        by_set.setdefault(r["set"], []).append(r)
    for s, rs in by_set.items():
        sg = g.create_group(s)
        sg.create_dataset("steps", data=np.array([r["step"] for r in rs], dtype=np.int64))
        keys = [k for k in rs[0] if k not in ID_COLUMNS]
        for k in keys:
            vals = [r.get(k, np.nan) for r in rs]
            sg.create_dataset(k, data=np.asarray(vals, dtype=np.float64))


def read_analysis(path: str | os.PathLike) -> AnalysisResult:
    """The analysis stored in a file, as an :class:`AnalysisResult` (without re-computing)."""
    from ..reader import Trajectory

    res = AnalysisResult(path=str(path))
    with Trajectory(path) as traj:
        if "analysis" not in traj.f:
            raise StoreError(f"{str(path)!r} holds no analysis; run: htdyn analyze {path}")
        ag = traj.f["analysis/runs"]
        for run in traj.runs:
            key = f"{run.index:04d}"
            if key not in ag:
                continue
            cfg = run.config
            ident = {"run": run.index, "label": run.label, "optimizer": cfg["optimizer"]["name"],
                     "lr": cfg["optimizer"]["lr"], "seed": cfg["seed"]}
            for s, sg in ag[key].items():
                steps = sg["steps"][()]
                cols = {k: sg[k][()] for k in sg if k != "steps"}
                for i, t in enumerate(steps):
                    row = {**ident, "step": int(t), "set": s}
                    for k, v in cols.items():
                        row[k] = v[i] if v.ndim == 1 else v[i].copy()
                    res.rows.append(row)
    return res
