"""The tidy analysis table: one record per run and step, every metric a column.

:func:`htdyn.analysis.offline.analyze` computes *long* rows, one per run x step x
metric set (what :attr:`AnalysisResult.rows <htdyn.analysis.offline.AnalysisResult>`
holds).  This module pivots them into *wide* records, adds what tells runs apart
(the config keys that differ between runs, :func:`htdyn.runkeys.varying_keys`) and
the losses at that step, names the phases and makes counts integers; and writes the
CSV (through a temporary file beside it, replaced at the end).

Columns, in order: ``run, label``, the swept config keys (dotted, e.g.
``optimizer.lr``), ``step``, ``loss`` (training loss of W_t) and the eval losses
(``probe_loss, test_loss, net_train_loss, net_test_loss``; empty unless ``step`` is an
eval step), then every metric of the analysed sets under its own name, prefixed by
its set (``<set>_<name>``) only where two sets share a name; ``normalize`` last when
the normalised ESD was used.  Array values (the ESD, the ``top`` set's triplets:
:data:`~htdyn.analysis.metricdecl.VECTOR_KEYS`) are not columns: they stay in the file.

Public (``__all__``) are the column groups and :func:`wide_records`, the pivot itself (a
researcher reaches the table through ``AnalysisResult.records()``, ``table()`` and
``to_csv()``); the other functions check the CSV path, estimate the bytes, read a run's
context and write the text for :mod:`htdyn.analysis.offline` and stay importable as helpers.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import StoreError
from ..io.atomic import write_text_atomic
from ..io.results import FIXED_BYTES
from ..runkeys import flatten
from .metricdecl import SETS, VECTOR_KEYS
from .phases import PHASES
from .registry import metric_keys

__all__ = ["ID_COLUMNS", "LOSS_COLUMNS", "INT_KEYS", "wide_records"]

#: the identifying columns of the long rows (one per run x step x metric set)
ID_COLUMNS = ("run", "label", "optimizer", "lr", "seed", "step", "set")
#: the losses of a step, from the trajectory (``loss[t]`` and the eval losses)
LOSS_COLUMNS = ("loss", "probe_loss", "test_loss", "net_train_loss", "net_test_loss")
#: metrics that count something: integers in the records and the CSV
INT_KEYS = frozenset({"n_spikes", "k_ks", "numerical_rank"})


def format_steps(steps: Iterable[int], max_parts: int = 8) -> str:
    """Steps as compressed ranges, e.g. ``0-10``, ``0-2, 4, 8, 16`` or ``0-90 every 10``.

    Runs of three or more equally spaced steps become ``a-b`` (spacing 1) or
    ``a-b every k``; beyond ``max_parts`` pieces the middle ones are elided.
    """
    s = sorted({int(x) for x in steps})
    if not s:
        return "none"
    parts: list[str] = []
    i = 0
    while i < len(s):
        j = i + 1
        if j + 1 < len(s):
            gap = s[j] - s[i]
            while j + 1 < len(s) and s[j + 1] - s[j] == gap:
                j += 1
            if j - i >= 2:
                parts.append(f"{s[i]}-{s[j]}" if gap == 1 else f"{s[i]}-{s[j]} every {gap}")
                i = j + 1
                continue
        parts.append(str(s[i]))
        i += 1
    if len(parts) > max_parts:
        parts = parts[: max_parts - 2] + [f"... ({len(parts) - max_parts + 1} more)", parts[-1]]
    return ", ".join(parts)


def run_context(run: Any, swept: Sequence[str]) -> dict[str, Any]:
    """What the records take from a run besides its metrics: label, swept values, losses.

    Parameters
    ----------
    run : htdyn.io.reader.Run
    swept : the dotted config keys that differ between the runs of the file
    """
    flat = flatten(run.config)
    ev = run.eval
    return {
        "label": run.label,
        "config": {k: _plain(flat.get(k)) for k in swept},
        "loss": np.asarray(run.loss, dtype=np.float64),
        "eval_steps": [int(t) for t in run.eval_steps],
        "eval": {k: np.asarray(ev[k], dtype=np.float64) for k in LOSS_COLUMNS[1:] if k in ev},
    }


def _plain(v: Any) -> Any:
    if isinstance(v, (list, tuple, dict)):
        return json.dumps(v)
    return v


def metric_columns(rows: Iterable[Mapping], reserved: Iterable[str] = ()) -> dict[tuple[str, str], str]:
    """``{(set, key): column name}`` in first-seen order; a key two sets share gets ``<set>_`` in front."""
    owners: dict[str, list[str]] = {}
    for r in rows:
        s = r["set"]
        if not _has_columns(s):
            continue
        for k in r:
            if k in ID_COLUMNS or k == "normalize" or k in VECTOR_KEYS:
                continue
            sets = owners.setdefault(k, [])
            if s not in sets:
                sets.append(s)
    taken = set(reserved)
    return {(s, k): (k if len(sets) == 1 and k not in taken else f"{s}_{k}")
            for k, sets in owners.items() for s in sets}


def wide_records(rows: Sequence[Mapping], runs: Mapping[int, Mapping], swept: Sequence[str],
                 phase_names: Sequence[str] = PHASES) -> tuple[list[str], list[dict[str, Any]]]:
    """Pivot long rows into one record per run and step.

    The long rows are what :attr:`AnalysisResult.rows <htdyn.analysis.offline.AnalysisResult>`
    holds (one per run x step x metric set); the records are the tidy table of the module
    docstring (``AnalysisResult.records()`` calls this).  Arrays (``esd``, ``top_*``) are left
    out; a key two sets share is prefixed by its set; ``phase`` codes become names and counts
    (:data:`INT_KEYS`) integers.

    Parameters
    ----------
    rows : sequence of dict
        Long rows: ``run``, ``step``, ``set`` and that set's metrics (other identifying keys
        of :data:`ID_COLUMNS` are ignored).
    runs : mapping
        Per run index, what the records take from the run (the offline driver reads it from
        the file): ``label``; ``config``, ``{swept key: value}``; ``loss``, the training loss
        per step (an array indexed by step); ``eval_steps``, the eval steps; ``eval``,
        ``{eval loss name: array per eval step}`` (names from :data:`LOSS_COLUMNS`).
    swept : sequence of str
        The swept config keys (columns after ``label``).
    phase_names : sequence of str
        The names the stored ``phase`` codes index.

    Returns
    -------
    columns : list of str
    records : list of dict
        Sorted by run, then step; every record has every column (None where a
        number was not computed at that step: an update after the last step, the
        eval losses between eval steps).  NaN is a number that was computed and is
        undefined (a non-finite matrix, a fit that failed).

    Examples
    --------
    >>> import numpy as np
    >>> from htdyn.analysis.tidy import wide_records
    >>> rows = [{"run": 0, "step": 0, "set": "norms", "stable_rank": 3.0},
    ...         {"run": 0, "step": 0, "set": "update", "stable_rank": 1.5},   # shares a name with norms
    ...         {"run": 0, "step": 0, "set": "mp", "n_spikes": 2.0},
    ...         {"run": 0, "step": 0, "set": "phase", "phase": 2.0},
    ...         {"run": 0, "step": 0, "set": "esd", "esd": np.ones(3)},      # an array: no column
    ...         {"run": 0, "step": 1, "set": "norms", "stable_rank": 2.5}]
    >>> runs = {0: {"label": "lr=0.1", "config": {"optimizer.lr": 0.1}, "loss": np.array([0.5, 0.25]),
    ...             "eval_steps": [0], "eval": {"test_loss": np.array([0.75])}}}
    >>> columns, records = wide_records(rows, runs, ["optimizer.lr"])
    >>> print(*columns)
    run label optimizer.lr step loss test_loss norms_stable_rank update_stable_rank n_spikes phase
    >>> records[0]["phase"], records[0]["n_spikes"], records[0]["update_stable_rank"]
    ('bulk+spikes', 2, 1.5)
    >>> records[1]["loss"], records[1]["test_loss"], records[1]["update_stable_rank"]   # not an eval step
    (0.25, None, None)
    """
    losses = [c for c in LOSS_COLUMNS if c == "loss" or any(c in ctx["eval"] for ctx in runs.values())]
    head = ["run", "label", *swept, "step", *losses]
    cols = metric_columns(rows, reserved=head + ["normalize"])
    normalized = any("normalize" in r for r in rows)
    columns = head + list(dict.fromkeys(cols.values())) + (["normalize"] if normalized else [])
    recs: dict[tuple[int, int], dict[str, Any]] = {}
    for r in rows:
        if not _has_columns(r["set"]):
            continue
        key = (int(r["run"]), int(r["step"]))
        rec = recs.get(key)
        if rec is None:
            rec = recs[key] = _base(key, runs[key[0]], swept, losses)
        for k, v in r.items():
            if k in ID_COLUMNS or k in VECTOR_KEYS:
                continue
            if k == "normalize":
                rec["normalize"] = int(v)
                continue
            rec[cols[(r["set"], k)]] = _value(k, v, phase_names)
    return columns, [{c: recs[key].get(c) for c in columns} for key in sorted(recs)]


def _has_columns(name: str) -> bool:
    """Whether a set's rows give CSV columns (``esd`` and ``top`` hold arrays only)."""
    return SETS[name].has_columns if name in SETS else True


def _base(key: tuple[int, int], ctx: Mapping, swept: Sequence[str], losses: Sequence[str]) -> dict[str, Any]:
    run, t = key
    rec: dict[str, Any] = {"run": run, "label": ctx["label"], **{k: ctx["config"].get(k) for k in swept}, "step": t}
    loss = ctx["loss"]
    rec["loss"] = float(loss[t]) if 0 <= t < len(loss) else float("nan")
    i = ctx["eval_steps"].index(t) if t in ctx["eval_steps"] else None
    for c in losses[1:]:
        rec[c] = float(ctx["eval"][c][i]) if i is not None and c in ctx["eval"] else None
    return rec


def _value(key: str, v: Any, phase_names: Sequence[str]) -> Any:
    x = float(v)
    if key == "phase":
        if not math.isfinite(x):  # the rule could not be applied (no fit possible)
            return x
        i = int(x)
        return phase_names[i] if 0 <= i < len(phase_names) else str(i)
    if key in INT_KEYS and math.isfinite(x):
        return int(round(x))
    return x


def _cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, (bool, np.bool_)):
        return str(bool(v))
    if isinstance(v, (float, np.floating)):
        x = float(v)
        if math.isnan(x):
            return "NaN"
        if math.isinf(x):
            return "Inf" if x > 0 else "-Inf"
        return repr(x)
    return str(v)


def csv_text(columns: Sequence[str], records: Iterable[Mapping]) -> str:
    """The records as CSV text: NaN as ``NaN``, infinities as ``Inf``/``-Inf``, None as an empty cell."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(columns)
    for r in records:
        w.writerow([_cell(r.get(c)) for c in columns])
    return buf.getvalue()


def check_csv_path(path: str | os.PathLike, trajectory: str | os.PathLike | None = None) -> Path:
    """Where the CSV can go, checked before any work: not a directory, not the trajectory.

    Missing parent directories are created (as ``htdyn run -o`` does).

    Raises
    ------
    StoreError
        The path is a directory, the trajectory file itself, below a file, or its
        directory cannot be created or written.
    """
    p = Path(path)
    if p.is_dir():
        raise StoreError(f"--csv {str(p)!r} is a directory; give a file name, e.g. {str(p / 'analysis.csv')!r}")
    if trajectory is not None and p.exists() and os.path.exists(trajectory) and os.path.samefile(p, trajectory):
        raise StoreError(f"--csv {str(p)!r} is the trajectory file itself; give another file name")
    parent = p.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise StoreError(f"--csv {str(p)!r}: a part of {str(parent)!r} is a file, not a directory") from None
    except OSError as exc:
        raise StoreError(f"--csv {str(p)!r}: cannot create the directory {str(parent)!r} ({exc.strerror})") from None
    if not os.access(parent, os.W_OK):
        raise StoreError(f"--csv {str(p)!r}: the directory {str(parent)!r} is not writable")
    return p


def write_text_beside(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` to a temporary file beside ``path`` (fsync'ed) and return its name.

    The caller renames it over ``path`` (``os.replace``) once everything else is done;
    on failure (a full disk) the temporary file is removed and a StoreError raised,
    and ``path`` is untouched (:func:`htdyn.io.atomic.write_text_atomic` with ``commit=False``).
    """
    return write_text_atomic(path, text, commit=False)


#: HDF5 overhead per data set (object header, chunk index), generously
DATASET_BYTES = 1024


def estimate_bytes(plan: Sequence[tuple[Any, Sequence[int]]], sets: Sequence[str], n_swept: int,
                   normalize: bool) -> tuple[int, int]:
    """Bytes an analysis will add to the trajectory file and write to the CSV (upper estimates).

    Parameters
    ----------
    plan : (run, steps to analyse) pairs
    sets : metric sets
    n_swept : number of swept config keys (CSV columns)
    normalize : whether the normalised ESD is used (one more number per set in the file; counted once here)
    """
    keys = metric_keys(sets, normalize=normalize)
    arrays = [k for s in sets if s in SETS for k in SETS[s].keys if not k.scalar]
    h5 = csv = FIXED_BYTES
    for run, todo in plan:
        n = len(todo)
        values = sum(k.size_for(*run.shape) for k in arrays)  # the ESD, the triplets
        h5 += 8 * n * (len(keys) + values + len(sets)) + DATASET_BYTES * (len(keys) + len(arrays) + 2 * len(sets))
        csv += 25 * n * (len(keys) + n_swept + 8)
    return h5, csv
