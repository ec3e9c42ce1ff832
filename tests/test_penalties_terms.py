"""Penalty schedules, lower thresholds, the Objective's sum, the per-step records in the file, the config keys.

Schedules are checked against the numbers of related.md B.3 (the formulas evaluated by hand);
the Objective and the file against an independent recomputation from W.
"""

from __future__ import annotations

import math
from pathlib import Path

import array_api_compat.numpy as xnp
import numpy as np
import pytest
from clitools import MODEL, cli, needs_htdyn, one_line_error

import htdyn
from htdyn.activations import get_activation
from htdyn.config import (
    ModelConfig,
    OptimizerConfig,
    PenaltyConfig,
    RunConfig,
    from_dict,
    load_config,
    simulation,
)
from htdyn.config.names import PENALTIES as CONFIG_PENALTIES
from htdyn.config.names import PENALTY_DECAYS
from htdyn.errors import ConfigError
from htdyn.train.backend import Workspace, get_backend
from htdyn.train.loop import TrainState
from htdyn.train.model import loss_and_grad
from htdyn.train.objective import Objective
from htdyn.train.penalties import PENALTIES, StableRank, WeightedAlpha, spectral_gradient, spectrum
from htdyn.train.penalty_schedule import DECAY_FORMS, CoefficientSchedule
from htdyn.train.penalty_terms import PenaltySpec, build_terms, check_spec, evaluate_terms, run_specs
from htdyn.train.simulate import simulate

RNG = np.random.default_rng


# --------------------------------------------------------------------------- schedules


def test_power_decay_with_threshold_switches_off() -> None:
    s = CoefficientSchedule(1.0, "power", period=1, rate=1.0, threshold=0.3)
    assert [s(e) for e in range(1, 7)] == [1.0, 0.5, pytest.approx(1 / 3), 0.0, 0.0, 0.0]


def test_power_decay_period_two_counts_floor_zero_as_one() -> None:
    s = CoefficientSchedule(1.0, "power", period=2, rate=1.0, threshold=0.3)
    want = [1, 1, 1, 1 / 2, 1 / 2, 1 / 3, 1 / 3, 0, 0]
    assert [s(e) for e in range(1, 10)] == pytest.approx(want)


def test_exponential_decay_with_ln2_halves_every_period() -> None:
    m, mu = 3, 0.8
    s = CoefficientSchedule(mu, "exponential", period=m, rate=math.log(2))
    vals = np.array([s(e) for e in range(1, 31)])
    e = np.arange(1, 31)
    assert np.allclose(vals, mu * 0.5 ** (e // m), rtol=1e-14)
    assert np.allclose(vals[m:] / vals[:-m], 0.5, rtol=1e-14)  # e -> e + m halves


def test_schedule_follows_the_formula_and_at_step_is_one_based() -> None:
    for decay in ("none", "power", "exponential"):
        s = CoefficientSchedule(0.2, decay, period=4, rate=0.7, threshold=0.01)
        for e in range(1, 60):
            q = e // 4
            mu = {"none": 0.2, "power": 0.2 * max(q, 1) ** -0.7, "exponential": 0.2 * math.exp(-0.7 * q)}[decay]
            assert s(e) == pytest.approx(0.0 if mu < 0.01 else mu, rel=1e-14)
            assert s.at_step(e - 1) == s(e)


def test_names_agree_with_the_config() -> None:
    assert tuple(PENALTIES) == CONFIG_PENALTIES[1:] and DECAY_FORMS == PENALTY_DECAYS


# --------------------------------------------------------------------------- thresholds and terms


def _W(B: int = 2, h: int = 12, d: int = 8, seed: int = 0) -> np.ndarray:
    return RNG(seed).standard_normal((B, h, d))


def test_lower_threshold_gives_zero_gradient_below_and_the_full_one_above() -> None:
    W = _W()
    R = WeightedAlpha()(xnp, spectrum(xnp, W).lam)[0]
    floors = [float(R[0]) + 1e-6, float(R[1]) - 1e-6]  # run 0 just below its threshold, run 1 just above
    terms = build_terms([[PenaltySpec("weighted_alpha", 0.5, lower_threshold=f)] for f in floors])
    pe = evaluate_terms(xnp, W, terms, 0)
    assert pe.coefficients[:, 0].tolist() == [0.0, 0.5]
    assert not np.any(pe.grad[0]) and pe.grad_norms[0, 0] == 0.0 and pe.total[0] == 0.0
    spec = spectrum(xnp, W)
    ref = 0.5 * spectral_gradient(xnp, spec, WeightedAlpha()(xnp, spec.lam)[1])
    assert np.allclose(pe.grad[1], ref[1], rtol=1e-12)
    assert pe.values[:, 0] == pytest.approx(R, rel=1e-14)  # the value is recorded below the threshold too


def test_terms_sum_per_run_and_a_run_without_a_term_gets_nothing_from_it() -> None:
    W = _W(3)
    specs = [[PenaltySpec("stable_rank", 0.1), PenaltySpec("weighted_alpha", 0.2)],
             [PenaltySpec("weighted_alpha", 0.3)], []]
    terms = build_terms(specs)
    assert [t.name for t in terms] == ["stable_rank", "weighted_alpha"]
    pe = evaluate_terms(xnp, W, terms, 5)
    spec = spectrum(xnp, W)
    (Rs, gs), (Rw, gw) = StableRank()(xnp, spec.lam), WeightedAlpha()(xnp, spec.lam)
    want = [0.1 * spectral_gradient(xnp, spec, gs)[0] + 0.2 * spectral_gradient(xnp, spec, gw)[0],
            0.3 * spectral_gradient(xnp, spec, gw)[1], np.zeros_like(W[2])]
    for b in range(3):
        assert np.allclose(pe.grad[b], want[b], rtol=1e-12, atol=1e-15)
        assert pe.grad_norm[b] == pytest.approx(np.linalg.norm(want[b]), rel=1e-10, abs=1e-15)
    assert pe.total == pytest.approx([0.1 * Rs[0] + 0.2 * Rw[0], 0.3 * Rw[1], 0.0], rel=1e-12)
    assert np.isnan(pe.values[1, 0]) and np.isnan(pe.values[2]).all()


def test_nothing_is_computed_once_every_coefficient_is_off() -> None:
    terms = build_terms([[PenaltySpec("stable_rank", 1.0, decay="power", decay_threshold=0.3)]])
    pe = evaluate_terms(xnp, _W(1), terms, 3)  # e = 4: 1/4 < 0.3
    assert pe.grad is None and pe.coefficients[0, 0] == 0.0 and np.isnan(pe.values[0, 0])


def test_non_finite_weights_give_nan_and_no_gradient() -> None:
    W = _W(2)
    W[1, 0, 0] = np.nan
    pe = evaluate_terms(xnp, W, build_terms([[PenaltySpec("stable_rank", 1.0)]] * 2), 0)
    assert np.isfinite(pe.values[0, 0]) and np.isnan(pe.values[1, 0])
    assert not np.any(pe.grad[1]) and np.all(np.isfinite(pe.grad))


def test_objective_adds_the_penalty_gradient_and_reports_the_share() -> None:
    be = get_backend("cpu", "float64")
    rng = RNG(3)
    W, a = rng.standard_normal((2, 12, 8)), rng.standard_normal((2, 12))
    X, y = rng.standard_normal((1, 30, 8)) / math.sqrt(8), rng.standard_normal((1, 30))
    act = get_activation("tanh")
    terms = build_terms([[PenaltySpec("stable_rank", 0.05)], [PenaltySpec("stable_rank", 0.0)]])
    g = Objective(be.xp, act, grad_a=False, workspace=Workspace(be), penalties=terms)(W, a, X, y, step=0)
    L, gW, _ = loss_and_grad(xnp, W, a, X, y, act)
    spec = spectrum(xnp, W)
    R, gr = StableRank()(xnp, spec.lam)
    assert np.allclose(g.loss, L, rtol=1e-14)  # the loss stays the data loss
    assert np.allclose(g.W[0], gW[0] + 0.05 * spectral_gradient(xnp, spec, gr)[0], rtol=1e-12)
    assert np.allclose(g.W[1], gW[1], rtol=1e-14)
    assert g.penalty_share[0] == pytest.approx(0.05 * R[0] / (L[0] + 0.05 * R[0]), rel=1e-12)
    assert g.penalty_share[1] == 0.0


# --------------------------------------------------------------------------- settings


@pytest.mark.parametrize("kw, words", [
    ({"name": "l2"}, ["penalty.name", "weighted_alpha"]),
    ({"coefficient": -1.0}, ["penalty.coefficient", ">= 0"]),
    ({"decay": "linear"}, ["penalty.decay", "power"]),
    ({"decay_period": 0}, ["penalty.decay_period", "positive integer"]),
    ({"alpha0": 1.0}, ["penalty.alpha0", "> 1"]),
    ({"tail_start": -3.0}, ["penalty.tail_start", "median"]),
    ({"lower_threshold": math.nan}, ["penalty.lower_threshold"]),
])
def test_check_spec_names_the_key(kw: dict, words: list) -> None:
    with pytest.raises(ConfigError) as e:
        check_spec(PenaltySpec(**{"name": "weighted_alpha", **kw}))
    assert all(w in str(e.value) for w in words) and "\n" not in str(e.value)


def test_run_specs_from_config() -> None:
    sim = from_dict({"model": {"n": 64, "d": 16, "h": 24, "n_test": 8},
                     "penalty": {"name": "powerlaw_prior", "coefficient": 0.2, "alpha0": 2.5}})
    (spec,) = run_specs(sim.runs[0])
    assert spec.name == "powerlaw_prior" and spec.coefficient == 0.2 and spec.tail_start == "median"
    assert run_specs(from_dict({}).runs[0]) == [] and "penalty" not in from_dict({}).runs[0].to_dict()
    check_spec(spec)


def test_thresholds_outside_the_initial_spectrum_are_refused() -> None:
    model = {"n": 64, "d": 16, "h": 24, "n_test": 8}  # MP edges (sqrt 24 -+ 4)^2 = 0.81, 79.2
    for pen, key in (({"name": "powerlaw_prior", "tail_start": 100.0}, "tail_start"),
                     ({"name": "powerlaw_prior", "tail_start": 0.5}, "tail_start"),
                     ({"name": "frechet_prior", "frechet_loc": 80.0}, "frechet_loc")):
        with pytest.raises(ConfigError, match=f"penalty.{key}.*initial"):
            from_dict({"model": model, "penalty": pen})
    from_dict({"model": model, "penalty": {"name": "powerlaw_prior", "tail_start": 20.0}})
    PenaltyConfig("frechet_prior", frechet_loc=70.0).check_spectrum(from_dict({"model": model}).runs[0].model)


# --------------------------------------------------------------------------- the file

TOML = """
name = "pen"
steps = {steps}
dtype = "float64"
""" + MODEL + """[optimizer]
name = "adam"
lr = 0.01
[penalty]
name = "weighted_alpha"
decay = "power"
decay_threshold = 0.02
[snapshots]
at = 1
[grid]
"penalty.coefficient" = [0.0, 0.05]
"""


def test_file_records_the_penalty_of_every_step(tmp_path: Path) -> None:
    cfg = tmp_path / "p.toml"
    cfg.write_text(TOML.format(steps=6))
    sim = load_config(cfg)
    out = tmp_path / "p.h5"
    res = simulate(sim, path=str(out))
    with htdyn.open(out) as traj:
        r0, r1 = traj.runs
        assert r1.penalty_terms == ["weighted_alpha"] and r1.config["penalty"]["coefficient"] == 0.05
        p = r1.penalty
        for t in range(6):
            W = r1.W(t).astype(np.float64)  # float32 storage of float64 weights
            R = WeightedAlpha()(xnp, spectrum(xnp, W[None]).lam)[0][0]
            mu = 0.05 / (t + 1)  # power decay, period 1, rate 1, e = t + 1
            if mu < 0.02:  # switched off from e = 3 (0.05 / 3 < 0.02): not evaluated, nothing added
                assert np.isnan(p["value"][t, 0]) and p["coefficient"][t, 0] == 0 and p["total"][t] == 0
                continue
            assert p["value"][t, 0] == pytest.approx(R, rel=1e-5)
            assert p["coefficient"][t, 0] == pytest.approx(mu, rel=1e-14)
            assert p["total"][t] == pytest.approx(mu * p["value"][t, 0], rel=1e-14)
            assert 0 < p["share"][t] < 1 and p["grad_norm"][t, 0] > 0
        assert np.isfinite(p["value"][:2, 0]).all() and np.isnan(p["value"][2:, 0]).all()
        assert (r0.penalty["coefficient"] == 0).all() and (r0.penalty["share"] == 0).all()
    assert not res.runs[0].diverged


def test_checkpoint_state_keeps_the_penalty_records() -> None:
    st = TrainState(3, np.zeros((1, 2, 2)), np.zeros((1, 2)), [], 3, np.ones(1, bool), np.full(1, -1),
                    np.zeros((1, 5)), {}, {"value": np.arange(10.0).reshape(1, 5, 2), "share": np.ones((1, 5))})
    back = TrainState.from_arrays(*st.to_arrays())
    assert set(back.penalty) == {"value", "share"}
    np.testing.assert_array_equal(back.penalty["value"], st.penalty["value"])


@needs_htdyn
@pytest.mark.parametrize("sets, words", [
    (["penalty.name=weighted-alpha"], ["penalty.name", "did you mean 'weighted_alpha'"]),
    (["penalty.coefficient=-0.1"], ["penalty.coefficient", ">= 0"]),
    (["penalty.decay=linear"], ["penalty.decay", "exponential"]),
    (["penalty.name=powerlaw_prior", "penalty.tail_start=1e6"], ["penalty.tail_start", "initial spectrum"]),
    (["penalty.name=frechet_prior", "penalty.frechet_loc=1e5"], ["penalty.frechet_loc", "lambda_max"]),
])
def test_bad_penalty_settings_exit_2_before_anything_runs(tmp_path: Path, sets: list, words: list) -> None:
    cfg = tmp_path / "p.toml"
    cfg.write_text(TOML.format(steps=3).replace('[grid]\n"penalty.coefficient" = [0.0, 0.05]\n', ""))
    out = tmp_path / "never.h5"
    r = cli("run", cfg, "-o", out, *[a for s in sets for a in ("--set", s)], cwd=tmp_path, columns=80)
    one_line_error(r, *words)
    assert not out.exists() and not list(tmp_path.glob("*.h5"))


def _train_every_penalty(backend: str, device: str) -> list[np.ndarray]:
    m = ModelConfig(n=64, d=16, h=24, n_test=16)
    runs = [RunConfig(model=m, optimizer=OptimizerConfig("adam", lr=0.01), seed=1,
                      penalty=PenaltyConfig(p, coefficient=0.01, frechet_scale=79.0))
            for p in CONFIG_PENALTIES]
    sim = simulation(runs, steps=20, backend=backend, device=device, dtype="float64", snapshots={"at": "none"})
    return [r.W_final for r in simulate(sim, path=False).runs]


@pytest.mark.parametrize("backend, device", [("torch", "cpu"), pytest.param("torch", "cuda", marks=pytest.mark.cuda),
                                             pytest.param("cupy", "cuda", marks=pytest.mark.cuda)])
def test_training_with_penalties_is_the_same_on_every_backend(backend: str, device: str) -> None:
    pytest.importorskip(backend)
    ref = _train_every_penalty("numpy", "cpu")
    got = _train_every_penalty(backend, device)
    # float64: 20 Adam steps amplify eigensolver round-off (~1e-15) by well under 1e5
    for a, b in zip(ref, got):
        assert np.abs(a - b).max() < 1e-10


def test_resume_with_a_penalty_is_bit_identical_records_included() -> None:
    from htdyn.train.backend import get_backend as backend_of
    from htdyn.train.loop import GroupRun
    from htdyn.train.recorder import Recorder

    runs = [RunConfig(model=ModelConfig(n=64, d=16, h=24, n_test=16), optimizer=OptimizerConfig("adam", lr=0.01),
                      seed=s, penalty=PenaltyConfig("weighted_alpha", coefficient=mu, decay="exponential",
                                                    decay_rate=0.3, decay_period=2))
            for s, mu in ((0, 0.05), (1, 0.0))]
    sim = simulation(runs, steps=9, dtype="float64", snapshots={"at": "none"})
    be = backend_of("cpu", "float64")

    def group() -> GroupRun:
        return GroupRun(0, [0, 1], sim, be, Recorder(None, sim), [None] * 2, [None] * 2)

    whole = group()
    whole.run()
    first = group()
    first.run(until=5)
    second = group()
    second.load_state(TrainState.from_arrays(*first.save_state().to_arrays()))  # through the checkpoint form
    second.run()
    np.testing.assert_array_equal(second.state.W, whole.state.W)
    for k, v in whole.penalty_log.arrays.items():
        np.testing.assert_array_equal(second.penalty_log.arrays[k], v)
    assert np.isfinite(whole.penalty_log.arrays["value"]).all()


def test_small_eigensolves_run_on_one_blas_thread(monkeypatch) -> None:
    """N <= ONE_THREAD_MAX_N: numpy's BLAS is limited to one thread for the call, larger N untouched."""
    from threadpoolctl import threadpool_info, threadpool_limits

    import htdyn.train.penalties as pen

    seen: list[int] = []
    real = np.linalg.eigh

    def recording(G):
        seen.append(max(p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"))
        return real(G)

    monkeypatch.setattr(np.linalg, "eigh", recording)
    rng = np.random.default_rng(0)
    with threadpool_limits(limits=2, user_api="blas"):
        for N in (50, pen.ONE_THREAD_MAX_N + 1):
            A = rng.standard_normal((1, N, N))
            pen._eigh(np, A @ A.transpose(0, 2, 1))
    assert seen == [1, 2]


@pytest.mark.parametrize("h, d", [(150, 100), (100, 150)])
def test_footprint_counts_the_penalty_buffers(h: int, d: int) -> None:
    """The plan's estimate grows by the penalty's buffers, and they bound what the eigensolve allocates."""
    import tracemalloc

    from htdyn.train.plan import footprint

    B, N = 3, min(h, d)
    m = ModelConfig(n=80, d=d, h=h, n_test=10)

    def runs(pen: dict) -> list[RunConfig]:
        return [RunConfig(model=m, optimizer=OptimizerConfig("gd"), seed=s, **pen) for s in range(B)]

    plain = footprint(simulation(runs({}), steps=2)).memory_bytes
    pen = PenaltyConfig(name="weighted_alpha", coefficient=0.01)
    with_pen = footprint(simulation(runs({"penalty": pen}), steps=2)).memory_bytes
    assert with_pen - plain == 8 * B * (4 * h * d + 2 * N * N)
    be = get_backend("cpu", "float32")
    W = RNG(0).standard_normal((B, h, d)).astype(np.float32)
    terms = build_terms([[PenaltySpec("weighted_alpha", 0.01)]] * B)
    evaluate_terms(be.xp, W, terms, 0)  # first call: imports and the thread controller, not buffers
    tracemalloc.start()
    try:
        evaluate_terms(be.xp, W, terms, 0)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert 0.5 * (with_pen - plain) < peak <= with_pen - plain
