"""The local executor: the batches on this host, in this process or in a pool of worker processes.

With one worker (the default on the CPU) the batches run one after the other in the
driver's process.  With N > 1 they run in N worker processes
(:class:`~htdyn.sweep.pool.WorkerPool`), each bound to one GPU on CUDA (one worker per
GPU by default) or to ``cores // N`` BLAS threads on the CPU.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from ..errors import ConfigError
from .events import SweepEvents
from .index import SweepDir
from .plan import Batch
from .pool import WorkerPool
from .slots import make_slots, visible_gpus
from .spec import SweepSpec
from .worker import execute_batch

__all__ = ["LocalExecutor", "default_workers"]


def default_workers(device: str) -> int:
    """1 on the CPU; on CUDA the number of visible GPUs (1 when it cannot be told)."""
    if device != "cuda":
        return 1
    return max(1, len(visible_gpus() or []))


class LocalExecutor:
    """Runs each batch with :func:`~htdyn.sweep.worker.execute_batch`, here or in worker processes.

    Parameters
    ----------
    workers : worker processes (default :func:`default_workers`); 1 runs in the driver's process.
    device : the sweep's device (``cpu`` or ``cuda``): it decides how workers are bound.
    devices : the ``CUDA_VISIBLE_DEVICES`` value of each worker, dealt round-robin
        (default: the visible GPUs on CUDA, none on the CPU).

    In the driver's process progress is reported per engine step (``events.step``); an
    interrupt (Ctrl-C, SIGTERM) leaves the running batch's partial file (never taken as
    done) and propagates.  With workers, see :meth:`_run_pool`.
    """

    name = "local"

    def __init__(self, workers: int | None = None, device: str = "cpu", devices: list[str] | None = None) -> None:
        if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
            raise ConfigError(f"--workers {workers} is not valid; give a number of worker processes >= 1")
        self.workers = default_workers(device) if workers is None else workers
        self.device, self.devices = device, devices

    @classmethod
    def from_options(cls, options: dict[str, Any], device: str) -> LocalExecutor:
        """From the registry's options (``workers``) and the sweep's device."""
        return cls(options["workers"], device)

    @property
    def runs_here(self) -> bool:
        """Always: the batches run on this host's devices."""
        return True

    @property
    def per_device(self) -> int:
        """Batches that run at once on one device's memory: every worker on the CPU; on CUDA
        the workers dealt to one GPU (all of them when the GPUs are unknown)."""
        if self.workers == 1:
            return 1
        slots = make_slots(self.workers, self.device, self.devices)
        counts: dict = {}
        for sl in slots:
            counts[sl.device] = counts.get(sl.device, 0) + 1
        return max(counts.values())

    def describe(self) -> str:
        """One line for ``--dry-run``: how many workers and what each is bound to."""
        if self.workers == 1:
            return f"local, in this process ({self.device})"
        slots = make_slots(self.workers, self.device, self.devices)
        bound = ", ".join(f"{s.index}: GPU {s.device}" for s in slots) if slots[0].device is not None else (
            f"{slots[0].threads} BLAS thread(s) each" if slots[0].threads else "all on the default GPU")
        return f"local, {self.workers} worker processes ({bound})"

    def run(self, sd: SweepDir, spec: SweepSpec, batches: list[Batch], events: SweepEvents) -> None:
        if self.workers > 1 and batches:
            self._run_pool(sd, spec, batches, events)
            return
        for b in batches:
            ids = [r.id for r in b.runs]
            sd.mark_running(b.name, ids)
            B = len(b.runs)
            try:
                out = execute_batch(b.sim(spec), str(sd.batches / b.file), progress=lambda k, B=B: events.step(k * B),
                                    threads=spec.threads)
            except KeyboardInterrupt:
                sd.clear_running(b.name)
                raise
            sd.record(b.name, ids, out)
            events.batch(b, out)

    def _run_pool(self, sd: SweepDir, spec: SweepSpec, batches: list[Batch], events: SweepEvents) -> None:
        """Batches handed to min(workers, batches) worker processes, one at a time each.

        A batch is marked running when it is sent to an idle worker, and done or failed
        on its outcome; a worker that dies fails its batch ("worker N (pid P) died with
        exit code X") and is replaced.  On an interrupt or any error the workers are
        stopped (SIGTERM, then SIGKILL), the running marks cleared, and it propagates.
        """
        todo, running = deque(batches), {}
        pool = WorkerPool(make_slots(min(self.workers, len(batches)), self.device, self.devices))
        reported: dict[str, int] = {}
        try:
            pool.start()
            while todo or running:
                for w in pool.idle():
                    if not todo:
                        break
                    b = todo.popleft()
                    sd.mark_running(b.name, [r.id for r in b.runs])
                    pool.submit(w, b.name, b.sim(spec), str(sd.batches / b.file), spec.threads)
                    running[b.name], reported[b.name] = b, 0
                for ev in pool.wait():
                    if ev.kind == "step":
                        reported[ev.key] += ev.value
                        events.step(ev.value)
                        continue
                    b = running.pop(ev.key)
                    out = ev.value if ev.kind == "done" else {"ok": False, "error": ev.value, "runs": len(b.runs)}
                    sd.record(b.name, [r.id for r in b.runs], out)
                    events.step(len(b.runs) * b.steps - reported.pop(b.name))
                    events.batch(b, out)
        except BaseException:
            pool.close(interrupt=True)
            sd.clear_running(*running)
            raise
        pool.close()
