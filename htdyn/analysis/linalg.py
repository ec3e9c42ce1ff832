"""The linear algebra every analysis module shares: input preparation, Gram matrices,
eigenvalues, top singular triplets, and the one validation of eigenvalue input.

Gram matrices
-------------
For ``W`` of shape ``(..., h, d)`` the *smaller* Gram matrix is ``G = W^T W`` (``d x d``)
when ``d <= h`` and ``W W^T`` (``h x h``) otherwise; both have the same non-zero spectrum
``lambda_i = s_i(W)^2`` (the ESD, Kothapalli et al. 2025, section 3).  :func:`gram` forms it in
any array namespace (batched), :func:`gram_lower` forms one triangle with BLAS ``syrk`` on the
host (half the flops), and every routine below that needs ``G`` goes through one of the two.

Eigenvalue input (the rule)
---------------------------
Every function taking an eigenvalue vector validates it with :func:`check_evals`:

1. the values are cast to float64;
2. the layout is checked (``"vector"``: 1-D; ``"pooled"``: any shape, flattened, for
   pooled spectra; ``"batched"``: the last axis is the spectrum);
3. at least one value, and every value finite, else ``ValueError`` naming the caller;
4. negative values are set to 0: eigenvalues of a Gram matrix are ``>= 0``, and an
   eigensolver returns exact zeros as round-off of either sign (``~N eps lambda_max``);
5. sorted ascending along the spectrum axis.

Functions that need positive values (the power-law fits) drop the zeros afterwards.

Public are the Gram, eigenvalue and triplet routines and :func:`check_evals` (``__all__``);
``as_float``, ``like`` and ``check_k`` prepare the other modules' input and stay importable
as helpers, outside ``__all__``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..xp import analysis_namespace

__all__ = [
    "gram", "gram_lower", "gram_eigvalsh", "top_gram_eigenvalue", "eigs_and_top_vector", "eigs_and_top_vectors",
    "gram_triplets", "top_triplets", "top_right_vector", "top_singular_triplets", "check_evals",
]

EVAL_LAYOUTS = ("vector", "pooled", "batched")


def as_float(a: Any, dtype: str | None = "float64") -> tuple[Any, Any]:
    """``(xp, a)``: the array namespace of ``a`` and ``a`` as a floating array of it.

    ``dtype`` by name, or ``None`` to keep ``a``'s floating dtype (integers become float64).
    numpy, CuPy and torch inputs are accepted (torch through DLPack, :mod:`htdyn.xp`).
    """
    xp, a = analysis_namespace(a)
    if dtype is not None:
        dt = getattr(xp, dtype)
    else:
        dt = a.dtype if a.dtype.kind == "f" else xp.float64
    return xp, xp.asarray(a, dtype=dt)


def like(xp: Any, b: Any, dtype: Any) -> Any:
    """``b`` (numpy, CuPy, torch, list) as an array of namespace ``xp`` and ``dtype``.

    A CuPy ``b`` against a numpy ``xp`` is copied to the host.
    """
    xb, b = analysis_namespace(b)
    if xb is not xp and xb.__name__ == "cupy":
        b = b.get()
    return xp.asarray(b, dtype=dtype)


def gram(W: Any, *, check: bool = False) -> Any:
    """The smaller Gram matrix ``W^T W`` (``d <= h``) or ``W W^T`` of ``W (..., h, d)``, batched.

    ``G`` is ``min(h, d) x min(h, d)``; its eigenvalues are the squared singular values of ``W``
    (the ESD).  Formed with one matrix product in ``W``'s namespace and dtype.

    Parameters
    ----------
    W : array (..., h, d)
        numpy or CuPy (a torch tensor gives a torch tensor); leading axes are a batch.
    check : bool
        Raise ``ValueError`` if ``G`` is not finite (``W`` has NaN/inf entries, or ``W^T W``
        overflows the dtype).

    Returns
    -------
    G : array (..., N, N), N = min(h, d)
        Symmetric, in ``W``'s namespace and dtype.

    Raises
    ------
    ValueError
        With ``check``, for a non-finite ``G``.

    Examples
    --------
    >>> import numpy as np
    >>> from htdyn.analysis.linalg import gram
    >>> W = np.arange(6.0).reshape(3, 2)      # h = 3 >= d = 2: G = W^T W
    >>> gram(W)
    array([[20., 26.],
           [26., 35.]])
    >>> bool(np.array_equal(gram(W.T), gram(W)))   # h = 2 < d = 3: W W^T, the same 2 x 2 matrix
    True
    >>> gram(np.stack([W, 2 * W])).shape           # batched over the leading axis
    (2, 2, 2)
    >>> gram(np.array([[1.0, np.nan]]), check=True)
    Traceback (most recent call last):
        ...
    ValueError: W has non-finite entries (or W^T W overflows the dtype)
    """
    xp, _ = analysis_namespace(W)
    h, d = W.shape[-2], W.shape[-1]
    Wt = xp.swapaxes(W, -1, -2)
    G = xp.matmul(Wt, W) if d <= h else xp.matmul(W, Wt)
    if check and not bool(xp.all(xp.isfinite(G))):
        raise ValueError("W has non-finite entries (or W^T W overflows the dtype)")
    return G


def gram_lower(W: np.ndarray) -> np.ndarray:
    """The lower triangle of the smaller Gram matrix of W in float64, Fortran order (BLAS ``syrk``).

    ``syrk`` forms one triangle of W^T W (or W W^T when h < d): half the flops of a
    matrix product.  It is scipy's BLAS, the same library as the LAPACK calls that
    follow: alternating numpy's and scipy's OpenBLAS (each with its own thread pool)
    doubled the time of the reduction on a 2-core machine.  Host input only (numpy,
    or what ``np.asarray`` takes); the upper triangle is left 0.

    Parameters
    ----------
    W : numpy array (h, d)

    Returns
    -------
    G : numpy array (N, N), N = min(h, d)
        float64, Fortran-ordered, the lower triangle of ``W^T W`` (``d <= h``) or ``W W^T``;
        what the LAPACK routines below read (:func:`eigs_and_top_vectors`) without a copy.

    Raises
    ------
    ValueError
        For non-finite entries, or a Gram matrix that overflows float64.

    Examples
    --------
    >>> import numpy as np
    >>> from htdyn.analysis.linalg import gram, gram_lower
    >>> W = np.arange(6.0).reshape(3, 2)
    >>> G = gram_lower(W)
    >>> G
    array([[20.,  0.],
           [26., 35.]])
    >>> bool(G.flags.f_contiguous), bool(np.array_equal(np.tril(gram(W)), G))
    (True, True)
    """
    from scipy.linalg import blas

    h, d = W.shape
    A = np.asarray(W, dtype=np.float64).T  # (d, h): a Fortran-ordered view of a C-ordered W, no copy
    G = blas.dsyrk(1.0, A, trans=0 if d <= h else 1, lower=1)
    # |G_ij| <= sqrt(G_ii G_jj): a finite diagonal means a finite matrix
    if not bool(np.all(np.isfinite(np.diagonal(G)))):
        raise ValueError("W has non-finite entries (or W^T W overflows float64)")
    return G


def gram_eigvalsh(W: Any, dtype: str = "float64") -> Any:
    """Eigenvalues of the smaller Gram matrix of ``W (..., h, d)``, ascending, clipped at 0.

    ``lambda = max(eigvalsh(G), 0)`` with ``G`` from :func:`gram`: the ESD, the squared
    singular values ``s_i(W)^2`` (see :mod:`htdyn.analysis.esd` for its accuracy), in ``W``'s
    namespace, batched over leading axes.

    Parameters
    ----------
    W : array (..., h, d)
        numpy, CuPy or torch (a CPU tensor is read as numpy).
    dtype : str
        The floating dtype of the computation, by name.

    Returns
    -------
    lambda : array (..., N), N = min(h, d)
        Ascending, ``>= 0``.

    Raises
    ------
    ValueError
        For a non-finite ``G`` (NaN/inf in ``W``, or an overflow).

    References
    ----------
    .. [1] Kothapalli, Pang, Deng, Liu & Yang, "From Spikes to Heavy Tails: Unveiling the Spectral
       Evolution of Neural Networks", TMLR 2025 (arXiv 2406.04657), section 3: the ESD is the
       spectrum of ``W^T W``.

    Examples
    --------
    The squared singular values of an SVD, ascending:

    >>> import numpy as np
    >>> from htdyn.analysis.linalg import gram_eigvalsh
    >>> W = np.random.default_rng(0).standard_normal((30, 20))
    >>> lam = gram_eigvalsh(W)
    >>> lam.shape
    (20,)
    >>> s = np.linalg.svd(W, compute_uv=False)
    >>> bool(np.allclose(lam, np.sort(s ** 2))), bool(np.allclose(gram_eigvalsh(W.T), lam))
    (True, True)
    """
    xp, W = as_float(W, dtype)
    return xp.maximum(xp.linalg.eigvalsh(gram(W, check=True)), 0.0)


def top_gram_eigenvalue(Z: Any) -> Any:
    """``||Z||_2^2 = lambda_max(G)`` over the last two axes (relative error ~ eps, Weyl).

    Parameters
    ----------
    Z : array (..., h, d)
        numpy or CuPy; leading axes are a batch.  Not checked for NaN/inf.

    Returns
    -------
    array (...)
        The largest eigenvalue of the smaller Gram matrix of each matrix, the squared
        spectral norm, in ``Z``'s namespace and dtype.

    Examples
    --------
    >>> import numpy as np
    >>> from htdyn.analysis.linalg import top_gram_eigenvalue
    >>> Z = np.random.default_rng(0).standard_normal((30, 20))
    >>> bool(np.isclose(top_gram_eigenvalue(Z), np.linalg.norm(Z, 2) ** 2))
    True
    >>> top_gram_eigenvalue(np.stack([Z, 2 * Z])).shape
    (2,)
    """
    xp, _ = analysis_namespace(Z)
    return xp.linalg.eigvalsh(gram(Z))[..., -1]


def eigs_and_top_vector(G: np.ndarray, vector: bool = True) -> tuple[np.ndarray, np.ndarray | None]:
    """Every eigenvalue of a symmetric G and its top eigenvector, for the price of the eigenvalues.

    :func:`eigs_and_top_vectors` with ``k = 1`` (``k = 0`` unless ``vector``).

    Parameters
    ----------
    G : numpy array (N, N), float64
        Symmetric; its lower triangle is read and, when ``G`` is Fortran-ordered (as
        :func:`gram_lower` returns it), overwritten.
    vector : bool
        Also return the eigenvector of the largest eigenvalue.

    Returns
    -------
    w : numpy array (N,)
        Every eigenvalue, ascending, clipped at 0.
    z : numpy array (N,) or None
        The unit eigenvector of ``w[-1]`` (its sign arbitrary), None unless ``vector``.

    Examples
    --------
    >>> import numpy as np
    >>> from htdyn.analysis.linalg import eigs_and_top_vector, gram_lower
    >>> W = np.random.default_rng(0).standard_normal((30, 20))
    >>> w, z = eigs_and_top_vector(gram_lower(W))
    >>> ew, ev = np.linalg.eigh(W.T @ W)
    >>> bool(np.allclose(w, ew)), bool(np.isclose(abs(z @ ev[:, -1]), 1.0))
    (True, True)
    >>> eigs_and_top_vector(gram_lower(W), vector=False)[1] is None
    True
    """
    w, Z = eigs_and_top_vectors(G, 1 if vector else 0)
    return w, None if Z is None else Z[:, 0]


def eigs_and_top_vectors(G: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray | None]:
    """Every eigenvalue of a symmetric G and the eigenvectors of its k largest, from one reduction.

    ``eigvalsh`` reduces G to tridiagonal form T = Q^T G Q (LAPACK ``sytrd``, the O(N^3)
    part) and takes T's eigenvalues (``sterf``, O(N^2)); this does the same, then finds
    T's eigenvectors of the k largest eigenvalues by inverse iteration (``stein``, O(N k),
    reorthogonalised within clusters) and maps them back with Q's N - 1 Householder
    reflectors (``ormqr`` on the reflectors below the subdiagonal, O(N^2 k), blocked).

    Parameters
    ----------
    G : numpy array (N, N), float64
        Symmetric; its lower triangle is read and, when ``G`` is Fortran-ordered (as
        :func:`gram_lower` returns it: no copy), overwritten.
    k : int
        How many eigenvectors, clipped to ``N``; ``0`` for none.

    Returns
    -------
    w : numpy array (N,)
        Every eigenvalue, ascending, clipped at 0.
    Z : numpy array (N, k) or None
        Orthonormal eigenvectors of ``w[-1], w[-2], ..., w[-k]`` (largest first, signs
        arbitrary), or None for ``k = 0``; NaN for a zero G (where every vector is an eigenvector).

    Raises
    ------
    numpy.linalg.LinAlgError
        When a LAPACK routine fails.

    References
    ----------
    .. [1] E. Anderson et al., *LAPACK Users' Guide*, 3rd ed., SIAM 1999 (``dsytrd``, ``dsterf``,
       ``dstein``, ``dormqr``).

    Examples
    --------
    >>> import numpy as np
    >>> from htdyn.analysis.linalg import eigs_and_top_vectors, gram_lower
    >>> W = np.random.default_rng(0).standard_normal((30, 20))
    >>> w, Z = eigs_and_top_vectors(gram_lower(W), 3)
    >>> ew, ev = np.linalg.eigh(W.T @ W)
    >>> Z.shape, bool(np.allclose(w, ew)), bool(np.allclose(Z.T @ Z, np.eye(3)))
    ((20, 3), True, True)
    >>> bool(np.allclose(abs(np.sum(Z * ev[:, ::-1][:, :3], axis=0)), 1.0))   # up to sign
    True
    """
    from scipy.linalg import lapack

    N = G.shape[0]
    k = min(int(k), N)
    c, diag, off, tau, info = lapack.dsytrd(G, lower=1, lwork=64 * N, overwrite_a=True)
    if info != 0:
        raise np.linalg.LinAlgError(f"dsytrd failed (info={info})")
    w, info = lapack.dsterf(diag, off)
    if info != 0:
        raise np.linalg.LinAlgError(f"dsterf did not converge (info={info})")
    if k <= 0:
        return np.maximum(w, 0.0), None
    iblock = np.ones(N, dtype=np.int32)
    isplit = np.zeros(N, dtype=np.int32)
    isplit[0] = N  # one block: the tridiagonal matrix as a whole
    z, info = lapack.dstein(diag, off, w[N - k:], iblock, isplit)
    if info != 0:
        raise np.linalg.LinAlgError(f"dstein did not converge (info={info})")
    if N > 1:
        # Q = H_0 ... H_{N-2}, H_i = I - tau_i v v^T with v = (0_{i+1}, 1, c[i+2:, i]): Q = diag(1, Q'),
        # Q' in ormqr's storage from row 1 of c on; a Fortran view of c shifted by one row (lda = N)
        a = c.reshape(-1, order="F")[1:1 + N * (N - 1)].reshape((N, N - 1), order="F")
        zq, _, info = lapack.dormqr("L", "N", a, tau[:N - 1], np.asfortranarray(z[1:]), lwork=64 * (k + 65),
                                    overwrite_c=1)
        if info != 0:
            raise np.linalg.LinAlgError(f"dormqr failed (info={info})")
        z = np.vstack([z[:1], zq])
    Z = z[:, ::-1]
    return np.maximum(w, 0.0), Z / np.linalg.norm(Z, axis=0)


def top_right_vector(W: Any, G: Any | None = None, lam1: float | None = None) -> Any:
    """The top right singular vector v_1 of W (h x d), float64, in W's namespace.

    On the host: one tridiagonal reduction of the Gram matrix (:func:`eigs_and_top_vector`).
    Elsewhere: inverse iteration on ``G`` (formed if not given) with the shift
    ``s = lam1 (1 + 1e-10)`` just above the top eigenvalue, which amplifies v_1 by
    ``~1e10 gap / lam1`` per iteration against any other direction, so two iterations give
    v_1 to round-off unless the top eigenvalue is degenerate (where v_1 is not defined).
    When ``G = W W^T`` (h < d) the left vector u_1 is found and ``v_1 = W^T u_1 / ||.||``.

    Parameters
    ----------
    W : array (h, d)
        numpy, CuPy or torch.
    G : array (N, N), optional
        The smaller Gram matrix of ``W`` (:func:`gram`), if already formed; then the inverse
        iteration is used on the host too.
    lam1 : float, optional
        Its largest eigenvalue, if known (with ``G``).

    Returns
    -------
    v : array (d,)
        Unit vector, float64; its sign is arbitrary.

    Examples
    --------
    >>> import numpy as np
    >>> from htdyn.analysis.linalg import gram, top_right_vector
    >>> W = np.random.default_rng(0).standard_normal((30, 20))
    >>> Vh = np.linalg.svd(W)[2]
    >>> v = top_right_vector(W)
    >>> v.shape, bool(np.isclose(abs(v @ Vh[0]), 1.0))
    ((20,), True)
    >>> v = top_right_vector(W, G=gram(W))            # the inverse iteration
    >>> bool(np.isclose(abs(v @ Vh[0]), 1.0))
    True
    """
    xp, W = as_float(W, "float64")
    h, d = W.shape
    if xp is np and G is None:
        _, x = eigs_and_top_vector(gram_lower(W), vector=True)
    else:
        G = gram(W, check=True) if G is None else G
        lam1 = float(xp.linalg.eigvalsh(G)[-1]) if lam1 is None else lam1
        x = _inverse_iteration(xp, G, lam1)
    if h < d:
        x = W.T @ x
        x = x / xp.linalg.norm(x)
    return x


def _inverse_iteration(xp: Any, G: Any, lam1: float) -> Any:
    """Two steps of shifted inverse iteration towards G's top eigenvector (see top_right_vector)."""
    N = G.shape[0]
    shift = lam1 * (1.0 + 1e-10) + 1e-300
    A = G - shift * xp.eye(N, dtype=G.dtype)
    x = xp.ones(N, dtype=G.dtype) / np.sqrt(N) + xp.asarray(np.random.default_rng(0).standard_normal(N) * 1e-3)
    if xp is np:
        import scipy.linalg

        lu = scipy.linalg.lu_factor(A, overwrite_a=True, check_finite=False)
        for _ in range(2):
            x = scipy.linalg.lu_solve(lu, x, check_finite=False)
            x = x / np.linalg.norm(x)
        return x
    for _ in range(2):
        x = xp.linalg.solve(A, x)
        x = x / xp.linalg.norm(x)
    return x


def check_k(k: int | None, m: int, name: str = "k") -> int:
    """``k = None`` means all ``m``; otherwise 1 <= k, clipped to ``m``."""
    if k is None:
        return m
    k = int(k)
    if k < 1:
        raise ValueError(f"{name} must be >= 1 or None, got {k}")
    return min(k, m)


def top_singular_triplets(A: Any, k: int) -> tuple[Any, Any, Any]:
    """The top-k singular triplets of a matrix, at the cost of one symmetric reduction.

    On the CPU the smaller Gram matrix ``G`` (:func:`gram_lower`) gives its top-k
    eigenpairs through LAPACK's ``syevr`` (tridiagonal reduction, then only the k
    eigenpairs asked for); ``s_i = sqrt(lambda_i)`` and the other side's vectors are
    ``A v_i / s_i``.  About one ``eigvalsh`` of ``G``, against 5-15 of them for a thin SVD.
    Accuracy: the vectors of a gap ``g_i`` in the spectrum of ``G`` are exact to
    ~eps lambda_1 / g_i, the same order as the SVD's own sensitivity eps s_1 / (s_i - s_{i+1})
    times ``s_1 / (s_i + s_{i+1})``: fine for the top of the spectrum (vectors of singular
    values near 0 lose accuracy: use a thin SVD for those).  Other arrays (CuPy) take a thin SVD.

    Parameters
    ----------
    A : array (h, d)
        numpy, CuPy or torch.
    k : int
        ``>= 1``, clipped to ``min(h, d)``.

    Returns
    -------
    U : array (h, k)
        Left singular vectors as columns.
    s : array (k,)
        Singular values, descending.
    Vh : array (k, d)
        Right singular vectors as rows (signs arbitrary, as an SVD's).
        Singular values the Gram matrix cannot resolve (``s_i <= sqrt(N eps) s_1``,
        N = min(h, d): a rank-deficient A) are returned as 0 with zero vectors on both
        sides, where an SVD would return an arbitrary completion.

    Raises
    ------
    ValueError
        ``A`` is not a matrix, ``k < 1``, or (on the host) ``A`` or its Gram matrix is not finite.

    Examples
    --------
    Against numpy's SVD (the rank-3 approximation does not depend on the signs):

    >>> import numpy as np
    >>> from htdyn.analysis.linalg import top_singular_triplets
    >>> A = np.random.default_rng(0).standard_normal((30, 20))
    >>> U, s, Vh = top_singular_triplets(A, 3)
    >>> U.shape, s.shape, Vh.shape
    ((30, 3), (3,), (3, 20))
    >>> U0, s0, Vh0 = np.linalg.svd(A, full_matrices=False)
    >>> bool(np.allclose(s, s0[:3])), bool(np.allclose((U * s) @ Vh, (U0[:, :3] * s0[:3]) @ Vh0[:3]))
    (True, True)

    A rank-one matrix: the second value is 0, with zero vectors:

    >>> U, s, Vh = top_singular_triplets(np.outer([1.0, 2.0, 3.0], [1.0, 1.0]), 2)
    >>> s.round(6), np.abs(Vh).round(6)
    (array([5.291503, 0.      ]), array([[0.707107, 0.707107],
           [0.      , 0.      ]]))
    """
    xp, A = as_float(A, "float64")
    if A.ndim != 2:
        raise ValueError(f"expected a matrix (h, d), got shape {A.shape}")
    h, d = A.shape
    k = check_k(k, min(h, d))
    if xp is not np:
        U, s, Vh = xp.linalg.svd(A, full_matrices=False)
        return U[:, :k], s[:k], Vh[:k]
    import scipy.linalg

    N = min(h, d)
    lam, vec = scipy.linalg.eigh(gram_lower(A), lower=True, subset_by_index=[N - k, N - 1], driver="evr",
                                 overwrite_a=True, check_finite=False)
    s, U, V = _pairs_to_triplets(A, lam[::-1], vec[:, ::-1])
    return U, s, np.ascontiguousarray(V.T)


def _pairs_to_triplets(W: Any, lam: Any, Z: Any) -> tuple[Any, Any, Any]:
    """``(sigma (k,), U (h, k), V (d, k))`` from the top-k eigenpairs of W's smaller Gram matrix.

    ``sigma_i = sqrt(lam_i)``; the Gram side's vectors are ``Z``, the other side's
    ``W v_i / sigma_i`` (or ``W^T u_i / sigma_i``).  A value the Gram matrix cannot resolve
    (``sigma_i <= sqrt(N eps) sigma_1``, N = min(h, d)) is 0 with zero vectors on both sides.
    """
    xp, _ = analysis_namespace(W)
    h, d = W.shape
    s = xp.sqrt(xp.maximum(lam, 0.0))
    resolved = s > math.sqrt(min(h, d) * np.finfo(np.float64).eps) * s[0]
    s = xp.where(resolved, s, 0.0)
    inv = xp.where(resolved, 1.0 / xp.where(resolved, s, 1.0), 0.0)
    Z = xp.where(resolved, Z, 0.0)  # (stein gives NaN vectors for a zero G)
    if d <= h:  # Z are right vectors v_i
        return s, xp.matmul(W, Z) * inv, Z
    return s, Z, xp.matmul(W.T, Z) * inv


def gram_triplets(W: Any, lam: Any, Z: Any) -> tuple[Any, Any, Any]:
    """The top-k singular triplets of W (h x d) from the top-k eigenpairs of its smaller Gram matrix.

    ``sigma_i = sqrt(lam_i)``; ``d <= h``: V from ``Z`` and ``u_i = W v_i / sigma_i``;
    ``h < d``: U from ``Z`` and ``v_i = W^T u_i / sigma_i``.  Signs: the entry of largest
    ``|.|`` of each ``v_i`` is positive (the first such entry on a tie).  A value the Gram
    matrix cannot resolve (``sigma_i <= sqrt(N eps) sigma_1``, a rank-deficient W) is returned
    as 0 with zero vectors on both sides, as :func:`top_singular_triplets` does.

    Parameters
    ----------
    W : array (h, d)
        float64, in the namespace of ``lam`` and ``Z``.
    lam : array (k,)
        The k largest eigenvalues of ``W^T W`` (``d <= h``) or ``W W^T``, descending.
    Z : array (N, k)
        Their orthonormal eigenvectors, N = min(h, d).

    Returns
    -------
    s : array (k,)
        ``sigma_i = sqrt(lam_i)``, descending.
    U : array (k, h)
        Left vectors as rows.
    V : array (k, d)
        Right vectors as rows, ``W v_i = sigma_i u_i``.

    Examples
    --------
    >>> import numpy as np
    >>> from htdyn.analysis.linalg import gram_triplets
    >>> W = np.random.default_rng(0).standard_normal((30, 20))
    >>> lam, Z = np.linalg.eigh(W.T @ W)
    >>> s, U, V = gram_triplets(W, lam[::-1][:3], Z[:, ::-1][:, :3])
    >>> s.shape, U.shape, V.shape
    ((3,), (3, 30), (3, 20))
    >>> bool(np.allclose(s, np.linalg.svd(W, compute_uv=False)[:3])), bool(np.allclose(W @ V.T, U.T * s))
    (True, True)
    >>> bool(np.all(V[np.arange(3), np.argmax(np.abs(V), axis=1)] > 0))   # the sign rule
    True
    """
    xp, _ = analysis_namespace(W)
    s, U, V = _pairs_to_triplets(W, lam, Z)
    big = xp.argmax(xp.abs(V), axis=0)
    sign = xp.sign(V[big, xp.arange(V.shape[1])])
    sign = xp.where(sign == 0, 1.0, sign)
    return s, xp.ascontiguousarray((U * sign).T), xp.ascontiguousarray((V * sign).T)


def top_triplets(W: Any, k: int) -> tuple[Any, Any, Any]:
    """The k largest singular values of W (h x d) and their vectors, signs fixed (:func:`gram_triplets`).

    On the host (N = min(h, d) >= 3): the Gram matrix's lower triangle (:func:`gram_lower`)
    and one tridiagonal reduction (:func:`eigs_and_top_vectors`): an ``eigvalsh`` of G plus
    O(N^2 k).  Elsewhere (CuPy; small matrices) ``xp.linalg.eigh`` of the Gram matrix, its
    top k.  Accuracy: as :func:`top_singular_triplets` (from the Gram matrix: fine at the top
    of the spectrum; vectors of a singular value near a neighbour or near 0 lose accuracy).
    What the ``top`` metric set stores.

    Parameters
    ----------
    W : array (h, d)
        numpy, CuPy or torch.
    k : int
        ``>= 1``, clipped to N.

    Returns
    -------
    s : array (k,)
        Singular values, descending.
    U : array (k, h)
        Left vectors as rows.
    V : array (k, d)
        Right vectors as rows, the entry of largest ``|.|`` of each positive.

    Raises
    ------
    ValueError
        ``W`` is not a matrix, ``k < 1``, or ``W`` or its Gram matrix is not finite.

    Examples
    --------
    >>> import numpy as np
    >>> from htdyn.analysis.linalg import top_triplets
    >>> W = np.random.default_rng(0).standard_normal((30, 20))
    >>> s, U, V = top_triplets(W, 3)
    >>> U.shape, V.shape
    ((3, 30), (3, 20))
    >>> _, s0, Vh0 = np.linalg.svd(W)
    >>> bool(np.allclose(s, s0[:3])), bool(np.allclose(np.abs(np.sum(V * Vh0[:3], axis=1)), 1.0))
    (True, True)
    """
    xp, W = as_float(W, "float64")
    if W.ndim != 2:
        raise ValueError(f"expected a matrix (h, d), got shape {W.shape}")
    N = min(W.shape)
    k = check_k(k, N)
    if xp is np and N >= 3:
        w, Z = eigs_and_top_vectors(gram_lower(W), k)
        lam = w[::-1][:k]
    else:
        lam, Z = xp.linalg.eigh(gram(W, check=True))
        lam, Z = lam[::-1][:k], Z[:, ::-1][:, :k]
    return gram_triplets(W, lam, Z)


def check_evals(evals: Any, where: str, layout: str = "vector") -> tuple[Any, Any]:
    """The one validation of eigenvalue input (the rule of the module docstring).

    Parameters
    ----------
    evals : array-like
        Eigenvalues (numpy, CuPy, torch, list).
    where : str
        The caller's name, for the error message.
    layout : str
        ``"vector"`` (1-D), ``"pooled"`` (any shape, flattened) or ``"batched"`` (the last
        axis is the spectrum).

    Returns
    -------
    xp : module
        ``numpy`` or ``cupy``.
    ev : array
        float64, finite, ``>= 0``, sorted ascending along its last axis.

    Raises
    ------
    ValueError
        Wrong layout, no eigenvalue, or a NaN/inf value; the message starts with ``where``.

    Examples
    --------
    >>> import numpy as np
    >>> from htdyn.analysis.linalg import check_evals
    >>> xp, ev = check_evals([3.0, -1e-17, 1.0], "demo")   # round-off below 0 becomes 0
    >>> xp.__name__, ev
    ('numpy', array([0., 1., 3.]))
    >>> check_evals(np.array([[2.0, 1.0], [0.0, 3.0]]), "demo", layout="batched")[1]
    array([[1., 2.],
           [0., 3.]])
    >>> check_evals([1.0, float("nan")], "demo")
    Traceback (most recent call last):
        ...
    ValueError: demo: evals has 1 non-finite value(s) (NaN or inf) out of 2; eigenvalues must be finite
    """
    xp, ev = analysis_namespace(evals)
    ev = xp.asarray(ev, dtype=xp.float64)
    if layout == "pooled":
        ev = ev.reshape(-1)
    elif layout == "vector" and ev.ndim != 1:
        raise ValueError(f"{where}: evals must be 1-D, got shape {tuple(ev.shape)} (pool spectra with .ravel())")
    elif layout not in EVAL_LAYOUTS:
        raise ValueError(f"{where}: layout must be one of {EVAL_LAYOUTS}, got {layout!r}")
    if ev.ndim == 0 or ev.shape[-1] == 0:
        raise ValueError(f"{where}: evals must have at least one eigenvalue along the last axis")
    bad = int(xp.sum(~xp.isfinite(ev)))
    if bad:
        raise ValueError(f"{where}: evals has {bad} non-finite value(s) (NaN or inf) out of {ev.size}; "
                         "eigenvalues must be finite")
    return xp, xp.sort(xp.maximum(ev, 0.0), axis=-1)
