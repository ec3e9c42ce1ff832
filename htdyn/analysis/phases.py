"""Martin & Mahoney's 5+1 phases of implicit self-regularization, from a weight matrix's ESD.

The phases (Martin & Mahoney 2019, ICML; 2021, JMLR 22(165), Sec. 5), in order of increasing
self-regularization, plus rank collapse:

=================  ===========================================================================
random-like        MP bulk, no eigenvalue beyond the Tracy-Widom edge
bleeding-out       MP bulk, a few eigenvalues just past the edge, none well separated
bulk+spikes        MP bulk plus a few well-separated spikes (low-rank signal)
bulk-decay         the bulk is less MP-like: many eigenvalues past the edge, a continuous tail
                   or a distorted bulk
heavy-tailed       no MP bulk, or an MP bulk whose outliers form a power law from the edge (the
                   moderately heavy-tailed case, i.i.d. entries with tail index 2 < mu < 4)
rank-collapse      a large mass of (numerically) zero eigenvalues
non-finite         not a phase: W (or its spectrum) holds NaN or inf, so there is nothing to
                   classify (a diverged run); last in :data:`PHASES`, so the indices of the
                   others are those of earlier versions
=================  ===========================================================================

The authors' definitions are qualitative; :func:`classify_phase` makes them a documented
decision rule on the MP fit (:func:`htdyn.analysis.mp.fit_bulk`), the spikes and their
distance to the edge, the power-law fit of the tail (:func:`htdyn.analysis.powerlaw.fit_ks`)
the strengths of the outliers (:func:`htdyn.analysis.mp.strength_tail`) and the zero mass.
The power-law exponent alone is never used: a few strong spikes give a "heavy-tailed"
alpha ~ 3 with an MP bulk (tests).  The thresholds (``PhaseRule``) were calibrated on
synthetic generators (Gaussian, weak and strong rank-one spikes, clumps and power laws of
spikes, Pareto and Student-t entries, low-rank products) at M = 200-1000; the confusion
table (benchmarks/phase_confusion.py) and the sizes where the spectrum alone cannot tell a
moderately heavy-tailed matrix from a few spikes are in docs/analysis_mp_phases.md.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from ..xp import analysis_namespace
from . import mp

__all__ = ["PHASES", "NON_FINITE", "CONVENTIONS", "PAPER_HT_ALPHA", "PhaseRule", "PhaseResult", "phase_features",
           "classify_phase", "paper_phase", "zero_cut"]

PHASES = ("random-like", "bleeding-out", "bulk+spikes", "bulk-decay", "heavy-tailed", "rank-collapse", "non-finite")
#: the phase of a spectrum with NaN or inf eigenvalues (a diverged W): its metrics are NaN
NON_FINITE = "non-finite"
#: the labelling conventions :func:`classify_phase` offers
CONVENTIONS = ("martin-mahoney", "paper")
#: htdyn's reading of the paper (Kothapalli et al. 2025), not a quotation: heavy-tailed when PL_Alpha_Hill < 2
#: (an MP bulk gives 2.45 with the paper's own estimator; paper_spec, "Baseline [MEAS]")
PAPER_HT_ALPHA = 2.0


@dataclass(frozen=True)
class PhaseRule:
    """Thresholds of the decision rule (see :func:`classify_phase`).

    Attributes
    ----------
    zero_rtol : None (default): an eigenvalue counts as zero when it is at round-off level,
        ``lambda <= max(h, d) * eps * lambda_max`` with eps that of the eigenvalues' dtype
        (numpy's ``matrix_rank`` tolerance on the squared singular values, the floor of
        :func:`htdyn.analysis.metrics.numerical_rank`); a float: the older cut
        ``lambda <= zero_rtol * mean(lambda)`` (:func:`htdyn.analysis.metrics.zero_fraction`),
        which is not scale-robust (a few huge eigenvalues inflate the mean)
    zero_frac : rank collapse if more than this fraction of eigenvalues is zero
    tw_scales : spike margin above the MP edge, in Tracy-Widom scales
    ks_good : the MP fit of the bulk is good if ``D_MP <= ks_good / sqrt(M)``
    ks_bad : the MP fit fails if ``D_MP > ks_bad / sqrt(M)``
    bulk_frac_out : no MP bulk if more than this fraction of eigenvalues lies past the edge
    few_frac, few_min : "a few" outliers means ``n_out <= max(few_min, few_frac * M)``
    spike_ratio : a spike is well separated if ``lambda / lambda_+ >= spike_ratio``
    spike_gap_tw : ... or if the top eigenvalue stands more than this many Tracy-Widom scales
        above everything below it (the next eigenvalue, or lambda_+ if it is alone): a
        detached spike, not eigenmass bled past the edge (see :func:`classify_phase`)
    bulk_gone_frac : more than this fraction of the eigenvalues past the edge leaves no bulk
        to decay: **heavy-tailed** if ``alpha_KS <= ht_alpha_max``, whether or not the
        power law passes the KS test (a finite-size, truncated tail rarely does)
    ht_alpha_max : Martin & Mahoney's heavy-tailed classes end at alpha = 4 (moderately
        heavy-tailed, 2 < alpha < 4; very heavy-tailed, alpha < 2)
    pl_ks : the power-law tail fit is acceptable if ``D_PL <= pl_ks / sqrt(k)`` for its k tail
        points (1.06: Lilliefors' 5% critical value for an exponential law with a fitted rate,
        which is what the tail is in ``ln(lambda / xmin)``),
    pl_ks_max : ... and ``D_PL <= pl_ks_max`` whatever k (short tails pass Lilliefors' test
        too easily: a two-bulk spectrum's upper bulk gave D_PL ~ 0.14 on 40 points),
    pl_min_tail : ... and the tail holds at least this fraction of the eigenvalues,
    pl_alpha_max : ... and ``alpha_KS <= pl_alpha_max`` (fits above ~6 are uninformative)
    tail_min_out : the outliers are judged as a tail (:func:`htdyn.analysis.mp.strength_tail`)
        only when there are at least this many per matrix
    tail_ks : ... and they form a power law from the edge if Stephens' modified KS statistic
        of their spike strengths is ``<= tail_ks`` (1.094, the 5% value)
    tail_mu_max : ... with a tail index ``mu_out <= tail_mu_max`` (4: i.i.d. entries with
        mu > 4 leave no outliers as the size grows; Martin & Mahoney's weakly heavy-tailed class)

    Examples
    --------
    A rank-20 product of shape 200 x 100 has 80 zero eigenvalues out of 100: rank collapse under
    the default ``zero_frac`` (5%), not under a rule that tolerates 90%:

    >>> import numpy as np
    >>> from htdyn.analysis.esd import esd
    >>> from htdyn.analysis.phases import PhaseRule, classify_phase
    >>> rng = np.random.default_rng(0)
    >>> L = rng.standard_normal((200, 20)) @ rng.standard_normal((20, 100))
    >>> res = classify_phase(esd(L), L.shape)
    >>> res.phase, res.features["frac0"]
    ('rank-collapse', 0.8)
    >>> classify_phase(esd(L), L.shape, rule=PhaseRule(zero_frac=0.9)).phase != "rank-collapse"
    True
    """

    zero_rtol: float | None = None
    zero_frac: float = 0.05
    tw_scales: float = 3.0
    ks_good: float = 0.6
    ks_bad: float = 1.6
    bulk_frac_out: float = 0.15
    few_frac: float = 0.03
    few_min: int = 3
    spike_ratio: float = 1.5
    spike_gap_tw: float = 16.0
    bulk_gone_frac: float = 0.5
    ht_alpha_max: float = 4.0
    pl_ks: float = 1.06
    pl_ks_max: float = 0.1
    pl_min_tail: float = 0.1
    pl_alpha_max: float = 6.0
    tail_min_out: int = 12
    tail_ks: float = mp.STEPHENS_EXP_5PC
    tail_mu_max: float = 4.0


@dataclass(frozen=True)
class PhaseResult:
    """Result of :func:`classify_phase`.

    Attributes
    ----------
    phase : one of :data:`PHASES`
    features : the numbers the rule used (and a few more), see :func:`phase_features`
    reason : which step of the rule fired, with the deciding numbers

    Examples
    --------
    >>> import numpy as np
    >>> from htdyn.analysis.esd import esd
    >>> from htdyn.analysis.phases import classify_phase
    >>> W = np.random.default_rng(0).standard_normal((800, 200)) / np.sqrt(800)
    >>> res = classify_phase(esd(W), W.shape)
    >>> res.index, res.as_dict()["phase"], len(res.plot().axes)
    (0, 'random-like', 1)
    """

    phase: str
    features: dict[str, float] = field(default_factory=dict)
    reason: str = ""

    @property
    def index(self) -> int:
        """Position of ``phase`` in :data:`PHASES`."""
        return PHASES.index(self.phase)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def plot(self, ax: Any = None, *, evals: Any = None, shape: tuple[int, int] | None = None) -> Any:
        """The phase and the rule's reason over what it decided on (the ESD, with ``evals`` and ``shape``).

        Draws into ``ax`` (a new Figure if None) and returns the Figure; imports matplotlib only
        now.  See :func:`htdyn.plot.results.plot_phase_result`.
        """
        from ..plot.results import plot_phase_result

        return plot_phase_result(self, ax, evals=evals, shape=shape)


def zero_cut(lam_max: float, shape: tuple[int, int], dtype: Any = np.float64) -> float:
    """The round-off zero of a spectrum: ``max(h, d) * eps * lambda_max``.

    numpy's ``matrix_rank`` counts a singular value as zero when ``s <= s_max max(h, d) eps``;
    eigenvalues of ``W^T W`` carry an absolute error ~ ``eps lambda_max`` (so exact zeros come
    out near ``eps lambda_max``, not ``eps^2 lambda_max``), hence the same floor on
    ``lambda = s^2`` as :func:`htdyn.analysis.metrics.numerical_rank`.  eps is that of the
    eigenvalues' dtype (float64: 2.2e-16, float32: 1.2e-7).  Scale-free, and unlike a cut at
    a fraction of ``mean(lambda)`` it does not grow with the few huge eigenvalues of a very
    heavy-tailed matrix (Pareto mu = 1 is full rank with ``lambda_min / lambda_max`` 2e-12 to
    3e-8, far above the float64 floor ~ 1e-13 at max(h, d) = 500).

    Parameters
    ----------
    lam_max : float
        Largest eigenvalue of the spectrum.
    shape : (int, int)
        Shape of W.
    dtype : numpy dtype
        Floating dtype of the eigenvalues (float64 by default).

    Returns
    -------
    float
        ``max(h, d) * eps * lam_max``.

    References
    ----------
    .. [1] W. H. Press, S. A. Teukolsky, W. T. Vetterling & B. P. Flannery, "Numerical Recipes",
       3rd ed., Cambridge University Press, 2007, p. 795: the rank tolerance
       ``s_max max(h, d) eps`` that ``numpy.linalg.matrix_rank`` uses.  Applying it to
       ``lambda = s^2`` (where the eigensolver's error is ``~ eps lambda_max``) is htdyn's.

    Examples
    --------
    >>> import numpy as np
    >>> from htdyn.analysis.phases import zero_cut
    >>> zero_cut(1.0, (500, 200)) == float(500 * np.finfo(np.float64).eps), zero_cut(1.0, (500, 200), np.float32)
    (True, 5.9604644775390625e-05)
    """
    return float(max(shape) * np.finfo(dtype).eps * lam_max)


def _float_dtype(ev: Any) -> np.dtype:
    """numpy dtype of an array (numpy, CuPy or torch); float64 if it is not floating."""
    try:
        dt = np.dtype(str(ev.dtype).replace("torch.", ""))
    except TypeError:
        return np.dtype(np.float64)
    return dt if np.issubdtype(dt, np.floating) else np.dtype(np.float64)


def phase_features(evals: Any, shape: tuple[int, int], rule: PhaseRule | None = None) -> dict[str, float]:
    """The numbers :func:`classify_phase` decides on.

    Keys
    ----
    M, N, Q : matrix dimensions (M = number of eigenvalues per matrix); n : number of eigenvalues
        (a multiple of M for pooled spectra)
    zero_cut, frac0 : the zero level, :func:`zero_cut` (round-off, the default) or
        ``zero_rtol * mean(lambda)`` (with ``PhaseRule(zero_rtol=x)``), and the fraction of
        eigenvalues at or below it
    sigma2, lambda_plus, lambda_minus, threshold, tw : robust MP bulk fit (quantile method) and
        the spike threshold ``lambda_+ + tw_scales * tw`` (:func:`htdyn.analysis.mp.fit_bulk`)
    D_MP : KS distance of the bulk (eigenvalues <= threshold) to the fitted MP law
    n_out, f_out : number and fraction of eigenvalues above the threshold
    top_ratio : ``lambda_max / lambda_+``; min_out_ratio : smallest outlier / lambda_+ (NaN if none)
    top_gap_tw : ``(lambda_max - lambda_+) / tw``, the top eigenvalue's gap to the edge in TW scales
    top_sep_tw : ``(lambda_max - max(lambda_2, lambda_+)) / tw``, its gap to everything below it
    n_sep : number of eigenvalues ``>= spike_ratio * lambda_+``
    mp_soft_rank : ``lambda_+ / lambda_max``
    mu_out, ks_out : tail index and Stephens' KS statistic of the outliers' spike strengths
        (:func:`htdyn.analysis.mp.strength_tail`; NaN below 2 outliers)
    alpha_ks, D_PL, xmin_ks, k_ks : Clauset power-law fit of the tail (xmin at minimum KS)
    pl_ks : the acceptance limit ``min(pl_ks / sqrt(k_ks), pl_ks_max)`` for D_PL
    alpha_hill, D_hill : Hill estimator with xmin at the median (reported, not used)
    ks_good, ks_bad : the size-dependent KS thresholds ``ks_good/sqrt(M)``, ``ks_bad/sqrt(M)``

    The MP-fit keys are NaN when no bulk fit is possible, the power-law keys when no tail fit is.

    Parameters
    ----------
    evals : array
        The ``min(h, d)`` eigenvalues of ``W^T W`` (raw or 1/N-normalised; numpy, CuPy or torch),
        or pooled spectra of several matrices of the same shape.
    shape : (int, int)
        Shape of W.
    rule : PhaseRule or None
        Thresholds (defaults of :class:`PhaseRule` if None).

    Returns
    -------
    dict of str to float

    References
    ----------
    .. [1] C. H. Martin & M. W. Mahoney, "Implicit self-regularization in deep neural networks",
       JMLR 22(165), 2021 (the MP fit, soft rank and
       power-law tail the phases are read from).
    .. [2] A. Clauset, C. R. Shalizi & M. E. J. Newman, "Power-law distributions in empirical data",
       SIAM Review 51(4), 2009 (``alpha_ks``, ``D_PL``); B. M. Hill, Ann. Statist. 3(5), 1975
       (``alpha_hill``).
    .. [3] I. M. Johnstone, Ann. Statist. 29(2), 2001 (the Tracy-Widom scale ``tw``).

    Examples
    --------
    >>> import numpy as np
    >>> from htdyn.analysis.esd import esd
    >>> from htdyn.analysis.phases import phase_features
    >>> W = np.random.default_rng(0).standard_normal((800, 200)) / np.sqrt(800)
    >>> f = phase_features(esd(W), W.shape)
    >>> f["M"], f["Q"], f["n_out"], f["frac0"], bool(f["D_MP"] <= f["ks_good"])
    (200.0, 4.0, 0.0, 0.0, True)
    """
    from . import powerlaw

    rule = rule or PhaseRule()
    xp, ev = analysis_namespace(evals)
    dtype = _float_dtype(ev)
    ev = xp.sort(xp.clip(xp.asarray(ev, dtype=xp.float64).reshape(-1), 0.0, None))
    N, M, Q = mp.aspect(shape)
    n = int(ev.shape[0])
    if n == 0:
        raise ValueError("no eigenvalues")
    if n == N and N != M:
        raise ValueError(f"{n} eigenvalues for shape {tuple(shape)}: pass the min(h, d) = {M} eigenvalues of the "
                         "smaller Gram matrix (the larger one has N - M structural zeros, not a rank collapse)")
    nan = float("nan")
    lam_max = float(ev[-1])
    f: dict[str, float] = {"M": float(M), "N": float(N), "Q": Q, "n": float(n)}
    f["zero_cut"] = zero_cut(lam_max, shape, dtype) if rule.zero_rtol is None else rule.zero_rtol * float(xp.mean(ev))
    f["frac0"] = float(xp.mean(ev <= f["zero_cut"])) if lam_max > 0 else 1.0
    f["ks_good"] = rule.ks_good / math.sqrt(M)
    f["ks_bad"] = rule.ks_bad / math.sqrt(M)
    try:
        fit = mp.fit_bulk(ev, shape, tw_scales=rule.tw_scales)
    except ValueError:
        fit = None
    if fit is None:
        f.update(sigma2=nan, lambda_plus=nan, lambda_minus=nan, threshold=nan, tw=nan, D_MP=nan, n_out=nan,
                 f_out=nan, top_ratio=nan, min_out_ratio=nan, top_gap_tw=nan, top_sep_tw=nan, n_sep=nan,
                 mp_soft_rank=nan, mu_out=nan, ks_out=nan)
    else:
        out = ev[ev > fit.threshold]
        n_out = int(out.shape[0])
        lp = fit.lambda_plus
        f.update(sigma2=fit.sigma2, lambda_plus=lp, lambda_minus=fit.lambda_minus, threshold=fit.threshold,
                 tw=fit.tw, D_MP=fit.ks, n_out=float(n_out), f_out=n_out / n, top_ratio=lam_max / lp,
                 min_out_ratio=float(out[0]) / lp if n_out else nan, top_gap_tw=(lam_max - lp) / fit.tw,
                 top_sep_tw=(lam_max - max(float(ev[-2]) if n > 1 else lp, lp)) / fit.tw,
                 n_sep=float(xp.sum(ev >= rule.spike_ratio * lp)), mp_soft_rank=lp / lam_max)
        tail = mp.strength_tail(ev, shape, fit.sigma2, fit.threshold)
        f.update(mu_out=tail.mu, ks_out=tail.ks)
    try:
        ks = powerlaw.fit_ks(ev)
        f.update(alpha_ks=ks.alpha, D_PL=ks.D, xmin_ks=ks.xmin, k_ks=float(ks.k),
                 pl_ks=min(rule.pl_ks / math.sqrt(ks.k), rule.pl_ks_max))
    except ValueError:
        f.update(alpha_ks=nan, D_PL=nan, xmin_ks=nan, k_ks=nan, pl_ks=nan)
    try:
        hill = powerlaw.fit_hill(ev)
        f.update(alpha_hill=hill.alpha, D_hill=hill.D)
    except ValueError:
        f.update(alpha_hill=nan, D_hill=nan)
    return f


def classify_phase(evals: Any, shape: tuple[int, int], *, rule: PhaseRule | None = None,
                   convention: str = "martin-mahoney") -> PhaseResult:
    """Martin-Mahoney phase of a spectrum by a fixed decision rule.

    Parameters
    ----------
    evals : the ``min(h, d)`` eigenvalues of W^T W (or of W W^T, whichever is smaller), raw or
        1/N-normalised (the rule is scale-free), numpy, CuPy or torch; pooled spectra of
        several matrices of the same shape are allowed
    shape : shape (h, d) of W
    rule : thresholds (:class:`PhaseRule`); defaults as listed there
    convention : ``"martin-mahoney"`` (default: the rule below) or ``"paper"`` (the rule's
        label, replaced by **heavy-tailed** when PL_Alpha_Hill < 2, htdyn's reading of the paper; see
        :func:`paper_phase`)

    Decision rule (first match wins; M = number of eigenvalues per matrix, features as in
    :func:`phase_features`, defaults in brackets):

    0. **non-finite** if an eigenvalue is NaN or inf (nothing to fit; ``features`` is empty).
    1. **rank-collapse** if ``frac0 > zero_frac`` [5%] (zeros: eigenvalues at round-off,
       ``lambda <= max(h, d) eps lambda_max``, :func:`zero_cut`).  An MP spectrum has none
       in float64 (at Q = 1 its smallest eigenvalue is ~ lambda_+ / M^2).
    2. No MP bulk: ``D_MP > ks_bad / sqrt(M)`` [1.6/sqrt(M)] or ``f_out > bulk_frac_out``
       [15% of the eigenvalues past the edge].  Then **heavy-tailed** if the tail is a power
       law: ``D_PL <= min(pl_ks / sqrt(k_KS), pl_ks_max)`` [1.06/sqrt(k), Lilliefors' 5% value,
       and 0.1], a tail of
       ``k_KS >= pl_min_tail M`` [10%] eigenvalues and ``alpha_KS <= pl_alpha_max`` [6];
       also **heavy-tailed** when ``f_out > bulk_gone_frac`` [half the eigenvalues past the
       edge: no bulk is left to decay] and ``alpha_KS <= ht_alpha_max`` [4, the end of Martin &
       Mahoney's heavy-tailed classes]; otherwise **bulk-decay**.
       Also **heavy-tailed** when the outliers pass the strength-tail test of step 3b.
    3. ``n_out = 0`` (nothing beyond ``lambda_+ + 3 TW scales``): **random-like** if
       ``D_MP <= ks_good / sqrt(M)`` [0.6/sqrt(M)], else **bulk-decay** (a distorted bulk).
    3b. **heavy-tailed** (moderately: i.i.d. entries with 2 < mu < 4 at finite size) if at
       least ``tail_min_out`` [12] outliers per matrix form a power law that starts at the
       edge: mapped to the strengths of the rank-one spikes BGN would need to put them there
       (:func:`htdyn.analysis.mp.strength_tail`), they fit a Pareto law above the threshold's
       strength (Stephens' modified KS ``ks_out <= tail_ks`` [1.094, 5%]) with tail index
       ``mu_out <= tail_mu_max`` [4].  Detached low-rank spikes (nothing between the edge and
       them) and a clump of near-critical spikes (no long tail) fail it.
    4. A few outliers, ``n_out <= max(few_min, few_frac M)`` [max(3, 3% of M)], on a good MP
       bulk (``D_MP <= ks_good / sqrt(M)``): **bulk+spikes** if at least one is well
       separated, ``lambda_max >= spike_ratio * lambda_+`` [1.5: a rank-one spike about
       twice its BGN threshold] or ``top_sep_tw >= spike_gap_tw`` [16: the top eigenvalue is
       detached from everything below it by a clean gap of 16 TW scales, "well separated above
       lambda_+ + TW" in Martin & Mahoney's words], else **bleeding-out** (eigenmass past the
       edge that stays contiguous with it).
    5. Otherwise (many outliers, a continuous tail past the edge, or a mediocre bulk fit):
       **heavy-tailed** if the Clauset power law of step 2 fits the tail with
       ``alpha_KS <= ht_alpha_max`` [4] (e.g. Pareto mu = 2 at 1000 x 500: 10% past the edge,
       alpha_KS 2.4-3.1), else **bulk-decay**.

    The KS thresholds scale like 1/sqrt(M) (a Gaussian matrix has D_MP ~ 0.003-0.008 at
    M = 200-1000, since eigenvalues are rigid; Pareto mu = 1.5 entries give 0.05-0.08 on the
    bulk that remains and 25-30% of the eigenvalues past the edge).  The power-law fit is
    consulted only when there is no MP bulk: on a spectrum with a few strong spikes it returns
    alpha ~ 2.5-3.7, which alone would read "heavy-tailed".

    Returns
    -------
    PhaseResult

    References
    ----------
    .. [1] C. H. Martin & M. W. Mahoney, "Implicit self-regularization in deep neural networks",
       JMLR 22(165), 2021 (the "5+1 phases of training").
    .. [2] C. H. Martin & M. W. Mahoney, "Traditional and heavy-tailed self regularization in neural
       network models", ICML 2019.
    .. [3] Kothapalli, Pang, Deng, Liu & Yang, "From Spikes to Heavy Tails: Unveiling the Spectral
       Evolution of Neural Networks", TMLR 2025 (arXiv 2406.04657):
       the phases the spectra pass through.

    Examples
    --------
    A Gaussian matrix is random-like; a strong rank-one term adds a spike:

    >>> import numpy as np
    >>> from htdyn.analysis.esd import esd
    >>> from htdyn.analysis.phases import classify_phase
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((800, 200)) / np.sqrt(800)
    >>> u, v = rng.standard_normal(800), rng.standard_normal(200)
    >>> W = X + 3 * np.outer(u / np.linalg.norm(u), v / np.linalg.norm(v))
    >>> classify_phase(esd(X), X.shape).phase, classify_phase(esd(W), W.shape).phase
    ('random-like', 'bulk+spikes')
    """
    if convention not in CONVENTIONS:
        raise ValueError(f"convention {convention!r}: choose from {', '.join(CONVENTIONS)}")
    if convention == "paper":
        return paper_phase(classify_phase(evals, shape, rule=rule))
    rule = rule or PhaseRule()
    xp, ev = analysis_namespace(evals)
    if not bool(xp.all(xp.isfinite(xp.asarray(ev, dtype=xp.float64)))):
        return PhaseResult(phase=NON_FINITE, features={}, reason="the spectrum holds NaN or inf")
    f = phase_features(ev, shape, rule)
    M = f["M"]

    def done(phase: str, reason: str) -> PhaseResult:
        return PhaseResult(phase=phase, features=f, reason=reason)

    if f["frac0"] > rule.zero_frac:
        return done("rank-collapse", f"zero fraction {f['frac0']:.3f} > {rule.zero_frac} (zero: lambda <= "
                                     f"{f['zero_cut']:.3g})")
    if not np.isfinite(f["D_MP"]):
        return done("bulk-decay", "no MP fit possible")
    d_mp, good, bad = f["D_MP"], f["ks_good"], f["ks_bad"]
    f_out = f["f_out"]
    n_out = f_out * M  # outliers per matrix (pooled spectra hold several)
    tail = _strength_tail_reason(f, rule, n_out)
    if d_mp > bad or f_out > rule.bulk_frac_out:
        return done(*_no_bulk(f, rule, M, tail))
    if n_out == 0:
        if d_mp <= good:
            return done("random-like", f"no eigenvalue past the edge + {rule.tw_scales:g} TW; D_MP {d_mp:.4f}")
        return done("bulk-decay", f"no outliers but a distorted bulk: D_MP {d_mp:.4f} > {good:.4f}")
    if tail:
        return done("heavy-tailed", f"{n_out:g} outliers; {tail}; D_MP {d_mp:.4f}")
    few = max(rule.few_min, rule.few_frac * M)
    if n_out <= few and d_mp <= good:
        if f["top_ratio"] >= rule.spike_ratio:
            return done("bulk+spikes", f"{n_out:g} outliers (<= {few:g}), top at {f['top_ratio']:.2f} lambda_+ "
                                       f">= {rule.spike_ratio}; D_MP {d_mp:.4f}")
        if f["top_sep_tw"] >= rule.spike_gap_tw:
            return done("bulk+spikes", f"{n_out:g} outliers (<= {few:g}), the top one detached by "
                                       f"{f['top_sep_tw']:.1f} TW scales >= {rule.spike_gap_tw:g}; D_MP {d_mp:.4f}")
        return done("bleeding-out", f"{n_out:g} outliers (<= {few:g}), all below {rule.spike_ratio} lambda_+ "
                                    f"(top {f['top_ratio']:.2f}) and none detached by {rule.spike_gap_tw:g} TW "
                                    f"(top {f['top_sep_tw']:.1f}); D_MP {d_mp:.4f}")
    why = f"{n_out:g} outliers ({f_out:.1%}, few = {few:g}), D_MP {d_mp:.4f} (good <= {good:.4f})"
    if _pl_tail(f, rule, M) and f["alpha_ks"] <= rule.ht_alpha_max:
        return done("heavy-tailed", f"{why}; power-law tail: {_pl_text(f, rule, M)}")
    return done("bulk-decay", why)


def _pl_tail(f: dict[str, float], rule: PhaseRule, M: float) -> bool:
    """The Clauset power-law fit of the tail passes (step 2 of :func:`classify_phase`)."""
    return bool(f["D_PL"] <= f["pl_ks"] and f["k_ks"] >= rule.pl_min_tail * M and f["alpha_ks"] <= rule.pl_alpha_max)


def _pl_text(f: dict[str, float], rule: PhaseRule, M: float) -> str:
    return (f"D_PL {f['D_PL']:.4f} (limit {f['pl_ks']:.4f}), tail {f['k_ks']:g} (min {rule.pl_min_tail * M:g}), "
            f"alpha {f['alpha_ks']:.2f}")


def _strength_tail_reason(f: dict[str, float], rule: PhaseRule, n_out: float) -> str:
    """Non-empty (the reason) when the outliers form a power-law tail from the edge."""
    mu, ks = f.get("mu_out", float("nan")), f.get("ks_out", float("nan"))
    if n_out >= rule.tail_min_out and ks <= rule.tail_ks and mu <= rule.tail_mu_max:
        return (f"their spike strengths are a power law from the edge (mu_out {mu:.2f} <= {rule.tail_mu_max:g}, "
                f"KS {ks:.2f} <= {rule.tail_ks:g})")
    return ""


def _no_bulk(f: dict[str, float], rule: PhaseRule, M: float, tail: str) -> tuple[str, str]:
    """Step 2 of :func:`classify_phase`: heavy-tailed or bulk-decay when there is no MP bulk."""
    d_mp, f_out = f["D_MP"], f["f_out"]
    why = (f"no MP bulk (D_MP {d_mp:.4f} vs {f['ks_bad']:.4f}, {f_out:.1%} of eigenvalues past the edge vs "
           f"{rule.bulk_frac_out:.0%})")
    if _pl_tail(f, rule, M):
        return "heavy-tailed", f"{why}; power-law tail: {_pl_text(f, rule, M)}"
    if f_out > rule.bulk_gone_frac and f["alpha_ks"] <= rule.ht_alpha_max:
        return "heavy-tailed", (f"{why}; more than {rule.bulk_gone_frac:.0%} past the edge leaves no bulk, "
                                f"and alpha_KS {f['alpha_ks']:.2f} <= {rule.ht_alpha_max:g}")
    if tail:
        return "heavy-tailed", f"{why}; {tail}"
    return "bulk-decay", f"{why}; no power-law tail: {_pl_text(f, rule, M)}"


def paper_phase(result: PhaseResult) -> PhaseResult:
    """The paper's label for a spectrum already classified by Martin & Mahoney's rule.

    htdyn's reading of Kothapalli et al. (2025), not a quotation: the paper reports
    PL_Alpha_Hill (the Hill exponent with xmin at the median eigenvalue, 2.45 on an MP bulk)
    falling below 2 where it speaks of heavy tails, and states no threshold; htdyn takes
    PL_Alpha_Hill < 2 as its "heavy-tailed".  Otherwise the paper's words (random-like,
    bulk+spike) are Martin & Mahoney's, so the rule's label stands.  **rank-collapse** and
    **non-finite** are kept whatever alpha_Hill says.
    ``features`` are those of ``result``; ``reason`` says which convention decided.

    Parameters
    ----------
    result : PhaseResult
        A result of :func:`classify_phase` (its ``features`` hold ``alpha_hill``).

    Returns
    -------
    PhaseResult
        The paper's label, the same features, and a reason that names the convention.

    References
    ----------
    .. [1] Kothapalli, Pang, Deng, Liu & Yang, "From Spikes to Heavy Tails: Unveiling the Spectral
       Evolution of Neural Networks", TMLR 2025 (arXiv 2406.04657): PL_Alpha_Hill and the
       spectra it calls heavy-tailed; the threshold 2 is htdyn's reading (:data:`PAPER_HT_ALPHA`).
    .. [2] C. H. Martin & M. W. Mahoney, "Implicit self-regularization in deep neural networks",
       JMLR 22(165), 2021 (the labels kept).

    Examples
    --------
    >>> from htdyn.analysis.phases import PhaseResult, paper_phase
    >>> paper_phase(PhaseResult("bulk-decay", {"alpha_hill": 1.7})).phase
    'heavy-tailed'
    >>> paper_phase(PhaseResult("bulk+spikes", {"alpha_hill": 2.4})).phase
    'bulk+spikes'
    """
    a = result.features.get("alpha_hill", float("nan"))
    if result.phase in (NON_FINITE, "rank-collapse") or not a < PAPER_HT_ALPHA:
        return PhaseResult(result.phase, result.features, f"paper convention: alpha_Hill {a:.3f} >= "
                           f"{PAPER_HT_ALPHA:g}, Martin-Mahoney label kept ({result.reason})")
    return PhaseResult("heavy-tailed", result.features,
                       f"paper convention: alpha_Hill {a:.3f} < {PAPER_HT_ALPHA:g} (Martin-Mahoney: {result.phase})")
