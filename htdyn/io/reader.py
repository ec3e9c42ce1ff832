"""Lazy reading of trajectory files.

A tiny simulation writes a file (3 steps, every one stored), then it is read:

>>> import htdyn, tempfile
>>> sim = htdyn.simulation(htdyn.RunConfig(model=htdyn.ModelConfig(n=64, d=16, h=24, n_test=32)),
...                        steps=3, output=f"{tempfile.mkdtemp()}/demo.h5")
>>> path = htdyn.simulate(sim).path
>>> with htdyn.open(path) as traj:
...     print(traj.status, len(traj.runs))        # what the file holds
...     run = traj.runs[0]
...     print(run.steps.tolist())                 # snapshot steps written
...     W = run.W(3)                              # W_3 as a float64 numpy array
...     M = run.update(1)                         # M_1 = W_2 - W_1
...     loss = run.loss                           # training loss of W_t for every step t
complete 1
[0, 1, 2, 3]
>>> W.shape, M.shape, loss.shape
((24, 16), (24, 16), (4,))

Only what is asked for is read: one snapshot reads one HDF5 chunk.
"""

from __future__ import annotations

import errno
import json
import os
import re
from collections.abc import Iterable
from functools import cached_property
from typing import Any

import h5py
import numpy as np

from ..errors import StoreError
from .filelock import describe, holder
from .format import FORMAT_NAME, FORMAT_VERSION, partial_path, py_value


def open(path: str | os.PathLike) -> Trajectory:  # noqa: A001 - mirrors h5py.File / builtins.open
    """Open a trajectory file for reading (see :class:`Trajectory`).

    Parameters
    ----------
    path : str or path-like
        A trajectory file written by :func:`htdyn.simulate`, ``htdyn run``, a sweep's batch
        or :func:`htdyn.watch`; a file still being written is read in its flushed state.

    Returns
    -------
    Trajectory
        Read only; close it, or use it as a context manager.

    Raises
    ------
    StoreError
        The file is missing, a directory, not HDF5, not an htdyn trajectory, or of a newer format.

    Examples
    --------
    >>> import htdyn, tempfile
    >>> sim = htdyn.simulation(htdyn.RunConfig(model=htdyn.ModelConfig(n=64, d=16, h=24, n_test=32)),
    ...                        steps=3, output=f"{tempfile.mkdtemp()}/demo.h5")
    >>> path = htdyn.simulate(sim).path
    >>> with htdyn.open(path) as traj:
    ...     summary = traj.summary()[0]
    >>> summary["optimizer"], summary["snapshots"], summary["diverged_step"]
    ('adam', 4, -1)
    """
    return Trajectory(path)


class Trajectory:
    """A read-only view of a trajectory file; use as a context manager.

    Attributes
    ----------
    path : str
    status : str
        ``complete``, ``running`` (being written, or its writer was killed:
        see :attr:`writer`), ``interrupted`` (Ctrl-C, SIGTERM) or ``failed``.
    live : bool
        The file is open in a writer (a read of its flushed state).
    runs : list of Run
        One per run (or per watched layer), by index.
    config : dict
        The simulation config as plain data.
    unit : str
        ``"run"`` (a simulator file) or ``"layer"`` (a file of :func:`htdyn.watch`).

    Parameters
    ----------
    path : str or path-like
    mode : str
        ``"r"`` (read only, the default); ``"r+"`` for the tools that add an ``/analysis``
        group, refused while a writer holds the file.

    Examples
    --------
    >>> import htdyn, tempfile
    >>> sim = htdyn.simulation(htdyn.RunConfig(model=htdyn.ModelConfig(n=64, d=16, h=24, n_test=32)),
    ...                        steps=3, output=f"{tempfile.mkdtemp()}/demo.h5")
    >>> traj = htdyn.open(htdyn.simulate(sim).path)
    >>> traj.status, traj.complete, traj.unit, len(traj), traj.config["steps"]
    ('complete', True, 'run', 1, 3)
    >>> traj.close()
    """

    def __init__(self, path: str | os.PathLike, mode: str = "r"):
        self.path = str(path)
        self.live = False
        if os.path.isdir(self.path):
            raise StoreError(f"{self.path!r} is a directory, not a trajectory file")
        if not os.path.exists(self.path):
            raise StoreError(f"trajectory file {self.path!r} does not exist{_partial_hint(self.path)}")
        # validated read-only first: a file refused here is never opened for writing (nor changed)
        self.f = self._open("r")
        if self.f.attrs.get("format") != FORMAT_NAME:
            self.f.close()
            raise StoreError(f"{self.path!r} is an HDF5 file but not an htdyn trajectory (no format attribute)")
        version = int(self.f.attrs.get("format_version", -1))
        if version > FORMAT_VERSION:
            self.f.close()
            raise StoreError(f"{self.path!r} has format version {version}; this htdyn reads up to "
                             f"{FORMAT_VERSION}: upgrade htdyn")
        if mode == "r":
            return
        writer = self.writer
        if self.live or (writer is not None and writer["alive"]):
            # never write into a file a live writer holds (HDF5_USE_FILE_LOCKING=FALSE lets the open through)
            who = describe(writer) if writer is not None else _holder_text(self.path, self.f)
            self.f.close()
            raise StoreError(f"{self.path!r} is being written by {who}; wait until the run ends to change it")
        self.f.close()
        self.f = self._open(mode)

    def _open(self, mode: str) -> h5py.File:
        try:
            return h5py.File(self.path, mode)
        except OSError as exc:
            if not _lock_taken(exc):
                raise StoreError(unreadable(self.path, exc)) from None
        # HDF5's lock on the file is taken: a process has it open for writing
        try:
            f = h5py.File(self.path, "r", locking=False)
        except OSError as exc:
            raise StoreError(f"{unreadable(self.path, exc)}; a process holds it open "
                             f"({_holder_text(self.path, None)})") from None
        if mode != "r":
            who = _holder_text(self.path, f)
            f.close()
            raise StoreError(f"{self.path!r} is being written by {who}; wait until the run ends to change it")
        self.live = True  # a read of the flushed state: the counters say what is complete
        return f

    @cached_property
    def writer(self) -> dict | None:
        """Who wrote (or is writing) an unfinished file: host, pid, started, command, and ``alive``.

        None for a finished file (any status but ``running``).  ``alive`` is
        False when the writer stopped without finishing (killed): the file then
        holds what it flushed before, and no more will come.
        """
        if self.status != "running":
            return None
        info = {k[len("writer_"):]: py_value(v) for k, v in self.f.attrs.items() if k.startswith("writer_")}
        dest = os.path.join(os.path.dirname(self.path), str(self.f.attrs.get("destination", "")))
        held = holder(dest) if self.f.attrs.get("destination") else None
        info["alive"] = self.live or (held is not None and held.get("pid") == info.get("pid")
                                      and held.get("host") == info.get("host"))
        return info

    def __enter__(self) -> Trajectory:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        if self.f.id.valid:
            self.f.close()

    @property
    def attrs(self) -> dict:
        return {k: py_value(v) for k, v in self.f.attrs.items()}

    @property
    def status(self) -> str:
        return str(self.f.attrs.get("status", "unknown"))

    @property
    def complete(self) -> bool:
        return self.status == "complete"

    @property
    def unit(self) -> str:
        """What a unit of :attr:`runs` is: ``"run"`` (a simulator file) or ``"layer"`` (htdyn.watch)."""
        return str(py_value(self.f.attrs.get("unit", "run")))

    def absent(self) -> list[str]:
        """What a simulator file holds and this file lacks (empty for a simulator file): one phrase each."""
        if self.unit != "layer":
            return []
        return ["teacher", "data or probe set", "evaluations", "optimizer state"]

    @cached_property
    def config(self) -> dict:
        """The simulation config as plain data."""
        return json.loads(self.f.attrs["config_json"])

    @property
    def has_checkpoints(self) -> bool:
        """Whether the file holds a training checkpoint (``htdyn run --resume`` can continue it)."""
        return "checkpoints" in self.f

    @property
    def analysis_groups(self) -> list[str]:
        """The metric sets ``htdyn analyze`` stored in ``/analysis`` (empty when it was not analysed)."""
        return sorted(self.f["analysis"].keys()) if "analysis" in self.f else []

    @property
    def destination(self) -> str | None:
        """The name an unfinished (``.partial``) file takes when it completes, or None if not recorded."""
        d = self.f.attrs.get("destination")
        return None if d is None else str(py_value(d))

    @cached_property
    def runs(self) -> list[Run]:
        g = self.f["runs"]
        return sorted((Run(g[k]) for k in g), key=lambda r: r.index)  # by index: names sort wrongly past 9999

    def __getitem__(self, i: int) -> Run:
        return self.runs[i]

    def __len__(self) -> int:
        return len(self.runs)

    def __repr__(self) -> str:
        return f"<htdyn.Trajectory {self.path!r}: {len(self.runs)} runs, status {self.status}>"

    def summary(self) -> list[dict]:
        """One dict per run: label, optimizer, lr, snapshots, divergence, final losses."""
        return [r.summary() for r in self.runs]


class Run:
    """One run of a trajectory file (lazy: data sets are read on access).

    Attributes
    ----------
    index : int
        The run's place in the file.
    label, run_id : str
        The config's label and the run's stable id.
    config : dict
        The run's config (model, optimizer, schedule, seeds) as plain data.
    shape : tuple of int
        (h, d), the shape of W.
    steps, update_steps : numpy.ndarray
        The steps t whose W_t, and whose update M_t = W_{t+1} - W_t, are stored.
    loss, lr : numpy.ndarray
        Training loss of W_t (t = 0..steps) and learning rate of each step.
    eval_steps, eval : numpy.ndarray, dict
        The evaluation steps and the losses there (probe, test, network train and test).
    metrics : dict
        The online metrics at the eval steps (``eval.metrics`` of the config).
    diverged_step : int
        The step whose update made the run non-finite, or -1.

    Examples
    --------
    >>> import htdyn, tempfile
    >>> run_cfg = htdyn.RunConfig(model=htdyn.ModelConfig(n=64, d=16, h=24, n_test=32),
    ...                           optimizer=htdyn.OptimizerConfig("gd", lr=0.5))
    >>> sim = htdyn.simulation(run_cfg, steps=3, output=f"{tempfile.mkdtemp()}/demo.h5")
    >>> with htdyn.open(htdyn.simulate(sim).path) as traj:
    ...     run = traj.runs[0]
    ...     W0, W1, M0 = run.W(0), run.W(1), run.update(0)
    ...     print(run.shape, run.update_steps.tolist(), run.config["optimizer"]["lr"], sorted(run.eval))
    (24, 16) [0, 1, 2] 0.5 ['net_test_loss', 'net_train_loss', 'probe_loss', 'test_loss']
    >>> bool(abs(W1 - W0 - M0).max() < 1e-5)                 # M_0 = W_1 - W_0 (float32 storage)
    True
    """

    def __init__(self, group: h5py.Group):
        self.g = group

    def __repr__(self) -> str:
        return f"<htdyn.Run {self.index} {self.label!r}: {len(self.steps)} snapshots>"

    @property
    def index(self) -> int:
        return int(self.g.attrs["index"])

    @property
    def attrs(self) -> dict:
        """The run's own attributes (index, label, init, data_path, ...) as plain Python values."""
        return {k: py_value(v) for k, v in self.g.attrs.items()}

    @property
    def unit(self) -> str:
        """``"run"`` (a simulated run) or ``"layer"`` (a layer of a watched model, named by :attr:`label`)."""
        return str(py_value(self.g.attrs.get("unit", "run")))

    @property
    def has_teacher(self) -> bool:
        """Whether the unit has a teacher direction beta and data (a watched layer has neither)."""
        return "data" in self.g

    @property
    def run_id(self) -> str:
        """The run's stable id (:func:`htdyn.runid.run_id` of its config; computed for files older than it)."""
        if "run_id" in self.g.attrs:
            return str(self.g.attrs["run_id"])
        from .runid import run_id

        return run_id(self.config)

    @property
    def label(self) -> str:
        return str(self.g.attrs.get("label", ""))

    @cached_property
    def config(self) -> dict:
        """The run's config (model, optimizer, schedule, seeds) as plain data."""
        return json.loads(self.g.attrs["config_json"])

    @property
    def shape(self) -> tuple[int, int]:
        return tuple(self.g["W"].shape[1:])  # type: ignore[return-value]

    @property
    def steps(self) -> np.ndarray:
        """Steps t whose W_t was written (fewer than planned if killed or diverged)."""
        return self.g["snapshot_steps"][: int(self.g["snapshot_count"][()])]

    @property
    def update_steps(self) -> np.ndarray:
        """Steps t whose update M_t = W_{t+1} - W_t was written."""
        return self.g["update_steps"][: int(self.g["update_count"][()])]

    @property
    def steps_done(self) -> int:
        return int(self.g["steps_done"][()])

    @property
    def diverged_step(self) -> int:
        """The step whose update made the run non-finite, or -1."""
        return int(self.g["diverged_step"][()])

    @property
    def diverged(self) -> bool:
        return self.diverged_step >= 0

    def _read(self, name: str, steps: np.ndarray, t: int) -> np.ndarray:
        hits = np.flatnonzero(steps == t)
        if hits.size == 0:
            raise KeyError(f"run {self.index}: no {name} stored at step {t}; stored steps: {steps.tolist()}")
        i = int(hits[0])
        out = self.g[name][i].astype(np.float64)
        if name + "_scale" in self.g:
            scale = self.g[name + "_scale"][i]
            if scale != 1.0:
                out *= scale
        return out

    def W(self, t: int) -> np.ndarray:
        """W_t (h x d, float64 copy of the stored values)."""
        return self._read("W", self.steps, t)

    def update(self, t: int) -> np.ndarray:
        """M_t = W_{t+1} - W_t, the update applied by optimizer step t."""
        return self._read("update", self.update_steps, t)

    def optimizer_state(self, t: int) -> dict[str, np.ndarray]:
        """The optimizer state after step t (e.g. Adam's exp_avg and exp_avg_sq), if stored."""
        if "optimizer" not in self.g:
            raise KeyError(f"run {self.index}: no optimizer state stored (snapshots.optimizer_state = false)")
        return {k: self._read(f"optimizer/{k}", self.update_steps, t) for k in self.g["optimizer"]
                if not k.endswith("_scale")}

    def a(self, t: int | None = None) -> np.ndarray:
        """The read-out a: the initial one, or a_t when the read-out is trained."""
        if t is None or "a" not in self.g:
            return self.g["a_init"][()]
        return self._read("a", self.steps, t)

    @property
    def loss(self) -> np.ndarray:
        """Training loss of W_t for t = 0..steps (NaN where not reached)."""
        return self.g["loss"][()]

    @property
    def lr(self) -> np.ndarray:
        return self.g["lr"][()]

    @property
    def eval_steps(self) -> np.ndarray:
        """The evaluation steps (none for a watched layer: it has no probe set)."""
        return self.g["eval/steps"][()] if "eval" in self.g else np.zeros(0, dtype=np.int64)

    @property
    def eval(self) -> dict[str, np.ndarray]:
        """probe_loss, test_loss, net_train_loss, net_test_loss at the eval steps (empty for a watched layer)."""
        if "eval" not in self.g:
            return {}
        return {k: v[()] for k, v in self.g["eval"].items() if k != "steps"}

    @property
    def metric_steps(self) -> np.ndarray:
        """The steps of the :attr:`metrics` rows: the eval steps of a run, the recorded steps of a layer."""
        if "metrics" in self.g and "steps" in self.g["metrics"]:
            return self.g["metrics/steps"][()]
        return self.eval_steps

    @property
    def metric_names(self) -> list[str]:
        """The names of the stored online metrics (nothing is read)."""
        return [k for k in self.g["metrics"] if k != "steps"] if "metrics" in self.g else []

    def read_metrics(self, names: Iterable[str] | None = None) -> dict[str, np.ndarray]:
        """The online metrics ``names`` (default: all of them), one row per :attr:`metric_steps`."""
        keys = self.metric_names if names is None else list(names)
        return {k: self.g["metrics"][k][()] for k in keys}

    @property
    def metrics(self) -> dict[str, np.ndarray]:
        """Online metrics at the eval steps (empty if none were asked for)."""
        return self.read_metrics()

    @property
    def penalty_terms(self) -> list[str]:
        """The names of the penalty terms recorded per step (empty for a run trained without one)."""
        return json.loads(py_value(self.g["penalty"].attrs["terms"])) if "penalty" in self.g else []

    @property
    def penalty(self) -> dict[str, np.ndarray]:
        """Per-step penalty records of W_t, t = 0..steps-1 (docs/format.md; empty without a penalty).

        ``value``, ``coefficient``, ``grad_norm``: (steps, terms); ``total``, ``share``: (steps,).
        """
        if "penalty" not in self.g:
            return {}
        return {k: v[()] for k, v in self.g["penalty"].items()}

    @property
    def beta(self) -> np.ndarray:
        if not self.has_teacher:
            raise StoreError(f"{self.unit} {self.label!r} has no teacher direction (a watched model has none)")
        return self.g["data/beta"][()]

    def data(self) -> dict[str, np.ndarray]:
        """The data sets: as stored, or regenerated from the seed (:func:`htdyn.datagen.draw_data`, bit for bit
        the arrays training drew) when the file stores only the seed (``store_data = false``)."""
        if not self.has_teacher:
            raise StoreError(f"{self.unit} {self.label!r} has no data or probe set (a watched model's data "
                             "stay with its user)")
        g = self.g["data"]
        if g.attrs.get("stored", False):
            return {k: g[k][()] for k in g}
        from ..datagen import draw_data

        m = self.config["model"]
        return draw_data(int(g.attrs["seed"]), n=int(m["n"]), d=int(m["d"]), n_test=int(m["n_test"]),
                         noise_std=float(m["noise_std"]), teacher=str(m["teacher"]))

    def summary(self) -> dict:
        ev = self.eval
        opt = self.config.get("optimizer", {})

        def last(v: np.ndarray) -> float:
            ok = np.isfinite(v)
            return float(v[ok][-1]) if ok.any() else float("nan")

        return {
            "run": self.index, "label": self.label, "optimizer": opt.get("name", ""), "lr": opt.get("lr", np.nan),
            "snapshots": len(self.steps), "steps_done": self.steps_done, "diverged_step": self.diverged_step,
            "loss": last(self.loss), "probe_loss": last(ev.get("probe_loss", np.full(1, np.nan))),
            "test_loss": last(ev.get("test_loss", np.full(1, np.nan))),
        }


def _lock_taken(exc: OSError) -> bool:
    """Whether h5py could not open a file because another process holds HDF5's lock on it.

    HDF5 says "unable to lock file, errno = 11" (EAGAIN) and h5py sets ``errno``; a truncated or
    corrupt file fails with another text and no errno.
    """
    return exc.errno in (errno.EAGAIN, errno.EWOULDBLOCK, errno.EACCES) and "unable to lock" in str(exc).lower()


def unreadable(path: str, exc: OSError) -> str:
    """Why h5py cannot read ``path``, in words: empty, truncated, not HDF5, or HDF5's own reason."""
    text = str(exc)
    first = text.splitlines()[0] if text else type(exc).__name__
    try:
        size = os.path.getsize(path)
    except OSError:
        size = -1
    cut = re.search(r"truncated file: eof = (\d+).*stored_eof = (\d+)", text)
    if size == 0:
        return f"{path!r} is empty (0 bytes), not a trajectory (a copy or run that stopped before writing anything)"
    if cut:
        return (f"{path!r} is truncated: it holds {int(cut.group(1))} of the {int(cut.group(2))} bytes its HDF5 "
                "header announces (an incomplete copy or download, or a full disk); it cannot be read")
    if "signature not found" in text:
        return f"{path!r} is not an HDF5 file (no HDF5 signature: not a trajectory, or its start is damaged)"
    return f"{path!r} is not a readable HDF5 file ({first})"


def _holder_text(path: str, f: h5py.File | None) -> str:
    """Who holds a file: the live writer its lock file names, else what the file says, else 'another process'."""
    dest = str(f.attrs.get("destination", "")) if f is not None else ""
    for name in filter(None, (dest, os.path.basename(path), os.path.basename(path).replace(".partial", ""))):
        held = holder(os.path.join(os.path.dirname(path), name))
        if held:
            return describe(held)
    running = f is not None and str(f.attrs.get("status", "")) == "running"  # else writer_* is who wrote it once
    info = {k[len("writer_"):]: py_value(v) for k, v in f.attrs.items() if k.startswith("writer_")} if running else {}
    return describe(info) if info else "another process (it holds HDF5's lock on the file)"


def _partial_hint(path: str) -> str:
    part = partial_path(path)
    if part.exists():
        return (f"; {str(part)!r} holds its unfinished run: continue it with `htdyn run --resume {part}` "
                f"(htdyn info {part} shows how far it got)")
    return ""
