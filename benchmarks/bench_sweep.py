"""Benchmark of `htdyn sweep`: the paper's lr grid end to end against the floor measured in the same process.

Each configuration runs in a child process (so its peak memory is its own) that

1. measures the *floor*: per run, ``steps`` x the two training products of a step
   (P = X W^T and G^T X, 2 n d h flops each, float32) plus, per eval step, one
   ``eigvalsh`` of the Gram matrix of W (float64, min(h, d) square, Gram included)
   and the ridge read-out's products (features of the probe and test sets, Z^T Z,
   the h x h solve); the floor of the sweep is that times the number of runs;
2. runs the sweep (local executor, the default store ``spectra``: eval losses,
   every online metric and the ESD at steps 0 and 10) into a temporary directory;
3. prints wall time, floor, their ratio (and the ratio to the floor of the distinct
   work, where a repeat's points, which share W_0 and the data, count one step-0
   evaluation: what the engine may legitimately skip), the engine's own split (``train s``: the steps;
   ``eval s``: read-out and online metrics at the eval steps; ``write s``: the files)
   and the peak RSS.

Usage::

    python benchmarks/bench_sweep.py                        # the paper's grid: 90 runs, paper size (long)
    python benchmarks/bench_sweep.py --scale 0.25           # n, d, h a quarter of the paper's
    python benchmarks/bench_sweep.py --runs 9 18 90 --scale 0.5      # scaling in the number of runs
    python benchmarks/bench_sweep.py --sizes 250 500 1000 --runs 18  # scaling in size (d; n = 2d, h = 1.5d)

``--runs R``: R = 9 is GD at the nine learning rates (one repeat), 18 adds Adam, 90 is the
full grid (5 repeats); other values take the first R runs of the full grid.
Targets (the issue): wall <= 1.5 x floor, peak memory <= 2 GB.
"""

from __future__ import annotations

import os

from htdyn.blas import THREAD_TIMEOUT

os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", THREAD_TIMEOUT)

import argparse
import json
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _machine import cpu_model  # noqa: E402  (benchmarks/ is on sys.path when a script runs)

REPO = Path(__file__).resolve().parents[1]
SPEC = REPO / "sims" / "paper" / "lr_sweep.toml"
RATIO_TARGET, MEMORY_TARGET = 1.5, 2 * 1024 ** 3


def _best(fn, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def floor_per_run(n: int, d: int, h: int, n_test: int, steps: int, evals: int) -> dict:
    """Seconds of the floor's operations for one run (see the module docstring)."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((n, d), dtype=np.float32)
    W = rng.standard_normal((h, d), dtype=np.float32)
    G = rng.standard_normal((n, h), dtype=np.float32)
    train = _best(lambda: X @ W.T) + _best(lambda: G.T @ X)
    W64 = W.astype(np.float64)
    eig = _best(lambda: np.linalg.eigvalsh(W64.T @ W64 if d <= h else W64 @ W64.T), 2)
    Xt = X[:n_test]

    def ridge() -> None:
        Z = np.tanh(X @ W.T).astype(np.float64)
        np.tanh(Xt @ W.T)
        A = Z.T @ Z
        A[np.diag_indices(h)] += 1.0
        np.linalg.solve(A, Z.T @ rng.standard_normal(n))

    rid = _best(ridge, 2)
    return {"train_step_s": train, "eig_s": eig, "ridge_s": rid, "run_s": steps * train + evals * (eig + rid)}


def child(args: argparse.Namespace) -> None:
    """One configuration: the floor, then the sweep; prints one JSON line."""
    from htdyn.sweep.driver import make_executor, prepare, run_sweep
    from htdyn.sweep.spec import load_spec

    text = SPEC.read_text()
    d = args.d
    n, h = 2 * d, int(1.5 * d)
    for key, v in (("n", n), ("d", d), ("h", h)):
        text = text.replace(f"\n{key} = {dict(n=2000, d=1000, h=1500)[key]}\n", f"\n{key} = {v}\n")
    if args.max_batch:
        text = text.replace("[sweep]\n", f"[sweep]\nmax_batch = {args.max_batch}\n")
    with tempfile.TemporaryDirectory() as tmp:
        spec_path = Path(tmp) / "bench.toml"
        spec_path.write_text(text)
        spec = load_spec(spec_path)
        order = [r for r in spec.runs if r.repeat == 0 and r.point["optimizer.name"] == "gd"]
        order += [r for r in spec.runs if r.repeat == 0 and r.point["optimizer.name"] == "adam"]
        order += [r for r in spec.runs if r.repeat > 0]
        spec.runs = order[:args.runs]
        fl = floor_per_run(n, d, h, 200, 10, 2)
        prep = prepare(spec, Path(tmp) / "out")
        t0 = time.perf_counter()
        events = run_sweep(prep, make_executor("local"))
        wall = time.perf_counter() - t0
        tim = {k: sum(o["timings"][k] for _, o in events.outcomes) for k in ("train_s", "eval_s", "write_s")}
        tim["train_s"] -= tim["eval_s"]  # the engine's train_s includes its evaluations
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    # the floor of the distinct work: the step-0 evaluation once per distinct (W_0, data), i.e. per repeat
    distinct = len({r.repeat for r in spec.runs})
    eval_s = fl["eig_s"] + fl["ridge_s"]
    print(json.dumps({"runs": len(spec.runs), "d": d, "batches": len(prep.batches), "wall_s": wall,
                      "floor_s": fl["run_s"] * len(spec.runs),
                      "distinct_floor_s": (fl["run_s"] - eval_s) * len(spec.runs) + distinct * eval_s,
                      "peak_bytes": rss, **fl, **tim}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=1.0, help="n, d, h times this (default 1: the paper's)")
    ap.add_argument("--runs", type=int, nargs="+", default=[90], help="numbers of runs (default 90)")
    ap.add_argument("--sizes", type=int, nargs="+", help="values of d (n = 2d, h = 1.5d); overrides --scale")
    ap.add_argument("--max-batch", type=int, default=0, help="runs per batch (default: the planner's)")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--d", type=int, default=1000, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        args.runs = args.runs[0]
        child(args)
        return
    sizes = args.sizes or [int(round(1000 * args.scale))]
    print(f"# bench_sweep on {cpu_model()}, {os.cpu_count()} CPU(s), load average "
          f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}, Python {platform.python_version()}, "
          f"numpy {np.__version__}")
    print(f"{'runs':>5} {'d':>5} {'batches':>7} {'wall s':>8} {'floor s':>8} {'ratio':>6} {'train s':>8} "
          f"{'eval s':>7} {'write s':>7} {'peak':>8}  target (<= {RATIO_TARGET}x, <= 2 GB)")
    ok = True
    for d in sizes:
        for R in args.runs:
            cmd = [sys.executable, __file__, "--child", "--d", str(d), "--runs", str(R),
                   "--max-batch", str(args.max_batch)]
            p = subprocess.run(cmd, capture_output=True, text=True)
            if p.returncode != 0:
                print(p.stderr, file=sys.stderr)
                sys.exit(p.returncode)
            r = json.loads(p.stdout.strip().splitlines()[-1])
            ratio = r["wall_s"] / r["floor_s"]
            good = ratio <= RATIO_TARGET and r["peak_bytes"] <= MEMORY_TARGET
            ok &= good
            print(f"{r['runs']:>5} {d:>5} {r['batches']:>7} {r['wall_s']:>8.1f} {r['floor_s']:>8.1f} {ratio:>6.2f} "
                  f"{r['train_s']:>8.1f} {r['eval_s']:>7.1f} {r['write_s']:>7.2f} "
                  f"{r['peak_bytes'] / 2**30:>6.2f} G  {'ok' if good else 'MISSED'}")
            print(f"      floor per run: 10 steps x {r['train_step_s'] * 1e3:.1f} ms + 2 evals x "
                  f"({r['eig_s'] * 1e3:.0f} ms eigvalsh + {r['ridge_s'] * 1e3:.0f} ms read-out)")
            print(f"      floor of the distinct work (W_0 evaluated once per repeat): {r['distinct_floor_s']:.1f} s, "
                  f"wall / that = {r['wall_s'] / r['distinct_floor_s']:.2f}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
