"""Fitting the Marchenko-Pastur bulk of a spectrum: :func:`fit_bulk` and its result :class:`MPFit`.

The conventions (shape, aspect ratio ``Q``, the scale ``sigma2``) are those of
:mod:`htdyn.analysis.mp`, which re-exports everything here.  The spike counts of
:mod:`htdyn.analysis.spikes` fit the bulk with this module when no scale is given.

References
----------
Marchenko & Pastur (1967), Math. USSR-Sbornik 1:457.
Johnstone (2001), Ann. Statist. 29:295 (Tracy-Widom law of the largest eigenvalue).
Martin & Mahoney (2019, 2021), arXiv 1901.08276; JMLR 22(165) (MP fits).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from .linalg import check_evals
from .mplaw import (
    aspect,
    bulk_law,
    deflation,
    ks_sorted,
    mp_median,
    mp_quantile,
    n_below,
)

__all__ = ["FIT_METHODS", "MPFit", "fit_bulk"]

FIT_METHODS = ("quantile", "median", "edge", "mean")


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

    Examples
    --------
    >>> import numpy as np
    >>> from htdyn.analysis.esd import esd
    >>> from htdyn.analysis.bulkfit import fit_bulk
    >>> W = np.random.default_rng(0).standard_normal((800, 200)) / np.sqrt(800)
    >>> ev = esd(W)
    >>> fit = fit_bulk(ev, W.shape)
    >>> fit.n_out, fit.as_dict()["n_bulk"], len(fit.plot(evals=ev).axes)
    (0, 200, 1)
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

    def plot(self, ax: Any = None, *, evals: Any = None) -> Any:
        """The fitted bulk law with its edges and threshold (against the ESD, with ``evals``).

        Draws into ``ax`` (a new Figure if None) and returns the Figure; imports matplotlib only
        now.  See :func:`htdyn.plot.results.plot_mp_fit`.
        """
        from ..plot.results import plot_mp_fit

        return plot_mp_fit(self, ax, evals=evals)


def _qq_levels(n: int, Q: float, trim: float) -> tuple[np.ndarray, np.ndarray]:
    """Central plotting positions (i - 1/2)/n of n sorted values and the MP(Q, 1) quantiles there."""
    p = (np.arange(n) + 0.5) / n
    keep = np.flatnonzero((p >= trim) & (p <= 1.0 - trim))
    if keep.size == 0:
        keep = np.arange(n)
    return keep, mp_quantile(p[keep], Q)


def fit_bulk(evals: Any, shape: tuple[int, int], *, method: str = "quantile", tw_scales: float = 3.0,
             trim: float = 0.05, max_iter: int = 50) -> MPFit:
    """Robust fit of the MP noise scale sigma2 to the bulk of a spectrum.

    Model: the spectrum of ``W = X + S`` with X i.i.d. noise and S of low rank.  Its r
    outliers come from S, and the rest (the bulk) is, to O(1/M), the spectrum of the noise
    deflated to an (N - r) x (M - r) matrix: MP with ``Q_b = (N - r)/(M - r)`` and mean
    eigenvalue ``sigma2 (N - r)/N`` (Benaych-Georges & Nadakuditi 2012).  Ignoring the
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

    References
    ----------
    .. [1] V. A. Marchenko & L. A. Pastur, "Distribution of eigenvalues for some sets of random
       matrices", Math. USSR-Sbornik 1(4), 1967.
    .. [2] I. M. Johnstone, "On the distribution of the largest eigenvalue in principal components
       analysis", Ann. Statist. 29(2), 2001 (the Tracy-Widom margin).
    .. [3] C. H. Martin & M. W. Mahoney, "Implicit self-regularization in deep neural networks",
       JMLR 22(165), 2021 (MP fits of weight ESDs).
    .. [4] F. Benaych-Georges & R. R. Nadakuditi, "The singular values and vectors of low rank
       perturbations of large rectangular random matrices", J. Multivariate Anal. 111, 2012
       (arXiv 1103.2221): the outliers and the bulk they leave.  Deflating the bulk law to an
       ``(N - r) x (M - r)`` noise matrix is htdyn's reading of it.

    Examples
    --------
    An 800 x 200 Gaussian matrix with entry variance 1/800: the mean eigenvalue ``sigma2`` is 1 and
    the edges are ``(1 -/+ 1/2)^2``:

    >>> import numpy as np
    >>> from htdyn.analysis.esd import esd
    >>> from htdyn.analysis.bulkfit import fit_bulk
    >>> W = np.random.default_rng(0).standard_normal((800, 200)) / np.sqrt(800)
    >>> fit = fit_bulk(esd(W), W.shape)
    >>> round(fit.sigma2, 2), fit.Q
    (1.0, 4.0)
    >>> bool(abs(fit.lambda_minus - 0.25) < 0.02 and abs(fit.lambda_plus - 2.25) < 0.02)
    True
    """
    if method not in FIT_METHODS:
        raise ValueError(f"method must be one of {FIT_METHODS}, got {method!r}")
    xp, ev = check_evals(evals, "mp", layout="pooled")
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
        law = bulk_law(N, M, sigma2, r, tw_scales)
    else:
        n_bulk = n
        sigma2 = scale(n, Q)
        law = bulk_law(N, M, sigma2, r, tw_scales)
        for _ in range(max_iter):
            k = max(min(n_below(xp, ev, law.threshold), n_bulk), 1)
            if k == n_bulk:
                break
            n_bulk, r = k, deflation(n - k, n, M)
            sigma2 = scale(k, (N - r) / (M - r)) * N / (N - r)
            if not sigma2 > 0:  # most of the bulk is exactly zero (rank collapse)
                sigma2 = float(xp.mean(ev))
            law = bulk_law(N, M, sigma2, r, tw_scales)
        if method == "edge":
            sigma2 = float(ev[n_bulk - 1]) / (1.0 + 1.0 / math.sqrt(law.q_b)) ** 2 * N / (N - r)
            law = bulk_law(N, M, sigma2, r, tw_scales)
    bulk = ev[ev <= law.threshold]
    return MPFit(sigma2=float(sigma2), lambda_minus=law.lam_minus, lambda_plus=law.lam_plus, Q=Q,
                 ks=ks_sorted(xp, bulk, law.q_b, law.sigma2_b), method=method, n_bulk=int(bulk.shape[0]),
                 n=n, threshold=law.threshold, tw=law.tw, r=r, q_bulk=law.q_b)
