"""The simulator's data, initial read-out, evaluation schedule and snapshot storage, each
against an answer computed here without the code under test.

* Labels: ``y = g(beta . x) + eps`` with the teacher links written out by hand, the noise
  level from the residual's spread, and the label moments against Gaussian quadrature.
* ``readout_scale``: the initial read-out's statistics and the network output at init.
* ``eval.at``: evaluation steps where asked (not at the snapshots), the ridge read-out's
  losses there by hand.
* Snapshot storage scale (float16): the smallest power of two that brings max|W| within
  half the float16 range, found by a loop over powers of two.

Tolerances: statistical checks allow 5 standard errors of the sample size used (a
false failure about once in 3.5 million per check; the seeds are fixed anyway).
"""

from __future__ import annotations

import math

import h5py
import numpy as np
import pytest
from scipy import integrate

import htdyn
from htdyn.config import (
    EvalConfig,
    ModelConfig,
    OptimizerConfig,
    RunConfig,
    SnapshotConfig,
    simulation,
)
from htdyn.train.data import make_dataset, make_init

# the teacher links, written out independently of htdyn.activations
TEACHER_BY_HAND = {
    "softplus": lambda z: np.log1p(np.exp(-np.abs(z))) + np.maximum(z, 0.0),
    "relu": lambda z: np.where(z > 0.0, z, 0.0),
    "tanh": lambda z: (1.0 - np.exp(-2.0 * z)) / (1.0 + np.exp(-2.0 * z)),
    "linear": lambda z: z,
}


def gauss_moments(g) -> tuple[float, float]:
    """E[g(z)] and Var[g(z)] for z ~ N(0, 1) by adaptive quadrature (|z| <= 40 holds all the mass)."""
    phi = lambda z: math.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)  # noqa: E731
    m1 = integrate.quad(lambda z: float(g(np.float64(z))) * phi(z), -40, 40, epsabs=1e-13, limit=200)[0]
    m2 = integrate.quad(lambda z: float(g(np.float64(z))) ** 2 * phi(z), -40, 40, epsabs=1e-13, limit=200)[0]
    return m1, m2 - m1 * m1


def test_quadrature_reproduces_known_moments() -> None:
    # the relu and linear closed forms: E relu = 1/sqrt(2 pi), E relu^2 = 1/2; linear: 0, 1
    m, v = gauss_moments(TEACHER_BY_HAND["relu"])
    assert m == pytest.approx(1.0 / math.sqrt(2.0 * math.pi), rel=1e-10)
    assert v == pytest.approx(0.5 - 1.0 / (2.0 * math.pi), rel=1e-10)
    m, v = gauss_moments(TEACHER_BY_HAND["linear"])
    assert abs(m) < 1e-12 and v == pytest.approx(1.0, rel=1e-10)


@pytest.mark.parametrize("teacher", ["softplus", "relu", "tanh", "linear"])
def test_noise_free_labels_are_the_teacher_link(teacher: str) -> None:
    ds = make_dataset(ModelConfig(n=500, d=8, h=4, n_test=300, noise_std=0.0, teacher=teacher), seed=3)
    assert np.linalg.norm(ds.beta) == pytest.approx(1.0, rel=1e-14)
    g = TEACHER_BY_HAND[teacher]
    for X, y in ((ds.X, ds.y), (ds.X_probe, ds.y_probe), (ds.X_test, ds.y_test)):
        # two formulas of the same function in float64: a few ulps apart
        np.testing.assert_allclose(y, g(X @ ds.beta), rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("teacher", ["softplus", "relu", "tanh", "linear"])
@pytest.mark.parametrize("noise_std", [0.3, 1.0])
def test_label_noise_level_and_moments(teacher: str, noise_std: float) -> None:
    """Each set (train, probe, test): y - g(beta . x) has mean 0 and sd noise_std, and
    E[y] = E[g(z)], Var[y] = Var[g(z)] + noise_std^2 with z = beta . x ~ N(0, 1)."""
    N = 40_000
    ds = make_dataset(ModelConfig(n=N, d=6, h=4, n_test=N, noise_std=noise_std, teacher=teacher), seed=11)
    g = TEACHER_BY_HAND[teacher]
    mean_g, var_g = gauss_moments(g)
    for X, y in ((ds.X, ds.y), (ds.X_probe, ds.y_probe), (ds.X_test, ds.y_test)):
        eps = y - g(X @ ds.beta)
        # sample mean: SE sigma / sqrt(N); sample sd: SE ~ sigma / sqrt(2 N) (Gaussian noise)
        assert abs(eps.mean()) < 5 * noise_std / math.sqrt(N)
        assert abs(eps.std() - noise_std) < 5 * noise_std / math.sqrt(2 * N)
        # the noise is independent of the inputs: correlation with z within 5 / sqrt(N)
        assert abs(np.corrcoef(eps, X @ ds.beta)[0, 1]) < 5 / math.sqrt(N)
        var_y = var_g + noise_std**2
        assert abs(y.mean() - mean_g) < 5 * math.sqrt(var_y / N)
        mu4 = np.mean((y - y.mean()) ** 4)  # the sample's 4th central moment sets the SE of its variance
        assert abs(y.var() - var_y) < 5 * math.sqrt((mu4 - var_y**2) / N)


# --------------------------------------------------------------------------- read-out at init

TINY = {"n": 64, "d": 16, "n_test": 16}


@pytest.mark.parametrize("scale", [0.25, 3.0])
def test_readout_scale_sets_the_initial_readout(scale: float) -> None:
    h = 8192
    a = make_init(ModelConfig(h=h, readout_scale=scale, **TINY), seed=5)[1]
    # entries N(0, scale^2): sample mean within 5 scale / sqrt(h), sd within 5 scale / sqrt(2 h)
    assert abs(a.mean()) < 5 * scale / math.sqrt(h)
    assert abs(a.std() - scale) < 5 * scale / math.sqrt(2 * h)
    # the same stream at scale 1: a differs by the factor scale exactly (one rounding)
    a1 = make_init(ModelConfig(h=h, readout_scale=1.0, **TINY), seed=5)[1]
    np.testing.assert_allclose(a, scale * a1, rtol=2 ** -52, atol=0)


def test_network_output_at_init_uses_the_scaled_readout(tmp_path) -> None:
    """The stored initial loss of two runs (readout_scale 1 and 3, same seeds) against the
    network output a . tanh(W x / sqrt(d)) / sqrt(h) computed here."""
    h = 1024
    runs = [RunConfig(model=ModelConfig(h=h, readout_scale=s, **TINY), optimizer=OptimizerConfig("gd", lr=0.1),
                      seed=2) for s in (1.0, 3.0)]
    sim = simulation(runs, steps=1, dtype="float64", output=str(tmp_path / "r.h5"),
                     snapshots=SnapshotConfig(at="first_last"))
    W0 = {}
    res = htdyn.simulate(sim, on_step=lambda info: W0.setdefault(info.t, np.array(info.W, copy=True)))
    ds = make_dataset(runs[0].model, runs[0].data_seed_)
    with htdyn.open(res.path) as traj:
        a = [traj.runs[i].a() for i in range(2)]
        loss0 = [float(traj.runs[i].loss[0]) for i in range(2)]
    assert abs(a[1].std() - 3.0) < 5 * 3.0 / math.sqrt(2 * h) and abs(a[0].std() - 1.0) < 5 / math.sqrt(2 * h)
    np.testing.assert_allclose(a[1], 3.0 * a[0], rtol=2 ** -52, atol=0)
    for i in range(2):
        f = np.tanh(ds.X @ W0[0][i].T / math.sqrt(16)) @ a[i] / math.sqrt(h)
        # float64 throughout, same products in another order: ~1e-15 relative
        assert loss0[i] == pytest.approx(float(np.mean((f - ds.y) ** 2)), rel=1e-11)
    # the output variance scales as scale^2: the two initial outputs differ by the factor 3
    f1 = np.tanh(ds.X @ W0[0][1].T / 4.0) @ a[1] / math.sqrt(h)
    f0 = np.tanh(ds.X @ W0[0][0].T / 4.0) @ a[0] / math.sqrt(h)
    np.testing.assert_allclose(f1, 3.0 * f0, rtol=1e-12, atol=1e-14)


# --------------------------------------------------------------------------- eval.at


def ridge_losses(W: np.ndarray, ds, lam: float) -> tuple[float, float]:
    """Probe and test loss of a_hat = (Z^T Z + (lam/h) n I)^{-1} Z^T y_probe, Z = tanh(X W^T/sqrt d)/sqrt h."""
    h, d = W.shape
    Zp = np.tanh(ds.X_probe @ W.T / math.sqrt(d)) / math.sqrt(h)
    Zt = np.tanh(ds.X_test @ W.T / math.sqrt(d)) / math.sqrt(h)
    n = Zp.shape[0]
    a_hat = np.linalg.solve(Zp.T @ Zp + lam / h * n * np.eye(h), Zp.T @ ds.y_probe)
    return float(np.mean((Zp @ a_hat - ds.y_probe) ** 2)), float(np.mean((Zt @ a_hat - ds.y_test) ** 2))


@pytest.mark.parametrize(("at", "expected"), [([1, 2], [1, 2]), (2, [0, 2, 3]), ("first_last", [0, 3])])
def test_eval_at_is_where_evaluations_happen(tmp_path, at, expected) -> None:
    """Snapshots only at the first and last step; the evaluation at ``eval.at``."""
    run = RunConfig(model=ModelConfig(h=24, **TINY), optimizer=OptimizerConfig("adam", lr=0.1), seed=4)
    sim = simulation([run], steps=3, dtype="float64", output=str(tmp_path / "e.h5"),
                     snapshots=SnapshotConfig(at="first_last"), eval=EvalConfig(at=at))
    Ws = {}

    def hook(info) -> None:
        Ws[info.t] = np.array(info.W[0], copy=True)
        Ws[info.t + 1] = np.array(info.W_next[0], copy=True)

    res = htdyn.simulate(sim, on_step=hook)
    assert list(res.runs[0].eval_steps) == expected
    ds = make_dataset(run.model, run.data_seed_)
    with htdyn.open(res.path) as traj:
        r = traj.runs[0]
        assert list(r.steps) == [0, 3]
        assert list(r.eval_steps) == expected
        ev = r.eval
    for i, t in enumerate(expected):
        probe, test = ridge_losses(Ws[t], ds, sim.eval.ridge_lambda)
        # float64 solve of a well-conditioned (ridge) system, two routes: ~1e-13 relative
        assert ev["probe_loss"][i] == pytest.approx(probe, rel=1e-9)
        assert ev["test_loss"][i] == pytest.approx(test, rel=1e-9)
        assert res.runs[0].eval["probe_loss"][i] == pytest.approx(probe, rel=1e-9)


# --------------------------------------------------------------------------- storage scale

F16_LIMIT = float(np.finfo(np.float16).max) / 2  # 32752: half the float16 range


def smallest_scale(m: float, limit: float = F16_LIMIT) -> float:
    """The smallest power of two 2^k (k >= 0) with m / 2^k <= limit, by counting."""
    k = 0
    while m / 2.0**k > limit:
        k += 1
    return 2.0**k


def test_smallest_scale_by_hand() -> None:
    # 40000/1 > 32752 >= 40000/2; 100000/2 = 50000 > 32752 >= 25000; 131000/2 = 65500 > 32752
    assert [smallest_scale(m) for m in (32752.0, 40000.0, 65504.0, 100000.0, 131000.0, 1e6)] == \
        [1.0, 2.0, 2.0, 4.0, 4.0, 32.0]


@pytest.mark.parametrize("peak", [32752.0, 40000.0, 65504.0, 100000.0, 131000.0, 1e6])
def test_float16_snapshot_scale_is_the_smallest_power_of_two(tmp_path, peak: float) -> None:
    """A hand-chosen W_0 (entries 0.01..0.24 and one entry -peak) stored as float16."""
    h, d = 24, 16
    W0 = (np.arange(h * d, dtype=np.float64).reshape(h, d) % 24 + 1) / 100.0
    W0[3, 5] = -peak
    run = RunConfig(model=ModelConfig(h=h, **TINY), optimizer=OptimizerConfig("gd", lr=1e-12), seed=0)
    sim = simulation([run], steps=1, dtype="float32", output=str(tmp_path / "s.h5"),
                     snapshots=SnapshotConfig(at=[0], dtype="float16", updates=False))
    htdyn.simulate(sim, init={"W": W0, "a": np.ones(h)})
    want = smallest_scale(peak)
    with h5py.File(tmp_path / "s.h5", "r") as f:
        g = f["runs/0000"]
        assert g["W"].dtype == np.float16
        assert float(g["W_scale"][0]) == want
        raw = g["W"][0].astype(np.float64)
    assert np.max(np.abs(raw)) <= F16_LIMIT
    assert raw[3, 5] == float(np.float16(-peak / want))  # the peak entry, divided by the scale, rounded once
    with htdyn.open(tmp_path / "s.h5") as traj:
        back = traj.runs[0].W(0)
    # float16 keeps 11 significant bits: relative rounding <= 2^-11 on each (normal) entry
    np.testing.assert_allclose(back, W0.astype(np.float32), rtol=2.0**-11, atol=0)
