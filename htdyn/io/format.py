"""The trajectory format's constants and conventions, shared by the writer and the reader.

The layout itself is documented in ``docs/format.md``; this module holds what
both sides must agree on: the format's name and version, where an unfinished
file lives, and how attribute values are written and read back.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

FORMAT_NAME = "htdyn-trajectory"
#: the newest version this htdyn writes and reads; 2 adds the layer unit (root ``unit = "layer"``,
#: written by htdyn.watch); a simulator file of version 2 is laid out as one of version 1
FORMAT_VERSION = 2


#: the per-step penalty data sets: name -> (per term, description)
PENALTY_DATASETS = {
    "value": (True, "R_p(W_t): each penalty term's value at W_t (NaN: not evaluated), t = 0..steps-1"),
    "coefficient": (True, "mu_p acting at step t (0: decayed off, or the value under its lower threshold)"),
    "grad_norm": (True, "||mu_p grad_W R_p(W_t)||_F: the norm of the term's part of step t's gradient"),
    "total": (False, "sum_p mu_p R_p(W_t), the penalty added to the loss at step t"),
    "share": (False, "total / (loss_batch + total): the penalty's share of the objective at step t"),
}


def attr_value(value: Any) -> Any:
    """An HDF5-storable attribute value (None -> 'none', lists -> JSON)."""
    if value is None:
        return "none"
    if isinstance(value, (bool, int, float, str, np.integer, np.floating, np.bool_)):
        return value
    return json.dumps(value)


def py_value(v: Any) -> Any:
    """An attribute as read by h5py, as plain Python (numpy scalars unwrapped, bytes decoded)."""
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, bytes):
        return v.decode()
    return v


def partial_path(dest: str | os.PathLike) -> Path:
    """Where a trajectory is written until it completes: ``<stem>.partial<suffix>`` beside ``dest``."""
    dest = Path(dest)
    return dest.with_name(f"{dest.stem}.partial{dest.suffix}")
