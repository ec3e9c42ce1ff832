"""The local executor: the batches one after the other, in this process, on one device."""

from __future__ import annotations

from .events import SweepEvents
from .index import SweepDir
from .plan import Batch
from .spec import SweepSpec
from .worker import execute_batch

__all__ = ["LocalExecutor"]


class LocalExecutor:
    """Runs each batch with :func:`~htdyn.sweep.worker.execute_batch` in the driver's process.

    Progress is reported per engine step (``events.step``); an interrupt (Ctrl-C,
    SIGTERM) leaves the running batch's partial file (never taken as done) and
    propagates.
    """

    name = "local"

    def run(self, sd: SweepDir, spec: SweepSpec, batches: list[Batch], events: SweepEvents) -> None:
        for b in batches:
            ids = [r.id for r in b.runs]
            sd.mark_running(b.name, ids)
            B = len(b.runs)
            try:
                out = execute_batch(b.sim(spec), str(sd.batches / b.file), progress=lambda k, B=B: events.step(k * B))
            except KeyboardInterrupt:
                sd.clear_running(b.name)
                raise
            if out["ok"]:
                sd.mark_done(b.name, ids)
            else:
                sd.mark_failed(b.name, ids, out["error"])
            events.batch(b, out)
