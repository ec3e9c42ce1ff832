"""A run's stable identity: a short hash of its canonical, resolved config.

Two runs get the same id exactly when everything that determines their numbers
is the same: the model, optimizer and schedule, weight normalisation, and the
*resolved* seeds (``data_seed`` and ``init_seed`` default to ``seed``, so
``seed = 3`` and ``seed = 3, data_seed = 3`` are the same run). The label is a
name, not a setting, and is left out. The canonical form is JSON with sorted
keys, floats written by ``repr`` (exact); the id is the first 16 hex digits of
its SHA-256. The form is part of the file format: changing it would make old
sweeps unrecognisable, so it changes only with a format version.

>>> run_id({"seed": 0, "optimizer": {"lr": 1.0}})
'd3fb8eac9fee23f9'
>>> run_id({"seed": 0, "data_seed": 0, "optimizer": {"lr": 1.0}})   # the same run, seeds resolved
'd3fb8eac9fee23f9'
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

#: keys that name a run rather than set it
NOT_IDENTITY = ("label",)


def canonical_run(run: Mapping[str, Any]) -> dict[str, Any]:
    """The run config as it identifies the run: seeds resolved, the label dropped."""
    out = {k: v for k, v in run.items() if k not in NOT_IDENTITY}
    seed = out.get("seed", 0)
    for key in ("data_seed", "init_seed"):
        if out.get(key) is None:
            out[key] = seed
    return out


def run_id(run: Mapping[str, Any], context: Mapping[str, Any] | None = None) -> str:
    """The stable id of a run config (plain data, e.g. ``RunConfig.to_dict()``).

    ``context``: settings outside the run config that change its results (the
    number of steps, the dtype), when the caller compares runs of different
    simulations.
    """
    doc = {"run": canonical_run(run)}
    if context:
        doc["context"] = dict(context)
    text = json.dumps(doc, sort_keys=True, separators=(",", ":"), allow_nan=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]
