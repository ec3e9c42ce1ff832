"""Running a sweep: check the directory, find what is done, plan the rest, hand it to an executor.

:func:`prepare` does everything but the work (it writes nothing): it checks the spec
against the directory's, scans the finished batch files and plans the pending runs
into batches; ``--dry-run`` prints its :class:`Prepared`.  :func:`run_sweep` then
takes the directory's lock, writes the manifest and runs the batches.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError
from .events import SweepEvents
from .executors import Executor, make_executor
from .index import SweepDir
from .plan import DEFAULT_MAX_BATCH_CPU, Batch, default_budget, plan_batches
from .spec import PAST_STORE_MODES, PlannedRun, SweepSpec, spec_from_dict

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
    note: str | None = None


def prepare(spec: SweepSpec, root: str | Path, *, force: bool = False, device: str | None = None,
            workers: int = 1) -> Prepared:
    """Check, scan and plan (no writes). ``device`` overrides the spec's.

    ``workers``: batches that run at once on one device (every worker on the CPU; on
    CUDA the workers that share a GPU, ``LocalExecutor.per_device``); they share its
    default budget (half the free RAM, 80 % of the GPU's free memory), so each batch is
    planned against ``1 / workers`` of it.  ``batch_memory`` is per batch.
    """
    if device is not None and device not in ("cpu", "cuda"):
        raise ConfigError(f"--device {device!r} is not valid; choose cpu or cuda")
    sd = SweepDir(Path(root))
    spec, note = directory_store_sets(spec, sd)
    if device is not None:
        for sim in spec.templates.values():
            sim.device = device
    changes = sd.check_spec(spec, force)
    done = sd.scan() if sd.batches.is_dir() else {}
    pending = [r for r in spec.runs if r.id not in done]
    sim = next(iter(spec.templates.values()))
    budget = spec.batch_memory if spec.batch_memory is not None else default_budget(sim.device, sim.dtype)
    if spec.batch_memory is None and budget is not None:
        budget //= max(1, workers)
    max_batch = spec.max_batch if spec.max_batch is not None else (
        DEFAULT_MAX_BATCH_CPU if sim.device == "cpu" else None)
    fixed = checkpointed_batches(spec, sd, pending, budget)
    claimed = {r.id for b in fixed for r in b.runs}
    batches = fixed + plan_batches(spec, [r for r in pending if r.id not in claimed], budget=budget,
                                   max_batch=max_batch)
    return Prepared(spec, sd, changes, done, pending, batches, budget, max_batch, note)


def checkpointed_batches(spec: SweepSpec, sd: SweepDir, pending: list[PlannedRun], budget: int | None) -> list[Batch]:
    """The interrupted batches that hold a checkpoint, planned again as they were.

    A batch's name comes from its runs and the cut from the budget, which follows the
    free memory; without this a rerun could cut differently and start such a batch's
    runs from step 0, leaving its checkpointed file behind.  A batch is kept when all
    its runs are pending, it is one batch for the engine, and it fits the budget.
    """
    order = {r.id: i for i, r in enumerate(pending)}
    out: list[Batch] = []
    claimed: set[str] = set()
    for name, ids in sd.checkpointed():
        if not ids or any(i not in order or i in claimed for i in ids):
            continue
        runs = sorted((pending[order[i]] for i in ids), key=lambda r: order[r.id])
        planned = plan_batches(spec, runs)
        if len(planned) == 1 and planned[0].name == name and (budget is None or planned[0].memory_bytes <= budget):
            out.append(planned[0])
            claimed.update(ids)
    return out


def directory_store_sets(spec: SweepSpec, sd: SweepDir) -> tuple[SweepSpec, str | None]:
    """The spec with the store's metric sets its directory was made with, when they differ.

    The sets are part of every run's id, so a release that adds one to a store mode
    (``top`` joined ``spectra``) would otherwise plan an old directory's runs anew.  When
    the spec leaves ``eval.metrics`` to the store, its ``store`` and ``[eval]`` are the
    directory's, and no old run id is among its runs, the sets in ``sweep.json`` (or,
    for a directory that does not record them, those of earlier releases,
    :data:`~htdyn.sweep.spec.PAST_STORE_MODES`) are tried; the first that gives back
    old run ids is kept, with a note saying so.
    """
    old = sd.manifest() if sd.manifest_path.exists() else None
    if old is None or spec.store_sets is None:
        return spec, None
    design = old.get("design", {})
    if design.get("store") != spec.store or (design.get("spec") or {}).get("eval") != spec.raw.get("eval"):
        return spec, None  # the user changed the store or [eval]: not a release's drift (check_spec judges)
    recorded = old.get("store_sets")
    if recorded is not None and tuple(recorded) == spec.store_sets:
        return spec, None
    old_ids = set(old.get("run_ids", []))
    if not old_ids or old_ids & {r.id for r in spec.runs}:
        return spec, None
    tries = [tuple(recorded)] if recorded is not None else list(PAST_STORE_MODES.get(spec.store, ()))
    for sets in tries:
        try:
            alt = spec_from_dict(spec.raw, store_sets=sets)
        except ConfigError:  # a set this release no longer has
            continue
        if old_ids & {r.id for r in alt.runs}:
            extra = [s for s in spec.store_sets if s not in sets]
            return alt, (f"kept the metric sets {str(sd.root)!r} was made with ({', '.join(sets)})"
                         + (f"; a new directory also keeps {', '.join(extra)}" if extra else ""))
    return spec, None


def run_sweep(prep: Prepared, executor: Executor, events: SweepEvents | None = None) -> SweepEvents:
    """Run a prepared sweep's batches; the directory's lock is held throughout."""
    events = events or SweepEvents()
    sd = prep.dir.lock(len(prep.spec.runs))
    try:
        sd.write_manifest(prep.spec)
        sd.scan()
        sd.index["running"] = {}  # left by a driver that was killed: nothing runs but what this one starts
        sd.save()
        executor.run(sd, prep.spec, prep.batches, events)
    finally:
        sd.unlock()
    return events
