"""Where a local worker runs: the GPUs this host shows, the CPU's cores, one :class:`Slot` per worker.

Discovery only (no processes): :func:`visible_gpus` reads ``CUDA_VISIBLE_DEVICES``, else
counts the GPUs ``nvidia-smi -L`` lists, else asks CuPy or torch; :func:`make_slots` deals
the GPUs round-robin to the workers (CUDA) or splits the cores among them (CPU).  The
pool (:mod:`htdyn.sweep.pool`) starts each worker with its slot's environment.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

__all__ = ["Slot", "make_slots", "visible_gpus", "cpu_cores", "THREAD_VARS"]

#: the BLAS thread-count variables a worker's slot sets
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


@dataclass(frozen=True)
class Slot:
    """What one worker is bound to: a GPU (``CUDA_VISIBLE_DEVICES``) and/or a BLAS thread count."""

    index: int
    device: str | None = None
    threads: int | None = None

    def env(self) -> dict[str, str]:
        out = {} if self.device is None else {"CUDA_VISIBLE_DEVICES": self.device}
        if self.threads is not None:
            out.update({k: str(self.threads) for k in THREAD_VARS})
        return out


def cpu_cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def visible_gpus() -> list[str] | None:
    """The GPUs a worker can be bound to: ``CUDA_VISIBLE_DEVICES``'s entries when it is set,
    else ``0 .. k-1`` for the k GPUs ``nvidia-smi -L`` (or CuPy, or torch) lists; None if unknown."""
    env = os.environ.get("CUDA_VISIBLE_DEVICES")
    if env is not None:
        return [d.strip() for d in env.split(",") if d.strip() and d.strip() != "-1"]
    n = _nvidia_smi_count()
    if n is None:
        n = _library_gpu_count()
    return None if n is None else [str(i) for i in range(n)]


def _nvidia_smi_count() -> int | None:
    import shutil
    import subprocess

    exe = shutil.which("nvidia-smi")
    if exe is None:
        return None
    try:
        r = subprocess.run([exe, "-L"], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.SubprocessError):
        return None
    if r.returncode != 0:
        return None
    return sum(line.startswith("GPU ") for line in r.stdout.splitlines())


def _library_gpu_count() -> int | None:
    from importlib.util import find_spec

    if find_spec("cupy") is not None:
        try:
            import cupy

            return int(cupy.cuda.runtime.getDeviceCount())
        except Exception:  # no driver, no GPU: try the next
            pass
    if find_spec("torch") is not None:
        try:
            import torch

            return int(torch.cuda.device_count()) if torch.cuda.is_available() else 0
        except Exception:
            pass
    return None


def make_slots(workers: int, device: str, devices: list[str] | None = None) -> list[Slot]:
    """One slot per worker: GPUs dealt round-robin (CUDA, or ``devices`` given), the CPU's cores split.

    On CUDA worker i gets ``devices[i % len(devices)]`` (``devices`` defaults to
    :func:`visible_gpus`; when they are unknown no ``CUDA_VISIBLE_DEVICES`` is set). On
    the CPU each worker gets ``max(1, cores // workers)`` BLAS threads.
    """
    if device == "cuda" and devices is None:
        devices = visible_gpus() or None
    threads = max(1, cpu_cores() // workers) if device != "cuda" else None
    return [Slot(i, None if not devices else devices[i % len(devices)], threads) for i in range(workers)]
