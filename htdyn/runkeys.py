"""What tells runs apart: flattened run configs and the keys that differ between them.

Plain data only (no numpy, no config classes), so the CLI tables, the analysis
CSV and the sweep table can all say what was swept without importing the
training code.

>>> varying_keys([{"optimizer": {"lr": 0.1}, "seed": 0}, {"optimizer": {"lr": 1.0}, "seed": 0}])
['optimizer.lr']
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any


def flatten(d: Mapping, prefix: str = "") -> dict[str, Any]:
    """Nested dicts as one dict of dotted keys, in the order of the keys."""
    out: dict[str, Any] = {}
    for k, v in d.items():
        if isinstance(v, Mapping):
            out.update(flatten(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def varying_keys(configs: Sequence[Mapping], exclude: Sequence[str] = ("label",)) -> list[str]:
    """The dotted keys whose values are not the same in every config, in first-seen order.

    Parameters
    ----------
    configs : sequence of mapping
        Run configs as plain (nested) data, e.g. ``Run.config`` of a trajectory.
    exclude : keys never reported (the label names a run; it is not a setting).

    Returns
    -------
    list of str
        Empty for fewer than two configs or identical ones.
    """
    flat = [flatten(c) for c in configs]
    keys: list[str] = []
    for f in flat:
        keys.extend(k for k in f if k not in keys)
    missing = object()

    def canon(v: Any) -> str:
        return "<missing>" if v is missing else json.dumps(v, sort_keys=True, default=str)

    return [k for k in keys if k not in exclude and len({canon(f.get(k, missing)) for f in flat}) > 1]
