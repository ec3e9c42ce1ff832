"""Post-hoc analysis of trajectory files (``htdyn analyze``).

Snapshots are streamed one at a time (W_t, its update M_t, W_{t+1} and W_0
are the most held at once), so memory is bounded by a few matrices, not the
file.  Results go into the file's ``/analysis`` group and into a tidy CSV (one
row per run and step, :mod:`htdyn.analysis.tidy`); the simulation data are
never touched.

Nothing is lost: the request (metric sets, steps, runs, the CSV path, the free
disk space) is checked before any work; the results are computed in memory and
only then written, the new group under a temporary name that replaces the old
``/analysis`` when it is complete, the CSV through a temporary file beside it.
An error, a full disk or Ctrl-C before that leaves the earlier results as they were.

Public (``__all__``): :func:`analyze`, :func:`check_request`, :func:`read_analysis` and
their :class:`AnalysisResult`; the rest is private to the module.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .._version import __version__
from ..errors import ConfigError, StoreError
from ..io import results
from ..runkeys import varying_keys
from ..xp import analysis_namespace
from . import tidy
from .linalg import top_singular_triplets
from .metricdecl import SETS, VECTOR_KEYS
from .phases import PHASES
from .registry import (
    DEFAULT_SETS,
    METRIC_SETS,
    ONLINE_SETS,
    check_sets,
    drift_metrics,
    feature_metrics,
    nonfinite_set_metrics,
    set_metrics,
    update_metrics,
)
from .watched import layer_notes, online_rows, recorded_steps

__all__ = ["AnalysisResult", "analyze", "check_request", "read_analysis"]

ID_COLUMNS = tidy.ID_COLUMNS


@dataclass
class AnalysisResult:
    """The results of an analysis and where they went.

    Made by :func:`analyze` and :func:`read_analysis`.  ``records()``, ``record_columns``,
    ``table()``, ``csv_text()`` and ``to_csv(path)`` give the tidy table (one record per run and
    step, :mod:`htdyn.analysis.tidy`); ``rows``, ``columns`` and ``scalar_rows()`` the long form.

    Attributes
    ----------
    rows : list of dict
        Long rows, one per run x step x metric set (``esd`` rows hold the eigenvalues, ``top``
        rows the triplets' arrays; ``phase`` is the phase's index).
    path : str
        The trajectory file.
    csv_path : str or None
        Where the CSV went (None if nowhere).
    runs : dict
        Per run index, its label, swept config values and losses (``tidy.run_context``).
    swept : list of str
        The config keys that differ between the file's runs.
    phase_names : tuple of str
        The names the ``phase`` codes of ``rows`` index.
    notes : list of str
        One line each on what the file lacks and the analysis therefore skipped (a watched file).

    Examples
    --------
    >>> import tempfile, htdyn
    >>> from htdyn.analysis.offline import analyze
    >>> folder = tempfile.mkdtemp()
    >>> sim = htdyn.simulation(htdyn.RunConfig(model=htdyn.ModelConfig(n=64, d=16, h=24, n_test=32)),
    ...                        steps=3, output=f"{folder}/demo.h5")
    >>> path = htdyn.simulate(sim).path                  # a tiny trajectory: W_0 ... W_3 of one run
    >>> res = analyze(path, metrics=["norms", "phase"], write=False)
    >>> len(res.rows), res.rows[0]["set"], res.rows[0]["step"]   # 4 steps x 2 sets
    (8, 'phase', 0)
    >>> len(res.records()), res.record_columns[:4], len(res.table())   # 4 steps
    (4, ['run', 'label', 'step', 'loss'], 4)
    >>> res.records()[0]["phase"] in res.phase_names                   # the phase by its name
    True
    >>> csv = res.to_csv(f"{folder}/tables/demo.csv")                    # the directory is created
    >>> from pathlib import Path
    >>> Path(csv).read_text().splitlines()[0].split(",")[:4]
    ['run', 'label', 'step', 'loss']
    """

    rows: list[dict] = field(default_factory=list)
    path: str = ""
    csv_path: str | None = None
    runs: dict[int, dict] = field(default_factory=dict)
    swept: list[str] = field(default_factory=list)
    phase_names: tuple[str, ...] = PHASES
    notes: list[str] = field(default_factory=list)

    @property
    def columns(self) -> list[str]:
        """The columns of the long ``rows``."""
        cols = list(ID_COLUMNS)
        for r in self.rows:
            cols.extend(k for k in r if k not in cols)
        return cols

    def scalar_rows(self) -> list[dict]:
        """The long rows with a scalar per column (the ESD and the triplets stay in the file)."""
        return [{k: v for k, v in r.items() if k not in VECTOR_KEYS} for r in self.rows
                if r["set"] not in SETS or SETS[r["set"]].has_columns]

    def records(self) -> list[dict[str, Any]]:
        """The tidy table: one dict per run and step, every metric a key (see :mod:`htdyn.analysis.tidy`)."""
        return tidy.wide_records(self.rows, self.runs, self.swept, self.phase_names)[1]

    @property
    def record_columns(self) -> list[str]:
        """The columns of :meth:`records`, in order."""
        return tidy.wide_records(self.rows, self.runs, self.swept, self.phase_names)[0]

    def csv_text(self) -> str:
        """The tidy table as CSV text."""
        return tidy.csv_text(*tidy.wide_records(self.rows, self.runs, self.swept, self.phase_names))

    def to_csv(self, path: str | os.PathLike) -> str:
        """Write the tidy table (through a temporary file beside ``path``); returns the path."""
        p = tidy.check_csv_path(path, self.path or None)
        os.replace(tidy.write_text_beside(p, self.csv_text()), p)
        return str(p)

    def table(self) -> Any:
        """The tidy table as a pandas DataFrame when pandas is installed, else :meth:`records`."""
        columns, records = tidy.wide_records(self.rows, self.runs, self.swept, self.phase_names)
        try:
            import pandas as pd
        except ImportError:
            return records
        return pd.DataFrame(records, columns=columns)


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

    The request is checked first (:func:`check_request`); the numbers are computed in memory,
    then the CSV is written to a temporary file, the file's new ``/analysis`` group replaces the
    old one whole, and the CSV is renamed into place: an error leaves earlier results as they
    were.  A snapshot with NaN or inf entries gets NaN numbers and the phase ``"non-finite"``.
    The sets, their numbers and the papers they come from are in :mod:`htdyn.analysis.registry`
    and ``docs/analysis.md``.

    Parameters
    ----------
    path : str or os.PathLike
        The trajectory file (a simulator's or a watched model's).
    metrics : sequence of str
        Names of metric sets (see :mod:`htdyn.analysis.registry`) or ``["all"]``; not empty.
    steps : sequence of int, optional
        Snapshot steps to analyse (default all written ones); each must be stored in some run.
    runs : sequence of int, optional
        Run indices (default all); each must be in the file.
    device : str
        ``"cpu"`` (numpy/SciPy) or ``"cuda"`` (CuPy for the decompositions).
    normalize : bool
        Use the 1/N-normalised ESD (recorded in the output).
    csv_path : str or os.PathLike, optional
        Also write the tidy table there (missing directories are created).
    write : bool
        Store the results in the file's ``/analysis`` group (replacing an earlier one).
    progress : callable, optional
        Called with 1 after each snapshot.

    Returns
    -------
    AnalysisResult

    Raises
    ------
    ConfigError
        An unknown or empty metric list, a step or run the file does not hold.
    StoreError
        The file cannot be read or written, the CSV path is a directory, the disk
        lacks the space.  Nothing has been written then, and an earlier analysis
        and CSV are as they were.

    Examples
    --------
    >>> import tempfile, htdyn
    >>> from htdyn.analysis.offline import analyze
    >>> folder = tempfile.mkdtemp()
    >>> sim = htdyn.simulation(htdyn.RunConfig(model=htdyn.ModelConfig(n=64, d=16, h=24, n_test=32)),
    ...                        steps=3, output=f"{folder}/demo.h5")
    >>> path = htdyn.simulate(sim).path                  # a tiny trajectory: W_0 ... W_3 of one run
    >>> res = analyze(path, metrics=["norms", "teacher"], csv_path=f"{folder}/demo.csv")
    >>> last = res.records()[-1]
    >>> last["step"], res.csv_path == f"{folder}/demo.csv"
    (3, True)

    The numbers against an SVD of the stored W_3 and the teacher beta:

    >>> import numpy as np
    >>> with htdyn.open(path) as traj:
    ...     W, beta = traj.runs[0].W(3), traj.runs[0].beta
    >>> _, s, Vh = np.linalg.svd(W)
    >>> bool(np.isclose(last["spectral_norm"], s[0]))
    True
    >>> bool(np.isclose(last["sim_beta"], abs(Vh[0] @ beta) / np.linalg.norm(beta)))
    True
    >>> analyze(path, steps=[7])
    Traceback (most recent call last):
        ...
    htdyn.errors.ConfigError: step 7 is not stored in 'demo.h5'; stored steps: 0-3
    """
    sets = _check_args(metrics, device)
    result = AnalysisResult(path=str(path))
    traj = _open(path, write)
    identity = results.file_identity(path)
    with traj:
        plan, csv_file = _prepare(traj, result, sets, steps, runs, csv_path, normalize, write)
        attrs = {"metric_sets": json.dumps(sets), "normalize": bool(normalize), "htdyn_version": __version__,
                 "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
                 "source_status": traj.status}
        result.notes = layer_notes(traj, sets)
        official = traj.config.get("eval", {}).get("features", "model") == "official"
        for run, todo in plan:
            result.rows.extend(_analyze_run(run, sets, todo, device, normalize, progress, official))
        by_run: dict[int, list[dict]] = {run.index: [] for run, _ in plan}
    for r in result.rows:
        by_run[r["run"]].append(r)
    # the CSV first (to a temporary file), then the group, then the CSV's rename: all or nothing
    tmp_csv = tidy.write_text_beside(csv_file, result.csv_text()) if csv_file is not None else None
    try:
        if write:
            results.commit(str(path), by_run, attrs, identity, id_columns=tidy.ID_COLUMNS,
                           categories={"phase": PHASES})
    except BaseException:
        if tmp_csv is not None:
            tmp_csv.unlink(missing_ok=True)
        raise
    if tmp_csv is not None:
        os.replace(tmp_csv, csv_file)
        result.csv_path = str(csv_file)
    return result


def _feature_scale(run: Any, official: bool) -> float:
    """1, or 1/sqrt(d) when the simulation's read-out used the official code's features (``eval.features``)."""
    return 1.0 / math.sqrt(run.shape[1]) if official else 1.0


def check_request(
    path: str | os.PathLike,
    *,
    metrics: Sequence[str] = DEFAULT_SETS,
    steps: Sequence[int] | None = None,
    runs: Sequence[int] | None = None,
    device: str = "cpu",
    normalize: bool = False,
    csv_path: str | os.PathLike | None = None,
    write: bool = True,
) -> int:
    """Check a request as :func:`analyze` does before its work, without doing the work.

    For the CLI: a bad request is reported before a progress bar shows.  A missing CSV
    directory is created.

    Parameters
    ----------
    path : str or os.PathLike
        The trajectory file.
    metrics, steps, runs, device, normalize, csv_path, write
        As :func:`analyze`.

    Returns
    -------
    int
        The number of snapshots :func:`analyze` will analyse (a progress bar's total).

    Raises
    ------
    ConfigError, StoreError
        As :func:`analyze`.

    Examples
    --------
    >>> import tempfile, htdyn
    >>> from htdyn.analysis.offline import check_request
    >>> folder = tempfile.mkdtemp()
    >>> sim = htdyn.simulation(htdyn.RunConfig(model=htdyn.ModelConfig(n=64, d=16, h=24, n_test=32)),
    ...                        steps=3, output=f"{folder}/demo.h5")
    >>> path = htdyn.simulate(sim).path                  # a tiny trajectory: W_0 ... W_3 of one run
    >>> check_request(path), check_request(path, steps=[0, 3])
    (4, 2)
    >>> check_request(path, metrics=["spectra"])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
        ...
    htdyn.errors.ConfigError: metrics: unknown metric set 'spectra'; choose from esd, norms, powerlaw, ... or 'all'
    """
    sets = _check_args(metrics, device)
    with _open(path, write) as traj:
        plan, _ = _prepare(traj, AnalysisResult(path=str(path)), sets, steps, runs, csv_path, normalize, write)
    return sum(len(todo) for _, todo in plan)


def _check_args(metrics: Sequence[str], device: str) -> list[str]:
    sets = check_sets(list(metrics))
    if not sets:
        raise ConfigError(f"metrics: no metric set given; choose from {', '.join(METRIC_SETS)} or 'all'")
    if device == "cuda":
        try:
            import cupy  # noqa: F401
        except ImportError:
            raise ConfigError("--device cuda needs CuPy for the analysis: pip install 'htdyn[cupy]'") from None
    return sets


def _open(path: str | os.PathLike, write: bool) -> Any:
    from ..io.reader import Trajectory

    try:
        return Trajectory(path, mode="r+" if write else "r")  # r+: fail now on a read-only or busy file
    except StoreError:
        raise
    except OSError as exc:  # pragma: no cover - e.g. read-only file system
        raise StoreError(f"cannot open {str(path)!r} for writing the analysis: {exc}") from None


def _prepare(traj: Any, result: AnalysisResult, sets: list[str], steps: Sequence[int] | None,
             runs: Sequence[int] | None, csv_path: str | os.PathLike | None, normalize: bool,
             write: bool) -> tuple[list[tuple[Any, list[int]]], Path | None]:
    """Check the request against the file and the disks; fill the result's run context."""
    plan = _plan(traj, steps, runs)
    csv_file = tidy.check_csv_path(csv_path, traj.path) if csv_path is not None else None
    result.swept = varying_keys([r.config for r in traj.runs])
    result.runs = {run.index: tidy.run_context(run, result.swept) for run, _ in plan}
    h5_bytes, csv_bytes = tidy.estimate_bytes(plan, sets, len(result.swept), normalize)
    needs = [(os.path.dirname(os.path.abspath(traj.path)), h5_bytes)] if write else []
    if csv_file is not None:
        needs.append((str(csv_file.parent), csv_bytes))
    results.check_space(needs)
    return plan, csv_file


def _plan(traj: Any, steps: Sequence[int] | None, runs: Sequence[int] | None) -> list[tuple[Any, list[int]]]:
    """The runs and, for each, the steps to analyse; errors for what the file does not hold."""
    name = os.path.basename(traj.path)
    indices = [r.index for r in traj.runs]
    if runs is not None:
        bad = sorted({int(i) for i in runs} - set(indices))
        if bad:
            raise ConfigError(f"run{'s' if len(bad) > 1 else ''} {', '.join(map(str, bad))} not in {name!r}; "
                              f"runs: {tidy.format_steps(indices)}")
    chosen = [r for r in traj.runs if runs is None or r.index in {int(i) for i in runs}]
    stored = {r.index: [int(s) for s in r.steps] or recorded_steps(r) for r in chosen}
    every = sorted({s for v in stored.values() for s in v})
    if not every:
        raise StoreError(f"{name!r} holds no snapshot to analyse (was it run with snapshots.at = 'none', "
                         "or stopped before step 0 was written?)")
    if steps is not None:
        want = {int(s) for s in steps}
        if not want:
            raise ConfigError(f"--steps: no step given; stored steps: {tidy.format_steps(every)}")
        bad = sorted(want - set(every))
        if bad:
            what = f"step {bad[0]} is" if len(bad) == 1 else f"steps {tidy.format_steps(bad)} are"
            raise ConfigError(f"{what} not stored in {name!r}; stored steps: {tidy.format_steps(every)}")
        stored = {i: [s for s in v if s in want] for i, v in stored.items()}
    return [(r, stored[r.index]) for r in chosen]


def _ident(run: Any) -> dict:
    """A row's identity: the run's optimizer, lr and seed (absent, NaN, for a watched layer)."""
    cfg = run.config
    opt = cfg.get("optimizer", {})
    return {"run": run.index, "label": run.label, "optimizer": opt.get("name", ""), "lr": opt.get("lr", math.nan),
            "seed": cfg.get("seed", math.nan)}


def _analyze_run(run: Any, sets: list[str], todo: list[int], device: str, normalize: bool,
                 progress: Callable | None, official: bool = False) -> list[dict]:
    cfg = run.config
    if not len(run.steps) and run.unit == "layer":
        return online_rows(run, sets, todo, _ident(run), progress)
    ident = _ident(run)
    beta = _to_device(run.beta, device) if run.has_teacher else None
    ctx: dict[str, Any] = {"snap": [int(s) for s in run.steps], "upd": set(int(s) for s in run.update_steps),
                           "beta": beta, "W0": None, "Vh0": None, "feat": None}
    if "drift" in sets and ctx["snap"]:
        W0 = ctx["W0"] = _to_device(run.W(ctx["snap"][0]), device)
        ctx["Vh0"] = _guarded((W0,), lambda A: {"v": top_singular_triplets(A, 10)[2]}, W0).get("v")  # once per run
    if "features" in sets and run.has_teacher:
        data = run.data()
        ctx["feat"] = (_to_device(data["X_probe"], device), _to_device(data["y_probe"], device),
                       cfg["model"]["activation"], _feature_scale(run, official))
    rows: list[dict] = []
    for t in todo:
        for s, vals in _snapshot_metrics(run, t, sets, device, normalize, ctx).items():
            rows.append({**ident, "step": t, "set": s, **vals})
        if progress is not None:
            progress(1)
    return rows


def _snapshot_metrics(run: Any, t: int, sets: list[str], device: str, normalize: bool,
                      ctx: dict[str, Any]) -> dict[str, dict]:
    """The sets' numbers for W_t, by set; NaN (phase "non-finite") for what a non-finite input enters."""
    W, beta = _to_device(run.W(t), device), ctx["beta"]

    def nan(names: list[str]) -> dict:
        return nonfinite_set_metrics(names, W.shape, beta=beta, normalize=normalize)

    w_sets = [s for s in sets if s in ONLINE_SETS]
    per_set: dict[str, dict] = {}
    if w_sets:
        per_set.update(_guarded((W,), set_metrics, W, w_sets, beta=beta, normalize=normalize) or nan(w_sets))
    if "update" in sets and t in ctx["upd"]:
        M = _to_device(run.update(t), device)
        W_next = _to_device(run.W(t + 1), device) if t + 1 in ctx["snap"] else None
        per_set["update"] = (_guarded((W, M, W_next), update_metrics, W, M, W_next=W_next, beta=beta)
                             or nan(["update"])["update"])
    if "drift" in sets and ctx["W0"] is not None:
        ok = ctx["Vh0"] is not None  # else W_0 is non-finite
        per_set["drift"] = ((ok and _guarded((W,), drift_metrics, W, ctx["W0"], 10, Vh0=ctx["Vh0"]))
                            or nan(["drift"])["drift"])
    if ctx["feat"] is not None:
        per_set["features"] = _guarded((W,), feature_metrics, W, *ctx["feat"]) or nan(["features"])["features"]
    return per_set


def _guarded(check: tuple, fn: Callable[..., dict], *args: Any, **kwargs: Any) -> dict:
    """``fn(*args, **kwargs)``, or ``{}`` when an array of ``check`` holds NaN or inf (or a Gram matrix overflows)."""
    for a in check:
        if a is not None:
            xp, a = analysis_namespace(a)
            if not bool(xp.all(xp.isfinite(a))):
                return {}
    try:
        return fn(*args, **kwargs)
    except ValueError as exc:  # linalg.gram / gram_lower: "W has non-finite entries (or W^T W ...)"
        if "non-finite" not in str(exc):
            raise
        return {}


def read_analysis(path: str | os.PathLike) -> AnalysisResult:
    """The analysis stored in a file, as an :class:`AnalysisResult` (without re-computing).

    Parameters
    ----------
    path : str or os.PathLike
        A trajectory file that :func:`analyze` wrote to.

    Returns
    -------
    AnalysisResult
        Its rows, runs, swept keys and phase names as :func:`analyze` returned them
        (``csv_path`` None, ``notes`` empty).

    Raises
    ------
    StoreError
        The file holds no analysis (or cannot be read).

    Examples
    --------
    >>> import tempfile, htdyn
    >>> from htdyn.analysis.offline import analyze, read_analysis
    >>> folder = tempfile.mkdtemp()
    >>> sim = htdyn.simulation(htdyn.RunConfig(model=htdyn.ModelConfig(n=64, d=16, h=24, n_test=32)),
    ...                        steps=3, output=f"{folder}/demo.h5")
    >>> path = htdyn.simulate(sim).path                  # a tiny trajectory: W_0 ... W_3 of one run
    >>> res = analyze(path, metrics=["powerlaw", "mp"])
    >>> back = read_analysis(path)
    >>> len(back.rows), back.phase_names == res.phase_names
    (8, True)
    >>> [r["alpha_hill"] for r in back.records()] == [r["alpha_hill"] for r in res.records()]
    True
    """
    from ..io.reader import Trajectory

    res = AnalysisResult(path=str(path))
    with Trajectory(path) as traj:
        stored = results.read_stored(traj)
        if stored is None:
            raise StoreError(f"{str(path)!r} holds no analysis; run: htdyn analyze {path}")
        runs, names = stored
        res.phase_names = names or res.phase_names
        res.swept = varying_keys([r.config for r in traj.runs])
        for run in traj.runs:
            if run.index not in runs:
                continue
            res.runs[run.index] = tidy.run_context(run, res.swept)
            ident = _ident(run)
            for s, cols in runs[run.index].items():
                for i, t in enumerate(cols["steps"]):
                    row = {**ident, "step": int(t), "set": s}
                    for k, v in cols.items():
                        if k != "steps":
                            row[k] = v[i] if v.ndim == 1 else v[i].copy()
                    res.rows.append(row)
    return res
