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

from .bulkfit import FIT_METHODS, MPFit, fit_bulk
from .mplaw import (
    TW1_MEAN,
    TW1_SD,
    aspect,
    entry_variance,
    mp_cdf,
    mp_density,
    mp_edges,
    mp_median,
    mp_quantile,
    tw_scale,
)
from .spikes import (
    SPIKE_RULES,
    STEPHENS_EXP_5PC,
    SpikeCount,
    StrengthTail,
    bgn_outlier,
    bgn_overlaps,
    bgn_strength,
    bgn_threshold,
    count_spikes,
    mp_ks,
    mp_soft_rank,
    strength_tail,
    ww_threshold,
)

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
    "bgn_strength",
    "StrengthTail",
    "strength_tail",
    "STEPHENS_EXP_5PC",
    "TW1_MEAN",
    "TW1_SD",
    "FIT_METHODS",
    "SPIKE_RULES",
]
