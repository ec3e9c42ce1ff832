"""The registry's shared-factorisation shortcuts against plain LAPACK answers."""

from __future__ import annotations

import numpy as np
import pytest

from htdyn.analysis.linalg import eigs_and_top_vector
from htdyn.analysis.registry import matrix_metrics


def _spiked(h: int, d: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian W plus a rank-one spike 3 sqrt(h d) u v^T (top pair well separated); v and beta."""
    r = np.random.default_rng(seed)
    u = r.standard_normal(h)
    v = r.standard_normal(d)
    u, v = u / np.linalg.norm(u), v / np.linalg.norm(v)
    W = r.standard_normal((h, d)) + 3.0 * np.sqrt(h * d) ** 0.5 * np.outer(u, v)
    beta = 0.6 * v + 0.8 * r.standard_normal(d) / np.sqrt(d)
    return W, beta / np.linalg.norm(beta)


@pytest.mark.parametrize("N", [3, 40, 257])
def test_eigs_and_top_vector_match_eigh(N: int) -> None:
    r = np.random.default_rng(N)
    A = r.standard_normal((N + 7, N))
    G = A.T @ A
    w, x = eigs_and_top_vector(np.asfortranarray(G))
    ev, V = np.linalg.eigh(G)
    # both from a backward-stable reduction: |error| <~ N eps ||G||
    np.testing.assert_allclose(w, np.maximum(ev, 0), rtol=0, atol=N * 1e-15 * ev[-1])
    gap = (ev[-1] - ev[-2]) / ev[-1]
    # eigenvector error ~ eps ||G|| / gap (Davis-Kahan): 1 - |<x, v>| far below that squared
    assert 1.0 - abs(x @ V[:, -1]) < max(1e-12, (N * 1e-15 / gap) ** 2) + 1e-14
    assert np.linalg.norm(x) == pytest.approx(1.0, abs=1e-14)


@pytest.mark.parametrize("shape", [(150, 100), (100, 150)], ids=["tall", "wide"])
def test_teacher_alignment_and_esd_match_svd(shape: tuple[int, int]) -> None:
    W, beta = _spiked(*shape, seed=1)
    out = matrix_metrics(W, ("esd", "teacher"), beta=beta)
    U, s, Vt = np.linalg.svd(W, full_matrices=False)
    np.testing.assert_allclose(out["esd"], np.sort(s**2), rtol=0, atol=1e-12 * s[0] ** 2)
    assert out["sim_beta"] == pytest.approx(abs(Vt[0] @ beta), abs=1e-10)
    # the inverse-iteration route (no ESD requested first) gives the same number
    alone = matrix_metrics(W, ("teacher",), beta=beta, evals=np.sort(s**2))
    assert alone["sim_beta"] == pytest.approx(out["sim_beta"], abs=1e-10)


def test_float32_and_strided_inputs() -> None:
    W, beta = _spiked(120, 80, seed=2)
    ref = matrix_metrics(W, ("esd", "teacher"), beta=beta)
    for V in (W.astype(np.float32).astype(np.float64), np.asfortranarray(W), W[:, ::1].copy(order="F")):
        out = matrix_metrics(V, ("esd", "teacher"), beta=beta)
        np.testing.assert_allclose(out["esd"], ref["esd"], rtol=0, atol=1e-6 * ref["esd"][-1])
        assert out["sim_beta"] == pytest.approx(ref["sim_beta"], abs=1e-6)
    out32 = matrix_metrics(W.astype(np.float32), ("esd", "teacher"), beta=beta)
    # float32 storage rounds W by 2^-24 relative: eigenvalues move by ~1e-7 of lambda_max
    np.testing.assert_allclose(out32["esd"], ref["esd"], rtol=0, atol=1e-6 * ref["esd"][-1])
    with pytest.raises(ValueError, match="non-finite"):
        W2 = W.copy()
        W2[3, 4] = np.inf
        matrix_metrics(W2, ("esd",))
