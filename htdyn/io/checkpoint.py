"""Checkpoints: the training state of a batch group, saved in its trajectory file so a killed run resumes.

A checkpoint is a set of named arrays (weights, optimizer state, losses ... in
the training dtype, so a resumed float64 run continues bit for bit) and a
small JSON document (step counts, the minibatch generators' states).  Each
batch group ``g`` has two slots, ``/checkpoints/group<g>/slot0`` and ``slot1``:
a new checkpoint is written into the slot not in use, flushed, and only then
named the valid one (the scalar ``valid``), so a process killed while writing
leaves the previous checkpoint intact.  The slots are created with the first
checkpoint (short runs never write one) and removed when the group completes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import h5py
import numpy as np

from . import faults

ROOT = "checkpoints"


def _group_name(group: int) -> str:
    return f"{ROOT}/group{group:04d}"


def write_checkpoint(f: h5py.File, group: int, arrays: Mapping[str, np.ndarray], meta: Mapping[str, Any]) -> None:
    """Save a checkpoint of batch group ``group`` (two-slot, crash-safe: see the module docstring)."""
    name = _group_name(group)
    if name not in f:
        g = f.create_group(name)
        for s in ("slot0", "slot1"):
            sg = g.create_group(s)
            for k, a in arrays.items():
                sg.create_dataset(k, shape=a.shape, dtype=a.dtype)
        g.create_dataset("valid", data=np.int64(-1))
        f.flush()
    g = f[name]
    slot = 1 - int(g["valid"][()]) if int(g["valid"][()]) >= 0 else 0
    sg = g[f"slot{slot}"]
    for k, a in arrays.items():
        sg[k][...] = a
    sg.attrs["meta"] = json.dumps(dict(meta))
    f.flush()
    faults.point("checkpoint-between")
    g["valid"][()] = slot
    f.flush()


def read_checkpoint(f: h5py.File, group: int) -> tuple[dict[str, np.ndarray], dict[str, Any]] | None:
    """The last complete checkpoint of a batch group: (arrays, meta), or None."""
    name = _group_name(group)
    if name not in f or int(f[name]["valid"][()]) < 0:
        return None
    sg = f[name][f"slot{int(f[name]['valid'][()])}"]
    return {k: sg[k][()] for k in sg}, json.loads(sg.attrs["meta"])


def drop_checkpoint(f: h5py.File, group: int) -> None:
    """Remove a completed group's checkpoint (its space is reused by the next groups' data)."""
    name = _group_name(group)
    if name in f:
        del f[name]
        if not len(f[ROOT]):
            del f[ROOT]
