"""Optimizers and schedules against torch.optim on the same student, data and initial weights.

The torch student is built here from the arrays htdyn itself draws (htdyn.train.data.make_dataset /
make_init with the run's seeds), trained with torch.optim in float64 for 10 full-batch steps, and
W_t is compared at every step with the W_t htdyn exposes through ``on_step``.
"""

from __future__ import annotations

import math

import array_api_compat.numpy as xp
import numpy as np
import pytest
from conftest import TINY, StepLog, rel_err

import htdyn
from htdyn.activations import get_activation
from htdyn.config import ModelConfig, OptimizerConfig, RunConfig, ScheduleConfig, simulation
from htdyn.train.data import STREAM_SHUFFLE, make_dataset, make_init, rng
from htdyn.train.model import loss_and_grad

STEPS = 10
# float64, 10 steps: per-step rounding differences (summation order, lerp vs axpy in Adam) are
# ~1e-16 relative and grow at most by the step's Lipschitz factor (< 10 here) per step: << 1e-10.
RTOL_W = 1e-10


def _htdyn_run(run: RunConfig, steps: int = STEPS):
    log = StepLog()
    res = htdyn.simulate(simulation([run], steps=steps, dtype="float64", snapshots={"at": "none"}),
                         path=False, on_step=log)
    return res.runs[0], log


def _torch_run(torch, run: RunConfig, steps: int = STEPS, sign: bool = False):
    """The same training in torch: student, data and init from htdyn's seeded streams."""
    m = run.model
    ds = make_dataset(m, run.data_seed_)
    W0, a0 = make_init(m, run.init_seed_)
    X = torch.tensor(ds.X, dtype=torch.float64)
    y = torch.tensor(ds.y, dtype=torch.float64)
    W = torch.nn.Parameter(torch.tensor(W0, dtype=torch.float64))
    a = torch.nn.Parameter(torch.tensor(a0, dtype=torch.float64), requires_grad=m.train_readout)
    params = [W, a] if m.train_readout else [W]
    o = run.optimizer
    if o.name == "gd":
        opt = torch.optim.SGD(params, lr=o.lr, weight_decay=o.weight_decay)
    elif o.name in ("momentum", "nesterov"):
        opt = torch.optim.SGD(params, lr=o.lr, momentum=o.momentum, weight_decay=o.weight_decay,
                              nesterov=o.name == "nesterov")
    elif o.name == "adam":
        opt = torch.optim.Adam(params, lr=o.lr, betas=(o.beta1, o.beta2), eps=o.eps, weight_decay=o.weight_decay)
    elif o.name == "adamw":
        opt = torch.optim.AdamW(params, lr=o.lr, betas=(o.beta1, o.beta2), eps=o.eps, weight_decay=o.weight_decay)
    elif o.name == "sign":  # no torch optimizer: sign descent, coupled decay, on torch's autograd gradient
        opt = torch.optim.SGD(params, lr=o.lr)
    else:
        raise AssertionError(o.name)
    sched = None
    if run.schedule.name == "step":
        sched = torch.optim.lr_scheduler.StepLR(opt, step_size=run.schedule.step_size, gamma=run.schedule.gamma)
    else:
        assert run.schedule.name == "constant"
    phi = {"tanh": torch.tanh, "relu": torch.relu, "linear": lambda z: z}[m.activation]
    traj, lrs, states = [W.detach().clone().numpy()], [], []
    bs = o.batch_size or m.n
    shuffle = rng(run.seed, STREAM_SHUFFLE)  # htdyn's documented minibatch stream
    per_epoch = math.ceil(m.n / bs)
    for t in range(steps):
        if run.weight_norm:  # paper: W <- W sqrt(hd) / ||W||_F before each step
            with torch.no_grad():
                W.mul_(math.sqrt(m.h * m.d) / torch.linalg.norm(W))
        if bs < m.n:
            if t % per_epoch == 0:
                perm = torch.as_tensor(shuffle.permutation(m.n))
            sel = perm[(t % per_epoch) * bs:(t % per_epoch + 1) * bs]
            Xb, yb = X[sel], y[sel]
        else:
            Xb, yb = X, y
        opt.zero_grad()
        f = phi(Xb @ W.T / math.sqrt(m.d)) @ a / math.sqrt(m.h)
        loss = torch.nn.functional.mse_loss(f, yb)
        loss.backward()
        lrs.append(opt.param_groups[0]["lr"])
        if o.name == "sign":
            with torch.no_grad():
                for p in params:
                    p -= opt.param_groups[0]["lr"] * torch.sign(p.grad + o.weight_decay * p)
        else:
            opt.step()
        if sched is not None:
            sched.step()
        traj.append(W.detach().clone().numpy())
        states.append({k: v.detach().clone().numpy() for k, v in opt.state[W].items()
                       if k in ("momentum_buffer", "exp_avg", "exp_avg_sq")})
    return traj, a.detach().numpy(), np.array(lrs), states


def _run(opt: str, lr: float, model: dict | None = None, schedule: ScheduleConfig | None = None, seed: int = 3,
         weight_norm: bool = False, **kw) -> RunConfig:
    return RunConfig(model=ModelConfig(**{**TINY, **(model or {})}), optimizer=OptimizerConfig(opt, lr=lr, **kw),
                     schedule=schedule or ScheduleConfig(), seed=seed, weight_norm=weight_norm)


# learning rates chosen so W moves by O(10%) in 10 steps (GD gradients are ~1e-2 at this size)
CASES = {
    "gd": _run("gd", 20.0),
    "momentum": _run("momentum", 5.0, momentum=0.9),
    "nesterov": _run("nesterov", 5.0, momentum=0.8),
    "adam": _run("adam", 0.05, beta1=0.8, beta2=0.99, eps=1e-6),
    "adamw": _run("adamw", 0.05, weight_decay=0.1),
    "sign": _run("sign", 0.02),
    "gd-wd": _run("gd", 20.0, weight_decay=0.05),
    "momentum-wd": _run("momentum", 5.0, momentum=0.9, weight_decay=0.05),
    "nesterov-wd": _run("nesterov", 5.0, momentum=0.9, weight_decay=0.05),
    "adam-wd": _run("adam", 0.05, weight_decay=0.1),
    "sign-wd": _run("sign", 0.02, weight_decay=0.5),
    "adam-steplr": _run("adam", 0.1, schedule=ScheduleConfig("step", gamma=0.6, step_size=1)),
    "gd-steplr": _run("gd", 40.0, schedule=ScheduleConfig("step", gamma=0.5, step_size=3)),
    "adam-relu": _run("adam", 0.05, model={"activation": "relu"}),
    "gd-linear": _run("gd", 5.0, model={"activation": "linear", "teacher": "linear"}),
    "adam-readout": _run("adam", 0.05, model={"train_readout": True}),
    "momentum-readout": _run("momentum", 2.0, model={"train_readout": True}, weight_decay=0.01),
    "adamw-readout": _run("adamw", 0.05, model={"train_readout": True}, weight_decay=0.1),
    "adam-weightnorm": _run("adam", 0.1, weight_norm=True),
    "gd-weightnorm": _run("gd", 50.0, weight_norm=True),
    # minibatches of 20 from htdyn's seeded shuffle (64 = 3 x 20 + 4: a short last batch)
    "adam-minibatch": _run("adam", 0.05, batch_size=20),
    "momentum-minibatch": _run("momentum", 5.0, batch_size=16),
}


@pytest.mark.parametrize("case", list(CASES))
def test_trajectory_equals_torch_optim(torch, case: str) -> None:
    run = CASES[case]
    res, log = _htdyn_run(run)
    traj, a_ref, lrs_ref, states_ref = _torch_run(torch, run)
    ours = log.trajectory(0)
    assert len(ours) == STEPS + 1
    # the test is not vacuous: W really moved
    assert np.linalg.norm(traj[-1] - traj[0]) > 1e-2 * np.linalg.norm(traj[0])
    for t in range(STEPS + 1):
        assert rel_err(ours[t], traj[t]) < RTOL_W, f"step {t}: rel err {rel_err(ours[t], traj[t]):.2e}"
        if t < STEPS:  # the update the hook reports is W_{t+1} - W_t
            np.testing.assert_allclose(log.M[t][0], traj[t + 1] - traj[t], rtol=0,
                                       atol=RTOL_W * np.abs(traj[t]).max())
    np.testing.assert_allclose(res.W_final, traj[-1], rtol=0, atol=RTOL_W * np.abs(traj[-1]).max())
    # per-step learning rates (schedule) as torch's scheduler produced them
    np.testing.assert_allclose(res.lr, lrs_ref, rtol=1e-15)
    # optimizer state after each step, by torch's names
    for t in range(STEPS):
        assert set(log.state[t]) == set(states_ref[t]), (log.state[t].keys(), states_ref[t].keys())
        for k, v in states_ref[t].items():
            assert rel_err(log.state[t][k][0], v) < RTOL_W, (t, k)
    if run.model.train_readout:
        assert rel_err(res.a_final, a_ref) < RTOL_W
        assert np.linalg.norm(a_ref - make_init(run.model, run.init_seed_)[1]) > 1e-3
    else:  # a frozen at its initial value
        np.testing.assert_array_equal(res.a_final, make_init(run.model, run.init_seed_)[1])


def test_losses_equal_torch_loss(torch) -> None:
    """loss[t] is the MSE (no 1/2) of W_t on the training set; loss[T] that of the final W."""
    run = CASES["adam"]
    res, _ = _htdyn_run(run)
    traj, *_ = _torch_run(torch, run)
    ds = make_dataset(run.model, run.data_seed_)
    _, a0 = make_init(run.model, run.init_seed_)
    for t, Wt in enumerate(traj):
        f = np.tanh(ds.X @ Wt.T / math.sqrt(run.model.d)) @ a0 / math.sqrt(run.model.h)
        np.testing.assert_allclose(res.loss[t], np.mean((f - ds.y) ** 2), rtol=1e-10)


@pytest.mark.parametrize("eps", [1e-8, 1e-3])
def test_first_adam_step_is_sign_descent(eps: float) -> None:
    """Step 1 of Adam: m_hat = g, v_hat = g^2, so M_0 = -lr g / (|g| + eps).

    Hence |M_0 + lr sign(g)| = lr eps / (|g| + eps) <= lr eps / |g| entrywise; the computation adds a
    few roundings of lr (bias corrections, sqrt): bound + 8 ulp(lr).
    """
    lr = 0.3
    run = _run("adam", lr, eps=eps)
    _, log = _htdyn_run(run, steps=1)
    m = run.model
    ds = make_dataset(m, run.data_seed_)
    W0, a0 = make_init(m, run.init_seed_)
    _, g, _ = loss_and_grad(xp, W0[None], a0[None], (ds.X / math.sqrt(m.d))[None], ds.y[None],
                            get_activation("tanh"))
    g = g[0]
    M = log.M[0][0]
    np.testing.assert_array_equal(log.W[0][0], W0)
    bound = lr * eps / np.abs(g) + 8 * np.finfo(np.float64).eps * lr
    assert np.all(np.abs(M + lr * np.sign(g)) <= bound)
    # and the exact first-step formula to rounding
    np.testing.assert_allclose(M, -lr * g / (np.abs(g) + eps), rtol=1e-14, atol=1e-16)
    if eps == 1e-8:  # |g| >> eps here, so the step really is sign descent: ||M||_F ~ lr sqrt(hd)
        assert np.abs(np.linalg.norm(M) / (lr * math.sqrt(m.h * m.d)) - 1) < 1e-3


@pytest.mark.parametrize(
    "schedule, torch_sched",
    [
        (ScheduleConfig("step", gamma=0.6, step_size=1), lambda t, o: t.optim.lr_scheduler.StepLR(o, 1, gamma=0.6)),
        (ScheduleConfig("step", gamma=0.3, step_size=4), lambda t, o: t.optim.lr_scheduler.StepLR(o, 4, gamma=0.3)),
        (ScheduleConfig("exponential", gamma=0.8), lambda t, o: t.optim.lr_scheduler.ExponentialLR(o, gamma=0.8)),
        (ScheduleConfig("cosine", eta_min=0.01),
         lambda t, o: t.optim.lr_scheduler.CosineAnnealingLR(o, T_max=STEPS, eta_min=0.01)),
        (ScheduleConfig("cosine", t_max=4), lambda t, o: t.optim.lr_scheduler.CosineAnnealingLR(o, T_max=4)),
        (ScheduleConfig("constant", warmup_steps=4),
         lambda t, o: t.optim.lr_scheduler.LinearLR(o, start_factor=1 / 4, end_factor=1.0, total_iters=3)),
    ],
    ids=["steplr-1", "steplr-4", "exponential", "cosine", "cosine-tmax", "warmup"],
)
def test_schedule_matches_torch_scheduler(torch, schedule: ScheduleConfig, torch_sched) -> None:
    """The per-step lr equals torch's scheduler stepped after every optimizer step."""
    lr0 = 0.5
    res, _ = _htdyn_run(_run("sign", lr0, schedule=schedule))
    p = torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))
    opt = torch.optim.SGD([p], lr=lr0)
    sch = torch_sched(torch, opt)
    ref = []
    for _ in range(STEPS):
        ref.append(opt.param_groups[0]["lr"])
        opt.step()
        sch.step()
    upto = STEPS
    if schedule.name == "cosine" and schedule.t_max and schedule.t_max < STEPS:
        # documented htdyn choice: the cosine stays at eta_min after t_max (torch's curve rises again)
        upto = schedule.t_max + 1
        np.testing.assert_allclose(res.lr[upto:], schedule.eta_min, atol=1e-15)
    # torch's cosine is evaluated recursively, the closed form here: equal to a few ulps per step
    np.testing.assert_allclose(res.lr[:upto], ref[:upto], rtol=1e-12, atol=1e-15)


def test_per_run_hyperparameters_in_one_batch(torch) -> None:
    """One batch group, different lr / betas / eps / decay per run: each run equals torch alone."""
    runs = [
        _run("adam", 0.05, seed=1),
        _run("adam", 0.2, seed=2, beta1=0.5, beta2=0.9, eps=1e-4, weight_decay=0.1),
        _run("adam", 0.01, seed=1, schedule=ScheduleConfig("step", gamma=0.5, step_size=2)),
    ]
    log = StepLog()
    htdyn.simulate(simulation(runs, steps=STEPS, dtype="float64", snapshots={"at": "none"}), path=False,
                   on_step=log)
    assert log.runs[0] == [0, 1, 2]  # one batch group
    for j, run in enumerate(runs):
        traj, *_ = _torch_run(torch, run)
        ours = log.trajectory(j)
        for t in range(STEPS + 1):
            assert rel_err(ours[t], traj[t]) < RTOL_W, (j, t)
