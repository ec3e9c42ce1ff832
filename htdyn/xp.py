"""Array namespaces shared by training and analysis: host copies, the analysis namespace.

The one module both sides of the package use for arrays (numpy on the CPU, CuPy
on CUDA, torch tensors through DLPack); it imports nothing of htdyn.
"""

from __future__ import annotations

from typing import Any

import numpy as np


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


def importable(name: str) -> bool:
    """Whether a module can be imported (without importing it)."""
    import importlib.util

    return importlib.util.find_spec(name) is not None
