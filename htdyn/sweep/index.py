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
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._version import __version__
from ..errors import ConfigError, StoreError
from ..io.batchscan import scan_batch_file
from ..io.diskspace import Reserve, is_disk_full
from ..io.filelock import WriterLock, describe, holder
from ..io.format import partial_path
from ..io.runid import run_id
from .spec import SweepSpec, run_context

__all__ = ["RunState", "SweepDir", "diff_manifest", "STATES"]

STATES = ("done", "running", "failed", "pending")
INDEX_KEYS = ("done", "files", "failed", "running")
#: bytes the driver holds beside index.json, given back to update it when the disk fills (plus per run)
INDEX_RESERVE_BYTES, INDEX_RESERVE_PER_RUN = 128 << 10, 512


@dataclass
class RunState:
    """Where one planned run stands."""

    state: str
    file: str | None = None
    index: int | None = None
    error: str | None = None


def _write_json(path: Path, doc: Any) -> None:
    """Replace ``path`` by ``doc`` atomically (a temporary file, then a rename); a failed write removes
    its temporary file and leaves the old file as it was."""
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        with open(tmp, "w") as fh:
            json.dump(doc, fh, separators=(",", ":"))
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def _read_json(path: Path, what: str) -> Any:
    """``path``'s JSON document, None when it does not exist; ``what`` names it in errors."""
    try:
        with open(path) as fh:
            return json.load(fh)
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise StoreError(f"{str(path)!r} cannot be read ({exc}); it is {what}") from None


def _write_error(path: Path, exc: OSError) -> StoreError:
    if is_disk_full(exc):
        return StoreError(f"the disk holding {str(path)!r} is full; it was left as it was: free some space "
                          "and run again")
    return StoreError(f"cannot write {str(path)!r}: {exc.strerror or exc}")


def diff_manifest(old: dict, new: dict, prefix: str = "") -> list[str]:
    """What changed between two manifests, as 'key: old -> new' lines (dotted keys)."""
    out = []
    for k in sorted(set(old) | set(new), key=str):
        a, b = old.get(k, "(unset)"), new.get(k, "(unset)")
        if isinstance(a, dict) and isinstance(b, dict):
            out += diff_manifest(a, b, f"{prefix}{k}.")
        elif a != b:
            out.append(f"{prefix}{k}: {json.dumps(a)} -> {json.dumps(b)}")
    return out


@dataclass
class SweepDir:
    """A sweep directory on disk (see the module docstring)."""

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
        self._lock: WriterLock | None = None
        self._reserve: Reserve | None = None

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

    # ------------------------------------------------------------------ the design
    def manifest(self) -> dict | None:
        return _read_json(self.manifest_path, "the sweep's design (its manifest)")

    def check_spec(self, spec: SweepSpec, force: bool = False) -> list[str]:
        """Refuse a spec whose runs do not include every run planned before (unless ``force``).

        Adding values to an axis (or repeats) keeps every old run, so it is accepted and
        the done runs are reused.  Returns the changes (empty for the same spec).
        """
        if self.root.exists() and not self.root.is_dir():
            raise StoreError(f"sweep directory {str(self.root)!r} is a file")
        old = self.manifest()
        if old is None:
            if self.root.is_dir() and any(p.name not in (".index.json.lock",) for p in self.root.iterdir()):
                raise StoreError(f"{str(self.root)!r} is not empty and holds no sweep.json; "
                                 "give a new or empty directory (-o)")
            return []
        changes = diff_manifest(old.get("design", {}), spec.manifest())
        if not changes:
            return []
        kept = {r.id for r in spec.runs}
        lost = [i for i in old.get("run_ids", []) if i not in kept]
        if lost and not force:
            shown = "; ".join(changes[:3]) + (f"; and {len(changes) - 3} more" if len(changes) > 3 else "")
            raise ConfigError(f"the spec differs from the one {str(self.root)!r} was made with ({shown}); "
                              f"{len(lost)} of its runs are not in the new spec. Use a new directory, "
                              "or pass --force to adopt the new spec (finished files are kept)")
        return changes

    def write_manifest(self, spec: SweepSpec) -> None:
        """Write ``sweep.json`` (left alone when it already says the same, so a rerun on a full disk starts)."""
        doc = {"format": "htdyn-sweep", "format_version": 1, "htdyn_version": __version__,
               "design": spec.manifest(), "store_sets": spec.store_sets, "run_ids": [r.id for r in spec.runs],
               "runs": [{"id": r.id, "repeat": r.repeat, "point": r.point, "steps": r.steps} for r in spec.runs]}
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            self.batches.mkdir(exist_ok=True)
            with contextlib.suppress(StoreError):
                if self.manifest() == json.loads(json.dumps(doc)):
                    return
            _write_json(self.manifest_path, doc)
        except OSError as exc:
            raise _write_error(self.manifest_path, exc) from None

    # ------------------------------------------------------------------ the driver's lock
    def lock(self, runs: int = 0) -> SweepDir:
        """Take the directory's lock and a reserve of disk space for updating the index (``runs``: planned)."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            self._lock = WriterLock(self.index_path).acquire()
        except StoreError:
            info = holder(self.index_path) or {}
            raise StoreError(f"sweep {str(self.root)!r} is being run by {describe(info)}; wait for it, "
                             "or check it with htdyn sweep status") from None
        except OSError as exc:
            raise _write_error(self.root, exc) from None
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

    # ------------------------------------------------------------------ the runs
    def save(self) -> None:
        """Write ``index.json``; on a full disk give the reserve back and try again, and when even that
        fails keep going without it (:attr:`unsaved` says why): the index is a cache of the batch
        files, and an old one only lacks the latest failures and the running marks."""
        try:
            _write_json(self.index_path, self.index)
            self.unsaved = None
            return
        except OSError as exc:
            if not is_disk_full(exc) or self._reserve is None or not self._reserve.held:
                if self._lock is None:
                    raise _write_error(self.index_path, exc) from None
                self.unsaved = str(_write_error(self.index_path, exc))
                return
        self._reserve.release()
        try:
            _write_json(self.index_path, self.index)
            self.unsaved = None
        except OSError as exc:
            self.unsaved = str(_write_error(self.index_path, exc))
        self._reserve = Reserve(self.root / ".index.json.reserve", self._reserve_bytes)  # held again if it fits

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
                entries = _read_ids(p)
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
            ids = _read_ids(p, checkpointed=True)
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


def _read_ids(path: Path, checkpointed: bool = False) -> list[tuple[str, int]]:
    """(sweep run id, index) of every run of a complete trajectory file; [] for an incomplete one.

    ``checkpointed``: of an unfinished file that holds a checkpoint instead ([] for any other).
    """
    scan = scan_batch_file(path, checkpointed)
    if scan is None:
        return []  # unreadable or not a trajectory: never taken as done
    ctx = run_context(scan.config)
    return [(run_id(run, ctx), index) for run, index in scan.runs]
