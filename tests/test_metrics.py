"""Scalar spectral metrics against independent computations (numpy norms/ranks, hand formulas)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from htdyn.analysis import metrics as met


def gram_evals(W: np.ndarray) -> np.ndarray:
    """Eigenvalues of the smaller Gram matrix, as squared singular values (exact zeros stay ~0)."""
    return np.linalg.svd(W, compute_uv=False) ** 2


@pytest.fixture
def W() -> np.ndarray:
    return np.random.default_rng(0).standard_normal((60, 40)) * 0.3


def test_norms_match_numpy(W: np.ndarray) -> None:
    ev = gram_evals(W)
    assert met.spectral_norm(ev) == pytest.approx(np.linalg.norm(W, 2), rel=1e-12)
    assert met.frobenius_norm(ev) == pytest.approx(np.linalg.norm(W, "fro"), rel=1e-12)
    assert met.stable_rank(ev) == pytest.approx(np.linalg.norm(W, "fro") ** 2 / np.linalg.norm(W, 2) ** 2, rel=1e-12)
    assert met.log_spectral_norm(ev) == pytest.approx(2 * math.log10(np.linalg.norm(W, 2)), rel=1e-12)
    # eigenvalues from eigh of W^T W (what an ESD routine may return) give the same norms
    ev2 = np.linalg.eigvalsh(W.T @ W)
    assert met.spectral_norm(ev2) == pytest.approx(np.linalg.norm(W, 2), rel=1e-12)


def test_rank_one_and_orthogonal() -> None:
    rng = np.random.default_rng(1)
    R1 = np.outer(rng.standard_normal(50), rng.standard_normal(30))
    ev = gram_evals(R1)
    assert met.stable_rank(ev) == pytest.approx(1.0, rel=1e-12)
    assert met.matrix_entropy(ev, R1.shape) == 0.0
    assert met.numerical_rank(ev, R1.shape) == 1 == np.linalg.matrix_rank(R1)
    Qm, _ = np.linalg.qr(rng.standard_normal((50, 30)))  # 50 x 30, orthonormal columns
    ev = gram_evals(3.0 * Qm)
    assert met.stable_rank(ev) == pytest.approx(30.0, rel=1e-12)
    assert met.matrix_entropy(ev, Qm.shape) == pytest.approx(1.0, rel=1e-12)
    assert met.numerical_rank(ev, Qm.shape) == 30


def test_entropy_hand_formula(W: np.ndarray) -> None:
    ev = gram_evals(W)
    p = ev / ev.sum()
    S = -np.sum(p * np.log(p)) / np.log(np.linalg.matrix_rank(W))
    assert met.matrix_entropy(ev, W.shape) == pytest.approx(S, rel=1e-12)
    # flat on r directions (plus exact zeros) gives 1
    flat = np.r_[np.zeros(10), np.full(20, 2.0)]
    assert met.matrix_entropy(flat, (40, 30)) == pytest.approx(1.0, rel=1e-12)
    assert 0.0 < met.matrix_entropy(np.r_[1.0, 1.0, 10.0], (3, 3)) < 1.0


@pytest.mark.parametrize("rank", [1, 5, 17, 40])
def test_numerical_rank_matches_numpy(rank: int) -> None:
    rng = np.random.default_rng(rank)
    A = rng.standard_normal((70, rank)) @ rng.standard_normal((rank, 40))
    expect = np.linalg.matrix_rank(A)
    assert met.numerical_rank(gram_evals(A), A.shape) == expect == rank
    # eigenvalues from eigh(A^T A): rounding puts zeros at ~eps lambda_max, caught by the
    # eigenvalue-level floor (numpy's singular-value tolerance alone would count them)
    ev = np.linalg.eigvalsh(A.T @ A)
    assert met.numerical_rank(ev, A.shape) == rank
    # an explicit tolerance on singular values, as numpy's tol
    s = np.linalg.svd(A, compute_uv=False)
    tol = 0.5 * s[rank - 1]
    assert met.numerical_rank(gram_evals(A), A.shape, tol=tol) == np.linalg.matrix_rank(A, tol=tol)


def test_zero_fraction() -> None:
    rng = np.random.default_rng(2)
    A = rng.standard_normal((80, 10)) @ rng.standard_normal((10, 50))  # rank 10 of 50
    assert met.zero_fraction(gram_evals(A)) == pytest.approx(0.8)
    assert met.zero_fraction(np.linalg.eigvalsh((A.T @ A).astype(np.float32))) == pytest.approx(0.8)
    assert met.zero_fraction(gram_evals(rng.standard_normal((80, 50)))) == 0.0
    assert met.zero_fraction(np.array([1e-3, 1.0]), rtol=1e-2) == 0.5


def test_alpha_hat_and_log_alpha_norm(W: np.ndarray) -> None:
    ev = gram_evals(W)
    a = 2.7
    assert met.alpha_hat(a, ev) == pytest.approx(a * math.log10(ev.max()), rel=1e-12)
    assert met.log_alpha_norm(a, ev) == pytest.approx(math.log10(np.sum(ev**a)), rel=1e-12)
    # no overflow where the naive sum would: lambda ~ 1e4, alpha = 100
    big = np.array([1e4, 2e4, 0.0])
    assert met.log_alpha_norm(100.0, big) == pytest.approx(100 * math.log10(2e4) + math.log10(1 + 0.5**100))
    # scaling W by c: alpha unchanged, log10 lambda_max shifts by 2 log10 c, alpha_hat by 2 alpha log10 c
    c = 3.0
    assert met.log_spectral_norm(c * c * ev) - met.log_spectral_norm(ev) == pytest.approx(2 * math.log10(c))
    assert met.alpha_hat(a, c * c * ev) - met.alpha_hat(a, ev) == pytest.approx(2 * a * math.log10(c))
    # log base: alpha * ln(lambda_max) = ln(10) * alpha_hat
    assert a * math.log(ev.max()) == pytest.approx(math.log(10) * met.alpha_hat(a, ev))


def test_batched_matches_loop() -> None:
    rng = np.random.default_rng(3)
    Ws = rng.standard_normal((4, 30, 20))
    Ws[1, :, 5:] = 0.0  # rank 5
    ev = np.stack([gram_evals(w) for w in Ws])
    alphas = np.array([2.0, 3.0, 4.0, 5.0])
    batch = met.scalar_metrics(ev, (30, 20), alpha=alphas)
    for i in range(4):
        one = met.scalar_metrics(ev[i], (30, 20), alpha=alphas[i])
        for k, v in one.items():
            assert isinstance(v, float)
            assert batch[k].shape == (4,)
            assert batch[k][i] == pytest.approx(v, rel=1e-12, abs=1e-15), k
    assert batch["numerical_rank"][1] == 5 and batch["zero_fraction"][1] == pytest.approx(0.75)


def test_scalar_metrics_keys_and_torch(W: np.ndarray) -> None:
    ev = gram_evals(W)
    out = met.scalar_metrics(ev, W.shape)
    assert set(out) == {"spectral_norm", "frobenius_norm", "log_spectral_norm", "log_norm", "stable_rank",
                        "matrix_entropy", "numerical_rank", "zero_fraction"}
    assert out["log_norm"] == pytest.approx(math.log10(np.linalg.norm(W, "fro") ** 2))
    assert set(met.scalar_metrics(ev, W.shape, alpha=3.0)) >= {"alpha_hat", "log_alpha_norm"}
    torch = pytest.importorskip("torch")
    tout = met.scalar_metrics(torch.as_tensor(ev), W.shape, alpha=3.0)
    ref = met.scalar_metrics(ev, W.shape, alpha=3.0)
    assert tout == pytest.approx(ref, rel=1e-12)


def test_tiny_negative_rounding_and_zero_spectrum() -> None:
    ev = np.array([-1e-17, 0.0, 1.0, 4.0])
    assert met.stable_rank(ev) == pytest.approx(1.25)
    assert met.numerical_rank(ev, (6, 4)) == 2
    assert math.isnan(met.stable_rank(np.zeros(3)))
    with pytest.raises(ValueError):
        met.spectral_norm(np.array([]))
