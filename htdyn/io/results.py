"""Writing an analysis into a trajectory file so that nothing is lost.

``htdyn analyze`` computes its results in memory; :func:`commit` then writes them
into the file's ``/analysis`` group in one short step:

1. the new group is built in an in-memory HDF5 file, which gives its exact size;
2. that many bytes (and a margin) are allocated past the end of the trajectory
   file (``posix_fallocate``): a full disk is found here, before HDF5 writes
   anything (HDF5 cannot recover from a failed write: its metadata cache is left
   dirty and the process crashes when the file is closed);
3. the group is copied into the file as ``/analysis.tmp``, the old ``/analysis``
   is renamed ``/analysis.old``, the new one renamed ``/analysis``, the old one
   deleted.  An interruption at any point leaves a complete ``/analysis`` (old or
   new); :func:`recover` tidies the names up on the next write.

HDF5 allocates new objects at its end of address space (the old end of the file)
and truncates the file to it when closed, which releases the unused reservation.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import uuid
from collections.abc import Mapping, Sequence
from contextlib import suppress
from typing import Any

import h5py
import numpy as np

from ..errors import StoreError
from .diskspace import format_bytes

#: where a new analysis is written before it replaces ``/analysis``, and where the old one waits
TMP_GROUP, OLD_GROUP = "analysis.tmp", "analysis.old"
#: HDF5 overhead per file, generously (the margin of every reservation)
FIXED_BYTES = 64 * 1024


def check_space(needs: Sequence[tuple[str, int]]) -> None:
    """Refuse when a file system lacks the bytes asked for.

    Parameters
    ----------
    needs : (directory, bytes) pairs; directories on one file system add up

    Raises
    ------
    StoreError
        Naming the directory, the bytes needed and the bytes free.
    """
    total: dict[int, list] = {}
    for where, nbytes in needs:
        total.setdefault(os.stat(where).st_dev, [where, 0])[1] += nbytes
    for where, nbytes in total.values():
        free = shutil.disk_usage(where).free
        if free < nbytes:
            raise StoreError(f"not enough free disk space in {where!r} for the analysis: it needs about "
                             f"{format_bytes(nbytes)}, {format_bytes(free)} are free; free some space "
                             "(nothing was written)")


def reserve(path: str, nbytes: int) -> None:
    """Allocate ``nbytes`` past the end of the file, so that HDF5's writes cannot meet a full disk.

    Raises
    ------
    StoreError
        The disk lacks the space (the file is left as it was).
    """
    fd = os.open(path, os.O_RDWR)
    try:
        size = os.fstat(fd).st_size
        try:
            os.posix_fallocate(fd, size, nbytes)
        except OSError as exc:
            with suppress(OSError):
                os.ftruncate(fd, size)
            if exc.errno in (errno.EOPNOTSUPP, errno.EINVAL, errno.ENOSYS):
                return  # no fallocate on this file system: the check up front has to do
            free = shutil.disk_usage(os.path.dirname(os.path.abspath(path))).free
            raise StoreError(f"cannot write the analysis into {path!r}: {exc.strerror} (it needs about "
                             f"{format_bytes(nbytes)}, {format_bytes(free)} are free); the file and its earlier "
                             "analysis are unchanged") from None
    finally:
        os.close(fd)


def file_identity(path: str | os.PathLike) -> tuple[int, int]:
    """(device, inode) of a file: what stays the same unless the file is replaced."""
    st = os.stat(path)
    return st.st_dev, st.st_ino


def commit(path: str, runs: Mapping[int, list[dict]], attrs: Mapping[str, Any],
           identity: tuple[int, int] | None = None, *, id_columns: Sequence[str] = (),
           categories: Mapping[str, Sequence[str]] | None = None) -> None:
    """Write long rows as the file's new ``/analysis``: complete, or not at all.

    Parameters
    ----------
    path : the trajectory file (opened here for writing)
    runs : per run index, its long rows
    attrs : attributes of ``/analysis``
    identity : :func:`file_identity` of the file that was analysed; a file replaced
        since (e.g. by ``htdyn run --overwrite``) is not written
    id_columns : row keys that identify a row rather than hold a value (not stored)
    categories : for a key holding codes, the names they index (stored as its ``names``)

    Raises
    ------
    StoreError
        The file was replaced, the disk lacks the space or a write failed; the
        earlier ``/analysis`` is kept.
    """
    from .reader import Trajectory

    if identity is not None and file_identity(path) != identity:
        raise StoreError(f"{path!r} was replaced while it was being analysed; its analysis was not written "
                         f"(run htdyn analyze {path} again)")
    with h5py.File(f"htdyn-analysis-{uuid.uuid4().hex}", "w", driver="core", backing_store=False) as mem:
        ag = mem.create_group("analysis")
        ag.attrs.update(dict(attrs))
        for i, rows in runs.items():
            write_run(ag, i, rows, id_columns, categories or {})
        mem.flush()
        reserve(path, int(1.25 * len(mem.id.get_file_image())) + FIXED_BYTES)
        with Trajectory(path, mode="r+") as traj:
            f = traj.f
            recover(f)
            try:
                mem.copy(mem["analysis"], f, name=TMP_GROUP)
                if "analysis" in f:
                    f.move("analysis", OLD_GROUP)
                f.move(TMP_GROUP, "analysis")
                if OLD_GROUP in f:
                    del f[OLD_GROUP]
                f.flush()
            except BaseException as exc:
                with suppress(Exception):
                    recover(f)
                if isinstance(exc, OSError):
                    raise StoreError(f"cannot write the analysis into {path!r} ({exc}); "
                                     "the earlier analysis is kept") from None
                raise


def recover(f: h5py.File) -> None:
    """Undo an interrupted swap: keep the complete ``/analysis`` (old or new), drop the rest."""
    if "analysis" not in f and OLD_GROUP in f:
        f.move(OLD_GROUP, "analysis")
    for name in (TMP_GROUP, OLD_GROUP):
        if name in f:
            del f[name]


def write_run(ag: h5py.Group, index: int, rows: Sequence[Mapping], id_columns: Sequence[str] = (),
              categories: Mapping[str, Sequence[str]] | None = None) -> None:
    """One run's long rows as ``runs/<index>/<set>/<key>`` (float64 per step, ``steps`` alongside).

    A key of ``categories`` (``phase``) holds codes into the names in its ``names`` attribute (JSON).
    """
    categories = categories or {}
    g = ag.create_group(f"runs/{index:04d}")
    by_set: dict[str, list[Mapping]] = {}
    for r in rows:
        by_set.setdefault(r["set"], []).append(r)
    for s, rs in by_set.items():
        sg = g.create_group(s)
        sg.create_dataset("steps", data=np.array([r["step"] for r in rs], dtype=np.int64))
        keys = list(dict.fromkeys(k for r in rs for k in r if k not in id_columns))  # every row's keys
        for k in keys:
            vals = [r.get(k, np.nan) for r in rs]
            ds = sg.create_dataset(k, data=np.asarray(vals, dtype=np.float64))
            if k in categories:
                ds.attrs["names"] = json.dumps(list(categories[k]))


def read_stored(traj: Any) -> tuple[dict[int, dict[str, dict[str, np.ndarray]]], tuple[str, ...] | None] | None:
    """What ``/analysis`` of an open trajectory holds, or None when it holds no analysis.

    Returns ``(runs, phase_names)``: ``runs[index][set]`` maps ``"steps"`` and each key of the
    set to its array (one row per step); ``phase_names`` are the names the stored phase indices
    refer to (None without a ``phase`` set).  The old group of an interrupted swap counts.
    """
    f = traj.f
    name = next((g for g in ("analysis", OLD_GROUP) if g in f), None)
    if name is None:
        return None
    runs: dict[int, dict[str, dict[str, np.ndarray]]] = {}
    names = None
    for key, rg in f[f"{name}/runs"].items():
        runs[int(key)] = {s: {k: sg[k][()] for k in sg} for s, sg in rg.items()}
        for sg in rg.values():
            if "phase" in sg and "names" in sg["phase"].attrs:
                names = tuple(json.loads(sg["phase"].attrs["names"]))
    return runs, names
