"""Singular-vector alignment: W against the teacher, against its update, against W_0.

Conventions
-----------
* W has shape ``(h, d)`` (hidden x input); its thin SVD is ``W = U diag(s) V^T`` with
  ``s_1 >= s_2 >= ... >= s_m``, ``m = min(h, d)``, ``U`` of shape ``(h, m)`` (left singular
  vectors, in R^h, hidden space) and ``V`` of shape ``(d, m)`` (right singular vectors, in R^d,
  input space, where the teacher direction beta lives).  Index ``i`` below is 0-based:
  ``u_0, v_0`` is the top pair (the paper's ``v_1 = Vh[0]``).
* Every SVD is a thin one, ``xp.linalg.svd(A, full_matrices=False)``, in float64 unless
  ``dtype`` says otherwise: exact to round-off whatever the spectrum looks like.  The one
  partial route, :func:`top_singular_triplets` (top-k from the Gram matrix, ~10x faster at
  1500 x 1000), serves the per-snapshot update and drift metrics of ``htdyn analyze``.
* **Signs.**  Singular vectors are defined up to a joint sign flip ``(u_i, v_i) -> (-u_i, -v_i)``.
  Every number returned here is an absolute value or a square of an inner product, so it
  does not depend on the signs the LAPACK/cuSOLVER routine picks.
* **Degeneracy.**  When ``s_i`` is repeated (or zero, e.g. for a low-rank update M), the
  individual vectors of that singular subspace are not defined, and per-vector overlaps with
  them are arbitrary; only subspace quantities (:func:`subspace_overlap`, the mass of
  :func:`overlap_summary`) are, and only when ``s_k > s_{k+1}``.  The top singular values
  of a random (Marchenko-Pastur) matrix are distinct but closely spaced, so their vectors
  are well defined yet sensitive to small perturbations.
* **Overlaps are squared** (``<u_i(A), u_j(B)>^2``, the paper's ``|U_W^T U_M|^2``); the teacher
  alignment is **not** squared (``|<v_i, beta>| / ||beta||``, the paper's sim(W, beta*)).
* **Update index.**  Here ``M_t = W_{t+1} - W_t`` (docs/format.md).  The paper writes
  ``M_t = W_t - W_{t-1}``; its ``(W_{t-1}, M_t)`` overlap is ``overlap_matrices(W_t, M_t)``
  here and its ``(W_t, M_t)`` is ``overlap_matrices(W_{t+1}, M_t)``.

Arrays may be numpy or CuPy (torch tensors are taken through DLPack, see
:func:`htdyn.xp.analysis_namespace`); results stay on the input's device except
where a Python float is returned.  :func:`teacher_alignment` and :func:`overlap_matrices`
also accept stacks ``(..., h, d)``.

References
----------
Kothapalli, Pang, Deng, Liu & Yang (2025), "From Spikes to Heavy Tails: Unveiling the Spectral
Evolution of Neural Networks", TMLR; arXiv 2406.04657 (sim(W, beta*), the W-M overlaps).
Roy & Vetterli (2007), "The effective rank: a measure of effective dimensionality",
EUSIPCO, pp. 606-610.
Bartlett, Long, Lugosi & Tsigler (2020), "Benign overfitting in linear regression", PNAS
117:30063 (the effective ranks r_k and R_k).
"""

from __future__ import annotations

import math
from typing import Any

from ..xp import analysis_namespace
from .linalg import as_float, check_k, like, top_singular_triplets

__all__ = [
    "singular_triplets",
    "top_singular_triplets",
    "teacher_alignment",
    "update_teacher_alignment",
    "overlap_matrices",
    "overlap_summary",
    "subspace_overlap",
    "effective_ranks",
]


def singular_triplets(A: Any, *, dtype: str | None = "float64") -> tuple[Any, Any, Any]:
    """Thin SVD ``A = U diag(s) Vh`` in ``dtype`` (float64 by default; None keeps A's).

    Parameters
    ----------
    A : array (..., h, d)
        numpy, CuPy or torch.
    dtype : str or None

    Returns
    -------
    U : array (..., h, m)
        Left singular vectors as columns, ``m = min(h, d)``.
    s : array (..., m)
        Singular values, descending.
    Vh : array (..., m, d)
        Right singular vectors as **rows** (``Vh[i] = v_i``).

    References
    ----------
    .. [1] Kothapalli, Pang, Deng, Liu & Yang, "From Spikes to Heavy Tails: Unveiling the Spectral
       Evolution of Neural Networks", TMLR 2025 (arXiv 2406.04657): the singular
       vectors of ``W`` and of the update ``M`` whose overlaps the paper plots.

    Examples
    --------
    >>> import numpy as np
    >>> from htdyn.analysis.alignment import singular_triplets
    >>> A = np.random.default_rng(0).standard_normal((5, 3))
    >>> U, s, Vh = singular_triplets(A)
    >>> U.shape, s.shape, Vh.shape, bool(np.allclose(U * s @ Vh, A)), bool(np.all(np.diff(s) <= 0))
    ((5, 3), (3,), (3, 3), True, True)
    """
    xp, A = as_float(A, dtype)
    if A.ndim < 2:
        raise ValueError(f"expected a matrix (..., h, d), got shape {A.shape}")
    U, s, Vh = xp.linalg.svd(A, full_matrices=False)
    return U, s, Vh


# ----------------------------------------------------------------------------- teacher


def teacher_alignment(W: Any, beta: Any, k: int | None = 1, *, dtype: str | None = "float64") -> Any:
    r"""Cosines between the top-k right singular vectors of W and the teacher direction.

    .. math::  a_i = |\langle v_i(W), \beta \rangle| / \|\beta\|_2, \qquad i = 0, \dots, k-1,

    with ``v_i`` the right singular vectors (unit vectors in R^d) ordered by decreasing
    singular value.  ``a_0`` is the paper's sim(W, beta*) (Kothapalli et al. 2025, code
    ``|<Vh[0], beta>|``).  Since the ``v_i`` are orthonormal, ``sum_i a_i^2 <= 1``, with
    equality over all ``i`` when ``d <= h`` (V is then a basis of R^d).  A random unit
    vector gives ``a_i ~ 1/sqrt(d)``.

    Parameters
    ----------
    W : array (..., h, d)
    beta : array (d,) or (..., d)
        Need not be normalised; must not be zero.
    k : int or None
        Number of top singular vectors; None for all ``min(h, d)`` (the paper's t = 0
        plot).  A k above ``min(h, d)`` is clipped to it.
    dtype : str or None
        Computation dtype (default float64; None keeps W's floating dtype).

    Returns
    -------
    array (..., k)
        Non-negative, on W's device.

    References
    ----------
    .. [1] Kothapalli, Pang, Deng, Liu & Yang, "From Spikes to Heavy Tails: Unveiling the Spectral
       Evolution of Neural Networks", TMLR 2025 (arXiv 2406.04657): sim(W, beta*), the cosine of the
       top right singular vector with the teacher.

    Examples
    --------
    >>> import numpy as np
    >>> from htdyn.analysis.alignment import teacher_alignment
    >>> W = np.diag([3.0, 2.0, 1.0])
    >>> [teacher_alignment(W, beta).tolist() for beta in (np.array([1.0, 0.0, 0.0]), np.array([0.0, 0.0, 2.0]))]
    [[1.0], [0.0]]
    """
    xp, W = as_float(W, dtype)
    b = like(xp, beta, W.dtype)
    if b.shape[-1] != W.shape[-1]:
        raise ValueError(f"beta has length {b.shape[-1]}, W has {W.shape[-1]} columns")
    k = check_k(k, min(W.shape[-2:]))
    _, _, Vh = xp.linalg.svd(W, full_matrices=False)
    nb = xp.sqrt(xp.sum(b * b, axis=-1))
    proj = xp.matmul(Vh[..., :k, :], b[..., None])[..., 0]  # (..., k)
    return xp.abs(proj) / nb[..., None]


def update_teacher_alignment(M: Any, beta: Any, k: int | None = 1, *, dtype: str | None = "float64") -> Any:
    r"""``|<v_i(M), \beta>| / \|\beta\|`` for the update ``M_t = W_{t+1} - W_t``.

    The same computation as :func:`teacher_alignment`, applied to the update.  For the first
    full-batch gradient step of a single-index model the update is close to rank one with
    right singular vector along ``X^T y`` (Ba et al. 2022), so ``a_0`` is large.  For a zero
    update every singular vector is arbitrary and the result is meaningless.

    Parameters
    ----------
    M : array (..., h, d)
        The update ``W_{t+1} - W_t``.
    beta : array (d,) or (..., d)
        Teacher direction; need not be normalised; must not be zero.
    k : int or None
        Number of top singular vectors (None: all ``min(h, d)``; clipped to it).
    dtype : str or None
        Computation dtype (default float64; None keeps M's floating dtype).

    Returns
    -------
    array (..., k)
        ``|<v_i(M), beta>| / ||beta||``, non-negative, on M's device.

    References
    ----------
    .. [1] Kothapalli, Pang, Deng, Liu & Yang, "From Spikes to Heavy Tails: Unveiling the Spectral
       Evolution of Neural Networks", TMLR 2025 (arXiv 2406.04657): sim(., beta*)
       applied to the optimizer update instead of the weights (htdyn's extension).
    .. [2] J. Ba, M. A. Erdogdu, T. Suzuki, Z. Wang, D. Wu & G. Yang, "High-dimensional Asymptotics of
       Feature Learning: How One Gradient Step Improves the Representation", NeurIPS 2022
       (arXiv 2205.01445): the first gradient step is close to rank one.

    Examples
    --------
    A rank-one update ``a beta^T`` plus a small perturbation points along the teacher:

    >>> import numpy as np
    >>> from htdyn.analysis.alignment import update_teacher_alignment
    >>> rng = np.random.default_rng(0)
    >>> beta = rng.standard_normal(20)
    >>> M = np.outer(rng.standard_normal(30), beta) + 1e-3 * rng.standard_normal((30, 20))
    >>> bool(update_teacher_alignment(M, beta)[0] > 0.999)
    True
    """
    return teacher_alignment(M, beta, k, dtype=dtype)


# ----------------------------------------------------------------------------- overlaps


def overlap_matrices(A: Any, B: Any, k: int | None = None, *, dtype: str | None = "float64") -> tuple[Any, Any]:
    r"""Squared overlaps between the singular vectors of two matrices of the same shape.

    .. math::  L_{ij} = \langle u_i(A), u_j(B) \rangle^2, \qquad
               R_{ij} = \langle v_i(A), v_j(B) \rangle^2, \qquad 0 \le i, j < k,

    i.e. ``L = (U_A[:, :k]^T U_B[:, :k])**2`` and ``R = (V_A[:, :k]^T V_B[:, :k])**2``
    (element-wise squares; the paper's ``|U_W^T U_M|^2`` and ``|V_W^T V_M|^2``).  Rows index
    A's vectors, columns B's.  Typical use: ``A = W_t, B = M_t`` (the paper's
    ``(W_{t-1}, M_t)``) and ``A = W_{t+1}, B = M_t``.

    Every entry lies in [0, 1] and every row and column sums to at most 1.  With ``k = None``
    (all ``m = min(h, d)`` vectors) the side whose vectors span the whole space has **rows
    and columns summing to exactly 1**: the right side when ``d <= h`` (V is d x d
    orthogonal), the left side when ``h <= d``, both when ``h = d``.  On the other side the
    sums are ``||P_B u_i(A)||^2 <= 1`` (projection onto B's column space).

    Parameters
    ----------
    A, B : array (..., h, d)
    k : int or None
        Number of top vectors of each (None: all ``min(h, d)``; clipped to it).
    dtype : str or None

    Returns
    -------
    L, R : arrays (..., k, k)
        Left and right squared overlaps, rows indexing A's vectors, columns B's.

    References
    ----------
    .. [1] Kothapalli, Pang, Deng, Liu & Yang, "From Spikes to Heavy Tails: Unveiling the Spectral
       Evolution of Neural Networks", TMLR 2025 (arXiv 2406.04657): the overlaps
       ``|U_W^T U_M|^2`` and ``|V_W^T V_M|^2`` between the weights and their update.

    Examples
    --------
    Reversing the order of the singular values reverses which basis vector is on top:

    >>> import numpy as np
    >>> from htdyn.analysis.alignment import overlap_matrices
    >>> L, R = overlap_matrices(np.diag([3.0, 2.0, 1.0]), np.diag([1.0, 2.0, 3.0]))
    >>> L.round(12).tolist()
    [[0.0, 0.0, 1.0], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]
    >>> bool(np.allclose(R, L))
    True
    """
    xp, A = as_float(A, dtype)
    B = like(xp, B, A.dtype)
    if A.shape[-2:] != B.shape[-2:]:
        raise ValueError(f"A {A.shape} and B {B.shape} must have the same matrix shape")
    k = check_k(k, min(A.shape[-2:]))
    Ua, _, Vha = xp.linalg.svd(A, full_matrices=False)
    Ub, _, Vhb = xp.linalg.svd(B, full_matrices=False)
    L = xp.matmul(xp.swapaxes(Ua[..., :, :k], -1, -2), Ub[..., :, :k]) ** 2
    R = xp.matmul(Vha[..., :k, :], xp.swapaxes(Vhb[..., :k, :], -1, -2)) ** 2
    return L, R


def overlap_summary(L: Any, R: Any, k: int | None = None) -> dict[str, float | int]:
    r"""Scalar summaries of a pair of squared-overlap matrices (from :func:`overlap_matrices`).

    With ``L`` (left) and ``R`` (right) of shape ``(k_A, k_B)``, rows indexing A's singular
    vectors and columns B's, and ``k`` (default ``min(k_A, k_B)``), for ``X`` in {L, R}
    (key prefix ``left_`` / ``right_``):

    ``top1``
        ``X[0, 0]``: squared cosine between the top vectors of A and B (the paper's
        trajectory table, e.g. 0.995 for ``u_1(W_{t-1})`` against ``u_1(M_t)``).
    ``mass``
        ``sum_{i,j<k} X_ij / k = ||P_A,k P_B,k||_F^2 / k``: the share of B's top-k subspace
        captured by A's top-k subspace (the mean squared cosine of the k principal angles),
        in [0, 1]; symmetric in A and B; equals :func:`subspace_overlap`.
    ``top1_captured``
        ``sum_{i<k} X_i0``: the share of B's top vector lying in A's top-k subspace.
    ``best``, ``best_index``
        ``max_{i<k} X_i0`` and its (0-based) ``i``: A's top-k vector closest to B's top
        vector (the spike of W need not stay the top direction of an update).
    ``diag``
        ``mean_{i<k} X_ii``: order-matched overlap of the i-th pairs.

    Also ``k``.  Values are Python floats (``best_index`` and ``k`` ints).  Random
    directions in R^n give ``top1 ~ 1/n`` and ``mass ~ k/n``.

    Parameters
    ----------
    L, R : 2-D arrays (k_A, k_B)
        Left and right squared overlaps from :func:`overlap_matrices` (no stacks).
    k : int or None
        Number of top vectors summarised (default ``min(k_A, k_B)``; clipped to it).

    Returns
    -------
    dict
        ``k`` and, for each side, ``{side}_top1``, ``{side}_mass``, ``{side}_top1_captured``,
        ``{side}_best``, ``{side}_best_index`` and ``{side}_diag``.

    References
    ----------
    .. [1] Kothapalli, Pang, Deng, Liu & Yang, "From Spikes to Heavy Tails: Unveiling the Spectral
       Evolution of Neural Networks", TMLR 2025 (arXiv 2406.04657): the overlaps
       these summarise; the summaries themselves are htdyn's (``mass`` is the mean squared cosine of
       the principal angles, see :func:`subspace_overlap`).

    Examples
    --------
    >>> import numpy as np
    >>> from htdyn.analysis.alignment import overlap_matrices, overlap_summary
    >>> L, R = overlap_matrices(np.diag([3.0, 2.0, 1.0]), np.diag([1.0, 2.0, 3.0]))
    >>> s = overlap_summary(L, R)
    >>> round(s["left_top1"], 12), s["left_best_index"], round(s["left_mass"], 12)
    (0.0, 2, 1.0)
    >>> round(overlap_summary(L, R, k=2)["right_mass"], 12)
    0.5
    """
    xpl, L = analysis_namespace(L)
    _, R = analysis_namespace(R)
    if L.ndim != 2 or R.ndim != 2:
        raise ValueError("overlap_summary takes single 2-D overlap matrices (no stacks)")
    kmax = min(*L.shape, *R.shape)
    k = check_k(k, kmax)
    out: dict[str, float | int] = {"k": k}
    for tag, X in (("left", L), ("right", R)):
        Xk = X[:k, :k]
        col = Xk[:, 0]
        out[f"{tag}_top1"] = float(X[0, 0])
        out[f"{tag}_mass"] = float(Xk.sum()) / k
        out[f"{tag}_top1_captured"] = float(col.sum())
        out[f"{tag}_best"] = float(col.max())
        out[f"{tag}_best_index"] = int(col.argmax())
        out[f"{tag}_diag"] = float(xpl.trace(Xk)) / k
    return out


def subspace_overlap(A: Any, B: Any, k: int, *, side: str = "right", dtype: str | None = "float64") -> float:
    r"""Overlap of the top-k singular subspaces of two matrices of the same shape.

    .. math::  \mathrm{ov}_k(A, B) = \| V_{A,k}^\top V_{B,k} \|_F^2 / k
               = \frac1k \sum_{i=1}^{k} \cos^2 \theta_i

    with ``V_{X,k}`` the top-k right (``side="right"``, in R^d) or left (``side="left"``,
    ``U_{X,k}``, in R^h) singular vectors and ``theta_i`` the principal angles between the
    two subspaces.  1 for identical subspaces, 0 for orthogonal ones, ``~ k/n`` for random
    k-dimensional subspaces of R^n.  Sign-invariant and invariant to rotations within each
    subspace, so it is well defined whenever ``s_k > s_{k+1}`` for both matrices, even if
    singular values inside the top k are repeated.  Typical use: drift of ``W_t`` away from
    ``W_0``.

    Parameters
    ----------
    A, B : array (h, d)
    k : int
        Clipped to ``min(h, d)``.
    side : {"right", "left"}
    dtype : str or None

    Returns
    -------
    float
        ``ov_k`` in [0, 1].

    References
    ----------
    .. [1] A. Bjorck & G. H. Golub, "Numerical methods for computing angles between linear
       subspaces", Math. Comp. 27(123), 1973: the cosines of the principal angles are the singular
       values of ``V_{A,k}^T V_{B,k}``.  Its use as the drift of ``W_t`` from ``W_0`` is htdyn's.

    Examples
    --------
    >>> import numpy as np
    >>> from htdyn.analysis.alignment import subspace_overlap
    >>> W = np.diag([3.0, 2.0, 1.0])
    >>> subspace_overlap(W, W, 2), subspace_overlap(W, np.diag([1.0, 2.0, 3.0]), 1)
    (1.0, 0.0)
    """
    if side not in ("right", "left"):
        raise ValueError(f"side must be 'right' or 'left', got {side!r}")
    xp, A = as_float(A, dtype)
    B = like(xp, B, A.dtype)
    if A.ndim != 2 or A.shape != B.shape:
        raise ValueError(f"A {A.shape} and B {B.shape} must be matrices of the same shape")
    k = check_k(k, min(A.shape))
    Ua, _, Vha = xp.linalg.svd(A, full_matrices=False)
    Ub, _, Vhb = xp.linalg.svd(B, full_matrices=False)
    if side == "right":
        C = xp.matmul(Vha[:k], Vhb[:k].T)
    else:
        C = xp.matmul(Ua[:, :k].T, Ub[:, :k])
    return float(xp.sum(C * C)) / k


# ----------------------------------------------------------------------------- ranks


def effective_ranks(W: Any, k: int = 0, *, dtype: str | None = "float64") -> dict[str, float]:
    r"""Effective-rank measures of W from its singular values ``s_1 >= ... >= s_m``.

    ``stable_rank``
        ``||W||_F^2 / ||W||_2^2 = sum_i s_i^2 / s_1^2`` (in [1, rank W]).
    ``r{k}``, ``R{k}``  (``r0``, ``R0`` by default)
        The two sequences dropped from the paper's code (Kothapalli et al. 2025), in the form of
        Bartlett et al. (2020) applied to the singular values (1-based ``i``):
        ``r_k = sum_{i>k} s_i / s_{k+1}`` and ``R_k = (sum_{i>k} s_i)^2 / sum_{i>k} s_i^2``.
        ``r_0`` is the nuclear over the spectral norm; ``R_0`` the nuclear norm squared over
        the Frobenius norm squared.  ``1 <= r_k <= R_k <= r_k^2`` (since ``s_i <= s_{k+1}`` for ``i > k``).
        Bartlett et al. apply them to covariance eigenvalues ``lambda_i = s_i^2``; in that
        convention ``r_0`` is the stable rank and ``R_0`` is ``participation_ratio``.
    ``participation_ratio``
        ``(sum_i s_i^2)^2 / sum_i s_i^4``: ``R_0`` of the eigenvalues of ``W^T W``.
    ``entropy_rank``
        Roy & Vetterli (2007): ``exp(H(p))`` with ``p_i = s_i / sum_j s_j`` (singular values
        normalised by their l1 norm) and ``H(p) = -sum_i p_i ln p_i`` (``0 ln 0 = 0``).

    All equal ``r`` for a matrix with ``r`` equal non-zero singular values.  A zero matrix (or
    ``s_{k+1} = 0``) gives NaN for the undefined entries.

    Parameters
    ----------
    W : array (h, d)
    k : int
        Index of the ``r_k``, ``R_k`` pair (0 <= k < min(h, d)).
    dtype : str or None

    Returns
    -------
    dict of Python floats.

    References
    ----------
    .. [1] P. L. Bartlett, P. M. Long, G. Lugosi & A. Tsigler, "Benign overfitting in linear
       regression", PNAS 117(48), 2020.
    .. [2] O. Roy & M. Vetterli, "The effective rank: a measure of effective dimensionality",
       EUSIPCO 2007.

    Examples
    --------
    Every measure equals r for r equal singular values:

    >>> import numpy as np
    >>> from htdyn.analysis.alignment import effective_ranks
    >>> sorted({round(v, 6) for v in effective_ranks(np.eye(4)).values()})
    [4.0]
    """
    xp, W = as_float(W, dtype)
    if W.ndim != 2:
        raise ValueError(f"expected a matrix (h, d), got shape {W.shape}")
    s = xp.linalg.svd(W, compute_uv=False)
    m = s.shape[0]
    if not 0 <= k < m:
        raise ValueError(f"k must be in [0, {m}), got {k}")
    nan = math.nan
    s1 = float(s[0])
    if s1 <= 0.0:
        return {"stable_rank": nan, f"r{k}": nan, f"R{k}": nan, "participation_ratio": nan, "entropy_rank": nan}
    s2 = s * s
    fro2 = float(xp.sum(s2))
    tail = s[k:]
    t1, t2, sk = float(xp.sum(tail)), float(xp.sum(tail * tail)), float(s[k])
    p = s / float(xp.sum(s))
    p = p[p > 0]
    H = -float(xp.sum(p * xp.log(p)))
    return {
        "stable_rank": fro2 / s1**2,
        f"r{k}": t1 / sk if sk > 0 else nan,
        f"R{k}": t1 * t1 / t2 if t2 > 0 else nan,
        "participation_ratio": fro2 * fro2 / float(xp.sum(s2 * s2)),
        "entropy_rank": math.exp(H),
    }
