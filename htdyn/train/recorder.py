"""What a batch group's training leaves in the trajectory file, and when.

The loop reports each event (group set up, evaluation, step taken, last step,
every run diverged); the :class:`Recorder` turns it into writes: snapshots at
the snapshot steps, per-run progress and a flush after each snapshot and at
least every 5 s.  Without a file (``writer=None``) every event is a no-op.

Every method's ``g`` is the :class:`htdyn.train.loop.GroupRun` being recorded (typed ``Any``: the loop
imports this module, so importing the loop back would make a circle).
"""

from __future__ import annotations

import os
import time
from typing import Any

import numpy as np

from ..config import SimConfig, resolve_steps
from ..errors import ConfigError
from ..io.writer import TrajectoryWriter
from .backend import to_numpy
from .stepinfo import StepResult

EVAL_KEYS = ("probe_loss", "test_loss", "net_train_loss", "net_test_loss")
#: the longest time between two flushes when no snapshot is due (seconds)
FLUSH_EVERY_S = 5.0
#: the longest training time between two checkpoints of a batch group (seconds): a run killed
#: later resumes from its last one (``htdyn run --resume``); a group that trains for less writes none.
#: The environment variable HTDYN_CHECKPOINT_EVERY_S overrides it.
CHECKPOINT_EVERY_S = 60.0


def checkpoint_period() -> float:
    """Seconds between checkpoints: ``HTDYN_CHECKPOINT_EVERY_S`` when set (a number >= 0), else 60."""
    text = os.environ.get("HTDYN_CHECKPOINT_EVERY_S", "").strip()
    try:
        value = float(text) if text else CHECKPOINT_EVERY_S
    except ValueError:
        raise ConfigError(f"HTDYN_CHECKPOINT_EVERY_S = {text!r} must be a number of seconds >= 0") from None
    if not value >= 0:
        raise ConfigError(f"HTDYN_CHECKPOINT_EVERY_S = {text!r} must be a number of seconds >= 0")
    return value


class Recorder:
    """Writes the runs of batch groups into a trajectory file as they train.

    Parameters
    ----------
    writer : TrajectoryWriter or None
    config : SimConfig
    checkpoint_every_s : float
        Save the group's training state (:meth:`checkpoint`) at most this often.
    """

    def __init__(self, writer: TrajectoryWriter | None, config: SimConfig, checkpoint_every_s: float | None = None):
        self.writer = writer
        self.checkpoint_every_s = checkpoint_period() if checkpoint_every_s is None else checkpoint_every_s
        self.last_checkpoint = time.perf_counter()
        self.snaps = set(resolve_steps(config.snapshots.at, config.steps))
        self.updates = config.snapshots.updates
        self.optimizer_state = config.snapshots.optimizer_state
        self.write_s = 0.0
        self.last_flush = time.perf_counter()

    def add_group(self, g: Any, state_names: tuple) -> None:
        """Create every data set of the group's runs (and its data sets, once each)."""
        w = self.writer
        if w is None:
            return
        cfg = g.config
        for j, (i, run) in enumerate(zip(g.ids, g.runs)):
            user = g.data_keys[j].startswith("user_")
            dpath = w.write_data(g.data_keys[j], g.datasets[j], cfg.store_data or user,
                                 None if user else run.data_seed_)
            w.add_run(i, run, h=g.h, d=g.d, snapshot_steps=g.snap_steps, eval_steps=g.eval_steps,
                      data_path=dpath, a0=g.a0[j], state_names=state_names, group=g.index,
                      metric_specs=g.metric_specs, user_init=g.user_init[j],
                      penalty_names=g.penalty_log.names if g.penalty_log is not None else None)

    def wants_update(self, t: int) -> bool:
        """Whether step t's update M_t will be stored."""
        return self.writer is not None and t in self.snaps and self.updates

    def evaluation(self, g: Any, t: int, ev: dict, mv: dict) -> None:
        """The evaluation of W_t of the runs still training."""
        if self.writer is None:
            return
        for j in np.flatnonzero(g.state.active):
            self.writer.write_eval(g.ids[j], t, {k: ev[k][j] for k in EVAL_KEYS}, {k: mv[k][j] for k in mv})

    def after_step(self, g: Any, t: int, was_active: np.ndarray, res: StepResult, M: Any) -> None:
        """After step t: the snapshot of W_t (and M_t, the optimizer state, a_t) when due, and the progress."""
        if self.writer is None:
            return
        snap = t in self.snaps
        if not snap and time.perf_counter() - self.last_flush <= FLUSH_EVERY_S:
            return
        t0 = time.perf_counter()
        if snap:
            Wh, Mh = to_numpy(res.W), None if M is None else to_numpy(M)
            st = {k: to_numpy(v) for k, v in g.opt.state_arrays(0).items()} if self.optimizer_state else {}
            ah = to_numpy(g.state.a) if g.train_a else None
            for j in np.flatnonzero(was_active):
                self.writer.write_snapshot(g.ids[j], t, Wh[j], None if Mh is None else Mh[j],
                                           {k: v[j] for k, v in st.items()}, None if ah is None else ah[j])
        self._progress(g, t)
        self.write_s += time.perf_counter() - t0

    def final(self, g: Any) -> None:
        """The snapshot of W_T and the final progress."""
        if self.writer is None:
            return
        t0 = time.perf_counter()
        T, st = g.T, g.state
        if T in self.snaps:
            Wh = to_numpy(st.W)
            for j in np.flatnonzero(st.active):
                self.writer.write_snapshot(g.ids[j], T, Wh[j], a=to_numpy(st.a[j]) if g.train_a else None)
        self._progress(g, T)
        self.writer.drop_checkpoint(g.index)
        self.write_s += time.perf_counter() - t0

    def all_diverged(self, g: Any, t: int) -> None:
        """Every run of the group diverged at or before step t: record where they stopped."""
        if self.writer is not None:
            self._progress(g, t)
            self.writer.drop_checkpoint(g.index)

    def checkpoint(self, g: Any) -> None:
        """Save the group's training state when the last checkpoint is older than ``checkpoint_every_s``.

        Called between two steps; the progress is flushed first, so the file never
        holds a checkpoint ahead of its counters.
        """
        if self.writer is None or time.perf_counter() - self.last_checkpoint < self.checkpoint_every_s:
            return
        t0 = time.perf_counter()
        self._progress(g, g.state.step - 1)
        arrays, meta = g.save_state().to_arrays()
        self.writer.write_checkpoint(g.index, arrays, meta)
        self.last_checkpoint = time.perf_counter()
        self.write_s += self.last_checkpoint - t0

    def _progress(self, g: Any, t: int) -> None:
        # losses of W_0..W_t are known after step t (W_0..W_s for a run diverged at step s)
        st = g.state
        for j in range(g.B):
            s = int(st.diverged[j])
            n_loss, done = (t + 1, min(t + 1, g.T)) if s < 0 else (s + 1, s)
            self.writer.write_progress(g.ids[j], st.losses[j], g.lrs[j], n_loss, done, s)  # type: ignore[union-attr]
            if g.penalty_log is not None:  # rows of steps 0..n_loss-1 (W_t of the steps taken)
                rows = {k: v[j] for k, v in g.penalty_log.arrays.items()}
                self.writer.write_penalty(g.ids[j], rows, min(n_loss, g.T))  # type: ignore[union-attr]
        self.writer.flush()  # type: ignore[union-attr]
        self.last_flush = time.perf_counter()
