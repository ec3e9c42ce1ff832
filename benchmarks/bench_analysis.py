"""Analysis benchmarks: metric cost against the eigvalsh floor, and `htdyn analyze` memory.

1. The paper's W-only metric sets (esd, norms, powerlaw, mp, phase, teacher) for one 1500 x 1000
   matrix against the floor: one float64 eigvalsh of the 1000 x 1000 Gram matrix, timed in
   the same process (target: at most 2x); and the ESD alone, and with the top-8 singular
   triplets (the ``top`` set, which the sweep's default store adds). Two matrices: a Gaussian W_0 and the W_10 of the
   paper's Adam lr=1 run (heavy-tailed, a spike). With --device cuda (CuPy), the same on a
   batch of matrices on the GPU.
2. `htdyn analyze` on a trajectory file of S snapshots (default 200) at paper size, run in a
   child process: peak resident memory above the level after imports and opening the file
   (target: at most 300 MB), for the W-only sets over all snapshots and for the update and
   drift sets over the first 20.

    python benchmarks/bench_analysis.py            # both parts (several minutes on 2 cores)
    python benchmarks/bench_analysis.py --quick    # smaller sizes, seconds
"""

from __future__ import annotations

import os

from htdyn.blas import THREAD_TIMEOUT

# as the htdyn command does (htdyn/blas.py), before numpy loads; 28 to measure without
os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", THREAD_TIMEOUT)

import argparse
import subprocess
import sys
import tempfile
import time

import numpy as np
from _machine import cpu_model  # benchmarks/ is on sys.path when a script runs


def best_of(fn, repeats: int) -> float:
    fn()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def machine() -> str:
    return f"{cpu_model()}, {os.cpu_count()} cores, numpy {np.__version__}"


def trained_matrix(n: int, d: int, h: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    import htdyn
    from htdyn.config import ModelConfig, OptimizerConfig, RunConfig, simulation

    run = RunConfig(model=ModelConfig(n=n, d=d, h=h), optimizer=OptimizerConfig("adam", lr=1.0))
    res = htdyn.simulate(simulation([run], steps=10, snapshots={"at": "none"}, eval={"at": "none"}),
                         path=False)
    W0 = htdyn.train.data.make_init(run.model, run.init_seed_)[0]
    beta = htdyn.train.data.make_dataset(run.model, run.data_seed_).beta
    return W0, res.runs[0].W_final.astype(np.float64), beta


#: the W-only sets the paper's numbers need (``top`` is timed apart: esd + top)
PAPER_SETS = ("esd", "norms", "powerlaw", "mp", "phase", "teacher")


def time_matrix(W: np.ndarray, beta: np.ndarray, device: str, repeats: int) -> tuple[float, ...]:
    """Best-of times of the floor (eigvalsh of the smaller Gram matrix), the paper's sets, esd, esd + top."""
    from htdyn.analysis.registry import matrix_metrics

    h, d = W.shape
    if device == "cuda":
        import cupy as xp

        W, beta = xp.asarray(W), xp.asarray(beta)
        sync = xp.cuda.Device().synchronize
    else:
        xp = np

        def sync() -> None:
            pass

    G = W.T @ W if d <= h else W @ W.T

    def floor() -> None:
        xp.linalg.eigvalsh(G)
        sync()

    def all_sets() -> None:
        matrix_metrics(W, PAPER_SETS, beta=beta)
        sync()

    def esd_only() -> None:
        matrix_metrics(W, ("esd",))
        sync()

    def esd_top() -> None:
        matrix_metrics(W, ("esd", "top"))
        sync()

    return (best_of(floor, repeats), best_of(all_sets, repeats), best_of(esd_only, repeats),
            best_of(esd_top, repeats))


def part1(n: int, d: int, h: int, repeats: int, device: str) -> None:
    from htdyn.analysis.registry import matrix_metrics

    W0, W10, beta = trained_matrix(n, d, h)
    print(f"\n## 1. the paper's W-only metric sets for one {h} x {d} matrix vs one float64 eigvalsh ({device})\n")
    print("| matrix | floor: eigvalsh(G) [ms] | paper's sets [ms] | ratio (target <= 2) | esd only [ms] "
          "| esd + top [ms] |")
    print("|---|---|---|---|---|---|")
    for name, W in (("Gaussian W_0", W0), ("Adam lr=1 W_10", W10)):
        tf, ta, te, tt = time_matrix(W, beta, device, repeats)
        print(f"| {name} | {tf * 1e3:.1f} | {ta * 1e3:.1f} | {ta / tf:.2f} | {te * 1e3:.1f} | {tt * 1e3:.1f} |")
    vals = matrix_metrics(W10, PAPER_SETS, beta=beta)
    keys = ("alpha_hill", "alpha_ks", "n_spikes", "sim_beta", "phase")
    print("\nW_10 values: " + ", ".join(f"{k}={vals[k]:.4g}" for k in keys))


CHILD = r"""
import sys, time, resource
import numpy as np
from htdyn.analysis.offline import analyze
def rss():
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS"):
                return int(line.split()[1]) / 1024
import htdyn, h5py
with htdyn.open(sys.argv[1]) as tr:
    _ = tr.runs[0].steps
base = rss()
steps = None if sys.argv[3] == "all" else list(range(int(sys.argv[3])))
t = time.perf_counter()
res = analyze(sys.argv[1], metrics=sys.argv[2].split(","), steps=steps, write=True)
dt = time.perf_counter() - t
with open("/proc/self/status") as fh:
    hwm = [int(l.split()[1]) / 1024 for l in fh if l.startswith("VmHWM")][0]
print(f"{base:.0f} {hwm:.0f} {hwm - base:.0f} {dt:.1f} {len({r['step'] for r in res.rows})}")
"""


def part2(n: int, d: int, h: int, snapshots: int) -> None:
    import htdyn
    from htdyn.config import ModelConfig, OptimizerConfig, RunConfig, simulation

    print(f"\n## 2. htdyn analyze on a {snapshots}-snapshot file, W {h} x {d} (peak RSS in a child process)\n")
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "long.h5")
        run = RunConfig(model=ModelConfig(n=n, d=d, h=h), optimizer=OptimizerConfig("adam", lr=0.1))
        t = time.perf_counter()
        htdyn.simulate(simulation([run], steps=snapshots - 1, snapshots={"at": 1}, eval={"at": "first_last"},
                                  output=path))
        size = os.path.getsize(path) / 2**20
        print(f"file: {size:.0f} MiB written in {time.perf_counter() - t:.0f} s\n")
        print("| metric sets | snapshots analysed | RSS before [MB] | peak [MB] | peak extra [MB] (target <= 300) "
              "| time [s] |")
        print("|---|---|---|---|---|---|")
        for sets, count in (("esd,norms,powerlaw,mp,phase,teacher", "all"), ("update,drift", "20")):
            out = subprocess.run([sys.executable, "-c", CHILD, path, sets, count], capture_output=True, text=True)
            if out.returncode != 0:
                print(out.stderr)
                continue
            base, hwm, extra, dt, k = out.stdout.split()
            print(f"| {sets} | {k} | {base} | {hwm} | {extra} | {dt} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes (n=400, d=200, h=300, 40 snapshots)")
    ap.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    ap.add_argument("--snapshots", type=int, default=200)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--skip-memory", action="store_true")
    args = ap.parse_args()
    n, d, h = (400, 200, 300) if args.quick else (2000, 1000, 1500)
    snaps = 40 if args.quick else args.snapshots
    print(f"# analysis benchmark: {machine()}")
    part1(n, d, h, args.repeats, args.device)
    if not args.skip_memory:
        part2(n, d, h, snaps)


if __name__ == "__main__":
    main()
