"""Named points in the writer where a crash-safety test can kill the process, as a crash would.

The writer and the checkpoints call :func:`point` at the moments their safety
rests on: ``flush-between`` (the snapshot chunks and losses are flushed, the
progress counters not yet published) and ``checkpoint-between`` (a new
checkpoint is flushed into its slot, not yet named the valid one).  With
``HTDYN_FAULT=NAME`` (or ``NAME@K``: the K-th time, counting from 1) in the
environment, the process kills itself with SIGKILL there: no handler, finalizer
or ``finally`` runs, and only what the writer flushed is in the file.
``NAME@K=stop`` stops it with SIGSTOP instead, for a test to change the world
(fill the disk) before it continues (SIGCONT).  Unset
(always, outside the tests) a point costs one environment lookup.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import h5py

POINTS = ("flush-between", "checkpoint-between")

_passed: dict[str, int] = {}


def point(name: str) -> None:
    """Pass the named point; SIGKILL this process if ``HTDYN_FAULT`` names it (and its count)."""
    spec = os.environ.get("HTDYN_FAULT")
    if not spec:
        return
    spec, _, action = spec.partition("=")
    target, _, count = spec.partition("@")
    if target != name:
        return
    _passed[name] = _passed.get(name, 0) + 1
    if _passed[name] == int(count or 1):
        os.kill(os.getpid(), signal.SIGSTOP if action == "stop" else signal.SIGKILL)


def open_hdf5(path: Path, mode: str) -> h5py.File:
    """The writer's one way into HDF5 (a seam: the crash-safety tests substitute a file that records every write).

    The writer calls it by its name in :mod:`htdyn.io.writer`, where a test replaces it.
    """
    return h5py.File(path, mode)
