"""The numbers of each metric set, one function per set (declared in :mod:`htdyn.analysis.registry`).

The W-only sets of one matrix share a :class:`Spectrum`: the ESD (one Gram matrix, one
tridiagonal reduction that also gives the top singular vector when the ``teacher`` set
asks for it, and the top-K when the ``top`` set does,
:func:`htdyn.analysis.linalg.eigs_and_top_vectors`) and one pass of the phase
rule's fits (:func:`htdyn.analysis.phases.classify_phase`: MP bulk, spike count, Hill and KS
power laws), each computed once whatever the sets asked for.  The other sets
(:func:`update_metrics`, :func:`drift_metrics`, :func:`feature_metrics`) need more than W.

Every function returns ``{key: value}`` with exactly the keys the registry declares for
its set (``sim_beta`` and ``update_sim_beta`` only when the teacher ``beta`` is given).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..xp import analysis_namespace
from . import metrics as met
from .linalg import (
    eigs_and_top_vectors,
    gram,
    gram_lower,
    gram_triplets,
    top_right_vector,
    top_singular_triplets,
    top_triplets,
)
from .metricdecl import top_k
from .phases import PHASES, PhaseResult, classify_phase

__all__ = ["Spectrum", "W_SET_FUNCTIONS", "update_metrics", "drift_metrics", "feature_metrics"]

NAN = float("nan")


class Spectrum:
    """One matrix W (h x d) and what its W-only sets share, computed on first use.

    Parameters
    ----------
    W : array (numpy, CuPy or torch)
    beta : teacher direction, or None
    normalize : use the 1/N-normalised ESD, ``N = max(h, d)``
    evals : the ESD if already known (raw or normalised as ``normalize`` says)
    vectors : how many top eigenvectors of the Gram matrix to find with the ESD (host W only):
        1 for the ``teacher`` set's v_1, ``top_k(h, d)`` for the ``top`` set, 0 for none

    Examples
    --------
    The sets of :data:`W_SET_FUNCTIONS` read one shared spectrum and phase fit:

    >>> import numpy as np
    >>> from htdyn.analysis.esd import esd
    >>> from htdyn.analysis.setmetrics import W_SET_FUNCTIONS, Spectrum
    >>> W = np.random.default_rng(0).standard_normal((800, 200)) / np.sqrt(800)
    >>> s = Spectrum(W)
    >>> bool(np.allclose(s.evals, esd(W))), s.phase.phase, W_SET_FUNCTIONS["mp"](s)["n_spikes"]
    (True, 'random-like', 0.0)
    """

    def __init__(self, W: Any, *, beta: Any = None, normalize: bool = False, evals: np.ndarray | None = None,
                 vectors: int = 0) -> None:
        self.xp, self.W = analysis_namespace(W)
        self.shape: tuple[int, int] = tuple(self.W.shape)
        self.beta, self.normalize = beta, bool(normalize)
        self.v1: Any = None
        self.gram: Any = None  # kept where the ESD came from it in W's namespace (CuPy)
        self._triplets: tuple | None = None
        self._phase: PhaseResult | None | bool = False  # False: not computed yet
        self.evals = self._eigenvalues(vectors) if evals is None else evals

    def _eigenvalues(self, vectors: int) -> np.ndarray:
        """The ESD on the host; with ``vectors`` and a host W, the top eigenvectors from the same reduction."""
        xp, (h, d) = self.xp, self.shape
        if xp is np and min(h, d) >= 3:
            ev, Z = eigs_and_top_vectors(gram_lower(self.W), vectors)
            if Z is not None:
                W64 = np.asarray(self.W, dtype=np.float64)
                K = top_k(h, d)
                if Z.shape[1] >= K:
                    self._triplets = gram_triplets(W64, ev[::-1][:K], Z[:, :K])
                v1 = Z[:, 0] if h >= d else W64.T @ Z[:, 0]
                self.v1 = v1 / np.linalg.norm(v1)
        else:
            self.gram = gram(xp.asarray(self.W, dtype=xp.float64), check=True)
            ev = xp.maximum(xp.linalg.eigvalsh(self.gram), 0.0)
            ev = ev.get() if xp.__name__ == "cupy" else np.asarray(ev)
        return ev / max(h, d) if self.normalize else ev

    @property
    def phase(self) -> PhaseResult | None:
        """The phase rule's result (its features hold every fit), or None where the fits fail."""
        if self._phase is False:
            try:
                self._phase = classify_phase(self.evals, self.shape)
            except ValueError:
                self._phase = None
        return self._phase  # type: ignore[return-value]

    def feature(self, key: str) -> float:
        """One number of the phase rule's features, NaN where absent."""
        res = self.phase
        return float(res.features.get(key, NAN)) if res is not None else NAN

    def triplets(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The top-K singular triplets ``(sigma (K,), U (K, h), V (K, d))`` on the host (:func:`gram_triplets`).

        From the ESD's reduction when it gave them, else :func:`htdyn.analysis.linalg.top_triplets`.
        """
        if self._triplets is None:
            self._triplets = top_triplets(self.W, top_k(*self.shape))
        out = self._triplets
        if self.xp.__name__ == "cupy":
            out = tuple(a.get() for a in out)
        return out  # type: ignore[return-value]

    def top_right_vector(self) -> Any:
        """v_1(W): from the ESD's reduction when it gave it, else by inverse iteration."""
        if self.v1 is None:
            W = self.xp.asarray(self.W, dtype=self.xp.float64)
            G = gram(W, check=True) if self.gram is None else self.gram
            lam1 = float(self.evals[-1]) * (max(self.shape) if self.normalize else 1.0)
            self.v1 = top_right_vector(W, G, lam1)
        return self.v1


def esd_set(s: Spectrum) -> dict[str, Any]:
    """``esd``: the eigenvalues of W^T W, ascending (:func:`htdyn.analysis.esd.esd`)."""
    return {"esd": s.evals}


def powerlaw_set(s: Spectrum) -> dict[str, float]:
    """``powerlaw``: Hill at the median and the KS-optimal MLE (the paper's PL_Alpha_Hill / _KS).

    ``sigma_ks = (alpha_ks - 1) / sqrt(k_ks)`` (Clauset et al. 2009, Eq. 3.2); ``alpha_hat``
    and ``log_alpha_norm`` weight the Hill alpha by log10 lambda_max and by the Schatten norm.
    """
    ev, get = s.evals, s.feature
    a_hill, a_ks, k_ks = get("alpha_hill"), get("alpha_ks"), get("k_ks")
    ok = np.isfinite(a_hill)
    return {
        "alpha_hill": a_hill, "D_hill": get("D_hill"),
        "xmin_hill": float(np.sort(ev)[len(ev) // 2]) if len(ev) else NAN,
        "alpha_ks": a_ks, "xmin_ks": get("xmin_ks"), "D_ks": get("D_PL"), "k_ks": k_ks,
        "sigma_ks": (a_ks - 1) / np.sqrt(k_ks) if k_ks > 0 else NAN,
        "alpha_hat": float(met.alpha_hat(a_hill, ev)) if ok else NAN,
        "log_alpha_norm": float(met.log_alpha_norm(a_hill, ev)) if ok else NAN,
    }


def mp_set(s: Spectrum) -> dict[str, float]:
    """``mp``: the MP bulk fit, its spikes (Tracy-Widom margin), KS distance and soft rank."""
    get = s.feature
    lp = get("lambda_plus")
    return {
        "mp_sigma2": get("sigma2"), "mp_lambda_plus": lp, "mp_ks": get("D_MP"),
        "n_spikes": get("n_out"), "mp_soft_rank": get("mp_soft_rank"),
        "frac_above_edge": float(np.mean(s.evals > lp)) if np.isfinite(lp) else NAN,
    }


def phase_set(s: Spectrum) -> dict[str, float]:
    """``phase``: the index of the Martin-Mahoney phase in ``PHASES`` (NaN where the fits fail)."""
    res = s.phase
    return {"phase": float(PHASES.index(res.phase)) if res is not None else NAN}


def norms_set(s: Spectrum) -> dict[str, float]:
    """``norms``: :func:`htdyn.analysis.metrics.scalar_metrics` of the ESD (no alpha)."""
    return {k: float(v) for k, v in met.scalar_metrics(s.evals, s.shape).items()}


def teacher_set(s: Spectrum) -> dict[str, float]:
    """``teacher``: ``|<v_1(W), beta>| / ||beta||``, the paper's sim(W, beta*); empty without beta."""
    if s.beta is None:
        return {}
    xp = s.xp
    b = xp.asarray(s.beta, dtype=xp.float64)
    return {"sim_beta": float(abs(xp.sum(s.top_right_vector() * b)) / float(xp.linalg.norm(b)))}


def top_set(s: Spectrum) -> dict[str, np.ndarray]:
    """``top``: the K = min(8, h, d) largest singular values of W and their vectors, as rows.

    ``W v_i = sigma_i u_i``; the largest-|.| entry of each ``v_i`` is positive; a value
    below the Gram matrix's resolution is 0 with zero vectors (:func:`~htdyn.analysis.linalg.gram_triplets`).
    """
    sigma, U, V = s.triplets()
    return {"top_sigma": sigma, "top_u": U, "top_v": V}


#: the function of each W-only set, in the order their numbers are computed and reported
W_SET_FUNCTIONS = {"esd": esd_set, "powerlaw": powerlaw_set, "mp": mp_set, "phase": phase_set,
                   "norms": norms_set, "teacher": teacher_set, "top": top_set}


def update_metrics(W: Any, M: Any, *, W_next: Any = None, beta: Any = None, k: int = 5) -> dict[str, float]:
    """Metrics of the update M_t against W_t and W_{t+1} (the paper's overlap view).

    The top-k singular triplets of W_t, W_{t+1} (= W_t + M_t unless given) and M_t
    (:func:`htdyn.analysis.linalg.top_singular_triplets`: one symmetric reduction each,
    not a full SVD); the squared overlaps of their vectors are summarised by
    :func:`htdyn.analysis.alignment.overlap_summary`.  An update of numerical rank r < k
    (a minibatch of r samples, say) has r directions: on the CPU the masses count those only
    (the unresolved directions are zero vectors) and still divide by k, so a rank-one update
    lying wholly in W's top-k subspace has mass ``1/k``; CuPy arrays take a thin SVD, whose
    arbitrary completion of the null directions may add to the masses.

    Parameters
    ----------
    W : array (h, d)
        ``W_t`` (numpy, CuPy or torch).
    M : array (h, d)
        The update ``M_t = W_{t+1} - W_t``.
    W_next : array (h, d) or None
        ``W_{t+1}``, if it differs from ``W + M`` (e.g. after a weight normalisation).
    beta : array (d,) or None
        Teacher direction: adds ``update_sim_beta = |<v_1(M), beta>| / ||beta||``.
    k : int
        Number of top triplets of each matrix (clipped to ``min(h, d)``).

    Returns
    -------
    dict of str to float
        ``update_fro``, ``update_spectral``, ``update_stable_rank``, and unless ``M = 0`` the
        ``overlap_{prev,next}_{left,right}_{top1,mass}`` of ``W_t`` / ``W_{t+1}`` against ``M_t``
        (:func:`~htdyn.analysis.alignment.overlap_summary`), and ``update_sim_beta`` with ``beta``.

    References
    ----------
    .. [1] Kothapalli, Pang, Deng, Liu & Yang, "From Spikes to Heavy Tails: Unveiling the Spectral
       Evolution of Neural Networks", TMLR 2025 (arXiv 2406.04657): the overlaps of
       the singular vectors of the weights and of the optimizer update.

    Examples
    --------
    A rank-one update along W's top singular pair ``e_0 e_0^T``:

    >>> import numpy as np
    >>> from htdyn.analysis.setmetrics import update_metrics
    >>> M = np.zeros((3, 3))
    >>> M[0, 0] = 0.5
    >>> m = update_metrics(np.diag([3.0, 2.0, 1.0]), M, beta=np.array([1.0, 0.0, 0.0]), k=2)
    >>> m["update_spectral"], m["update_stable_rank"], m["update_sim_beta"]
    (0.5, 1.0, 1.0)
    >>> m["overlap_prev_right_top1"], m["overlap_next_left_top1"], m["overlap_prev_right_mass"]
    (1.0, 1.0, 0.5)
    """
    from .alignment import overlap_summary

    xp, W = analysis_namespace(W)
    _, M = analysis_namespace(M)
    W_next = W + M if W_next is None else analysis_namespace(W_next)[1]
    out: dict[str, float] = {}
    M64 = xp.asarray(M, dtype=xp.float64)
    fro2 = float(xp.sum(M64 * M64))
    k = min(k, *M.shape)
    Um, sm, Vhm = top_singular_triplets(M64, k)
    s1 = float(sm[0])
    out["update_fro"] = float(np.sqrt(fro2))
    out["update_spectral"] = s1
    out["update_stable_rank"] = fro2 / s1**2 if s1 > 0 else NAN
    if s1 == 0:
        return out
    for tag, A in (("prev", W), ("next", W_next)):
        Ua, _, Vha = top_singular_triplets(A, k)
        summary = overlap_summary(xp.matmul(Ua.T, Um) ** 2, xp.matmul(Vha, Vhm.T) ** 2, k=k)
        for side in ("left", "right"):
            for what in ("top1", "mass"):
                out[f"overlap_{tag}_{side}_{what}"] = float(summary[f"{side}_{what}"])
    if beta is not None:
        b = xp.asarray(beta, dtype=xp.float64)
        out["update_sim_beta"] = float(abs(xp.sum(Vhm[0] * b)) / float(xp.linalg.norm(b)))
    return out


def drift_metrics(W: Any, W0: Any, k: int = 10, *, Vh0: Any = None) -> dict[str, float]:
    """Subspace overlap ``||V_t^T V_0||_F^2 / k`` of the top-k right singular vectors of W_t and W_0.

    ``Vh0``: W_0's top-k right singular vectors as rows (``top_singular_triplets(W0, k)[2]``),
    to compute them once for a whole trajectory; ``W0`` is not read when it is given.

    Parameters
    ----------
    W : array (h, d)
        ``W_t``.
    W0 : array (h, d)
        ``W_0`` (ignored when ``Vh0`` is given).
    k : int
        Subspace dimension (clipped to ``min(h, d)``; the registry's set uses 10).
    Vh0 : array (k, d) or None
        ``W_0``'s top-k right singular vectors as rows, precomputed.

    Returns
    -------
    dict
        ``{"drift_overlap_top10": overlap}`` (the registry's key, whatever ``k``), in [0, 1].

    References
    ----------
    .. [1] A. Bjorck & G. H. Golub, "Numerical methods for computing angles between linear
       subspaces", Math. Comp. 27(123), 1973: the mean squared cosine of the principal angles
       (as :func:`htdyn.analysis.alignment.subspace_overlap`).  Its use as a drift from ``W_0`` is
       htdyn's.

    Examples
    --------
    >>> import numpy as np
    >>> from htdyn.analysis.setmetrics import drift_metrics
    >>> W0 = np.diag([3.0, 2.0, 1.0])
    >>> drift_metrics(W0, W0, k=2), drift_metrics(np.diag([1.0, 2.0, 3.0]), W0, k=2)
    ({'drift_overlap_top10': 1.0}, {'drift_overlap_top10': 0.5})
    """
    xp, W = analysis_namespace(W)
    _, _, Va = top_singular_triplets(W, k)
    Vb = top_singular_triplets(W0, k)[2] if Vh0 is None else Vh0
    C = xp.matmul(Va, Vb.T)  # as alignment.subspace_overlap, from the top-k triplets only
    return {"drift_overlap_top10": float(xp.sum(C * C)) / Va.shape[0]}


def feature_metrics(W: Any, X: Any, y: Any, activation: str, pre_scale: float = 1.0) -> dict[str, float]:
    """Kernel-target alignment (uncentred, centred) and stable rank of the hidden features on the probe set.

    ``pre_scale`` as in :func:`htdyn.analysis.features.hidden_features` (``1/sqrt(d)`` for the
    official code's features, which a run made with ``eval.features = "official"`` uses).

    Parameters
    ----------
    W : array (h, d)
        Hidden-layer weights.
    X : array (n, d)
        Probe inputs.
    y : array (n,)
        Probe targets.
    activation : str
        One of :data:`htdyn.analysis.features.ACTIVATION_NAMES`.
    pre_scale : float
        Extra factor on the pre-activations.

    Returns
    -------
    dict of str to float
        ``kta``, ``kta_centered`` and ``feature_stable_rank``.

    References
    ----------
    .. [1] N. Cristianini, J. Shawe-Taylor, A. Elisseeff & J. Kandola, "On kernel-target alignment",
       NIPS 14, 2002 (``kta``).
    .. [2] C. Cortes, M. Mohri & A. Rostamizadeh, "Algorithms for learning kernels based on centered
       alignment", JMLR 13, 2012 (``kta_centered``).
    .. [3] Kothapalli, Pang, Deng, Liu & Yang, "From Spikes to Heavy Tails: Unveiling the Spectral
       Evolution of Neural Networks", TMLR 2025 (arXiv 2406.04657): KTA of the hidden
       features on the probe set.

    Examples
    --------
    One linear unit whose output is the target: ``K = z z^T`` with ``z`` proportional to ``y``,
    so both alignments are 1, and a rank-one Z has stable rank 1:

    >>> import numpy as np
    >>> from htdyn.analysis.setmetrics import feature_metrics
    >>> rng = np.random.default_rng(0)
    >>> X, w = rng.standard_normal((6, 4)), rng.standard_normal((1, 4))
    >>> m = feature_metrics(w, X, X @ w[0], "linear")
    >>> {key: round(v, 9) for key, v in m.items()}
    {'kta': 1.0, 'kta_centered': 1.0, 'feature_stable_rank': 1.0}
    """
    from . import features

    Z = features.hidden_features(X, W, activation, pre_scale=pre_scale)
    return {
        "kta": float(features.kernel_target_alignment(Z, y)),
        "kta_centered": float(features.kernel_target_alignment(Z, y, centered=True)),
        "feature_stable_rank": float(features.feature_stable_rank(Z)),
    }
