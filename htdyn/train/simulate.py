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

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..config import RunConfig, SimConfig
from ..errors import ConfigError, StoreError
from ..io.diskspace import is_disk_full
from ..io.filelock import describe
from ..io.writer import TrajectoryWriter
from .backend import get_backend, to_numpy
from .loop import GroupRun, TrainState
from .plan import batch_key, check_resources
from .recorder import EVAL_KEYS, Recorder
from .stepinfo import StepInfo

__all__ = ["EVAL_KEYS", "RunResult", "SimulationResult", "StepInfo", "resume", "simulate"]


@dataclass
class RunResult:
    """The outcome of one run (what the file holds, minus the snapshots).

    Attributes
    ----------
    index : int
        The run's place in the simulation (and in the file).
    config : RunConfig
    loss : numpy.ndarray
        Training loss of W_t for t = 0..steps (NaN after a divergence).
    lr : numpy.ndarray
        The learning rate of each step t = 0..steps-1.
    eval_steps : list of int
        The evaluation steps.
    eval : dict of numpy.ndarray
        ``probe_loss``, ``test_loss``, ``net_train_loss``, ``net_test_loss`` at the eval steps.
    diverged_step : int
        The step whose update made the run non-finite, or -1 (``diverged``: it is >= 0).
    W_final, a_final : numpy.ndarray
        The last finite W (h x d) and read-out a (h).
    metrics : dict of numpy.ndarray
        The online metrics (``eval.metrics``) at the eval steps.

    Examples
    --------
    >>> import htdyn
    >>> run_cfg = htdyn.RunConfig(model=htdyn.ModelConfig(n=64, d=16, h=24, n_test=32),
    ...                           optimizer=htdyn.OptimizerConfig("gd", lr=0.5))
    >>> run = htdyn.simulate(htdyn.simulation(run_cfg, steps=3), path=False).runs[0]
    >>> run.loss.shape, run.eval_steps, run.W_final.shape, run.diverged
    ((4,), [0, 1, 2, 3], (24, 16), False)
    >>> bool(run.final("test_loss") == run.eval["test_loss"][-1])
    True
    """

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
    """What :func:`simulate` returns: the config, the file and every run's outcome.

    Attributes
    ----------
    config : SimConfig
        The simulation that ran.
    path : str or None
        The trajectory file written (None with ``path=False``).
    runs : list of RunResult
        One per run, by index.
    timings : dict
        Seconds spent: ``total_s``, ``train_s``, ``eval_s``, ``write_s``; steps per batch group.
    backend : str
        The array backend that trained (``numpy``, ``torch`` or ``cupy``).

    Examples
    --------
    >>> import htdyn
    >>> sim = htdyn.simulation(htdyn.RunConfig(model=htdyn.ModelConfig(n=64, d=16, h=24, n_test=32)), steps=3)
    >>> result = htdyn.simulate(sim, path=False)          # no file: results in memory only
    >>> result.path, len(result.runs), result.backend, result.timings["group0_steps"]
    (None, 1, 'numpy', 3)
    """

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
        The runs' losses, evaluations and final weights, and the file's path.

    Raises
    ------
    ConfigError
        A bad config, or ``data`` / ``init`` of the wrong length.
    StoreError
        The file exists (without ``overwrite``), is being written, or cannot be written.

    Notes
    -----
    The paper's setting (reference [1], its setup; the official code's ``src/trainer.py``):
    data x ~ N(0, I_d), labels y = g(beta . x) + eps with the softplus teacher g and
    ||beta|| = 1; student f(x) = a . phi(W x / sqrt(d)) / sqrt(h) with phi = tanh and a frozen
    at its random init; loss L(W) = (1/n) sum_i (f(x_i) - y_i)^2 on the full batch; step t maps
    W_t to W_{t+1} = W_t + M_t with the optimizer's update M_t (GD: M_t = -eta grad L(W_t)).
    At each eval step the ridge read-out a_hat = (Z^T Z + (lambda / h) n I)^{-1} Z^T y is fitted
    on the probe set's features Z = phi(X W_t^T / sqrt(d)) / sqrt(h).

    References
    ----------
    .. [1] Kothapalli, Pang, Deng, Liu & Yang, "From Spikes to Heavy Tails: Unveiling the Spectral
       Evolution of Neural Networks", TMLR 2025 (arXiv 2406.04657): the single-index teacher, the
       two-layer student trained full batch with GD or Adam (its setup section and the
       Adam-vs-GD figures, Figs. 2-3 in the numbering of v2).
    .. [2] Ba, Erdogdu, Suzuki, Wang, Wu & Yang, "High-dimensional asymptotics of feature learning:
       how one gradient step improves the representation", NeurIPS 2022 (the two-stage setup and
       the lambda / h ridge scaling).

    Examples
    --------
    Two learning rates of full-batch GD, trained as one batch group, written to a file:

    >>> import htdyn, tempfile
    >>> tiny = htdyn.ModelConfig(n=64, d=16, h=24, n_test=32)
    >>> sim = htdyn.simulation([htdyn.RunConfig(model=tiny, optimizer=htdyn.OptimizerConfig("gd", lr=lr))
    ...                         for lr in (0.1, 1.0)], steps=3, output=f"{tempfile.mkdtemp()}/gd.h5")
    >>> result = htdyn.simulate(sim)
    >>> [r.loss.shape for r in result.runs], result.path.endswith("gd.h5")
    ([(4,), (4,)], True)

    A step hook sees every update M_t (one row per run of the group):

    >>> shapes = []
    >>> _ = htdyn.simulate(sim, path=False, on_step=lambda info: shapes.append(info.update.shape))
    >>> shapes
    [(2, 24, 16), (2, 24, 16), (2, 24, 16)]
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
    return _execute(config, backend, writer, user_data, user_init, on_step, progress, out_path)


def batch_groups(config: SimConfig, user_data: list | None = None) -> list[list[int]]:
    """The runs of a simulation in the batch groups the engine trains one after the other (by index)."""
    user_data = user_data or [None] * len(config.runs)
    groups: dict[tuple, list[int]] = {}
    for i, run in enumerate(config.runs):
        key = batch_key(run) if user_data[i] is None else (batch_key(run), "user", i)
        groups.setdefault(key, []).append(i)
    return list(groups.values())


def _execute(config: SimConfig, backend: Any, writer: TrajectoryWriter | None, user_data: list, user_init: list,
             on_step: Callable | None, progress: Callable | None, out_path: str | None,
             resumed: Resumption | None = None) -> SimulationResult:
    """Train every batch group (those a resumed file has not finished), then finish the file."""
    results: list[RunResult | None] = [None] * len(config.runs)
    timings: dict[str, float] = {"total_s": 0.0, "train_s": 0.0, "eval_s": 0.0, "write_s": 0.0}
    recorder = Recorder(writer, config)
    t_start = time.perf_counter()
    status, disk_error = "failed", None
    try:
        # overflow at large learning rates is expected: the run is recorded as diverged, not warned about
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            for gi, idx in enumerate(batch_groups(config, user_data)):
                if resumed is not None and resumed.finished(idx):
                    continue
                group = GroupRun(gi, idx, config, backend, recorder, user_data, user_init)
                if resumed is not None:
                    timings[f"group{gi}_resumed_from"] = resumed.restore(group)
                _train(group, timings, on_step, progress)
                for j, i in enumerate(idx):
                    results[i] = _result(group, j)
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
    if resumed is not None:
        resumed.fill(results, out_path)
    return SimulationResult(config, out_path, results, timings, backend.name)  # type: ignore[arg-type]


def _train(group: GroupRun, timings: dict, on_step: Callable | None, progress: Callable | None) -> None:
    t0 = time.perf_counter()
    write0 = group.recorder.write_s
    group.run(on_step, progress)
    group.backend.synchronize()
    timings["train_s"] += time.perf_counter() - t0
    timings["eval_s"] += group.eval_s
    timings["write_s"] += group.recorder.write_s - write0
    timings[f"group{group.index}_steps"] = group.T


def _result(group: GroupRun, j: int) -> RunResult:
    """Run j of a trained group as a RunResult (host arrays)."""
    st = group.state
    return RunResult(group.ids[j], group.runs[j], st.losses[j], group.lrs[j], group.eval_steps,
                     {k: v[j] for k, v in group.evals.items()}, int(st.diverged[j]), to_numpy(st.W[j]),
                     to_numpy(st.a[j]), {k: v[j] for k, v in group.metrics.items()})


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
                     f"{str(part)!r} (status failed); free some space, then continue it with "
                     f"`htdyn run --resume {part}`") from None


def _check_metric_names(config: SimConfig) -> None:
    """Unknown ``eval.metrics`` names fail before any file is touched."""
    if config.eval.metrics:
        from ..analysis.registry import ONLINE_SETS, check_sets

        check_sets(config.eval.metrics, ONLINE_SETS, where="eval.metrics")


class Resumption:
    """What an unfinished trajectory already holds: the finished runs, and each group's checkpoint.

    A group whose runs all finished (diverged, or trained to the end with the
    final loss written) is skipped; another group continues from its last
    checkpoint, or starts again from step 0 when it has none (a group that
    trained for less than the checkpoint period). The steps a resumed group
    recomputes write the same values again.
    """

    def __init__(self, writer: TrajectoryWriter, config: SimConfig):
        self.writer, self.T = writer, config.steps
        self.finished_runs = writer.finished_runs(self.T)
        self.restored: dict[int, int] = {}

    def finished(self, idx: list[int]) -> bool:
        return all(i in self.finished_runs for i in idx)

    def restore(self, group: GroupRun) -> int:
        """Load the group's last checkpoint, if it has one; returns the step it continues from (0 without)."""
        ck = self.writer.read_checkpoint(group.index)
        if ck is not None:
            group.load_state(TrainState.from_arrays(*ck))
            self.restored[group.index] = group.state.step
        else:
            self.restored[group.index] = 0
        return self.restored[group.index]

    def fill(self, results: list, path: str | None) -> None:
        """Results of the runs that were finished before the resume, read from the file."""
        from ..io.reader import Trajectory

        missing = [i for i, r in enumerate(results) if r is None]
        if not missing or path is None:
            return
        with Trajectory(path) as traj:
            by_index = {r.index: r for r in traj.runs}
            for i in missing:
                results[i] = _result_from_file(by_index[i], self.writer.config.runs[i])


def _result_from_file(run: Any, config: RunConfig) -> RunResult:
    steps = [int(t) for t in run.steps]
    W = run.W(steps[-1]) if steps else np.full(run.shape, np.nan)
    return RunResult(run.index, config, run.loss, run.lr, [int(t) for t in run.eval_steps], run.eval,
                     run.diverged_step, W, run.a(steps[-1] if steps else None), run.metrics)


def resume(path: str | os.PathLike, *, on_step: Callable[[StepInfo], None] | None = None,
           progress: Callable[[int], None] | None = None) -> SimulationResult:
    """Continue an interrupted, failed or killed simulation from its trajectory file.

    Parameters
    ----------
    path : the unfinished file (``<stem>.partial.h5``) or its destination
    on_step, progress : as for :func:`simulate`

    Finished runs are kept; an unfinished batch group continues from its last
    checkpoint (written every ``CHECKPOINT_EVERY_S`` of training, in the training
    dtype, so the result equals an uninterrupted run's bit for bit); the file is
    published under its destination when complete.

    Raises
    ------
    StoreError
        The file is complete, being written, or was made with user-supplied
        data or initial weights (which it does not hold in full).
    """

    from ..config import from_dict
    from ..io.reader import Trajectory

    part, dest = _resume_paths(Path(path))
    with Trajectory(part) as traj:
        if traj.status == "complete":
            raise StoreError(f"{str(part)!r} is complete: there is nothing to resume")
        if traj.writer is not None and traj.writer["alive"]:
            raise StoreError(f"{str(part)!r} is being written by {describe(traj.writer)}; it cannot be resumed")
        if any(str(r.attrs.get("init", "seeded")) == "user" or str(r.attrs.get("data_path", "")).startswith(
                "/data/user") for r in traj.runs):
            raise StoreError(f"{str(part)!r} was made with user-supplied data or initial weights, "
                             "which it does not hold exactly: it cannot be resumed; run it again")
        raw = traj.config
    config = from_dict(raw)
    backend = get_backend(config.device, config.dtype, config.backend)
    writer = TrajectoryWriter.reopen(part, dest, config)
    none = [None] * len(config.runs)
    return _execute(config, backend, writer, none, none, on_step, progress, str(dest),
                    Resumption(writer, config))


def _resume_paths(path: Path) -> tuple[Path, Path]:
    """(the unfinished file, its destination) for a path naming either."""
    from ..io.format import partial_path
    from ..io.reader import Trajectory

    if not path.exists() and partial_path(path).exists():
        path = partial_path(path)
    if path.exists() and path.name.endswith(".partial" + path.suffix):
        with Trajectory(path) as traj:
            dest = path.with_name(traj.destination or path.name.replace(".partial", ""))
        return path, dest
    if path.exists() and partial_path(path).exists():
        return partial_path(path), path
    if path.exists():
        raise StoreError(f"{str(path)!r} has no unfinished run to resume (no {partial_path(path).name} beside it)")
    raise StoreError(f"{str(path)!r} does not exist")
