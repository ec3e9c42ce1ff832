"""The engine: batched runs equal single runs, determinism, reproducibility from a run's config,
and divergence handling (a run that overflows is frozen and recorded; the others are unaffected)."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from conftest import TINY, StepLog, rel_err

import htdyn
from htdyn.config import ModelConfig, OptimizerConfig, RunConfig, ScheduleConfig, from_dict, simulation
from htdyn.train.data import make_dataset, make_init

BACKENDS = ["numpy", "torch"]


def _backend_available(name: str) -> None:
    if name == "torch":
        pytest.importorskip("torch")


def _mixed_runs(opt: str, lr_scale: float = 1.0) -> list[RunConfig]:
    """Four runs of one family (one batch group) with different lr, hyper-parameters, schedules, seeds."""
    specs = [
        dict(lr=0.01, beta1=0.9, eps=1e-8, weight_decay=0.0, momentum=0.9, seed=0),
        dict(lr=0.1, beta1=0.8, eps=1e-6, weight_decay=0.01, momentum=0.5, seed=1),
        dict(lr=0.3, beta1=0.95, eps=1e-8, weight_decay=0.0, momentum=0.9, seed=0, data_seed=7),
        dict(lr=0.2, beta1=0.9, eps=1e-7, weight_decay=0.1, momentum=0.7, seed=5, init_seed=0),
    ]
    runs = []
    for i, s in enumerate(specs):
        seeds = {k: s.pop(k) for k in ("seed", "data_seed", "init_seed") if k in s}
        s["lr"] *= lr_scale
        runs.append(RunConfig(model=ModelConfig(**TINY), optimizer=OptimizerConfig(opt, **s),
                              schedule=ScheduleConfig("step", gamma=0.7, step_size=3) if i == 1 else ScheduleConfig(),
                              **seeds))
    return runs


# GD-type gradients are ~1e-2 at this size: scale their lr so W moves by O(10%)
LR_SCALE = {"gd": 100.0, "momentum": 30.0, "nesterov": 30.0, "adam": 1.0, "adamw": 1.0, "sign": 0.1}


def _simulate(runs, dtype="float64", backend="numpy", steps=10, log=None, **kw):
    return htdyn.simulate(simulation(runs, steps=steps, dtype=dtype, backend=backend, **kw), path=False,
                          on_step=log)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("opt", ["gd", "momentum", "nesterov", "adam", "adamw", "sign"])
def test_batched_equals_single_float64(opt: str, backend: str) -> None:
    _backend_available(backend)
    runs = _mixed_runs(opt, LR_SCALE[opt])
    log = StepLog()
    batched = _simulate(runs, backend=backend, log=log)
    assert log.runs[0] == [0, 1, 2, 3]  # really one batch group
    for j, run in enumerate(runs):
        one_log = StepLog()
        alone = _simulate([run], backend=backend, log=one_log)
        # float64: the batched GEMMs may be blocked differently from the single ones (a few ulps per
        # step, ~1e-16), amplified by < 10x over 10 steps: 1e-12 relative leaves a wide margin
        for t in range(10):
            assert rel_err(log.W_next[t][j], one_log.W_next[t][0]) < 1e-12, (j, t)
        a, b = batched.runs[j], alone.runs[0]
        assert rel_err(a.W_final, b.W_final) < 1e-12
        np.testing.assert_allclose(a.loss, b.loss, rtol=1e-12)
        np.testing.assert_allclose(a.lr, b.lr, rtol=0)
        for k in a.eval:
            np.testing.assert_allclose(a.eval[k], b.eval[k], rtol=1e-10)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("opt", ["gd", "adam", "sign"])
def test_batched_equals_single_float32(opt: str, backend: str) -> None:
    """float32: eps = 1.2e-7; a different GEMM blocking changes a gradient by ~sqrt(n) eps ~ 1e-6
    relative; an Adam/GD step turns that into <= lr * 1e-6 on W entries of size ~1-3, and 10 steps
    add up to ~1e-5 relative at most (lr <= 0.3 here: moderate rates keep the map non-chaotic;
    at lr >= 1 float32 round-off is amplified by the dynamics).  Sign descent flips only on
    gradients within rounding of 0, which these seeds do not have (and would show as a failure)."""
    _backend_available(backend)
    runs = _mixed_runs(opt, LR_SCALE[opt])
    batched = _simulate(runs, dtype="float32", backend=backend)
    for j, run in enumerate(runs):
        alone = _simulate([run], dtype="float32", backend=backend)
        a, b = batched.runs[j], alone.runs[0]
        assert a.W_final.dtype == np.float32
        assert rel_err(a.W_final, b.W_final) < 1e-5, (j, rel_err(a.W_final, b.W_final))
        np.testing.assert_allclose(a.loss, b.loss, rtol=1e-5)


def test_shared_and_per_run_data_groups() -> None:
    """Runs sharing a data seed see the same data; runs sharing an init seed start from the same W."""
    runs = _mixed_runs("adam")
    log = StepLog()
    _simulate(runs, log=log, steps=1)
    W0 = log.W[0]
    # run 3 has init_seed = 0 like run 0 (seed 0); run 2 has seed 0 too but data_seed 7
    np.testing.assert_array_equal(W0[3], W0[0])
    np.testing.assert_array_equal(W0[2], W0[0])
    np.testing.assert_array_equal(W0[0], make_init(runs[0].model, 0)[0])
    np.testing.assert_array_equal(W0[1], make_init(runs[1].model, 1)[0])
    assert not np.array_equal(W0[1], W0[0])
    # same W_0, different data => different first update
    assert not np.allclose(log.M[0][2] / runs[2].optimizer.lr, log.M[0][0] / runs[0].optimizer.lr)
    d0, d7 = make_dataset(runs[0].model, 0), make_dataset(runs[0].model, 7)
    assert not np.array_equal(d0.X, d7.X)
    np.testing.assert_array_equal(make_dataset(runs[0].model, 0).X, d0.X)  # the draw is a pure function of the seed
    assert abs(np.linalg.norm(d0.beta) - 1) < 1e-14


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_deterministic(dtype: str) -> None:
    """The same config twice gives bitwise identical arrays on the CPU."""
    runs = _mixed_runs("adam")
    outs = []
    for _ in range(2):
        log = StepLog()
        res = _simulate(runs, dtype=dtype, log=log)
        outs.append((log, res))
    (l1, r1), (l2, r2) = outs
    for t in range(10):
        np.testing.assert_array_equal(l1.W_next[t], l2.W_next[t])
        for k in l1.state[t]:
            np.testing.assert_array_equal(l1.state[t][k], l2.state[t][k])
    for a, b in zip(r1.runs, r2.runs):
        np.testing.assert_array_equal(a.W_final, b.W_final)
        np.testing.assert_array_equal(a.loss, b.loss)
        for k in a.eval:
            np.testing.assert_array_equal(a.eval[k], b.eval[k])


def test_run_reproduced_alone_from_its_stored_config(tmp_path) -> None:
    """Each run's config (as stored in the file, plain JSON) reproduces it alone, seeds included."""
    runs = _mixed_runs("adam")
    path = tmp_path / "batch.h5"
    res = htdyn.simulate(simulation(runs, steps=8, dtype="float64"), path=str(path))
    with htdyn.open(path) as traj:
        stored = [r.config for r in traj.runs]
    for j, cfg in enumerate(stored):
        sim = from_dict({**cfg, "steps": 8, "dtype": "float64"})
        assert len(sim.runs) == 1
        assert sim.runs[0] == runs[j]
        alone = htdyn.simulate(sim, path=False).runs[0]
        # float64, same operations on one slice instead of a batch: see test_batched_equals_single_float64
        assert rel_err(alone.W_final, res.runs[j].W_final) < 1e-12
        np.testing.assert_allclose(alone.loss, res.runs[j].loss, rtol=1e-12)
        np.testing.assert_allclose(alone.eval["test_loss"], res.runs[j].eval["test_loss"], rtol=1e-10)


def test_user_data_and_init_replay_the_seeded_run(tiny_model: ModelConfig) -> None:
    """Passing htdyn's own seeded arrays as data=/init= reproduces the seeded run exactly."""
    run = RunConfig(model=tiny_model, optimizer=OptimizerConfig("adam", lr=0.1, weight_decay=0.01), seed=4,
                    init_seed=9)
    ds = make_dataset(run.model, run.data_seed_)
    W0, a0 = make_init(run.model, run.init_seed_)
    data = {k: getattr(ds, k) for k in ("beta", "X", "y", "X_probe", "y_probe", "X_test", "y_test")}
    seeded = _simulate([run])
    user = htdyn.simulate(simulation([run], steps=10, dtype="float64"), path=False, data=data,
                          init={"W": W0, "a": a0})
    np.testing.assert_array_equal(user.runs[0].W_final, seeded.runs[0].W_final)
    np.testing.assert_array_equal(user.runs[0].loss, seeded.runs[0].loss)


# --------------------------------------------------------------------------- evaluation


def _ridge_reference(W: np.ndarray, ds, act, lam: float, pre: float) -> dict[str, float]:
    """The paper's read-out from scratch, float64: Z = phi(X W^T / sqrt(d) * pre) / sqrt(h),
    a_hat = argmin (1/n) ||y - Z a||^2 + (lam / h) ||a||^2, solved by least squares on the stacked
    system [Z; sqrt(n lam / h) I] a = [y; 0] (a different algorithm from htdyn's normal equations)."""
    h, d = W.shape
    n = ds.X_probe.shape[0]

    def feats(X):
        return act(X @ W.T / math.sqrt(d) * pre) / math.sqrt(h)

    Zp, Zt = feats(ds.X_probe), feats(ds.X_test)
    A = np.vstack([Zp, math.sqrt(n * lam / h) * np.eye(h)])
    b = np.concatenate([ds.y_probe, np.zeros(h)])
    a_hat = np.linalg.lstsq(A, b, rcond=None)[0]
    # it is the minimiser: the objective's gradient vanishes there
    grad = -2 / n * Zp.T @ (ds.y_probe - Zp @ a_hat) + 2 * lam / h * a_hat
    assert np.abs(grad).max() < 1e-10 * max(1.0, np.abs(Zp.T @ ds.y_probe).max() / n)
    return {"probe_loss": float(np.mean((Zp @ a_hat - ds.y_probe) ** 2)),
            "test_loss": float(np.mean((Zt @ a_hat - ds.y_test) ** 2))}


@pytest.mark.parametrize("h", [24, 80], ids=["primal-h<n", "dual-h>n"])
@pytest.mark.parametrize("features", ["model", "official"])
def test_eval_matches_independent_ridge(h: int, features: str) -> None:
    lam = 0.05
    m = ModelConfig(**{**TINY, "h": h})
    run = RunConfig(model=m, optimizer=OptimizerConfig("adam", lr=0.1), seed=2)
    log = StepLog()
    res = htdyn.simulate(simulation([run], steps=4, dtype="float64", snapshots={"at": [0, 2, 4]},
                                    eval={"ridge_lambda": lam, "features": features}), path=False, on_step=log)
    r = res.runs[0]
    assert r.eval_steps == [0, 2, 4]
    ds = make_dataset(m, run.data_seed_)
    a0 = make_init(m, run.init_seed_)[1]
    pre = 1.0 if features == "model" else 1.0 / math.sqrt(m.d)
    for e, t in enumerate(r.eval_steps):
        W = log.W[t][0] if t < 4 else log.W_next[3][0]
        ref = _ridge_reference(W, ds, np.tanh, lam, pre)
        # well-conditioned (ridge c = lam n / h >= 0.04) float64 solves: agreement to ~1e-12
        for k, v in ref.items():
            np.testing.assert_allclose(r.eval[k][e], v, rtol=1e-10, err_msg=k)
        # the network's own losses with the frozen a, on the student's own features
        f_tr = np.tanh(ds.X @ W.T / math.sqrt(m.d)) @ a0 / math.sqrt(h)
        f_te = np.tanh(ds.X_test @ W.T / math.sqrt(m.d)) @ a0 / math.sqrt(h)
        np.testing.assert_allclose(r.eval["net_train_loss"][e], np.mean((f_tr - ds.y) ** 2), rtol=1e-12,
                                   err_msg=f"net_train_loss at step {t}")
        np.testing.assert_allclose(r.eval["net_test_loss"][e], np.mean((f_te - ds.y_test) ** 2), rtol=1e-12,
                                   err_msg=f"net_test_loss at step {t}")
        # a_hat minimises MSE + penalty, so it beats a = 0: probe_loss <= mean(y_probe^2)
        assert r.eval["probe_loss"][e] < np.mean(ds.y_probe**2)


# --------------------------------------------------------------------------- divergence


def _np_overflows(run: RunConfig, W: np.ndarray, dtype) -> bool:
    """Independent check (plain numpy in the training dtype) that one more GD step from W overflows."""
    m = run.model
    ds = make_dataset(m, run.data_seed_)
    a = make_init(m, run.init_seed_)[1].astype(dtype)
    X = (ds.X / math.sqrt(m.d)).astype(dtype)
    y = ds.y.astype(dtype)
    W = W.astype(dtype)
    with np.errstate(all="ignore"):
        P = X @ W.T
        phi = {"linear": lambda z: z, "relu": lambda z: np.maximum(z, 0)}[m.activation]
        dphi = {"linear": np.ones_like, "relu": lambda z: (z > 0).astype(dtype)}[m.activation]
        r = phi(P) @ a / dtype(math.sqrt(m.h)) - y
        loss = np.mean(r * r)
        g = ((dtype(2 / m.n) * r)[:, None] * dphi(P) * (a / dtype(math.sqrt(m.h)))[None, :]).T @ X
        W_next = W - dtype(run.optimizer.lr) * g
    return not (np.isfinite(loss) and np.all(np.isfinite(W_next)))


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("act", ["linear", "relu"])
@pytest.mark.parametrize("dtype, steps", [("float32", 10), ("float64", 40)])
def test_divergent_run_is_recorded_and_isolated(tmp_path, act: str, dtype: str, steps: int) -> None:
    """GD at lr = 1e6 with an unbounded activation overflows; the run is frozen and marked diverged,
    nothing raises, and the other runs of its batch group equal the same runs simulated alone."""
    m = ModelConfig(**{**TINY, "activation": act})
    runs = [RunConfig(model=m, optimizer=OptimizerConfig("gd", lr=lr), seed=s)
            for lr, s in ((5.0, 0), (1e6, 1), (20.0, 2))]
    path = tmp_path / "div.h5"
    log = StepLog()
    res = htdyn.simulate(simulation(runs, steps=steps, dtype=dtype), path=str(path), on_step=log)
    bad = res.runs[1]
    s = bad.diverged_step
    assert bad.diverged and 0 <= s < steps, s
    # it truly overflows: one more GD step from the frozen weights is non-finite (checked in plain numpy)
    assert _np_overflows(runs[1], bad.W_final, np.dtype(dtype).type)
    assert np.all(np.isfinite(bad.loss[:s]))
    assert np.all(np.isnan(bad.loss[s + 1:]))
    assert not log.active[s][1] and all(log.active[t][1] for t in range(s))
    # no evaluation after the divergence
    ev_steps = np.asarray(bad.eval_steps)
    for k, v in bad.eval.items():
        assert np.all(np.isnan(v[ev_steps > s])), k
    with htdyn.open(path) as traj:
        assert traj.status == "complete"
        r = traj.runs[1]
        assert r.diverged_step == s
        np.testing.assert_array_equal(r.loss, bad.loss)
        assert len(r.steps) > 0 and r.steps.max() <= s  # snapshots stop at the divergence
        for t in r.steps:
            # stored as float32 (times a power-of-two scale beyond the float32 range): the in-memory W_t
            # up to one float32 rounding, 2^-24 relative
            np.testing.assert_allclose(r.W(t), log.W[t][1], rtol=2.0**-23, atol=0)
            if dtype == "float32":
                assert np.all(np.isfinite(r.W(t)))
        for k, v in r.eval.items():
            assert np.all(np.isnan(v[r.eval_steps > s])), k
        for j in (0, 2):
            assert traj.runs[j].diverged_step == -1
            assert list(traj.runs[j].steps) == list(range(steps + 1))
    # the other runs are unaffected: equal to running them alone
    # (float64: 1e-12 relative; float32: 1e-5, see test_batched_equals_single_float32)
    tol = 1e-12 if dtype == "float64" else 1e-5
    for j in (0, 2):
        assert not res.runs[j].diverged
        alone = htdyn.simulate(simulation([runs[j]], steps=steps, dtype=dtype), path=False).runs[0]
        assert rel_err(res.runs[j].W_final, alone.W_final) < tol
        np.testing.assert_allclose(res.runs[j].loss, alone.loss, rtol=tol)
        # the ridge evaluation of the batch is not spoilt by the diverged run (float32 features: 1e-4)
        for k in alone.eval:
            assert np.all(np.isfinite(res.runs[j].eval[k]))
            np.testing.assert_allclose(res.runs[j].eval[k], alone.eval[k], rtol=1e-10 if dtype == "float64" else 1e-4)
    # the diverged run is frozen at W_s, its last finite weights, and stays there
    for t in range(s, steps):
        np.testing.assert_array_equal(log.W_next[t][1], log.W[s][1], err_msg=f"frozen run moved at step {t}")
    assert np.all(np.isfinite(bad.W_final))
    np.testing.assert_array_equal(bad.W_final, log.W[s][1])


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_adam_overflow_in_float32(tmp_path) -> None:
    """float32 Adam's update is sign-like (|step| <= lr / (1 - beta1) entrywise), so only lr >= ~1e37
    overflows; such a run diverges at the first step whose loss is infinite and is recorded as such."""
    m = ModelConfig(**{**TINY, "activation": "linear"})
    runs = [RunConfig(model=m, optimizer=OptimizerConfig("adam", lr=lr), seed=0) for lr in (1e37, 0.1)]
    log = StepLog()
    res = htdyn.simulate(simulation(runs, steps=6, dtype="float32"), path=str(tmp_path / "a.h5"), on_step=log)
    bad, good = res.runs
    assert bad.diverged
    s = bad.diverged_step
    assert np.all(np.isnan(bad.loss[s + 1:]))
    # the step's loss or its update overflowed (here: loss of W_1 = inf, the first step moved W by ~1e37)
    assert not np.isfinite(bad.loss[s]) or not np.all(np.isfinite(log.W[s][0] - 1e37 * np.sign(log.M[s][0])))
    alone = htdyn.simulate(simulation([runs[1]], steps=6, dtype="float32"), path=False).runs[0]
    assert not good.diverged
    assert rel_err(good.W_final, alone.W_final) < 1e-5
    # frozen at W_s from the divergence on
    assert np.all(np.isfinite(bad.W_final))
    for t in range(s, 6):
        np.testing.assert_array_equal(log.W_next[t][0], log.W[s][0], err_msg=f"frozen run moved at step {t}")


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_all_runs_diverge(tmp_path) -> None:
    """Every run of the group diverging ends the group early, without an exception."""
    m = ModelConfig(**{**TINY, "activation": "linear"})
    runs = [RunConfig(model=m, optimizer=OptimizerConfig("gd", lr=1e6), seed=s) for s in (0, 1)]
    res = htdyn.simulate(simulation(runs, steps=50, dtype="float32"), path=str(tmp_path / "all.h5"))
    for r in res.runs:
        assert r.diverged
        assert np.all(np.isnan(r.loss[r.diverged_step + 1:]))
    with htdyn.open(tmp_path / "all.h5") as traj:
        assert traj.status == "complete"
        assert all(r.diverged for r in traj.runs)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("opt, act", [("adam", "tanh"), ("gd", "tanh"), ("adam", "linear"), ("gd", "linear"),
                                      ("sign", "tanh"), ("momentum", "relu")])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_lr_1e6_never_raises(tmp_path, opt: str, act: str, dtype: str) -> None:
    """lr = 1e6 (the issue's example): whatever happens must not raise, and the record is consistent:
    either the run is finite throughout, or it is marked diverged with NaN losses afterwards."""
    m = ModelConfig(**{**TINY, "activation": act})
    run = RunConfig(model=m, optimizer=OptimizerConfig(opt, lr=1e6), seed=0)
    path = tmp_path / "big.h5"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = htdyn.simulate(simulation([run], steps=10, dtype=dtype), path=str(path))
    r = res.runs[0]
    assert np.all(np.isfinite(r.W_final))
    if r.diverged:
        assert np.all(np.isnan(r.loss[r.diverged_step + 1:]))
        assert np.all(np.isfinite(r.loss[:r.diverged_step]))
    else:
        assert np.all(np.isfinite(r.loss))
    with htdyn.open(path) as traj:
        assert traj.status == "complete"
        assert traj.runs[0].diverged_step == r.diverged_step
        if dtype == "float32":  # (float64 weights beyond 3.4e38: see test_store.py)
            for t in traj.runs[0].steps:
                assert np.all(np.isfinite(traj.runs[0].W(t)))


# --------------------------------------------------------------------------- CUDA (skipped without a GPU)


@pytest.mark.cuda
@pytest.mark.parametrize("backend", ["torch", "cupy"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_cuda_equals_cpu(backend: str, dtype: str) -> None:
    """The same batch on the GPU and on the CPU.  float64: different reduction orders / FMA give ~1e-16
    per step, amplified < 10x in 10 steps (1e-12).  float32: ~1e-6 per step as in
    test_batched_equals_single_float32 (1e-4 leaves room; TF32 matmuls, ~1e-3, would fail it)."""
    pytest.importorskip(backend)
    if backend == "cupy":
        import cupy

        if cupy.cuda.runtime.getDeviceCount() == 0:
            pytest.skip("no GPU for CuPy")
    runs = _mixed_runs("adam")
    cpu = htdyn.simulate(simulation(runs, steps=10, dtype=dtype), path=False)
    gpu = htdyn.simulate(simulation(runs, steps=10, dtype=dtype, device="cuda", backend=backend), path=False)
    tol = 1e-12 if dtype == "float64" else 1e-4
    for a, b in zip(cpu.runs, gpu.runs):
        assert rel_err(b.W_final, a.W_final) < tol
        np.testing.assert_allclose(b.loss, a.loss, rtol=tol)


def test_forked_child_runs_after_parent_used_the_thread_pool(tmp_path) -> None:
    """A child forked after the parent split element-wise work over threads must not wait on dead threads."""
    import multiprocessing as mp_

    from htdyn.train.backend import Workspace, get_backend

    if "fork" not in mp_.get_all_start_methods():
        pytest.skip("no fork on this platform")
    ws = Workspace(get_backend("cpu", "float32"))
    ws.threads = 2
    big = np.ones((1, 1024, 512), dtype=np.float32)
    ws.map(lambda x: np.multiply(x, 2.0, out=x), big)  # the parent's pool now exists
    ctx = mp_.get_context("fork")
    q = ctx.Queue()
    p = ctx.Process(target=_child_map, args=(q,))
    p.start()
    p.join(timeout=30)
    if p.is_alive():
        p.kill()
        pytest.fail("the forked child hung on the parent's thread pool")
    assert q.get(timeout=5) == pytest.approx(2.0 * 1024 * 512)


def _child_map(q) -> None:
    from htdyn.train.backend import Workspace, get_backend

    ws = Workspace(get_backend("cpu", "float32"))
    ws.threads = 2
    x = np.ones((1, 1024, 512), dtype=np.float32)
    ws.map(lambda v: np.multiply(v, 2.0, out=v), x)
    q.put(float(x.sum()))


def test_step_hook_arrays_can_be_kept() -> None:
    """Arrays a hook keeps stay as they were at that step, though the engine reuses its buffers."""
    kept: list = []
    live: list = []

    def hook(info) -> None:
        kept.append((info.W, info.W_next, info.update, info.state))
        live.append(info.view("update"))

    runs = [RunConfig(model=ModelConfig(**TINY), optimizer=OptimizerConfig("adam", lr=0.1), seed=0)]
    res = htdyn.simulate(simulation(runs, steps=5, dtype="float64"), path=False, on_step=hook)
    for t, (W, W_next, M, state) in enumerate(kept):
        np.testing.assert_array_equal(M, W_next - W)  # M_t = W_{t+1} - W_t, computed the same way
        if t + 1 < len(kept):
            np.testing.assert_array_equal(W_next, kept[t + 1][0])  # W_{t+1} is the next step's W_t
            assert not np.array_equal(state["exp_avg"], kept[t + 1][3]["exp_avg"])
    np.testing.assert_array_equal(kept[-1][1][0], res.runs[0].W_final)
    assert len({id(v) for v in live}) == 1  # view(): the engine's one update buffer, no copies
