"""What ``htdyn.watch`` adds to a CPU training loop, against the floor of one eigvalsh per layer per record.

A model whose largest layer is 1024 x 1024 (an MLP 784 -> 1024 -> 1024 -> 10, ReLU, SGD,
cross-entropy on random minibatches of 512) trains ``--steps`` steps three ways, side by
side in one process and interleaved (train, floor, watch, train, ...), so that a shared
machine's load falls on all three alike:

- ``train``: the loop alone;
- ``floor``: the loop plus, at every 10th step, the eigenvalues of W^T W of every layer
  (``numpy.linalg.eigvalsh`` of the float64 Gram matrix of the smaller side): the least any
  spectral watcher must compute;
- ``watch``: the loop under ``htdyn.watch(model, every=10, store="spectra")`` (the ESD, the
  top-8 singular triplets, norms, the Hill and KS power-law fits, the MP fit and the phase of
  every layer, written to an HDF5 file).

Target: ``watch`` adds at most 10 % to ``train`` (docs/performance.md, "htdyn.watch").
Run: ``python benchmarks/bench_watch.py [--steps 100 --repeat 3 --batch 512]``.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from _machine import cpu_model  # noqa: E402

import htdyn  # noqa: E402

EVERY = 10


def make(seed: int, torch) -> tuple:
    torch.manual_seed(seed)
    nn = torch.nn
    model = nn.Sequential(nn.Linear(784, 1024), nn.ReLU(), nn.Linear(1024, 1024), nn.ReLU(), nn.Linear(1024, 10))
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    return model, opt


def floor_record(model, torch) -> None:
    for m in model:
        if isinstance(m, torch.nn.Linear):
            W = m.weight.detach().numpy().astype(np.float64)
            np.linalg.eigvalsh(W.T @ W if W.shape[0] >= W.shape[1] else W @ W.T)


def one(mode: str, steps: int, batch: int, torch, tmp: str) -> tuple[float, float]:
    """Seconds for ``steps`` steps of ``mode``; and the watcher's own ``overhead_s`` (0 otherwise)."""
    model, opt = make(0, torch)
    g = torch.Generator().manual_seed(1)
    X, y = torch.randn(batch * 4, 784, generator=g), torch.randint(0, 10, (batch * 4,), generator=g)
    w = htdyn.watch(model, os.path.join(tmp, "w.h5"), every=EVERY, store="spectra", overwrite=True) \
        if mode == "watch" else None
    t0 = time.perf_counter()
    if mode == "floor":
        floor_record(model, torch)
    for t in range(steps):
        i = (t % 4) * batch
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(X[i:i + batch]), y[i:i + batch])
        loss.backward()
        opt.step()
        if w is not None:
            w.step(loss=loss)
        elif mode == "floor" and (t + 1) % EVERY == 0:
            floor_record(model, torch)
    if w is not None:
        w.finish()
    dt = time.perf_counter() - t0
    return dt, (w.overhead_s if w is not None else 0.0)


def main(argv: list[str] | None = None) -> int:
    import torch

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--batch", type=int, default=512)
    args = ap.parse_args(argv)
    load0 = os.getloadavg()[0]
    print(f"# {cpu_model()}, {os.cpu_count()} cores, torch {torch.__version__} ({torch.get_num_threads()} threads), "
          f"numpy {np.__version__}, python {platform.python_version()}; load average {load0:.1f} at start")
    print(f"# MLP 784-1024-1024-10, batch {args.batch}, {args.steps} SGD steps, records every {EVERY} steps "
          f"({args.steps // EVERY + 1} records of 3 layers); {args.repeat} interleaved repeats, median")
    times: dict[str, list[float]] = {"train": [], "floor": [], "watch": []}
    own: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        one("watch", EVERY, args.batch, torch, tmp)  # warm-up: imports, first allocations
        for _ in range(args.repeat):
            for mode in times:
                dt, ov = one(mode, args.steps, args.batch, torch, tmp)
                times[mode].append(dt)
                print(f"#   {mode}: {dt:.2f} s", flush=True)
                if mode == "watch":
                    own.append(ov)
    base = statistics.median(times["train"])
    print("| loop | seconds (median) | min | added to train | per record |")
    print("|---|---|---|---|---|")
    records = args.steps // EVERY + 1
    for mode, ts in times.items():
        med = statistics.median(ts)
        add = (med - base) / base
        print(f"| {mode} | {med:.2f} | {min(ts):.2f} | {add:+.1%} | "
              f"{'-' if mode == 'train' else f'{1000 * (med - base) / records:.0f} ms'} |")
    print(f"# the watcher's own clock (Watcher.overhead_s): median {statistics.median(own):.2f} s "
          f"= {statistics.median(own) / base:.1%} of train; load average {os.getloadavg()[0]:.1f} at the end")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
