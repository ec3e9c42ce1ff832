"""Muon (optimizer.name = "muon") against an independent torch implementation written here, step by step.

The reference below is a plain per-run loop in float64 following Jordan et al. (2024) and
github.com/KellerJordan/Muon ``muon.py``: momentum ``lerp_``, Nesterov ``grad.lerp_(buf, mu)``,
Newton-Schulz on the wide orientation, scale sqrt(max(1, rows/cols)), decoupled weight decay.
The read-out a, when trained, is the 1 x h weight of an nn.Linear(h, 1).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import TINY, StepLog, rel_err

import htdyn
from htdyn.config import ModelConfig, OptimizerConfig, RunConfig, simulation
from htdyn.train.data import make_dataset, make_init
from htdyn.train.optimizers.muon import NS_COEFFICIENTS, newton_schulz

STEPS = 8
# float64: rounding differences of ~1e-16 are amplified by at most a^5 ~ 500 in the Newton-Schulz
# iteration (its slope at 0) and by the step's Lipschitz factor: far below 1e-9 in 8 steps.
RTOL = 1e-9


def _ns_reference(torch, G):
    """Jordan et al.'s zeropower_via_newtonschulz5 on one matrix, in float64 (no bfloat16)."""
    a, b, c = 3.4445, -4.7750, 2.0315
    X = G.clone()
    if G.size(0) > G.size(1):
        X = X.T
    X = X / (X.norm() + 1e-7)
    for _ in range(5):
        A = X @ X.T
        B = b * A + c * A @ A
        X = a * X + B @ X
    if G.size(0) > G.size(1):
        X = X.T
    return X


def _torch_muon(torch, run: RunConfig, steps: int = STEPS):
    """One run trained by Muon in torch, autograd gradients; returns W_t for t = 0..steps and a_T."""
    m, o = run.model, run.optimizer
    ds = make_dataset(m, run.data_seed_)
    W0, a0 = make_init(m, run.init_seed_)
    X = torch.tensor(ds.X, dtype=torch.float64)
    y = torch.tensor(ds.y, dtype=torch.float64)
    W = torch.tensor(W0, dtype=torch.float64, requires_grad=True)
    a = torch.tensor(a0, dtype=torch.float64, requires_grad=m.train_readout)
    params = [W, a] if m.train_readout else [W]
    bufs = [torch.zeros_like(p) for p in params]
    traj = [W.detach().clone().numpy()]
    for _ in range(steps):
        f = torch.tanh(X @ W.T / math.sqrt(m.d)) @ a / math.sqrt(m.h)
        loss = torch.mean((f - y) ** 2)
        grads = torch.autograd.grad(loss, params)
        with torch.no_grad():
            for p, g, buf in zip(params, grads, bufs):
                buf.lerp_(g, 1 - o.momentum)
                v = g.lerp(buf, o.momentum)
                v2 = v if v.ndim == 2 else v.reshape(1, -1)
                upd = _ns_reference(torch, v2) * max(1, v2.size(0) / v2.size(1)) ** 0.5
                p.mul_(1 - o.lr * o.weight_decay)
                p.add_(upd.reshape(p.shape), alpha=-o.lr)
        traj.append(W.detach().clone().numpy())
    return traj, a.detach().numpy(), [b.numpy() for b in bufs]


def _run(lr: float, momentum: float, seed: int, weight_decay: float = 0.0, **model) -> RunConfig:
    return RunConfig(model=ModelConfig(**{**TINY, **model}),
                     optimizer=OptimizerConfig("muon", lr=lr, momentum=momentum, weight_decay=weight_decay),
                     seed=seed)


CASES = {
    # h = 24 > d = 16: the transposed (tall) path and the scale sqrt(24/16)
    "tall": [_run(0.05, 0.95, 1), _run(0.2, 0.8, 2, weight_decay=0.1), _run(0.02, 0.5, 1)],
    # h = 12 < d = 16: no transpose, scale 1
    "wide": [_run(0.05, 0.95, 3, h=12), _run(0.1, 0.9, 4, h=12)],
    "readout": [_run(0.05, 0.95, 5, train_readout=True), _run(0.1, 0.6, 6, weight_decay=0.05, train_readout=True)],
}


@pytest.mark.parametrize("case", list(CASES))
def test_muon_equals_independent_torch_loop(torch, case: str) -> None:
    runs = CASES[case]
    log = StepLog()
    res = htdyn.simulate(simulation(runs, steps=STEPS, dtype="float64", snapshots={"at": "none"}), path=False,
                         on_step=log)
    assert log.runs[0] == list(range(len(runs)))  # one batch: per-run lr / momentum / decay
    for j, run in enumerate(runs):
        traj, a_ref, bufs = _torch_muon(torch, run)
        ours = log.trajectory(j)
        assert np.linalg.norm(traj[-1] - traj[0]) > 1e-2 * np.linalg.norm(traj[0])  # W really moved
        for t in range(STEPS + 1):
            assert rel_err(ours[t], traj[t]) < RTOL, (j, t, rel_err(ours[t], traj[t]))
        assert rel_err(log.state[STEPS - 1]["momentum_buffer"][j], bufs[0]) < RTOL
        if run.model.train_readout:
            assert rel_err(res.runs[j].a_final, a_ref) < RTOL
            assert np.linalg.norm(a_ref - make_init(run.model, run.init_seed_)[1]) > 1e-3


def _p5(s: np.ndarray) -> np.ndarray:
    a, b, c = NS_COEFFICIENTS
    for _ in range(5):
        s = a * s + b * s**3 + c * s**5
    return s


@pytest.mark.parametrize("shape", [(3, 50, 80), (2, 90, 40), (1, 30, 45)])
def test_newton_schulz_acts_on_singular_values(shape: tuple[int, int, int]) -> None:
    """NS(X) = U p5(S / ||X||_F) V^T with p the quintic (five times); the values land in [0.68, 1.14].

    The band: for s / ||X||_F >= 0.01 the five-fold quintic maps into [0.6818, 1.1344] (a fine grid on
    [0.01, 1]); a Gaussian matrix of these shapes has s_min / ||X||_F >= 0.02.  (Inputs between 0.0015 and
    0.01 of ||X||_F can reach p's maximum 1.2026 at the fifth step; smaller ones stay below 0.68.)
    """
    import array_api_compat.numpy as xp

    X = np.random.default_rng(sum(shape)).standard_normal(shape)
    O = newton_schulz(xp, X)
    for Xi, Oi in zip(X, O):
        U, S, Vt = np.linalg.svd(Xi, full_matrices=False)
        rel = S / (np.linalg.norm(Xi) + 1e-7)
        assert rel.min() > 0.02
        np.testing.assert_allclose(Oi, (U * _p5(rel)) @ Vt, rtol=0, atol=1e-12)
        sv = np.linalg.svd(Oi, compute_uv=False)
        assert sv.min() > 0.68 and sv.max() < 1.135, (sv.min(), sv.max())
    grid = _p5(np.linspace(0.01, 1.0, 200001))
    assert 0.68 < grid.min() < 0.683 and 1.13 < grid.max() < 1.135


def test_newton_schulz_on_torch_equals_numpy(torch) -> None:
    """The same code path on the torch namespace (and hence CUDA) gives the numpy answer."""
    import array_api_compat.numpy as xnp
    import array_api_compat.torch as xt

    X = np.random.default_rng(0).standard_normal((2, 40, 25))
    np.testing.assert_allclose(newton_schulz(xt, torch.tensor(X)).numpy(), newton_schulz(xnp, X), rtol=0,
                               atol=1e-13)
