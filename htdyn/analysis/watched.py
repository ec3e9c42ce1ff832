"""What the analysis does with a watched file (``htdyn.watch``): its units are layers, not runs.

A watched layer has no teacher, no data and no probe set, so the sets that need them
(``teacher``, ``features``) are skipped, with one line saying so (:func:`layer_notes`).  A
layer stored without W (``store = "scalars"`` or ``"spectra"``) is analysed from the metrics
recorded while it trained (:func:`online_rows`: the same numbers, computed then from the
same W by :func:`htdyn.analysis.registry.set_metrics`); ``update`` and ``drift`` need
``store = "full"``.

Nothing here is public (``__all__`` is empty): the three functions serve
:mod:`htdyn.analysis.offline`, and a researcher analyses a watched file through
:func:`htdyn.analysis.offline.analyze` as any other; they stay importable as helpers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from .metricdecl import SETS
from .registry import ONLINE_SETS

__all__: list[str] = []


def recorded_steps(run: Any) -> list[int]:
    """A watched layer stored without W (``store`` scalars or spectra): the steps of its recorded metrics."""
    return [int(t) for t in run.metric_steps] if run.unit == "layer" else []  # a layer has no eval steps


def layer_notes(traj: Any, sets: Sequence[str]) -> list[str]:
    """One line each on what a watched file lacks for ``sets`` (empty for a simulator file)."""
    if traj.unit != "layer":
        return []
    notes = []
    lack = [s for s in sets if s in ("teacher", "features")]
    if lack:
        notes.append(f"a watched model has no teacher or probe set: sets {', '.join(lack)} skipped")
    if traj.runs and not len(traj.runs[0].steps):
        kept = [s for s in sets if s in ONLINE_SETS and s != "teacher"]
        notes.append(f"no W stored (watch store={traj.config.get('store')!r}): the analysis is the metrics "
                     f"recorded while training ({', '.join(kept) or 'none asked for'}); "
                     "store='full' keeps W for update and drift")
    return notes


def online_rows(run: Any, sets: Sequence[str], todo: Sequence[int], ident: dict,
                progress: Callable | None = None) -> list[dict]:
    """The rows of a watched layer stored without W: its recorded online metrics, by set."""
    stored = set(run.metric_names)
    at = {int(t): i for i, t in enumerate(run.metric_steps)}
    have = [s for s in SETS if s in sets and SETS[s].online and all(k.name in stored for k in SETS[s].keys
                                                                       if not k.needs_beta)]
    cols = run.read_metrics({k.name for s in have for k in SETS[s].keys if not k.needs_beta})
    rows = []
    for t in todo:
        for s in have:
            rows.append({**ident, "step": t, "set": s,
                         **{k.name: cols[k.name][at[t]] for k in SETS[s].keys if not k.needs_beta}})
        if progress is not None:
            progress(1)
    return rows
