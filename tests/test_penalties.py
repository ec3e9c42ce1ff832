"""Spectral penalties: closed-form gradients against finite differences and torch autograd, the
orthogonality that scale invariance implies, the Hill alpha of the analysis, schedules and thresholds.

Reference points: related.md B.2/B.3 (Xiao et al. 2023) for the formulas and the tests.
"""

from __future__ import annotations

import math

import array_api_compat.numpy as xnp
import numpy as np
import pytest

from htdyn.analysis.esd import esd
from htdyn.analysis.powerlaw import fit_hill
from htdyn.train.penalties import (
    FrechetPrior,
    PowerLawPrior,
    StableRank,
    WeightedAlpha,
    hill_alpha,
    spectral_grad_norm,
    spectral_gradient,
    spectrum,
)

H, D = 60, 40


def distinct_W(h: int = H, d: int = D, seed: int = 0) -> np.ndarray:
    """A random W whose singular values are distinct (min gap checked)."""
    W = np.random.default_rng(seed).standard_normal((h, d))
    s = np.linalg.svd(W, compute_uv=False)
    assert np.min(-np.diff(s)) > 1e-4 * s[0]
    return W


def penalties() -> list:
    # lambda_max of a 60 x 40 Gaussian W is about (sqrt 60 + sqrt 40)^2 ~ 200, the median about 50
    return [WeightedAlpha(), StableRank(), PowerLawPrior(3.0), PowerLawPrior(2.5, tail_start=60.0),
            FrechetPrior(2.0, 50.0, 100.0)]


def value(pen, W: np.ndarray) -> np.ndarray:
    return pen(xnp, spectrum(xnp, W).lam)[0]


def closed_form(pen, W: np.ndarray) -> np.ndarray:
    spec = spectrum(xnp, W[None])
    return spectral_gradient(xnp, spec, pen(xnp, spec.lam)[1])[0]


def central_differences(pen, W: np.ndarray, eps: float = 1e-5) -> np.ndarray:
    """dR/dW_ij by central differences, every entry at once (a batch of perturbed matrices)."""
    h, d = W.shape
    E = np.eye(h * d).reshape(h * d, h, d) * eps
    return ((value(pen, W[None] + E) - value(pen, W[None] - E)) / (2 * eps)).reshape(h, d)


@pytest.mark.parametrize("shape", [(H, D), (D, H)])
@pytest.mark.parametrize("k", range(5))
def test_gradient_matches_central_differences(k: int, shape: tuple) -> None:
    # float64, eps 1e-5: truncation ~eps^2 * R''' and round-off ~1e-16 / eps, both far below 1e-4
    W = distinct_W(*shape)
    pen = penalties()[k]
    G, F = closed_form(pen, W), central_differences(pen, W)
    assert np.linalg.norm(G - F) / np.linalg.norm(F) < 1e-4


def torch_reference(pen, W):
    """The penalty written directly in torch from the sorted eigenvalues (autograd differentiates it)."""
    import torch

    lam = torch.linalg.eigvalsh(W.T @ W if W.shape[0] >= W.shape[1] else W @ W.T)
    n = lam.shape[0]
    i, k = n // 2, n - n // 2
    lmax = lam[-1]
    if isinstance(pen, (WeightedAlpha,)):
        alpha = 1 + k / torch.sum(torch.log(lam[i:] / lam[i]))
        return alpha * torch.log(lmax)
    if isinstance(pen, StableRank):
        return torch.sum(W * W) / lmax
    if isinstance(pen, PowerLawPrior):
        a0 = float(pen.alpha0)
        ts = float(pen.tail_start)
        tail, xmin = (lam[i:], lam[i]) if math.isnan(ts) else (lam[lam >= ts], torch.tensor(ts, dtype=lam.dtype))
        return a0 * torch.sum(torch.log(tail / xmin)) - tail.shape[0] * torch.log((a0 - 1) / xmin)
    a, s, m = float(pen.shape), float(pen.scale), float(pen.loc)
    z = (lmax - m) / s
    return math.log(s / a) + (1 + a) * torch.log(z) + z ** (-a)


@pytest.mark.parametrize("k", range(5))
def test_gradient_matches_torch_autograd(k: int) -> None:
    torch = pytest.importorskip("torch")
    W = distinct_W(seed=1)
    pen = penalties()[k]
    Wt = torch.tensor(W, dtype=torch.float64, requires_grad=True)
    R = torch_reference(pen, Wt)
    R.backward()
    assert R.item() == pytest.approx(float(value(pen, W[None])[0]), rel=1e-10)
    ref = Wt.grad.numpy()
    assert np.linalg.norm(closed_form(pen, W) - ref) / np.linalg.norm(ref) < 1e-8


@pytest.mark.parametrize("k", range(5))
def test_torch_namespace_equals_numpy(k: int) -> None:
    torch = pytest.importorskip("torch")
    import array_api_compat.torch as xt

    W = np.stack([distinct_W(seed=s) for s in (2, 3)])
    pen = penalties()[k]
    spec_t = spectrum(xt, torch.tensor(W, dtype=torch.float32))
    R_t, g_t = pen(xt, spec_t.lam)
    G_t = spectral_gradient(xt, spec_t, g_t).numpy()
    spec = spectrum(xnp, W.astype(np.float32))
    R, g = pen(xnp, spec.lam)
    assert np.allclose(R_t.numpy(), R, rtol=1e-10)
    assert np.allclose(G_t, spectral_gradient(xnp, spec, g), rtol=1e-8, atol=1e-12 * np.abs(G_t).max())


def test_stable_rank_gradient_is_orthogonal_to_W() -> None:
    W = distinct_W(seed=4)
    G = closed_form(StableRank(), W)
    # <grad R, W> = 0 exactly for a scale-invariant R; relative to |grad| |W| this is round-off
    assert abs(np.sum(G * W)) < 1e-12 * np.linalg.norm(G) * np.linalg.norm(W)


def test_alpha_part_is_orthogonal_and_log_lambda_max_part_gives_two() -> None:
    W = distinct_W(seed=5)
    spec = spectrum(xnp, W[None])
    lam = spec.lam
    _, dalpha = hill_alpha(xnp, lam)
    Ga = spectral_gradient(xnp, spec, dalpha)[0]
    assert abs(np.sum(Ga * W)) < 1e-12 * np.linalg.norm(Ga) * np.linalg.norm(W)
    e = np.zeros_like(lam)
    e[:, -1] = 1.0 / lam[:, -1]
    Gl = spectral_gradient(xnp, spec, e)[0]  # grad ln lambda_max
    assert np.sum(Gl * W) == pytest.approx(2.0, rel=1e-12)
    # and the weighted-alpha gradient is exactly ln(lmax) * grad alpha + alpha * grad ln lmax
    alpha = hill_alpha(xnp, lam)[0][0]
    Gw = closed_form(WeightedAlpha(), W)
    assert np.allclose(Gw, math.log(lam[0, -1]) * Ga + alpha * Gl, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("shape", [(H, D), (45, 31), (31, 45)])  # even and odd N, both Gram sides
def test_hill_alpha_equals_the_analysis_estimator_and_is_scale_invariant(shape: tuple) -> None:
    W = np.stack([distinct_W(*shape, seed=s) for s in range(3)])
    lam = spectrum(xnp, W).lam
    alpha = hill_alpha(xnp, lam)[0]
    ref = [fit_hill(esd(w)).alpha for w in W]
    assert np.allclose(alpha, ref, rtol=1e-12)
    assert np.allclose(hill_alpha(xnp, spectrum(xnp, 7.0 * W).lam)[0], alpha, rtol=1e-12)


def test_grad_norm_formula_equals_the_frobenius_norm() -> None:
    W = np.stack([distinct_W(seed=6), distinct_W(seed=7)])
    spec = spectrum(xnp, W)
    for pen in penalties():
        g = pen(xnp, spec.lam)[1]
        G = spectral_gradient(xnp, spec, g)
        assert np.allclose(spectral_grad_norm(xnp, spec.lam, g), np.linalg.norm(G, axis=(1, 2)), rtol=1e-10)


def test_stable_rank_and_priors_equal_their_definitions() -> None:
    W = distinct_W(seed=8)
    s = np.linalg.svd(W, compute_uv=False)
    lam = np.sort(s**2)
    assert value(StableRank(), W[None])[0] == pytest.approx(np.sum(W * W) / s[0] ** 2, rel=1e-12)
    tail = lam[lam >= 60.0]
    pdf = (1.5 / 60.0) * (tail / 60.0) ** -2.5
    assert value(PowerLawPrior(2.5, 60.0), W[None])[0] == pytest.approx(-np.sum(np.log(pdf)), rel=1e-12)
    z = (lam[-1] - 100.0) / 50.0
    frechet_pdf = (2.0 / 50.0) * z ** -3.0 * math.exp(-(z ** -2.0))
    assert value(FrechetPrior(2.0, 50.0, 100.0), W[None])[0] == pytest.approx(-math.log(frechet_pdf), rel=1e-12)


def test_frechet_outside_its_support_is_infinite_with_zero_gradient() -> None:
    W = distinct_W(seed=9)
    pen = FrechetPrior(2.0, 1.0, 1e4)  # loc above lambda_max
    R, g = pen(xnp, spectrum(xnp, W[None]).lam)
    assert np.isinf(R[0]) and R[0] > 0 and not np.any(g)


def test_per_run_parameters_broadcast_like_single_runs() -> None:
    W = np.stack([distinct_W(seed=10), distinct_W(seed=11)])
    lam = spectrum(xnp, W).lam
    both = PowerLawPrior(np.array([2.5, 3.5]), np.array([np.nan, 60.0]))(xnp, lam)
    one = PowerLawPrior(2.5)(xnp, lam[:1]), PowerLawPrior(3.5, 60.0)(xnp, lam[1:])
    assert np.allclose(both[0], [one[0][0][0], one[1][0][0]], rtol=1e-14)
    assert np.allclose(both[1], np.concatenate([one[0][1], one[1][1]]), rtol=1e-14)
