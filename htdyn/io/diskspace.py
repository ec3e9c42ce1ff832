"""Disk space: what is free, a reserve for a clean stop on a full disk, and telling ENOSPC apart.

When a disk fills during a write, HDF5 cannot flush the metadata that makes the
file readable, and the whole file is lost.  A writer therefore claims a small
*reserve* beside its file when it starts (:class:`Reserve`, a file whose blocks
are allocated): when a write fails because the disk is full, the reserve is
given back, so the final flush, the ``failed`` status and the close fit, and
every snapshot flushed before stays readable.
"""

from __future__ import annotations

import errno
import os
import shutil
from pathlib import Path

#: bytes claimed for the clean stop; HDF5's metadata flush and the status need a few KiB
RESERVE_BYTES = 1 << 20


def free_bytes(directory: str | os.PathLike) -> int:
    """Free bytes on the file system holding ``directory`` (its nearest existing parent)."""
    p = Path(directory).absolute()
    while not p.exists() and p != p.parent:
        p = p.parent
    return shutil.disk_usage(p).free


def is_disk_full(exc: BaseException) -> bool:
    """Whether an exception (from the OS or from HDF5 through h5py) means 'no space left'."""
    for e in _chain(exc):
        if isinstance(e, OSError) and e.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        text = str(e)
        if "errno = 28" in text or "No space left" in text or "Disk quota exceeded" in text:
            return True
    return False


def _chain(exc: BaseException) -> list[BaseException]:
    out: list[BaseException] = []
    while exc is not None and exc not in out:
        out.append(exc)
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]
    return out


def format_bytes(n: float) -> str:
    """1536 -> '1.5 KiB'."""
    if abs(n) < 1024:
        return f"{n:.0f} B"
    for unit in ("KiB", "MiB", "GiB", "TiB"):
        n /= 1024
        if abs(n) < 1024:
            return f"{n:.1f} {unit}"
    return f"{n / 1024:.1f} PiB"


class Reserve:
    """A file of ``nbytes`` allocated blocks, held to be released when the disk fills.

    Parameters
    ----------
    path : path-like
        Where the reserve goes (beside the file it protects: same file system).
    nbytes : int
    """

    def __init__(self, path: str | os.PathLike, nbytes: int = RESERVE_BYTES):
        self.path = Path(path)
        self.held = self.full = False
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        except OSError as exc:
            self.full = is_disk_full(exc)
            return
        try:
            try:
                os.posix_fallocate(fd, 0, nbytes)
            except (AttributeError, OSError) as exc:  # no fallocate here (macOS, some file systems)
                if isinstance(exc, OSError) and is_disk_full(exc):
                    raise
                os.write(fd, b"\0" * nbytes)
                os.fsync(fd)
            self.held = True
        except OSError as exc:
            self.full = is_disk_full(exc)  # no room even for the reserve: the writer refuses to start
        finally:
            os.close(fd)
        if not self.held:
            self.release()

    def release(self) -> None:
        """Give the space back (idempotent)."""
        try:
            self.path.unlink()
        except OSError:
            pass
        self.held = False

    def check(self, dest: str | os.PathLike) -> None:
        """Refuse to write ``dest`` when the disk had no room for the reserve (``StoreError``)."""
        if self.full:
            from ..errors import StoreError

            raise StoreError(f"the disk holding {str(dest)!r} is full (no room for the {format_bytes(RESERVE_BYTES)} "
                             "kept for a clean stop); free some space and run again")
