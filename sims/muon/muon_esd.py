"""Muon's ESD over a learning-rate grid: alpha_Hill, spikes past the MP edge, phase, test loss (docs/muon.md).

Trains Muon over ``--lrs`` and Adam at ``--adam-lrs`` (the reference: its one-step spike), ``--seeds``
seeds each, full batch, float32, snapshots at ``--at``; analyses the file and prints one markdown table
row per (optimizer, lr, step): mean +- std over seeds, the phase as counts over seeds.

    nice -n 10 python sims/muon/muon_esd.py --size paper --steps 10 --out outputs/muon/paper10
    nice -n 10 python sims/muon/muon_esd.py --size small --steps 1000 --out outputs/muon/small1000
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from pathlib import Path

from htdyn.config import ModelConfig, OptimizerConfig, RunConfig
from htdyn.demos.common import simulate_and_analyze

SIZES = {"paper": dict(n=2000, d=1000, h=1500), "small": dict(n=200, d=100, h=150)}
COLS = ("alpha_hill", "n_spikes", "spectral_norm", "test_loss", "net_test_loss")


def runs_for(size: str, lrs: list[float], adam_lrs: list[float], seeds: int, momentum: float) -> list[RunConfig]:
    """Muon at every lr and Adam at every adam lr, seeds 0..seeds-1, at the named size."""
    model = ModelConfig(**SIZES[size])
    out = []
    for seed in range(seeds):
        out += [RunConfig(model=model, optimizer=OptimizerConfig("muon", lr=lr, momentum=momentum), seed=seed,
                          label=f"muon {lr:g}") for lr in lrs]
        out += [RunConfig(model=model, optimizer=OptimizerConfig("adam", lr=lr), seed=seed, label=f"adam {lr:g}")
                for lr in adam_lrs]
    return out


def table_markdown(table, runs: list[RunConfig]) -> str:
    """One row per (optimizer, lr, step): mean +- std over seeds of COLS, the phases counted."""
    table = table.copy()
    table["label"] = [runs[int(r)].label for r in table["run"]]
    head = "| optimizer | lr | step | alpha_Hill | spikes | sigma_1(W) | test loss (ridge) | test loss (net) | phase |"
    lines = [head, "|" + "---|" * 9]
    for (label, step), g in table.groupby(["label", "step"], sort=False):
        opt, lr = label.split()
        cells = [f"{g[c].mean():.3g} ± {g[c].std(ddof=0):.2g}" for c in COLS]
        phases = ", ".join(f"{k} ×{v}" for k, v in Counter(g["phase"]).most_common())
        lines.append(f"| {opt} | {lr} | {int(step)} | " + " | ".join(cells) + f" | {phases} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", choices=sorted(SIZES), default="small")
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--lrs", type=float, nargs="+", default=[0.01, 0.1, 1.0, 3.0, 10.0])
    p.add_argument("--adam-lrs", type=float, nargs="*", default=[0.03, 0.3])
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--momentum", type=float, default=0.95, help="Muon's momentum (the reference's 0.95)")
    p.add_argument("--at", type=int, nargs="+", default=None, help="snapshot steps (default 0, 1, 10, 100, ..)")
    p.add_argument("--out", type=Path, default=Path("outputs/muon/run"))
    a = p.parse_args(argv)
    at = a.at or sorted({0, 1, a.steps, *[10**k for k in range(1, 6) if 10**k < a.steps]})
    runs = runs_for(a.size, a.lrs, a.adam_lrs, a.seeds, a.momentum)
    a.out.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    table = simulate_and_analyze(a.out / "muon_esd.h5", runs, steps=a.steps, snapshots=at)
    table["label"] = [runs[int(r)].label for r in table["run"]]
    table.to_csv(a.out / "muon_esd.csv", index=False)
    md = table_markdown(table, runs)
    m = SIZES[a.size]
    head = (f"{a.size} size n={m['n']} d={m['d']} h={m['h']}, {a.steps} steps, {a.seeds} seeds, float32, "
            f"Muon momentum {a.momentum}; {time.time() - t0:.0f} s")
    (a.out / "muon_esd.md").write_text(head + "\n\n" + md + "\n")
    print(head)
    print(md)


if __name__ == "__main__":
    main()
