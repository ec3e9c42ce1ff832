"""The Ray executor: each batch a Ray task that declares its CPUs, GPUs and memory.

Results come back one of two ways (``results``):

- ``"shared"`` (the default): every task writes its batch's trajectory file into the
  sweep directory, which every worker must see at the same path (a local disk for a
  one-machine runtime, NFS/Lustre/GPFS on a cluster), and returns only a small
  outcome dict through Ray's object store.
- ``"object-store"``: for workers without a shared disk.  The task gets no path in
  the sweep directory, only the batch's file name: it runs the batch into a private
  temporary directory of its own (removed when the task ends, unless its process is killed) and
  returns the finished file's bytes, as one ``uint8`` array, with the outcome.  The
  driver writes them under the batch's partial name in ``DIR/batches``, syncs and
  renames: a batch file appears complete or not at all.  A failed batch returns no
  file.  A killed batch cannot resume from its checkpoint (the partial file was on
  the worker's disk); it is run again from the start.

In both modes the driver alone writes the index.  ``address=None`` starts a local Ray
runtime (``ray.init(num_cpus=...)``); an address (``auto``, ``ray://host:10001``,
``host:6379``) joins an existing cluster.  Requires the optional extra ``ray``
(``pip install 'htdyn[ray]'``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..io.atomic import write_bytes_atomic
from ..io.format import partial_path
from .events import SweepEvents
from .executors import RESULTS, check_results
from .index import SweepDir
from .plan import Batch
from .spec import SweepSpec
from .worker import execute_batch

__all__ = ["RayExecutor", "RESULTS", "check_results", "write_batch_file"]

class RayExecutor:
    """Runs batches as Ray tasks; see the module docstring.

    Parameters
    ----------
    address : an existing cluster's address, or None for a local runtime.
    num_cpus : CPUs of a local runtime (default: this machine's).
    cpus_per_task : CPUs each batch task declares (its BLAS threads).
    results : ``"shared"`` (tasks write into the sweep directory) or ``"object-store"``
        (tasks send their file back through Ray's object store).
    """

    name = "ray"

    def __init__(self, address: str | None = None, num_cpus: int | None = None, cpus_per_task: int = 1,
                 results: str = "shared"):
        check_results(results)
        self.address, self.num_cpus, self.cpus_per_task = address, num_cpus, cpus_per_task
        self.results = results

    @classmethod
    def from_options(cls, options: dict[str, Any], device: str) -> RayExecutor:
        """From the registry's options (``address``, ``num_cpus``, ``results``); Ray places the devices."""
        return cls(options["address"], options["num_cpus"], results=options["results"])

    @property
    def per_device(self) -> int:
        """1: Ray places each task where its declared memory fits."""
        return 1

    @property
    def runs_here(self) -> bool:
        """A local runtime runs on this host; a cluster's workers may have the GPUs this host lacks."""
        return not self.address

    def describe(self) -> str:
        """One line for ``--dry-run``: where the tasks run and how their results come back."""
        where = f"the cluster at {self.address}" if self.address else (
            f"a local runtime with {self.num_cpus or os.cpu_count()} CPU(s)")
        back = "files on the shared directory" if self.results == "shared" else "Ray's object store"
        return f"ray, on {where}, {self.cpus_per_task} CPU(s) per task; results through {back}"

    def _init(self) -> Any:
        try:
            import ray
        except ImportError:
            raise ConfigError("--executor ray needs Ray: pip install 'htdyn[ray]' (or pip install ray)") from None
        if not ray.is_initialized():
            if self.address:  # a cluster's workers import the htdyn installed on their nodes (docs/sweeps.md)
                ray.init(address=self.address, include_dashboard=False, log_to_driver=False)
            else:  # this machine's workers import this htdyn: hand them the driver's module path
                path = os.pathsep.join(p for p in (os.environ.get("PYTHONPATH"), _package_root()) if p)
                ray.init(num_cpus=self.num_cpus, include_dashboard=False, log_to_driver=False,
                         runtime_env={"env_vars": {"PYTHONPATH": path}})
        return ray

    def _args(self, b: Batch, spec: SweepSpec, sd: SweepDir) -> tuple:
        """What one batch's task is sent: its SimConfig, and its file's path (shared) or only its name."""
        return b.sim(spec), (b.file if self.results == "object-store" else str(sd.batches / b.file)), spec.threads

    def run(self, sd: SweepDir, spec: SweepSpec, batches: list[Batch], events: SweepEvents) -> None:
        if not batches:
            return
        ray = self._init()
        gpus = 1 if spec.templates[batches[0].steps].device == "cuda" else 0
        task = ray.remote(_object_task if self.results == "object-store" else _task)
        pending: dict[Any, Batch] = {}
        for b in batches:
            opts = task.options(num_cpus=max(self.cpus_per_task, spec.threads), num_gpus=gpus,
                                memory=max(int(b.memory_bytes), 1))
            pending[opts.remote(*self._args(b, spec, sd))] = b
            sd.index.setdefault("running", {})[b.name] = [r.id for r in b.runs]
        sd.save()
        try:
            while pending:
                ready, _ = ray.wait(list(pending), num_returns=1)
                b = pending.pop(ready[0])
                ids = [r.id for r in b.runs]
                out = self._collect(ray, ready[0], sd, b)
                sd.record(b.name, ids, out)
                events.step(len(ids) * b.steps)
                events.batch(b, out)
        except KeyboardInterrupt:
            for ref in pending:
                ray.cancel(ref, force=True)
            sd.clear_running(*(b.name for b in pending.values()))
            raise

    def _collect(self, ray: Any, ref: Any, sd: SweepDir, b: Batch) -> dict:
        """A finished task's outcome; in object-store mode its file is written into the sweep directory."""
        try:
            res = ray.get(ref)
        except Exception as exc:  # the task itself died (worker killed, out of memory)
            return {"ok": False, "error": f"ray task failed: {str(exc).splitlines()[0]}", "runs": len(b.runs)}
        if self.results != "object-store":
            return res
        out, data = res
        del res
        if out["ok"]:
            try:
                out["path"] = str(write_batch_file(sd.batches / b.file, data))
            except OSError as exc:
                out = {"ok": False, "error": f"cannot write the batch file: {exc}", "runs": len(b.runs)}
        return out


def write_batch_file(dest: Path, data: Any) -> Path:
    """Write a batch file received from a task: its partial name, fsync, rename to ``dest``.

    ``data`` is any buffer (the task's ``uint8`` array, read without a copy from Ray's
    object store).  A crash leaves at most the partial name (never taken as done) and a
    failed write removes it (:func:`htdyn.io.atomic.write_bytes_atomic`).
    """
    return write_bytes_atomic(dest, data, tmp=partial_path(dest))


def _task(sim: Any, dest: str, threads: int = 1) -> dict:
    return execute_batch(sim, dest, threads=threads)


def _object_task(sim: Any, name: str, threads: int = 1) -> tuple[dict, Any]:
    """Run a batch into a private temporary directory; return (outcome, the file's bytes or None)."""
    import tempfile

    import numpy as np

    with tempfile.TemporaryDirectory(prefix="htdyn-batch-") as tmp:
        out = execute_batch(sim, os.path.join(tmp, name), threads=threads)
        if not out["ok"]:
            return out, None
        data = np.fromfile(out.pop("path"), dtype=np.uint8)
    return out, data


def _package_root() -> str:
    return os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
