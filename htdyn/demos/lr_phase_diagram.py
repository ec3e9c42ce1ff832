"""Demo ``lr-phase-diagram``: a small learning-rate sweep for GD and Adam: final phase and alpha against lr.

Ten steps at each lr of a log grid, for both optimizers from the same initialisation: the
paper's lr-sweep panel (Kothapalli et al. 2025, Sec. 5) at a reduced size, and the phase
diagram over lr x step.  PL_Alpha_Hill stays at its MP value (~2.45) until an
optimizer-specific lr, then falls; GD's threshold lies three to four decades above Adam's.
"""

from __future__ import annotations

import os

from .common import DemoResult, demo_dir, simulate_and_analyze

NAME = "lr-phase-diagram"
SUMMARY = "a small lr sweep for GD and Adam: final phase and alpha_Hill against lr"
ADAM_LRS = (0.01, 0.1, 1.0, 10.0)
GD_LRS = (10.0, 100.0, 1000.0, 3000.0)


def run(outdir: str | os.PathLike | None = None, quick: bool = True) -> DemoResult:
    """Run the demo (``quick``: n=800, d=200, h=300; else the paper's size; 10 steps, one seed)."""
    from ..config import ModelConfig, OptimizerConfig, RunConfig
    from ..plot import save, sweep

    out = demo_dir(NAME, outdir)
    model = ModelConfig(n=800, d=200, h=300) if quick else ModelConfig()
    grid = (("adam", ADAM_LRS), ("gd", GD_LRS))
    runs = [RunConfig(model=model, optimizer=OptimizerConfig(o, lr=lr)) for o, lrs in grid for lr in lrs]
    path = out / "lr_phase_diagram.h5"
    table = simulate_and_analyze(path, runs, 10, snapshots=[0, 1, 2, 5, 10], updates=False,
                                 metrics=("esd", "norms", "powerlaw", "mp", "phase", "teacher", "features"))
    table = sweep.sweep_table([path])
    last = sweep.final_rows(table)
    figures = save(sweep.plot_sweep_panel(table, caption=f"n={model.n} d={model.d} h={model.h}, 10 steps, seed 0"),
                   out / "sweep_panel")
    for opt in ("adam", "gd"):
        figures += save(sweep.plot_phase_diagram(table[table["optimizer.name"] == opt],
                                                 caption=f"{opt}, n={model.n} d={model.d} h={model.h}"),
                        out / f"phase_diagram_{opt}")
    nums: dict = {}
    lines = []
    for opt in ("adam", "gd"):
        g = last[last["optimizer.name"] == opt].sort_values("optimizer.lr")
        for _, r in g.iterrows():
            key = f"{opt}_lr{r['optimizer.lr']:g}"
            nums[f"{key}_alpha_hill"] = float(r["alpha_hill"])
            nums[f"{key}_phase"] = str(r["phase"])
            nums[f"{key}_test_loss"] = float(r["test_loss"])
            lines.append(f"  {opt:4s} lr={r['optimizer.lr']:<6g} alpha_Hill={r['alpha_hill']:.2f}  "
                         f"phase={r['phase']:<13s} test={r['test_loss']:.3f}  sim(W,beta)={r['sim_beta']:.2f}")
        drop = g[g["alpha_hill"] < 2.3]["optimizer.lr"]
        nums[f"{opt}_first_lr_alpha_below_2.3"] = float(drop.iloc[0]) if len(drop) else float("nan")
    ratio = nums["gd_first_lr_alpha_below_2.3"] / nums["adam_first_lr_alpha_below_2.3"]
    nums["gd_over_adam_lr_ratio"] = ratio
    text = "\n".join([
        f"lr-phase-diagram ({'quick' if quick else 'paper'} size, n={model.n} d={model.d} h={model.h}): "
        "10 steps per lr",
        *lines,
        f"  alpha_Hill first drops below 2.3 at lr {nums['adam_first_lr_alpha_below_2.3']:g} for Adam and "
        f"{nums['gd_first_lr_alpha_below_2.3']:g} for GD ({ratio:.0f}x)",
        f"  look at: {out / 'sweep_panel.png'} (the paper's panel), {out / 'phase_diagram_adam.png'} "
        "(phase over lr x step)",
    ])

    return DemoResult(NAME, out, figures, nums, text, [path])
