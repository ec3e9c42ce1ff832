"""One driver at a time per sweep directory: its lock, and the disk reserve for its index.

The driver holds ``DIR/.index.json.lock`` (:class:`~htdyn.io.filelock.WriterLock`:
host, pid, command) while it runs, and a file of reserved bytes beside the index
(:class:`~htdyn.io.diskspace.Reserve`) that it gives back to update the index when the
disk fills.  :class:`DriverLock` is the part of :class:`~htdyn.sweep.index.SweepDir`
that takes and releases them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import StoreError
from ..io.diskspace import Reserve
from ..io.filelock import WriterLock, describe, holder
from .docfile import write_error

__all__ = ["DriverLock", "INDEX_RESERVE_BYTES", "INDEX_RESERVE_PER_RUN"]

#: bytes the driver holds beside index.json, given back to update it when the disk fills (plus per run)
INDEX_RESERVE_BYTES, INDEX_RESERVE_PER_RUN = 128 << 10, 512


class DriverLock:
    """The directory's driver lock and index reserve (needs ``root`` and ``index_path``)."""

    root: Path
    index_path: Path
    _lock: WriterLock | None = None
    _reserve: Reserve | None = None
    _reserve_bytes: int = INDEX_RESERVE_BYTES

    def lock(self, runs: int = 0) -> Any:
        """Take the directory's lock and a reserve of disk space for updating the index (``runs``: planned)."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            self._lock = WriterLock(self.index_path).acquire()
        except StoreError:
            info = holder(self.index_path) or {}
            raise StoreError(f"sweep {str(self.root)!r} is being run by {describe(info)}; wait for it, "
                             "or check it with htdyn sweep status") from None
        except OSError as exc:
            raise write_error(self.root, exc) from None
        self._reserve_bytes = INDEX_RESERVE_BYTES + INDEX_RESERVE_PER_RUN * runs
        self._reserve = Reserve(self.root / ".index.json.reserve", self._reserve_bytes)
        return self

    def unlock(self) -> None:
        if self._reserve is not None:
            self._reserve.release()
            self._reserve = None
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    def driver(self) -> dict | None:
        """The live driver of this directory (host, pid, command), or None."""
        return holder(self.index_path)

    @property
    def locked(self) -> bool:
        """Whether this object holds the directory's lock."""
        return self._lock is not None

    def give_back_reserve(self) -> bool:
        """Release the index reserve, if held (True): room to write the index on a full disk."""
        if self._reserve is None or not self._reserve.held:
            return False
        self._reserve.release()
        return True

    def retake_reserve(self) -> None:
        """Hold the index reserve again (held only if it fits)."""
        self._reserve = Reserve(self.root / ".index.json.reserve", self._reserve_bytes)
