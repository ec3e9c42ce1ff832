"""The Marchenko-Pastur law, its Tracy-Widom edge, and the MP law of a deflated bulk.

The conventions (shape, ``N``, ``M``, ``Q``, the scale ``sigma2``) are those of
:mod:`htdyn.analysis.mp`, which re-exports every public name here; the bulk fit
(:func:`htdyn.analysis.mp.fit_bulk`) and the spike count (:mod:`htdyn.analysis.spikes`) are
built from :func:`bulk_law` (the MP law of the noise deflated by r outliers,
Benaych-Georges & Nadakuditi 2012) and :func:`bulk_split` (the bulk/outlier split).

References
----------
Marchenko & Pastur (1967), Math. USSR-Sbornik 1:457.
Johnstone (2001), Ann. Statist. 29:295 (Tracy-Widom law of the largest eigenvalue).
Benaych-Georges & Nadakuditi (2012), J. Multivariate Anal. 111:120.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..xp import analysis_namespace

# The deflated-bulk helpers below (BulkLaw, tw1, bulk_law, deflation, n_below, ks_sorted, bulk_split) serve
# bulkfit and spikes only; what a user calls is this list, all of it re-exported by htdyn.analysis.mp.
__all__ = [
    "aspect", "mp_edges", "mp_density", "mp_cdf", "mp_quantile", "mp_median", "tw_scale", "entry_variance",
    "TW1_MEAN", "TW1_SD",
]

#: mean and standard deviation of the GOE Tracy-Widom law TW1 (Tracy & Widom 1996;
#: variance 1.607781034581)
TW1_MEAN = -1.2065335745820
TW1_SD = 1.2679830577


# --------------------------------------------------------------------------- shape helpers


def aspect(shape: tuple[int, int]) -> tuple[int, int, float]:
    """``(N, M, Q)`` of a matrix shape: N = max, M = min, Q = N / M >= 1.

    Parameters
    ----------
    shape : (int, int)
        ``(rows, cols)`` of W, both positive.

    Returns
    -------
    (int, int, float)
        ``N = max(shape)``, ``M = min(shape)`` and the aspect ratio ``Q = N / M``.

    References
    ----------
    .. [1] C. H. Martin & M. W. Mahoney, "Implicit self-regularization in deep neural networks",
       JMLR 22(165), 2021, Sec. 3 (the convention ``Q = N / M >= 1``).

    Examples
    --------
    >>> from htdyn.analysis.mplaw import aspect
    >>> aspect((200, 800))
    (800, 200, 4.0)
    """
    if len(shape) != 2 or min(shape) < 1:
        raise ValueError(f"shape must be (rows, cols) with positive sizes, got {shape!r}")
    N, M = int(max(shape)), int(min(shape))
    return N, M, N / M


def _check_q(Q: float, sigma2: float) -> None:
    if not Q > 0:
        raise ValueError(f"aspect ratio Q must be > 0, got {Q}")
    if not sigma2 > 0:
        raise ValueError(f"sigma2 must be > 0, got {sigma2}")


# --------------------------------------------------------------------------- the MP law


def mp_edges(Q: float, sigma2: float = 1.0) -> tuple[float, float]:
    """Edges of the Marchenko-Pastur bulk.

    ``lambda_-/+ = sigma2 (1 -/+ 1/sqrt(Q))^2`` (Marchenko & Pastur 1967), with ``sigma2``
    the mean eigenvalue (see the module docstring for the two scalings).  For Q < 1 these
    are the edges of the continuous part; the law then also has an atom 1 - Q at 0.

    Parameters
    ----------
    Q : float
        Aspect ratio ``N / M >= 1`` of the N x M matrix (or ``< 1``, see above).
    sigma2 : float
        Scale of the law (default 1).

    Returns
    -------
    (float, float)
        ``(lambda_-, lambda_+)``.

    References
    ----------
    .. [1] V. A. Marchenko & L. A. Pastur, "Distribution of eigenvalues for some sets of random
       matrices", Math. USSR-Sbornik 1(4), 1967.
    .. [2] C. H. Martin & M. W. Mahoney, "Implicit self-regularization in deep neural networks",
       JMLR 22(165), 2021, Sec. 3 (the scaling used here).

    Examples
    --------
    >>> from htdyn.analysis.mplaw import mp_edges
    >>> mp_edges(4.0)
    (0.25, 2.25)
    """
    _check_q(Q, sigma2)
    r = 1.0 / math.sqrt(Q)
    return sigma2 * (1.0 - r) ** 2, sigma2 * (1.0 + r) ** 2


def mp_density(x: Any, Q: float, sigma2: float = 1.0) -> Any:
    """Marchenko-Pastur density (continuous part).

    ``rho(x) = Q / (2 pi sigma2) * sqrt((lambda_+ - x)(x - lambda_-)) / x`` on
    ``[lambda_-, lambda_+]`` and 0 outside.  It integrates to ``min(1, Q)``; for Q < 1 the
    rest, ``1 - Q``, is an atom at 0 (not included here).  Its mean (with the atom) is sigma2.

    Works elementwise on numpy or CuPy arrays (and scalars).

    Parameters
    ----------
    x : float or array
        Where to evaluate.
    Q, sigma2 : float
        Aspect ratio and scale (as :func:`mp_edges`).

    Returns
    -------
    float or array

    References
    ----------
    .. [1] V. A. Marchenko & L. A. Pastur, "Distribution of eigenvalues for some sets of random
       matrices", Math. USSR-Sbornik 1(4), 1967.

    Examples
    --------
    The density integrates to 1 over the bulk ``[0.25, 2.25]`` at Q = 4:

    >>> from scipy.integrate import quad
    >>> from htdyn.analysis.mplaw import mp_density
    >>> round(quad(lambda x: mp_density(x, 4.0), 0.25, 2.25)[0], 6)
    1.0
    """
    _check_q(Q, sigma2)
    xp, x = analysis_namespace(x)
    x = xp.asarray(x, dtype=xp.float64)
    lo, hi = mp_edges(Q, sigma2)
    inside = (x > lo) & (x < hi) & (x > 0)
    xs = xp.where(inside, x, 0.5 * (lo + hi))  # keep sqrt and division finite outside
    rho = Q / (2.0 * math.pi * sigma2) * xp.sqrt(xp.clip((hi - xs) * (xs - lo), 0.0, None)) / xs
    return xp.where(inside, rho, 0.0)


def mp_cdf(x: Any, Q: float, sigma2: float = 1.0) -> Any:
    """Marchenko-Pastur cumulative distribution function, in closed form.

    With ``y = 1/Q``, ``a, b = (1 -/+ sqrt(y))^2`` (edges for sigma2 = 1), ``t = x / sigma2``
    and the angle ``phi = arccos((1 + y - t) / (2 sqrt(y)))`` in [0, pi] (so that
    ``t = 1 + y - 2 sqrt(y) cos(phi)``), the substitution gives

        F(x) = (1 - Q)_+ + [ (1 + y) phi + 2 sqrt(y) sin(phi)
                             - 2 |1 - y| arctan2(sqrt(b) sin(phi/2), sqrt(a) cos(phi/2)) ] / (2 pi y)

    for ``a <= t <= b`` (``F = (1 - Q)_+`` below, 1 above; the first term is the atom at 0
    when Q < 1).  Derivation: ``r^2 sin^2 phi / (m - r cos phi) = (m + r cos phi)
    - (m^2 - r^2) / (m - r cos phi)`` with ``m = 1 + y``, ``r = 2 sqrt(y)``,
    ``m^2 - r^2 = (1 - y)^2``; checked against quadrature of :func:`mp_density` in the tests.

    Parameters
    ----------
    x : float or array
        Where to evaluate.
    Q, sigma2 : float
        Aspect ratio and scale (as :func:`mp_edges`).

    Returns
    -------
    float or array

    References
    ----------
    .. [1] V. A. Marchenko & L. A. Pastur, "Distribution of eigenvalues for some sets of random
       matrices", Math. USSR-Sbornik 1(4), 1967.

    Examples
    --------
    >>> import numpy as np
    >>> from htdyn.analysis.mplaw import mp_cdf
    >>> mp_cdf(np.array([0.25, 2.25]), 4.0).tolist()  # 0 and 1 at the edges
    [0.0, 1.0]
    """
    _check_q(Q, sigma2)
    xp, x = analysis_namespace(x)
    t = xp.asarray(x, dtype=xp.float64) / sigma2
    y = 1.0 / Q
    sy = math.sqrt(y)
    a, b = (1.0 - sy) ** 2, (1.0 + sy) ** 2
    c = xp.clip((1.0 + y - t) / (2.0 * sy), -1.0, 1.0)
    phi = xp.arccos(c)
    h = 0.5 * phi
    cont = ((1.0 + y) * phi + 2.0 * sy * xp.sin(phi)
            - 2.0 * abs(1.0 - y) * xp.arctan2(math.sqrt(b) * xp.sin(h), math.sqrt(a) * xp.cos(h)))
    cont = xp.clip(cont / (2.0 * math.pi * y), 0.0, min(1.0, Q))
    atom = max(0.0, 1.0 - Q)
    F = atom + cont
    F = xp.where(t >= b, 1.0, F)
    F = xp.where(t < 0, 0.0, F)
    return F


def mp_quantile(p: Any, Q: float, sigma2: float = 1.0) -> np.ndarray:
    """Quantiles of the MP law (inverse of :func:`mp_cdf`).

    ``F(q) = p`` to the accuracy of :func:`mp_cdf` itself (a few ulp times max(1, Q)), so q
    is accurate to ~1e-13 relative away from the edges; within ~1e-4 of an edge, where the
    density vanishes, q is as ill-conditioned as the level allows.  Levels ``p <= 1 - Q``
    (the atom, Q < 1) map to 0, and so does ``p = 0`` for any Q.
    Host (numpy) computation; returns a numpy array (or a 0-d array for a scalar p).

    Method: the CDF on a grid of 513 points, uniform in the angle ``phi`` of
    :func:`mp_cdf` (dense near both edges, where the density vanishes), brackets every
    level; Newton steps on ``F(t) - p`` (derivative: :func:`mp_density`) refine it, with a
    bisection step whenever Newton would leave the bracket, until no quantile moves by more
    than a few ulp.  Typically 4-6 evaluations of the CDF where plain bisection needs 60
    (tested against an 80-step bisection).

    Parameters
    ----------
    p : float or array
        Levels in [0, 1] (clipped to it).
    Q, sigma2 : float
        Aspect ratio and scale (as :func:`mp_edges`).

    Returns
    -------
    numpy array
        The quantiles, of the shape of ``p``.

    References
    ----------
    .. [1] V. A. Marchenko & L. A. Pastur, "Distribution of eigenvalues for some sets of random
       matrices", Math. USSR-Sbornik 1(4), 1967.

    Examples
    --------
    The level 1 is the upper bulk edge ``(1 + 1/sqrt(Q))^2`` and the level 0 maps to 0; inner
    levels invert :func:`mp_cdf`; for Q < 1 the levels inside the atom ``1 - Q`` at 0 map to 0:

    >>> import numpy as np
    >>> from htdyn.analysis.mplaw import mp_cdf, mp_quantile
    >>> mp_quantile(np.array([0.0, 1.0]), 4.0).round(12).tolist()
    [0.0, 2.25]
    >>> q = mp_quantile(np.array([0.1, 0.7]), 4.0)
    >>> mp_cdf(q, 4.0).round(9).tolist(), float(mp_quantile(0.3, 0.5))
    ([0.1, 0.7], 0.0)
    """
    _check_q(Q, sigma2)
    p = np.clip(np.asarray(p, dtype=np.float64), 0.0, 1.0)
    y = 1.0 / Q
    sy = math.sqrt(y)
    t_grid = 1.0 + y - 2.0 * sy * np.cos(np.linspace(0.0, math.pi, 513))  # edge a .. edge b, increasing
    F_grid = mp_cdf(t_grid, Q)
    j = np.clip(np.searchsorted(F_grid, p, side="left"), 1, t_grid.size - 1)
    lo, hi = t_grid[j - 1], t_grid[j]
    Flo, Fhi = F_grid[j - 1], F_grid[j]
    # start at the linear interpolation inside the bracket
    w = np.where(Fhi > Flo, (p - Flo) / np.where(Fhi > Flo, Fhi - Flo, 1.0), 0.5)
    t = lo + np.clip(w, 0.0, 1.0) * (hi - lo)
    eps = np.finfo(np.float64).eps
    noise = 8.0 * eps * max(1.0, Q)  # the rounding level of mp_cdf (it divides O(1 + y) terms by 2 pi y)
    todo = np.ones(p.shape, dtype=bool)
    for _ in range(100):  # quadratic in the interior; bisection within ~1e-4 of an edge, where F is flat
        g = mp_cdf(t, Q) - p
        todo &= np.abs(g) > noise  # F(t) = p as far as F can tell: t is final
        if not todo.any():
            break
        lo = np.where(g < 0, t, lo)
        hi = np.where(g < 0, hi, t)
        dens = mp_density(t, Q)
        t_new = t - np.where(dens > 0, g / np.where(dens > 0, dens, 1.0), np.inf)
        t_new = np.where((t_new >= lo) & (t_new <= hi), t_new, 0.5 * (lo + hi))
        todo &= np.abs(t_new - t) > 2.0 * eps * np.abs(t)  # the bracket is down to an ulp
        t = np.where(todo, t_new, t)
    t = np.where(p >= 1.0, t_grid[-1], np.where(p <= F_grid[0], t_grid[0], t))
    q = np.where(p <= max(0.0, 1.0 - Q), 0.0, t)
    return sigma2 * q


def mp_median(Q: float, sigma2: float = 1.0) -> float:
    """Median of the MP law (``sigma2 * mp_quantile(0.5, Q)``).

    Parameters
    ----------
    Q, sigma2 : float
        Aspect ratio and scale (as :func:`mp_edges`).

    Returns
    -------
    float

    References
    ----------
    .. [1] V. A. Marchenko & L. A. Pastur, "Distribution of eigenvalues for some sets of random
       matrices", Math. USSR-Sbornik 1(4), 1967.

    Examples
    --------
    >>> from htdyn.analysis.mplaw import mp_cdf, mp_median
    >>> round(float(mp_cdf(mp_median(4.0), 4.0)), 9)
    0.5
    """
    return float(mp_quantile(0.5, Q, sigma2))


def tw_scale(shape: tuple[int, int], sigma2: float = 1.0) -> float:
    """Johnstone's Tracy-Widom scale of the largest eigenvalue, in sigma2 units.

    For W with i.i.d. N(0, s^2) entries, ``(lambda_max - lambda_+) / tw_scale -> TW1``
    (mean -1.21, sd 1.27) with (Johnstone 2001, leading order; gamma = M/N)

        tw_scale = sigma2 * N^(-2/3) * (1 + sqrt(gamma)) * (1 + 1/sqrt(gamma))^(1/3).

    For raw eigenvalues (sigma2 = N s^2) this is Johnstone's
    ``s^2 (sqrt(N) + sqrt(M)) (1/sqrt(N) + 1/sqrt(M))^(1/3)``.

    Parameters
    ----------
    shape : (int, int)
        Shape of W.
    sigma2 : float
        Scale of the MP law.

    Returns
    -------
    float

    References
    ----------
    .. [1] I. M. Johnstone, "On the distribution of the largest eigenvalue in principal components
       analysis", Ann. Statist. 29(2), 2001.

    Examples
    --------
    >>> from htdyn.analysis.mplaw import tw_scale
    >>> round(tw_scale((800, 200)), 4)
    0.0251
    """
    N, M, _ = aspect(shape)
    return sigma2 * tw1(N, M)


def entry_variance(sigma2: float, shape: tuple[int, int], *, normalized: bool) -> float:
    """Per-entry variance s^2 of W from the MP scale: ``sigma2`` if the eigenvalues were
    1/N-normalised, ``sigma2 / N`` if they were the raw eigenvalues of W^T W.

    Parameters
    ----------
    sigma2 : float
        Scale (mean eigenvalue) of the MP law, e.g. ``fit_bulk(...).sigma2``.
    shape : (int, int)
        Shape of W (``N = max(shape)``).
    normalized : bool
        Whether the eigenvalues were those of ``W^T W / N`` (True) or of ``W^T W`` (False).

    Returns
    -------
    float
        ``s^2``.

    References
    ----------
    .. [1] V. A. Marchenko & L. A. Pastur, "Distribution of eigenvalues for some sets of random
       matrices", Math. USSR-Sbornik 1(4), 1967.
    .. [2] C. H. Martin & M. W. Mahoney, "Implicit self-regularization in deep neural networks",
       JMLR 22(165), 2021, Sec. 3 (the two scalings of the module docstring of
       :mod:`htdyn.analysis.mp`).

    Examples
    --------
    The raw eigenvalues of an 800 x 200 matrix of N(0, 0.01) entries have mean ``N s^2 = 8``:

    >>> from htdyn.analysis.mplaw import entry_variance
    >>> entry_variance(8.0, (800, 200), normalized=False), entry_variance(0.01, (800, 200), normalized=True)
    (0.01, 0.01)
    """
    N, _, _ = aspect(shape)
    return float(sigma2) if normalized else float(sigma2) / N

# --------------------------------------------------------------------------- the deflated bulk


@dataclass(frozen=True)
class BulkLaw:
    """MP law of the noise deflated by r outliers: an (N - r) x (M - r) noise matrix."""

    sigma2_b: float  # its mean eigenvalue, sigma2 (N - r) / N
    q_b: float
    lam_minus: float
    lam_plus: float
    tw: float
    threshold: float


def tw1(N: float, M: float) -> float:
    """Johnstone's Tracy-Widom scale of the edge of MP(N/M, 1): N^(-2/3) (1 + sqrt g)(1 + 1/sqrt g)^(1/3), g = M/N."""
    g = M / N
    return N ** (-2.0 / 3.0) * (1.0 + math.sqrt(g)) * (1.0 + 1.0 / math.sqrt(g)) ** (1.0 / 3.0)


def bulk_law(N: int, M: int, sigma2: float, r: float, tw_scales: float) -> BulkLaw:
    """The MP law of an (N - r) x (M - r) noise matrix (mean eigenvalue sigma2 (N - r)/N) and its threshold."""
    Nb, Mb = N - r, M - r
    s2b = sigma2 * Nb / N
    qb = Nb / Mb
    lo, hi = mp_edges(qb, s2b)
    tw = s2b * tw1(Nb, Mb)
    return BulkLaw(s2b, qb, lo, hi, tw, hi + tw_scales * tw)


def deflation(n_out: int, n: int, M: int) -> float:
    """Outliers per matrix, r = n_out M / n (n may pool several spectra), at most M - 1."""
    # outliers per matrix (n may pool several spectra of M eigenvalues); keep >= 1 bulk direction
    return min(n_out * M / n, M - 1.0)


def n_below(xp: Any, ev: Any, thr: float) -> int:
    """Number of values of the sorted ``ev`` that are ``<= thr``."""
    return int(xp.searchsorted(ev, xp.asarray(thr), side="right"))


def ks_sorted(xp: Any, x: Any, Q: float, sigma2: float) -> float:
    """KS distance between a sorted sample x and MP(Q, sigma2)."""
    n = int(x.shape[0])
    if n == 0:
        return float("nan")
    F = mp_cdf(x, Q, sigma2)
    i = xp.arange(1, n + 1, dtype=xp.float64)
    return float(xp.maximum(xp.max(i / n - F), xp.max(F - (i - 1) / n)))


def bulk_split(xp: Any, ev: Any, shape: tuple[int, int], sigma2: float, tw_scales: float) -> tuple[int, float, BulkLaw]:
    """Bulk/outlier split of sorted ``ev`` at a given sigma2: ``(n_bulk, r, law)``.

    The least fixed point of ``n_out = #{lambda > threshold(deflated by n_out)}``, reached
    from n_out = 0 (see :func:`htdyn.analysis.mp.fit_bulk`).
    """
    N, M, _ = aspect(shape)
    n = int(ev.shape[0])
    n_out, r = 0, 0.0
    law = bulk_law(N, M, sigma2, r, tw_scales)
    for _ in range(n + 1):
        k = n - n_below(xp, ev, law.threshold)
        if k <= n_out:
            break
        n_out, r = k, deflation(k, n, M)
        law = bulk_law(N, M, sigma2, r, tw_scales)
    return n - n_out, r, law
