"""The penalties do what they are for, in training (small size, paired seeds: same data and init).

related.md B.3.3: with the weighted-alpha penalty at a moderate learning rate the Hill alpha
of W after training is lower than without it in at least 4 of 5 seeds; the stable-rank
penalty lowers the stable rank likewise; the lower threshold keeps the penalty from pushing
its value far below the threshold; a large coefficient without a guard collapses the rank.
"""

from __future__ import annotations

import array_api_compat.numpy as xnp
import numpy as np

from htdyn.analysis.esd import esd
from htdyn.analysis.metrics import stable_rank
from htdyn.analysis.powerlaw import fit_hill
from htdyn.config import ModelConfig, OptimizerConfig, PenaltyConfig, RunConfig, simulation
from htdyn.train.penalties import WeightedAlpha, spectrum
from htdyn.train.simulate import simulate

MODEL = ModelConfig(n=256, d=32, h=48, n_test=64)
SEEDS = range(5)
STEPS = 200


def train(penalties: list[PenaltyConfig], lr: float = 0.01) -> list[list[np.ndarray]]:
    """W_T of every (penalty, seed): one simulation, Adam at a moderate lr, seeds paired across penalties."""
    runs = [RunConfig(model=MODEL, optimizer=OptimizerConfig("adam", lr=lr), penalty=p, seed=s)
            for p in penalties for s in SEEDS]
    res = simulate(simulation(runs, steps=STEPS, snapshots={"at": "none"}, eval={"at": "first_last"}), path=False)
    assert not any(r.diverged for r in res.runs)
    W = [r.W_final for r in res.runs]
    return [W[i * len(SEEDS):(i + 1) * len(SEEDS)] for i in range(len(penalties))]


def alpha(W: np.ndarray) -> float:
    return fit_hill(esd(W)).alpha


def srank(W: np.ndarray) -> float:
    return float(stable_rank(esd(W)))


def test_weighted_alpha_lowers_alpha_and_stable_rank_penalty_lowers_stable_rank() -> None:
    plain, wa, sr = train([PenaltyConfig("none"), PenaltyConfig("weighted_alpha", coefficient=0.01),
                           PenaltyConfig("stable_rank", coefficient=0.01)])
    lower_alpha = sum(alpha(w) < alpha(p) for w, p in zip(wa, plain))
    lower_srank = sum(srank(w) < srank(p) for w, p in zip(sr, plain))
    assert lower_alpha >= 4, [(alpha(w), alpha(p)) for w, p in zip(wa, plain)]
    assert lower_srank >= 4, [(srank(w), srank(p)) for w, p in zip(sr, plain)]


def test_lower_threshold_stops_the_push_and_no_guard_over_regularizes() -> None:
    # unguarded at mu = 0.1 alpha * ln(lambda_max) falls far below the threshold; guarded it stops near it
    plain, free, guarded = train([PenaltyConfig("none"), PenaltyConfig("weighted_alpha", coefficient=0.1),
                                  PenaltyConfig("weighted_alpha", coefficient=0.1, lower_threshold=9.0)])

    def R(W: np.ndarray) -> float:
        return float(WeightedAlpha()(xnp, spectrum(xnp, W[None].astype(np.float64)).lam)[0][0])

    assert all(R(p) > 13.0 for p in plain)  # the threshold binds: without a penalty R stays above it
    assert all(R(f) < 7.0 for f in free)
    assert all(8.5 < R(g) < 9.3 for g in guarded)  # Adam's last steps overshoot a little, [R(g) for g in guarded]
    # a large stable-rank coefficient without a guard: rank-one-like (stable rank ~1.6; ~9 without)
    (collapsed,) = train([PenaltyConfig("stable_rank", coefficient=1.0)])
    assert all(srank(c) < 2.0 < 8.0 < srank(p) for c, p in zip(collapsed, plain)), [srank(c) for c in collapsed]
