"""What a simulation will need, known before it starts: batch groups, memory, file size.

The engine runs the runs of a simulation in *batch groups* (:func:`batch_key`),
one group at a time, every array of a group preallocated.  So the memory a
group needs and the bytes its trajectory file will hold are known from the
config alone (:func:`footprint`), and :func:`check_resources` refuses a
simulation that cannot fit before any file is touched, instead of failing
minutes (or terabytes) later.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import RunConfig, SimConfig, resolve_steps
from ..errors import ConfigError, StoreError
from ..io.diskspace import RESERVE_BYTES, format_bytes, free_bytes
from .optim import STATE_NAMES
from .penalty_terms import run_specs

#: HDF5 metadata per run group and per file (object headers, B-trees, attributes), generous
_META_PER_RUN = 96 * 1024
_META_PER_FILE = 256 * 1024


def batch_key(run: RunConfig) -> tuple:
    """What makes runs share a batch: sizes, activation, optimizer family, read-out, batch size."""
    m, o = run.model, run.optimizer
    act = m.activation if isinstance(m.activation, str) else id(m.activation)
    return (m.n, m.d, m.h, m.n_test, act, o.name, m.train_readout, o.batch_size or 0)


def data_key(run: RunConfig) -> str:
    """The name of a run's data set in the file: runs with equal keys share one draw."""
    m = run.model
    teacher = m.teacher if isinstance(m.teacher, str) else getattr(m.teacher, "__name__", "callable")
    return f"seed{run.data_seed_}_n{m.n}_d{m.d}_ntest{m.n_test}_{teacher}_noise{m.noise_std:g}"


@dataclass
class Footprint:
    """Bytes a simulation needs: peak memory (its largest batch group) and its file."""

    memory_bytes: int
    file_bytes: int
    groups: list[dict] = field(default_factory=list)


def footprint(config: SimConfig) -> Footprint:
    """Estimate the peak memory and the trajectory file size of a simulation.

    Memory counts the arrays a batch group of B runs certainly allocates, with
    s the bytes of the training dtype: the weight-sized buffers
    ``(5 + k) B h d s`` (W_t, W_{t+1} twice, the gradient, the update, k optimizer
    states), the pre-activations and the gradient's product ``B n (h + d) s``,
    the inputs on the device ``(2 n + n_test) d s`` (once when every run shares one
    data set, else once per run: the engine stacks them) and in float64 on the host
    (once per data set),
    the float64 initial weights ``B h d 8``, the online metrics the group keeps on
    the host until it ends, ``B E v 8`` (E eval steps, v numbers per step: the ESD, the
    top triplets, the scalars); with a spectral penalty, its float64 buffers
    ``8 B (4 h d + 2 N^2)``, N = min(h, d) (W, the Gram matrix, its eigenvectors, the
    gradient's products); on the CPU device and host memory are the same.  The file
    size is exact for the snapshot data sets (float32 / float16, uncompressed) and the
    online metrics (float64, their shapes from :data:`htdyn.analysis.metricdecl.SETS`),
    plus a generous allowance for metadata.
    """
    s = 8 if config.dtype == "float64" else 4
    groups: dict[tuple, list[RunConfig]] = {}
    for run in config.runs:
        groups.setdefault(batch_key(run), []).append(run)
    E = _eval_count(config)
    mem = [_group_memory(runs, s, config.device, E * _metric_values(config.eval.metrics, runs[0].model.h,
                                                                    runs[0].model.d, {}))
           for runs in groups.values()]
    file_bytes = _file_bytes(config)
    info = [{"runs": len(r), "memory_bytes": m} for r, m in zip(groups.values(), mem)]
    return Footprint(max(mem), file_bytes, info)


def _group_memory(runs: list[RunConfig], s: int, device: str, metric_values: int = 0) -> int:
    """Bytes one batch group allocates (see :func:`footprint`); ``metric_values``: its online numbers per run."""
    m = runs[0].model
    B, n, d, h = len(runs), m.n, m.d, m.h
    k = len(STATE_NAMES[runs[0].optimizer.name])
    rows = 2 * n + m.n_test
    n_data = len({data_key(r) for r in runs})
    dev_data = 1 if n_data == 1 else B  # device_data stacks one copy per run unless all share one
    dev = (5 + k) * B * h * d * s + B * n * (h + d) * s + dev_data * rows * d * s
    if any(run_specs(r) for r in runs):  # the penalties' float64 eigensolve and gradient (measured: 0.88x this)
        N = min(h, d)
        dev += 8 * B * (4 * h * d + 2 * N * N)
    host = n_data * rows * d * 8 + B * h * d * 8 + B * metric_values * 8
    return dev + host if device == "cpu" else dev


def _file_bytes(config: SimConfig) -> int:
    T = config.steps
    snap = config.snapshots
    S = len(resolve_steps(snap.at, T))
    U = len([t for t in resolve_steps(snap.at, T) if t < T]) if snap.updates else 0
    E = _eval_count(config)
    ss = 2 if snap.dtype == "float16" else 4
    total = _META_PER_FILE
    seen: set[str] = set()
    sizes: dict[tuple[int, int], int] = {}
    for run in config.runs:
        m = run.model
        k = len(STATE_NAMES[run.optimizer.name]) if snap.optimizer_state else 0
        total += (S + U * (1 + k)) * m.h * m.d * ss + (2 * T + 1 + 4 * E) * 8 + 2 * m.h * 8 + _META_PER_RUN
        if config.eval.metrics:  # the numbers and their steps (metrics/steps)
            total += E * 8 * (_metric_values(config.eval.metrics, m.h, m.d, sizes) + 1)
        if m.train_readout:
            total += S * m.h * 4
        key = data_key(run)
        if key not in seen:
            seen.add(key)
            rows = 2 * m.n + m.n_test
            total += m.d * 8 + (rows * (m.d * 4 + 8) if config.store_data else 0)
    return total


def _eval_count(config: SimConfig) -> int:
    """The number of evaluation steps of a simulation."""
    ev = config.eval.at
    return len(resolve_steps(config.snapshots.at if ev == "snapshots" else ev, config.steps))


def _metric_values(names: list[str], h: int, d: int, cache: dict[tuple[int, int], int]) -> int:
    """Numbers the online metrics store per eval step for an h x d run (the ESD, the triplets, the scalars)."""
    if not names:
        return 0
    if (h, d) not in cache:
        from ..analysis.registry import online_metrics

        cache[(h, d)] = sum(math.prod(shape) for shape in online_metrics(names, h, d)[1].values())
    return cache[(h, d)]


def available_memory(device: str = "cpu", backend: Any = None) -> int | None:
    """Bytes of memory free for a simulation: MemAvailable on the CPU, the GPU's free memory on CUDA."""
    if device == "cuda":
        name = getattr(backend, "name", "")
        try:
            if name == "torch":
                import torch

                return int(torch.cuda.mem_get_info()[0])
            if name == "cupy":
                import cupy

                return int(cupy.cuda.runtime.memGetInfo()[0])
        except Exception:  # pragma: no cover - no device to ask
            return None
        return None
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:  # pragma: no cover - not Linux
        pass
    try:  # pragma: no cover - other POSIX systems
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):  # pragma: no cover
        return None


def check_resources(config: SimConfig, dest: str | os.PathLike | None, *, backend: Any = None,
                    memory: int | None = None, disk: int | None = None) -> Footprint:
    """Refuse a simulation that cannot fit in memory or on the disk of ``dest``.

    ``memory`` and ``disk`` (free bytes) default to what the machine reports.

    Raises
    ------
    ConfigError
        The largest batch group needs more memory than is available.
    StoreError
        The trajectory file (uncompressed snapshots) needs more than the free disk.
    """
    fp = footprint(config)
    memory = available_memory(config.device, backend) if memory is None else memory
    if memory is not None and fp.memory_bytes > memory:
        m = config.runs[0].model
        raise ConfigError(
            f"this simulation needs about {format_bytes(fp.memory_bytes)} of {config.device} memory for its largest "
            f"batch group ({max(g['runs'] for g in fp.groups)} run(s), h x d = {m.h} x {m.d}, n = {m.n}) and "
            f"{format_bytes(memory)} is available; reduce model.n, model.d, model.h or the number of runs")
    if dest is not None and config.snapshots.compression == "none":
        directory = Path(dest).absolute().parent
        disk = free_bytes(directory) if disk is None else disk
        need = fp.file_bytes + RESERVE_BYTES
        if need > disk:
            raise StoreError(
                f"the trajectory needs about {format_bytes(need)} and {str(directory)!r} has "
                f"{format_bytes(disk)} free; store fewer snapshots (snapshots.at, snapshots.updates = false), "
                f"snapshots.dtype = 'float16', snapshots.compression = 'lzf', or write elsewhere (-o)")
    return fp
