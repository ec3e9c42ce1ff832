"""ESD through the Gram matrix: accuracy against float64 SVD and exact spectra, conventions.

Error model used for the tolerances (Higham, *Accuracy and Stability of Numerical
Algorithms*, 2nd ed., Sec. 3.5 for the product; LAPACK Users' Guide, 3rd ed., Sec. 4.7 for
the symmetric eigensolver; Weyl's inequality, Golub & Van Loan, 4th ed., Cor. 8.1.6):

* forming ``G = W^T W`` in float64 perturbs it by ``|dG| <= gamma_h |W|^T |W|``; with
  independent rounding errors this is ``~ sqrt(h) eps ||W||_2^2`` in norm, at worst
  ``h eps ||W||_F^2``;
* ``eigvalsh`` is backward stable: the eigenvalues of ``G + E`` with ``||E|| <= p(N) eps ||G||``
  (``p`` a modest polynomial, in practice ``~N``).

By Weyl's inequality each eigenvalue then moves by at most ``||dG|| + ||E||``, i.e. an
*absolute* error ``~(h + N) eps lambda_max`` with a small constant.  We assert
``|d lambda_i| <= 8 (h + N) eps lambda_max`` (factor 8 for the constants; the observed errors
are ~1000x smaller, a few eps lambda_max).  The float64 SVD reference itself is off by ``~N eps s_max`` in each
singular value, i.e. ``~2 N eps lambda_max`` in ``s^2``, inside the same budget.  Relative
accuracy follows for ``lambda_i >> tol`` only: small eigenvalues of ill-conditioned matrices
lose it, which the second test shows against the exact spectrum.
"""

from __future__ import annotations

import numpy as np
import pytest

from htdyn.analysis.esd import esd, singular_values

EPS = np.finfo(np.float64).eps


def _gram_tol(h: int, d: int, lam_max: float) -> float:
    return 8.0 * (max(h, d) + min(h, d)) * EPS * lam_max


def test_gaussian_matches_svd_to_gram_error_bound():
    rng = np.random.default_rng(0)
    h, d = 300, 200
    W = rng.standard_normal((h, d))
    ev = esd(W)
    ref = np.sort(np.linalg.svd(W, compute_uv=False) ** 2)
    assert ev.shape == (d,) and ev.dtype == np.float64
    assert np.all(np.diff(ev) >= 0)
    tol = _gram_tol(h, d, ref[-1])  # 8 * 500 * 2.2e-16 * ~1e3 = ~9e-10
    assert np.max(np.abs(ev - ref)) <= tol
    # MP spectrum: lambda_min ~ (sqrt(300) - sqrt(200))^2 ~ 10 = lambda_max / 100, so the
    # absolute bound gives a relative accuracy of ~1e-10 on every eigenvalue here
    assert np.max(np.abs(ev - ref) / ref) <= tol / ref[0]
    assert tol / ref[0] < 1e-9


def test_ill_conditioned_absolute_bound_and_loss_of_relative_accuracy():
    # W = U diag(s) V^T with known s spanning 7 decades (lambda spans 14, cond(G) = 1e14)
    rng = np.random.default_rng(1)
    h, d = 300, 200
    U, _ = np.linalg.qr(rng.standard_normal((h, d)))
    V, _ = np.linalg.qr(rng.standard_normal((d, d)))
    s = np.logspace(0.0, -7.0, d)
    W = (U * s) @ V.T  # rounding in W moves each s_i by ~eps s_max: negligible below
    exact = np.sort(s**2)
    ev = esd(W)
    tol = _gram_tol(h, d, 1.0)  # ~9e-13 absolute, with lambda_max = 1
    assert np.max(np.abs(ev - exact)) <= tol
    assert np.max(np.abs(ev - np.sort(np.linalg.svd(W, compute_uv=False) ** 2))) <= tol
    # relative accuracy holds where lambda >> tol; below, only the absolute bound does.  At the
    # bottom (lambda_min = 1e-14 = 1e-14 lambda_max) the Gram route was measured 6e-4 off
    # relative (the SVD route: 5e-11 on s_min); not asserted, the value is round-off.
    big = exact > 1e4 * tol
    assert np.max(np.abs(ev[big] - exact[big]) / exact[big]) <= 1e-4
    assert np.all(ev >= 0)


@pytest.mark.parametrize("shape", [(3, 40, 30), (2, 30, 40), (2, 2, 25, 25)])
def test_batched_and_orientation(shape):
    rng = np.random.default_rng(2)
    W = rng.standard_normal(shape)
    ev = esd(W)
    h, d = shape[-2:]
    assert ev.shape == shape[:-2] + (min(h, d),)
    flat_W = W.reshape(-1, h, d)
    for b, Wb in enumerate(flat_W):
        ref = np.sort(np.linalg.svd(Wb, compute_uv=False) ** 2)
        got = ev.reshape(-1, min(h, d))[b]
        assert np.max(np.abs(got - ref)) <= _gram_tol(h, d, ref[-1])
        # W and W^T have the same non-zero spectrum (the smaller Gram matrix is used either way)
        np.testing.assert_allclose(esd(Wb.T), got, rtol=0, atol=_gram_tol(h, d, ref[-1]))


@pytest.mark.parametrize("shape", [(50, 20), (20, 50)])
def test_normalize_divides_by_the_long_side(shape):
    rng = np.random.default_rng(3)
    W = rng.standard_normal(shape)
    # exact in floating point: division by an integer is correctly rounded either way
    np.testing.assert_array_equal(esd(W, normalize=True), esd(W) / max(shape))
    # Martin-Mahoney X = W^T W / N, N = max(h, d): for N(0,1) entries the mean eigenvalue is ~1
    assert abs(np.mean(esd(W, normalize=True)) - 1.0) < 0.1


def test_singular_values_ascending_and_consistent():
    rng = np.random.default_rng(4)
    W = rng.standard_normal((60, 40))
    sv = singular_values(W)
    assert np.all(np.diff(sv) >= 0)
    np.testing.assert_allclose(sv, np.sort(np.linalg.svd(W, compute_uv=False)), rtol=1e-12)
    np.testing.assert_allclose(sv**2, esd(W), rtol=1e-14)


def test_dtype_and_torch_input():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    W = rng.standard_normal((40, 30)).astype(np.float32)
    ev = esd(torch.from_numpy(W))
    assert isinstance(ev, np.ndarray) and ev.dtype == np.float64  # cast to float64 first
    np.testing.assert_array_equal(ev, esd(W.astype(np.float64)))
    ev32 = esd(W, dtype="float32")
    assert ev32.dtype == np.float32
    # float32 Gram route: absolute error ~ (h + N) eps32 lambda_max
    assert np.max(np.abs(ev32 - ev)) <= 8 * 70 * np.finfo(np.float32).eps * ev[-1]


def test_rank_deficient_gives_nonnegative_roundoff():
    rng = np.random.default_rng(6)
    W = rng.standard_normal((80, 5)) @ rng.standard_normal((5, 40))  # rank 5, 35 zero singular values
    ev = esd(W)
    assert np.all(ev >= 0)
    assert np.max(ev[:35]) <= _gram_tol(80, 40, ev[-1])
    assert ev[35] > 1e3 * _gram_tol(80, 40, ev[-1])


@pytest.mark.parametrize("bad", [np.zeros(5), np.array([[1.0, np.nan], [0.0, 1.0]]), np.array([[np.inf, 0.0]])])
def test_invalid_input(bad):
    with pytest.raises(ValueError):
        esd(bad)
