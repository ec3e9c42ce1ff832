"""The training engine: many runs batched on one device.

Runs that share (n, d, h, n_test, activation, optimizer family, trainable
read-out, batch size) form a *batch group*: their weights are stacked on a
leading axis, W of shape (B, h, d), so a step of B runs is one batched matrix
product.  Learning rates, hyper-parameters, schedules and seeds may differ per
run.  A run whose loss or weights become non-finite is marked diverged at that
step, is frozen at its last finite weights, and does not disturb the others.

Step t (t = 0 .. steps - 1) maps W_t to W_{t+1}; its update is
M_t = W_{t+1} - W_t.  The loss recorded for step t is the loss of W_t (of the
rescaled W_t under weight normalisation) on the batch the step uses; the loss
of the final W_steps is recorded too.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .activations import get_activation
from .backend import Backend, Workspace, get_backend, to_numpy
from .config import RunConfig, SimConfig, resolve_steps
from .data import STREAM_SHUFFLE, Dataset, dataset_from_arrays, make_dataset, make_init, rng
from .diskspace import is_disk_full
from .errors import ConfigError, StoreError
from .model import loss as full_loss
from .model import loss_and_grad
from .optim import STATE_NAMES, BatchedOptimizer
from .plan import batch_key, check_resources, data_key
from .readout import evaluate
from .schedules import learning_rate
from .store import TrajectoryWriter

EVAL_KEYS = ("probe_loss", "test_loss", "net_train_loss", "net_test_loss")


class StepInfo:
    """What a step hook sees after optimizer step ``t`` of a batch group.

    Arrays are backend arrays with a leading run axis (positions in ``runs``).
    ``W`` is W_t, ``W_next`` is W_{t+1}, ``update`` is M_t = W_{t+1} - W_t,
    ``state`` the optimizer state after the step (torch's names), ``loss`` the
    host losses of W_t, ``active`` which runs are still training.

    ``W``, ``W_next``, ``update`` and ``state`` are copies, made on first access,
    so a hook may keep them (for example to collect every update in memory).
    ``view(name)`` returns the engine's own buffer instead, without a copy: it
    is valid only during the call (later steps overwrite it), for hooks that
    consume the arrays at once (write them out, reduce them to numbers).
    """

    def __init__(self, t: int, runs: list[int], W: Any, W_next: Any, update: Any, state: dict,
                 loss: np.ndarray, active: np.ndarray):
        self.t, self.runs, self.loss, self.active = t, runs, loss, active
        self._live = {"W": W, "W_next": W_next, "update": update, "state": state}
        self._copies: dict[str, Any] = {}

    def view(self, name: str) -> Any:
        """The live array (or state dict) ``name`` without a copy; valid only during the hook call."""
        return self._live[name]

    def _copy(self, name: str) -> Any:
        if name not in self._copies:
            v = self._live[name]
            self._copies[name] = {k: _copy_array(a) for k, a in v.items()} if isinstance(v, dict) \
                else _copy_array(v)
        return self._copies[name]

    W = property(lambda self: self._copy("W"), doc="W_t (a copy).")
    W_next = property(lambda self: self._copy("W_next"), doc="W_{t+1} (a copy).")
    update = property(lambda self: self._copy("update"), doc="M_t = W_{t+1} - W_t (a copy; None without one).")
    state = property(lambda self: self._copy("state"), doc="The optimizer state after the step (copies).")


def _copy_array(a: Any) -> Any:
    if a is None:
        return None
    return a.clone() if hasattr(a, "clone") else a.copy()  # torch / numpy and CuPy


@dataclass
class RunResult:
    """The outcome of one run (what the file holds, minus the snapshots)."""

    index: int
    config: RunConfig
    loss: np.ndarray
    lr: np.ndarray
    eval_steps: list[int]
    eval: dict[str, np.ndarray]
    diverged_step: int
    W_final: np.ndarray
    a_final: np.ndarray
    metrics: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def diverged(self) -> bool:
        return self.diverged_step >= 0

    def final(self, key: str) -> float:
        """The last finite value of an eval series (``probe_loss``, ``test_loss``...)."""
        v = self.eval[key]
        ok = np.isfinite(v)
        return float(v[ok][-1]) if ok.any() else float("nan")


@dataclass
class SimulationResult:
    config: SimConfig
    path: str | None
    runs: list[RunResult]
    timings: dict
    backend: str = ""


def _per_run(value: Any, n: int, what: str) -> list:
    if value is None:
        return [None] * n
    if isinstance(value, dict):
        return [value] * n
    value = list(value)
    if len(value) != n:
        raise ConfigError(f"{what}: got {len(value)} entries for {n} runs")
    return value


def simulate(
    config: SimConfig,
    *,
    path: str | None | bool = None,
    overwrite: bool = False,
    data: dict | Sequence[dict | None] | None = None,
    init: dict | Sequence[dict | None] | None = None,
    on_step: Callable[[StepInfo], None] | None = None,
    progress: Callable[[int], None] | None = None,
) -> SimulationResult:
    """Run every run of a simulation and write its trajectory file.

    Parameters
    ----------
    config : SimConfig
    path : str, optional
        The trajectory file; default ``config.output``; ``False`` writes no file.
    overwrite : bool
        Replace an existing file (otherwise an existing file is an error).
    data : dict or list of dict, optional
        User arrays (``X, y, X_probe, y_probe, X_test, y_test, beta``) for all
        runs, or one dict (or None) per run, replacing the seeded draws.
    init : dict or list of dict, optional
        User initial weights ``{"W": (h, d), "a": (h,)}`` for all runs or per run.
    on_step : callable, optional
        Called with a :class:`StepInfo` after every optimizer step of every batch
        group (for example to collect every update in memory).
    progress : callable, optional
        Called with the number of steps just completed (for progress bars).

    Returns
    -------
    SimulationResult
    """
    config.validate()
    _check_metric_names(config)
    backend = get_backend(config.device, config.dtype, config.backend)
    runs = config.runs
    user_data = _per_run(data, len(runs), "data")
    user_init = _per_run(init, len(runs), "init")
    out_path = None if path is False else str(path if path not in (None, True) else config.output_path())
    check_resources(config, out_path, backend=backend)
    writer = None
    if out_path is not None:
        writer = TrajectoryWriter(out_path, config, overwrite=overwrite, device_info={
            "backend": backend.name, "device": backend.device, "dtype": backend.dtype_name})
    groups: dict[tuple, list[int]] = {}
    for i, run in enumerate(runs):
        key = batch_key(run) if user_data[i] is None else (batch_key(run), "user", i)
        groups.setdefault(key, []).append(i)
    results: list[RunResult | None] = [None] * len(runs)
    timings: dict[str, float] = {"total_s": 0.0, "train_s": 0.0, "eval_s": 0.0, "write_s": 0.0}
    t_start = time.perf_counter()
    status, disk_error = "failed", None
    try:
        # overflow at large learning rates is expected: the run is recorded as diverged, not warned about
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            for gi, idx in enumerate(groups.values()):
                _run_group(gi, idx, config, backend, writer, user_data, user_init, results, timings,
                           on_step, progress)
        status = "complete"
    except KeyboardInterrupt:
        status = "interrupted"
        raise
    except (OSError, RuntimeError) as exc:
        if writer is None or not is_disk_full(exc):
            raise
        disk_error = exc
    finally:
        timings["total_s"] = time.perf_counter() - t_start
        if writer is not None:
            out_path = str(_close(writer, status, timings, disk_error))
    return SimulationResult(config, out_path, results, timings, backend.name)  # type: ignore[arg-type]


def _close(writer: TrajectoryWriter, status: str, timings: dict, disk_error: BaseException | None) -> str:
    """Finish the file; on a full disk stop cleanly and say where the snapshots written are."""
    if disk_error is None:
        try:
            return str(writer.finish(status, timings))
        except (OSError, RuntimeError) as exc:
            if not is_disk_full(exc):
                raise
    part = writer.abandon("failed")
    raise StoreError(f"the disk holding {str(writer.dest)!r} is full; the snapshots flushed before are kept in "
                     f"{str(part)!r} (status failed); free some space and run again") from None


def _run_group(gi: int, idx: list[int], config: SimConfig, backend: Backend, writer: TrajectoryWriter | None,
               user_data: list, user_init: list, results: list, timings: dict,
               on_step: Callable | None, progress: Callable | None) -> None:
    xp = backend.xp
    runs = [config.runs[i] for i in idx]
    B = len(runs)
    m0 = runs[0].model
    n, d, h = m0.n, m0.d, m0.h
    T = config.steps
    act = get_activation(m0.activation)
    train_a = m0.train_readout
    snap_steps = resolve_steps(config.snapshots.at, T)
    eval_steps = snap_steps if config.eval.at == "snapshots" else resolve_steps(config.eval.at, T)
    snap_set, eval_set = set(snap_steps), set(eval_steps)

    # ---- data, shared when every run of the group draws the same data set
    datasets: list[Dataset] = []
    keys: list[str] = []
    cache: dict[str, Dataset] = {}
    for i, run in zip(idx, runs):
        if user_data[i] is not None:
            ds, key = dataset_from_arrays(run.model, user_data[i]), f"user_run{i:04d}"
        else:
            key = data_key(run)
            if key not in cache:
                cache[key] = make_dataset(run.model, run.data_seed_)
            ds = cache[key]
        datasets.append(ds)
        keys.append(key)
    shared = len(set(keys)) == 1
    uniq = [datasets[0]] if shared else datasets
    inv_sqrt_d = 1.0 / math.sqrt(d)

    def stack(name: str, scale: float = 1.0) -> Any:
        return backend.asarray(np.stack([getattr(ds, name) * scale for ds in uniq]))

    dev = {
        "Xs": stack("X", inv_sqrt_d), "y": stack("y"),
        "Xs_probe": stack("X_probe", inv_sqrt_d), "y_probe": stack("y_probe"),
        "Xs_test": stack("X_test", inv_sqrt_d), "y_test": stack("y_test"),
    }

    # ---- initial weights
    W0, a0 = [], []
    for i, run in zip(idx, runs):
        if user_init[i] is not None:
            Wi = np.asarray(user_init[i]["W"], dtype=np.float64)
            ai = np.asarray(user_init[i]["a"], dtype=np.float64)
            if Wi.shape != (h, d) or ai.shape != (h,):
                raise ConfigError(f"run {i}: init W must be {(h, d)} and a {(h,)}, got {Wi.shape}, {ai.shape}")
        else:
            Wi, ai = make_init(run.model, run.init_seed_)
        W0.append(Wi)
        a0.append(ai)
    W = backend.asarray(np.stack(W0))
    a = backend.asarray(np.stack(a0))

    # ---- per-run schedules and state
    lrs = np.array([[learning_rate(r.schedule, r.optimizer.lr, t, T) for t in range(T)] for r in runs],
                   dtype=np.float64).reshape(B, T)
    wn = np.array([r.weight_norm for r in runs])
    wn_dev = backend.asarray(wn.astype(np.float64)) if wn.any() else None
    opt = BatchedOptimizer([r.optimizer for r in runs], backend)
    active = np.ones(B, dtype=bool)
    diverged = np.full(B, -1, dtype=np.int64)
    losses = np.full((B, T + 1), np.nan)
    evals = {k: np.full((B, len(eval_steps)), np.nan) for k in EVAL_KEYS}
    state_names = STATE_NAMES[opt.name]
    metric_fn, metric_specs = _online_metrics(config, h, d)
    metrics = {k: np.full((B, len(eval_steps), *s), np.nan) for k, s in metric_specs.items()}
    betas = np.stack([ds.beta for ds in datasets])

    if writer is not None:
        for j, (i, run) in enumerate(zip(idx, runs)):
            dpath = writer.write_data(keys[j], datasets[j], config.store_data or user_data[i] is not None,
                                      None if user_data[i] is not None else run.data_seed_)
            writer.add_run(i, run, h=h, d=d, snapshot_steps=snap_steps, eval_steps=eval_steps,
                           data_path=dpath, a0=a0[j], state_names=state_names, group=gi,
                           metric_specs=metric_specs)

    # ---- minibatches
    bs = runs[0].optimizer.batch_size or 0
    minibatch = 0 < bs < n
    shuffles = [rng(r.seed, STREAM_SHUFFLE) for r in runs] if minibatch else []
    per_epoch = math.ceil(n / bs) if minibatch else 1
    perms = None

    def batch(t: int) -> tuple[Any, Any]:
        nonlocal perms
        if not minibatch:
            return dev["Xs"], dev["y"]
        if t % per_epoch == 0:
            perms = np.stack([g.permutation(n) for g in shuffles])
        sel = perms[:, (t % per_epoch) * bs:(t % per_epoch + 1) * bs]
        Xs, y = dev["Xs"], dev["y"]
        xb = [xp.take(Xs[0 if shared else b], backend.asarray(sel[b], dtype=xp.int64), axis=0)
              for b in range(B)]
        yb = [xp.take(y[0 if shared else b], backend.asarray(sel[b], dtype=xp.int64), axis=0)
              for b in range(B)]
        return xp.stack(xb), xp.stack(yb)

    def host(x: Any) -> np.ndarray:
        return to_numpy(x)

    def do_eval(t: int, Wt: Any) -> None:
        t0 = time.perf_counter()
        pre = 1.0 if config.eval.features == "model" else 1.0 / math.sqrt(d)
        ev = _evaluate_runs(xp, Wt, a, dev, act, config.eval.ridge_lambda, pre)
        e = eval_steps.index(t)
        mv = metric_fn(Wt, betas) if metric_fn else {}
        for j in range(B):
            if not active[j]:  # a run that diverged earlier is frozen: nothing new to record
                continue
            for k in EVAL_KEYS:
                evals[k][j, e] = ev[k][j]
            for k in mv:
                metrics[k][j, e] = mv[k][j]
            if writer is not None:
                writer.write_eval(idx[j], t, {k: ev[k][j] for k in EVAL_KEYS},
                                  {k: mv[k][j] for k in mv})
        timings["eval_s"] += time.perf_counter() - t0

    def write_progress(j: int, t: int) -> None:
        # losses of W_0..W_t are known after step t (W_0..W_s for a run diverged at step s)
        s = diverged[j]
        n_loss, done = (t + 1, min(t + 1, T)) if s < 0 else (s + 1, s)
        writer.write_progress(idx[j], losses[j], lrs[j], n_loss, done, int(s))

    # Buffers reused by every step (see Workspace): W_{t+1} alternates between two
    # of them, neither of which holds W_0, so W_t is intact until W_{t+1} is done.
    ws = Workspace(backend)
    nat = backend.native
    w_bufs = ("W_even", "W_odd")
    sqrt_hd = math.sqrt(h * d)
    last_flush = time.perf_counter()
    t_group = time.perf_counter()
    for t in range(T + 1):
        was_active = active.copy()
        if t in eval_set:
            do_eval(t, W)
        if t == T:  # final loss of W_T, final snapshot
            lh = host(full_loss(xp, W, a, dev["Xs"], dev["y"], act))
            losses[active, t] = lh[active]
            if writer is not None:
                tw = time.perf_counter()
                Wh = host(W)
                for j in range(B):
                    if active[j] and t in snap_set:
                        writer.write_snapshot(idx[j], t, Wh[j], a=host(a[j]) if train_a else None)
                    write_progress(j, t)
                writer.flush()
                timings["write_s"] += time.perf_counter() - tw
            break
        # ---- one optimizer step for every run of the group
        What = W
        if wn_dev is not None:
            norms = xp.sqrt(xp.sum(W * W, axis=(1, 2)))
            factor = wn_dev * (sqrt_hd / norms) + (1.0 - wn_dev)
            What = W * factor[:, None, None]
        Xb, yb = batch(t)
        loss, gW, ga = loss_and_grad(xp, What, a, Xb, yb, act, grad_a=train_a, ws=ws)
        params, grads = ([What, a], [gW, ga]) if train_a else ([What], [gW])
        deltas = opt.step(params, grads, lrs[:, t])
        W_next = ws.get(w_bufs[t % 2], W.shape)  # never W's own buffer
        ws.map(lambda w, dw, o: nat.add(w, dw, out=o), What, deltas[0], W_next)
        a_next = a + deltas[1] if train_a else a
        lh = host(loss)
        ok = np.isfinite(lh) & host(xp.all(xp.isfinite(W_next), axis=(1, 2)))
        if train_a:
            ok &= host(xp.all(xp.isfinite(a_next), axis=1))
        losses[active, t] = lh[active]
        newly = active & ~ok
        diverged[newly] = t
        active &= ok
        if not active.all():  # frozen runs (diverged now or earlier) keep their last finite weights
            keep = backend.asarray(active.astype(np.float64)) > 0
            W_next = xp.where(keep[:, None, None], W_next, W)
            if train_a:
                a_next = xp.where(keep[:, None], a_next, a)
        need_update = (writer is not None and t in snap_set and config.snapshots.updates) or on_step
        M = None
        if need_update:
            M = ws.get("M", W.shape)
            ws.map(lambda w1, w0, o: nat.subtract(w1, w0, out=o), W_next, W, M)
        if on_step is not None:
            on_step(StepInfo(t, idx, W, W_next, M, opt.state_arrays(0), lh, active.copy()))
        if writer is not None and (t in snap_set or time.perf_counter() - last_flush > 5.0):
            tw = time.perf_counter()
            if t in snap_set:
                Wh, Mh = host(W), host(M) if M is not None else None
                st = {k: host(v) for k, v in opt.state_arrays(0).items()} if config.snapshots.optimizer_state \
                    else {}
                ah = host(a) if train_a else None
                for j in range(B):
                    if was_active[j]:
                        writer.write_snapshot(idx[j], t, Wh[j], None if Mh is None else Mh[j],
                                              {k: v[j] for k, v in st.items()},
                                              None if ah is None else ah[j])
            for j in range(B):
                write_progress(j, t)
            writer.flush()
            last_flush = time.perf_counter()
            timings["write_s"] += time.perf_counter() - tw
        W, a = W_next, a_next
        if progress is not None:
            progress(1)
        if not active.any():
            # every run diverged: nothing left to compute
            if progress is not None:
                progress(T - t - 1)
            if writer is not None:
                for j in range(B):
                    write_progress(j, t)
                writer.flush()
            break
    backend.synchronize()
    timings["train_s"] += time.perf_counter() - t_group
    timings[f"group{gi}_steps"] = T
    Wf, af = host(W), host(a)
    for j, i in enumerate(idx):
        results[i] = RunResult(i, runs[j], losses[j], lrs[j], eval_steps, {k: v[j] for k, v in evals.items()},
                               int(diverged[j]), Wf[j], af[j], {k: v[j] for k, v in metrics.items()})


def _evaluate_runs(xp: Any, W: Any, a: Any, dev: dict, act: Any, lam: float, pre: float) -> dict[str, np.ndarray]:
    """Evaluate every run of a group; when the batched solve fails (a run gone wild), each run alone.

    A run whose own evaluation fails gets NaN; the others keep their values.
    """
    try:
        return {k: to_numpy(v) for k, v in evaluate(xp, W, a, dev, act, lam, pre).items()}
    except Exception:
        pass
    B = W.shape[0]
    out = {k: np.full(B, np.nan) for k in EVAL_KEYS}
    for j in range(B):
        sub = {k: v[j:j + 1] if v.shape[0] == B and B > 1 else v for k, v in dev.items()}
        try:
            ev = evaluate(xp, W[j:j + 1], a[j:j + 1], sub, act, lam, pre)
        except Exception:  # a singular solve on a run gone wild: NaN for that run only
            continue
        for k in EVAL_KEYS:
            out[k][j] = to_numpy(ev[k])[0]
    return out


def _check_metric_names(config: SimConfig) -> None:
    """Unknown ``eval.metrics`` names fail before any file is touched."""
    if config.eval.metrics:
        from .analysis.registry import ONLINE_SETS, check_sets

        check_sets(config.eval.metrics, ONLINE_SETS, where="eval.metrics")


def _online_metrics(config: SimConfig, h: int, d: int) -> tuple[Callable | None, dict]:
    """The online metric function for ``config.eval.metrics`` and its output shapes."""
    if not config.eval.metrics:
        return None, {}
    from .analysis.registry import online_metrics

    return online_metrics(config.eval.metrics, h, d)
