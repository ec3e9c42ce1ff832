"""What the figures read from a trajectory file: stored results only.

A :class:`Source` opens a file once; ``Source.run(i)`` gives a :class:`RunView` with the
run's config, its losses, its stored analysis (``/analysis``, written by ``htdyn analyze``)
and its spectra.  A spectrum comes from the stored ESD of the analysis when there is one,
and is computed from the stored W_t only when the file holds W but no ESD.  Anything else a
figure needs and the file lacks raises :class:`~htdyn.plot.common.PlotError` with the
command that makes it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from functools import cached_property
from typing import Any

import numpy as np

from .common import PlotError, how_to_get, need_pandas, run_caption

__all__ = ["Source", "RunView", "open_source", "select_sweep_run", "matches"]


class Source:
    """A trajectory file opened for plotting (a context manager; close it when done)."""

    def __init__(self, path: str | os.PathLike):
        from ..errors import StoreError
        from ..io.reader import open as open_trajectory

        self.path = str(path)
        if not os.path.exists(self.path):
            raise PlotError(f"no such trajectory file: {self.path!r}")
        try:
            self.traj = open_trajectory(self.path)
        except (StoreError, OSError) as exc:
            raise PlotError(f"cannot read {self.path!r} as a trajectory file: {exc}") from None

    def __enter__(self) -> Source:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        self.traj.close()

    @cached_property
    def analysis(self) -> Any:
        """The stored :class:`~htdyn.analysis.offline.AnalysisResult`, or None if the file has none."""
        from ..analysis.offline import read_analysis
        from ..errors import StoreError

        try:
            return read_analysis(self.path)
        except StoreError:
            return None

    def need_analysis(self, what: str) -> Any:
        if self.analysis is None:
            raise PlotError(f"{what}: the analysis of {self.path!r} is needed and it has none; "
                            f"run: htdyn analyze {self.path}")
        return self.analysis

    @property
    def n_runs(self) -> int:
        return len(self.traj.runs)

    def run(self, index: int = 0) -> RunView:
        """The view of run ``index`` (an error naming the valid range if there is no such run)."""
        n = self.n_runs
        if not 0 <= index < n:
            raise PlotError(f"run {index} is not in {self.path!r}; it holds runs 0..{n - 1}")
        return RunView(self, self.traj.runs[index])

    @cached_property
    def table(self) -> Any:
        """The tidy table (pandas DataFrame) of the stored analysis, every run and step."""
        need_pandas("this figure")
        return self.need_analysis("this figure").table()


def open_source(src: str | os.PathLike | Source) -> tuple[Source, bool]:
    """``(Source, opened_here)``: a Source passed in is used as is (and not closed by the caller)."""
    if isinstance(src, Source):
        return src, False
    return Source(src), True


class RunView:
    """One run as the figures see it."""

    def __init__(self, source: Source, run: Any):
        self.source = source
        self.run = run
        self.index = run.index
        self.config = run.config
        self.shape = run.shape

    @property
    def is_layer(self) -> bool:
        """A layer of a watched model (``htdyn.watch``), named by its label, rather than a simulated run."""
        return getattr(self.run, "unit", "run") == "layer"

    @property
    def caption(self) -> str:
        if self.is_layer:
            c = self.config
            return f"layer {self.run.label} ({c.get('module', '?')}, W {self.shape[0]} x {self.shape[1]})"
        return f"run {self.index}: " + run_caption(self.config)

    @property
    def title(self) -> str:
        if self.is_layer:
            return f"layer {self.run.label}"
        o = self.config["optimizer"]
        return f"{o['name']} lr={o['lr']:g}"

    @cached_property
    def _online(self) -> dict[str, np.ndarray]:
        """The online metrics stored at the eval steps (a sweep's batch files hold them; may be empty)."""
        return self.run.metrics

    @cached_property
    def _esd_rows(self) -> dict[int, np.ndarray]:
        """Stored ESDs by step: those of ``htdyn analyze`` first, then the online ``esd`` set (sweep batches)."""
        out = {}
        if "esd" in self._online:
            out = {int(t): np.sort(np.asarray(e, dtype=np.float64))
                   for t, e in zip(self.run.metric_steps, self._online["esd"]) if np.isfinite(e).all()}
        a = self.source.analysis
        if a is not None:
            out.update({int(r["step"]): np.asarray(r["esd"], dtype=np.float64) for r in a.rows
                        if r["run"] == self.index and r["set"] == "esd" and "esd" in r})
        return out

    def esd_steps(self) -> list[int]:
        """Steps with a spectrum: stored ESDs, else stored snapshots of W."""
        steps = set(self._esd_rows) | {int(t) for t in self.run.steps}
        return sorted(steps)

    def esd(self, t: int) -> np.ndarray:
        """Eigenvalues of W_t^T W_t (ascending): the stored ESD, else computed from the stored W_t."""
        if t in self._esd_rows:
            return self._esd_rows[t]
        if t in {int(s) for s in self.run.steps}:
            from ..analysis.esd import esd

            return np.asarray(esd(self.run.W(t)))
        raise PlotError(f"run {self.index} of {self.source.path!r} has no spectrum at step {t}; "
                        f"steps with one: {_steps_text(self.esd_steps())}")

    def final_step(self) -> int:
        steps = self.esd_steps()
        if not steps:
            raise PlotError(f"run {self.index} of {self.source.path!r} stores no W and no ESD; rerun it with "
                            "snapshots.at = 1 (htdyn run CONFIG --set snapshots.at=1)")
        return steps[-1]

    @cached_property
    def metrics(self) -> Any:
        """:meth:`metrics_frame` with the KTA (cached)."""
        return self.metrics_frame(kta=True)

    def metrics_frame(self, kta: bool = True) -> Any:
        """This run's metrics per step (a DataFrame sorted by step, ``phase`` by name).

        From the stored analysis (``htdyn analyze``) where there is one, else from the online
        metrics and eval losses stored at the eval steps (a sweep's batch files).  With ``kta``,
        the KTA, which needs W_t and the data, is computed from the stored W_t where the
        analysis lacks it.  PlotError when the file holds neither.
        """
        need_pandas("the metrics of a run")
        if self.source.analysis is not None:
            table = self.source.table
            df = table[table["run"] == self.index].sort_values("step").reset_index(drop=True)
        elif self.has_metrics():
            df = self._online_frame()
        else:
            raise PlotError(f"the metrics against step: {self.source.path!r} holds no analysis and no online "
                            f"metrics; run: htdyn analyze {self.source.path}")
        return self._with_kta(df) if kta else df

    def has_metrics(self) -> bool:
        """Whether the file holds metrics per step for this run (an analysis or online metrics)."""
        return self.source.analysis is not None or any(np.ndim(v) == 1 for v in self._online.values())

    def _online_frame(self) -> Any:
        import pandas as pd

        from ..analysis.phases import PHASES

        cols: dict[str, Any] = {"run": self.index, "step": np.asarray(self.run.eval_steps, dtype=int)}
        cols.update({k: np.asarray(v, dtype=float) for k, v in self.run.eval.items()})
        for k, v in self._online.items():
            if np.ndim(v) != 1:
                continue
            if k == "phase":
                cols[k] = [PHASES[int(p)] if np.isfinite(p) else "non-finite" for p in v]
            else:
                cols[k] = np.asarray(v, dtype=float)
        return pd.DataFrame(cols)

    def _with_kta(self, df: Any) -> Any:
        """``df`` with the KTA columns computed from the stored W_t where it has none (and W is stored)."""
        if ("kta" in df and np.isfinite(df["kta"].to_numpy(dtype=float)).any()) or len(self.run.steps) == 0:
            return df
        from ..analysis.offline import analyze
        from ..errors import HtdynError

        try:
            kta = analyze(self.source.path, metrics=["features"], runs=[self.index], write=False).table()
        except HtdynError:
            return df
        keep = ["step"] + [c for c in ("kta", "kta_centered") if c in kta]
        return df.drop(columns=[c for c in keep[1:] if c in df]).merge(kta[keep], on="step", how="left")

    def update_steps(self) -> list[int]:
        return [int(t) for t in self.run.update_steps]

    def need_updates(self, what: str) -> list[int]:
        steps = self.update_steps()
        if not steps:
            raise PlotError(f"{what}: the updates M_t are needed and {self.source.path!r} stores none; to store "
                            f"{how_to_get('updates', self.is_layer)}")
        return steps

    def losses(self) -> dict[str, np.ndarray]:
        """``step`` and the stored evaluation losses (probe, test, network train/test)."""
        ev = self.run.eval
        return {"step": np.asarray(self.run.eval_steps), **{k: np.asarray(v) for k, v in ev.items()}}


def _steps_text(steps: list[int]) -> str:
    if not steps:
        return "none"
    if len(steps) <= 8:
        return ", ".join(map(str, steps))
    return f"{', '.join(map(str, steps[:4]))}, ..., {steps[-1]}"


def select_sweep_run(root: str | os.PathLike, select: Sequence[str] = (), repeat: int | None = None) -> tuple[str, int]:
    """The batch file and run index of the one run of a sweep directory that ``select`` names.

    Parameters
    ----------
    root : a sweep directory (``htdyn sweep SPEC -o DIR``)
    select : ``"key=value"`` items, one per axis to fix (``"optimizer.name=adam"``, ``"optimizer.lr=1"``);
        numbers compare by value (``1`` = ``1.0`` = ``1e0``)
    repeat : the repeat (0-based); needed when the sweep has several

    Returns
    -------
    (path, index) : the batch file holding the run and its index there, for :class:`Source`

    Raises
    ------
    PlotError
        An unknown axis, a selection that matches no run or several (the message lists the valid
        values of the axes still open), or a run that is not done.

    Examples
    --------
    >>> path, i = select_sweep_run("outputs/lr_small", ["optimizer.name=adam", "optimizer.lr=1"], 0)  # doctest: +SKIP
    """
    from ..errors import StoreError
    from ..sweep.results import open_sweep

    try:
        sw = open_sweep(root)
    except StoreError as exc:
        raise PlotError(str(exc)) from None
    runs = sw.runs
    for item in select:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or key not in sw.axes:
            raise PlotError(f"--select {item!r}: give AXIS=VALUE with an axis of sweep {sw.name!r}: "
                            f"{', '.join(sw.axes)}")
        runs = [r for r in runs if matches(text.strip(), r.point.get(key))]
        if not runs:
            raise PlotError(f"--select {item!r} matches no run of sweep {sw.name!r}; {key} takes "
                            f"{_values(sw.axes[key])}")
    if repeat is not None:
        if not 0 <= repeat < sw.repeats:
            raise PlotError(f"--repeat {repeat}: sweep {sw.name!r} has repeats 0..{sw.repeats - 1}")
        runs = [r for r in runs if r.repeat == repeat]
    if len(runs) > 1:
        open_axes = [f"--select {k}= one of {_values(v)}" for k, v in sw.axes.items()
                     if len({json.dumps(r.point.get(k)) for r in runs}) > 1]
        if len({r.repeat for r in runs}) > 1:
            open_axes.append(f"--repeat one of 0..{sw.repeats - 1}")
        head = f"the selection matches {len(runs)} runs of sweep {sw.name!r}; add " if select or repeat is not None \
            else f"{str(root)!r} is a sweep directory of {len(runs)} runs; pick one with "
        raise PlotError(head + "; ".join(open_axes))
    r = runs[0]
    if r.state != "done" or r.file is None:
        raise PlotError(f"run {r.id} ({_point(r.point)}, repeat {r.repeat}) of sweep {sw.name!r} is {r.state}"
                        + (f" ({r.error})" if r.error else "") + "; htdyn sweep status " + str(root))
    return str(r.file), int(r.index)


def matches(text: str, value: Any) -> bool:
    """Whether the command-line text names the axis value (numbers by value, the rest by their text)."""
    if isinstance(value, bool):
        return text.lower() in (str(value).lower(), str(int(value)))
    if isinstance(value, (int, float)):
        try:
            return float(text) == float(value)
        except ValueError:
            return False
    return text == (value if isinstance(value, str) else json.dumps(value))


def _values(vals: Sequence[Any]) -> str:
    return ", ".join(f"{v:g}" if isinstance(v, float) else str(v) for v in vals)


def _point(point: dict) -> str:
    return ", ".join(f"{k}={_values([v])}" for k, v in point.items())
