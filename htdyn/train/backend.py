"""Array backends: numpy on the CPU, torch (CPU or CUDA) and CuPy on CUDA.

The simulator's numerics are written once against the Python array API
(through ``array_api_compat``); this module picks the namespace for a device
and holds the buffers a training step reuses (:class:`Workspace`).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..config import BACKENDS, DEVICES, DTYPES  # the valid names are kept once, in config
from ..errors import ConfigError
from ..xp import importable, to_numpy


@dataclass(frozen=True)
class Backend:
    """An array namespace bound to a device and a floating dtype.

    Attributes
    ----------
    name : {"numpy", "torch", "cupy"}
    device : {"cpu", "cuda"}
    xp : module
        The array-API compatible namespace (``array_api_compat.numpy`` ...).
    dtype : object
        The namespace's floating dtype (float32 or float64).
    """

    name: str
    device: str
    xp: Any
    dtype: Any
    dtype_name: str

    def asarray(self, a: Any, dtype: Any = None) -> Any:
        """Copy a host array onto this backend's device, in its dtype by default."""
        dtype = self.dtype if dtype is None else dtype
        if self.name == "torch":
            import torch

            return torch.as_tensor(np.asarray(a), device=self.device).to(dtype)
        return self.xp.asarray(a, dtype=dtype)

    @property
    def native(self) -> Any:
        """The backend's own module (numpy, torch or cupy).

        Its functions take ``out=`` (matmul and the element-wise ones), which the
        array API does not offer; the engine's step uses them to write into
        buffers it reuses, so a step allocates no new memory.
        """
        if self.name == "torch":
            import torch

            return torch
        if self.name == "cupy":
            import cupy

            return cupy
        return np

    def empty(self, shape: tuple[int, ...]) -> Any:
        """An uninitialised array of this backend's dtype on its device."""
        if self.name == "torch":
            import torch

            return torch.empty(shape, dtype=self.dtype, device=self.device)
        return self.native.empty(shape, dtype=self.dtype_name)

    def to_numpy(self, a: Any) -> np.ndarray:
        """Copy an array of this backend to a numpy array on the host."""
        return to_numpy(a)

    def synchronize(self) -> None:
        """Wait for queued device work (a no-op on the CPU)."""
        if self.device != "cuda":
            return
        if self.name == "torch":
            import torch

            torch.cuda.synchronize()
        else:
            import cupy

            cupy.cuda.Device().synchronize()


class Workspace:
    """Named device buffers that a loop reuses from one iteration to the next.

    Allocating fresh (B, n, h) arrays on every step costs page faults on the CPU
    (fresh pages must be zeroed by the kernel; on some virtual machines 10-20x
    slower than writing memory already held) and allocator traffic on the GPU.
    ``get`` returns the same buffer for the same name and shape, so a training
    step writes into memory it already holds.  The contents of a buffer are
    only valid until the next iteration writes it.
    """

    def __init__(self, backend: Backend):
        self.backend = backend
        self.native = backend.native
        self._buffers: dict[tuple, Any] = {}
        # numpy runs element-wise work on one core; split it over the cores
        # (torch already does, and on a GPU one kernel uses the whole device)
        self.threads = _cpu_threads() if backend.name == "numpy" else 1

    def map(self, fn: Any, *arrays: Any, axis: int = 1) -> None:
        """Apply ``fn(*views)`` to matching slices of ``arrays`` along ``axis``.

        ``fn`` must act element-wise along ``axis`` (each slice on its own),
        typically writing into one of the arrays with ``out=``.  With numpy and
        a large first array the slices run in parallel threads (numpy releases
        the GIL inside its loops); otherwise ``fn`` is called once on the whole
        arrays.  Arrays whose extent along ``axis`` is 1 broadcast and are
        passed whole.  The result is the same bit for bit either way.
        """
        n = arrays[0].shape[axis]
        k = min(self.threads, n) if math.prod(arrays[0].shape) >= _PARALLEL_MIN_SIZE else 1
        if k <= 1:
            fn(*arrays)
            return
        bounds = [n * i // k for i in range(k + 1)]

        def part(i: int) -> None:
            idx = (slice(None),) * axis + (slice(bounds[i], bounds[i + 1]),)
            fn(*(a[idx] if a.shape[axis] == n else a for a in arrays))

        for _ in _pool(k).map(part, range(k)):  # re-raises the first error
            pass

    def get(self, name: str, shape: tuple[int, ...]) -> Any:
        """The buffer ``name`` of this shape (allocated on first use, uninitialised).

        One buffer per name and shape: minibatches whose last batch is shorter
        alternate between two shapes without reallocating.
        """
        key = (name, tuple(shape))
        buf = self._buffers.get(key)
        if buf is None:
            buf = self._buffers[key] = self.backend.empty(tuple(shape))
        return buf


_PARALLEL_MIN_SIZE = 1 << 18  # below ~1 MB of float32 a thread hand-off costs more than it saves
_POOL: Any = None


def _cpu_threads() -> int:
    env = os.environ.get("HTDYN_NUM_THREADS", "").strip()
    if env.isdigit() and int(env) > 0:
        return int(env)
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, 8))  # element-wise work is memory-bound: more threads do not help


def _pool(k: int) -> Any:
    global _POOL
    if _POOL is None or _POOL._max_workers < k:
        from concurrent.futures import ThreadPoolExecutor

        _POOL = ThreadPoolExecutor(max_workers=k, thread_name_prefix="htdyn")
    return _POOL


def _forget_pool_after_fork() -> None:
    # a forked child inherits the pool object but not its threads: work sent to it would wait forever
    global _POOL
    _POOL = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool_after_fork)


def get_backend(device: str = "cpu", dtype: str = "float32", backend: str | None = None) -> Backend:
    """Choose the array backend for a device.

    Parameters
    ----------
    device : {"cpu", "cuda"}
    dtype : {"float32", "float64"}
    backend : {"numpy", "torch", "cupy"}, optional
        Default: numpy on the CPU; on CUDA, CuPy when it is installed, else torch.

    Raises
    ------
    ConfigError
        For an unknown device, dtype or backend, or a CUDA backend that is not
        installed or finds no GPU.
    """
    if device not in DEVICES:
        raise ConfigError(f"device {device!r} is not valid; choose one of {', '.join(DEVICES)}")
    if dtype not in DTYPES:
        raise ConfigError(f"dtype {dtype!r} is not valid; choose one of {', '.join(DTYPES)}")
    if backend is None:
        if device == "cpu":
            backend = "numpy"
        else:
            backend = "cupy" if importable("cupy") else "torch"
    if backend not in BACKENDS:
        raise ConfigError(f"backend {backend!r} is not valid; choose one of {', '.join(BACKENDS)}")
    if backend == "numpy":
        if device != "cpu":
            raise ConfigError("backend 'numpy' runs on the cpu only; use torch or cupy for cuda")
        import array_api_compat.numpy as xp

        return Backend("numpy", "cpu", xp, getattr(xp, dtype), dtype)
    if backend == "torch":
        if not importable("torch"):
            raise ConfigError("backend 'torch' needs torch: pip install 'htdyn[torch]'")
        import array_api_compat.torch as xp
        import torch

        if device == "cuda" and not torch.cuda.is_available():
            raise ConfigError("device 'cuda' asked for, but torch finds no CUDA GPU; use --device cpu")
        return Backend("torch", device, xp, getattr(torch, dtype), dtype)
    # cupy
    if device != "cuda":
        raise ConfigError("backend 'cupy' runs on cuda only; use numpy or torch for the cpu")
    if not importable("cupy"):
        raise ConfigError("backend 'cupy' needs CuPy: pip install 'htdyn[cupy]' (cupy-cuda12x)")
    import array_api_compat.cupy as xp

    try:
        import cupy

        cupy.cuda.runtime.getDeviceCount()
    except Exception as exc:  # pragma: no cover - needs a broken CUDA setup
        raise ConfigError(f"device 'cuda' asked for, but CuPy finds no GPU ({exc})") from exc
    return Backend("cupy", "cuda", xp, getattr(xp, dtype), dtype)
