"""The trajectory file: one self-describing HDF5 file per simulation.

The layout (format version 1) is documented in ``docs/format.md``.  The
writer preallocates every data set of a run group when the group starts,
writes one snapshot per chunk, and flushes after each snapshot: a process
killed at any moment leaves a file that opens and holds every completed
snapshot, with ``status`` still ``"running"`` (incomplete).  Per-run progress
lives in small data sets (``snapshot_count``, ``steps_done``,
``diverged_step``) overwritten in place, so no metadata changes between
flushes.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import socket
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from .._version import __version__
from ..blas import thread_counts
from ..config import RunConfig, SimConfig, flatten
from ..errors import StoreError
from . import faults
from .checkpoint import drop_checkpoint, read_checkpoint, write_checkpoint
from .diskspace import Reserve
from .faults import open_hdf5
from .filelock import WriterLock
from .format import FORMAT_NAME, FORMAT_VERSION, PENALTY_DATASETS, attr_value, partial_path
from .h5safe import CLOSED, DatasetHandles, close_file, skip_hdf5_exit_handler
from .runid import run_id


def _compression(name: str) -> dict:
    if name == "none":
        return {}
    if name == "gzip":
        return {"compression": "gzip", "compression_opts": 4, "shuffle": True}
    return {"compression": "lzf", "shuffle": True}


def check_destination(dest: str | os.PathLike, *, overwrite: bool = False) -> Path:
    """Check that a trajectory can be written to ``dest``; returns it as a Path.

    Raises
    ------
    StoreError
        ``dest`` is a directory, its parent is not a directory or not writable,
        ``dest`` exists and ``overwrite`` is false, or an interrupted run's
        partial file is in the way and ``overwrite`` is false.
    """
    dest = Path(dest)
    if dest.is_dir():
        raise StoreError(f"output {str(dest)!r} is a directory; give a file path such as {str(dest / 'name.h5')!r}")
    parent = dest.absolute().parent
    for p in (parent, *parent.parents):
        if p.exists():
            if not p.is_dir():
                raise StoreError(f"cannot write {str(dest)!r}: {str(p)!r} is a file, not a directory")
            if not os.access(p, os.W_OK | os.X_OK):
                raise StoreError(f"cannot write {str(dest)!r}: no permission to write in {str(p)!r}")
            break
    part = partial_path(dest)
    if part.exists() and not overwrite:  # first: the resume keeps the steps done, --overwrite throws them away
        raise StoreError(f"{str(part)!r} holds an unfinished earlier run: continue it with "
                         f"`htdyn run --resume {part}` (htdyn info {part} shows how far it got), "
                         "or pass --overwrite to discard it and start again")
    if dest.exists() and not overwrite:
        raise StoreError(f"{str(dest)!r} exists; pass --overwrite to replace it once the new "
                         "run completes, or write elsewhere (-o)")
    return dest


class TrajectoryWriter:
    """Writes a simulation's trajectory file as the engine runs.

    The file is written under :func:`partial_path` and renamed to ``path`` by
    :meth:`finish` when the simulation completes, so an existing file at
    ``path`` is replaced only by a complete one; an interrupted or failed run
    leaves its partial file, readable, with its status.  The writer holds a
    :class:`~htdyn.filelock.WriterLock` on ``path`` (a second writer is refused)
    and a :class:`~htdyn.diskspace.Reserve` for a clean stop on a full disk.

    Parameters
    ----------
    path : path-like
        The destination.
    config : SimConfig
    overwrite : bool
        Replace an existing file (when the new one completes); otherwise an
        existing file is an error.
    device_info : dict
        Backend name, device and dtype, written as root attributes.
    """

    def __init__(self, path: str | os.PathLike, config: SimConfig, *, overwrite: bool = False,
                 device_info: dict | None = None):
        self.dest = Path(path)
        check_destination(self.dest, overwrite=overwrite)
        self.dest.parent.mkdir(parents=True, exist_ok=True)
        self.lock = WriterLock(self.dest).acquire()
        self.path = partial_path(self.dest)
        try:
            check_destination(self.dest, overwrite=overwrite)  # again, now that nobody else can write it
            self.reserve = Reserve(self.dest.with_name(f".{self.dest.name}.reserve"))
            self.reserve.check(self.dest)
            self.f = open_hdf5(self.path, "w")
        except BaseException as exc:
            self._release()
            if isinstance(exc, OSError) and not isinstance(exc, StoreError):
                raise StoreError(f"cannot create {str(self.path)!r}: {exc}") from None
            raise
        self.config = config
        self._write_header(device_info or {})
        self.runs: dict[int, dict] = {}

    @classmethod
    def reopen(cls, partial: str | os.PathLike, dest: str | os.PathLike, config: SimConfig) -> TrajectoryWriter:
        """Continue writing an unfinished file (``htdyn run --resume``): lock, reserve, open for writing.

        The runs already in the file are reattached by :meth:`add_run`; the file
        is renamed to ``dest`` by :meth:`finish` when it completes.
        """
        self = cls.__new__(cls)
        self.dest, self.path, self.config, self.runs = Path(dest), Path(partial), config, {}
        self.lock = WriterLock(self.dest).acquire()
        try:
            self.reserve = Reserve(self.dest.with_name(f".{self.dest.name}.reserve"))
            self.reserve.check(self.dest)
            self.f = open_hdf5(self.path, "r+")
        except BaseException as exc:
            self._release()
            if isinstance(exc, OSError) and not isinstance(exc, StoreError):
                raise StoreError(f"cannot open {str(self.path)!r} to resume it: {exc}") from None
            raise
        self.f.attrs["status"] = "running"
        self.f.attrs["resumed"] = int(self.f.attrs.get("resumed", 0)) + 1
        for k, v in self.lock.info.items():
            self.f.attrs[f"writer_{k}"] = attr_value(v)
        self.f.flush()
        return self

    def _write_header(self, device_info: dict) -> None:
        f, config = self.f, self.config
        cfg = config.to_dict()
        f.attrs["format"] = FORMAT_NAME
        f.attrs["format_version"] = FORMAT_VERSION
        f.attrs["htdyn_version"] = __version__
        f.attrs["h5py_version"] = h5py.__version__
        f.attrs["numpy_version"] = np.__version__
        f.attrs["threads_json"] = json.dumps(thread_counts())  # results are bit for bit at fixed threads
        f.attrs["created"] = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
        f.attrs["host"] = socket.gethostname()
        f.attrs["status"] = "running"
        f.attrs["destination"] = self.dest.name
        for k, v in self.lock.info.items():
            f.attrs[f"writer_{k}"] = attr_value(v)
        f.attrs["name"] = config.name
        f.attrs["steps"] = config.steps
        f.attrs["n_runs"] = len(config.runs)
        f.attrs["config_json"] = json.dumps(cfg, indent=1)
        for k, v in device_info.items():
            f.attrs[k] = attr_value(v)
        g = f.create_group("config")
        for k, v in flatten({k: v for k, v in cfg.items() if k != "runs"}).items():
            g.attrs[k] = attr_value(v)
        f.create_group("data")
        f.create_group("runs")
        f.flush()

    def _release(self) -> None:
        if getattr(self, "reserve", None) is not None:
            self.reserve.release()
        self.lock.release()

    # ------------------------------------------------------------------ data
    def write_data(self, key: str, data: Any, store_arrays: bool, seed: int | None) -> str:
        """Store a data set (or just its seed and beta) once; returns its group path."""
        path = f"data/{key}"
        if path in self.f:
            return "/" + path
        g = self.f.create_group(path)
        g.attrs["seed"] = attr_value(seed)
        g.attrs["stored"] = bool(store_arrays)
        g.create_dataset("beta", data=data.beta)
        if store_arrays:
            for name in ("X", "y", "X_probe", "y_probe", "X_test", "y_test"):
                arr = getattr(data, name)
                g.create_dataset(name, data=arr.astype(np.float32) if arr.ndim == 2 else arr,
                                 chunks=True if arr.ndim == 2 else None)
        return "/" + path

    # ------------------------------------------------------------------ runs
    def add_run(self, index: int, run: RunConfig, *, h: int, d: int, snapshot_steps: list[int],
                eval_steps: list[int], data_path: str, a0: np.ndarray, state_names: tuple,
                group: int, metric_specs: dict | None = None, user_init: bool = False,
                penalty_names: list[str] | None = None) -> None:
        """Create (preallocate) every data set of one run; a resumed file's existing run is reattached.

        ``penalty_names``: the penalty terms of the run's group (a ``penalty/`` group of per-step records).
        """
        if f"runs/{index:04d}" not in self.f:
            g = self.f.create_group(f"runs/{index:04d}")
            self._run_attrs(g, index, run, group, user_init, data_path)
            self._snapshot_sets(g, run, h, d, snapshot_steps, a0, state_names)
            self._series_sets(g, eval_steps, metric_specs or {})
            if penalty_names:
                _add_penalty_group(g, penalty_names, self.config.steps)
            self.f.flush()
        self._attach(index, snapshot_steps, eval_steps)

    def _run_attrs(self, g: h5py.Group, index: int, run: RunConfig, group: int, user_init: bool,
                   data_path: str) -> None:
        run_dict = run.to_dict()
        g.attrs["index"] = index
        g.attrs["run_id"] = run_id(run_dict)
        g.attrs["label"] = run.label
        g.attrs["batch_group"] = group
        g.attrs["init"] = "user" if user_init else "seeded"
        g.attrs["config_json"] = json.dumps(run_dict)
        for k, v in flatten(run_dict).items():
            g.attrs[k] = attr_value(v)
        g["data"] = self.f[data_path]  # hard link to the shared data group
        g.attrs["data_path"] = data_path

    def _snapshot_sets(self, g: h5py.Group, run: RunConfig, h: int, d: int, snapshot_steps: list[int],
                       a0: np.ndarray, state_names: tuple) -> None:
        """W, the updates and the optimizer state at the snapshot steps: one chunk per snapshot."""
        snap = self.config.snapshots
        sdtype = np.float16 if snap.dtype == "float16" else np.float32
        comp = _compression(snap.compression)
        S = len(snapshot_steps)
        g.create_dataset("snapshot_steps", data=np.asarray(snapshot_steps, dtype=np.int64))
        upd_steps = [s for s in snapshot_steps if s < self.config.steps] if snap.updates else []
        g.create_dataset("update_steps", data=np.asarray(upd_steps, dtype=np.int64))
        big = {"W": S}
        if upd_steps:
            big["update"] = len(upd_steps)
        if snap.optimizer_state:
            for name in state_names:
                big[f"optimizer/{name}"] = len(upd_steps)
        for name, count in big.items():
            layout = {"chunks": (1, h, d), **comp} if count else {}
            ds = g.create_dataset(name, shape=(count, h, d), dtype=sdtype, fillvalue=np.nan, **layout)
            ds.attrs["dims"] = "snapshot, h, d"
            g.create_dataset(name + "_scale", shape=(count,), dtype=np.float64, fillvalue=np.nan)
        g.create_dataset("a_init", data=a0)
        if run.model.train_readout:
            g.create_dataset("a", shape=(S, a0.shape[0]), dtype=np.float32, chunks=(1, a0.shape[0]),
                             fillvalue=np.nan)

    def _series_sets(self, g: h5py.Group, eval_steps: list[int], metric_specs: dict) -> None:
        """The per-step losses and learning rates, the evaluations, the online metrics, the counters."""
        steps = self.config.steps
        g.create_dataset("loss", shape=(steps + 1,), dtype=np.float64, fillvalue=np.nan)
        g["loss"].attrs["description"] = "training loss (MSE of the network on its batch) of W_t, t = 0..steps"
        g.create_dataset("lr", shape=(steps,), dtype=np.float64, fillvalue=np.nan)
        g["lr"].attrs["description"] = "learning rate used by optimizer step t (W_t -> W_{t+1})"
        ev = g.create_group("eval")
        ev.create_dataset("steps", data=np.asarray(eval_steps, dtype=np.int64))
        for name in ("probe_loss", "test_loss", "net_train_loss", "net_test_loss"):
            ev.create_dataset(name, shape=(len(eval_steps),), dtype=np.float64, fillvalue=np.nan)
        if metric_specs:
            mg = g.create_group("metrics")
            mg.create_dataset("steps", data=np.asarray(eval_steps, dtype=np.int64))
            for name, shape in metric_specs.items():
                mg.create_dataset(name, shape=(len(eval_steps), *shape), dtype=np.float64, fillvalue=np.nan)
        for name, val in (("snapshot_count", 0), ("update_count", 0), ("steps_done", 0), ("diverged_step", -1)):
            g.create_dataset(name, data=np.int64(val))

    def _attach(self, index: int, snapshot_steps: list[int], eval_steps: list[int]) -> None:
        g = self.f[f"runs/{index:04d}"]
        self.runs[index] = {
            "g": DatasetHandles(g), "snap_index": {s: i for i, s in enumerate(snapshot_steps)},
            "upd_index": {int(s): i for i, s in enumerate(g["update_steps"][()])},
            "eval_index": {s: i for i, s in enumerate(eval_steps)}, "loss_written": 0,
            "sdtype": g["W"].dtype.type, "pending": {}, "penalty_written": 0,
        }

    def _put(self, g: Any, name: str, i: int, arr: np.ndarray, sdtype: Any) -> None:
        """Store ``arr / scale`` with scale = 1 unless the values overflow the storage dtype.

        The scale (a power of two, so dividing is exact) keeps the largest entry
        within half the dtype's range when the values come from a wider dtype:
        float16 storage above 32752, float32 storage of float64 weights above
        1.7e38 (float64 runs at huge learning rates get there without diverging).
        """
        arr = np.asarray(arr)
        if arr.dtype.kind != "f":
            arr = arr.astype(np.float64)
        limit = float(np.finfo(sdtype).max) / 2
        scale = 1.0
        if np.finfo(arr.dtype).max <= np.finfo(sdtype).max:  # the storage dtype holds every value
            m = 0.0
        else:
            m = max(float(arr.max()), -float(arr.min())) if arr.size else 0.0  # max |x|, no temporary
        if np.isfinite(m) and m > limit:
            scale = 2.0 ** np.ceil(np.log2(m / limit))
            arr = arr / scale
        g[name + "_scale"][i] = scale
        ds = g[name]
        data = np.ascontiguousarray(arr, dtype=sdtype)
        if (ds.chunks is not None and ds.chunks == (1, *data.shape) and ds.dtype == data.dtype
                and ds.id.get_create_plist().get_nfilters() == 0):
            # one snapshot is exactly one uncompressed chunk: hand its bytes to HDF5 as they
            # are, skipping its selection and conversion machinery (as fast as a plain write())
            ds.id.write_direct_chunk((i,) + (0,) * data.ndim, memoryview(data).cast("B"))
        else:
            ds[i] = data

    def write_snapshot(self, index: int, step: int, W: np.ndarray, update: np.ndarray | None = None,
                       state: dict | None = None, a: np.ndarray | None = None) -> None:
        """Write W_t (and M_t = W_{t+1} - W_t, the optimizer state after step t, a_t)."""
        r = self.runs[index]
        g = r["g"]
        i = r["snap_index"][step]
        self._put(g, "W", i, W, r["sdtype"])
        if a is not None and "a" in g:
            g["a"][i] = a
        r["pending"]["snapshot_count"] = i + 1
        j = r["upd_index"].get(step)
        if j is not None and update is not None:
            self._put(g, "update", j, update, r["sdtype"])
            for name, arr in (state or {}).items():
                if f"optimizer/{name}" in g:
                    self._put(g, f"optimizer/{name}", j, arr, r["sdtype"])
            r["pending"]["update_count"] = j + 1

    def write_progress(self, index: int, losses: np.ndarray, lrs: np.ndarray, n_loss: int,
                       steps_done: int, diverged_step: int) -> None:
        """Write the first ``n_loss`` per-step losses (and learning rates) and the progress."""
        r = self.runs[index]
        g = r["g"]
        lo = r["loss_written"]
        hi = n_loss
        if hi > lo:
            g["loss"][lo:hi] = losses[lo:hi]
            lr_hi = min(hi, lrs.shape[0])
            if lr_hi > lo:
                g["lr"][lo:lr_hi] = lrs[lo:lr_hi]
            r["loss_written"] = hi
        r["pending"]["steps_done"] = steps_done
        r["pending"]["diverged_step"] = diverged_step

    def write_penalty(self, index: int, rows: dict[str, np.ndarray], n: int) -> None:
        """Write the per-step penalty records of steps not yet written, up to step ``n - 1``."""
        r = self.runs[index]
        lo = r["penalty_written"]
        if n <= lo or "penalty" not in r["g"]:
            return
        for name, arr in rows.items():
            r["g"][f"penalty/{name}"][lo:n] = arr[lo:n]
        r["penalty_written"] = n

    def write_eval(self, index: int, step: int, values: dict, metrics: dict | None = None) -> None:
        r = self.runs[index]
        g = r["g"]
        i = r["eval_index"][step]
        for name, v in values.items():
            g[f"eval/{name}"][i] = v
        for name, v in (metrics or {}).items():
            g[f"metrics/{name}"][i] = v

    def flush(self) -> None:
        """Make everything written so far durable, then publish the progress counters.

        Two phases: the snapshot chunks and losses are flushed first; only then
        are ``snapshot_count``, ``update_count``, ``steps_done`` and
        ``diverged_step`` updated (and flushed), so a reader of a killed file
        never sees a count that covers an unwritten chunk.
        """
        self.f.flush()
        faults.point("flush-between")
        dirty = False
        for r in self.runs.values():
            for name, value in r["pending"].items():
                r["g"][name][()] = value
                dirty = True
            r["pending"] = {}
        if dirty:
            self.f.flush()

    @property
    def is_open(self) -> bool:
        """Whether the file is still open for writing (False after finish, abandon or a failed close)."""
        return bool(self.f.id.valid)

    def finished_runs(self, steps: int) -> set[int]:
        """Indices of the runs the file holds as finished: diverged, or trained ``steps`` steps with a final loss."""
        done = set()
        for g in self.f["runs"].values():
            loss = g["loss"][()]
            if int(g["diverged_step"][()]) >= 0 or (int(g["steps_done"][()]) >= steps and np.isfinite(loss[-1])):
                done.add(int(g.attrs["index"]))
        return done

    def write_checkpoint(self, group: int, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        """Save batch group ``group``'s training state (two slots; see :mod:`htdyn.io.checkpoint`)."""
        write_checkpoint(self.f, group, arrays, meta)

    def read_checkpoint(self, group: int) -> tuple[dict[str, np.ndarray], dict[str, Any]] | None:
        """The last complete checkpoint of batch group ``group`` (arrays, meta), or None."""
        return read_checkpoint(self.f, group)

    def drop_checkpoint(self, group: int) -> None:
        """Remove batch group ``group``'s checkpoint (the group finished)."""
        drop_checkpoint(self.f, group)

    def finish(self, status: str = "complete", timings: dict | None = None) -> Path:
        """Record the final status and timings, close the file, and publish it.

        A complete file replaces the destination (an atomic rename); any other
        status leaves the partial file where it is.  Returns where the file is.
        """
        if self.f.id.valid:
            # a failed write (a full disk) leaves the file open for abandon(): see h5safe
            self.flush()
            for k, v in (timings or {}).items():
                self.f.attrs[f"timing_{k}"] = v
            self.f.attrs["status"] = status
            self.f.attrs["finished"] = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
            self._close_file()
        try:
            if status == "complete":
                os.replace(self.path, self.dest)
                return self.dest
            return self.path
        finally:
            self._release()

    def abandon(self, status: str = "failed") -> Path:
        """Stop after a failed write (a full disk): give the reserve back, keep what was flushed.

        The last flush's snapshots and counters stay readable; the status is
        set when the space given back allows it.  Returns the partial file.
        """
        self.reserve.release()
        skip_hdf5_exit_handler()  # a handle let go of on this full disk may have failed to close: see h5safe
        if self.f.id.valid:
            try:
                self.f.flush()
                self.f.attrs["status"] = status
                self.f.attrs["finished"] = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
            except (OSError, RuntimeError):
                pass
            try:
                self._close_file()
            except (OSError, RuntimeError):
                pass
        self._release()
        return self.path

    def _close_file(self) -> None:
        """Close the file once (h5py closes the open data sets first); after a failed close nothing touches it."""
        try:
            close_file(self.f, keep=self.runs)
        except BaseException:
            self.f, self.runs = CLOSED, {}
            raise


def _add_penalty_group(g: h5py.Group, names: list[str], steps: int) -> None:
    """Preallocate ``penalty/`` of a run: per-step records of its group's penalty terms."""
    pg = g.create_group("penalty")
    pg.attrs["terms"] = json.dumps(list(names))
    for name, (per_term, desc) in PENALTY_DATASETS.items():
        shape = (steps, len(names)) if per_term else (steps,)
        ds = pg.create_dataset(name, shape=shape, dtype=np.float64, fillvalue=np.nan)
        ds.attrs["description"] = desc
        ds.attrs["dims"] = "step, term" if per_term else "step"
