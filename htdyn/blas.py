"""Threads: how long OpenBLAS's workers spin after a call (set before numpy loads), fixed thread
counts for reproducible batches, and the counts in use (recorded in every trajectory file).

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
from collections.abc import Iterator
from contextlib import contextmanager

THREAD_TIMEOUT = "18"


def set_thread_timeout() -> bool:
    """Set ``OPENBLAS_THREAD_TIMEOUT`` to 18 unless the user set it or numpy is already loaded.

    Returns whether it can still take effect (numpy not loaded yet).
    """
    if "numpy" in sys.modules:
        return False
    os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", THREAD_TIMEOUT)
    return True


@contextmanager
def fixed_threads(threads: int, torch: bool = False) -> Iterator[None]:
    """Run the block with ``threads`` BLAS/OpenMP threads (and torch intra-op threads).

    A float32 sum split over 1 or 2 threads is added in another order, and training at
    large learning rates amplifies that round-off (chaotic dynamics: W_10 moves by 0.13%
    at Adam lr 1 and 22% at lr 10 between 1 and 2 BLAS threads, paper size, float32).  So
    a sweep runs every batch with the same counts whatever ran it (one process, worker
    processes, Ray tasks), and its numbers are bit for bit those of any other executor.
    numpy and scipy's BLAS libraries are loaded first, so that the limit reaches them;
    ``torch``: import torch and set its threads too (a torch backend).
    """
    import numpy  # noqa: F401 - load the BLAS libraries the limit must reach
    import scipy.linalg  # noqa: F401
    from threadpoolctl import threadpool_limits

    mod = None
    if torch or "torch" in sys.modules:
        import torch as mod
    old = mod.get_num_threads() if mod is not None else None
    with threadpool_limits(limits=threads):
        if mod is not None:
            mod.set_num_threads(threads)
        try:
            yield
        finally:
            if mod is not None:
                mod.set_num_threads(old)


def thread_counts() -> dict:
    """The thread counts this process computes with: every BLAS/OpenMP library loaded
    (``threadpoolctl``: library, version, threads) and torch's intra-op threads when torch is loaded.

    Written into every trajectory file (``threads_json``): results are reproducible bit for bit
    at the same thread counts, backend and device, and may differ in the last bits otherwise.
    """
    from threadpoolctl import threadpool_info

    libs = [{"api": i.get("internal_api"), "version": i.get("version"), "threads": i.get("num_threads"),
             "library": os.path.basename(str(i.get("filepath", "")))} for i in threadpool_info()]
    out: dict = {"libraries": libs}
    if "torch" in sys.modules:
        out["torch_threads"] = int(sys.modules["torch"].get_num_threads())
    return out
