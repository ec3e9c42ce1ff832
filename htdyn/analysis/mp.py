"""Marchenko-Pastur bulk, Tracy-Widom edge, spike counting and rank-one spike predictions.

Conventions
-----------
A weight matrix W has shape ``shape = (h, d)``; ``N = max(h, d)``, ``M = min(h, d)`` and the
aspect ratio is ``Q = N / M >= 1`` (Martin & Mahoney's convention).  The spectrum is the M
eigenvalues of the smaller Gram matrix (W^T W or W W^T), as :func:`htdyn.analysis.esd.esd`
returns them.

**Scale.**  The MP law is parameterised by ``(Q, sigma2)`` where ``sigma2`` is the *mean
eigenvalue* of the law, in the units of the eigenvalues at hand:

=======================================  ======================  ===============================
eigenvalues of                           sigma2 for N(0, s^2) W  bulk edges lambda_-/+
=======================================  ======================  ===============================
(1/N) W^T W  (MM's correlation matrix)   s^2                     s^2 (1 -/+ 1/sqrt(Q))^2
W^T W        (unnormalised, s_i(W)^2)    N s^2                   s^2 (sqrt(N) -/+ sqrt(M))^2
=======================================  ======================  ===============================

Both rows are the same formula ``lambda_-/+ = sigma2 (1 -/+ 1/sqrt(Q))^2``; the fitted
``sigma2`` of :func:`fit_bulk` is therefore ``s^2`` on normalised and ``N s^2`` on raw
eigenvalues, and everything else here (edges, Tracy-Widom scale, spike threshold, KS
distance, soft rank) is scale-equivariant.  Only :func:`entry_variance` converts back.

References
----------
Marchenko & Pastur (1967), Math. USSR-Sbornik 1:457.
Johnstone (2001), Ann. Statist. 29:295 (Tracy-Widom law of the largest eigenvalue).
Baik, Ben Arous & Peche (2005), Ann. Probab. 33:1643 (BBP transition).
Benaych-Georges & Nadakuditi (2012), J. Multivariate Anal. 111:120 (rectangular low-rank
perturbations; arXiv 1103.2221, 2011).
Martin & Mahoney (2019, 2021), arXiv 1901.08276; JMLR 22(165) (MP fits and soft rank).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from ..xp import analysis_namespace
from .linalg import check_evals

__all__ = [
    "MPFit",
    "SpikeCount",
    "aspect",
    "mp_edges",
    "mp_density",
    "mp_cdf",
    "mp_quantile",
    "mp_median",
    "tw_scale",
    "entry_variance",
    "fit_bulk",
    "count_spikes",
    "ww_threshold",
    "mp_ks",
    "mp_soft_rank",
    "bgn_threshold",
    "bgn_outlier",
    "bgn_overlaps",
    "TW1_MEAN",
    "TW1_SD",
]

#: mean and standard deviation of the GOE Tracy-Widom law TW1 (Tracy & Widom 1996;
#: variance 1.607781034581)
TW1_MEAN = -1.2065335745820
TW1_SD = 1.2679830577
FIT_METHODS = ("quantile", "median", "edge", "mean")
SPIKE_RULES = ("tw", "ww")


# --------------------------------------------------------------------------- shape helpers


def aspect(shape: tuple[int, int]) -> tuple[int, int, float]:
    """``(N, M, Q)`` of a matrix shape: N = max, M = min, Q = N / M >= 1."""
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
    (the atom, Q < 1) map to 0.
    Host (numpy) computation; returns a numpy array (or a 0-d array for a scalar p).

    Method: the CDF on a grid of 513 points, uniform in the angle ``phi`` of
    :func:`mp_cdf` (dense near both edges, where the density vanishes), brackets every
    level; Newton steps on ``F(t) - p`` (derivative: :func:`mp_density`) refine it, with a
    bisection step whenever Newton would leave the bracket, until no quantile moves by more
    than a few ulp.  Typically 4-6 evaluations of the CDF where plain bisection needs 60
    (tested against an 80-step bisection).
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
    """Median of the MP law (``sigma2 * mp_quantile(0.5, Q)``)."""
    return float(mp_quantile(0.5, Q, sigma2))


def tw_scale(shape: tuple[int, int], sigma2: float = 1.0) -> float:
    """Johnstone's Tracy-Widom scale of the largest eigenvalue, in sigma2 units.

    For W with i.i.d. N(0, s^2) entries, ``(lambda_max - lambda_+) / tw_scale -> TW1``
    (mean -1.21, sd 1.27) with (Johnstone 2001, leading order; gamma = M/N)

        tw_scale = sigma2 * N^(-2/3) * (1 + sqrt(gamma)) * (1 + 1/sqrt(gamma))^(1/3).

    For raw eigenvalues (sigma2 = N s^2) this is Johnstone's
    ``s^2 (sqrt(N) + sqrt(M)) (1/sqrt(N) + 1/sqrt(M))^(1/3)``.
    """
    N, M, _ = aspect(shape)
    return sigma2 * _tw1(N, M)


def entry_variance(sigma2: float, shape: tuple[int, int], *, normalized: bool) -> float:
    """Per-entry variance s^2 of W from the MP scale: ``sigma2`` if the eigenvalues were
    1/N-normalised, ``sigma2 / N`` if they were the raw eigenvalues of W^T W."""
    N, _, _ = aspect(shape)
    return float(sigma2) if normalized else float(sigma2) / N


# --------------------------------------------------------------------------- fitting


@dataclass(frozen=True)
class MPFit:
    """Result of :func:`fit_bulk`.

    Attributes
    ----------
    sigma2 : fitted noise scale in full-matrix units: the mean eigenvalue of MP(Q, sigma2),
        i.e. ``s^2`` (normalised eigenvalues) or ``N s^2`` (raw) for N(0, s^2) noise
    lambda_minus, lambda_plus : edges of the bulk law (deflated, see ``r``); for r = 0 they
        are ``sigma2 (1 -/+ 1/sqrt(Q))^2``
    Q : aspect ratio N / M of the matrix
    ks : KS distance between the bulk eigenvalues (those ``<= threshold``) and the bulk law
    method : scale estimator (``"quantile"``, ``"median"``, ``"edge"`` or ``"mean"``)
    n_bulk : number of eigenvalues kept as bulk
    n : number of eigenvalues
    threshold : outlier threshold ``lambda_plus + tw_scales * tw``
    tw : Tracy-Widom scale of the bulk law's edge
    r : deflation rank, the number of outliers per matrix (``(n - n_bulk) M / n``)
    q_bulk : aspect ratio of the deflated bulk law, ``(N - r) / (M - r)``
    """

    sigma2: float
    lambda_minus: float
    lambda_plus: float
    Q: float
    ks: float
    method: str
    n_bulk: int
    n: int = 0
    threshold: float = float("nan")
    tw: float = float("nan")
    r: float = 0.0
    q_bulk: float = float("nan")

    @property
    def n_out(self) -> int:
        """Number of eigenvalues above ``threshold``."""
        return self.n - self.n_bulk

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class _BulkLaw:
    """MP law of the noise deflated by r outliers: an (N - r) x (M - r) noise matrix."""

    sigma2_b: float  # its mean eigenvalue, sigma2 (N - r) / N
    q_b: float
    lam_minus: float
    lam_plus: float
    tw: float
    threshold: float


def _tw1(N: float, M: float) -> float:
    g = M / N
    return N ** (-2.0 / 3.0) * (1.0 + math.sqrt(g)) * (1.0 + 1.0 / math.sqrt(g)) ** (1.0 / 3.0)


def _bulk_law(N: int, M: int, sigma2: float, r: float, tw_scales: float) -> _BulkLaw:
    Nb, Mb = N - r, M - r
    s2b = sigma2 * Nb / N
    qb = Nb / Mb
    lo, hi = mp_edges(qb, s2b)
    tw = s2b * _tw1(Nb, Mb)
    return _BulkLaw(s2b, qb, lo, hi, tw, hi + tw_scales * tw)


def _deflation(n_out: int, n: int, M: int) -> float:
    # outliers per matrix (n may pool several spectra of M eigenvalues); keep >= 1 bulk direction
    return min(n_out * M / n, M - 1.0)


def _sorted_evals(evals: Any) -> tuple[Any, Any]:
    """Pooled spectra, validated by :func:`htdyn.analysis.linalg.check_evals`."""
    return check_evals(evals, "mp", layout="pooled")


def _n_below(xp: Any, ev: Any, thr: float) -> int:
    return int(xp.searchsorted(ev, xp.asarray(thr), side="right"))


def _ks_sorted(xp: Any, x: Any, Q: float, sigma2: float) -> float:
    """KS distance between a sorted sample x and MP(Q, sigma2)."""
    n = int(x.shape[0])
    if n == 0:
        return float("nan")
    F = mp_cdf(x, Q, sigma2)
    i = xp.arange(1, n + 1, dtype=xp.float64)
    return float(xp.maximum(xp.max(i / n - F), xp.max(F - (i - 1) / n)))


def _qq_levels(n: int, Q: float, trim: float) -> tuple[np.ndarray, np.ndarray]:
    """Central plotting positions (i - 1/2)/n of n sorted values and the MP(Q, 1) quantiles there."""
    p = (np.arange(n) + 0.5) / n
    keep = np.flatnonzero((p >= trim) & (p <= 1.0 - trim))
    if keep.size == 0:
        keep = np.arange(n)
    return keep, mp_quantile(p[keep], Q)


def _split(xp: Any, ev: Any, shape: tuple[int, int], sigma2: float, tw_scales: float) -> tuple[int, float, _BulkLaw]:
    """Bulk/outlier split at a given sigma2: the least fixed point of
    ``n_out = #{lambda > threshold(deflated by n_out)}``, reached from n_out = 0."""
    N, M, _ = aspect(shape)
    n = int(ev.shape[0])
    n_out, r = 0, 0.0
    law = _bulk_law(N, M, sigma2, r, tw_scales)
    for _ in range(n + 1):
        k = n - _n_below(xp, ev, law.threshold)
        if k <= n_out:
            break
        n_out, r = k, _deflation(k, n, M)
        law = _bulk_law(N, M, sigma2, r, tw_scales)
    return n - n_out, r, law


def fit_bulk(evals: Any, shape: tuple[int, int], *, method: str = "quantile", tw_scales: float = 3.0,
             trim: float = 0.05, max_iter: int = 50) -> MPFit:
    """Robust fit of the MP noise scale sigma2 to the bulk of a spectrum.

    Model: the spectrum of ``W = X + S`` with X i.i.d. noise and S of low rank.  Its r
    outliers come from S, and the rest (the bulk) is, to O(1/M), the spectrum of the noise
    deflated to an (N - r) x (M - r) matrix: MP with ``Q_b = (N - r)/(M - r)`` and mean
    eigenvalue ``sigma2 (N - r)/N`` (Benaych-Georges & Nadakuditi 2011).  Ignoring the
    deflation would bias sigma2 low by ~r/N (1.3% for 10 spikes at 800 x 400, more than the
    fit's noise).  All methods but ``"mean"`` alternate two steps until the bulk stops
    shrinking (Martin & Mahoney's bulk/spike split, with a robust scale):

    1. bulk = the eigenvalues ``<= lambda_+ + tw_scales * tw`` of the deflated law
       (all eigenvalues at the start, r = 0);
    2. r = number of outliers; sigma2 from the bulk alone, against MP(Q_b).

    Outliers never enter the estimate, and interlacing (Weyl) keeps the bulk eigenvalues
    within r positions of the noise's own, so r spikes move sigma2 by O(r/M) fluctuations
    whatever their size.  The bulk only shrinks, so the loop terminates.

    Methods (the scale estimate of step 2)
    --------------------------------------
    ``"quantile"`` (default)
        Quantile matching by least squares: with the n_b sorted bulk eigenvalues
        ``lambda_(i)`` at plotting positions ``p_i = (i - 1/2)/n_b`` and ``q_i`` the
        MP(Q_b, 1) quantiles there, the slope of the QQ line through 0,
        ``sigma2_b = sum_i lambda_(i) q_i / sum_i q_i^2``, over the central levels
        ``trim <= p_i <= 1 - trim`` (the top of the bulk, where eigenmass bleeds out, is
        left out).  Half the standard deviation of the median: ~0.2% at 1000 x 500.
    ``"median"``
        ``sigma2_b = median(bulk) / median(MP(Q_b, 1))`` (a single quantile).
    ``"edge"``
        Martin & Mahoney's ``calc_sigma``: the bulk from the ``"quantile"`` fit, then
        ``sigma2_b = max(bulk) / (1 + 1/sqrt(Q_b))^2``.  Biased low by ~1.2-1.5
        Tracy-Widom scales (lambda_max sits below lambda_+ on average); for parity.
    ``"mean"``
        ``sigma2 = mean(evals)`` (trace estimator, unbiased for pure noise; WeightWatcher's
        rescaling), no deflation.  NOT robust: spikes add their whole mass.

    In all cases ``sigma2 = sigma2_b N / (N - r)``.

    Parameters
    ----------
    evals : eigenvalues (numpy, CuPy or torch; any order; any scaling, see the module
        docstring; may pool several spectra of the same shape)
    shape : shape of the matrix W they come from (for N, M and Q)
    method : see above
    tw_scales : outlier margin in Tracy-Widom scales (as :func:`count_spikes`)
    trim : fraction of levels left out at each end by ``"quantile"``
    max_iter : cap on the iterations

    Returns
    -------
    MPFit
    """
    if method not in FIT_METHODS:
        raise ValueError(f"method must be one of {FIT_METHODS}, got {method!r}")
    xp, ev = _sorted_evals(evals)
    N, M, Q = aspect(shape)
    n = int(ev.shape[0])
    if float(ev[-1]) <= 0:
        raise ValueError("all eigenvalues are zero: no MP bulk")

    def scale(k: int, qb: float) -> float:  # sigma2_b from the k smallest eigenvalues
        if method == "median":
            return float(xp.median(ev[:k])) / mp_median(qb)
        keep, q = _qq_levels(k, qb, trim)
        return float(xp.sum(ev[:k][xp.asarray(keep)] * xp.asarray(q))) / float(np.dot(q, q))

    r = 0.0
    if method == "mean":
        sigma2 = float(xp.mean(ev))
        law = _bulk_law(N, M, sigma2, r, tw_scales)
    else:
        n_bulk = n
        sigma2 = scale(n, Q)
        law = _bulk_law(N, M, sigma2, r, tw_scales)
        for _ in range(max_iter):
            k = max(min(_n_below(xp, ev, law.threshold), n_bulk), 1)
            if k == n_bulk:
                break
            n_bulk, r = k, _deflation(n - k, n, M)
            sigma2 = scale(k, (N - r) / (M - r)) * N / (N - r)
            if not sigma2 > 0:  # most of the bulk is exactly zero (rank collapse)
                sigma2 = float(xp.mean(ev))
            law = _bulk_law(N, M, sigma2, r, tw_scales)
        if method == "edge":
            sigma2 = float(ev[n_bulk - 1]) / (1.0 + 1.0 / math.sqrt(law.q_b)) ** 2 * N / (N - r)
            law = _bulk_law(N, M, sigma2, r, tw_scales)
    bulk = ev[ev <= law.threshold]
    return MPFit(sigma2=float(sigma2), lambda_minus=law.lam_minus, lambda_plus=law.lam_plus, Q=Q,
                 ks=_ks_sorted(xp, bulk, law.q_b, law.sigma2_b), method=method, n_bulk=int(bulk.shape[0]),
                 n=n, threshold=law.threshold, tw=law.tw, r=r, q_bulk=law.q_b)


# --------------------------------------------------------------------------- spikes


@dataclass(frozen=True)
class SpikeCount:
    """Result of :func:`count_spikes` (``int(result)`` is the count).

    Attributes
    ----------
    count : number of eigenvalues above ``threshold``
    threshold : the spike threshold, in the units of the eigenvalues
    lambda_plus : bulk edge at the sigma2 used (deflated by the spikes, rule ``"tw"``)
    sigma2 : MP scale used (given or fitted)
    margin : ``threshold - lambda_plus``
    rule : ``"tw"`` or ``"ww"``
    """

    count: int
    threshold: float
    lambda_plus: float
    sigma2: float
    margin: float
    rule: str

    def __int__(self) -> int:
        return self.count

    def __index__(self) -> int:
        return self.count


def ww_threshold(shape: tuple[int, int], sigma2: float, mean_eval: float) -> float:
    """WeightWatcher's spike threshold (``mp_fit``), in the units of the eigenvalues.

    In units where the mean eigenvalue is 1 (``lt = lambda / mean_eval``), with
    ``lt_+ = (sigma2 / mean_eval)(1 + 1/sqrt(Q))^2``: ``TW = Q^(-1/2) lt_+^(2/3) M^(-2/3)``
    and threshold ``lt_+ + sqrt(TW)``; returned times ``mean_eval``.
    """
    N, M, Q = aspect(shape)
    if not mean_eval > 0:
        raise ValueError("rule='ww' needs a positive mean eigenvalue")
    lp = mp_edges(Q, sigma2)[1] / mean_eval
    tw = Q**-0.5 * lp ** (2.0 / 3.0) * M ** (-2.0 / 3.0)
    return (lp + math.sqrt(tw)) * mean_eval


def count_spikes(evals: Any, shape: tuple[int, int], *, sigma2: float | None = None, tw_scales: float = 3.0,
                 rule: str = "tw") -> SpikeCount:
    """Number of eigenvalues above the MP bulk edge plus a Tracy-Widom margin.

    Rules
    -----
    ``"tw"`` (default)
        ``threshold = lambda_+ + tw_scales * tw``, with Johnstone's (2001) scale
        (:func:`tw_scale`) and the edge of the noise deflated by the r spikes themselves
        (r = the count, a fixed point found from r = 0; see :func:`fit_bulk`; for r = 0 this
        is ``sigma2 (1 + 1/sqrt(Q))^2 + tw_scales * tw_scale(shape, sigma2)``).  For pure
        Gaussian noise the largest eigenvalue exceeds ``lambda_+ + 3 tw`` with probability
        P(TW1 > 3) ~ 0.3% (less at finite size, where the mean of the edge statistic sits
        below -1.21); the tests check <= 1 false spike in 100 seeds.  A rank-one spike of
        strength ``theta`` is seen once its outlier (:func:`bgn_outlier`) clears the margin,
        i.e. a little above the BGN threshold at finite size.
    ``"ww"``
        WeightWatcher's ``mp_fit`` rule (:func:`ww_threshold`): ``lt_+ + sqrt(TW)`` with
        ``TW = Q^(-1/2) lt_+^(2/3) M^(-2/3)`` in units where the mean eigenvalue is 1.  Several
        times wider than the true TW scale, and not scale-equivariant (hence the rescaling).
        ``tw_scales`` is ignored; no deflation.  WeightWatcher fits sigma by a KDE
        least-squares fit; here sigma2 comes from :func:`fit_bulk` unless given.

    Parameters
    ----------
    evals : eigenvalues (numpy, CuPy or torch)
    shape : shape of W
    sigma2 : MP scale in the units of ``evals`` (:attr:`MPFit.sigma2`); fitted with
        :func:`fit_bulk` if None
    tw_scales : margin in Tracy-Widom scales (rule ``"tw"``)
    rule : ``"tw"`` or ``"ww"``
    """
    if rule not in SPIKE_RULES:
        raise ValueError(f"rule must be one of {SPIKE_RULES}, got {rule!r}")
    xp, ev = _sorted_evals(evals)
    n = int(ev.shape[0])
    if sigma2 is None:
        sigma2 = fit_bulk(ev, shape, tw_scales=tw_scales).sigma2
    if rule == "ww":
        thr = ww_threshold(shape, sigma2, float(xp.mean(ev)))
        lam_plus = mp_edges(aspect(shape)[2], sigma2)[1]
        count = n - _n_below(xp, ev, thr)
    else:
        n_bulk, _, law = _split(xp, ev, shape, sigma2, tw_scales)
        thr, lam_plus, count = law.threshold, law.lam_plus, n - n_bulk
    return SpikeCount(count=int(count), threshold=float(thr), lambda_plus=float(lam_plus), sigma2=float(sigma2),
                      margin=float(thr - lam_plus), rule=rule)


def mp_ks(evals: Any, shape: tuple[int, int], sigma2: float, *, tw_scales: float | None = 3.0) -> float:
    """KS distance ``sup_x |F_n(x) - F(x)|`` between the bulk eigenvalues and the MP bulk law.

    The bulk and its law are those of :func:`count_spikes` (eigenvalues ``<= threshold``,
    law deflated by the outliers); ``tw_scales=None`` compares all eigenvalues with
    MP(Q, sigma2).  For a Gaussian matrix the distance is much smaller than the i.i.d.
    ~1/sqrt(M) because eigenvalues are rigid: ~0.004 at M = 1000.
    """
    xp, ev = _sorted_evals(evals)
    _, _, Q = aspect(shape)
    if tw_scales is None:
        return _ks_sorted(xp, ev, Q, sigma2)
    n_bulk, _, law = _split(xp, ev, shape, sigma2, tw_scales)
    return _ks_sorted(xp, ev[:n_bulk], law.q_b, law.sigma2_b)


def mp_soft_rank(evals: Any, shape: tuple[int, int], *, sigma2: float | None = None,
                 tw_scales: float = 3.0) -> float:
    """Martin & Mahoney's MP soft rank ``R_mp = lambda_+ / lambda_max``.

    ``lambda_+`` is the bulk edge of :func:`fit_bulk` (or of the split at the given sigma2).
    About 1 for a random-like spectrum (slightly above: lambda_max sits ~1.2 TW scales below
    lambda_+), and it falls as spikes grow.
    """
    xp, ev = _sorted_evals(evals)
    if sigma2 is None:
        lam_plus = fit_bulk(ev, shape, tw_scales=tw_scales).lambda_plus
    else:
        lam_plus = _split(xp, ev, shape, sigma2, tw_scales)[2].lam_plus
    return lam_plus / float(ev[-1])


# --------------------------------------------------------------------------- BGN rank-one spike


def _bgn_normalise(theta: Any, shape: tuple[int, int], s: float) -> tuple[np.ndarray, float, int]:
    N, M, _ = aspect(shape)
    if not s > 0:
        raise ValueError(f"s must be > 0, got {s}")
    tb = np.asarray(theta, dtype=np.float64) / (s * math.sqrt(N))
    return tb, M / N, N


def bgn_threshold(shape: tuple[int, int], s: float = 1.0) -> float:
    """Critical strength of an additive rank-one spike (Benaych-Georges & Nadakuditi 2011).

    Model: ``W = X + theta u v^T`` with X of ``shape`` having i.i.d. N(0, s^2) entries and
    unit vectors u (rows), v (columns); ``theta = ||theta u v^T||_2`` in W's units.  In
    BGN's normalisation ``theta_bar = theta / (s sqrt(N))`` and ``c = M/N <= 1`` an outlier
    separates from the bulk iff ``theta_bar > c^(1/4)``, i.e.

        theta_c = s * sqrt(N) * c^(1/4) = s * (N M)^(1/4).

    In MM's units this is ``spike_min(Q) = Q^(-1/4)``; it is the BBP threshold
    (Baik, Ben Arous & Peche 2005) of the corresponding spiked covariance.
    """
    N, M, _ = aspect(shape)
    return s * (N * M) ** 0.25


def bgn_outlier(theta: Any, shape: tuple[int, int], s: float = 1.0, *, squared: bool = False) -> Any:
    """Predicted top singular value of ``W = X + theta u v^T`` (see :func:`bgn_threshold`).

    With ``theta_bar = theta / (s sqrt(N))`` and ``c = M / N``:

        s_1 -> s sqrt(N) * sqrt((1 + theta_bar^2)(c + theta_bar^2)) / theta_bar   if theta_bar > c^(1/4)
        s_1 -> s (sqrt(N) + sqrt(M))                                            otherwise (bulk edge).

    ``squared=True`` returns ``s_1^2``, the top eigenvalue of the raw W^T W (divide by N for
    the 1/N-normalised spectrum: ``s^2 (c + theta_bar^2)(1 + 1/theta_bar^2)``, MM's
    ``spike_lmax``).  Vectorised over ``theta``.
    """
    tb, c, N = _bgn_normalise(theta, shape, s)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.sqrt((1.0 + tb**2) * (c + tb**2)) / tb
    out = np.where(tb > c**0.25, out, 1.0 + math.sqrt(c)) * s * math.sqrt(N)
    out = out**2 if squared else out
    return float(out) if out.ndim == 0 else out


def bgn_overlaps(theta: Any, shape: tuple[int, int], s: float = 1.0) -> tuple[Any, Any]:
    """Predicted squared overlaps ``(|<u_1, u>|^2, |<v_1, v>|^2)`` of the top singular vectors.

    u lives in the row space (dimension ``shape[0]``), v in the column space
    (``shape[1]``); u_1, v_1 are the top left/right singular vectors of
    ``W = X + theta u v^T``.  Benaych-Georges & Nadakuditi (2012, Gaussian example), with
    ``theta_bar = theta / (s sqrt(N))``, ``c = M / N``, above threshold:

        vector in the smaller dimension M:  1 - c (1 + theta_bar^2) / (theta_bar^2 (theta_bar^2 + c))
        vector in the larger dimension N:   1 - (c + theta_bar^2) / (theta_bar^2 (theta_bar^2 + 1))

    and 0 below threshold (the top vectors are then asymptotically orthogonal to u, v).
    For a square matrix (c = 1) the two coincide.  Vectorised over ``theta``.
    """
    tb, c, _ = _bgn_normalise(theta, shape, s)
    t2 = tb**2
    above = tb > c**0.25
    with np.errstate(divide="ignore", invalid="ignore"):
        small = np.where(above, 1.0 - c * (1.0 + t2) / (t2 * (t2 + c)), 0.0)
        large = np.where(above, 1.0 - (c + t2) / (t2 * (t2 + 1.0)), 0.0)
    rows_small = shape[0] <= shape[1]
    left, right = (small, large) if rows_small else (large, small)
    if left.ndim == 0:
        return float(left), float(right)
    return left, right
