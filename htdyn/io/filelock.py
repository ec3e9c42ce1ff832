"""Who writes a trajectory: an exclusive claim on its destination, and a way to ask.

A writer holds an advisory ``flock`` on a small side file, ``.<name>.lock``
beside the destination, for as long as it writes; the side file holds the
writer's host, pid, start time and command as JSON.  The kernel drops the lock
when the process ends however it ends (kill -9 included), so

- a second writer to the same destination is refused at once, with the first
  one's pid in the message (:class:`WriterLock`), and
- a reader can tell a live writer from a dead one (:func:`holder`): a file whose
  status still says "running" but whose lock is free was left by a writer that
  stopped.

On systems without ``fcntl`` (Windows) the claim is not enforced.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import socket
import sys
from pathlib import Path
from typing import Any

from ..errors import StoreError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]


def lock_path(dest: str | os.PathLike) -> Path:
    """The side file whose lock claims ``dest``: ``.<name>.lock`` in the same directory."""
    dest = Path(dest)
    return dest.with_name(f".{dest.name}.lock")


def writer_identity() -> dict[str, Any]:
    """This process as a writer: host, pid, start time (UTC, ISO) and command line."""
    return {
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "started": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]) if sys.argv and sys.argv[0] else "python",
    }


def describe(info: dict) -> str:
    """'process 123 on host (since 2026-12-01T08:00:00+00:00)' for a writer identity."""
    return f"process {info.get('pid', '?')} on {info.get('host', '?')} (since {info.get('started', '?')})"


def holder(dest: str | os.PathLike) -> dict | None:
    """The identity of the live writer of ``dest``, or None when nobody holds it."""
    path = lock_path(dest)
    if fcntl is None or not path.exists():
        return None
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return _read_info(fd)
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


def _read_info(fd: int) -> dict:
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        return json.loads(os.read(fd, 65536).decode() or "{}")
    except (OSError, ValueError):
        return {}


class WriterLock:
    """An exclusive claim on a destination path while a trajectory is written.

    Parameters
    ----------
    dest : path-like
        The file that will be written (its directory must exist).

    Use as a context manager, or call :meth:`acquire` and :meth:`release`.
    """

    def __init__(self, dest: str | os.PathLike):
        self.dest = Path(dest)
        self.path = lock_path(dest)
        self.fd: int | None = None
        self.info = writer_identity()

    def acquire(self) -> WriterLock:
        """Take the claim, or raise :class:`StoreError` naming the process that holds it."""
        if fcntl is None:  # pragma: no cover - Windows
            return self
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                other = _read_info(fd)
                os.close(fd)
                raise StoreError(
                    f"{str(self.dest)!r} is being written by {describe(other)}: "
                    f"`{other.get('command', '?')}`; wait for it to finish or write elsewhere (-o)") from None
            try:  # the lock file we locked must still be the one at the path (a releaser unlinks it)
                same = os.fstat(fd).st_ino == os.stat(self.path).st_ino
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)
        os.ftruncate(fd, 0)
        os.write(fd, json.dumps({**self.info, "dest": str(self.dest)}).encode())
        self.fd = fd
        return self

    def release(self) -> None:
        """Give the claim up and remove the side file."""
        if self.fd is None:
            return
        try:
            os.unlink(self.path)
        except OSError:
            pass
        os.close(self.fd)
        self.fd = None

    def __enter__(self) -> WriterLock:
        return self.acquire()

    def __exit__(self, *exc: Any) -> None:
        self.release()
