"""What the figures read from a trajectory file: stored results only.

A :class:`Source` opens a file once; ``Source.run(i)`` gives a :class:`RunView` with the
run's config, its losses, its stored analysis (``/analysis``, written by ``htdyn analyze``)
and its spectra.  A spectrum comes from the stored ESD of the analysis when there is one,
and is computed from the stored W_t only when the file holds W but no ESD.  Anything else a
figure needs and the file lacks raises :class:`~htdyn.plot.common.PlotError` with the
command that makes it.
"""

from __future__ import annotations

import os
from functools import cached_property
from typing import Any

import numpy as np

from .common import PlotError, need_pandas, run_caption

__all__ = ["Source", "RunView", "open_source"]


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
    def _esd_rows(self) -> dict[int, np.ndarray]:
        a = self.source.analysis
        if a is None:
            if self.is_layer and "esd" in self.run.metrics:  # a watched layer's ESD, recorded while it trained
                return {int(t): np.asarray(e) for t, e in zip(self.run.g["metrics/steps"][()], self.run.metrics["esd"])}
            return {}
        return {int(r["step"]): np.asarray(r["esd"], dtype=np.float64) for r in a.rows
                if r["run"] == self.index and r["set"] == "esd" and "esd" in r}

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
        """This run's rows of the tidy table (a DataFrame sorted by step); PlotError without analysis."""
        table = self.source.table
        return table[table["run"] == self.index].sort_values("step").reset_index(drop=True)

    def has_metrics(self) -> bool:
        return self.source.analysis is not None

    def update_steps(self) -> list[int]:
        return [int(t) for t in self.run.update_steps]

    def need_updates(self, what: str) -> list[int]:
        steps = self.update_steps()
        if not steps and self.is_layer:
            raise PlotError(f"{what}: the updates M_t are needed and {self.source.path!r} stores none; watch the "
                            "model with htdyn.watch(..., store='full')")
        if not steps:
            raise PlotError(f"{what}: the updates M_t are needed and {self.source.path!r} stores none; rerun with "
                            "snapshots.updates = true and snapshots.at = 1 "
                            "(htdyn run CONFIG --set snapshots.updates=true --set snapshots.at=1)")
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
