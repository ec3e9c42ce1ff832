"""The sweep directory's JSON documents (``sweep.json``, ``index.json``): replaced whole, read with a clear error.

A document is replaced through :func:`htdyn.io.atomic.write_atomic` (a temporary file
beside it, fsync, rename): a failed write (a full disk) leaves the old one as it was.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..errors import StoreError
from ..io.atomic import write_atomic
from ..io.diskspace import is_disk_full

__all__ = ["write_json", "read_json", "write_error"]


def write_json(path: Path, doc: Any) -> None:
    """Replace ``path`` by ``doc`` atomically; a failed write removes its temporary file (a StoreError)."""
    def write(tmp: Path) -> None:
        with open(tmp, "w") as fh:
            json.dump(doc, fh, separators=(",", ":"))

    write_atomic(path, write)


def read_json(path: Path, what: str) -> Any:
    """``path``'s JSON document, None when it does not exist; ``what`` names it in errors."""
    try:
        with open(path) as fh:
            return json.load(fh)
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise StoreError(f"{str(path)!r} cannot be read ({exc}); it is {what}") from None


def write_error(path: Path, exc: OSError) -> StoreError:
    """The one-line error for a failed write of ``path``: a full disk says so and what to do."""
    if is_disk_full(exc):
        return StoreError(f"the disk holding {str(path)!r} is full; it was left as it was: free some space "
                          "and run again")
    if isinstance(exc, StoreError):  # already one line (htdyn.io.atomic)
        return exc
    return StoreError(f"cannot write {str(path)!r}: {exc.strerror or exc}")
