"""Closing an HDF5 file safely when its disk is full.

Two things crashed a process whose disk filled while it wrote a trajectory (exit -11):

- a data set opened for a single write is closed when its handle is collected, and that
  close flushes its chunk cache; on a full disk the error is raised inside a finalizer,
  where Python only prints it ("Exception ignored"), and the writer goes on as if the data
  were written.  :class:`DatasetHandles` keeps each data set open until the file closes,
  so the chunks are written by the writer's flush, whose error reaches the caller;
- when ``H5Fclose`` fails (no room for the metadata it flushes), HDF5 has already freed
  part of the file's objects: closing it again, a handle's finalizer, or HDF5's own exit
  handler then touch freed memory.  The writer gives its disk reserve back before it
  closes, so the close has room; :func:`close_file` closes once, and if even that fails
  keeps every handle alive and leaves the process without HDF5's exit handler.

When another process takes the space given back at that very moment, even a handle the
writer let go of while it set a file up can fail to close; so a writer that stops on a full
disk calls :func:`skip_hdf5_exit_handler`: the process ends, with its own exit status, without
HDF5's exit handler (every file htdyn writes is closed by then; the index is JSON).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import sys
from typing import Any

import h5py

__all__ = ["DatasetHandles", "close_file", "CLOSED", "skip_hdf5_exit_handler"]

#: h5py objects of files whose close failed: kept alive, as their finalizers would touch freed memory
_UNCLOSABLE: list = []
#: the status sys.exit was called with (what the process would have exited with)
_EXIT: dict = {"registered": False, "code": 0}


class _Closed:
    """Stands for a file whose close failed: not valid, so nothing writes or closes it again."""

    class id:  # noqa: N801 - mirrors h5py's File.id.valid
        valid = False


CLOSED = _Closed()


class DatasetHandles:
    """A group's data sets (``handles["eval/test_loss"]``), each opened once and kept open until the file closes."""

    def __init__(self, g: h5py.Group) -> None:
        self.group, self.open = g, {}

    def __getitem__(self, name: str) -> Any:
        if name not in self.open:
            self.open[name] = self.group[name]
        return self.open[name]

    def __contains__(self, name: str) -> bool:
        return name in self.open or name in self.group


def close_file(f: h5py.File, keep: Any = None) -> None:
    """Close ``f`` (h5py closes its open objects first).  If the close fails, ``f`` and ``keep``
    (the caller's handles into it) are never finalized and the process exits past HDF5's exit
    handler (status 1: a run failed); the error propagates."""
    try:
        f.close()
    except BaseException:
        skip_hdf5_exit_handler()
        _UNCLOSABLE.append((f, keep))
        raise


def skip_hdf5_exit_handler() -> None:
    """End the process, when it ends, without HDF5's exit handler (idempotent).

    The exit status is the one given to ``sys.exit`` (how the CLI and click end), 0 when the
    program ends normally.
    """
    if _EXIT["registered"]:
        return
    _EXIT["registered"] = True
    real_exit = sys.exit

    def record(code: Any = 0) -> None:
        _EXIT["code"] = code
        real_exit(code)

    sys.exit = record
    atexit.register(_exit_past_hdf5)


def _exit_past_hdf5() -> None:
    """Leave without HDF5's exit handler, which would close what a failed close half freed and crash."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    code = _EXIT["code"]
    os._exit(code if isinstance(code, int) else 0 if code is None else 1)
