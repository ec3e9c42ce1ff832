"""Spikes of a spectrum: the count above the MP bulk edge and rank-one spike predictions.

Conventions as :mod:`htdyn.analysis.mp` (which re-exports every public name here):
``shape = (h, d)``, ``N = max(h, d)``, ``M = min(h, d)``, ``Q = N / M``, ``sigma2`` the mean
eigenvalue of the MP law in the units of the eigenvalues.

* :func:`count_spikes`: eigenvalues above ``lambda_+ + tw_scales * tw`` of the bulk deflated
  by the spikes (Johnstone 2001), or WeightWatcher's rule; :func:`mp_ks` and
  :func:`mp_soft_rank` measure the bulk against its law.
* :func:`bgn_threshold`, :func:`bgn_outlier`, :func:`bgn_overlaps`: the outlier eigenvalue
  and the singular-vector overlaps of a rank-one perturbation of Gaussian noise
  (Benaych-Georges & Nadakuditi 2012), the BBP transition (Baik, Ben Arous & Peche 2005).

References
----------
Johnstone (2001), Ann. Statist. 29:295.
Baik, Ben Arous & Peche (2005), Ann. Probab. 33:1643.
Benaych-Georges & Nadakuditi (2012), J. Multivariate Anal. 111:120 (arXiv 1103.2221).
Martin & Mahoney (2019, 2021), arXiv 1901.08276; JMLR 22(165) (soft rank, the WW rule).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .bulkfit import fit_bulk
from .linalg import check_evals
from .mplaw import aspect, bulk_split, ks_sorted, mp_edges, n_below

__all__ = ["SpikeCount", "SPIKE_RULES", "count_spikes", "ww_threshold", "mp_ks", "mp_soft_rank",
           "bgn_threshold", "bgn_outlier", "bgn_overlaps", "bgn_strength", "StrengthTail", "strength_tail",
           "STEPHENS_EXP_5PC"]

#: Stephens' (1974) 5% critical value of the modified KS statistic
#: ``(D - 0.2/n)(sqrt(n) + 0.26 + 0.5/sqrt(n))`` for an exponential law with a fitted rate
STEPHENS_EXP_5PC = 1.094

SPIKE_RULES = ("tw", "ww")


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

    Examples
    --------
    >>> import numpy as np
    >>> from htdyn.analysis.spikes import count_spikes
    >>> res = count_spikes(np.r_[np.linspace(0.3, 2.2, 199), 4.5], (800, 200), sigma2=1.0)
    >>> int(res), res.rule, bool(res.lambda_plus < res.threshold < 4.5)
    (1, 'tw', True)
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

    Parameters
    ----------
    shape : (int, int)
        Shape of W.
    sigma2 : float
        MP scale, in the units of the eigenvalues.
    mean_eval : float
        Mean eigenvalue of the spectrum (> 0); WeightWatcher works in units where it is 1.

    Returns
    -------
    float
        The threshold, in the units of the eigenvalues.

    References
    ----------
    .. [1] C. H. Martin & M. W. Mahoney, "Implicit self-regularization in deep neural networks:
       evidence from random matrix theory and implications for learning", JMLR 22(165), 2021 (the TW margin
       ``sqrt(TW)`` above the bulk edge; htdyn follows WeightWatcher's ``RMT_Util`` code for it).

    Examples
    --------
    At Q = 4, M = 200 and unit scale: ``2.25 + sqrt(2.25^(2/3) 200^(-2/3) / 2)``:

    >>> import math
    >>> from htdyn.analysis.spikes import ww_threshold
    >>> t = ww_threshold((800, 200), 1.0, 1.0)
    >>> round(t, 4), math.isclose(t, 2.25 + math.sqrt(2.25 ** (2 / 3) * 200 ** (-2 / 3) / 2))
    (2.4084, True)
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

    Returns
    -------
    SpikeCount
        ``count``, the ``threshold`` used, the bulk edge ``lambda_plus``, ``sigma2`` and the rule.

    References
    ----------
    .. [1] F. Benaych-Georges & R. R. Nadakuditi, "The singular values and vectors of low rank
       perturbations of large rectangular random matrices", J. Multivariate Anal. 111, 2012
       (arXiv 1103.2221, 2011): the deflation of the bulk by its outliers.
    .. [2] I. M. Johnstone, "On the distribution of the largest eigenvalue in principal components
       analysis", Ann. Statist. 29(2), 2001.
    .. [3] Kothapalli, Pang, Deng, Liu & Yang, "From Spikes to Heavy Tails: Unveiling the Spectral
       Evolution of Neural Networks", TMLR 2025 (arXiv 2406.04657):
       the spike that one large step plants.

    Examples
    --------
    Pure noise has no spike; a rank-one term of strength 3, above the BGN threshold
    ``(M/N)^(1/4) = 0.71``, gives one:

    >>> import numpy as np
    >>> from htdyn.analysis.esd import esd
    >>> from htdyn.analysis.spikes import count_spikes
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((800, 200)) / np.sqrt(800)
    >>> u, v = rng.standard_normal(800), rng.standard_normal(200)
    >>> W = X + 3 * np.outer(u / np.linalg.norm(u), v / np.linalg.norm(v))
    >>> count_spikes(esd(X), X.shape).count, count_spikes(esd(W), W.shape).count
    (0, 1)
    """
    if rule not in SPIKE_RULES:
        raise ValueError(f"rule must be one of {SPIKE_RULES}, got {rule!r}")
    xp, ev = check_evals(evals, "mp", layout="pooled")
    n = int(ev.shape[0])
    if sigma2 is None:

        sigma2 = fit_bulk(ev, shape, tw_scales=tw_scales).sigma2
    if rule == "ww":
        thr = ww_threshold(shape, sigma2, float(xp.mean(ev)))
        lam_plus = mp_edges(aspect(shape)[2], sigma2)[1]
        count = n - n_below(xp, ev, thr)
    else:
        n_bulk, _, law = bulk_split(xp, ev, shape, sigma2, tw_scales)
        thr, lam_plus, count = law.threshold, law.lam_plus, n - n_bulk
    return SpikeCount(count=int(count), threshold=float(thr), lambda_plus=float(lam_plus), sigma2=float(sigma2),
                      margin=float(thr - lam_plus), rule=rule)


def mp_ks(evals: Any, shape: tuple[int, int], sigma2: float, *, tw_scales: float | None = 3.0) -> float:
    """KS distance ``sup_x |F_n(x) - F(x)|`` between the bulk eigenvalues and the MP bulk law.

    The bulk and its law are those of :func:`count_spikes` (eigenvalues ``<= threshold``,
    law deflated by the outliers); ``tw_scales=None`` compares all eigenvalues with
    MP(Q, sigma2).  For a Gaussian matrix the distance is much smaller than the i.i.d.
    ~1/sqrt(M) because eigenvalues are rigid: ~0.004 at M = 1000.

    Parameters
    ----------
    evals : eigenvalues (numpy, CuPy or torch)
    shape : (int, int)
        Shape of W.
    sigma2 : float
        MP scale in the units of ``evals`` (e.g. :attr:`MPFit.sigma2`).
    tw_scales : float or None
        Margin of the bulk/outlier split in Tracy-Widom scales; None: no split.

    Returns
    -------
    float
        The KS distance, in [0, 1]; NaN for an empty bulk.

    References
    ----------
    .. [1] V. A. Marchenko & L. A. Pastur, "Distribution of eigenvalues for some sets of random
       matrices", Math. USSR-Sbornik 1(4), 1967 (the law, :func:`htdyn.analysis.mplaw.mp_cdf`).
    .. [2] F. Benaych-Georges & R. R. Nadakuditi, J. Multivariate Anal. 111, 2012 (the deflated
       bulk).  Using the KS distance as a goodness-of-fit score of the bulk is htdyn's choice.

    Examples
    --------
    >>> import numpy as np
    >>> from htdyn.analysis.esd import esd
    >>> from htdyn.analysis.spikes import mp_ks
    >>> ev = esd(np.random.default_rng(0).standard_normal((800, 200)) / np.sqrt(800))
    >>> bool(mp_ks(ev, (800, 200), 1.0) < 0.03), bool(mp_ks(ev, (800, 200), 2.0) > 0.3)
    (True, True)
    """
    xp, ev = check_evals(evals, "mp", layout="pooled")
    _, _, Q = aspect(shape)
    if tw_scales is None:
        return ks_sorted(xp, ev, Q, sigma2)
    n_bulk, _, law = bulk_split(xp, ev, shape, sigma2, tw_scales)
    return ks_sorted(xp, ev[:n_bulk], law.q_b, law.sigma2_b)


def mp_soft_rank(evals: Any, shape: tuple[int, int], *, sigma2: float | None = None,
                 tw_scales: float = 3.0) -> float:
    """Martin & Mahoney's MP soft rank ``R_mp = lambda_+ / lambda_max``.

    ``lambda_+`` is the bulk edge of :func:`fit_bulk` (or of the split at the given sigma2).
    About 1 for a random-like spectrum (slightly above: lambda_max sits ~1.2 TW scales below
    lambda_+), and it falls as spikes grow.

    Parameters
    ----------
    evals : eigenvalues (numpy, CuPy or torch)
    shape : (int, int)
        Shape of W.
    sigma2 : float or None
        MP scale in the units of ``evals``; fitted with :func:`fit_bulk` if None.
    tw_scales : float
        Margin of the bulk/outlier split in Tracy-Widom scales.

    Returns
    -------
    float
        ``lambda_+ / lambda_max``.

    References
    ----------
    .. [1] C. H. Martin & M. W. Mahoney, "Implicit self-regularization in deep neural networks",
       JMLR 22(165), 2021.

    Examples
    --------
    A bulk with edge near 2.25 and one eigenvalue at 4.5: ``R_mp = 2.25 / 4.5``:

    >>> import numpy as np
    >>> from htdyn.analysis.spikes import mp_soft_rank
    >>> ev = np.r_[np.linspace(0.3, 2.2, 199), 4.5]
    >>> round(mp_soft_rank(ev, (800, 200), sigma2=1.0), 2)
    0.5
    """
    xp, ev = check_evals(evals, "mp", layout="pooled")
    if sigma2 is None:

        lam_plus = fit_bulk(ev, shape, tw_scales=tw_scales).lambda_plus
    else:
        lam_plus = bulk_split(xp, ev, shape, sigma2, tw_scales)[2].lam_plus
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

    Parameters
    ----------
    shape : (int, int)
        Shape of W (either orientation).
    s : float
        Standard deviation of the noise entries.

    Returns
    -------
    float
        ``theta_c = s (N M)^(1/4)``.

    References
    ----------
    .. [1] F. Benaych-Georges & R. R. Nadakuditi, "The singular values and vectors of low rank
       perturbations of large rectangular random matrices", J. Multivariate Anal. 111, 2012
       (arXiv 1103.2221, 2011), Sec. 3.1, the Gaussian example.

    Examples
    --------
    >>> from htdyn.analysis.spikes import bgn_threshold
    >>> round(bgn_threshold((2000, 500), s=2000 ** -0.5), 4)  # (M / N)^(1/4) = 0.25^(1/4)
    0.7071
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

    Parameters
    ----------
    theta : float or array
        Spike strength(s) in W's units.
    shape : (int, int)
        Shape of W.
    s : float
        Standard deviation of the noise entries.
    squared : bool
        Return ``s_1^2`` instead of ``s_1``.

    Returns
    -------
    float or array
        The predicted top singular value (or its square).

    References
    ----------
    .. [1] F. Benaych-Georges & R. R. Nadakuditi, "The singular values and vectors of low rank
       perturbations of large rectangular random matrices", J. Multivariate Anal. 111, 2012
       (arXiv 1103.2221, 2011), Sec. 3.1, the Gaussian example.

    Examples
    --------
    With ``s = 1/sqrt(N)``, ``c = 1/4`` and ``theta = 3``: ``sqrt((1 + 9)(1/4 + 9)) / 3 = 3.21``;
    below the threshold the prediction is the bulk edge ``1 + sqrt(c) = 1.5``:

    >>> from htdyn.analysis.spikes import bgn_outlier
    >>> round(bgn_outlier(3.0, (2000, 500), s=2000 ** -0.5), 2), round(bgn_outlier(0.5, (2000, 500), s=2000 ** -0.5), 2)
    (3.21, 1.5)

    A sampled 800 x 200 matrix of the same ``c`` puts its top singular value there, to ``O(N^-1/2)``:

    >>> import numpy as np
    >>> from htdyn.analysis.esd import esd
    >>> rng = np.random.default_rng(0)
    >>> u, v = rng.standard_normal(800), rng.standard_normal(200)
    >>> W = rng.standard_normal((800, 200)) / np.sqrt(800) + 3 * np.outer(u / np.linalg.norm(u), v / np.linalg.norm(v))
    >>> bool(abs(np.sqrt(esd(W)[-1]) - bgn_outlier(3.0, W.shape, s=800 ** -0.5)) < 0.1)
    True
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

    Parameters
    ----------
    theta : float or array
        Spike strength(s) in W's units.
    shape : (int, int)
        Shape of W; ``u`` has ``shape[0]`` entries, ``v`` ``shape[1]``.
    s : float
        Standard deviation of the noise entries.

    Returns
    -------
    (float, float) or (array, array)
        ``(|<u_1, u>|^2, |<v_1, v>|^2)``.

    References
    ----------
    .. [1] F. Benaych-Georges & R. R. Nadakuditi, "The singular values and vectors of low rank
       perturbations of large rectangular random matrices", J. Multivariate Anal. 111, 2012
       (arXiv 1103.2221, 2011), Sec. 3.1, the Gaussian example.

    Examples
    --------
    At ``theta_bar = 3``, ``c = 1/4``: ``1 - (c + 9)/(9 * 10) = 0.897`` and ``1 - c (1 + 9)/(9 (9 + c)) = 0.970``:

    >>> from htdyn.analysis.spikes import bgn_overlaps
    >>> [round(o, 3) for o in bgn_overlaps(3.0, (2000, 500), s=2000 ** -0.5)]
    [0.897, 0.97]

    The top singular vectors of a sampled 800 x 200 matrix of the same ``c`` have these overlaps:

    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> u, v = rng.standard_normal(800), rng.standard_normal(200)
    >>> u, v = u / np.linalg.norm(u), v / np.linalg.norm(v)
    >>> W = rng.standard_normal((800, 200)) / np.sqrt(800) + 3 * np.outer(u, v)
    >>> lam, V = np.linalg.eigh(W.T @ W)
    >>> v1 = V[:, -1]
    >>> u1 = W @ v1 / np.sqrt(lam[-1])
    >>> pred = bgn_overlaps(3.0, W.shape, s=800 ** -0.5)
    >>> bool(abs((u1 @ u) ** 2 - pred[0]) < 0.02 and abs((v1 @ v) ** 2 - pred[1]) < 0.02)
    True
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


def bgn_strength(lam: Any, shape: tuple[int, int], sigma2: float) -> Any:
    """Normalised strength ``theta_bar`` of the rank-one spike whose BGN outlier is ``lam``.

    The inverse of :func:`bgn_outlier` (``squared=True``): with ``c = M/N`` and
    ``l = lam / sigma2`` (sigma2 the MP mean eigenvalue in the units of ``lam``, so that
    ``l = (1 + theta_bar^2)(c + theta_bar^2) / theta_bar^2``),

        theta_bar^2 = ( (l - 1 - c) + sqrt((l - 1 - c)^2 - 4c) ) / 2,

    the larger root; at or below the edge ``l <= (1 + sqrt c)^2`` it returns the critical
    strength ``c^(1/4)``.  Vectorised.

    Parameters
    ----------
    lam : float or array
        Outlier eigenvalue(s) of ``W^T W`` (raw or normalised, in the units of ``sigma2``).
    shape : (int, int)
        Shape of W.
    sigma2 : float
        MP mean eigenvalue, in the units of ``lam``.

    Returns
    -------
    float or array
        ``theta_bar >= c^(1/4)``.

    References
    ----------
    .. [1] F. Benaych-Georges & R. R. Nadakuditi, "The singular values and vectors of low rank
       perturbations of large rectangular random matrices", J. Multivariate Anal. 111, 2012
       (arXiv 1103.2221, 2011), Sec. 3.1, the Gaussian example.

    Examples
    --------
    The round trip through :func:`bgn_outlier` (``l = 10 * 9.25 / 9``, ``sigma2 = 1``):

    >>> from htdyn.analysis.spikes import bgn_outlier, bgn_strength
    >>> lam = bgn_outlier(3.0, (2000, 500), s=2000 ** -0.5, squared=True)
    >>> round(float(bgn_strength(lam, (2000, 500), 1.0)), 9)
    3.0
    """
    N, M, _ = aspect(shape)
    c = M / N
    b = np.asarray(lam, dtype=np.float64) / sigma2 - 1.0 - c
    x = (b + np.sqrt(np.maximum(b * b - 4.0 * c, 0.0))) / 2.0
    out = np.sqrt(np.maximum(x, math.sqrt(c)))
    return float(out) if out.ndim == 0 else out


@dataclass(frozen=True)
class StrengthTail:
    """Result of :func:`strength_tail`.

    Attributes
    ----------
    n : number of outliers (eigenvalues above the threshold)
    mu : Pareto MLE of the tail index of their spike strengths, ``n / sum ln(theta_k / theta_thr)``
    ks : Stephens' modified KS statistic of the strengths against that Pareto law (5% value
        :data:`STEPHENS_EXP_5PC` = 1.094); NaN below 2 outliers

    Examples
    --------
    >>> import numpy as np
    >>> from htdyn.analysis.spikes import strength_tail
    >>> t = strength_tail(np.linspace(0.5, 3.0, 6), (800, 200), 1.0, 2.2)
    >>> t.n, bool(np.isfinite(t.mu))
    (2, True)
    """

    n: int
    mu: float
    ks: float


def strength_tail(evals: Any, shape: tuple[int, int], sigma2: float, threshold: float) -> StrengthTail:
    """Do the outliers form a power-law tail that starts at the bulk edge?

    Each outlier ``lambda_k > threshold`` is mapped to the strength ``theta_k`` of the rank-one
    spike that BGN would put there (:func:`bgn_strength`); the threshold maps to
    ``theta_thr``.  For a matrix with i.i.d. entries of tail ``P(|w| > x) ~ x^(-mu)``
    (2 < mu < 4) the outliers are made by single large entries (a rank-one perturbation
    ``w_ij e_i e_j^T`` of strength ``|w_ij|``), so ``theta_k / theta_thr`` are the
    exceedances of a Pareto(mu) law over the threshold: a continuum of outliers from the edge
    up.  Planted low-rank spikes well above the edge leave the stretch between the edge and
    themselves empty, and a clump of near-critical spikes has no long tail; both fail the fit.

    Returns the Pareto MLE ``mu = n / sum_k ln(theta_k / theta_thr)`` (the tail index of the
    strengths; the ESD density then falls like ``lambda^-(1 + mu/2)``) and Stephens' (1974)
    modified KS statistic ``(D - 0.2/n)(sqrt(n) + 0.26 + 0.5/sqrt(n))`` of the
    ``ln(theta_k / theta_thr)`` against the fitted exponential law (two-sided ``D``).

    Parameters
    ----------
    evals : eigenvalues (numpy, CuPy or torch)
    shape : (int, int)
        Shape of W.
    sigma2 : float
        MP mean eigenvalue, in the units of ``evals``.
    threshold : float
        Eigenvalues above it are the outliers (e.g. :attr:`SpikeCount.threshold`).

    Returns
    -------
    StrengthTail
        ``n``, ``mu`` and ``ks`` (NaN for ``mu`` and ``ks`` below 2 outliers).

    References
    ----------
    .. [1] F. Benaych-Georges & R. R. Nadakuditi, "The singular values and vectors of low rank
       perturbations of large rectangular random matrices", J. Multivariate Anal. 111, 2012
       (arXiv 1103.2221, 2011), Sec. 3.1: the strength of each outlier.
    .. [2] M. A. Stephens, "EDF statistics for goodness of fit and some comparisons", J. Amer.
       Statist. Assoc. 69(347), 1974 (the modified KS statistic and its 5% point for the
       exponential with a fitted rate).
    .. [3] A. Auffinger, G. Ben Arous & S. Peche, "Poisson convergence for the largest eigenvalues of
       heavy tailed random matrices", Ann. Inst. H. Poincare Probab. Statist. 45(3), 2009 (for
       entries of tail index below 4 the top eigenvalues come from single large entries).  Testing
       the outliers' strengths for a Pareto tail is htdyn's own reading.

    Examples
    --------
    Outliers planted by :func:`bgn_outlier` at the exact quantiles of a Pareto(3) law of strengths
    above ``theta_thr = 1`` (``N s^2 = sigma2 = 1``): the MLE is ``3 n / sum_i -ln(1 - u_i)`` and the
    fit passes Stephens' test:

    >>> import numpy as np
    >>> from htdyn.analysis.spikes import STEPHENS_EXP_5PC, bgn_outlier, strength_tail
    >>> shape, s, n = (2000, 500), 2000 ** -0.5, 40
    >>> u = (np.arange(1, n + 1) - 0.5) / n
    >>> lam = bgn_outlier(np.exp(-np.log(1 - u) / 3), shape, s, squared=True)
    >>> thr = bgn_outlier(1.0, shape, s, squared=True)
    >>> t = strength_tail(np.r_[np.linspace(0.3, 2.2, 460), lam], shape, 1.0, thr)
    >>> t.n, bool(np.isclose(t.mu, 3 * n / np.sum(-np.log(1 - u)))), bool(t.ks < STEPHENS_EXP_5PC)
    (40, True, True)
    """
    _, ev = check_evals(evals, "mp", layout="pooled")
    ev = np.asarray(ev.get() if hasattr(ev, "get") else ev, dtype=np.float64)
    out = np.sort(ev[ev > threshold])
    n = int(out.shape[0])
    if n < 2:
        return StrengthTail(n=n, mu=float("nan"), ks=float("nan"))
    y = np.log(np.asarray(bgn_strength(out, shape, sigma2)) / bgn_strength(threshold, shape, sigma2))
    mu = n / float(np.sum(y)) if np.sum(y) > 0 else float("inf")
    F = 1.0 - np.exp(-mu * y)
    i = np.arange(1, n + 1)
    D = float(max(np.max(i / n - F), np.max(F - (i - 1) / n)))
    return StrengthTail(n=n, mu=float(mu), ks=(D - 0.2 / n) * (math.sqrt(n) + 0.26 + 0.5 / math.sqrt(n)))
