"""Demo ``real-mlp``: does a large learning rate craft heavy tails in a real network's layers?

A small MLP (64 -> 256 -> 128 -> 10, ReLU) is trained on the handwritten digits that ship
inside scikit-learn (``sklearn.datasets.load_digits``: 1797 8x8 images, no download),
full-batch, with cross-entropy and Adam at a small and a large learning rate, from the same
initialisation.  :func:`htdyn.watch` records every layer's ESD every 10 steps; the demo prints
per layer alpha_Hill (the paper's PL_Alpha_Hill, xmin at the median) at the start and the
end, the Martin-Mahoney phase and the test accuracy, and draws the ESD evolution of each
layer as a heat map.  It is the paper's question (Kothapalli et al. 2025: large learning
rates craft a spike, then a heavy tail, in the two-layer teacher-student model) asked of a
real network.  Needs the optional extra ``real`` (scikit-learn) and torch.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from .common import DemoResult, demo_dir

NAME = "real-mlp"
SUMMARY = "an MLP on scikit-learn's digits, Adam at a small and a large lr: alpha_Hill and phase per layer"
#: Adam's learning rates: a usual one and a large one
LRS = (1e-3, 1e-1)
#: the hidden widths; train / test split of the 1797 digits
HIDDEN, N_TRAIN = (256, 128), 1437
#: log10-lambda bins of the heat maps (the hidden layers have 64 and 128 eigenvalues)
BINS = 30


def load_data(seed: int = 0) -> tuple[Any, Any, Any, Any]:
    """The digits, shuffled by ``seed``, standardised with the training set's statistics: X, y, X_test, y_test."""
    from ..errors import ConfigError

    try:
        from sklearn.datasets import load_digits
    except ImportError:
        raise ConfigError("demo real-mlp needs scikit-learn: pip install 'htdyn[real]'") from None
    import torch

    X, y = load_digits(return_X_y=True)
    p = np.random.default_rng(seed).permutation(len(X))
    X, y = X[p], y[p]
    mu, sd = X[:N_TRAIN].mean(0), X[:N_TRAIN].std(0) + 1e-8
    X = torch.tensor((X - mu) / sd, dtype=torch.float32)
    y = torch.tensor(y)
    return X[:N_TRAIN], y[:N_TRAIN], X[N_TRAIN:], y[N_TRAIN:]


def train(lr: float, steps: int, path: os.PathLike, data: tuple, seed: int = 0) -> dict[str, Any]:
    """Train the MLP with full-batch Adam at ``lr`` for ``steps``, watched; returns test accuracy and loss."""
    import torch

    from ..watcher import watch

    X, y, Xt, yt = data
    torch.manual_seed(seed)
    sizes = (X.shape[1], *HIDDEN, 10)
    layers: list[Any] = []
    for i in range(len(sizes) - 1):
        layers += [torch.nn.Linear(sizes[i], sizes[i + 1]), torch.nn.ReLU()]
    model = torch.nn.Sequential(*layers[:-1])
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    loss = torch.zeros(())
    with watch(model, path, every=10, store="spectra", steps=steps, name=f"digits_adam_lr{lr:g}",
               overwrite=True) as w:
        for _ in range(steps):
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(X), y)
            loss.backward()
            opt.step()
            w.step(loss=loss, lr=lr)
    with torch.no_grad():
        acc = float((model(Xt).argmax(1) == yt).float().mean())
    return {"test_accuracy": acc, "train_loss": loss.item(), "watch_s": w.overhead_s}


def run(outdir: str | os.PathLike | None = None, quick: bool = True) -> DemoResult:
    """Run the demo (``quick``: 200 steps per learning rate, seconds; else 1000)."""
    import torch

    out = demo_dir(NAME, outdir)
    steps = 200 if quick else 1000
    data = load_data()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # matrices this small train faster on one thread of a shared 2-core machine
    try:
        paths, nums = [], {}
        for lr in LRS:
            path = out / f"digits_adam_lr{lr:g}.h5"
            res = train(lr, steps, path, data)
            paths.append(path)
            nums.update({f"lr{lr:g}_{k}": v for k, v in res.items()})
            nums.update(_layer_numbers(path, f"lr{lr:g}"))
    finally:
        torch.set_num_threads(threads)
    figures = figure(paths, out, steps)
    return DemoResult(NAME, out, figures, nums, _text(nums, steps, figures), paths)


def _layer_numbers(path: os.PathLike, key: str) -> dict[str, Any]:
    from ..analysis.phases import PHASES
    from ..io.reader import open as open_traj

    nums: dict[str, Any] = {}
    with open_traj(path) as traj:
        for r in traj.runs:
            m = r.metrics
            k = f"{key}_layer{r.label}"
            nums.update({f"{k}_alpha_hill_start": float(m["alpha_hill"][0]),
                         f"{k}_alpha_hill_end": float(m["alpha_hill"][-1]),
                         f"{k}_alpha_ks_end": float(m["alpha_ks"][-1]),
                         f"{k}_phase_start": PHASES[int(m["phase"][0])], f"{k}_phase_end": PHASES[int(m["phase"][-1])],
                         f"{k}_spikes_end": int(m["n_spikes"][-1]), f"{k}_shape": "x".join(map(str, r.shape))})
    return nums


def figure(paths: list, out: os.PathLike, steps: int) -> list:
    """Per learning rate (columns): alpha_Hill of every layer against step, then each layer's ESD heat map."""
    from ..plot.common import add_caption, new_figure, save
    from ..plot.source import Source
    from ..plot.spectra import log_esd_histograms

    fig = new_figure(10.0, 10.5)
    n_layers = len(HIDDEN) + 1
    axes = fig.subplots(n_layers + 1, len(paths), squeeze=False,
                        gridspec_kw={"height_ratios": (1.2, *([1.0] * n_layers))})
    for j, (path, lr) in enumerate(zip(paths, LRS)):
        with Source(path) as src:
            ax = axes[0, j]
            for i in range(src.n_runs):
                rv = src.run(i)
                m = rv.run.metrics
                ax.plot(rv.run.metric_steps, m["alpha_hill"], "o-", ms=2,
                        label=f"layer {rv.run.label} ({rv.shape[0]}x{rv.shape[1]})")
                st, _, edges, H = log_esd_histograms(rv, BINS)
                hax = axes[i + 1, j]
                logH = np.log10(np.where(H > 0, H, np.nan))
                mesh = hax.pcolormesh(np.asarray(st, dtype=float), 0.5 * (edges[1:] + edges[:-1]), logH.T,
                                      shading="nearest", cmap="viridis")
                fig.colorbar(mesh, ax=hax, label=r"$\log_{10}$ density")
                hax.set_title(f"Adam lr={lr:g}, layer {rv.run.label} ({rv.shape[0]}x{rv.shape[1]}): "
                              f"alpha_Hill {m['alpha_hill'][0]:.2f} -> {m['alpha_hill'][-1]:.2f}", fontsize=8)
                hax.set_ylabel(r"$\log_{10}\lambda$ of $W^\top W$", fontsize=7)
            ax.axhline(2.0, color="tab:red", lw=0.7, ls="--")
            ax.set_ylabel(r"$\alpha_{Hill}$")
            ax.set_title(f"Adam lr={lr:g}: alpha_Hill per layer (dashed: 2)", fontsize=9)
            ax.legend(fontsize=6)
        axes[-1, j].set_xlabel("step t")
    add_caption(fig, f"MLP 64-{'-'.join(map(str, HIDDEN))}-10 on sklearn digits ({N_TRAIN} train), full-batch "
                f"Adam, cross-entropy, {steps} steps, same init; ESD recorded every 10 steps by htdyn.watch")
    return save(fig, os.path.join(out, "real_mlp"))


def _text(nums: dict, steps: int, figures: list) -> str:
    lines = [f"real-mlp: MLP 64-{'-'.join(map(str, HIDDEN))}-10 on scikit-learn's digits, full-batch Adam, "
             f"{steps} steps, ESD every 10 steps (htdyn.watch)"]
    for lr in LRS:
        k = f"lr{lr:g}"
        lines.append(f"  Adam lr={lr:g}: test accuracy {nums[k + '_test_accuracy']:.3f}, final train loss "
                     f"{nums[k + '_train_loss']:.3g}")
        for name in ("0", "2", "4"):
            p = f"{k}_layer{name}"
            lines.append(f"    layer {name} ({nums[p + '_shape']}): alpha_Hill {nums[p + '_alpha_hill_start']:.2f} -> "
                         f"{nums[p + '_alpha_hill_end']:.2f}, phase {nums[p + '_phase_start']} -> "
                         f"{nums[p + '_phase_end']}, {nums[p + '_spikes_end']} spikes at the end")
    small, large = (f"lr{lr:g}" for lr in LRS)
    end = {k: [nums[f"{k}_layer{n}_alpha_hill_end"] for n in ("0", "2")] for k in (small, large)}
    lines += [f"  look at: the hidden layers end at alpha_Hill {end[large][0]:.2f}, {end[large][1]:.2f} with "
              f"lr={LRS[1]:g} against {end[small][0]:.2f}, {end[small][1]:.2f} with lr={LRS[0]:g} (the heat maps: "
              "the large lr moves the ESD up by decades within ten steps and spreads it into a tail), as in the "
              "paper's two-layer model; the output layer has only 10 eigenvalues, too few for a tail fit",
              f"  figure: {figures[0]}"]
    return "\n".join(lines)
