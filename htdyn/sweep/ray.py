"""The Ray executor: each batch a Ray task that declares its CPUs, GPUs and memory.

Results come back as files on a *shared directory*: every task writes its batch's
trajectory file into the sweep directory (which every worker must see at the same
path: a local disk for a one-machine runtime, NFS/Lustre/GPFS on a cluster), and
returns only a small outcome dict to the driver through Ray's object store; the
driver alone writes the index.  Workers without a shared disk are not supported.

``address=None`` starts a local Ray runtime (``ray.init(num_cpus=...)``); an address
(``auto``, ``ray://host:10001``, ``host:6379``) joins an existing cluster.
Requires the optional extra ``ray`` (``pip install 'htdyn[ray]'``).
"""

from __future__ import annotations

import os
from typing import Any

from ..errors import ConfigError
from .events import SweepEvents
from .index import SweepDir
from .plan import Batch
from .spec import SweepSpec
from .worker import execute_batch

__all__ = ["RayExecutor"]


class RayExecutor:
    """Runs batches as Ray tasks; see the module docstring.

    Parameters
    ----------
    address : an existing cluster's address, or None for a local runtime.
    num_cpus : CPUs of a local runtime (default: this machine's).
    cpus_per_task : CPUs each batch task declares (its BLAS threads).
    """

    name = "ray"

    def __init__(self, address: str | None = None, num_cpus: int | None = None, cpus_per_task: int = 1):
        self.address, self.num_cpus, self.cpus_per_task = address, num_cpus, cpus_per_task

    def _init(self) -> Any:
        try:
            import ray
        except ImportError:
            raise ConfigError("--executor ray needs Ray: pip install 'htdyn[ray]' (or pip install ray)") from None
        if not ray.is_initialized():
            kw: dict = {"address": self.address} if self.address else {"num_cpus": self.num_cpus}
            # workers must import this htdyn: hand them the driver's module path
            path = os.pathsep.join(p for p in (os.environ.get("PYTHONPATH"), _package_root()) if p)
            ray.init(**kw, include_dashboard=False, log_to_driver=False,
                     runtime_env={"env_vars": {"PYTHONPATH": path}})
        return ray

    def run(self, sd: SweepDir, spec: SweepSpec, batches: list[Batch], events: SweepEvents) -> None:
        if not batches:
            return
        ray = self._init()
        gpus = 1 if spec.templates[batches[0].steps].device == "cuda" else 0
        task = ray.remote(_task)
        pending: dict[Any, Batch] = {}
        for b in batches:
            ref = task.options(num_cpus=self.cpus_per_task, num_gpus=gpus,
                               memory=max(int(b.memory_bytes), 1)).remote(b.sim(spec), str(sd.batches / b.file))
            pending[ref] = b
            sd.index.setdefault("running", {})[b.name] = [r.id for r in b.runs]
        sd.save()
        try:
            while pending:
                ready, _ = ray.wait(list(pending), num_returns=1)
                b = pending.pop(ready[0])
                ids = [r.id for r in b.runs]
                try:
                    out = ray.get(ready[0])
                except Exception as exc:  # the task itself died (worker killed, out of memory)
                    out = {"ok": False, "error": f"ray task failed: {str(exc).splitlines()[0]}", "runs": len(ids)}
                if out["ok"]:
                    sd.mark_done(b.name, ids)
                else:
                    sd.mark_failed(b.name, ids, out["error"])
                events.step(len(ids) * b.steps)
                events.batch(b, out)
        except KeyboardInterrupt:
            for ref, b in pending.items():
                ray.cancel(ref, force=True)
                sd.index.get("running", {}).pop(b.name, None)
            sd.save()
            raise


def _task(sim: Any, dest: str) -> dict:
    return execute_batch(sim, dest)


def _package_root() -> str:
    return os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
