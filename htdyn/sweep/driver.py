"""Running a sweep: check the directory, find what is done, plan the rest, hand it to an executor.

:func:`prepare` does everything but the work (it writes nothing): it checks the spec
against the directory's, scans the finished batch files and plans the pending runs
into batches; ``--dry-run`` prints its :class:`Prepared`.  :func:`run_sweep` then
takes the directory's lock, writes the manifest and runs the batches.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from .events import SweepEvents
from .index import SweepDir
from .plan import DEFAULT_MAX_BATCH_CPU, Batch, default_budget, plan_batches
from .spec import PlannedRun, SweepSpec

__all__ = ["Prepared", "prepare", "run_sweep", "make_executor"]


@dataclass
class Prepared:
    """A sweep ready to run: the spec, its directory, what is done and the batches left."""

    spec: SweepSpec
    dir: SweepDir
    changes: list[str]
    done: dict
    pending: list[PlannedRun]
    batches: list[Batch]
    budget: int | None
    max_batch: int | None


def prepare(spec: SweepSpec, root: str | Path, *, force: bool = False, device: str | None = None,
            workers: int = 1) -> Prepared:
    """Check, scan and plan (no writes). ``device`` overrides the spec's.

    ``workers``: batches that run at once on the CPU; they share the default budget
    (half the free RAM), so each batch is planned against ``1 / workers`` of it.  On
    CUDA each worker has a GPU of its own, and ``batch_memory`` is per batch either way.
    """
    if device is not None:
        if device not in ("cpu", "cuda"):
            raise ConfigError(f"--device {device!r} is not valid; choose cpu or cuda")
        for sim in spec.templates.values():
            sim.device = device
    sd = SweepDir(Path(root))
    changes = sd.check_spec(spec, force)
    done = sd.scan() if sd.batches.is_dir() else {}
    pending = [r for r in spec.runs if r.id not in done]
    sim = next(iter(spec.templates.values()))
    budget = spec.batch_memory if spec.batch_memory is not None else default_budget(sim.device, sim.dtype)
    if spec.batch_memory is None and budget is not None and sim.device == "cpu":
        budget //= max(1, workers)
    max_batch = spec.max_batch if spec.max_batch is not None else (
        DEFAULT_MAX_BATCH_CPU if sim.device == "cpu" else None)
    batches = plan_batches(spec, pending, budget=budget, max_batch=max_batch)
    return Prepared(spec, sd, changes, done, pending, batches, budget, max_batch)


def make_executor(name: str, address: str | None = None, num_cpus: int | None = None, *,
                  workers: int | None = None, device: str = "cpu") -> Any:
    """The executor called ``name``; ``workers`` (local only) defaults to one per GPU on CUDA, 1 on the CPU."""
    if name == "local":
        if address is not None:
            raise ConfigError("--address is for --executor ray")
        from .local import LocalExecutor

        return LocalExecutor(workers, device)
    if name == "ray":
        if workers is not None:
            raise ConfigError("--workers is for --executor local; Ray places one task per free CPU or GPU itself")
        from .ray import RayExecutor

        return RayExecutor(address, num_cpus)
    raise ConfigError(f"--executor {name!r} is not valid; choose local or ray")


def run_sweep(prep: Prepared, executor: Any, events: SweepEvents | None = None) -> SweepEvents:
    """Run a prepared sweep's batches; the directory's lock is held throughout."""
    events = events or SweepEvents()
    sd = prep.dir.lock()
    try:
        sd.write_manifest(prep.spec)
        sd.scan()
        sd.save()
        executor.run(sd, prep.spec, prep.batches, events)
    finally:
        sd.unlock()
    return events
