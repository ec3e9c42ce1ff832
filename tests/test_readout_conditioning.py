"""The ridge read-out stays right when the normal equations are ill-conditioned (runs gone wild)."""

from __future__ import annotations

import numpy as np
import pytest

from htdyn.train.readout import COND_LIMIT, ridge_readout


def _svd_ridge(Z: np.ndarray, y: np.ndarray, c: float) -> np.ndarray:
    """The closed form a = V diag(s / (s^2 + c)) U^T y, computed independently of the normal equations."""
    U, s, Vt = np.linalg.svd(Z, full_matrices=False)
    return Vt.T @ ((s / (s * s + c)) * (U.T @ y))


@pytest.mark.parametrize("n, h", [(40, 12), (12, 40)])  # primal and dual forms
@pytest.mark.parametrize("scale", [1.0, 1e11])
def test_ridge_matches_svd_closed_form_at_any_scale(n: int, h: int, scale: float) -> None:
    rng = np.random.default_rng(0)
    Z = rng.standard_normal((3, n, h)) / np.sqrt(h)
    Z[1] *= scale  # one run's features blow up; the others are ordinary
    y = rng.standard_normal((3, n))
    lam = 0.01
    c = lam / h * n
    a = ridge_readout(np, Z, y, lam)
    for b in range(3):
        ref = _svd_ridge(Z[b], y[b], c)
        # relative to the closed form: float64 round-off times the condition of the least-squares problem
        assert np.linalg.norm(a[b] - ref) <= 1e-8 * np.linalg.norm(ref), (b, scale)
    if scale > 1:
        assert np.trace(Z[1].T @ Z[1] if h <= n else Z[1] @ Z[1].T) / c > COND_LIMIT  # the fallback was taken


def test_ridge_shared_targets_and_nonfinite_features() -> None:
    rng = np.random.default_rng(1)
    Z = rng.standard_normal((2, 30, 10))
    Z[0, 0, 0] = np.inf
    y = rng.standard_normal((1, 30))  # one target vector shared by both runs
    a = ridge_readout(np, Z, y, 0.01)
    assert np.all(np.isnan(a[0]))
    np.testing.assert_allclose(a[1], _svd_ridge(Z[1], y[0], 0.01 / 10 * 30), rtol=1e-10)
