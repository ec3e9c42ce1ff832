"""What a sweep's index needs from a batch file, read in one open: its configs, if it counts.

A sweep recognises its done runs by recomputing their ids from the configs a *complete*
trajectory file stores, and re-plans an interrupted batch from the configs of an
unfinished file that holds a checkpoint.  :func:`scan_batch_file` reads exactly that
(no data set), so a resume scan of thousands of files stays cheap; the sweep turns
the configs into ids (:func:`htdyn.io.runid.run_id` with its own context).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

import h5py

__all__ = ["BatchScan", "scan_batch_file"]


@dataclass(frozen=True)
class BatchScan:
    """A batch file's simulation config and each run's (config, index), runs in name order."""

    config: dict
    runs: list[tuple[dict, int]]


def scan_batch_file(path: str | os.PathLike, checkpointed: bool = False) -> BatchScan | None:
    """The configs of a complete trajectory file; None for any other.

    Parameters
    ----------
    path : the batch file.
    checkpointed : instead, the configs of an *unfinished* file that holds a checkpoint
        (None for a complete file or one without a checkpoint).

    A file that cannot be opened (missing, locked by a live writer, not HDF5) or lacks a
    config is None too: it is never taken as done.
    """
    try:
        with h5py.File(path, "r") as f:
            complete = f.attrs.get("status") == "complete"
            wanted = (not complete and "checkpoints" in f) if checkpointed else complete
            if not wanted:
                return None
            sim = json.loads(f.attrs["config_json"])
            runs = [(json.loads(f["runs"][name].attrs["config_json"]), int(f["runs"][name].attrs["index"]))
                    for name in sorted(f["runs"])]
            return BatchScan(sim, runs)
    except (OSError, KeyError, ValueError):
        return None
