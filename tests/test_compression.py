"""Entry-wise Hill tail index and magnitude-pruning curves (Shin 2021).

Tolerances
----------
* Hill on exact Pareto magnitudes (P(|w| > x) = x^-alpha, x >= 1): the k log-spacings above
  x_(k+1) are i.i.d. Exp(alpha) (Renyi), so alpha_hat = alpha k / Gamma(k, 1): mean
  alpha k/(k-1), sd ~ alpha/sqrt(k).  Tolerance: 4 sd plus the bias alpha/(k-1).
* Student-t(nu): |T| has tail index nu, but the tail is Pareto only to first order; the bias
  at k/N = 0.2% is ~1% of nu (measured -0.03 for nu = 3, N = 10^6, k = 2000), below the
  4 sd = 0.27 tolerance.
* Gaussian pruning residual at kept fraction s: fro^2 -> 1 - 2[z phi(z) + 1 - Phi(z)],
  z = Phi^-1(1 - s/2) (0.8491 at s = 5%).  The delta method on the trimmed-sum ratio (influence
  function (w^2 - z^2) 1{|w|<z} + z^2 (1-s) - fro^2 w^2) gives sd(fro) = 0.227/sqrt(N) at
  s = 5% (checked: 4.6e-4 over 200 draws at N = 2e5, predicted 5.1e-4); tolerance 5 sd.
"""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np
import pytest

from htdyn.analysis.compression import HillTail, entrywise_tail_index, fraction_for_residual, pruning_curve


def pareto(rng: np.random.Generator, shape: tuple[int, int], alpha: float) -> np.ndarray:
    """Random signs times exact Pareto(alpha) magnitudes (x_min = 1)."""
    return rng.choice([-1.0, 1.0], size=shape) * rng.random(shape) ** (-1.0 / alpha)


def lomax(rng: np.random.Generator, shape: tuple[int, int], mu: float) -> np.ndarray:
    """Random signs times numpy's ``pareto`` (Lomax: tail index mu, support from 0)."""
    return rng.choice([-1.0, 1.0], size=shape) * rng.pareto(mu, size=shape)


# ----------------------------------------------------------------------------- Hill


@pytest.mark.parametrize("alpha", [1.0, 1.5, 3.0])
@pytest.mark.parametrize("k", [None, 0.05])
def test_hill_exact_pareto(alpha, k):
    rng = np.random.default_rng(int(10 * alpha))
    W = pareto(rng, (1000, 500), alpha)  # N = 5e5
    t = entrywise_tail_index(W, k=k)
    N = W.size
    kk = math.ceil(math.sqrt(N)) if k is None else int(k * N)
    assert isinstance(t, HillTail) and t.k == kk and t.n == N
    assert abs(t.alpha - alpha) < 4 * alpha / math.sqrt(kk) + alpha / (kk - 1)
    assert abs(t.sd - t.alpha / math.sqrt(kk)) < 1e-15
    assert float(t) == t.alpha
    assert t.xmin == np.sort(np.abs(W).ravel())[::-1][kk]  # x_(k+1)


def test_hill_student_t():
    rng = np.random.default_rng(1)
    nu = 3.0
    W = rng.standard_t(nu, size=(1000, 1000))
    t = entrywise_tail_index(W, k=2000)
    assert abs(t.alpha - nu) < 4 * nu / math.sqrt(2000)


def test_hill_direct_formula_and_errors():
    # x = e^3, e^1, 1, 0.5, ...: k = 2 -> alpha = 2 / (3 + 1)
    W = np.array([[math.e**3, -math.e], [1.0, 0.5], [0.25, -0.1]])
    t = entrywise_tail_index(W, k=2)
    assert abs(t.alpha - 0.5) < 1e-15 and t.xmin == 1.0
    # and against a plain sort on random data
    rng = np.random.default_rng(2)
    W = rng.standard_normal((50, 40))
    x = np.sort(np.abs(W).ravel())[::-1]
    assert abs(entrywise_tail_index(W, k=37).alpha - 37 / np.sum(np.log(x[:37] / x[37]))) < 1e-12
    with pytest.raises(ValueError):
        entrywise_tail_index(W, k=0)
    with pytest.raises(ValueError):
        entrywise_tail_index(W, k=W.size)
    with pytest.raises(ValueError):
        entrywise_tail_index(W, k=1.5)  # a float k is a fraction
    Wz = np.zeros((10, 10))
    Wz[0, :5] = 1.0 + np.arange(5)
    with pytest.raises(ValueError):
        entrywise_tail_index(Wz, k=10)  # threshold x_(11) = 0


# ----------------------------------------------------------------------------- pruning


def test_pruning_curve_matches_direct():
    rng = np.random.default_rng(3)
    W = rng.standard_normal((40, 30)) * rng.random((40, 30))
    fr = [0.0, 0.1, 1 / 3, 0.5, 0.9, 1.0]
    c = pruning_curve(W, fr)
    N = W.size
    for i, f in enumerate(fr):
        n = int(math.floor(f * N + 0.5))
        keep = np.zeros(N, dtype=bool)
        keep[np.argsort(-np.abs(W).ravel())[:n]] = True  # no ties in continuous data
        E = np.where(keep.reshape(W.shape), 0.0, W)
        assert c["n_kept"][i] == n
        assert abs(c["frobenius"][i] - np.linalg.norm(E) / np.linalg.norm(W)) < 1e-14
        assert abs(c["operator"][i] - np.linalg.norm(E, 2) / np.linalg.norm(W, 2)) < 1e-14
        if n > 0:
            assert c["threshold"][i] == np.min(np.abs(W[keep.reshape(W.shape)]))
    assert c["frobenius"][0] == 1.0 and c["operator"][0] == 1.0
    assert c["frobenius"][-1] == 0.0 and c["operator"][-1] == 0.0
    assert np.all(np.diff(c["frobenius"]) <= 0)
    assert "operator" not in pruning_curve(W, fr, operator=False)
    with pytest.raises(ValueError):
        pruning_curve(W, [1.2])


def test_pruning_curve_closed_form_integers():
    """Entries a permutation of +-1..N: keeping n leaves 1..N-n, fro^2 = S(N-n)/S(N),
    S(m) = m(m+1)(2m+1)/6."""
    rng = np.random.default_rng(4)
    N = 24 * 25
    W = (rng.permutation(N) + 1.0).reshape(24, 25) * rng.choice([-1.0, 1.0], size=(24, 25))

    def S(m):
        return m * (m + 1) * (2 * m + 1) / 6

    fr = np.array([0.0, 0.01, 0.2, 0.5, 0.75, 1.0])
    c = pruning_curve(W, fr, operator=False)
    n = np.floor(fr * N + 0.5)
    np.testing.assert_allclose(c["frobenius"], np.sqrt(S(N - n) / S(N)), rtol=1e-14, atol=0)
    np.testing.assert_array_equal(c["threshold"][1:], N - n[1:] + 1)


def test_pruning_curve_closed_form_operator():
    """W = c J + b I (m x m, b, c > 0): ||W||_2 = b + c m.  Keeping the m diagonal entries
    (the largest, b + c > c) leaves E = c (J - I): ||E||_2 = c (m - 1) and
    ||E||_F = c sqrt(m^2 - m), ||W||_F^2 = m (b + c)^2 + c^2 (m^2 - m)."""
    m, b, c = 12, 5.0, 0.5
    W = c * np.ones((m, m)) + b * np.eye(m)
    out = pruning_curve(W, [1.0 / m])
    assert out["n_kept"][0] == m
    assert abs(out["operator"][0] - c * (m - 1) / (b + c * m)) < 1e-14
    fro = c * math.sqrt(m * m - m) / math.sqrt(m * (b + c) ** 2 + c * c * (m * m - m))
    assert abs(out["frobenius"][0] - fro) < 1e-14


def test_pruning_gaussian_closed_form():
    rng = np.random.default_rng(5)
    W = rng.standard_normal((1000, 500))
    s = 0.05
    z = NormalDist().inv_cdf(1 - s / 2)
    want = math.sqrt(1 - 2 * (z * NormalDist().pdf(z) + 1 - NormalDist().cdf(z)))
    assert abs(want - 0.849) < 5e-4  # related.md C.4
    got = pruning_curve(W, [s], operator=False)["frobenius"][0]
    assert abs(got - want) < 5 * 0.227 / math.sqrt(W.size)


def test_pruning_heavy_tails_compress():
    """Shin (2021): heavier entry tails, smaller pruning residuals at 5% kept.

    Only the ordering is asserted.  For mu < 2 the sum of squares is dominated by the largest
    entries, so fro^2 ~ N^(1 - 2/mu) -> 0 but slowly and with O(1) fluctuations (a ratio of
    stable laws): at mu = 1.5, 3e4 entries, fro ranged over 0.10-0.19 in six seeds, so a fixed
    bound such as "< 0.1" is not a valid test.  The gaps between the classes (~0.85, ~0.5,
    ~0.15, ~0.02) are many times that spread.
    """
    rng = np.random.default_rng(6)
    shape = (200, 150)
    res = {}
    for name, W in [("gauss", rng.standard_normal(shape)), ("mu3", lomax(rng, shape, 3.0)),
                    ("mu1.5", lomax(rng, shape, 1.5)), ("mu1", lomax(rng, shape, 1.0))]:
        c = pruning_curve(W, [0.05])
        res[name] = (c["frobenius"][0], c["operator"][0])
    for j in (0, 1):
        assert res["gauss"][j] > res["mu3"][j] > res["mu1.5"][j] > res["mu1"][j]


def test_heavy_tailed_spectrum_light_tailed_entries():
    """U diag(s) V^T with power-law s (a heavy-tailed ESD) and Haar U, V has near-Gaussian
    entries (sums of d terms with random orthogonal weights; the top term carries
    1/H_d ~ 15% of the variance): the entry tail index is large and magnitude pruning leaves
    a near-Gaussian residual (0.849 for exact Gaussians; measured 0.84).  The bounds are loose
    on purpose (Lomax mu = 3 gives ~0.5, mu = 1.5 ~0.15)."""
    rng = np.random.default_rng(9)
    h, d = 600, 400
    U = np.linalg.qr(rng.standard_normal((h, d)))[0]
    V = np.linalg.qr(rng.standard_normal((d, d)))[0]
    W = (U * np.arange(1, d + 1) ** -0.5) @ V.T
    assert entrywise_tail_index(W, k=0.05).alpha > 4.0
    assert pruning_curve(W, [0.05], operator=False)["frobenius"][0] > 0.75


def test_fraction_for_residual():
    rng = np.random.default_rng(7)
    W = lomax(rng, (30, 20), 2.0)
    N = W.size
    for eps in (0.0, 0.05, 0.3, 0.9, 1.0):
        f = fraction_for_residual(W, eps)
        n = round(f * N)
        curve = pruning_curve(W, [n / N, max(n - 1, 0) / N], operator=False)["frobenius"]
        assert curve[0] <= eps + 1e-15
        if n > 0:
            assert curve[1] > eps
    assert fraction_for_residual(W, 1.0) == 0.0 and fraction_for_residual(W, 0.0) == 1.0


@pytest.mark.cuda
def test_cupy_matches_numpy():
    cp = pytest.importorskip("cupy")
    rng = np.random.default_rng(8)
    W = lomax(rng, (60, 40), 2.0)
    Wd = cp.asarray(W)
    t, t0 = entrywise_tail_index(Wd, k=100), entrywise_tail_index(W, k=100)
    assert abs(t.alpha - t0.alpha) < 1e-12 * t0.alpha and t.xmin == t0.xmin
    fr = [0.0, 0.05, 0.5, 1.0]
    c, c0 = pruning_curve(Wd, fr), pruning_curve(W, fr)
    for key in c0:
        np.testing.assert_allclose(c[key], c0[key], rtol=1e-12, atol=1e-14)
    assert fraction_for_residual(Wd, 0.2) == fraction_for_residual(W, 0.2)
