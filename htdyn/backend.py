"""Array backends: numpy on the CPU, torch (CPU or CUDA) and CuPy on CUDA.

The simulator's numerics are written once against the Python array API
(through ``array_api_compat``); this module picks the namespace for a device
and moves arrays between host and device.  The analysis functions accept
numpy and CuPy arrays, and torch tensors through DLPack (:func:`analysis_namespace`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .errors import ConfigError

BACKENDS = ("numpy", "torch", "cupy")
DEVICES = ("cpu", "cuda")


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


def to_numpy(a: Any) -> np.ndarray:
    """Return ``a`` (numpy, CuPy or torch) as a numpy array on the host."""
    if isinstance(a, np.ndarray):
        return a
    mod = type(a).__module__
    if mod.startswith("torch"):
        return a.detach().cpu().numpy()
    if mod.startswith("cupy"):
        return a.get()
    return np.asarray(a)


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
    if dtype not in ("float32", "float64"):
        raise ConfigError(f"dtype {dtype!r} is not valid; choose float32 or float64")
    if backend is None:
        if device == "cpu":
            backend = "numpy"
        else:
            backend = "cupy" if _importable("cupy") else "torch"
    if backend not in BACKENDS:
        raise ConfigError(f"backend {backend!r} is not valid; choose one of {', '.join(BACKENDS)}")
    if backend == "numpy":
        if device != "cpu":
            raise ConfigError("backend 'numpy' runs on the cpu only; use torch or cupy for cuda")
        import array_api_compat.numpy as xp

        return Backend("numpy", "cpu", xp, getattr(xp, dtype), dtype)
    if backend == "torch":
        if not _importable("torch"):
            raise ConfigError("backend 'torch' needs torch: pip install 'htdyn[torch]'")
        import array_api_compat.torch as xp
        import torch

        if device == "cuda" and not torch.cuda.is_available():
            raise ConfigError("device 'cuda' asked for, but torch finds no CUDA GPU; use --device cpu")
        return Backend("torch", device, xp, getattr(torch, dtype), dtype)
    # cupy
    if device != "cuda":
        raise ConfigError("backend 'cupy' runs on cuda only; use numpy or torch for the cpu")
    if not _importable("cupy"):
        raise ConfigError("backend 'cupy' needs CuPy: pip install 'htdyn[cupy]' (cupy-cuda12x)")
    import array_api_compat.cupy as xp

    try:
        import cupy

        cupy.cuda.runtime.getDeviceCount()
    except Exception as exc:  # pragma: no cover - needs a broken CUDA setup
        raise ConfigError(f"device 'cuda' asked for, but CuPy finds no GPU ({exc})") from exc
    return Backend("cupy", "cuda", xp, getattr(xp, dtype), dtype)


def analysis_namespace(a: Any) -> tuple[Any, Any]:
    """Namespace and array for the analysis functions.

    numpy arrays stay numpy; CuPy arrays stay CuPy; torch tensors are shared
    without a copy through DLPack (CPU tensors as numpy, CUDA tensors as CuPy).
    Anything else (lists, scalars) becomes a numpy array.

    Returns
    -------
    xp : module
        ``numpy`` or ``cupy``.
    a : array
        ``a`` in that namespace.
    """
    mod = type(a).__module__
    if mod.startswith("cupy"):
        import cupy

        return cupy, a
    if mod.startswith("torch"):
        t = a.detach()
        if t.device.type == "cuda":
            import cupy

            return cupy, cupy.from_dlpack(t)
        return np, np.from_dlpack(t.cpu()) if t.is_contiguous() else t.cpu().numpy()
    return np, np.asarray(a)


def _importable(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None
