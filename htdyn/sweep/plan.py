"""Runs -> batches: the engine's batch groups, cut to fit the device's memory.

Runs go into one batch only if the engine would batch them (same ``steps`` and the
same :func:`htdyn.train.plan.batch_key`: sizes, activation, optimizer family,
read-out, minibatch size).  A batch of B runs over k distinct data sets needs
``m(B, k)`` bytes, the engine's own estimate (:func:`htdyn.train.plan.footprint`,
linear in B and k but for the device's copies of mixed data: :class:`_MemoryModel`),
so a group is cut, in the sweep's order (repeat-major), into batches with
``m(B, k) <= budget`` and ``B <= max_batch``, a data set's runs kept together
(:func:`_cut`).
The budget is ``batch_memory`` when the spec sets it, else half the free RAM on the
CPU and 80 % of the GPU's free memory on CUDA.  A batch is named after the runs it holds
(``b-<first 12 hex digits of SHA-256 of their sorted ids>``): the same pending runs
plan to the same files again, so a rerun finds its own interrupted batch.
"""

from __future__ import annotations

import hashlib
import itertools
import time
from dataclasses import dataclass, field
from typing import Any

from ..config import SimConfig
from ..errors import ConfigError
from ..io.diskspace import format_bytes
from ..train.penalty_terms import run_specs
from ..train.plan import available_memory, batch_key, data_key, footprint
from .spec import PlannedRun, SweepSpec

__all__ = ["Batch", "default_budget", "plan_batches", "DEFAULT_MAX_BATCH_CPU"]

#: runs per batch on the CPU when the spec sets no max_batch: larger batches gain nothing
#: there (each run's products are separate BLAS calls) and lose more to a kill
DEFAULT_MAX_BATCH_CPU = 10


@dataclass
class Batch:
    """One trajectory file's worth of runs: run together by the engine."""

    name: str
    runs: list[PlannedRun]
    steps: int
    memory_bytes: int
    file_bytes: int
    flops: float

    @property
    def file(self) -> str:
        return f"{self.name}.h5"

    def sim(self, spec: SweepSpec) -> SimConfig:
        return spec.sim_for(self.steps, [r.config for r in self.runs], self.name)


def batch_name(ids: list[str]) -> str:
    return "b-" + hashlib.sha256(",".join(sorted(ids)).encode()).hexdigest()[:12]


def default_budget(device: str, dtype: str = "float32") -> int | None:
    """Bytes a batch may use: half the free RAM (CPU), 80 % of the free GPU memory (CUDA)."""
    if device == "cuda":
        try:
            from ..train.backend import get_backend

            free = available_memory("cuda", get_backend("cuda", dtype, None))
        except Exception:  # no GPU here (a dry run on a laptop): no memory cut
            return None
        return None if free is None else int(0.8 * free)
    free = available_memory("cpu")
    return None if free is None else free // 2


class _MemoryModel:
    """m(B, k) for one batch group, from the engine's estimate of a few small batches.

    ``m(B, k) = m0 + B (m_run + [pen] m_pen) + k m_host + (1 if k == 1 else B) m_dev``:
    a data set costs ``m_host`` once on the host, and on the device once when the batch
    shares one data set, else once per run (the engine stacks the runs' data); a batch
    holding a penalized run holds the penalty's buffers for every run.
    """

    def __init__(self, spec: SweepSpec, steps: int, run: PlannedRun, penalized: PlannedRun | None = None):
        import dataclasses

        cfg = run.config
        other = dataclasses.replace(cfg, seed=cfg.seed + 1, data_seed=None if cfg.data_seed is None else
                                    cfg.data_seed + 1)

        def fp(runs: list) -> Any:
            return footprint(spec.sim_for(steps, runs, "probe"))

        one, same, diff, three = fp([cfg]), fp([cfg, cfg]), fp([cfg, other]), fp([cfg, cfg, other])
        self.m_run = same.memory_bytes - one.memory_bytes
        both = diff.memory_bytes - same.memory_bytes  # m_host + m_dev: B = 2 with k = 2 against k = 1
        self.m_dev = three.memory_bytes - same.memory_bytes - self.m_run - both  # 3 copies, not 2
        self.m_host = both - self.m_dev
        self.m0 = one.memory_bytes - self.m_run - self.m_host - self.m_dev
        # a batch with a penalized run holds the penalty's buffers for each of its runs
        self.m_pen = 0 if penalized is None else fp([penalized.config]).memory_bytes - one.memory_bytes
        self.f_run = same.file_bytes - one.file_bytes
        self.f_data = diff.file_bytes - same.file_bytes
        self.f0 = one.file_bytes - self.f_run - self.f_data
        m = cfg.model
        sim = spec.templates[steps]
        from ..config import resolve_steps

        E = len(resolve_steps(sim.snapshots.at if sim.eval.at == "snapshots" else sim.eval.at, steps))
        r = min(m.h, m.d)
        # per run: 6 n h d per step (forward and both backward products); per eval: the Gram
        # matrix and its eigenvalues (2 h d r + 4 r^3 / 3 ... ~ 10 r^3 as LAPACK's syevd) and
        # the ridge read-out (features 2 (2n + n_test) h d, Z^T Z 2 n h^2, solve h^3 / 3)
        self.flops_run = 6.0 * m.n * m.h * m.d * steps + E * (
            2.0 * m.h * m.d * r + 10.0 * r ** 3 + 2.0 * (2 * m.n + m.n_test) * m.h * m.d
            + 2.0 * m.n * m.h ** 2 + m.h ** 3 / 3)

    def memory(self, B: int, k: int, pen: bool = False) -> int:
        return self.m0 + B * (self.m_run + (self.m_pen if pen else 0)) + k * self.m_host + \
            (1 if k == 1 else B) * self.m_dev

    def file(self, B: int, k: int) -> int:
        return self.f0 + B * self.f_run + k * self.f_data


def plan_batches(spec: SweepSpec, runs: list[PlannedRun], *, budget: int | None = None,
                 max_batch: int | None = None) -> list[Batch]:
    """Cut ``runs`` (a sweep's pending runs, in its order) into batches; see the module docstring.

    Raises
    ------
    ConfigError
        One run alone needs more memory than the budget.
    """
    groups: dict[tuple, list[PlannedRun]] = {}
    for r in runs:
        groups.setdefault((r.steps, batch_key(r.config)), []).append(r)
    batches: list[Batch] = []
    for (steps, _), members in groups.items():
        plain = next((r for r in members if not run_specs(r.config)), None)
        pen = next((r for r in members if run_specs(r.config)), None)
        model = _MemoryModel(spec, steps, plain or pen, pen if plain is not None else None)
        if budget is not None and model.memory(1, 1, True) > budget:
            m = members[0].config.model
            raise ConfigError(f"one run (n = {m.n}, d = {m.d}, h = {m.h}) needs about "
                              f"{format_bytes(model.memory(1, 1, True))} and a batch may use {format_bytes(budget)} "
                              "(sweep.batch_memory, or the free memory); reduce the sizes or raise batch_memory")
        batches += _cut(members, model, steps, budget, max_batch)
    return batches


def _cut(members: list[PlannedRun], model: _MemoryModel, steps: int, budget: int | None,
         max_batch: int | None) -> list[Batch]:
    """One batch group cut, in order, into batches within the budget and max_batch.

    The runs of one data set (consecutive in the sweep's order: a repeat's points) join
    the current batch only if all of them fit in it; otherwise they start a batch.  A
    batch then holds whole data sets, stores each once and evaluates the points' shared
    W_0 once (:func:`htdyn.train.loop.distinct_runs`).  A data set too big for one batch
    fills batches of its own, greedily, the last of which later data sets may join.
    """
    chunks = [_Chunk()]
    for dk, block in _data_blocks(members):
        pen = any(bool(run_specs(r.config)) for r in block)
        if chunks[-1].runs and not chunks[-1].fits(model, len(block), dk, pen, budget, max_batch):
            chunks.append(_Chunk())  # the block starts a batch: alone, or the first of its own
        for r in block:
            if chunks[-1].runs and not chunks[-1].fits(model, 1, dk, pen, budget, max_batch):
                chunks.append(_Chunk())
            chunks[-1].add(r, dk, pen)
    return [Batch(batch_name([r.id for r in c.runs]), c.runs, steps, c.memory(model),
                  model.file(len(c.runs), len(c.keys)), model.flops_run * len(c.runs))
            for c in chunks if c.runs]


@dataclass
class _Chunk:
    """A batch being filled: its runs, their data keys, whether one has a penalty."""

    runs: list[PlannedRun] = field(default_factory=list)
    keys: set[str] = field(default_factory=set)
    pen: bool = False

    def add(self, r: PlannedRun, dk: str, pen: bool) -> None:
        self.runs.append(r)
        self.keys.add(dk)
        self.pen |= pen

    def memory(self, model: _MemoryModel) -> int:
        return model.memory(len(self.runs), len(self.keys), self.pen)

    def fits(self, model: _MemoryModel, more: int, dk: str, pen: bool, budget: int | None,
             max_batch: int | None) -> bool:
        """Whether ``more`` runs of data set ``dk`` can join."""
        B, k = len(self.runs) + more, len(self.keys | {dk})
        return (max_batch is None or B <= max_batch) and (budget is None or model.memory(B, k, self.pen or pen)
                                                          <= budget)


def _data_blocks(members: list[PlannedRun]) -> list[tuple[str, list[PlannedRun]]]:
    """Consecutive runs with the same data key, with that key."""
    return [(k, list(g)) for k, g in itertools.groupby(members, key=lambda r: data_key(r.config))]


def gemm_rate(dtype: str = "float32", threads: int | None = None, repeats: int = 7) -> tuple[float, float, float]:
    """This machine's matrix-product rate (flop/s) as (median, slowest, fastest) of ``repeats`` timed 512^3
    products, after an untimed one (for estimates).

    The untimed product pays the cold start (BLAS thread pool, page faults) that made a single
    timing swing a hundredfold between runs; the spread of the timed ones is what another
    process's load does to the rate, and the estimate shows it.  ``threads``: the BLAS threads
    the batches will use (a sweep's ``threads``); None leaves the count as it is.
    """
    import contextlib

    import numpy as np

    from ..blas import fixed_threads

    a = np.ones((512, 512), dtype=dtype)
    times = []
    with fixed_threads(threads) if threads else contextlib.nullcontext():
        a @ a  # warm-up
        for _ in range(repeats):
            t0 = time.perf_counter()
            a @ a
            times.append(max(time.perf_counter() - t0, 1e-9))
    rates = sorted(2 * 512 ** 3 / t for t in times)
    return rates[len(rates) // 2], rates[0], rates[-1]
