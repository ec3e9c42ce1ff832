"""Benchmark of the htdyn training engine.

Prints three tables:

1. Step time vs floor: wall time of one full-batch Adam step of the engine
   against the floor measured in the same process, the two matrix products
   of a step (P = X W^T and G^T X, 2 n d h FLOPs each) on the same backend,
   shapes and dtype.  ``floor/step`` is the fraction of the floor achieved.
2. Snapshot writing overhead: the same training writing W_t and the update
   M_t at every step to an HDF5 file vs writing no file.
3. Batched vs sequential: R runs (different learning rates, same data seed,
   so the data are shared) in one ``simulate`` call vs R separate calls.

Usage::

    python benchmarks/bench_engine.py                      # CPU, paper size (2000, 1000, 1500)
    python benchmarks/bench_engine.py --quick              # small sizes, seconds
    python benchmarks/bench_engine.py --device cuda        # GPU (torch or CuPy; --backend to choose)

Evaluation is off everywhere (``eval={"at": "none"}``): only training (and,
in table 2, writing) is timed.
"""

from __future__ import annotations

import os

from htdyn.blas import THREAD_TIMEOUT

# as the htdyn command does (htdyn/blas.py), before numpy loads; 28 to measure without
os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", THREAD_TIMEOUT)

import argparse
import datetime as _dt
import math
import platform
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from _machine import cpu_model  # noqa: E402  (benchmarks/ is on sys.path when a script runs)

from htdyn.config import ModelConfig, OptimizerConfig, RunConfig, SimConfig, simulation
from htdyn.train.backend import Backend, get_backend
from htdyn.train.simulate import SimulationResult, simulate

STEP_TARGET = {"cpu": 0.70, "cuda": 0.60}  # fraction of the GEMM floor a step should reach
WRITE_TARGET = 0.25  # snapshot-writing overhead (fraction of the no-file time), CPU


# --------------------------------------------------------------------------- machine


def blas_info() -> str:
    try:
        cfg = np.show_config(mode="dicts")
        blas = cfg["Build Dependencies"]["blas"]
        text = f"{blas.get('name', '?')} {blas.get('version', '')}".strip()
        conf = blas.get("openblas configuration")
        if conf:
            text += f" ({' '.join(conf.split())})"
        return text
    except Exception:  # older numpy: no mode="dicts"
        return "unknown"


def thread_env() -> str:
    keys = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_THREAD_TIMEOUT",
            "HTDYN_NUM_THREADS")
    set_ = [f"{k}={os.environ[k]}" for k in keys if k in os.environ]
    return ", ".join(set_) if set_ else "none set"


def first_touch_rates(mb: int = 128) -> tuple[float, float]:
    """GB/s of filling freshly allocated memory (page faults) and of filling it again.

    On virtual machines whose free pages go back to the host (balloon free-page
    reporting), the first touch of memory can be 10-50x slower than the second;
    every fresh page the engine or the page cache takes then costs that much.
    """
    a = np.empty(mb * 2**20 // 8)
    t0 = time.perf_counter()
    a.fill(1.0)
    t1 = time.perf_counter()
    a.fill(2.0)
    t2 = time.perf_counter()
    return a.nbytes / (t1 - t0) / 1e9, a.nbytes / (t2 - t1) / 1e9


def gpu_name(backend: Backend) -> str:
    if backend.device != "cuda":
        return ""
    try:
        if backend.name == "torch":
            import torch

            return torch.cuda.get_device_name(0)
        import cupy

        name = cupy.cuda.runtime.getDeviceProperties(0)["name"]
        return name.decode() if isinstance(name, bytes) else str(name)
    except Exception as exc:  # pragma: no cover - depends on the driver
        return f"unknown GPU ({exc})"


def header(args: argparse.Namespace, backend: Backend, sizes: tuple[int, int, int]) -> None:
    import h5py

    import htdyn

    n, d, h = sizes
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count()
    print("=" * 100)
    print("htdyn engine benchmark")
    print("=" * 100)
    print(f"date        : {_dt.datetime.now().isoformat(timespec='seconds')}   host: {socket.gethostname()}")
    print(f"ran on      : device={backend.device}  backend={backend.name}  dtype={backend.dtype_name}"
          + (f"  GPU={gpu_name(backend)}" if backend.device == "cuda" else ""))
    print(f"CPU         : {cpu_model()}, {cores} cores usable (os.cpu_count()={os.cpu_count()})")
    print(f"python      : {platform.python_version()}   htdyn {htdyn.__version__}   numpy {np.__version__}"
          f"   h5py {h5py.__version__}")
    print(f"numpy BLAS  : {blas_info()}")
    print(f"thread env  : {thread_env()}")
    cold, warm = first_touch_rates()
    print(f"host memory : first touch of fresh pages {cold:.2f} GB/s, re-touch {warm:.1f} GB/s (128 MB fill)")
    if backend.name == "torch":
        import torch

        cuda = f"  CUDA {torch.version.cuda}" if backend.device == "cuda" else ""
        print(f"torch       : {torch.__version__}{cuda}  intra-op threads={torch.get_num_threads()}")
    if backend.name == "cupy":
        import cupy

        print(f"cupy        : {cupy.__version__}")
    print(f"sizes       : n={n} d={d} h={h}   steps={args.steps}   "
          f"repeats={args.repeats} (table 2: {args.write_repeats})"
          + ("   (--quick)" if args.quick else ""))
    print("model       : f(x) = a.tanh(W x/sqrt(d))/sqrt(h), full-batch Adam (lr per run), teacher softplus")
    print("timed       : training only (eval={'at': 'none'}); a warm-up simulation runs first in this process")
    print(f"1 step      : 2 GEMMs of 2*n*d*h = {2 * n * d * h / 1e9:.2f} GFLOP each "
          f"(4*n*d*h = {4 * n * d * h / 1e9:.2f} GFLOP per run per step)")


# --------------------------------------------------------------------------- machine load


class LoadMeter:
    """CPU time that *other* processes (and kernel threads) used while a table ran.

    From /proc/stat (all CPUs) minus this process's own CPU time (os.times), in
    cores on average over the wall time.  A shared machine inflates every timing;
    the tables say so when this is not ~0.
    """

    def __init__(self) -> None:
        self.tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
        self.start()

    @staticmethod
    def _stat() -> float | None:
        try:
            with open("/proc/stat") as fh:
                v = [int(x) for x in fh.readline().split()[1:]]
        except (OSError, ValueError):
            return None
        return float(sum(v) - v[3] - (v[4] if len(v) > 4 else 0))  # busy = total - idle - iowait

    def start(self) -> None:
        t = os.times()
        self.t0, self.own0, self.busy0 = time.perf_counter(), t.user + t.system, self._stat()

    def foreign_cores(self) -> float | None:
        t = os.times()
        busy = self._stat()
        if busy is None or self.busy0 is None:
            return None
        wall = time.perf_counter() - self.t0
        return max(0.0, ((busy - self.busy0) / self.tick - (t.user + t.system - self.own0)) / wall)

    def report(self) -> None:
        f = self.foreign_cores()
        la = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
        if f is None:
            print(f"  machine load: 1-min load average {la:.2f} (no /proc/stat)")
            return
        print(f"  machine load while this table ran: other processes + kernel threads used {f:.2f} cores on "
              f"average; 1-min load average {la:.2f}")
        if f > 0.15:
            print("  WARNING: the machine was shared while this table ran; its timings are inflated "
                  "(rerun on a quiet machine, or with --wait-idle)")


def wait_idle(max_s: float, threshold: float = 0.1) -> None:
    """Wait (up to max_s seconds) until other processes use < threshold cores over 2 s."""
    if max_s <= 0:
        return
    end = time.monotonic() + max_s
    meter = LoadMeter()
    while True:
        meter.start()
        time.sleep(2.0)
        f = meter.foreign_cores()
        if f is None or f < threshold:
            return
        if time.monotonic() > end:
            print(f"  (--wait-idle: machine still busy, {f:.2f} cores used by others; going on)")
            return


# --------------------------------------------------------------------------- helpers


def make_config(args: argparse.Namespace, sizes: tuple[int, int, int], lrs: list[float], *,
                snapshots: dict | None = None, steps: int | None = None, name: str = "bench") -> SimConfig:
    n, d, h = sizes
    runs = [RunConfig(model=ModelConfig(n=n, d=d, h=h), optimizer=OptimizerConfig("adam", lr=float(lr)),
                      seed=0, label=f"lr={lr:g}") for lr in lrs]
    return simulation(runs, name=name, steps=args.steps if steps is None else steps, device=args.device,
                      backend=args.backend, dtype=args.dtype, snapshots=snapshots or {"at": "none"},
                      eval={"at": "none"})


def lr_grid(R: int) -> list[float]:
    """R learning rates, log-spaced in [0.01, 1] (1.0 is the paper's Adam rate)."""
    return [1.0] if R == 1 else [float(x) for x in np.geomspace(0.01, 1.0, R)]


def timed_simulate(config: SimConfig, path: Any = False) -> tuple[SimulationResult, float, list[float]]:
    """simulate() with its wall time and a perf_counter stamp at the end of every step."""
    stamps: list[float] = []

    def progress(k: int) -> None:
        stamps.append(time.perf_counter())

    t0 = time.perf_counter()
    res = simulate(config, path=path, overwrite=True, progress=progress)
    wall = time.perf_counter() - t0
    return res, wall, stamps


def fmt_ms(s: float) -> str:
    return f"{s * 1e3:8.1f}"


def table(title: str, cols: list[str], rows: list[list[str]], notes: list[str] = ()) -> None:
    widths = [max(len(c), *(len(r[i]) for r in rows)) if rows else len(c) for i, c in enumerate(cols)]
    print()
    print(title)
    line = "  ".join(c.rjust(w) for c, w in zip(cols, widths))
    print("-" * len(line))
    print(line)
    print("-" * len(line))
    for r in rows:
        print("  ".join(v.rjust(w) for v, w in zip(r, widths)))
    print("-" * len(line))
    for note in notes:
        print(note)
    sys.stdout.flush()


# --------------------------------------------------------------------------- GEMM floor


def gemm_floor(backend: Backend, sizes: tuple[int, int, int], B: int, k: int) -> tuple[float, str]:
    """Best-of-k wall time of the two GEMMs of one step of B runs (same shapes, layout, dtype, backend).

    B = 1: the 2-D products ``X @ W.T`` (n x d by d x h) and ``G.T @ X`` (h x n by n x d).
    B > 1: the batched products the engine issues, X (1, n, d) broadcast against
    W (B, h, d): ``matmul(X, W^T)`` -> (B, n, h) and ``matmul(G^T, X)`` -> (B, h, d).
    """
    n, d, h = sizes
    gen = np.random.default_rng(0)
    dt = np.dtype(backend.dtype_name)
    Xh = (gen.standard_normal((1, n, d)) / math.sqrt(d)).astype(dt)
    Wh = gen.standard_normal((B, h, d)).astype(dt)
    Gh = (gen.standard_normal((B, n, h)) * 1e-3).astype(dt)
    if backend.name == "numpy":
        if B == 1:
            X, W, G = Xh[0], Wh[0], Gh[0]

            def run() -> None:
                X @ W.T
                G.T @ X

            what = "numpy X @ W.T, G.T @ X (2-D)"
        else:
            X, W, G = Xh, Wh, Gh
            Wt, Gt = np.swapaxes(W, -1, -2), np.swapaxes(G, -1, -2)

            def run() -> None:
                np.matmul(X, Wt)
                np.matmul(Gt, X)

            what = f"numpy.matmul, batched B={B}"
        sync: Callable[[], None] = lambda: None  # noqa: E731
    elif backend.name == "torch":
        import torch

        dev = backend.device
        X, W, G = (torch.as_tensor(a, device=dev) for a in (Xh, Wh, Gh))
        if B == 1:
            X, W, G = X[0], W[0], G[0]
        Wt, Gt = W.transpose(-1, -2), G.transpose(-1, -2)

        def run() -> None:
            torch.matmul(X, Wt)
            torch.matmul(Gt, X)

        sync = torch.cuda.synchronize if dev == "cuda" else (lambda: None)
        what = f"torch.matmul on {dev}" + (f", batched B={B}" if B > 1 else " (2-D)")
    else:  # cupy
        import cupy

        X, W, G = (cupy.asarray(a) for a in (Xh, Wh, Gh))
        if B == 1:
            X, W, G = X[0], W[0], G[0]
        Wt, Gt = cupy.swapaxes(W, -1, -2), cupy.swapaxes(G, -1, -2)

        def run() -> None:
            cupy.matmul(X, Wt)
            cupy.matmul(Gt, X)

        sync = cupy.cuda.Device().synchronize
        what = "cupy.matmul on cuda" + (f", batched B={B}" if B > 1 else " (2-D)")
    run()  # warm-up (thread pools, cuBLAS handles, allocator)
    run()
    sync()
    best = math.inf
    for _ in range(k):
        t0 = time.perf_counter()
        run()
        sync()
        best = min(best, time.perf_counter() - t0)
    return best, what


# --------------------------------------------------------------------------- table 1


def bench_step(args: argparse.Namespace, backend: Backend, sizes: tuple[int, int, int]) -> None:
    n, d, h = sizes
    target = STEP_TARGET[args.device]
    rows, notes = [], []
    for B in args.step_runs:
        lrs = lr_grid(B)
        # warm-up: a short simulation of the same shapes (BLAS threads, allocator, kernels)
        simulate(make_config(args, sizes, lrs, steps=2, name="warmup"), path=False)
        steps_dt: list[float] = []
        per_run: list[float] = []
        for _ in range(args.repeats):
            res, _, stamps = timed_simulate(make_config(args, sizes, lrs))
            steps_dt += list(np.diff(stamps))
            per_run.append(res.timings["train_s"] / args.steps)
        floor, what = gemm_floor(backend, sizes, B, args.floor_k)
        flop = 4.0 * n * d * h * B
        mean, med, whole = statistics.fmean(steps_dt), statistics.median(steps_dt), statistics.median(per_run)
        frac = floor / med
        ok = "yes" if frac >= target else "NO"
        verdict = f">={target * 100:.0f}% {ok}" if args.device == "cpu" or B >= 16 else "info (B<16)"
        rows.append([str(B), fmt_ms(mean), fmt_ms(med), fmt_ms(min(steps_dt)), fmt_ms(whole), fmt_ms(floor),
                     f"{frac * 100:5.1f}%", f"{floor / whole * 100:5.1f}%", f"{flop / med / 1e9:7.1f}",
                     f"{flop / floor / 1e9:7.1f}", verdict])
        notes.append(f"  floor (B={B}): {what}, {args.dtype}, best of {args.floor_k}")
    table(
        f"[1] Step time vs floor  (Adam step, n={n} d={d} h={h}; device={backend.device}, backend={backend.name}, "
        f"dtype={args.dtype}; times in ms)",
        ["runs B", "mean/step", "median/step", "min/step", "train_s/steps", "floor", "floor/median",
         "floor/whole", "GFLOP/s", "floor GFLOP/s", "target"],
        rows,
        [f"  per-step times: differences of consecutive progress() stamps (steps 1..{args.steps - 1} of each of "
         f"{args.repeats} simulations; step 0 has no start stamp);",
         "  train_s/steps: engine timings['train_s'] / steps, median over repeats (the whole loop, incl. step 0 "
         "and the final loss of W_T);",
         "  floor: the two GEMMs of one step, P = X W^T and G^T X, same shapes/dtype/backend, measured in this "
         "process; GFLOP/s = 4*n*d*h*B / time; target: >=70% of the floor on the CPU (1 run), >=60% on CUDA "
         "with 16+ runs batched;",
         *notes],
    )


# --------------------------------------------------------------------------- table 2


def bench_write(args: argparse.Namespace, backend: Backend, sizes: tuple[int, int, int], tmp: Path) -> None:
    lrs = lr_grid(1)
    base_snap = {"at": "none"}
    variants = [
        ("float32, none", {"at": 1, "dtype": "float32", "compression": "none", "updates": True}, True),
        ("float32, lzf", {"at": 1, "dtype": "float32", "compression": "lzf", "updates": True}, False),
        ("float32, gzip", {"at": 1, "dtype": "float32", "compression": "gzip", "updates": True}, False),
        ("float16, none", {"at": 1, "dtype": "float16", "compression": "none", "updates": True}, False),
        ("float32, none, store_data=False", {"at": 1, "dtype": "float32", "compression": "none", "updates": True},
         False),
    ]
    simulate(make_config(args, sizes, lrs, steps=2, name="warmup"), path=False)
    n, d, h = sizes
    n_snap = 2 * args.steps + 1  # W at t = 0..T, M at t = 0..T-1
    floor_ovh: list[float] = []
    base_wall, base_train = [], []
    res_v: dict[str, dict[str, list[float]]] = {
        v[0]: {"wall": [], "train": [], "write": [], "size": [], "ovh": [], "ovh_train": []} for v in variants}
    for rep in range(args.write_repeats):
        # alternate: no file, then each file variant, so drifts hit both sides alike
        res, wall, _ = timed_simulate(make_config(args, sizes, lrs, snapshots=base_snap))
        base_wall.append(wall)
        base_train.append(res.timings["train_s"])
        # the floor runs before the file variants on even repeats and after them on odd ones: on
        # machines that recycle freshly freed page-cache pages faster than new ones, whichever
        # writes first after a deletion is favoured
        def floor(rep: int = rep) -> None:
            floor_ovh.append(write_floor_run(make_config(args, sizes, lrs, snapshots=base_snap), tmp / f"raw_{rep}.bin")
                         / base_train[-1] - 1.0)

        if rep % 2 == 0:
            floor()
        for label, snap, primary in variants:
            if not primary and rep >= args.info_repeats:
                continue
            path = tmp / f"bench_{rep}.h5"
            cfg = make_config(args, sizes, lrs, snapshots=snap)
            cfg.store_data = "store_data=False" not in label
            res, wall, _ = timed_simulate(cfg, path=path)
            r = res_v[label]
            r["wall"].append(wall)
            r["train"].append(res.timings["train_s"])
            r["write"].append(res.timings["write_s"])
            r["size"].append(path.stat().st_size)
            r["ovh"].append(wall / base_wall[-1] - 1.0)
            r["ovh_train"].append(res.timings["train_s"] / base_train[-1] - 1.0)
            path.unlink()
        if rep % 2 == 1:
            floor()
    med = statistics.median
    rows = [["no file (path=False, snapshots none)", str(len(base_wall)), fmt_ms(med(base_wall)),
             fmt_ms(med(base_train)), "", "", "", "", ""]]
    for label, _snap, primary in variants:
        r = res_v[label]
        ovh = med(r["ovh_train"])  # the target is about training time; wall adds the data sets, once per file
        verdict = (f"<={WRITE_TARGET * 100:.0f}% {'yes' if ovh <= WRITE_TARGET else 'NO'}"
                   if primary and args.device == "cpu" else ("info" if not primary else ""))
        mb = med(r["size"]) / 1e6
        rows.append([f"snapshots every step, {label}", str(len(r["wall"])), fmt_ms(med(r["wall"])),
                     fmt_ms(med(r["train"])), fmt_ms(med(r["write"])), f"{mb:7.1f}",
                     f"{med(r['ovh']) * 100:+6.1f}%", f"{ovh * 100:+6.1f}%", verdict])
    rows.append([f"floor: the same {n_snap} x {h}x{d} float32 by plain write()", str(len(floor_ovh)), "", "", "",
                 f"{n_snap * h * d * 4 / 1e6:7.1f}", "", f"{med(floor_ovh) * 100:+6.1f}%", "floor"])
    snap_mb = h * d * 4 / 1e6
    table(
        f"[2] Snapshot writing overhead  ({args.steps} steps, 1 run; W_t at t=0..{args.steps} and M_t at "
        f"t=0..{args.steps - 1}; times in ms, medians)",
        ["variant", "reps", "simulate wall", "train_s", "write_s", "file MB", "overhead wall",
         "overhead train_s", "target"],
        rows,
        ["  overhead wall: median over repeats of wall(file)/wall(no file) - 1, each file run paired with the "
         "no-file run just before it;",
         "  overhead train_s: the same on timings['train_s'] (the step loop, which contains the per-step writes; "
         "excludes file creation and",
         "  the data sets stored once per file, store_data=True by default); write_s: timings['write_s'] (host "
         "copy + HDF5 writes + flush).",
         f"  spread of the train_s overhead over the {len(floor_ovh)} repeats (min / quartiles / max): default "
         f"{spread(res_v[variants[0][0]]['ovh_train'])}; floor {spread(floor_ovh)}",
         "  floor row: the same training with no file, writing W_t and M_t with plain write() calls from an "
         "on_step hook (the same bytes at the same",
         "  moments, no HDF5): the cost of the bytes alone on this machine, paired with the no-file run like the "
         "others;",
         f"  one float32 snapshot of W is {snap_mb:.1f} MB; W and M per step = {2 * snap_mb:.1f} MB. "
         f"Temp dir: {tmp} (filesystem: {fs_type(tmp)}).",
         "  lzf / gzip / float16 / store_data=False rows are for information "
         f"({min(args.info_repeats, args.write_repeats)} repeat(s) each); the target (on train_s) applies to "
         "float32 uncompressed (store_data=True, the default) "
         "on the CPU."],
    )


def spread(values: list[float]) -> str:
    """min / quartiles / max of fractions, as percentages."""
    q = np.percentile(np.asarray(values) * 100, [0, 25, 50, 75, 100])
    return " / ".join(f"{v:+.0f}%" for v in q)


def write_floor_run(config: SimConfig, path: Path) -> float:
    """train_s of a no-file simulation that writes W_t and M_t at every step with plain write() calls.

    The I/O floor of the snapshot writes: the same bytes, at the same moments of the same
    training, into a new file on the same file system, flushed to the OS like h5py's flush
    (no fsync), without HDF5.  On machines where fresh page-cache pages are slow to come
    by, this alone can exceed the overhead target.
    """
    from htdyn.train.backend import to_numpy

    with open(path, "wb") as fh:
        def hook(info: Any) -> None:
            for arr in (info.view("W"), info.view("update")):  # the live buffers: no copies
                fh.write(memoryview(np.ascontiguousarray(to_numpy(arr)[0])).cast("B"))
            fh.flush()

        res = simulate(config, path=False, on_step=hook)
        fh.write(memoryview(np.ascontiguousarray(res.runs[0].W_final)).cast("B"))
    path.unlink()
    return res.timings["train_s"]


def fs_type(path: Path) -> str:
    try:
        best, kind = "", "?"
        with open("/proc/mounts") as fh:
            for line in fh:
                parts = line.split()
                mnt, typ = parts[1], parts[2]
                if str(path.resolve()).startswith(mnt) and len(mnt) > len(best):
                    best, kind = mnt, typ
        return f"{kind} on {best}" if best else "?"
    except OSError:
        return "?"


# --------------------------------------------------------------------------- table 3


def bench_writer(args: argparse.Namespace, sizes: tuple[int, int, int], tmp: Path) -> None:
    """htdyn's writer alone against plain write() of the same bytes, back to back, no training.

    Isolates what htdyn adds to the bytes (HDF5 chunk writes, scale entries, progress
    counters, two flushes a step) from the state of the machine's page cache, which
    decides most of table 2 on a machine where fresh pages are slow.
    """
    from htdyn.io.writer import TrajectoryWriter

    n, d, h = sizes
    T = args.steps
    cfg = make_config(args, sizes, lr_grid(1), snapshots={"at": 1})
    run = cfg.runs[0]
    gen = np.random.default_rng(2)
    W = gen.standard_normal((h, d)).astype(np.float32)
    M = (gen.standard_normal((h, d)) * 1e-3).astype(np.float32)
    losses, lrs = np.zeros(T + 1), np.ones(T)

    def htdyn_writer(path: Path) -> float:
        w = TrajectoryWriter(path, cfg, overwrite=True)  # file creation and layout: outside train_s too
        w.add_run(0, run, h=h, d=d, snapshot_steps=list(range(T + 1)), eval_steps=[], data_path="/data",
                  a0=np.zeros(h), state_names=(), group=0)
        t0 = time.perf_counter()
        for t in range(T):
            w.write_snapshot(0, t, W, M)
            w.write_progress(0, losses, lrs, t + 1, t + 1, -1)
            w.flush()
        w.write_snapshot(0, T, W)
        w.flush()
        dt = time.perf_counter() - t0
        w.finish()
        return dt

    def plain(path: Path) -> float:
        t0 = time.perf_counter()
        with open(path, "wb") as fh:
            for arr in [W, M] * T + [W]:
                fh.write(memoryview(arr).cast("B"))
                fh.flush()
        return time.perf_counter() - t0

    times: dict[str, list[float]] = {"htdyn": [], "plain": []}
    for rep in range(args.write_repeats):
        for name in (("htdyn", "plain") if rep % 2 == 0 else ("plain", "htdyn")):
            path = tmp / f"writer_{name}.bin"
            times[name].append((htdyn_writer if name == "htdyn" else plain)(path))
            path.unlink()
    med = statistics.median
    ratio = [a / b for a, b in zip(times["htdyn"], times["plain"])]
    rows = [[name, str(len(v)), fmt_ms(min(v)), fmt_ms(med(v)), fmt_ms(max(v))] for name, v in times.items()]
    table(
        f"[2b] The writer alone  ({2 * T + 1} x {h}x{d} float32 snapshots into a new file, no training; times in ms)",
        ["writer", "reps", "min", "median", "max"],
        rows,
        [f"  htdyn: TrajectoryWriter's per-step work (file creation and layout excluded, as from train_s), with a "
         "progress update and a flush per step as the engine does; plain: "
         f"write() of the same bytes. Median of the per-repeat ratio htdyn / plain: {med(ratio):.2f}",
         "  (the two alternate which goes first; min is the warm page-cache case, max the cold one)."],
    )


def bench_batched(args: argparse.Namespace, backend: Backend, sizes: tuple[int, int, int]) -> None:
    simulate(make_config(args, sizes, lr_grid(2), steps=2, name="warmup"), path=False)
    rows = []
    for R in args.batch_runs:
        lrs = lr_grid(R)
        seq_train, seq_wall, bat_train, bat_wall = [], [], [], []
        for rep in range(args.batch_repeats):
            order = ("seq", "bat") if rep % 2 == 0 else ("bat", "seq")
            for what in order:
                if what == "bat":
                    res, wall, _ = timed_simulate(make_config(args, sizes, lrs))
                    bat_train.append(res.timings["train_s"])
                    bat_wall.append(wall)
                else:
                    tr = wl = 0.0
                    for lr in lrs:
                        res, wall, _ = timed_simulate(make_config(args, sizes, [lr]))
                        tr += res.timings["train_s"]
                        wl += wall
                    seq_train.append(tr)
                    seq_wall.append(wl)
        med = statistics.median
        st, bt, sw, bw = med(seq_train), med(bat_train), med(seq_wall), med(bat_wall)
        rows.append([str(R), f"{st:8.3f}", f"{bt:8.3f}", f"{st / bt:5.2f}x", f"{sw:8.3f}", f"{bw:8.3f}",
                     f"{sw / bw:5.2f}x", fmt_ms(bt / (R * args.steps))])
    table(
        f"[3] Batched vs sequential  (R Adam runs, learning rates log-spaced in [0.01, 1], same seed so data "
        f"shared; {args.steps} steps; times in s)",
        ["R", "seq train_s", "batched train_s", "seq/batched", "seq wall", "batched wall", "seq/batched",
         "ms/run-step (batched)"],
        rows,
        ["  seq: R separate simulate() calls of one run each (summed); batched: one simulate() call with all R "
         "runs on a leading axis;",
         "  train_s: timings['train_s'] (step loop only); wall: whole simulate() calls (incl. data generation and "
         "setup, once per call);",
         f"  eval={{'at': 'none'}}, snapshots none, path=False; median of {args.batch_repeats} repeat(s), the order "
         "of seq/batched alternating."],
    )


# --------------------------------------------------------------------------- main


def parse_ints(text: str) -> list[int]:
    return [int(v) for v in text.split(",") if v.strip()]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    p.add_argument("--backend", choices=("numpy", "torch", "cupy"), default=None,
                   help="array backend (default: numpy on cpu; cupy if installed else torch on cuda)")
    p.add_argument("--dtype", choices=("float32", "float64"), default="float32")
    p.add_argument("--quick", action="store_true", help="small sizes (400,200,300), 5 steps, 2 repeats")
    p.add_argument("--sizes", default=None, help="n,d,h (default 2000,1000,1500)")
    p.add_argument("--steps", type=int, default=None, help="Adam steps per simulation (default 10)")
    p.add_argument("--repeats", type=int, default=None,
                   help="repeats of table 1 (default 5; --quick 2)")
    p.add_argument("--write-repeats", type=int, default=None,
                   help="repeats of table 2 (default 15; --quick 2): file-writing times vary with the page cache")
    p.add_argument("--info-repeats", type=int, default=2,
                   help="repeats of the information-only rows of table 2 (lzf, gzip, float16)")
    p.add_argument("--batch-repeats", type=int, default=None, help="repeats of table 3 (default 2; --quick 1)")
    p.add_argument("--floor-k", type=int, default=10, help="best-of-k for the GEMM floor")
    p.add_argument("--step-runs", default=None,
                   help="runs batched in table 1 (default 1 on cpu, 1,16 on cuda)")
    p.add_argument("--batch-runs", default="1,4,16", help="R values of table 3")
    p.add_argument("--tables", default="1,2,3", help="which tables to run")
    p.add_argument("--tmpdir", default=None, help="directory for the temporary trajectory files")
    p.add_argument("--wait-idle", type=float, default=0.0, metavar="S",
                   help="before each table wait up to S seconds for other processes to go quiet (shared machines)")
    args = p.parse_args(argv)

    if args.sizes is None:
        args.sizes = "400,200,300" if args.quick else "2000,1000,1500"
    sizes = tuple(parse_ints(args.sizes))
    if len(sizes) != 3 or min(sizes) <= 0:
        p.error("--sizes must be three positive integers n,d,h")
    if args.steps is None:
        args.steps = 5 if args.quick else 10
    if args.steps < 2:
        p.error("--steps must be >= 2 (per-step times are differences of step stamps)")
    if args.repeats is None:
        args.repeats = 2 if args.quick else 5
    if args.write_repeats is None:
        args.write_repeats = 2 if args.quick else 15
    if args.batch_repeats is None:
        args.batch_repeats = 1 if args.quick else 2
    args.step_runs = parse_ints(args.step_runs or ("1,16" if args.device == "cuda" else "1"))
    args.batch_runs = parse_ints(args.batch_runs)
    tables = set(parse_ints(args.tables))

    backend = get_backend(args.device, args.dtype, args.backend)
    args.backend = backend.name
    header(args, backend, sizes)  # type: ignore[arg-type]
    t0 = time.perf_counter()
    meter = LoadMeter()
    if 1 in tables:
        wait_idle(args.wait_idle)
        meter.start()
        bench_step(args, backend, sizes)  # type: ignore[arg-type]
        meter.report()
    if 2 in tables:
        wait_idle(args.wait_idle)
        meter.start()
        with tempfile.TemporaryDirectory(prefix="htdyn_bench_", dir=args.tmpdir) as tmp:
            bench_write(args, backend, sizes, Path(tmp))  # type: ignore[arg-type]
            bench_writer(args, sizes, Path(tmp))  # type: ignore[arg-type]
        meter.report()
    if 3 in tables:
        wait_idle(args.wait_idle)
        meter.start()
        bench_batched(args, backend, sizes)  # type: ignore[arg-type]
        meter.report()
    print(f"\ntotal benchmark time: {time.perf_counter() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
