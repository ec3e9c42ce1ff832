"""The 5+1 phase classifier on synthetic generators with a known phase.

Generators (W = noise + structure, i.i.d. N(0, 1) noise; thr = the BGN threshold (N M)^(1/4)):

==============  ===================================================================  ==============
generator       construction                                                         phase
==============  ===================================================================  ==============
gaussian        i.i.d. N(0, 1)                                                       random-like
weak            + 5 rank-one spikes at 1.30-1.45 thr (outliers 5-25% above lambda_+)  bleeding-out
strong          + 5 rank-one spikes at 4-8 thr (outliers >= 4 lambda_+)               bulk+spikes
plspikes        + 0.3 M spikes, theta_k = thr sqrt(0.15 M / k) (~9% of M outliers,     heavy-tailed
                a continuous run from the edge up to ~15-35 lambda_+: a Pareto(2) law
                of spike strengths, what an i.i.d. mu = 2 matrix shows; issue 17)
pareto          symmetric Pareto entries, P(|w| > x) = x^(-1.5)                      heavy-tailed
lowrank         A B with A: h x M/5, B: M/5 x d (80% exact zeros)                      rank-collapse
==============  ===================================================================  ==============

Calibration (before writing these tests): 20 seeds each at 400x200, 300x300, 1000x500, 200x600
and 2000x200, 600 spectra, all classified as in the table; the margins are listed in
docs/analysis_mp_phases.md.
"""

from __future__ import annotations

import numpy as np
import pytest

from htdyn.analysis import mp, phases


def _unit(rng: np.random.Generator, n: int) -> np.ndarray:
    x = rng.standard_normal(n)
    return x / np.linalg.norm(x)


def _add_spikes(W: np.ndarray, thetas, rng: np.random.Generator) -> np.ndarray:
    for th in thetas:
        W = W + th * np.outer(_unit(rng, W.shape[0]), _unit(rng, W.shape[1]))
    return W


def generate(kind: str, shape: tuple[int, int], seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    M = min(shape)
    thr = mp.bgn_threshold(shape)
    X = rng.standard_normal(shape)
    if kind == "gaussian":
        return X
    if kind == "weak":
        return _add_spikes(X, rng.uniform(1.3, 1.45, 5) * thr, rng)
    if kind == "strong":
        return _add_spikes(X, rng.uniform(4.0, 8.0, 5) * thr, rng)
    if kind == "plspikes":
        k = np.arange(1, int(0.3 * M) + 1)
        return _add_spikes(X, thr * np.sqrt(0.15 * M / k), rng)
    if kind == "pareto":
        return rng.choice([-1.0, 1.0], size=shape) * rng.uniform(size=shape) ** (-1 / 1.5)
    if kind == "pareto3":
        return rng.choice([-1.0, 1.0], size=shape) * rng.uniform(size=shape) ** (-1 / 3.0)
    if kind == "lowrank":
        r = M // 5
        return rng.standard_normal((shape[0], r)) @ rng.standard_normal((r, shape[1]))
    if kind == "twobulk":  # half the columns with 9x the variance: a deformed MP, not a power law
        X[:, : shape[1] // 2] *= 3.0
        return X
    raise ValueError(kind)


def evals(W: np.ndarray) -> np.ndarray:
    return np.linalg.eigvalsh(W.T @ W if W.shape[0] >= W.shape[1] else W @ W.T)


EXPECTED = {
    "gaussian": "random-like",
    "weak": "bleeding-out",
    "strong": "bulk+spikes",
    "plspikes": "heavy-tailed",
    "pareto": "heavy-tailed",
    "lowrank": "rank-collapse",
}
SHAPES = [(400, 200), (240, 480)]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("kind", list(EXPECTED))
def test_generators_land_in_their_phase(kind: str, shape: tuple[int, int]) -> None:
    for seed in range(3):
        res = phases.classify_phase(evals(generate(kind, shape, seed)), shape)
        assert res.phase == EXPECTED[kind], (seed, res.reason)
        assert res.phase in phases.PHASES and res.index == phases.PHASES.index(res.phase)
        assert res.reason


@pytest.mark.slow
@pytest.mark.parametrize("shape", [(2000, 1000), (1000, 500), (300, 300), (2000, 200)])
def test_generators_many_seeds(shape: tuple[int, int]) -> None:
    for kind, phase in EXPECTED.items():
        got = [phases.classify_phase(evals(generate(kind, shape, seed)), shape).phase for seed in range(10)]
        if kind == "plspikes":
            # its strengths follow the law of an i.i.d. mu = 2 matrix's outliers: it sits on the border of
            # bulk-decay and heavy-tailed (docs/analysis_mp_phases.md; 7 of 10 heavy-tailed at 2000 x 1000),
            # so either border label is right, and nothing else is
            assert set(got) <= {"bulk-decay", "heavy-tailed"}, (kind, got)
            continue
        assert got == [phase] * 10, (kind, got)


def test_features_of_the_generators() -> None:
    """The numbers behind the decisions, with margins (400 x 200, one seed each)."""
    shape = (400, 200)
    f = {k: phases.phase_features(evals(generate(k, shape, 0)), shape) for k in EXPECTED}
    good = 0.6 / np.sqrt(200)
    assert f["gaussian"]["n_out"] == 0 and f["gaussian"]["D_MP"] < good / 2
    assert 1 <= f["weak"]["n_out"] <= 6 and f["weak"]["top_ratio"] < 1.4
    assert f["strong"]["n_out"] == 5 and f["strong"]["min_out_ratio"] > 3
    assert f["plspikes"]["f_out"] > 0.05 and f["plspikes"]["min_out_ratio"] < 1.2  # continuous from the edge
    assert f["pareto"]["f_out"] > 0.2 and f["pareto"]["alpha_ks"] < 2.2  # 1 + mu/2 = 1.75
    assert f["lowrank"]["frac0"] == pytest.approx(0.8)
    for k in ("gaussian", "weak", "strong", "pareto"):
        assert f[k]["frac0"] < 0.01
    assert f["strong"]["mp_soft_rank"] < 0.25 and f["gaussian"]["mp_soft_rank"] > 0.95


def test_lone_spike_fools_the_power_law_fit_not_the_classifier() -> None:
    """One strong spike: alpha_KS lands in the 'heavy-tailed' range 2-4, the phase is bulk+spikes."""
    shape = (400, 200)
    rng = np.random.default_rng(0)
    W = _add_spikes(rng.standard_normal(shape), [10 * mp.bgn_threshold(shape)], rng)
    res = phases.classify_phase(evals(W), shape)
    assert 2.0 < res.features["alpha_ks"] < 4.5
    assert res.phase == "bulk+spikes"
    assert res.features["n_out"] == 1


def test_two_bulks_are_not_heavy_tailed() -> None:
    """No MP bulk but no power law either (D_PL 0.12-0.14 > 0.1): bulk-decay, by step 2."""
    for shape in SHAPES:
        for seed in range(3):
            res = phases.classify_phase(evals(generate("twobulk", shape, seed)), shape)
            assert res.phase == "bulk-decay", res.reason
            assert res.features["D_PL"] > 0.1  # what keeps it out of heavy-tailed


def test_pareto_mu3_is_not_random_like() -> None:
    """mu = 3 (finite variance, moderately heavy-tailed): at these sizes an MP-like bulk plus a few
    outliers from the largest entries; the eigenvalues alone cannot tell these from low-rank spikes
    (bleeding-out or bulk+spikes at 1000 x 500), but never random-like."""
    shape = (400, 200)
    got = {phases.classify_phase(evals(generate("pareto3", shape, s)), shape).phase for s in range(4)}
    assert "random-like" not in got


def test_scale_free_and_backends() -> None:
    shape = (400, 200)
    ev = evals(generate("strong", shape, 1))
    a = phases.classify_phase(ev, shape)
    b = phases.classify_phase(ev / shape[0], shape)  # the 1/N-normalised ESD
    assert a.phase == b.phase == "bulk+spikes"
    for k in ("D_MP", "n_out", "top_ratio", "alpha_ks", "D_PL", "frac0"):
        assert a.features[k] == pytest.approx(b.features[k], rel=1e-9), k
    torch = pytest.importorskip("torch")
    c = phases.classify_phase(torch.as_tensor(ev[::-1].copy()), shape)
    assert c.phase == a.phase and c.features["n_out"] == a.features["n_out"]


def test_pooled_spectra() -> None:
    """Spectra of several matrices pooled (Martin-Mahoney's ensembles) classify like one."""
    shape = (240, 480)
    for kind in ("gaussian", "strong", "pareto"):
        ev = np.concatenate([evals(generate(kind, shape, s)) for s in range(4)])
        res = phases.classify_phase(ev, shape)
        assert res.phase == EXPECTED[kind], res.reason


def test_rejects_the_larger_gram_matrix() -> None:
    W = generate("gaussian", (300, 100), 0)
    big = np.linalg.eigvalsh(W @ W.T)  # 300 eigenvalues, 200 structural zeros
    with pytest.raises(ValueError, match="structural zeros"):
        phases.classify_phase(big, W.shape)


def test_rule_thresholds_are_settable() -> None:
    shape = (400, 200)
    ev = evals(generate("weak", shape, 0))
    assert phases.classify_phase(ev, shape).phase == "bleeding-out"
    loose = phases.PhaseRule(spike_ratio=1.05)
    assert phases.classify_phase(ev, shape, rule=loose).phase == "bulk+spikes"
