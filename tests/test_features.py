"""Kernel-target alignment, feature stable rank and hidden features.

The alignments are checked against their n x n definitions (explicit K = Z Z^T, explicit
H = I - 11^T/n).  Both sides are sums of O(n h min(n, h)) products of O(1) float64 numbers;
their relative round-off is ~ 1e-16 * sqrt(n h), far below the 1e-12 tolerance.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from htdyn.analysis.features import feature_stable_rank, hidden_features, kernel_target_alignment

RTOL = 1e-12


def kta_explicit(Z: np.ndarray, y: np.ndarray, centered: bool) -> float:
    """<K_c, Y_c>_F / (||K_c||_F ||Y_c||_F) with K = Z Z^T, Y = y y^T (Cortes et al. 2012)."""
    n = Z.shape[0]
    K, Y = Z @ Z.T, np.outer(y, y)
    if centered:
        H = np.eye(n) - np.ones((n, n)) / n
        K, Y = H @ K @ H, H @ Y @ H
    return float(np.sum(K * Y) / (np.linalg.norm(K, "fro") * np.linalg.norm(Y, "fro")))


@pytest.mark.parametrize("shape", [(40, 25), (25, 40)])  # both Gram branches (h <= n, h > n)
@pytest.mark.parametrize("centered", [False, True])
def test_kta_matches_n_by_n_definition(shape, centered):
    rng = np.random.default_rng(0)
    n, h = shape
    X, W = rng.standard_normal((n, 12)), rng.standard_normal((h, 12))
    Z = hidden_features(X, W, "relu")  # non-zero feature means: centring matters
    y = 0.8 + np.tanh(X[:, 0]) + 0.3 * rng.standard_normal(n)  # E[y] != 0, as in the paper
    got = kernel_target_alignment(Z, y, centered=centered)
    assert isinstance(got, float)
    want = kta_explicit(Z, y, centered)
    assert abs(got - want) <= RTOL * abs(want)
    # also the uncentred y y^T formula of the paper: y^T K y / (||K||_F ||y||^2)
    if not centered:
        K = Z @ Z.T
        assert abs(got - y @ K @ y / (np.linalg.norm(K) * (y @ y))) <= RTOL * abs(want)


def test_kta_centered_differs_and_limits():
    rng = np.random.default_rng(1)
    n = 50
    y = 1.0 + rng.standard_normal(n)
    # features = [y, constant]: centred alignment sees only y_c, so it is exactly 1
    Z = np.stack([y, np.ones(n)], axis=1)
    assert abs(kernel_target_alignment(Z, y, centered=True) - 1.0) < 1e-13
    assert kernel_target_alignment(Z, y) < 1.0 - 1e-3
    # Z = y (one feature): K = y y^T, uncentred alignment 1
    assert abs(kernel_target_alignment(y[:, None], y) - 1.0) < 1e-13
    # scale invariance in Z and y (the 1/sqrt(h) read-out factor does not matter)
    Z = rng.standard_normal((n, 7))
    for c in (False, True):
        a = kernel_target_alignment(Z, y, centered=c)
        assert abs(kernel_target_alignment(Z / math.sqrt(7), 3.0 * y, centered=c) - a) < 1e-13 * a
    # constant y: centred alignment undefined
    assert math.isnan(kernel_target_alignment(Z, np.ones(n), centered=True))


def test_kta_batched():
    rng = np.random.default_rng(2)
    B, n, h = 3, 30, 20
    Z = rng.standard_normal((B, n, h)) + 0.5
    y, ys = rng.standard_normal(n), rng.standard_normal((B, n))
    for c in (False, True):
        got = kernel_target_alignment(Z, y, centered=c)
        assert got.shape == (B,)
        np.testing.assert_allclose(got, [kta_explicit(Z[b], y, c) for b in range(B)], rtol=RTOL)
        got = kernel_target_alignment(Z, ys, centered=c)
        np.testing.assert_allclose(got, [kta_explicit(Z[b], ys[b], c) for b in range(B)], rtol=RTOL)
    with pytest.raises(ValueError):
        kernel_target_alignment(Z, np.ones(n + 1))


def test_hidden_features_activations():
    rng = np.random.default_rng(3)
    n, d, h = 10, 9, 6
    X, W = rng.standard_normal((n, d)), 2.0 * rng.standard_normal((h, d))
    P = X @ W.T / 3.0  # sqrt(d) = 3
    c = math.sqrt(2 / math.pi)
    expected = {
        "tanh": np.tanh(P),
        "relu": np.maximum(P, 0),
        "linear": P,
        "softplus": np.logaddexp(0.0, P),
        "gelu": 0.5 * P * (1 + np.tanh(c * (P + 0.044715 * P**3))),
    }
    for name, Zx in expected.items():
        np.testing.assert_allclose(hidden_features(X, W, name), Zx, rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(hidden_features(X, W, np.sin), np.sin(P), rtol=1e-14)
    Ws = np.stack([W, -W])
    Zs = hidden_features(X, Ws)
    assert Zs.shape == (2, n, h)
    np.testing.assert_allclose(Zs[1], np.tanh(-P), rtol=1e-14)
    assert hidden_features(X, W).dtype == np.float64
    assert hidden_features(X, W.astype(np.float32), dtype=None).dtype == np.float32
    with pytest.raises(ValueError):
        hidden_features(X, W, "swish")
    with pytest.raises(ValueError):
        hidden_features(X[:, :5], W)


def test_feature_stable_rank():
    rng = np.random.default_rng(4)
    n, h = 30, 8
    U = np.linalg.qr(rng.standard_normal((n, h)))[0]
    V = np.linalg.qr(rng.standard_normal((h, h)))[0]
    s = np.array([4.0, 2.0, 2.0, 1.0, 1.0, 0.5, 0.0, 0.0])
    Z = (U * s) @ V.T
    assert abs(feature_stable_rank(Z) - np.sum(s**2) / 16.0) < 1e-12
    # a common offset dominates the uncentred stable rank; centring removes it
    Zc = Z - Z.mean(axis=0)
    Zoff = Zc + 100.0
    assert feature_stable_rank(Zoff) < 1.01
    sc = np.linalg.svd(Zc, compute_uv=False)
    assert abs(feature_stable_rank(Zoff, centered=True) - np.sum(sc**2) / sc[0] ** 2) < 1e-9
    got = feature_stable_rank(np.stack([Z, 2 * Z, Zc]))
    np.testing.assert_allclose(got, [np.sum(s**2) / 16.0] * 2 + [np.sum(sc**2) / sc[0] ** 2], rtol=1e-12)
    assert math.isnan(feature_stable_rank(np.zeros((4, 3))))


def test_torch_input():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    X, W, y = rng.standard_normal((20, 6)), rng.standard_normal((9, 6)), rng.standard_normal(20)
    Z = hidden_features(torch.from_numpy(X), torch.from_numpy(W))
    assert isinstance(Z, np.ndarray)
    got = kernel_target_alignment(torch.from_numpy(Z), torch.from_numpy(y), centered=True)
    assert abs(got - kta_explicit(Z, y, True)) <= RTOL * got


@pytest.mark.cuda
def test_cupy_matches_numpy():
    cp = pytest.importorskip("cupy")
    rng = np.random.default_rng(6)
    X, W, y = rng.standard_normal((30, 8)), rng.standard_normal((2, 12, 8)), rng.standard_normal(30)
    Z = hidden_features(cp.asarray(X), cp.asarray(W), "gelu")
    assert isinstance(Z, cp.ndarray)
    Z0 = hidden_features(X, W, "gelu")
    np.testing.assert_allclose(Z.get(), Z0, rtol=1e-12, atol=1e-14)
    for c in (False, True):
        np.testing.assert_allclose(kernel_target_alignment(Z, y, centered=c).get(),
                                   kernel_target_alignment(Z0, y, centered=c), rtol=1e-12)
    np.testing.assert_allclose(feature_stable_rank(Z).get(), feature_stable_rank(Z0), rtol=1e-12)
