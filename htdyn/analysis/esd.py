"""Empirical spectral density (ESD) of weight matrices: eigenvalues of W^T W.

Convention
----------
For ``W`` of shape ``(h, d)`` the ESD is the ``N = min(h, d)`` eigenvalues
``lambda_i = s_i(W)^2`` of the smaller Gram matrix (``W^T W`` if ``d <= h``, else
``W W^T``), i.e. the squared singular values, with no ``1/N`` factor.  This is the
convention of the reference code (Kothapalli et al. 2025, ``svdvals(W^T W)``) and of
WeightWatcher's default output.  The ``max(h, d) - min(h, d)`` exact zeros of the larger
Gram matrix are not returned.

``normalize=True`` gives the eigenvalues of Martin & Mahoney's correlation matrix
``X = W^T W / N`` with ``N = max(h, d)`` (the long side; Martin & Mahoney 2021, JMLR 22(165),
and WeightWatcher's ``normalize`` option, which scales ``W`` by ``1/sqrt(N)`` with
``N = max(h, d)``; WeightWatcher's default is unnormalised).  Power-law exponents are
scale-free and do not depend on this choice; ``lambda_max``, MP edges and ``alpha_hat`` do.

Accuracy of the Gram route
--------------------------
``eigvalsh`` of the Gram matrix (formed in float64) is backward stable for ``G``: every
eigenvalue has an absolute error of order ``c * N * eps * lambda_max`` (forming ``G`` adds an
error of the same order).  Eigenvalues well above that floor are accurate to a few ulps
relative; eigenvalues below about ``N * eps * lambda_max`` (``~1e-13 lambda_max`` in float64 at
N = 1000) carry no relative accuracy, exactly zero singular values come out as round-off
of either sign (negatives are clipped to 0).  A full SVD of ``W`` keeps an absolute error of
``~eps * s_max`` on each *singular value* instead, and is needed only if the smallest
singular values of a very ill-conditioned matrix matter; power-law fits of ESD tails do not
use them.  The Gram route costs one ``h d N`` product plus an ``N x N`` symmetric
eigensolve, several times cheaper than an SVD, and is batched over leading axes.
"""

from __future__ import annotations

from typing import Any

from ..xp import analysis_namespace
from .linalg import gram, gram_lower

__all__ = ["esd", "singular_values", "gram_lower"]


def esd(W: Any, *, normalize: bool = False, dtype: str = "float64") -> Any:
    r"""Eigenvalues of ``W^T W`` (squared singular values of ``W``), ascending.

    Parameters
    ----------
    W : array of shape ``(..., h, d)``
        numpy or CuPy array, or torch tensor (shared through DLPack).  Leading axes are a
        batch: every matrix gets its own spectrum.
    normalize : bool
        Divide by ``N = max(h, d)``: the spectrum of Martin & Mahoney's
        ``X = W^T W / N`` (WeightWatcher's ``normalize``).  Default: raw ``s_i^2``.
    dtype : str
        Floating dtype of the computation (``W`` is cast first).  float64 (default) gives
        an absolute error ``~N eps lambda_max ~ 1e-13 lambda_max``; float32 is faster on
        GPUs but the floor rises to ``~1e-4 lambda_max`` at N = 1000.

    Returns
    -------
    array of shape ``(..., min(h, d))``
        ``lambda_1 <= ... <= lambda_N``, ``lambda_i = s_i(W)^2 (/ N)``, in the namespace of
        the input (numpy for numpy and CPU torch, CuPy for CuPy and CUDA torch).

    Raises
    ------
    ValueError
        If ``W`` has fewer than 2 dimensions or non-finite entries (``eigvalsh`` would
        silently return garbage on NaN).

    Notes
    -----
    ``lambda = eigvalsh(G)``, ``G = W^T W`` if ``d <= h`` else ``W W^T`` (the smaller one,
    same non-zero spectrum), clipped below at 0.  See the module docstring for accuracy.

    References
    ----------
    .. [1] Kothapalli, Pang, Deng, Liu & Yang, "From Spikes to Heavy Tails: Unveiling the Spectral
       Evolution of Neural Networks", TMLR 2025 (arXiv 2406.04657):
       the ESD is the spectrum of ``W^T W``.
    .. [2] V. A. Marchenko & L. A. Pastur, "Distribution of eigenvalues for some sets of random
       matrices", Math. USSR-Sbornik 1(4), 1967.

    Examples
    --------
    The squares of the singular values, ascending:

    >>> import numpy as np
    >>> from htdyn.analysis.esd import esd
    >>> esd(np.diag([3.0, 1.0, 2.0])).tolist()
    [1.0, 4.0, 9.0]

    An 800 x 200 matrix of N(0, 1/800) entries fills the Marchenko-Pastur bulk
    ``[(1 - 1/sqrt(Q))^2, (1 + 1/sqrt(Q))^2] = [0.25, 2.25]`` (Q = 4):

    >>> W = np.random.default_rng(0).standard_normal((800, 200)) / np.sqrt(800)
    >>> ev = esd(W)
    >>> bool(abs(ev.min() - 0.25) < 0.1 and abs(ev.max() - 2.25) < 0.1)
    True
    """
    xp, W = analysis_namespace(W)
    if W.ndim < 2:
        raise ValueError(f"esd needs a matrix (or a batch of matrices), got an array of shape {tuple(W.shape)}")
    W = W.astype(dtype, copy=False)
    h, d = W.shape[-2], W.shape[-1]
    try:
        G = gram(W, check=True)
    except ValueError as exc:
        raise ValueError(f"esd: {exc}") from None
    ev = xp.linalg.eigvalsh(G)  # ascending
    ev = xp.maximum(ev, 0.0)  # zero singular values come out as +-round-off
    if normalize:
        ev = ev / max(h, d)
    return ev


def singular_values(W: Any, *, dtype: str = "float64") -> Any:
    """Singular values of ``W``, **ascending** (``sqrt`` of :func:`esd`), shape ``(..., min(h, d))``.

    Ascending order matches :func:`esd` element by element (``singular_values(W)**2 ==
    esd(W)``); note that ``numpy.linalg.svd`` returns them descending.  Computed through the
    Gram matrix: singular values below ``~sqrt(N eps) s_max`` (``~4e-7 s_max`` in float64 at
    N = 1000) carry no relative accuracy; use ``numpy.linalg.svd`` if those matter.

    Parameters
    ----------
    W : 2-D array (numpy, CuPy or torch)
        The weight matrix.
    dtype : str
        Precision of the computation (default float64).

    Returns
    -------
    1-D array
        The ``min(W.shape)`` singular values, ascending, in the input's namespace.

    References
    ----------
    .. [1] Kothapalli, Pang, Deng, Liu & Yang, "From Spikes to Heavy Tails: Unveiling the Spectral
       Evolution of Neural Networks", TMLR 2025 (arXiv 2406.04657): the singular values
       ``s_i(W)`` whose squares form the ESD of ``W^T W``.

    Examples
    --------
    >>> import numpy as np
    >>> from htdyn.analysis.esd import singular_values
    >>> singular_values(np.diag([3.0, 1.0, 2.0])).tolist()
    [1.0, 2.0, 3.0]
    """
    xp, W = analysis_namespace(W)
    return xp.sqrt(esd(W, dtype=dtype))
