"""One batch, run where it is sent: the unit of work every executor hands out.

:func:`execute_batch` takes plain, picklable input (the batch's SimConfig and the
path of its trajectory file) and returns a small dict, so the same function runs in
the driver (local executor), in a Ray task or in any process pool.  The file is
written by :func:`htdyn.train.simulate.simulate` (partial name, renamed when
complete, lock held); a diverged run is a result, not an error.  Any exception but
an interrupt becomes ``{"ok": False, "error": ...}``: one bad batch never stops a
sweep.
"""

from __future__ import annotations

from collections.abc import Callable

from ..config import SimConfig

__all__ = ["execute_batch"]


def execute_batch(sim: SimConfig, dest: str, progress: Callable[[int], None] | None = None,
                  threads: int = 1) -> dict:
    """Run one batch into ``dest`` with ``threads`` BLAS/OpenMP/torch threads; returns
    ``{"ok", "error", "timings", "diverged", "runs"}``.

    Every executor calls this with the sweep's ``threads``, so a batch computes the same
    numbers bit for bit in the driver, in a worker process or in a Ray task
    (:func:`htdyn.blas.fixed_threads`).  A batch killed after a checkpoint (a long run)
    continues from it (:func:`htdyn.train.simulate.resume`) instead of starting again.
    """
    from ..blas import fixed_threads
    from ..train.simulate import resume, simulate

    try:
        with fixed_threads(threads, torch=sim.backend == "torch"):
            if resumable(sim, dest):
                res = resume(dest, progress=progress)
            else:
                res = simulate(sim, path=dest, overwrite=True, progress=progress)
    except KeyboardInterrupt:
        raise
    except Exception as exc:  # recorded against the batch's runs; the sweep goes on
        msg = str(exc).splitlines()[0] if str(exc) else ""
        return {"ok": False, "error": f"{type(exc).__name__}: {msg}", "runs": len(sim.runs)}
    return {"ok": True, "error": None, "timings": res.timings, "runs": len(res.runs),
            "diverged": sum(r.diverged for r in res.runs), "path": res.path}


def resumable(sim: SimConfig, dest: str) -> bool:
    """Whether ``dest``'s unfinished file is this batch's, holds a checkpoint, and nobody writes it."""
    from ..errors import StoreError
    from ..io.format import partial_path
    from ..io.reader import Trajectory

    part = partial_path(dest)
    if not part.exists():
        return False
    try:
        with Trajectory(part) as traj:
            live = traj.writer is not None and traj.writer["alive"]
            same = traj.config == sim.to_dict()
            return traj.has_checkpoints and same and not live
    except (StoreError, OSError, KeyError, ValueError):
        return False
