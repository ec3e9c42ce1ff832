"""Singular-vector alignment and overlaps on matrices with planted singular vectors.

Every matrix is built as U diag(s) V^T from random orthogonal U, V and distinct singular
values, so the expected overlaps are known exactly.  Round-off: a singular vector of a matrix
with gap g between its singular value and the others is computed to ~ eps ||W|| / g
(Davis-Kahan / Wedin); with ||W|| <= 10 and g >= 0.3 below, that is < 1e-14, so 1e-10 leaves
a wide margin.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from htdyn.analysis.alignment import (
    effective_ranks,
    overlap_matrices,
    overlap_summary,
    singular_triplets,
    subspace_overlap,
    teacher_alignment,
    top_singular_triplets,
    update_teacher_alignment,
)

TOL = 1e-10


def orth(rng: np.random.Generator, n: int, m: int | None = None) -> np.ndarray:
    """An n x m matrix with orthonormal columns (QR of a Gaussian matrix)."""
    q, r = np.linalg.qr(rng.standard_normal((n, m or n)))
    return q * np.sign(np.diag(r))


def givens(n: int, i: int, j: int, theta: float) -> np.ndarray:
    G = np.eye(n)
    c, s = math.cos(theta), math.sin(theta)
    G[i, i] = G[j, j] = c
    G[i, j], G[j, i] = -s, s
    return G


@pytest.fixture
def planted():
    """W = U diag(s) V^T, h=30, d=20, singular values 10 > 9.6 > ... > 2.4 (gaps 0.4)."""
    rng = np.random.default_rng(0)
    h, d = 30, 20
    U, V = orth(rng, h, d), orth(rng, d)
    s = 10.0 - 0.4 * np.arange(d)
    return U, s, V, (U * s) @ V.T


# ----------------------------------------------------------------------------- teacher


def test_teacher_alignment_planted(planted):
    U, s, V, W = planted
    c = np.zeros(20)
    c[[0, 2, 5]] = [3.0, -1.0, 2.0]
    beta = 2.5 * V @ c  # not normalised: the result divides by ||beta||
    expected = np.abs(c) / np.linalg.norm(c)
    al = teacher_alignment(W, beta, k=None)
    assert al.shape == (20,)
    np.testing.assert_allclose(al, expected, atol=TOL)
    np.testing.assert_allclose(teacher_alignment(W, beta), expected[:1], atol=TOL)  # k=1: sim(W, beta*)
    np.testing.assert_allclose(teacher_alignment(W, beta, k=3), expected[:3], atol=TOL)
    # d <= h: V is a basis of R^d, so the squared cosines over all vectors sum to 1
    assert abs(np.sum(al**2) - 1.0) < TOL
    # sign-invariant: -W has the same singular vectors up to sign; -beta too
    np.testing.assert_allclose(teacher_alignment(-W, -beta, k=None), expected, atol=TOL)
    # the paper's definition, |<Vh[0], beta>| with unit beta
    Vh = np.linalg.svd(W, full_matrices=False)[2]
    assert abs(teacher_alignment(W, beta)[0] - abs(Vh[0] @ beta) / np.linalg.norm(beta)) < TOL


def test_teacher_alignment_wide_matrix_partial_mass():
    """h < d: the right singular vectors span only an h-dim subspace of R^d."""
    rng = np.random.default_rng(1)
    h, d = 8, 20
    U, V = orth(rng, h), orth(rng, d)
    s = 5.0 - 0.5 * np.arange(h)
    W = (U * s) @ V[:, :h].T
    beta = 0.6 * V[:, 1] + 0.8 * V[:, 15]  # V[:, 15] is orthogonal to the row space of W
    al = teacher_alignment(W, beta, k=None)
    expected = np.zeros(h)
    expected[1] = 0.6
    np.testing.assert_allclose(al, expected, atol=TOL)
    assert abs(np.sum(al**2) - 0.36) < TOL  # = ||P_row(W) beta||^2
    assert teacher_alignment(W, beta, k=50).shape == (h,)  # k clipped to min(h, d)


def test_update_teacher_alignment_rank_one():
    rng = np.random.default_rng(2)
    beta = rng.standard_normal(20)
    u = rng.standard_normal(30)
    M = 3.0 * np.outer(u, beta)  # rank one, right vector along beta
    assert abs(update_teacher_alignment(M, beta)[0] - 1.0) < TOL
    assert abs(update_teacher_alignment(M, -beta)[0] - 1.0) < TOL


def test_teacher_alignment_batched_and_inputs(planted):
    U, s, V, W = planted
    rng = np.random.default_rng(3)
    Ws = np.stack([W, rng.standard_normal(W.shape), 2 * W])
    beta = rng.standard_normal(20)
    al = teacher_alignment(Ws, beta, k=4)
    assert al.shape == (3, 4)
    for b in range(3):
        np.testing.assert_allclose(al[b], teacher_alignment(Ws[b], beta, k=4), atol=1e-13)
    betas = rng.standard_normal((3, 20))  # one beta per matrix
    al = teacher_alignment(Ws, betas, k=2)
    for b in range(3):
        np.testing.assert_allclose(al[b], teacher_alignment(Ws[b], betas[b], k=2), atol=1e-13)
    # float32 in, dtype=None keeps float32; the default computes in float64
    assert teacher_alignment(W.astype(np.float32), beta, dtype=None).dtype == np.float32
    assert teacher_alignment(W.astype(np.float32), beta).dtype == np.float64
    with pytest.raises(ValueError):
        teacher_alignment(W, beta, k=0)
    with pytest.raises(ValueError):
        teacher_alignment(W, np.ones(7))


def test_torch_input(planted):
    torch = pytest.importorskip("torch")
    U, s, V, W = planted
    beta = V[:, 0] + V[:, 1]
    got = teacher_alignment(torch.from_numpy(W), torch.from_numpy(beta), k=2)
    assert isinstance(got, np.ndarray)
    np.testing.assert_allclose(got, [2**-0.5, 2**-0.5], atol=TOL)
    L, R = overlap_matrices(torch.from_numpy(W), W, k=3)
    np.testing.assert_allclose(np.diag(R), 1.0, atol=TOL)


def test_singular_triplets(planted):
    U, s, V, W = planted
    Uc, sc, Vh = singular_triplets(W)
    np.testing.assert_allclose(sc, s, rtol=1e-13)
    # columns of U and rows of Vh match the planted ones up to a joint sign
    signs = np.sign(np.sum(Uc * U, axis=0))
    np.testing.assert_allclose(Uc * signs, U, atol=TOL)
    np.testing.assert_allclose(Vh * signs[:, None], V.T, atol=TOL)


# ----------------------------------------------------------------------------- overlaps


def test_overlap_matrices_planted():
    """M's singular vectors are W's, rotated/permuted by known orthogonal matrices.

    If U_M = U_W G and V_M = V_W P (G, P orthogonal, M's singular values descending), then
    L = G**2 and R = P**2 exactly (entry-wise squares).
    """
    rng = np.random.default_rng(4)
    h, d = 30, 20
    U, V = orth(rng, h, d), orth(rng, d)
    s = 10.0 - 0.4 * np.arange(d)
    W = (U * s) @ V.T
    theta = 0.3
    G = givens(d, 0, 5, theta)  # u_0(M) = cos(t) u_0 + sin(t) u_5
    perm = np.arange(d)
    perm[[0, 1, 2]] = [2, 0, 1]  # v_0(M) = v_2, v_1(M) = v_0, v_2(M) = v_1
    P = np.eye(d)[:, perm]
    t = 7.0 - 0.3 * np.arange(d)
    M = ((U @ G) * t) @ (V @ P).T
    L, R = overlap_matrices(W, M)
    assert L.shape == R.shape == (d, d)
    np.testing.assert_allclose(L, G**2, atol=TOL)
    np.testing.assert_allclose(R, P**2, atol=TOL)
    L3, R3 = overlap_matrices(W, M, k=3)
    np.testing.assert_allclose(L3, (G**2)[:3, :3], atol=TOL)
    np.testing.assert_allclose(R3, (P**2)[:3, :3], atol=TOL)

    sm = overlap_summary(L, R, k=3)
    c2 = math.cos(theta) ** 2
    assert sm["k"] == 3
    assert abs(sm["left_top1"] - c2) < TOL
    assert abs(sm["left_top1_captured"] - c2) < TOL  # u_0(M) has sin^2 outside span(u_0..u_2)
    assert abs(sm["left_best"] - c2) < TOL and sm["left_best_index"] == 0
    assert abs(sm["left_mass"] - (c2 + 2.0) / 3) < TOL  # u_1(M) = u_1, u_2(M) = u_2
    assert abs(sm["left_diag"] - (c2 + 2.0) / 3) < TOL
    assert abs(sm["right_top1"]) < TOL  # v_0(M) = v_2 is orthogonal to v_0
    assert abs(sm["right_best"] - 1.0) < TOL and sm["right_best_index"] == 2
    assert abs(sm["right_top1_captured"] - 1.0) < TOL
    assert abs(sm["right_mass"] - 1.0) < TOL  # same top-3 subspace, permuted
    assert abs(sm["right_diag"]) < TOL
    # k=1 summary: the top-1 numbers only
    s1 = overlap_summary(L, R, k=1)
    assert abs(s1["left_mass"] - c2) < TOL and abs(s1["right_mass"]) < TOL
    # sanity: mass equals subspace_overlap
    assert abs(sm["left_mass"] - subspace_overlap(W, M, 3, side="left")) < TOL
    assert abs(sm["right_mass"] - subspace_overlap(W, M, 3)) < TOL


def test_overlap_matrices_row_column_sums_square():
    """Square A, B: both full overlap matrices are doubly stochastic (orthonormal bases)."""
    rng = np.random.default_rng(5)
    A, B = rng.standard_normal((15, 15)), rng.standard_normal((15, 15))
    L, R = overlap_matrices(A, B)
    for X in (L, R):
        np.testing.assert_allclose(X.sum(axis=0), 1.0, atol=1e-12)
        np.testing.assert_allclose(X.sum(axis=1), 1.0, atol=1e-12)
        assert np.all(X >= 0) and np.all(X <= 1 + 1e-12)


def test_overlap_matrices_row_column_sums_rectangular():
    """h > d: V is d x d orthogonal (sums exactly 1); U is h x d, left sums are projections."""
    rng = np.random.default_rng(6)
    h, d = 25, 10
    A, B = rng.standard_normal((h, d)), rng.standard_normal((h, d))
    L, R = overlap_matrices(A, B)
    np.testing.assert_allclose(R.sum(axis=0), 1.0, atol=1e-12)
    np.testing.assert_allclose(R.sum(axis=1), 1.0, atol=1e-12)
    Ua = np.linalg.svd(A, full_matrices=False)[0]
    Ub = np.linalg.svd(B, full_matrices=False)[0]
    # row i of L sums to ||P_B u_i(A)||^2, with P_B the projector on B's column space
    np.testing.assert_allclose(L.sum(axis=1), np.sum((Ub @ (Ub.T @ Ua)) ** 2, axis=0), atol=1e-12)
    np.testing.assert_allclose(L.sum(axis=0), np.sum((Ua @ (Ua.T @ Ub)) ** 2, axis=0), atol=1e-12)
    assert np.all(L.sum(axis=1) < 1.0)


def test_overlap_matrices_sign_flip_invariance(planted):
    """Flipping signs of singular-vector pairs, or of A or B, leaves the overlaps unchanged."""
    U, s, V, W = planted
    rng = np.random.default_rng(7)
    D = np.diag(rng.choice([-1.0, 1.0], size=20))
    W_flip = ((U @ D) * s) @ (V @ D).T  # the same matrix written with flipped vectors
    np.testing.assert_allclose(W_flip, W, atol=1e-12)
    B = rng.standard_normal(W.shape)
    L0, R0 = overlap_matrices(W, B, k=6)
    for A_, B_ in ((-W, B), (W, -B), (-W, -B)):
        L1, R1 = overlap_matrices(A_, B_, k=6)
        np.testing.assert_allclose(L1, L0, atol=1e-12)
        np.testing.assert_allclose(R1, R0, atol=1e-12)
    # directly from flipped bases (what a different LAPACK sign choice would give)
    Ub, sb, Vhb = np.linalg.svd(B, full_matrices=False)
    E = np.diag(rng.choice([-1.0, 1.0], size=20))
    np.testing.assert_allclose(L0, ((U @ D).T @ (Ub @ E))[:6, :6] ** 2, atol=TOL)
    np.testing.assert_allclose(R0, ((V @ D).T @ (Vhb.T @ E))[:6, :6] ** 2, atol=TOL)


def test_overlap_matrices_batched():
    rng = np.random.default_rng(8)
    A, B = rng.standard_normal((3, 12, 9)), rng.standard_normal((3, 12, 9))
    L, R = overlap_matrices(A, B, k=4)
    assert L.shape == R.shape == (3, 4, 4)
    for b in range(3):
        Lb, Rb = overlap_matrices(A[b], B[b], k=4)
        np.testing.assert_allclose(L[b], Lb, atol=1e-13)
        np.testing.assert_allclose(R[b], Rb, atol=1e-13)
    with pytest.raises(ValueError):
        overlap_matrices(A[0], B[0, :, :8])
    with pytest.raises(ValueError):
        overlap_summary(L, R)


def test_overlap_summary_random_baseline():
    """Random square matrices: mass over all vectors is 1; top-1 overlap is small (~1/n)."""
    rng = np.random.default_rng(9)
    A, B = rng.standard_normal((40, 40)), rng.standard_normal((40, 40))
    L, R = overlap_matrices(A, B)
    sm = overlap_summary(L, R)
    assert sm["k"] == 40
    assert abs(sm["left_mass"] - 1.0) < 1e-12 and abs(sm["right_mass"] - 1.0) < 1e-12
    assert abs(sm["left_top1_captured"] - 1.0) < 1e-12
    # <u,u'>^2 of independent uniform unit vectors in R^40 has mean 1/40 and sd ~ sqrt(2)/40:
    # 0.3 is > 10 sd away
    assert sm["left_top1"] < 0.3 and sm["right_top1"] < 0.3


# ----------------------------------------------------------------------------- subspaces


def test_subspace_overlap_planted():
    rng = np.random.default_rng(10)
    h, d, k = 30, 20, 4
    U, V = orth(rng, h, d), orth(rng, d)
    s = 10.0 - 0.4 * np.arange(d)
    W0 = (U * s) @ V.T
    # same top-k subspaces, rotated inside: the individual vectors change, the subspace not
    Q = np.eye(d)
    Q[:k, :k] = orth(rng, k)
    W1 = ((U @ Q) * s) @ (V @ Q).T
    assert abs(subspace_overlap(W0, W1, k) - 1.0) < TOL
    assert abs(subspace_overlap(W0, W1, k, side="left") - 1.0) < TOL
    # planted principal angles: v_i(B) = cos(t_i) v_i + sin(t_i) v_{k+i}, i < k
    th = np.array([0.1, 0.5, 1.0, math.pi / 2])
    R = np.eye(d)
    for i, t in enumerate(th):
        R = R @ givens(d, i, k + i, t)
    W2 = ((U @ R) * s) @ (V @ R).T  # rotate both sides
    expected = float(np.mean(np.cos(th) ** 2))
    assert abs(subspace_overlap(W0, W2, k) - expected) < TOL
    assert abs(subspace_overlap(W0, W2, k, side="left") - expected) < TOL
    W3 = (U * s) @ (V @ R).T  # rotate the right side only
    assert abs(subspace_overlap(W0, W3, k) - expected) < TOL
    assert abs(subspace_overlap(W0, W3, k, side="left") - 1.0) < TOL
    assert abs(subspace_overlap(W0, W0, d) - 1.0) < TOL  # full right space
    with pytest.raises(ValueError):
        subspace_overlap(W0, W1, k, side="up")


def test_subspace_overlap_degenerate_top():
    """A repeated singular value inside the top k does not matter (gap only at s_k > s_{k+1})."""
    rng = np.random.default_rng(11)
    U, V = orth(rng, 12, 10), orth(rng, 10)
    s = np.array([5.0, 5.0, 5.0] + [2.0 - 0.1 * i for i in range(7)])
    W = (U * s) @ V.T
    Q = np.eye(10)
    Q[:3, :3] = orth(rng, 3)
    W_rot = ((U @ Q) * s) @ (V @ Q).T  # the same matrix up to round-off: s is flat on the block
    assert abs(subspace_overlap(W, W_rot, 3) - 1.0) < TOL
    assert abs(subspace_overlap(W, 2 * W, 3, side="left") - 1.0) < TOL


# ----------------------------------------------------------------------------- ranks


def test_effective_ranks_closed_forms():
    rng = np.random.default_rng(12)
    U, V = orth(rng, 6, 5), orth(rng, 5)

    def mat(s):
        return (U * np.asarray(s, dtype=float)) @ V.T

    # s = (3, 1, 0, 0, 0): stable (9+1)/9, r0 = 4/3, R0 = 16/10, PR = 100/82,
    # entropy rank = exp(-(3/4) ln(3/4) - (1/4) ln(1/4)) = 4 / 3^(3/4)
    er = effective_ranks(mat([3, 1, 0, 0, 0]))
    assert abs(er["stable_rank"] - 10 / 9) < TOL
    assert abs(er["r0"] - 4 / 3) < TOL
    assert abs(er["R0"] - 1.6) < TOL
    assert abs(er["participation_ratio"] - 100 / 82) < TOL
    assert abs(er["entropy_rank"] - 4 / 3**0.75) < TOL
    # s = (3, 2, 1, 0, 0), k = 1: r1 = (2+1)/2, R1 = 9/5
    er = effective_ranks(mat([3, 2, 1, 0, 0]), k=1)
    assert abs(er["r1"] - 1.5) < TOL and abs(er["R1"] - 1.8) < TOL
    # r equal singular values: every measure is r
    er = effective_ranks(mat([2, 2, 2, 0, 0]))
    for v in er.values():
        assert abs(v - 3.0) < 1e-9
    # zero matrix: undefined
    assert all(math.isnan(v) for v in effective_ranks(np.zeros((6, 5))).values())
    with pytest.raises(ValueError):
        effective_ranks(mat([1, 1, 1, 1, 1]), k=5)


def test_effective_ranks_inequalities():
    """1 <= r_k <= R_k <= r_k^2, stable rank <= rank, entropy rank <= rank (random matrix)."""
    rng = np.random.default_rng(13)
    W = rng.standard_normal((30, 20)) @ np.diag(np.linspace(1, 5, 20))
    for k in (0, 3):
        er = effective_ranks(W, k=k)
        r, R = er[f"r{k}"], er[f"R{k}"]
        assert 1.0 <= r <= R * (1 + 1e-12) and R <= r * r * (1 + 1e-12)
    er = effective_ranks(W)
    assert 1.0 <= er["stable_rank"] <= 20 and 1.0 <= er["entropy_rank"] <= 20
    assert 1.0 <= er["participation_ratio"] <= 20
    # invariant under transposition and scaling
    er_t = effective_ranks(-3.0 * W.T)
    for key in er:
        assert abs(er[key] - er_t[key]) < 1e-10 * er[key]


@pytest.mark.cuda
def test_cupy_matches_numpy(planted):
    cp = pytest.importorskip("cupy")
    U, s, V, W = planted
    rng = np.random.default_rng(14)
    B, beta = rng.standard_normal(W.shape), rng.standard_normal(20)
    Wd, Bd = cp.asarray(W), cp.asarray(B)
    al = teacher_alignment(Wd, beta, k=3)  # numpy beta against a CuPy matrix
    assert isinstance(al, cp.ndarray)
    np.testing.assert_allclose(al.get(), teacher_alignment(W, beta, k=3), atol=1e-12)
    L, R = overlap_matrices(Wd, Bd, k=5)
    L0, R0 = overlap_matrices(W, B, k=5)
    np.testing.assert_allclose(L.get(), L0, atol=1e-12)
    np.testing.assert_allclose(R.get(), R0, atol=1e-12)
    sm, sm0 = overlap_summary(L, R), overlap_summary(L0, R0)
    assert all(abs(sm[key] - sm0[key]) < 1e-12 for key in sm)
    assert abs(subspace_overlap(Wd, Bd, 4) - subspace_overlap(W, B, 4)) < 1e-12
    er, er0 = effective_ranks(Wd), effective_ranks(W)
    assert all(abs(er[key] - er0[key]) < 1e-10 * er0[key] for key in er)


def _planted(h: int, d: int, s: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A = U diag(s) V^T with Haar-random orthonormal U (h x m), V (d x m)."""
    r = np.random.default_rng(seed)
    m = len(s)
    U = np.linalg.qr(r.standard_normal((h, m)))[0]
    V = np.linalg.qr(r.standard_normal((d, m)))[0]
    return (U * s) @ V.T, U, V


@pytest.mark.parametrize("shape", [(90, 60), (60, 90), (70, 70)], ids=["tall", "wide", "square"])
def test_top_singular_triplets_match_svd(shape: tuple[int, int]) -> None:
    h, d = shape
    m = min(h, d)
    s = np.concatenate([[40.0, 20.0, 10.0, 5.0, 3.0], np.linspace(1.0, 0.01, m - 5)])
    A, U, V = _planted(h, d, s, seed=3)
    k = 5
    Uk, sk, Vhk = top_singular_triplets(A, k)
    assert Uk.shape == (h, k) and sk.shape == (k,) and Vhk.shape == (k, d)
    # eigenvalues of the Gram matrix to ~m eps lambda_1: s_i = sqrt(lambda_i) to ~m eps s_1^2 / s_i
    np.testing.assert_allclose(sk, s[:k], rtol=m * 1e-15 * (s[0] / s[k - 1]) ** 2)
    # vectors: error ~ eps s_1^2 / (gap of s_i^2); the smallest gap here is 3^2 - 1 = 8
    tol = 100 * 1e-16 * s[0] ** 2 / 8
    np.testing.assert_allclose(np.abs(np.sum(Uk * U[:, :k], axis=0)), 1.0, atol=tol)
    np.testing.assert_allclose(np.abs(np.sum(Vhk * V[:, :k].T, axis=1)), 1.0, atol=tol)
    # orthonormal, and A v_i = s_i u_i
    np.testing.assert_allclose(Vhk @ Vhk.T, np.eye(k), atol=tol)
    np.testing.assert_allclose(A @ Vhk.T, Uk * sk, atol=tol * s[0])


def test_top_singular_triplets_rank_deficient_and_errors() -> None:
    A, U, V = _planted(50, 30, np.array([3.0, 2.0]), seed=4)  # rank 2
    Uk, sk, Vhk = top_singular_triplets(A, 4)
    np.testing.assert_allclose(sk[:2], [3.0, 2.0], rtol=1e-13)
    # beyond the rank: 0 with zero vectors on both sides, in both orientations
    for Ux, sx, Vhx in (top_singular_triplets(A, 4), top_singular_triplets(A.T, 4)):
        assert np.all(sx[2:] == 0)
        assert np.all(Ux[:, 2:] == 0) and np.all(Vhx[2:] == 0)
    Ut, st, Vht = top_singular_triplets(A.T, 4)
    np.testing.assert_allclose(np.abs(Ut[:, :2].T @ Vhk[:2].T), np.eye(2), atol=1e-12)  # u(A^T) = v(A)
    with pytest.raises(ValueError, match="non-finite"):
        top_singular_triplets(np.full((4, 3), np.inf), 1)
    with pytest.raises(ValueError, match="k must be"):
        top_singular_triplets(A, 0)
