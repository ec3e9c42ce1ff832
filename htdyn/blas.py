"""How long OpenBLAS's worker threads spin after a call: set before numpy loads.

OpenBLAS's worker threads busy-wait for 2^28 cycles (~0.1 s) after every BLAS call
before they sleep, holding the cores that the element-wise work between two matrix
products (activations, the optimizer update) could use: 10% of a CPU training step.
2^18 cycles (~0.1 ms) frees the cores for that work and still keeps the threads awake
between the back-to-back BLAS calls inside LAPACK (eigvalsh slows down below ~2^16;
the scan is in docs/performance.md).  OpenBLAS reads the variable once, when numpy
loads it, so this module imports nothing heavy and callers use it first thing.
"""

from __future__ import annotations

import os
import sys

THREAD_TIMEOUT = "18"


def set_thread_timeout() -> bool:
    """Set ``OPENBLAS_THREAD_TIMEOUT`` to 18 unless the user set it or numpy is already loaded.

    Returns whether it can still take effect (numpy not loaded yet).
    """
    if "numpy" in sys.modules:
        return False
    os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", THREAD_TIMEOUT)
    return True
