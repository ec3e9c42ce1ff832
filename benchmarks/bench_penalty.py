"""The cost of a spectral penalty per training step, and the one-BLAS-thread rule for small eigensolves.

For B runs of an h x d student (n = 2 h samples, h / d = 1.5 as the paper) this times, on numpy:

- ``loss+grad``: the MSE's value and closed-form gradient (``htdyn.train.model.loss_and_grad``),
  what a step costs without a penalty;
- ``penalty``: ``evaluate_terms`` of the weighted alpha (one batched eigensolve of the
  smaller Gram matrix, the gradient assembly), with numpy's BLAS on one thread for
  N <= ``ONE_THREAD_MAX_N`` (the default, via threadpoolctl) and with its own threads.

Target (the reason for the rule): at every N <= 512 the one-thread eigensolve is not slower
than the threaded one beyond the thread limit's own cost (~0.1 ms a call): speedup >= 0.8.
Run: ``python benchmarks/bench_penalty.py``.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import sys
import time

import array_api_compat.numpy as xnp
import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from _machine import cpu_model  # noqa: E402

from htdyn.activations import get_activation  # noqa: E402
from htdyn.train import penalties  # noqa: E402
from htdyn.train.model import loss_and_grad  # noqa: E402
from htdyn.train.penalty_terms import PenaltySpec, build_terms, evaluate_terms  # noqa: E402


def best_of(repeat: int, fn, *args) -> float:
    """The shortest of ``repeat`` timed calls ``fn(*args)`` (after one untimed call)."""
    fn(*args)
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn(*args)
        times.append(time.perf_counter() - t0)
    return min(times)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=8)
    ap.add_argument("--sizes", default="40,100,250,500", help="N = d values (h = 1.5 d)")
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args(argv)
    try:
        import threadpoolctl  # noqa: F401
        have_tpc = True
    except ImportError:
        have_tpc = False
    print(f"# {cpu_model()}, {os.cpu_count()} cores, python {platform.python_version()}, numpy {np.__version__}, "
          f"threadpoolctl {'yes' if have_tpc else 'no (the rule is off)'}; B = {args.runs}; best of {args.repeat}")
    print("| d | h | N | loss+grad ms | penalty ms (1 thread) | penalty ms (threads) | speedup | target >= 0.8 |")
    print("|---|---|---|---|---|---|---|---|")
    act = get_activation("tanh")
    terms = build_terms([[PenaltySpec("weighted_alpha", 0.01)]] * args.runs)
    ok = True
    for d in (int(s) for s in args.sizes.split(",")):
        h, n = int(1.5 * d), 3 * d
        rng = np.random.default_rng(0)
        W = rng.standard_normal((args.runs, h, d)).astype(np.float32)
        a = rng.standard_normal((args.runs, h)).astype(np.float32)
        X = (rng.standard_normal((1, n, d)) / math.sqrt(d)).astype(np.float32)
        y = rng.standard_normal((1, n)).astype(np.float32)
        t_loss = best_of(args.repeat, loss_and_grad, xnp, W, a, X, y, act)
        t_one = best_of(args.repeat, evaluate_terms, xnp, W, terms, 0)
        keep = penalties.ONE_THREAD_MAX_N
        penalties.ONE_THREAD_MAX_N = -1  # every eigensolve on numpy's own threads
        try:
            t_thr = best_of(args.repeat, evaluate_terms, xnp, W, terms, 0)
        finally:
            penalties.ONE_THREAD_MAX_N = keep
        speed = t_thr / t_one
        passed = speed >= 0.8 or min(h, d) > keep
        ok &= passed
        print(f"| {d} | {h} | {min(h, d)} | {1e3 * t_loss:.2f} | {1e3 * t_one:.2f} | {1e3 * t_thr:.2f} | "
              f"{speed:.1f}x | {'yes' if passed else 'NO'} |")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
