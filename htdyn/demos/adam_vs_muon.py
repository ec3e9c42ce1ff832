"""Demo ``adam-vs-muon``: Adam's first large step plants a spike; Muon's orthogonalised steps do not.

Full-batch training from the same W_0 with Adam at a large learning rate, Muon at the same
learning rate, and Muon at the learning rate whose first update has Adam's Frobenius norm.
Adam's first update is nearly rank one (a sign-GD step), so W_1 = W_0 + M_0 is a spiked random
matrix: an outlier leaves the Marchenko-Pastur bulk iff sigma_1(M_0) > (hd)^(1/4) and lands at
the Benaych-Georges-Nadakuditi (BGN) value ``sqrt((theta^2 + h)(theta^2 + d)) / theta``.  Muon's
update is U V^T-like (Newton-Schulz; docs/muon.md): its singular values sit near one, so the same
Frobenius mass is spread over min(h, d) directions and sigma_1(M_0) ~ lr sqrt(max(1, h/d)).
"""

from __future__ import annotations

import math
import os
from typing import Any

import numpy as np

from .common import DemoResult, demo_dir, simulate_and_analyze

NAME = "adam-vs-muon"
SUMMARY = "Adam's large first step plants a BGN spike; Muon's orthogonalised steps of the same size do not"
#: (optimizer, lr): Adam above its one-step spike threshold, Muon at the same lr and at Adam's step size
RUNS = (("adam", 0.3), ("muon", 0.3), ("muon", 5.0))
#: Muon's momentum (the reference's)
MUON_MOMENTUM = 0.95


def figure(path: Any, runs: tuple = RUNS, steps: int = 10) -> tuple[Any, list[dict]]:
    """The ESDs of W_0, W_1 and W_T side by side, one panel per run; returns the figure and what each panel drew.

    Each panel: counts of log10 lambda (eigenvalues of W^T W) for W_0, W_1 and W_T on shared bins, the MP
    edge of W_0 ((sqrt(h) + sqrt(d))^2 with unit-variance entries) and, where sigma_1(M_0) exceeds the
    BGN threshold, the BGN prediction of the step-1 outlier.  ``drawn[i]`` holds ``w0``, ``w1``, ``wT``
    (draw_esd's dicts), ``edge`` and ``bgn`` (log10 lambda of the lines; nan when not drawn).
    """
    from ..analysis import mp
    from ..plot.common import new_figure
    from ..plot.source import Source
    from ..plot.spectra import draw_esd, log_bin_edges

    fig = new_figure(3.6 * len(runs), 3.6)
    axes = np.atleast_1d(fig.subplots(1, len(runs), sharey=True))
    drawn = []
    with Source(path) as src:
        for i, ((opt, lr), ax) in enumerate(zip(runs, axes)):
            rv = src.run(i)
            shape = tuple(rv.shape)
            e0, e1, eT = rv.esd(0), rv.esd(1), rv.esd(steps)
            bins = log_bin_edges([e0, e1, eT], 60)
            d0 = draw_esd(ax, e0, shape, label="$W_0$", color="#D55E00", fits=False, bins=bins)
            d1 = draw_esd(ax, e1, shape, label="$W_1$", color="#009E73", fits=False, bins=bins)
            dT = draw_esd(ax, eT, shape, label=f"$W_{{{steps}}}$", color="#0072B2", fits=False, bins=bins)
            edge = 2 * math.log10(math.sqrt(shape[0]) + math.sqrt(shape[1]))
            ax.axvline(edge, color="k", ls="--", lw=0.8, label="MP edge of $W_0$")
            theta = float(np.linalg.norm(np.asarray(rv.run.update(0), dtype=np.float64), 2))
            bgn = float("nan")
            if theta > mp.bgn_threshold(shape):
                bgn = 2 * math.log10(float(mp.bgn_outlier(theta, shape)))
                ax.axvline(bgn, color="#CC79A7", lw=1.5, label="BGN: step-1 outlier")
            ax.set_title(f"{opt} lr={lr:g}: $\\sigma_1(M_0)$={theta:.1f}", fontsize=8)
            ax.set_xlabel(r"$\log_{10}\lambda$ (eigenvalues of $W^\top W$)")
            ax.legend(fontsize=6, loc="upper left")
            drawn.append({"w0": d0, "w1": d1, "wT": dT, "edge": edge, "bgn": bgn, "theta": theta})
    axes[0].set_ylabel("eigenvalues per bin")
    return fig, drawn


def run(outdir: str | os.PathLike | None = None, quick: bool = True, model: Any = None,
        steps: int = 10) -> DemoResult:
    """Run the demo (``quick``: n=1000, d=200, h=300; else the paper's size; ``model`` overrides both)."""
    from ..analysis import mp
    from ..config import ModelConfig, OptimizerConfig, RunConfig
    from ..plot.common import add_caption, run_caption, save
    from ..plot.source import Source

    out = demo_dir(NAME, outdir)
    model = model or (ModelConfig(n=1000, d=200, h=300) if quick else ModelConfig())
    runs = [RunConfig(model=model, optimizer=OptimizerConfig(o, lr=lr, momentum=MUON_MOMENTUM), label=f"{o} {lr:g}")
            for o, lr in RUNS]
    path = out / "adam_vs_muon.h5"
    table = simulate_and_analyze(path, runs, steps=steps, snapshots=[0, 1, steps],
                                 metrics=("esd", "norms", "powerlaw", "mp", "phase", "update"))
    shape = (model.h, model.d)
    nums: dict = {"mp_edge_sigma": math.sqrt(model.h) + math.sqrt(model.d), "bgn_threshold": mp.bgn_threshold(shape),
                  "steps": steps}
    for i, (opt, lr) in enumerate(RUNS):
        rows = table[table["run"] == i].set_index("step")
        theta = float(rows.loc[0, "update_spectral"])
        key = f"{opt}_lr{lr:g}"
        nums.update({f"{key}_sigma1_M0": theta, f"{key}_fro_M0": float(rows.loc[0, "update_fro"]),
                     f"{key}_stable_rank_M0": float(rows.loc[0, "update_stable_rank"]),
                     f"{key}_bgn_prediction": float(mp.bgn_outlier(theta, shape)) if theta > nums["bgn_threshold"]
                     else float("nan"),
                     f"{key}_sigma1_W1": float(rows.loc[1, "spectral_norm"]),
                     f"{key}_sigma1_WT": float(rows.loc[steps, "spectral_norm"]),
                     f"{key}_spikes_W1": int(rows.loc[1, "n_spikes"]),
                     f"{key}_spikes_WT": int(rows.loc[steps, "n_spikes"]),
                     f"{key}_alpha_hill_WT": float(rows.loc[steps, "alpha_hill"]),
                     f"{key}_phase_WT": str(rows.loc[steps, "phase"]),
                     f"{key}_loss_WT": float(rows.loc[steps, "loss"])})
    fig, _ = figure(path, RUNS, steps)
    fig.suptitle(f"the same W_0 after {steps} full-batch steps: Adam spikes, Muon does not", fontsize=10)
    with Source(path) as src:
        cap = run_caption(src.run(0).config).split(", ", 1)[1]
    add_caption(fig, f"{cap}; Muon momentum {MUON_MOMENTUM} (Nesterov), 5 Newton-Schulz steps; "
                f"BGN threshold (hd)^(1/4)={nums['bgn_threshold']:.1f}")
    figures = save(fig, out / "adam_vs_muon")
    return DemoResult(NAME, out, figures, nums, _text(nums, model, steps, quick, figures[0]), [path])


def _text(nums: dict, model: Any, steps: int, quick: bool, figure_path: Any) -> str:
    lines = [f"adam-vs-muon ({'quick' if quick else 'paper'} size, n={model.n} d={model.d} h={model.h}): "
             f"{steps} full-batch steps from the same W_0",
             f"  MP edge of W_0 in singular value: {nums['mp_edge_sigma']:.1f}; a rank-one update with sigma_1 > "
             f"{nums['bgn_threshold']:.1f} (BGN threshold) makes an outlier"]
    for opt, lr in RUNS:
        k = f"{opt}_lr{lr:g}"
        bgn = nums[f"{k}_bgn_prediction"]
        lines.append(
            f"  {opt:4s} lr={lr:<4g} step 0: ||M_0||_F={nums[f'{k}_fro_M0']:7.1f} "
            f"sigma_1(M_0)={nums[f'{k}_sigma1_M0']:6.2f}"
            f" stable rank {nums[f'{k}_stable_rank_M0']:6.1f} | BGN predicts sigma_1(W_1)="
            + (f"{bgn:6.1f}" if bgn == bgn else "  none") +
            f", measured {nums[f'{k}_sigma1_W1']:6.1f} ({nums[f'{k}_spikes_W1']} spikes) | step {steps}: "
            f"sigma_1={nums[f'{k}_sigma1_WT']:6.1f}, {nums[f'{k}_spikes_WT']} spikes, alpha_Hill="
            f"{nums[f'{k}_alpha_hill_WT']:.2f}, {nums[f'{k}_phase_WT']}, loss {nums[f'{k}_loss_WT']:.3f}")
    a, m = f"adam_lr{RUNS[0][1]:g}", f"muon_lr{RUNS[2][1]:g}"
    lines += [
        f"  look at: Adam's first step is nearly rank one (stable rank {nums[f'{a}_stable_rank_M0']:.1f}) and its "
        "outlier (green W_1) lands near the BGN prediction (pink line); Muon's step at the same Frobenius size "
        f"(||M_0||_F {nums[f'{m}_fro_M0']:.0f} vs {nums[f'{a}_fro_M0']:.0f}) has stable rank "
        f"{nums[f'{m}_stable_rank_M0']:.0f} and sigma_1 below the threshold: no outlier leaves the bulk; over the "
        "steps the whole bulk moves out instead.",
        f"  figure: {figure_path}"]
    return "\n".join(lines)
