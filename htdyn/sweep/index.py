"""A sweep directory: its manifest, its index, and the state of every run.

::

    DIR/sweep.json           the design (spec, axes, repeats, store, seed derivation) and the planned runs
    DIR/index.json           done runs -> (file, run index), the batch running, failed runs and their errors
    DIR/batches/b-*.h5       one trajectory file per batch (b-*.partial.h5 while it is written)

Truth is in the trajectory files: a run is *done* only when a complete file (renamed
from its partial name by the writer after its last run) holds it, recognised by its
id, which is recomputed from the config the file stores.  ``index.json`` caches
what was read (file name, size and modification time), so a resume scan opens only
files it has not seen; it is replaced atomically (write a temporary file, rename).
A run is *running* while its batch's file is locked by a live writer, *failed* when
its batch raised (the error is kept until the run completes), else *pending*.
One driver at a time holds the directory's lock (``.index.json.lock``).

Three ideas, three modules: the design in ``sweep.json`` (:mod:`htdyn.sweep.manifest`),
the driver's lock and index reserve (:mod:`htdyn.sweep.dirlock`), and here the index of
the runs' states; the batch files are read through :func:`htdyn.io.batchscan.scan_batch_file`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import StoreError
from ..io.batchscan import scan_batch_file
from ..io.diskspace import is_disk_full
from ..io.filelock import holder
from ..io.format import partial_path
from ..io.runid import run_id
from .dirlock import DriverLock
from .docfile import write_error, write_json
from .manifest import SweepManifest, diff_manifest
from .spec import run_context

__all__ = ["RunState", "SweepDir", "diff_manifest", "run_ids_in", "STATES"]

STATES = ("done", "running", "failed", "pending")
INDEX_KEYS = ("done", "files", "failed", "running")


@dataclass
class RunState:
    """Where one planned run stands."""

    state: str
    file: str | None = None
    index: int | None = None
    error: str | None = None


@dataclass
class SweepDir(SweepManifest, DriverLock):
    """A sweep directory on disk (see the module docstring): its manifest (:class:`SweepManifest`),
    the driver's lock (:class:`DriverLock`) and the index of its runs' states (here)."""

    root: Path
    index: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.root = Path(self.root)
        self.batches = self.root / "batches"
        self.index_path = self.root / "index.json"
        self.manifest_path = self.root / "sweep.json"
        self.rebuilt: str | None = None  # why index.json was set aside, when it was
        self.unsaved: str | None = None  # why index.json could not be updated, when it could not
        self.index = self._load_index()

    def _load_index(self) -> dict:
        """``index.json``, or an empty one to be rebuilt from the batch files when it is corrupt.

        It is a cache of what the batch files hold (done runs are recomputed from them), so a
        corrupt one is only reported (:attr:`rebuilt`) and replaced by the next save; what it
        alone held, the failed runs' errors, is lost (those runs are pending again).
        """
        if self.root.exists() and not self.root.is_dir():
            raise StoreError(f"{str(self.root)!r} is a file, not a sweep directory; give a directory")
        try:
            doc = json.loads(self.index_path.read_text())
        except FileNotFoundError:
            doc = None
        except (ValueError, UnicodeDecodeError) as exc:
            doc, self.rebuilt = None, f"{type(exc).__name__}: {exc}"
        except NotADirectoryError:
            above = next(p for p in self.root.parents if p.exists())
            raise StoreError(f"{str(self.root)!r} is under {str(above)!r}, which is a file, not a directory; "
                             "give a directory") from None
        except OSError as exc:
            raise StoreError(f"{str(self.index_path)!r} cannot be read ({exc.strerror or exc}); it is the "
                             "sweep directory's index (a cache of its batch files: remove it to rebuild it)") from None
        if not isinstance(doc, dict) or not all(isinstance(doc.get(k, {}), dict) for k in INDEX_KEYS):
            if doc is not None and self.rebuilt is None:
                self.rebuilt = "not an index"
            doc = {}
        return {k: doc.get(k, {}) for k in INDEX_KEYS}

    # ------------------------------------------------------------------ the runs
    def save(self) -> None:
        """Write ``index.json``; on a full disk give the reserve back and try again, and when even that
        fails keep going without it (:attr:`unsaved` says why): the index is a cache of the batch
        files, and an old one only lacks the latest failures and the running marks."""
        try:
            write_json(self.index_path, self.index)
            self.unsaved = None
            return
        except OSError as exc:
            if not is_disk_full(exc) or not self.give_back_reserve():
                if not self.locked:
                    raise write_error(self.index_path, exc) from None
                self.unsaved = str(write_error(self.index_path, exc))
                return
        try:
            write_json(self.index_path, self.index)
            self.unsaved = None
        except OSError as exc:
            self.unsaved = str(write_error(self.index_path, exc))
        self.retake_reserve()  # held again if it fits

    def scan(self) -> dict[str, tuple[str, int]]:
        """Done runs (id -> (file, index in file)) from the complete batch files; updates the cache."""
        files = self.index.setdefault("files", {})
        done: dict[str, tuple[str, int]] = {}
        by_file: dict[str, list[tuple[str, int]]] = {}
        try:
            for rid, (f, i) in self.index.get("done", {}).items():
                by_file.setdefault(str(f), []).append((rid, int(i)))
        except (TypeError, ValueError):  # a damaged cache: every file is read again
            by_file, files = {}, {}
        present = sorted(p for p in self.batches.glob("*.h5") if not p.name.endswith(".partial.h5")) \
            if self.batches.is_dir() else []
        seen_files = {}
        for p in present:
            st = p.stat()
            sig = [st.st_size, st.st_mtime_ns]
            if files.get(p.name) == sig and p.name in by_file:
                entries = by_file[p.name]
            else:
                entries = run_ids_in(p)
            seen_files[p.name] = sig
            for rid, i in entries:
                done.setdefault(rid, (p.name, i))  # the first file holding an id wins (never two)
        self.index["files"] = seen_files
        self.index["done"] = {k: list(v) for k, v in done.items()}
        for rid in done:
            self.index.get("failed", {}).pop(rid, None)
        return done

    def checkpointed(self) -> list[tuple[str, list[str]]]:
        """Unfinished batch files that hold a checkpoint: (batch name, its runs' sweep ids).

        What a rerun plans again as it was, whatever the planner would cut now (the budget
        follows the free memory), so that the batch continues from its checkpoint.
        """
        out = []
        for p in sorted(self.batches.glob("*.partial.h5")) if self.batches.is_dir() else []:
            ids = run_ids_in(p, checkpointed=True)
            if ids:
                out.append((p.name[: -len(".partial.h5")], [rid for rid, _ in ids]))
        return out

    def states(self, run_ids: list[str]) -> dict[str, RunState]:
        """The state of every planned run (scans the files; does not write the index)."""
        done = self.scan()
        running: set[str] = set()
        driver = holder(self.index_path) is not None  # a live driver (Ray object-store batches write no file here)
        for name, ids in self.index.get("running", {}).items():
            if driver or holder(self.batches / f"{name}.h5") is not None:
                running.update(ids)
        failed = self.index.get("failed", {})
        out = {}
        for rid in run_ids:
            if rid in done:
                out[rid] = RunState("done", *done[rid])
            elif rid in running:
                out[rid] = RunState("running")
            elif rid in failed:
                out[rid] = RunState("failed", error=failed[rid])
            else:
                out[rid] = RunState("pending")
        return out

    def mark_running(self, name: str, ids: list[str]) -> None:
        self.index.setdefault("running", {})[name] = ids
        self.save()

    def mark_done(self, name: str, ids: list[str]) -> None:
        """Record a finished batch: its file is complete (renamed by the writer)."""
        path = self.batches / f"{name}.h5"
        st = path.stat()
        self.index["files"][path.name] = [st.st_size, st.st_mtime_ns]
        for j, rid in enumerate(ids):
            self.index["done"][rid] = [path.name, j]
            self.index.get("failed", {}).pop(rid, None)
        self.index.get("running", {}).pop(name, None)
        self.save()

    def mark_failed(self, name: str, ids: list[str], error: str) -> None:
        for rid in ids:
            self.index.setdefault("failed", {})[rid] = error
        self.index.get("running", {}).pop(name, None)
        self.save()

    def record(self, name: str, ids: list[str], outcome: dict) -> None:
        """A batch's outcome (``execute_batch``'s dict): done, or failed with its error."""
        if outcome["ok"]:
            self.mark_done(name, ids)
        else:
            self.mark_failed(name, ids, outcome["error"])

    def clear_running(self, *names: str) -> None:
        """Batches that stopped unfinished (an interrupt): no longer running, not failed."""
        for name in names:
            self.index.get("running", {}).pop(name, None)
        self.save()

    def partial(self, name: str) -> Path:
        return partial_path(self.batches / f"{name}.h5")


def run_ids_in(path: Path, checkpointed: bool = False) -> list[tuple[str, int]]:
    """(sweep run id, index) of every run of a complete trajectory file; [] for an incomplete one.

    ``checkpointed``: of an unfinished file that holds a checkpoint instead ([] for any other).
    """
    scan = scan_batch_file(path, checkpointed)
    if scan is None:
        return []  # unreadable or not a trajectory: never taken as done
    ctx = run_context(scan.config)
    return [(run_id(run, ctx), index) for run, index in scan.runs]
