"""The training loop of one batch group, one job per method.

A :class:`GroupRun` sets a group up (data, initial weights, schedules), then
repeats: evaluate when asked, take one optimizer step of every run
(:meth:`GroupRun.step`), freeze the runs that became non-finite, and hand what
the step produced to the :class:`~htdyn.recorder.Recorder`.  Everything that
changes from step to step is one :class:`TrainState`, so a group can be saved
after any step and continued from it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..activations import get_activation
from ..config import RunConfig, SimConfig, resolve_steps
from ..errors import ConfigError
from .backend import Backend, Workspace, to_numpy
from .batches import Minibatches, device_data, group_datasets
from .data import make_init
from .model import loss as full_loss
from .objective import Objective
from .optim import STATE_NAMES, BatchedOptimizer
from .penalty_terms import PenaltyLog, build_terms, run_specs
from .readout import evaluate
from .recorder import EVAL_KEYS, Recorder
from .schedules import learning_rate
from .stepinfo import StepInfo, StepResult


@dataclass
class TrainState:
    """What changes between two steps of a batch group: enough to continue from ``step``.

    ``W`` and ``a`` are W_step and a_step (backend arrays with a leading run
    axis); ``optimizer`` the optimizer's arrays per parameter by torch's names and
    ``optimizer_steps`` how many steps it took; ``active`` the runs still training,
    ``diverged`` the step each run diverged at (-1), ``losses`` the losses so far;
    ``shuffle`` the minibatch order (generator states and the epoch's permutation);
    ``penalty`` the per-step penalty records (:class:`~htdyn.train.penalty_terms.PenaltyLog`).
    """

    step: int
    W: Any
    a: Any
    optimizer: list[dict[str, Any]]
    optimizer_steps: int
    active: np.ndarray
    diverged: np.ndarray
    losses: np.ndarray
    shuffle: dict = field(default_factory=dict)
    penalty: dict = field(default_factory=dict)

    def to_arrays(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """The state as named host arrays and a JSON-able document (a checkpoint; see htdyn.io.checkpoint)."""
        arrays = {"W": to_numpy(self.W), "a": to_numpy(self.a), "losses": self.losses,
                  "active": self.active.astype(np.uint8), "diverged": self.diverged}
        for i, p in enumerate(self.optimizer):
            arrays.update({f"opt{i}_{k}": to_numpy(v) for k, v in p.items()})
        shuffle = dict(self.shuffle)
        if shuffle.get("perms") is not None:
            arrays["perms"] = np.asarray(shuffle.pop("perms"))
        shuffle.pop("perms", None)
        arrays.update({f"penalty_{k}": v for k, v in self.penalty.items()})
        meta = {"step": self.step, "optimizer_steps": self.optimizer_steps, "n_params": len(self.optimizer),
                "shuffle": shuffle}
        return arrays, meta

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> TrainState:
        """The inverse of :meth:`to_arrays` (host arrays)."""
        opt = [{k.split("_", 1)[1]: v for k, v in arrays.items() if k.startswith(f"opt{i}_")}
               for i in range(int(meta["n_params"]))]
        shuffle = dict(meta.get("shuffle") or {})
        if shuffle:
            shuffle["perms"] = arrays.get("perms")
        penalty = {k[len("penalty_"):]: v for k, v in arrays.items() if k.startswith("penalty_")}
        return cls(int(meta["step"]), arrays["W"], arrays["a"], opt, int(meta["optimizer_steps"]),
                   arrays["active"].astype(bool), arrays["diverged"].astype(np.int64), arrays["losses"], shuffle,
                   penalty)


class GroupRun:
    """The training of one batch group of a simulation.

    Parameters
    ----------
    index : int
        The group's position (its ``batch_group`` in the file).
    run_ids : list of int
        The runs' indices in ``config.runs``.
    config : SimConfig
    backend : Backend
    recorder : Recorder
    user_data, user_init : lists (one entry per run of the simulation, None for the seeded draw)
    """

    def __init__(self, index: int, run_ids: list[int], config: SimConfig, backend: Backend, recorder: Recorder,
                 user_data: list, user_init: list):
        self.index, self.ids, self.config, self.backend = index, run_ids, config, backend
        self.xp = backend.xp
        self.runs: list[RunConfig] = [config.runs[i] for i in run_ids]
        m = self.runs[0].model
        self.B, self.n, self.d, self.h, self.T = len(self.runs), m.n, m.d, m.h, config.steps
        self.act = get_activation(m.activation)
        self.train_a = m.train_readout
        self.snap_steps = resolve_steps(config.snapshots.at, self.T)
        self.eval_steps = self.snap_steps if config.eval.at == "snapshots" else resolve_steps(config.eval.at, self.T)
        self.datasets, self.data_keys = group_datasets(self.runs, [user_data[i] for i in run_ids], run_ids)
        self.shared_data = len(set(self.data_keys)) == 1  # one data set for the group: stored once on the device
        self.dev = device_data(backend, self.datasets[:1] if self.shared_data else self.datasets, self.d)
        self.betas = np.stack([ds.beta for ds in self.datasets])
        self.lrs = np.array([[learning_rate(r.schedule, r.optimizer.lr, t, self.T) for t in range(self.T)]
                             for r in self.runs], dtype=np.float64).reshape(self.B, self.T)
        wn = np.array([r.weight_norm for r in self.runs])
        self.wn = backend.asarray(wn.astype(np.float64)) if wn.any() else None
        self.opt = BatchedOptimizer([r.optimizer for r in self.runs], backend)
        self.ws = Workspace(backend)
        terms = build_terms([run_specs(r) for r in self.runs])
        self.objective = Objective(self.xp, self.act, grad_a=self.train_a, workspace=self.ws, penalties=terms)
        self.penalty_log = PenaltyLog([tm.name for tm in terms], self.B, self.T) if terms else None
        self.batches = Minibatches(backend, self.runs, self.dev)
        self.metric_fn, self.metric_specs = _online_metrics(config, self.h, self.d)
        E = len(self.eval_steps)
        self.evals = {k: np.full((self.B, E), np.nan) for k in EVAL_KEYS}
        self.metrics = {k: np.full((self.B, E, *s), np.nan) for k, s in self.metric_specs.items()}
        W0, self.a0 = self._initial_weights([user_init[i] for i in run_ids])
        self.user_init = [user_init[i] is not None for i in run_ids]
        self.state = TrainState(0, backend.asarray(W0), backend.asarray(self.a0), [], 0,
                                np.ones(self.B, dtype=bool), np.full(self.B, -1, dtype=np.int64),
                                np.full((self.B, self.T + 1), np.nan))
        self.recorder = recorder
        recorder.add_group(self, STATE_NAMES[self.opt.name])
        self.eval_s = 0.0
        self.train_pred: Any = None  # f(X) at W_T, left by evaluate(T) for finish()

    def _initial_weights(self, user_init: list) -> tuple[np.ndarray, np.ndarray]:
        W0, a0 = [], []
        for j, run in enumerate(self.runs):
            if user_init[j] is not None:
                Wi = np.asarray(user_init[j]["W"], dtype=np.float64)
                ai = np.asarray(user_init[j]["a"], dtype=np.float64)
                if Wi.shape != (self.h, self.d) or ai.shape != (self.h,):
                    raise ConfigError(f"run {self.ids[j]}: init W must be {(self.h, self.d)} and a {(self.h,)}, "
                                      f"got {Wi.shape}, {ai.shape}")
            else:
                Wi, ai = make_init(run.model, run.init_seed_)
            W0.append(Wi)
            a0.append(ai)
        return np.stack(W0), np.stack(a0)

    # ------------------------------------------------------------------ the loop
    def run(self, on_step: Callable | None = None, progress: Callable[[int], None] | None = None,
            until: int | None = None) -> None:
        """Train from the current state to the last step, or until every run diverged.

        ``until``: stop before evaluating W_until (a resumable point: see :meth:`save_state`).
        """
        st = self.state
        while True:
            t = st.step
            if until is not None and t >= until:
                return
            was_active = st.active.copy()
            if t in self.eval_steps:
                self.evaluate(t)
            if t == self.T:
                self.finish()
                return
            res = self.step(t)
            M = self.update(res) if self.recorder.wants_update(t) or on_step is not None else None
            if on_step is not None:
                on_step(_step_info(res, self.ids, M, self.opt.state_arrays(0), st.active))
            self.recorder.after_step(self, t, was_active, res, M)
            st.W, st.a, st.step = res.W_next, res.a_next, t + 1
            self.recorder.checkpoint(self)
            if progress is not None:
                progress(1)
            if not st.active.any():  # every run diverged: nothing left to compute
                if progress is not None:
                    progress(self.T - t - 1)
                self.recorder.all_diverged(self, t)
                return

    def step(self, t: int) -> StepResult:
        """One optimizer step of every run: W_t -> W_{t+1}; non-finite runs are frozen at W_t."""
        nat, st = self.backend.native, self.state
        W, a = st.W, st.a
        What = self._rescaled(W)
        Xb, yb = self.batches.get(t)
        g = self.objective(What, a, Xb, yb, step=t)
        if self.penalty_log is not None:
            self.penalty_log.record(t, self.state.active, g)
        params, grads = ([What, a], [g.W, g.a]) if self.train_a else ([What], [g.W])
        deltas = self.opt.step(params, grads, self.lrs[:, t])
        W_next = self.ws.get(("W_even", "W_odd")[t % 2], W.shape)  # never W's own buffer
        self.ws.map(lambda w, dw, o: nat.add(w, dw, out=o), What, deltas[0], W_next)
        a_next = a + deltas[1] if self.train_a else a
        loss = to_numpy(g.loss)
        W_next, a_next = self._freeze_diverged(t, loss, W, a, W_next, a_next)
        return StepResult(t, W, W_next, a_next, loss)

    def _rescaled(self, W: Any) -> Any:
        """W itself, or under weight normalisation W rescaled to ||W||_F = sqrt(h d) (per run that asks)."""
        if self.wn is None:
            return W
        xp = self.xp
        norms = xp.sqrt(xp.sum(W * W, axis=(1, 2)))
        factor = self.wn * (math.sqrt(self.h * self.d) / norms) + (1.0 - self.wn)
        return W * factor[:, None, None]

    def _freeze_diverged(self, t: int, loss: np.ndarray, W: Any, a: Any, W_next: Any, a_next: Any) -> tuple:
        """Mark runs whose loss or next weights are non-finite as diverged at t; keep them at W_t."""
        xp, st = self.xp, self.state
        ok = np.isfinite(loss) & to_numpy(xp.all(xp.isfinite(W_next), axis=(1, 2)))
        if self.train_a:
            ok &= to_numpy(xp.all(xp.isfinite(a_next), axis=1))
        st.losses[st.active, t] = loss[st.active]
        st.diverged[st.active & ~ok] = t
        st.active &= ok
        if not st.active.all():  # frozen runs (diverged now or earlier) keep their last finite weights
            keep = self.backend.asarray(st.active.astype(np.float64)) > 0
            W_next = xp.where(keep[:, None, None], W_next, W)
            if self.train_a:
                a_next = xp.where(keep[:, None], a_next, a)
        return W_next, a_next

    def update(self, res: StepResult) -> Any:
        """M_t = W_{t+1} - W_t, in a buffer reused every step."""
        nat = self.backend.native
        M = self.ws.get("M", res.W.shape)
        self.ws.map(lambda w1, w0, o: nat.subtract(w1, w0, out=o), res.W_next, res.W, M)
        return M

    def evaluate(self, t: int) -> None:
        """Ridge read-out and losses (and the online metrics) of W_t for the runs still training.

        Runs whose data set, W_t and a_t are equal have equal evaluations, so each distinct
        one is evaluated once (:func:`distinct_runs`): at step 0 every point of a sweep's
        repeat starts from the same W_0 and data, and a batch of them evaluates one.  On
        numpy, evaluating a subset gives the same numbers as the whole batch, bit for bit
        (every run's products and solves are its own; tested); batched GPU kernels may
        round differently with the batch size.
        """
        t0 = time.perf_counter()
        st, cfg = self.state, self.config.eval
        pre = 1.0 if cfg.features == "model" else 1.0 / math.sqrt(self.d)
        active = np.flatnonzero(st.active)  # a run that diverged earlier is frozen: nothing new to record
        if active.size == 0:
            return
        reps, inverse = distinct_runs(self.xp, st.W, st.a, self.data_keys, active)
        W, a, dev, betas = st.W, st.a, self.dev, self.betas
        if len(reps) < active.size:  # runs share: evaluate the distinct ones (a copy of their W and data)
            W, a, betas = W[reps], a[reps], betas[reps]
            dev = dev if self.shared_data else {k: v[reps] for k, v in dev.items()}
        else:  # nothing shared: the whole batch as it is, no copy (frozen runs' numbers unused)
            inverse = np.where(inverse >= 0, np.arange(self.B), -1)
        keep = {} if t == self.T and W is st.W else None  # the whole batch at W_T: finish() reuses f(X)
        ev = _scatter(_evaluate_runs(self.xp, W, a, dev, self.act, cfg.ridge_lambda, pre, keep), inverse)
        self.train_pred = keep.get("train_pred") if keep else None
        mv = _scatter(self.metric_fn(W, betas), inverse) if self.metric_fn else {}
        e = self.eval_steps.index(t)
        for j in active:
            for k in EVAL_KEYS:
                self.evals[k][j, e] = ev[k][j]
            for k in mv:
                self.metrics[k][j, e] = mv[k][j]
        self.recorder.evaluation(self, t, ev, mv)
        self.eval_s += time.perf_counter() - t0

    def finish(self) -> None:
        """The loss of W_T and the final snapshot (from the outputs evaluate(T) computed, when it did).

        Under weight normalisation ``loss[T]`` is, like ``loss[0..T-1]``, the loss of the weights
        the network uses, W_T rescaled to ``||W||_F = sqrt(h d)`` (docs/format.md).
        """
        st, xp = self.state, self.xp
        if self.wn is not None:
            self.train_pred = None
            lh = to_numpy(full_loss(xp, self._rescaled(st.W), st.a, self.dev["Xs"], self.dev["y"], self.act))
        elif self.train_pred is not None:  # model.loss's own arithmetic on the same outputs: the same bits
            r = self.train_pred - self.dev["y"]
            lh = to_numpy(xp.mean(r * r, axis=-1))
        else:
            lh = to_numpy(full_loss(xp, st.W, st.a, self.dev["Xs"], self.dev["y"], self.act))
        self.train_pred = None
        st.losses[st.active, self.T] = lh[st.active]
        self.recorder.final(self)

    # ------------------------------------------------------------------ state
    def save_state(self) -> TrainState:
        """A copy of the state after the last step, on the host (numpy arrays)."""
        st = self.state
        opt, k = self.opt.get_state()
        return TrainState(st.step, to_numpy(st.W).copy(), to_numpy(st.a).copy(),
                          [{n: to_numpy(v).copy() for n, v in p.items()} for p in opt], k,
                          st.active.copy(), st.diverged.copy(), st.losses.copy(), self.batches.get_state(),
                          self.penalty_log.get_state() if self.penalty_log is not None else {})

    def load_state(self, saved: TrainState) -> None:
        """Continue from a state saved by :meth:`save_state` (of a group with the same runs)."""
        b = self.backend
        self.opt.set_state([{n: b.asarray(v) for n, v in p.items()} for p in saved.optimizer], saved.optimizer_steps)
        self.batches.set_state(saved.shuffle)
        if self.penalty_log is not None and saved.penalty:
            self.penalty_log.set_state(saved.penalty)
        self.state = TrainState(saved.step, b.asarray(saved.W), b.asarray(saved.a), [], saved.optimizer_steps,
                                saved.active.copy(), saved.diverged.copy(), saved.losses.copy(), saved.shuffle,
                                saved.penalty)


def _step_info(res: StepResult, ids: list[int], M: Any, state: dict, active: np.ndarray) -> StepInfo:
    return StepInfo(res.t, ids, res.W, res.W_next, M, state, res.loss, active.copy())


def distinct_runs(xp: Any, W: Any, a: Any, keys: list[str], runs: np.ndarray) -> tuple[list[int], np.ndarray]:
    """The distinct runs among ``runs``: equal data key, and W and a equal entry for entry.

    Returns ``reps`` (the first run of each kind, in order) and ``inverse`` (B,): the
    position in ``reps`` of every run's representative, -1 for runs not in ``runs``.
    Equal means equal values (``-0.0 == 0.0``; NaN equals nothing).  One batched
    fingerprint per run (sums of a and of W's first and last rows, one copy to the host)
    rules out almost every unequal pair; a candidate pair is then compared in full.
    """
    inverse = np.full(W.shape[0], -1, dtype=np.int64)
    fp = to_numpy(xp.stack([xp.sum(a, axis=1), xp.sum(W[:, 0, :], axis=1), xp.sum(W[:, -1, :], axis=1)], axis=1))
    reps: list[int] = []
    seen: dict[tuple, list[int]] = {}
    for j in runs:
        cands = seen.setdefault((keys[j], *map(float, fp[j])), [])
        i = next((i for i in cands if _equal(xp, a[reps[i]], a[j]) and _equal(xp, W[reps[i]], W[j])), None)
        if i is None:
            i = len(reps)
            reps.append(int(j))
            cands.append(i)
        inverse[j] = i
    return reps, inverse


def _equal(xp: Any, u: Any, v: Any) -> bool:
    return bool(to_numpy(xp.all(u == v)))


def _scatter(values: dict[str, np.ndarray], inverse: np.ndarray) -> dict[str, np.ndarray]:
    """Per-representative values back to every run (NaN where ``inverse`` is -1)."""
    out = {}
    for k, v in values.items():
        v = np.asarray(v)
        full = np.full((inverse.size, *v.shape[1:]), np.nan, dtype=np.result_type(v.dtype, np.float64))
        ok = inverse >= 0
        full[ok] = v[inverse[ok]]
        out[k] = full
    return out


def _evaluate_runs(xp: Any, W: Any, a: Any, dev: dict, act: Any, lam: float, pre: float,
                   keep: dict | None = None) -> dict[str, np.ndarray]:
    """Evaluate every run of a group; when the batched evaluation fails, each run alone (NaN for a failing run).

    ``keep`` receives the batched evaluation's ``train_pred`` (nothing when it fails).
    """
    try:
        return {k: to_numpy(v) for k, v in evaluate(xp, W, a, dev, act, lam, pre, keep).items()}
    except Exception:
        if keep is not None:
            keep.clear()
    B = W.shape[0]
    out = {k: np.full(B, np.nan) for k in EVAL_KEYS}
    for j in range(B):
        sub = {k: v[j:j + 1] if v.shape[0] == B and B > 1 else v for k, v in dev.items()}
        try:
            ev = evaluate(xp, W[j:j + 1], a[j:j + 1], sub, act, lam, pre)
        except Exception:  # a run gone wild: NaN for that run only
            continue
        for k in EVAL_KEYS:
            out[k][j] = to_numpy(ev[k])[0]
    return out


def _online_metrics(config: SimConfig, h: int, d: int) -> tuple[Callable | None, dict]:
    """The online metric function for ``config.eval.metrics`` and its output shapes (W of h x d)."""
    if not config.eval.metrics:
        return None, {}
    from ..analysis.registry import online_metrics

    return online_metrics(config.eval.metrics, h, d)
