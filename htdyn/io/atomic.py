"""Writing a file atomically: a temporary name beside it, fsync, then one rename.

One helper serves every writer that replaces a whole file: the analysis's CSV beside
a trajectory (renamed by the caller after the trajectory's own writes, ``commit=False``),
``htdyn sweep summary --csv/--parquet`` and the batch files a Ray task sends back
through the object store (written under the format's partial name, so a crash leaves a
name that is never taken as done).  A reader sees the old file or the whole new one;
a failed write (a full disk) removes the temporary file and leaves ``path`` untouched.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import StoreError

__all__ = ["write_atomic", "write_bytes_atomic", "write_text_atomic", "fsync_dir", "temp_beside"]


def temp_beside(path: str | os.PathLike) -> Path:
    """The temporary name a write of ``path`` goes through: ``.NAME.PID.tmp`` in its directory."""
    p = Path(path)
    return p.with_name(f".{p.name}.{os.getpid()}.tmp")


def fsync_dir(path: str | os.PathLike) -> None:
    """Flush a directory's entries (a rename in it) to disk; a file system that cannot is let be."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_atomic(path: str | os.PathLike, write: Callable[[Path], Any], *, tmp: str | os.PathLike | None = None,
                 commit: bool = True) -> Path:
    """Write a file through a temporary name: ``write(tmp)``, fsync, rename over ``path``.

    Parameters
    ----------
    path : the file to write (or replace).
    write : called with the temporary path; writes the whole file there.
    tmp : the temporary name (default :func:`temp_beside`); it must be in ``path``'s directory.
    commit : rename ``tmp`` over ``path`` and flush the directory (True, returns ``path``);
        False returns ``tmp`` synced, for a caller that renames it after other writes.

    Raises
    ------
    StoreError
        When the write fails with an OSError (a full disk); the temporary file is
        removed and ``path`` is unchanged.  Any other exception also removes it.
    """
    p = Path(path)
    t = temp_beside(p) if tmp is None else Path(tmp)
    try:
        write(t)
        with open(t, "rb+") as fh:
            os.fsync(fh.fileno())
        if commit:
            os.replace(t, p)
    except BaseException as exc:
        t.unlink(missing_ok=True)
        if isinstance(exc, OSError) and not isinstance(exc, StoreError):
            raise StoreError(f"cannot write {str(p)!r} ({exc.strerror or exc}); it is unchanged") from None
        raise
    if not commit:
        return t
    fsync_dir(p.absolute().parent)
    return p


def write_text_atomic(path: str | os.PathLike, text: str, *, commit: bool = True) -> Path:
    """:func:`write_atomic` of a text (written as is: no newline translation)."""
    def write(t: Path) -> None:
        with open(t, "w", newline="") as fh:
            fh.write(text)

    return write_atomic(path, write, commit=commit)


def write_bytes_atomic(path: str | os.PathLike, data: Any, *, tmp: str | os.PathLike | None = None) -> Path:
    """:func:`write_atomic` of any buffer (a ``uint8`` array is written without a copy)."""
    def write(t: Path) -> None:
        with open(t, "wb") as fh:
            fh.write(memoryview(data).cast("B"))

    return write_atomic(path, write, tmp=tmp)
