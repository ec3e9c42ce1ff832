"""Entry-wise heavy tails and magnitude-pruning compressibility (Shin 2021).

Shin (2021) compresses weight matrices whose *entries* are heavy-tailed into sparse matrices
(keep the largest |W_ij|, zero the rest) and feeds the number of non-zeros into the
compression bound of Arora et al. (2018).  Two diagnostics follow:

* :func:`entrywise_tail_index`: the Hill estimate of the tail index of the entries |W_ij|.
  This is a different notion from the power-law exponent of the ESD (heavy-tailed
  *correlations*, Martin & Mahoney): a matrix can have a heavy-tailed ESD with light-tailed
  entries, and then magnitude pruning does not compress it.
* :func:`pruning_curve`: the relative Frobenius and operator-norm residuals of magnitude
  pruning as functions of the kept fraction; :func:`fraction_for_residual` inverts the
  Frobenius one.

Inputs may be numpy, CuPy or torch arrays; the magnitudes are sorted on the input's device,
in float64 by default.

References
----------
Shin (2021), "Compressing Heavy-Tailed Weight Matrices for Non-Vacuous Generalization
Bounds", arXiv 2105.11025.
Arora, Ge, Neyshabur & Zhang (2018), "Stronger generalization bounds for deep nets via a
compression approach", ICML; arXiv 1802.05296.
Hill (1975), "A simple general approach to inference about the tail of a distribution",
Ann. Statist. 3:1163.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .linalg import as_float, top_gram_eigenvalue

__all__ = ["HillTail", "entrywise_tail_index", "pruning_curve", "fraction_for_residual"]


@dataclass(frozen=True)
class HillTail:
    """A Hill estimate of an entry-wise tail index; ``float(t)`` is ``t.alpha``.

    Attributes
    ----------
    alpha : float
        Estimated tail index (``P(|w| > x) ~ x^(-alpha)``).
    k : int
        Number of upper order statistics used.
    xmin : float
        The threshold ``x_(k+1)``, the (k+1)-th largest |W_ij|.
    sd : float
        Asymptotic standard deviation ``alpha / sqrt(k)``.
    n : int
        Number of entries.

    Examples
    --------
    On the exact quantiles ``x_i = (N / i)^{1/2}`` of a Pareto law with tail index 2 the k log-
    spacings sum to ``(k ln(k + 1) - ln k!) / 2``, so the Hill estimate is known in closed form:

    >>> import math
    >>> import numpy as np
    >>> from htdyn.analysis.compression import entrywise_tail_index
    >>> N, k = 10_000, 100
    >>> t = entrywise_tail_index(np.sqrt(N / np.arange(1.0, N + 1)), k=k)
    >>> t.k, t.n, bool(np.isclose(float(t), k / ((k * math.log(k + 1) - math.lgamma(k + 1)) / 2)))
    (100, 10000, True)
    >>> round(float(t), 2), round(t.sd, 3)
    (2.05, 0.205)
    """

    alpha: float
    k: int
    xmin: float
    sd: float
    n: int

    def __float__(self) -> float:
        return self.alpha


def entrywise_tail_index(W: Any, *, k: int | float | None = None, dtype: str | None = "float64") -> HillTail:
    r"""Hill estimator of the tail index of the entries' magnitudes ``|W_ij|``.

    With ``x_(1) >= x_(2) >= ... >= x_(N)`` the sorted ``|W_ij|`` (N = h d) and k upper order
    statistics,

    .. math::  \hat\alpha = \frac{k}{\sum_{i=1}^{k} \ln\big(x_{(i)} / x_{(k+1)}\big)}

    (Hill 1975).  For entries with an exact Pareto tail above ``x_(k+1)``, the k log-spacings
    are i.i.d. Exp(alpha) (Renyi's representation), so ``alpha / alpha_hat ~ Gamma(k, k)``:
    mean of ``alpha_hat`` is ``alpha k/(k-1)``, sd ``~ alpha / sqrt(k)`` (reported as ``sd``).
    For tails that are only regularly varying (Student-t, Lomax = ``numpy.random.pareto``) a
    large k adds a bias from the non-Pareto part (e.g. Student-t with 3 dof and N = 10^6:
    about -0.03 at k = 2000, -0.34 at k = 5%).  Entries with light tails (Gaussian) give an
    alpha_hat that grows as k shrinks and is not a tail index.

    Parameters
    ----------
    W : array, any shape
        All entries are pooled.
    k : int, float or None
        An int >= 1 is the number of order statistics; a float (which must lie in (0, 1)) the
        fraction of the entries (``k = floor(fraction N)``); None (default)
        ``k = ceil(sqrt(N))``, a standard choice that keeps the bias small for N ~ 10^6 (sd
        ~ 3% of alpha).  Use ``k=0.05`` for the "top 5%" estimate of related-work notes.
    dtype : str or None

    Returns
    -------
    HillTail

    Raises
    ------
    ValueError
        If k is out of [1, N-1] or the threshold ``x_(k+1)`` is zero (e.g. a pruned matrix
        with fewer than k+1 non-zeros).

    References
    ----------
    .. [1] B. M. Hill, "A simple general approach to inference about the tail of a distribution",
       Ann. Statist. 3(5), 1975.

    Examples
    --------
    Student-t entries with 3 degrees of freedom have tail index 3:

    >>> import numpy as np
    >>> from htdyn.analysis.compression import entrywise_tail_index
    >>> W = np.random.default_rng(0).standard_t(3, size=(500, 400))
    >>> bool(abs(entrywise_tail_index(W).alpha - 3) < 0.3)
    True
    """
    xp, W = as_float(W, dtype)
    x = xp.abs(W.reshape(-1))
    N = int(x.shape[0])
    if k is None:
        kk = math.ceil(math.sqrt(N))
    elif isinstance(k, (float, np.floating)):
        if not 0.0 < k < 1.0:
            raise ValueError(f"a float k is a fraction of the entries and must be in (0, 1), got {k}")
        kk = int(math.floor(k * N))
    else:
        kk = int(k)
    if not 1 <= kk <= N - 1:
        raise ValueError(f"k must be in [1, N-1] = [1, {N - 1}], got {kk}")
    x = xp.partition(x, N - kk - 1)  # x[N-k-1] is x_(k+1); x[N-k:] are the k largest
    xmin = float(x[N - kk - 1])
    if not xmin > 0.0:
        raise ValueError(f"the threshold x_(k+1) is {xmin}; use a smaller k (too many zero entries)")
    s = float(xp.sum(xp.log(x[N - kk:] / xmin)))
    alpha = kk / s if s > 0 else math.inf
    return HillTail(alpha=alpha, k=kk, xmin=xmin, sd=alpha / math.sqrt(kk), n=N)


def _n_kept(fractions: Sequence[float], N: int) -> np.ndarray:
    f = np.asarray(fractions, dtype=np.float64).reshape(-1)
    if np.any(~np.isfinite(f)) or np.any(f < 0) or np.any(f > 1):
        raise ValueError("kept fractions must lie in [0, 1]")
    return np.floor(f * N + 0.5).astype(np.int64)


def pruning_curve(W: Any, fractions: Sequence[float], *, operator: bool = True,
                  dtype: str | None = "float64") -> dict[str, np.ndarray]:
    r"""Magnitude-pruning residuals of W against the kept fraction.

    For each kept fraction s, ``W_s`` keeps the ``n_s = floor(s N + 1/2)`` entries of largest
    magnitude (N = h d; ties broken by a stable sort on the flattened index) and zeroes the
    rest; the residual ``E_s = W - W_s`` holds the pruned entries.  Returned:

    .. math::  \mathrm{fro}(s) = \|E_s\|_F / \|W\|_F
               = \Big(\sum_{i > n_s} x_{(i)}^2 \Big/ \sum_i x_{(i)}^2\Big)^{1/2},
               \qquad \mathrm{op}(s) = \|E_s\|_2 / \|W\|_2,

    with ``x_(i)`` the sorted magnitudes.  ``fro`` is non-increasing in s, 1 at s = 0 and 0 at
    s = 1; ``op`` is 0 at s = 1 but need not be monotone.  For i.i.d. N(0, 1) entries
    ``fro(s)^2 -> 1 - 2[z phi(z) + 1 - Phi(z)]`` with ``z = Phi^{-1}(1 - s/2)`` (0.849 at s = 5%);
    heavy-tailed entries give much smaller residuals (Shin 2021).

    Parameters
    ----------
    W : array (h, d)
    fractions : sequence of float in [0, 1]
        Kept fractions.
    operator : bool
        Also compute the operator-norm residual (one Gram matrix and symmetric eigenvalue
        solve per fraction, ``||E||_2^2 = lambda_max(E^T E)``: the costly part).
    dtype : str or None

    Returns
    -------
    dict of numpy arrays, each of length ``len(fractions)``:
    ``fraction`` (as given), ``n_kept`` (int), ``threshold`` (smallest kept |W_ij|, inf when
    nothing is kept), ``frobenius`` and, with ``operator``, ``operator``.

    References
    ----------
    .. [1] J. Y. Shin, "Compressing Heavy-Tailed Weight Matrices for Non-Vacuous Generalization
       Bounds", arXiv 2105.11025, 2021 (magnitude pruning of heavy-tailed entries).
    .. [2] S. Arora, R. Ge, B. Neyshabur & Y. Zhang, "Stronger generalization bounds for deep nets via
       a compression approach", ICML 2018 (arXiv 1802.05296): the number of kept entries enters
       their compression bound.

    Examples
    --------
    Keeping the largest entry (the 4) of ``diag(3, 4, 0, 0)`` leaves ``||E||_F / ||W||_F = 3/5`` and
    ``||E||_2 / ||W||_2 = 3/4``; keeping two leaves nothing:

    >>> import numpy as np
    >>> from htdyn.analysis.compression import pruning_curve
    >>> c = pruning_curve(np.diag([3.0, 4.0, 0.0, 0.0]), [0.0, 1 / 16, 2 / 16, 1.0])
    >>> c["n_kept"].tolist(), c["frobenius"].round(12).tolist(), c["operator"].round(12).tolist()
    ([0, 1, 2, 16], [1.0, 0.6, 0.0, 0.0], [1.0, 0.75, 0.0, 0.0])
    >>> c["threshold"].tolist()
    [inf, 4.0, 3.0, 0.0]
    """
    xp, W = as_float(W, dtype)
    if W.ndim != 2:
        raise ValueError(f"expected a matrix (h, d), got shape {W.shape}")
    flat = W.reshape(-1)
    N = int(flat.shape[0])
    n_kept = _n_kept(fractions, N)
    mag = xp.abs(flat)
    order = xp.argsort(-mag, kind="stable") if xp is np else xp.argsort(-mag)  # descending magnitude
    sq = mag[order] ** 2
    # tail[j] = sum of the squares of all but the j largest (summed from the small end: no cancellation)
    tail = xp.concatenate([xp.cumsum(sq[::-1])[::-1], xp.zeros(1, dtype=sq.dtype)])
    tail = np.asarray(tail.get() if hasattr(tail, "get") else tail)
    total = tail[0]
    with np.errstate(divide="ignore", invalid="ignore"):
        fro = np.sqrt(tail[n_kept] / total)
    mag_sorted = mag[order]
    thr = np.array([float(mag_sorted[n - 1]) if n > 0 else math.inf for n in n_kept])
    out = {"fraction": np.asarray(fractions, dtype=np.float64).reshape(-1), "n_kept": n_kept,
           "threshold": thr, "frobenius": fro}
    if operator:
        norm_W = _spectral_norm(xp, W)
        ops = []
        for n in n_kept:
            E = xp.array(flat, copy=True)
            E[order[:n]] = 0.0
            ops.append(_spectral_norm(xp, E.reshape(W.shape)) / norm_W if norm_W > 0 else math.nan)
        out["operator"] = np.asarray(ops)
    return out


def _spectral_norm(xp: Any, A: Any) -> float:
    """``||A||_2`` from the largest eigenvalue of the smaller Gram matrix.

    Several times cheaper than a singular-value decomposition, and as accurate: the top
    eigenvalue of a symmetric matrix is perfectly conditioned (Weyl), so the relative error is
    a few ulps.
    """
    return math.sqrt(max(float(top_gram_eigenvalue(A)), 0.0))


def fraction_for_residual(W: Any, eps: float, *, dtype: str | None = "float64") -> float:
    r"""Smallest kept fraction whose magnitude-pruning Frobenius residual is at most ``eps``.

    ``min { n / N : ||W - W_n||_F <= eps ||W||_F }`` with ``W_n`` the n largest-magnitude
    entries of W (the inverse of ``pruning_curve(...)["frobenius"]``, exact on the grid n/N).

    Parameters
    ----------
    W : array (h, d)
    eps : float in [0, 1]
    dtype : str or None

    Returns
    -------
    float
        ``n / N`` for the smallest such ``n``.

    References
    ----------
    .. [1] J. Y. Shin, "Compressing Heavy-Tailed Weight Matrices for Non-Vacuous Generalization
       Bounds", arXiv 2105.11025, 2021 (magnitude pruning of heavy-tailed entries).
    .. [2] S. Arora, R. Ge, B. Neyshabur & Y. Zhang, "Stronger generalization bounds for deep nets via
       a compression approach", ICML 2018 (arXiv 1802.05296): the number of kept entries enters
       their compression bound.

    Examples
    --------
    Of the 16 entries of ``diag(3, 4, 0, 0)``, keeping the 4 alone leaves ``3/5 = 0.6`` of the norm:

    >>> import numpy as np
    >>> from htdyn.analysis.compression import fraction_for_residual
    >>> W = np.diag([3.0, 4.0, 0.0, 0.0])
    >>> fraction_for_residual(W, 0.61), fraction_for_residual(W, 0.0)
    (0.0625, 0.125)
    """
    if not 0.0 <= eps <= 1.0:
        raise ValueError(f"eps must be in [0, 1], got {eps}")
    xp, W = as_float(W, dtype)
    sq = xp.sort(xp.abs(W.reshape(-1))) ** 2  # ascending
    tail = xp.cumsum(sq)  # tail[j] = sum of the j+1 smallest squares = residual^2 after keeping N-j-1
    tail = np.asarray(tail.get() if hasattr(tail, "get") else tail)
    N = tail.shape[0]
    # residual^2 after keeping n entries is tail[N-n-1] (0 for n = N); find the smallest such n
    target = eps * eps * tail[-1]
    m = int(np.searchsorted(tail, target, side="right"))  # number of smallest entries we may drop
    return (N - m) / N
